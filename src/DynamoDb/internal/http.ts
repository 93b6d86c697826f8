/**
 * DynamoDB over plain HTTP: its JSON protocol (`POST /` with `X-Amz-Target:
 * DynamoDB_20120810.<Operation>` and `application/x-amz-json-1.0` bodies), each request signed
 * with Signature Version 4 by `@smithy/signature-v4` (the SDK's own signer) and sent over one
 * keep-alive agent.
 *
 * The bodies are DynamoDB's wire JSON, which is the SDK's input and output shapes but for binary
 * values: base64 text on the wire, `Uint8Array` here, converted both ways. Timestamps (only in
 * `DescribeTable` answers) stay the wire's epoch seconds.
 *
 * Why not the SDK client: against dynalite on loopback, conditional `PutItem`s 16 at a time cost
 * the SDK client 828 µs of CPU each (its middleware stack, schema serde and endpoint rules run per
 * request) and this 271 µs (`dynamodb-client` in the benchmark). A worker folding into DynamoDB
 * spent most of its CPU there (see bench/README.md, "The DynamoDB client's CPU").
 *
 * Retries follow the SDK's standard mode: up to `maxAttempts` attempts of a request that failed
 * retryably (`isRetryable`: throttling, 5xx, timeouts, network errors), a full-jitter exponential
 * backoff between them (100 ms base, 500 ms for throttling, at most 20 s), none after the caller's
 * signal aborted. Every attempt has `requestTimeoutMs` for its answer and `connectTimeoutMs` for
 * its connection; running out fails it with a retryable `TimeoutError`.
 *
 * @internal
 */
import { SignatureV4 } from "@smithy/signature-v4"
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import * as Https from "node:https"
import type { Client } from "../DynamoDbClient.ts"
import { isRetryable } from "./send.ts"

/** @internal */
export interface Options {
  readonly endpoint: URL
  readonly region: string
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider
  readonly maxAttempts: number
  readonly requestTimeoutMs: number
  readonly connectTimeoutMs: number
  /** Connections kept open at most. Default 50 (the SDK's). */
  readonly maxSockets?: number | undefined
}

/** @internal */
export interface Transport extends Client {
  readonly close: () => void
}

type Data = string | ArrayBuffer | ArrayBufferView

const bytes = (data: Data): string | Uint8Array =>
  typeof data === "string"
    ? data
    : ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data)

/** SHA-256 and HMAC-SHA-256 for the signer, from node:crypto. */
class Sha256 {
  readonly #hash: Crypto.Hash | Crypto.Hmac
  constructor(secret?: Data) {
    this.#hash = secret === undefined ? Crypto.createHash("sha256") : Crypto.createHmac("sha256", bytes(secret))
  }
  update(data: Data): void {
    this.#hash.update(bytes(data))
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()))
  }
}

const CONTENT_TYPE = "application/x-amz-json-1.0"
const TARGET_PREFIX = "DynamoDB_20120810."

function binaryAsBase64(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]
  return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64") : value
}

/** The wire JSON of a request: binary values as base64. */
export const encode = (input: unknown): string => JSON.stringify(input, binaryAsBase64)

const decodeBinary = (node: unknown): void => {
  if (Array.isArray(node)) {
    for (const item of node) decodeBinary(item)
    return
  }
  if (typeof node !== "object" || node === null) return
  const o = node as Record<string, unknown>
  for (const key in o) {
    const v = o[key]
    // an attribute value `{"B": "<base64>"}` or `{"BS": ["<base64>", ...]}`; an attribute *named*
    // B or BS holds an object, never a string or an array of strings
    if (key === "B" && typeof v === "string") o[key] = Buffer.from(v, "base64")
    else if (key === "BS" && Array.isArray(v) && v.every((s) => typeof s === "string")) {
      o[key] = v.map((s: string) => Buffer.from(s, "base64"))
    } else decodeBinary(v)
  }
}

/** An answer's wire JSON as the SDK's output shape: base64 binary values as bytes. */
export const decode = (text: string): unknown => {
  if (text.length === 0) return {}
  const out: unknown = JSON.parse(text)
  if (text.includes("\"B\":") || text.includes("\"BS\":")) decodeBinary(out)
  return out
}

/**
 * A refused request as the SDK would throw it: `name` the error type (`ConditionalCheckFailedException`,
 * ...), `$metadata.httpStatusCode`, `$fault`, and the body's other fields (`CancellationReasons`, `Item`).
 */
const errorOf = (status: number, text: string, headers: Http.IncomingHttpHeaders): Error => {
  let body: Record<string, unknown> = {}
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === "object" && parsed !== null) body = parsed as Record<string, unknown>
  } catch {
    // not JSON (a proxy's answer): the text becomes the message
  }
  const header = headers["x-amzn-errortype"]
  const type = String(body["__type"] ?? (Array.isArray(header) ? header[0] : header) ?? `Http${status}`)
  const name = type.slice(type.lastIndexOf("#") + 1).split(":")[0]!
  const message = String(body["message"] ?? body["Message"] ?? (text.slice(0, 500) || `HTTP ${status}`))
  const { __type: _, message: __, Message: ___, ...rest } = body
  return Object.assign(new Error(message), rest, {
    name,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status, requestId: headers["x-amzn-requestid"] }
  })
}

const timeoutError = (message: string): Error => Object.assign(new Error(message), { name: "TimeoutError" })

const THROTTLING = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "RequestLimitExceeded"
])

const backoffMs = (attempt: number, cause: unknown): number => {
  const base = THROTTLING.has(String((cause as { name?: unknown }).name)) ? 500 : 100
  return Math.random() * Math.min(20_000, base * 2 ** (attempt - 1))
}

const aborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener("abort", done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener("abort", done, { once: true })
  })

/**
 * A transport over `options`; `close` ends its connections.
 *
 * @internal
 */
export const make = (options: Options): Transport => {
  const endpoint = options.endpoint
  const secure = endpoint.protocol === "https:"
  const agent = secure
    ? new Https.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 50 })
    : new Http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 50 })
  const request = secure ? Https.request : Http.request
  const port = endpoint.port === "" ? undefined : Number(endpoint.port)
  const path = endpoint.pathname === "" ? "/" : endpoint.pathname
  const signer = new SignatureV4({
    service: "dynamodb",
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    applyChecksum: false
  })

  const attempt = async (operation: string, body: string, signal: AbortSignal | undefined): Promise<unknown> => {
    const signed = await signer.sign({
      method: "POST",
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(port === undefined ? {} : { port }),
      path,
      query: {},
      headers: {
        host: endpoint.host,
        "content-type": CONTENT_TYPE,
        "content-length": String(Buffer.byteLength(body)),
        "x-amz-target": TARGET_PREFIX + operation
      },
      body
    })
    return new Promise((resolve, reject) => {
      let connectTimer: ReturnType<typeof setTimeout> | undefined
      const req = request({
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        port,
        path,
        method: "POST",
        agent,
        headers: signed.headers,
        ...(signal === undefined ? {} : { signal })
      })
      const answerTimer = setTimeout(
        () => req.destroy(timeoutError(`DynamoDB ${operation}: no answer within ${options.requestTimeoutMs} ms`)),
        options.requestTimeoutMs
      )
      const settle = () => {
        clearTimeout(answerTimer)
        if (connectTimer !== undefined) clearTimeout(connectTimer)
      }
      req.once("socket", (socket) => {
        if (!socket.connecting) return
        connectTimer = setTimeout(
          () => req.destroy(timeoutError(`DynamoDB ${operation}: no connection within ${options.connectTimeoutMs} ms`)),
          options.connectTimeoutMs
        )
        socket.once("connect", () => clearTimeout(connectTimer))
      })
      // `on`, not `once`: a destroyed request may report a second error, which must not go unheard
      req.on("error", (error) => {
        settle()
        reject(error)
      })
      req.once("response", (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("error", (error) => {
          settle()
          reject(error)
        })
        // a connection closed before the body's end, whatever Node reports on `res`, fails the attempt
        res.once("close", () => {
          if (res.complete) return
          settle()
          reject(Object.assign(new Error(`DynamoDB ${operation}: the connection closed before the answer's end`), { code: "ECONNRESET" }))
        })
        res.once("end", () => {
          settle()
          const text = Buffer.concat(chunks).toString("utf8")
          const status = res.statusCode ?? 0
          if (status < 200 || status >= 300) return reject(errorOf(status, text, res.headers))
          try {
            resolve(decode(text))
          } catch (cause) {
            reject(Object.assign(new Error(`DynamoDB ${operation}: unreadable answer`, { cause }), { name: "DeserializationError" }))
          }
        })
      })
      req.end(body)
    })
  }

  const send = async (operation: string, input: unknown, signal?: AbortSignal): Promise<unknown> => {
    const body = encode(input)
    for (let n = 1;; n++) {
      try {
        return await attempt(operation, body, signal)
      } catch (cause) {
        if (n >= options.maxAttempts || aborted(signal) || !isRetryable(cause)) throw cause
        await sleep(backoffMs(n, cause), signal)
        if (aborted(signal)) throw cause
      }
    }
  }

  return { send: send as Client["send"], close: () => agent.destroy() }
}

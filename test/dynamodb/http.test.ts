/**
 * The default DynamoDB transport (the JSON protocol over Node's HTTP agent, `internal/http.ts`)
 * against the real test server (dynalite), directly and through a forwarding proxy that wraps it:
 * the proxy records what reaches the server and, on demand, answers 503, holds an answer, or cuts
 * the connection, the faults a real server does not produce when asked.
 *
 * - every attribute type written by one transport reads back the same through the other (the SDK
 *   client), binary values included;
 * - the refusals arrive as the SDK's errors (a failed condition, a missing table) and are not
 *   retried; 503s and a cut connection are retried up to `maxAttempts`; an answer that never comes
 *   is a retryable `TimeoutError`; an aborted signal stops a request and its retries;
 * - the Signature Version 4 of what reached the server verifies with the secret key, computed here
 *   from the AWS documentation's algorithm, session token included.
 */
import { type AttributeValue, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Client from "../../src/DynamoDb/DynamoDbClient.ts"
import * as Transport from "../../src/DynamoDb/internal/http.ts"
import { isConditionFailed, isRetryable } from "../../src/DynamoDb/internal/send.ts"
import { awsRegion, ddbEndpoint } from "../support/services.ts"
import { dynamoDbSuite } from "./support.ts"

type Mode = "forward" | "unavailable" | "hold" | "cut" | "truncated"

interface Seen {
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** An HTTP proxy in front of the real server: `next()` decides what each request meets. */
const startProxy = async (target: URL) => {
  const seen: Array<Seen> = []
  let next: () => Mode = () => "forward"
  const server = Http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = Buffer.concat(chunks)
      seen.push({ headers: req.headers, body: body.toString("utf8") })
      const mode = next()
      if (mode === "unavailable") {
        // an error answer as DynamoDB's developer guide shows one ("Error handling with DynamoDB",
        // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
        // the JSON content type, `__type` = "com.amazonaws.dynamodb.v20120810#<exception>", `message`
        res.writeHead(503, { "content-type": "application/x-amz-json-1.0" })
        return res.end(JSON.stringify({ __type: "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", message: "proxy: unavailable" }))
      }
      if (mode === "hold") return // the answer never comes
      if (mode === "cut") return req.socket.destroy()
      if (mode === "truncated") {
        // the status and the start of a body, then the connection goes
        res.writeHead(200, { "content-type": "application/x-amz-json-1.0", "content-length": "200" })
        res.write("{\"Item\":{\"pk\":")
        return void setTimeout(() => req.socket.destroy(), 20)
      }
      const forward = Http.request(
        { host: target.hostname, port: target.port, path: "/", method: "POST", headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers)
          answer.pipe(res)
        }
      )
      forward.on("error", () => res.destroy())
      forward.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    setNext: (f: () => Mode) => (next = f),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

const transport = (endpoint: string, options: Partial<Transport.Options> = {}) =>
  Transport.make({
    endpoint: new URL(endpoint),
    region: awsRegion(),
    credentials: CREDENTIALS,
    maxAttempts: 3,
    requestTimeoutMs: 2_000,
    connectTimeoutMs: 1_000,
    ...options
  })

const sha256 = (data: string) => Crypto.createHash("sha256").update(data).digest("hex")
const hmac = (key: Buffer | string, data: string) => Crypto.createHmac("sha256", key).update(data).digest()

/** Recomputes a request's SigV4 signature from what was received (AWS General Reference, "Signature Version 4"). */
const expectedSignature = (seen: Seen, secret: string, region: string): { readonly expected: string; readonly sent: string } => {
  const auth = String(seen.headers["authorization"])
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/dynamodb\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth)
  if (m === null) throw new Error(`unexpected Authorization header: ${auth}`)
  const [, , date, scopeRegion, signedHeaders, sent] = m
  expect(scopeRegion).toBe(region)
  const names = signedHeaders!.split(";")
  const canonicalHeaders = names.map((n) => `${n}:${String(seen.headers[n]).trim().replace(/\s+/g, " ")}\n`).join("")
  const canonical = ["POST", "/", "", canonicalHeaders, signedHeaders, sha256(seen.body)].join("\n")
  const amzDate = String(seen.headers["x-amz-date"])
  const scope = `${date}/${region}/dynamodb/aws4_request`
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n")
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region), "dynamodb"), "aws4_request")
  return { expected: hmac(key, toSign).toString("hex"), sent: sent! }
}

describe("the HTTP transport of DynamoDB", () => {
  const ddb = dynamoDbSuite()
  let table: string
  let proxy: Awaited<ReturnType<typeof startProxy>>

  beforeAll(async () => {
    table = (await ddb.tables("http")).ledger
    proxy = await startProxy(new URL(ddbEndpoint()))
  })
  afterAll(async () => {
    await proxy?.close()
  })

  const item: Record<string, AttributeValue> = {
    pk: { S: "every type" },
    s: { S: "text with \"quotes\", \\ and \u00e9\u{1f600}" },
    n: { N: "-12345678901234567890.5" },
    b: { B: new Uint8Array([0, 1, 2, 253, 254, 255]) },
    ss: { SS: ["a", "b"] },
    ns: { NS: ["1", "2.5"] },
    bs: { BS: [new Uint8Array([1]), new Uint8Array([2, 3])] },
    l: { L: [{ S: "x" }, { N: "1" }, { B: new Uint8Array([9]) }] },
    m: { M: { B: { S: "an attribute named B" }, BS: { N: "7" }, inner: { B: new Uint8Array([7, 7]) } } },
    t: { BOOL: true },
    z: { NULL: true }
  }

  const bytesOf = (value: unknown): unknown =>
    value instanceof Uint8Array
      ? Array.from(value)
      : Array.isArray(value)
      ? value.map(bytesOf)
      : typeof value === "object" && value !== null
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bytesOf(v)]))
      : value

  it("writes and reads every attribute type as the SDK client does", async () => {
    const http = transport(ddbEndpoint())
    try {
      await http.send("PutItem", { TableName: table, Item: item })
      const viaSdk = await ddb.client().send(new GetItemCommand({ TableName: table, Key: { pk: item["pk"]! }, ConsistentRead: true }))
      expect(bytesOf(viaSdk.Item)).toEqual(bytesOf(item))

      const other = { ...item, pk: { S: "written by the SDK" } }
      await ddb.client().send(new PutItemCommand({ TableName: table, Item: other }))
      const viaHttp = (await http.send("GetItem", { TableName: table, Key: { pk: other["pk"]! }, ConsistentRead: true })) as { Item: unknown }
      expect(bytesOf(viaHttp.Item)).toEqual(bytesOf(other))
      expect((viaHttp.Item as { b: { B: unknown } }).b.B).toBeInstanceOf(Uint8Array)
    } finally {
      http.close()
    }
  })

  it("gives refusals as the SDK's errors and does not retry them", async () => {
    const http = transport(proxy.url)
    try {
      await http.send("PutItem", { TableName: table, Item: { pk: { S: "once" } } })
      const before = proxy.seen.length
      const refused = await http.send("PutItem", {
        TableName: table,
        Item: { pk: { S: "once" } },
        ConditionExpression: "attribute_not_exists(pk)"
      }).then(() => undefined, (e: unknown) => e)
      expect(isConditionFailed(refused)).toBe(true)
      expect(refused).toMatchObject({ $metadata: { httpStatusCode: 400 } })
      expect(isRetryable(refused)).toBe(false)

      const missing = await http.send("GetItem", { TableName: `${table}_absent`, Key: { pk: { S: "x" } } }).then(() => undefined, (e: unknown) => e)
      expect(missing).toMatchObject({ name: "ResourceNotFoundException" })
      expect(isRetryable(missing)).toBe(false)
      expect(proxy.seen.length - before).toBe(2)
    } finally {
      http.close()
    }
  })

  it("retries 503s and cut connections up to maxAttempts, then gives up", async () => {
    const http = transport(proxy.url)
    try {
      const modes: Array<Mode> = ["unavailable", "cut", "forward"]
      proxy.setNext(() => modes.shift() ?? "forward")
      let before = proxy.seen.length
      await http.send("PutItem", { TableName: table, Item: { pk: { S: "after two faults" } } })
      expect(proxy.seen.length - before).toBe(3)

      // an answer cut after its status line: a retryable failure, then the retry reads it whole
      const truncatedThenWhole: Array<Mode> = ["truncated", "forward"]
      proxy.setNext(() => truncatedThenWhole.shift() ?? "forward")
      before = proxy.seen.length
      const read = (await http.send("GetItem", { TableName: table, Key: { pk: { S: "after two faults" } }, ConsistentRead: true })) as {
        Item?: Record<string, AttributeValue>
      }
      expect(read.Item?.["pk"]?.S).toBe("after two faults")
      expect(proxy.seen.length - before).toBe(2)
      proxy.setNext(() => "truncated")
      const truncated = await http.send("GetItem", { TableName: table, Key: { pk: { S: "x" } } }).then(() => undefined, (e: unknown) => e)
      expect(isRetryable(truncated), String(truncated)).toBe(true)
      const stored = await ddb.client().send(new GetItemCommand({ TableName: table, Key: { pk: { S: "after two faults" } }, ConsistentRead: true }))
      expect(stored.Item?.["pk"]?.S).toBe("after two faults")

      proxy.setNext(() => "unavailable")
      before = proxy.seen.length
      const failed = await http.send("GetItem", { TableName: table, Key: { pk: { S: "x" } } }).then(() => undefined, (e: unknown) => e)
      expect(failed).toMatchObject({ name: "ServiceUnavailable", $metadata: { httpStatusCode: 503 } })
      expect(isRetryable(failed)).toBe(true)
      expect(proxy.seen.length - before).toBe(3)
    } finally {
      proxy.setNext(() => "forward")
      http.close()
    }
  })

  it("times out an answer that never comes, and stops at once when aborted", async () => {
    const http = transport(proxy.url, { maxAttempts: 2, requestTimeoutMs: 300 })
    try {
      proxy.setNext(() => "hold")
      let before = proxy.seen.length
      const started = Date.now()
      const timedOut = await http.send("GetItem", { TableName: table, Key: { pk: { S: "x" } } }).then(() => undefined, (e: unknown) => e)
      expect(timedOut).toMatchObject({ name: "TimeoutError" })
      expect(isRetryable(timedOut)).toBe(true)
      expect(proxy.seen.length - before).toBe(2)
      expect(Date.now() - started).toBeGreaterThanOrEqual(600)

      before = proxy.seen.length
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 100)
      const abortedAt = Date.now()
      const aborted = await http.send("GetItem", { TableName: table, Key: { pk: { S: "x" } } }, controller.signal)
        .then(() => undefined, (e: unknown) => e)
      expect(aborted).toMatchObject({ name: "AbortError" })
      expect(Date.now() - abortedAt).toBeLessThan(290)
      expect(proxy.seen.length - before).toBe(1)
    } finally {
      proxy.setNext(() => "forward")
      http.close()
    }
  })

  it("signs what reaches the server with Signature Version 4, session token included", async () => {
    const withToken = { ...CREDENTIALS, sessionToken: "a-session-token" }
    const http = transport(proxy.url, { credentials: async () => withToken })
    try {
      const before = proxy.seen.length
      await http.send("PutItem", { TableName: table, Item: { pk: { S: "signed" }, b: { B: new Uint8Array([1, 2]) } } })
      await http.send("GetItem", { TableName: table, Key: { pk: { S: "signed" } } })
      const requests = proxy.seen.slice(before)
      expect(requests).toHaveLength(2)
      for (const r of requests) {
        const { expected, sent } = expectedSignature(r, CREDENTIALS.secretAccessKey, awsRegion())
        expect(sent).toBe(expected)
        expect(r.headers["x-amz-security-token"]).toBe("a-session-token")
        expect(String(r.headers["authorization"])).toContain("x-amz-security-token")
        expect(String(r.headers["authorization"])).toContain("x-amz-target")
      }
      // a changed body no longer verifies: the check above can fail
      const tampered = { ...requests[0]!, body: requests[0]!.body.replace("signed", "signeD") }
      const check = expectedSignature(tampered, CREDENTIALS.secretAccessKey, awsRegion())
      expect(check.sent).not.toBe(check.expected)
    } finally {
      http.close()
    }
  })

  it("is the client service's default; DDB_TRANSPORT=sdk selects the SDK client", async () => {
    const settings: Client.Settings = {
      endpoint: proxy.url,
      region: awsRegion(),
      credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: Redacted.make(CREDENTIALS.secretAccessKey) }
    }
    for (const transportName of ["http", "sdk"] as const) {
      const before = proxy.seen.length
      await Effect.runPromise(
        Effect.scoped(
          Effect.flatMap(Client.make({ ...settings, transport: transportName }), (client) =>
            Effect.promise(() => client.send("DescribeTable", { TableName: table })))
        )
      )
      const agent = String(proxy.seen[before]?.headers["user-agent"] ?? "")
      // the SDK announces itself; Node's HTTP agent sends no user agent
      expect(agent.includes("aws-sdk-js"), agent).toBe(transportName === "sdk")
    }
  })
})

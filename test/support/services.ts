/**
 * Endpoints of the real servers the integration tests use, and the checks that make a suite fail
 * loudly (never skip) when a server cannot be reached.
 *
 * Each value is read from `process.env` first, then from `.services/env` (written by
 * `scripts/services.sh up`; `scripts/test.sh` exports it), then falls back to the local defaults of
 * scripts/services.sh. To run against docker compose instead, export the variables of
 * `services.compose.env` (see docs/services.md).
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The project's root folder (this file is test/support/services.ts). */
export const projectRoot: string = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/** The env file scripts/services.sh writes. */
export const servicesEnvFile: string = Path.join(projectRoot, ".services", "env")

/** Values used when neither the environment nor the env file has one: scripts/services.sh's ports. */
const defaults = {
  MONGO_URI: "mongodb://127.0.0.1:27117",
  KAFKA_BROKERS: "127.0.0.1:19092",
  DDB_ENDPOINT: "http://127.0.0.1:14567",
  DDB_TX_ENDPOINT: "http://127.0.0.1:15000",
  REDIS_URL: "redis://127.0.0.1:16379",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test"
} as const

export type ServiceVariable = keyof typeof defaults

/** Parses `KEY=value` lines (blank lines and `#` comments ignored; no quoting, no expansion). */
export const parseEnvFile = (text: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#")) continue
    const eq = line.indexOf("=")
    if (eq <= 0) continue
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim()
  }
  return out
}

let fileCache: Record<string, string> | undefined
const fromFile = (): Record<string, string> => {
  if (fileCache === undefined) {
    try {
      fileCache = parseEnvFile(Fs.readFileSync(servicesEnvFile, "utf8"))
    } catch {
      fileCache = {}
    }
  }
  return fileCache
}

/** A setting: `process.env`, then `.services/env`, then undefined. */
export const setting = (key: string): string | undefined => {
  const fromProcess = process.env[key]
  if (fromProcess !== undefined && fromProcess !== "") return fromProcess
  const value = fromFile()[key]
  return value === undefined || value === "" ? undefined : value
}

const get = (key: ServiceVariable): string => setting(key) ?? defaults[key]

/** Every service variable with its effective value (e.g. to pass to a child process). */
export const servicesEnv = (): Record<ServiceVariable | "KAFKAJS_NO_PARTITIONER_WARNING", string> => ({
  MONGO_URI: mongoUri(),
  KAFKA_BROKERS: kafkaBrokers().join(","),
  DDB_ENDPOINT: ddbEndpoint(),
  DDB_TX_ENDPOINT: ddbTxEndpoint(),
  REDIS_URL: redisUrl(),
  AWS_REGION: awsRegion(),
  AWS_ACCESS_KEY_ID: get("AWS_ACCESS_KEY_ID"),
  AWS_SECRET_ACCESS_KEY: get("AWS_SECRET_ACCESS_KEY"),
  KAFKAJS_NO_PARTITIONER_WARNING: "1"
})

export const mongoUri = (): string => get("MONGO_URI")
export const kafkaBrokers = (): Array<string> =>
  get("KAFKA_BROKERS").split(",").map((s) => s.trim()).filter((s) => s !== "")
/** DynamoDB API without transactions (dynalite locally). */
export const ddbEndpoint = (): string => get("DDB_ENDPOINT")
/** DynamoDB API with TransactWriteItems (moto locally). */
export const ddbTxEndpoint = (): string => get("DDB_TX_ENDPOINT")
export const redisUrl = (): string => get("REDIS_URL")
export const awsRegion = (): string => get("AWS_REGION")

/** Options for `new DynamoDBClient(...)`: endpoint, region, static test credentials. */
export const awsClientConfig = (endpoint: string = ddbEndpoint()): {
  readonly endpoint: string
  readonly region: string
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string }
} => ({
  endpoint,
  region: awsRegion(),
  credentials: { accessKeyId: get("AWS_ACCESS_KEY_ID"), secretAccessKey: get("AWS_SECRET_ACCESS_KEY") }
})

export type ServiceName = "mongo" | "kafka" | "dynamodb" | "dynamodb-tx" | "redis"

interface ServiceInfo {
  readonly label: string
  readonly variable: ServiceVariable
  readonly local: string
  readonly endpoint: () => string
  readonly defaultPort: number
}

const services: Record<ServiceName, ServiceInfo> = {
  mongo: { label: "MongoDB", variable: "MONGO_URI", local: "mongo", endpoint: mongoUri, defaultPort: 27017 },
  kafka: { label: "Kafka", variable: "KAFKA_BROKERS", local: "kafka", endpoint: () => get("KAFKA_BROKERS"), defaultPort: 9092 },
  dynamodb: { label: "DynamoDB", variable: "DDB_ENDPOINT", local: "dynalite", endpoint: ddbEndpoint, defaultPort: 80 },
  "dynamodb-tx": {
    label: "DynamoDB (with transactions)",
    variable: "DDB_TX_ENDPOINT",
    local: "moto",
    endpoint: ddbTxEndpoint,
    defaultPort: 80
  },
  redis: { label: "Redis", variable: "REDIS_URL", local: "redis", endpoint: redisUrl, defaultPort: 6379 }
}

/** `host:port` pairs named by an endpoint: a URI (`scheme://[user@]h1:p1,h2:p2/...`) or a broker list. */
export const endpointAddresses = (
  endpoint: string,
  defaultPort: number
): Array<{ readonly host: string; readonly port: number }> => {
  let rest = endpoint.trim()
  const scheme = rest.indexOf("://")
  if (scheme >= 0) {
    if (rest.startsWith("https://") && defaultPort === 80) defaultPort = 443
    rest = rest.slice(scheme + 3)
  }
  const slash = rest.search(/[/?]/)
  if (slash >= 0) rest = rest.slice(0, slash)
  const at = rest.lastIndexOf("@")
  if (at >= 0) rest = rest.slice(at + 1)
  return rest
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((hostPort) => {
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort)
      if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : defaultPort }
      const colon = hostPort.lastIndexOf(":")
      return colon > 0
        ? { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) }
        : { host: hostPort, port: defaultPort }
    })
}

/** Resolves when a TCP connection to host:port opens within `timeoutMs`; rejects otherwise. */
export const tcpConnect = (host: string, port: number, timeoutMs = 3_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const socket = Net.connect({ host, port })
    const done = (error?: Error) => {
      socket.removeAllListeners()
      socket.destroy()
      if (error) reject(error)
      else resolve()
    }
    socket.setTimeout(timeoutMs, () => done(new Error(`no connection within ${timeoutMs} ms`)))
    socket.once("connect", () => done())
    socket.once("error", (e) => done(e))
  })

/**
 * Throws a clear Error unless a TCP connection to (one of) the endpoint's address(es) opens within
 * `timeoutMs`. `label` names the server in the message, `hint` says how to start it.
 */
export const ensureReachable = async (
  label: string,
  endpoint: string,
  options: { readonly defaultPort?: number; readonly timeoutMs?: number; readonly hint?: string } = {}
): Promise<void> => {
  const addresses = endpointAddresses(endpoint, options.defaultPort ?? 80)
  const failures: Array<string> = []
  for (const { host, port } of addresses) {
    try {
      await tcpConnect(host, port, options.timeoutMs ?? 3_000)
      return
    } catch (e) {
      failures.push(`${host}:${port}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  throw new Error(
    `${label} at ${endpoint} is not reachable (${failures.join("; ") || "no address"})` +
      (options.hint ? `: ${options.hint}` : "")
  )
}

/**
 * Fails (throws) when the named server cannot be reached, with the command that starts it; returns
 * its endpoint otherwise. Call it in `beforeAll` of every suite that needs a server.
 */
export const requireService = async (name: ServiceName, timeoutMs = 3_000): Promise<string> => {
  const info = services[name]
  const endpoint = info.endpoint()
  await ensureReachable(info.label, endpoint, {
    defaultPort: info.defaultPort,
    timeoutMs,
    hint:
      `run \`bash scripts/services.sh up ${info.local}\` (or \`bash scripts/test.sh\`, which starts every server), ` +
      `or set ${info.variable} to a running server (see docs/services.md)`
  })
  return endpoint
}

let counter = 0
/**
 * A fresh name for a topic, collection, table, group or key prefix: `prefix-<time>-<random><n>`,
 * made of [A-Za-z0-9._-] only (valid for Kafka topics, MongoDB collections and DynamoDB tables).
 */
export const uniqueName = (prefix: string): string => {
  counter += 1
  const random = Math.random().toString(36).slice(2, 8)
  return `${prefix.replace(/[^A-Za-z0-9._-]/g, "_")}-${Date.now().toString(36)}-${random}${counter}`
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export const eventually = async <A>(
  what: string,
  check: () => Promise<A | undefined> | A | undefined,
  timeoutMs = 20_000,
  intervalMs = 50
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/**
 * The orderstats binaries' command lines (effect/cli): `--help` lists each binary's flags and the
 * environment variables it reads with their defaults; a bad flag gives the usage on stderr; a
 * missing or malformed variable is named with what to set; an unreachable server is named by host
 * and port without its credentials; the demo lists its dead letters and says what the handoff is.
 * The binaries run from dist/ as child processes, in an environment without the test servers'.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Option, Redacted } from "effect"
import * as Settings from "../../examples/orderstats/config.ts"
import * as Servers from "../../examples/orderstats/servers.ts"
import { SourceError } from "../../src/Errors.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { ensureBuilt, root, run } from "../support/cli.ts"

const BINARIES = ["main", "bootstrap", "worker", "relay", "seed", "totals"] as const
type Binary = typeof BINARIES[number]

const FLAGS: Record<Binary, ReadonlyArray<string>> = {
  main: ["--services", "--json", "--snapshot", "--changes", "--snapshot-position", "--now", "--state"],
  bootstrap: ["--json"],
  worker: ["--json"],
  relay: [],
  seed: ["--count", "--invalid", "--customers", "--seed", "--writer", "--rate", "--duration", "--invalidate"],
  totals: ["--json", "--days"]
}

// some of each binary's variables, with the default its --help must show
const VARIABLES: Record<Binary, ReadonlyArray<readonly [string, string]>> = {
  main: [["MONGO_DB", "shop"], ["KEEP_DOCUMENTS", "false"], ["LOG_LEVEL", "Info"], ["MONGO_URI", "(required)"], ["LIVE_SOURCE", "changestream"], ["DDB_TABLE", "order_totals"]],
  bootstrap: [["MONGO_URI", "(required)"], ["MONGO_BATCH_SIZE", "1000"], ["KEEP_DOCUMENTS", "false"], ["STATE_DIR", "state"], ["DDB_CREATE_TABLES", "true"], ["REDIS_URL", "(off)"]],
  worker: [["LIVE_SOURCE", "changestream"], ["STOP_WHEN_IDLE_MS", "(never)"], ["KAFKA_BROKERS", "(required)"], ["KAFKA_MAX_RECORD_BYTES", "262144"], ["CONSUMER_GROUP", "order_totals_worker"], ["AWS_REGION", "us-east-1"]],
  relay: [["MONGO_STREAM_BATCH_SIZE", "1000"], ["KAFKA_TOPIC", "orders.cdc"], ["KAFKA_TOPIC_PARTITIONS", "3"], ["STORE", "(auto)"]],
  seed: [["MONGO_URI", "(required)"], ["MONGO_COLLECTION", "orders"], ["LOG_LEVEL", "Info"]],
  totals: [["DDB_ENDPOINT", "(AWS)"], ["REDIS_URL", "(off)"], ["LOG_LEVEL", "Info"]]
}

// variables a binary does not read: its --help must not list them
const NOT_READ: Partial<Record<Binary, ReadonlyArray<string>>> = {
  seed: ["KAFKA_BROKERS", "DDB_ENDPOINT", "MONGO_BATCH_SIZE"],
  totals: ["MONGO_URI", "KAFKA_BROKERS"],
  bootstrap: ["KAFKA_BROKERS", "LIVE_SOURCE"]
}

const SECRET = "s3cret-Pa55word"
const USER = "orderstats-user"

let dir = ""
const scripts = {} as Record<Binary, string>

beforeAll(() => {
  for (const binary of BINARIES) scripts[binary] = ensureBuilt(`${binary}.js`)
  dir = mkdtempSync(join(tmpdir(), "orderstats-binaries-"))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Every variable the binaries document, unset (the test run exports the servers' endpoints), and `vars`. */
const env = (vars: Record<string, string>): NodeJS.ProcessEnv => {
  const out: NodeJS.ProcessEnv = {}
  for (const section of Object.values(Settings.sections)) for (const v of section.variables) out[v.name] = undefined
  return { ...out, ...vars }
}

/** A TCP port nothing listens on. */
const closedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

describe("--help", () => {
  for (const binary of BINARIES) {
    it(`${binary}.js --help lists its flags and its variables with their defaults`, async () => {
      const r = await run(scripts[binary], ["--help"], { env: env({}) })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(`${binary}.js [flags]`)
      for (const flag of FLAGS[binary]) expect(r.stdout).toMatch(new RegExp(`^\\s+${escape(flag)}\\b`, "m"))
      const environment = r.stdout.slice(r.stdout.indexOf("\nENVIRONMENT\n"))
      expect(environment.length).toBeGreaterThan(20)
      for (const [name, fallback] of VARIABLES[binary]) {
        expect(environment).toMatch(new RegExp(`^\\s+${name}\\s+${escape(fallback)}\\s+\\S`, "m"))
      }
      for (const name of NOT_READ[binary] ?? []) expect(environment).not.toMatch(new RegExp(`^\\s+${name}\\s`, "m"))
    })
  }

  it("--version prints the package's version", async () => {
    const r = await run(scripts.totals, ["--version"], { env: env({}) })
    expect(r.code).toBe(0)
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }
    expect(r.stdout.trim()).toBe(`totals.js v${version}`)
  })

  it("totals.js --days takes 1 to 90 days (the retention)", async () => {
    for (const days of ["0", "91"]) {
      const r = await run(scripts.totals, ["--days", days], { env: env({}) })
      expect(r.code).toBe(1)
      expect(r.stdout).toBe("")
      expect(r.stderr).toMatch(new RegExp(`^totals: Invalid value for flag --days: "${days}"\\. Expected: a number of days from 1 to 90 \\(the retention\\)$`, "m"))
    }
  })

  it("a bad flag: the error, the usage line and a pointer to --help on stderr, nothing on stdout, exit 1", async () => {
    const r = await run(scripts.seed, ["--count", "-3"], { env: env({}) })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/^seed: Invalid value for flag --count: "-3"\. Expected: a number >= 0$/m)
    expect(r.stderr).toMatch(/^usage: seed\.js \[flags\]$/m)
    expect(r.stderr).toContain("seed.js --help lists the flags and the environment variables")
  })
})

describe("the help's defaults are the defaults in use", () => {
  const settings = Object.values(Settings.sections)
    .flatMap((s) => s.variables)
    .filter((v): v is Settings.Setting<unknown> => "config" in v)

  it.effect("each setting read from an empty environment gives the default --help shows", () =>
    Effect.gen(function*() {
      expect(settings.length).toBeGreaterThan(15)
      const empty = ConfigProvider.fromEnvRecord({})
      for (const setting of new Set(settings)) {
        const exit = yield* Effect.exit(setting.config.parse(empty))
        if (setting.fallback === "(required)") {
          expect(Exit.isFailure(exit), setting.name).toBe(true)
          continue
        }
        expect(Exit.isSuccess(exit), setting.name).toBe(true)
        if (!Exit.isSuccess(exit)) continue
        const value = exit.value
        if (setting.fallback.startsWith("(")) {
          // (never), (off), (AWS), (auto): nothing set
          expect(value === undefined || (Option.isOption(value) && Option.isNone(value)), setting.name).toBe(true)
        } else {
          expect(Redacted.isRedacted(value) ? Redacted.value(value) : String(value), setting.name).toBe(setting.fallback)
        }
      }
    }))
})

describe("variables", () => {
  it("a missing variable is named with what to set, before anything is created", async () => {
    const state = join(dir, "missing")
    const r = await run(scripts.bootstrap, [], { env: env({ STATE_DIR: state }) })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^bootstrap: MONGO_URI is not set: set it to the MongoDB connection string, e\.g\. mongodb:\/\/\S+/m)
    expect(r.stderr).toContain("bootstrap: (bootstrap.js --help lists every variable it reads)")
    expect(r.stderr).not.toMatch(/ConfigError|SchemaError/)
    // the configuration is read before the store is opened
    expect(existsSync(state)).toBe(false)
  })

  it("a variable needed only by the chosen source is named too (KAFKA_BROKERS for LIVE_SOURCE=kafka)", async () => {
    const r = await run(scripts.worker, [], { env: env({ STATE_DIR: join(dir, "kafka-missing"), LIVE_SOURCE: "kafka" }) })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^worker: KAFKA_BROKERS is not set: set it to the Kafka brokers, host:port/m)
  })

  it("a malformed variable is named with its value, what is wrong, what to set and its default", async () => {
    const batch = await run(scripts.bootstrap, [], {
      env: env({ STATE_DIR: join(dir, "malformed"), MONGO_URI: "mongodb://127.0.0.1:1", MONGO_BATCH_SIZE: "a lot" })
    })
    expect(batch.code).toBe(1)
    expect(batch.stderr).toMatch(
      /^bootstrap: MONGO_BATCH_SIZE="a lot" is not valid \(Expected [^)]*\): set it to the documents per batch of the bootstrap's scan, an integer \(default: 1000\)$/m
    )
    const source = await run(scripts.worker, [], { env: env({ STATE_DIR: join(dir, "malformed"), LIVE_SOURCE: "kafak" }) })
    expect(source.code).toBe(1)
    expect(source.stderr).toMatch(/^worker: LIVE_SOURCE="kafak" is not valid \(Expected "changestream" \| "kafka"\): set it to the live source: .* \(default: changestream\)$/m)
  })
})

describe("an unreachable server", () => {
  it("is named by host and port and by its variable; the credentials never appear", async () => {
    const port = await closedPort()
    const cases = [
      { uri: `mongodb://${USER}:${SECRET}@127.0.0.1:${port}/shop?authSource=admin`, server: `127.0.0.1:${port}` },
      // a name that does not resolve, without a port: the default one
      { uri: `mongodb://${USER}:${SECRET}@mongo.invalid/?replicaSet=rs0`, server: "mongo.invalid:27017" }
    ]
    const runs = await Promise.all(cases.map((c, i) =>
      run(scripts.bootstrap, [], { env: env({ STATE_DIR: join(dir, `unreachable-${i}`), MONGO_URI: c.uri }) })
    ))
    for (const [i, r] of runs.entries()) {
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^bootstrap: SourceError: source mongodb: connecting to <redacted> failed/m)
      expect(r.stderr).toContain(`(MongoDB at ${cases[i]!.server}, from MONGO_URI)`)
      for (const secret of [SECRET, USER]) expect(r.stderr + r.stdout).not.toContain(secret)
    }
  }, 60_000)
})

describe("the demo", () => {
  it("lists the dead letters with their reasons and says what the handoff position is", async () => {
    const r = await run(scripts.main, [], { env: env({}) })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^dead letters of order_totals: 4 \(/m)
    expect(r.stdout).toMatch(/^ {2}\S*changes\.jsonl line 9: not JSON/m)
    expect(r.stdout).toMatch(/^ {2}\S*changes\.jsonl line 10 \(document "o5"\): .*Expected number at \["amount"\]$/m)
    expect(r.stdout).toMatch(/^ {2}\S*snapshot\.jsonl line 6 \(document "o6"\): .*Expected an integer/m)
    expect(r.stdout).toMatch(/^handoff: +1700000000000:5, the snapshot's version: changes at or before it are already in the snapshot/m)
  })

  it("--json carries the first dead letters too", async () => {
    const r = await run(scripts.main, ["--json"], { env: env({}) })
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { firstDeadLetters: ReadonlyArray<{ seq: number; reason: string }> }
    expect(out.firstDeadLetters.map((d) => d.seq)).toEqual([9, 10, 12, 6])
    expect(out.firstDeadLetters[0]!.reason).toMatch(/^not JSON/)
  })

  it("--services refuses the demo's flags", async () => {
    const r = await run(scripts.main, ["--services", "--state", join(dir, "x")], { env: env({}) })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^orderstats: ConfigurationError: --state: flags of the embedded demo, not of --services$/m)
    const now = await run(scripts.main, ["--services", "--now", "2026-05-01T12:00:00Z"], { env: env({}) })
    expect(now.code).toBe(1)
    expect(now.stderr).toMatch(/^orderstats: ConfigurationError: --now: flags of the embedded demo, not of --services$/m)
  })
})

describe("servers.ts: naming a server without its credentials", () => {
  it("hostsOf keeps hosts and ports only, whatever the user and password hold", () => {
    expect(Servers.hostsOf("mongodb://127.0.0.1:27117", 27017)).toEqual(["127.0.0.1:27117"])
    expect(Servers.hostsOf("mongodb://u:p@a.example,b.example:27018/shop?replicaSet=rs0", 27017)).toEqual(["a.example:27017", "b.example:27018"])
    // unescaped "@" and "/" in the password, options that carry a secret
    expect(Servers.hostsOf(`mongodb://${USER}:${SECRET}@/x@db.example/?authMechanismProperties=TOKEN:${SECRET}`, 27017)).toEqual(["db.example:27017"])
    expect(Servers.hostsOf("redis://:pw@cache:6380/0", 6379)).toEqual(["cache:6380"])
    expect(Servers.hostsOf("mongodb+srv://u:p@cluster.example/", undefined)).toEqual(["cluster.example"])
    expect(Servers.originOf(`http://${USER}:${SECRET}@127.0.0.1:8000/path?x=1`)).toBe("http://127.0.0.1:8000")
  })

  it("kindsOf: the server an error concerns", () => {
    const source = (name: string) => new SourceError({ source: name, retryable: true, detail: "x" })
    expect(Servers.kindsOf(source("mongodb"))).toEqual(["mongodb"])
    expect(Servers.kindsOf(source("mongo-changes:shop.orders"))).toEqual(["mongodb"])
    expect(Servers.kindsOf(source("kafka:orders.cdc"))).toEqual(["kafka"])
    expect(Servers.kindsOf(source("relay shop.orders->orders.cdc"))).toEqual(["mongodb", "kafka"])
    expect(Servers.kindsOf(new StoreError({ store: "dynamodb", operation: "get", retryable: true }))).toEqual(["dynamodb"])
    expect(Servers.kindsOf(new StoreError({ store: "cache", operation: "get", retryable: true }))).toEqual(["redis"])
    expect(Servers.kindsOf(new StoreError({ store: "embedded", operation: "get", retryable: false }))).toEqual([])
    expect(Servers.kindsOf(new Error("x"))).toEqual([])
  })

  it.effect("describeError names each server from its variable, without credentials", () =>
    Effect.gen(function*() {
      const env = ConfigProvider.layer(ConfigProvider.fromEnvRecord({
        MONGO_URI: `mongodb://${USER}:${SECRET}@db1:27017,db2:27018/?replicaSet=rs0`,
        KAFKA_BROKERS: "k1:19092, k2",
        DDB_ENDPOINT: `http://${USER}:${SECRET}@127.0.0.1:14567`,
        REDIS_URL: `redis://:${SECRET}@127.0.0.1:16379/0`
      }))
      const relay = yield* Servers.describeError(new SourceError({ source: "relay a->b", retryable: true, detail: "x" })).pipe(Effect.provide(env))
      expect(relay).toBe(" (MongoDB at db1:27017, db2:27018, from MONGO_URI; Kafka at k1:19092, k2:9092, from KAFKA_BROKERS)")
      const ddb = yield* Servers.describeError(new StoreError({ store: "dynamodb", operation: "get", retryable: true })).pipe(Effect.provide(env))
      expect(ddb).toBe(" (DynamoDB at http://127.0.0.1:14567, from DDB_ENDPOINT)")
      const cache = yield* Servers.describeError(new StoreError({ store: "cache", operation: "get", retryable: true })).pipe(Effect.provide(env))
      expect(cache).toBe(" (Valkey/Redis at 127.0.0.1:16379, from REDIS_URL)")
      for (const text of [relay, ddb, cache]) expect(text).not.toContain(SECRET)
      const aws = yield* Servers.describeError(new StoreError({ store: "dynamodb", operation: "get", retryable: true })).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ AWS_REGION: "eu-west-1" })))
      )
      expect(aws).toBe(" (DynamoDB of AWS in eu-west-1, from AWS_REGION (DDB_ENDPOINT is not set))")
    }))
})

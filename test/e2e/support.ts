/**
 * Helpers of the end-to-end tests: the orderstats binaries (examples/orderstats/*.ts, run by Node
 * 24 directly) as child processes, a scenario's environment (unique database, tables, topics and
 * group), the store read back in-process (the real DynamoDB store over dynalite), the writer's
 * counts, and quiescence: a marker order inserted after the writer stopped, waited for in the store
 * (everything before it in the change stream is applied then) and, on the Kafka path, the group's
 * committed offsets at the end of the topic. The per-day pipelines are checked against their own
 * group-bys over the final collection (by customer and UTC day of `created_at`).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { Effect, Option } from "effect"
import type { Admin } from "kafkajs"
import type { Collection, Document, MongoClient } from "mongodb"
import { afterAll, afterEach, beforeAll } from "vitest"
import type * as Orders from "../../examples/orderstats/orders.ts"
import {
  ALL,
  customersPerDay,
  ordersPerCustomer,
  ordersPerStatus,
  orderTotals,
  RETENTION_DAYS,
  revenuePerDay,
  topCustomersPerDay
} from "../../examples/orderstats/pipeline.ts"
import type * as Pipeline from "../../src/Pipeline.ts"
import * as TopK from "../../src/TopK.ts"
import * as Window from "../../src/Window.ts"
import * as Source from "../../src/Source.ts"
import type { DeadLetter } from "../../src/Store/DeadLetters.ts"
import * as DynamoDbClient from "../../src/DynamoDb/DynamoDbClient.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as Tables from "../../src/DynamoDb/DynamoDbTables.ts"
import { quiescent } from "../kafka/support.ts"
import { groupByCount, mongoClient } from "../mongo/support.ts"
import {
  awsClientConfig,
  awsRegion,
  ddbEndpoint,
  eventually,
  kafkaBrokers,
  mongoUri,
  projectRoot,
  redisUrl,
  requireService,
  type ServiceName,
  uniqueName
} from "../support/services.ts"

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const EXAMPLES = join(projectRoot, "examples", "orderstats")

/** A binary of the example, running. */
export interface Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly alive: () => boolean
}

const running = new Set<ChildProcess>()

/** SIGKILLs every binary a test started that still runs (a failed test leaves no worker behind). */
export const killAll = async (): Promise<void> => {
  const left = Array.from(running)
  for (const child of left) child.kill("SIGKILL")
  await Promise.all(left.map((child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("close", () => resolve())))))
}

/** Starts `node examples/orderstats/<binary>.ts ...args` with `env` (and nothing else of this process's settings). */
export const start = (binary: string, env: Record<string, string>, args: ReadonlyArray<string> = [], name = binary): Proc => {
  const child = spawn(process.execPath, ["--no-warnings", join(EXAMPLES, `${binary}.ts`), ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  running.add(child)
  child.once("close", () => running.delete(child))
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString("utf8")))
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal }))
  })
  return {
    name,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null
  }
}

/** Runs a binary to its end; fails when it does not exit 0 within `timeoutMs`. Returns its stdout. */
export const runToEnd = async (
  binary: string,
  env: Record<string, string>,
  args: ReadonlyArray<string> = [],
  timeoutMs = 90_000
): Promise<string> => {
  const p = start(binary, env, args)
  const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs)
  const exit = await p.exited
  clearTimeout(timer)
  if (exit.code !== 0) throw new Error(`${binary} ${args.join(" ")} ended with ${exit.code ?? exit.signal}:\n${p.stderr()}`)
  return p.stdout()
}

/** Waits until `pattern` appears in the process's stderr (its logs); false when it exited first. */
export const waitFor = async (p: Proc, pattern: RegExp, timeoutMs = 30_000): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (pattern.test(p.stderr())) return true
    if (!p.alive()) return pattern.test(p.stderr())
    await sleep(20)
  }
  throw new Error(`${p.name} did not log ${pattern} within ${timeoutMs} ms:\n${p.stderr()}`)
}

/** Sends `signal` and waits for the exit. */
export const stop = async (p: Proc, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 30_000) => {
  p.child.kill(signal)
  const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs)
  const exit = await p.exited
  clearTimeout(timer)
  return exit
}

const SETTINGS_OF_THIS_PROCESS = [
  "MONGO_URI", "MONGO_DB", "MONGO_COLLECTION", "MONGO_BATCH_SIZE", "MONGO_STREAM_BATCH_SIZE", "MONGO_IDLE_POLL_MS", "KAFKA_BROKERS", "KAFKA_TOPIC", "KAFKA_DLQ_TOPIC",
  "CONSUMER_GROUP", "LIVE_SOURCE", "STORE", "STATE_DIR", "DDB_ENDPOINT", "DDB_TX_ENDPOINT", "DDB_TABLE", "DDB_LEDGER_TABLE",
  "DDB_TOKENS_TABLE", "DDB_DEAD_LETTER_TABLE", "REDIS_URL", "STOP_WHEN_IDLE_MS"
]

/** One test's names and the environment of its binaries. */
export interface Scenario {
  readonly db: string
  readonly collection: string
  readonly table: string
  readonly topic: string
  readonly dlq: string
  readonly group: string
  readonly env: Record<string, string>
}

const scenarios: Array<Scenario> = []

/**
 * Drops what the scenarios of the test created in the in-memory servers: the MongoDB databases
 * (mongo-java-server keeps every database, and its oplog, in its heap) and the DynamoDB tables.
 * Kafka topics stay: the broker keeps them on disk and wipes them at its next start, and deleting
 * them would break the metadata of kafkajs clients that saw them (the test files' admin clients).
 */
export const dropScenarios = async (): Promise<void> => {
  const done = scenarios.splice(0)
  if (done.length === 0) return
  const mongo = mongoClient()
  try {
    await mongo.connect()
    for (const sc of done) {
      await mongo.db(sc.db).dropDatabase().catch(() => undefined)
      await Effect.runPromise(
        Tables.drop(Tables.fromBase(sc.table)).pipe(
          Effect.provide(DynamoDbClient.layerFrom(ddbClient())),
          Effect.catch(() => Effect.void)
        )
      )
    }
  } finally {
    await mongo.close().catch(() => undefined)
  }
}

export const scenario = (
  prefix: string,
  options: { readonly cache?: boolean; readonly extra?: Record<string, string> } = {}
): Scenario => {
  const base: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SETTINGS_OF_THIS_PROCESS.includes(k)) base[k] = v
  const id = uniqueName(prefix).replace(/[^A-Za-z0-9_]/g, "_")
  const s = {
    db: id,
    collection: "orders",
    table: `${id}_totals`,
    topic: `${id}.cdc`,
    dlq: `${id}.cdc.dlq`,
    group: `${id}_workers`
  }
  const env: Record<string, string> = {
    ...base,
    MONGO_URI: mongoUri(),
    MONGO_DB: s.db,
    MONGO_COLLECTION: s.collection,
    MONGO_BATCH_SIZE: "100",
    // each poll of a change stream scans mongo-java-server's whole in-memory oplog: poll idle streams less often
    MONGO_IDLE_POLL_MS: "1000",
    KAFKA_BROKERS: kafkaBrokers().join(","),
    KAFKA_TOPIC: s.topic,
    KAFKA_DLQ_TOPIC: s.dlq,
    CONSUMER_GROUP: s.group,
    KAFKA_LOG_LEVEL: "error",
    KAFKAJS_NO_PARTITIONER_WARNING: "1",
    DDB_ENDPOINT: ddbEndpoint(),
    DDB_TABLE: s.table,
    AWS_REGION: awsRegion(),
    AWS_ACCESS_KEY_ID: awsClientConfig().credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: awsClientConfig().credentials.secretAccessKey,
    LOG_LEVEL: "Info",
    ...(options.cache === true ? { REDIS_URL: redisUrl() } : {}),
    ...options.extra
  }
  const out = { ...s, env }
  scenarios.push(out)
  return out
}

let ddb: DynamoDBClient | undefined
const ddbClient = (): DynamoDBClient => (ddb ??= new DynamoDBClient({ ...awsClientConfig(), maxAttempts: 3 }))

/** The real DynamoDB store services over a scenario's tables (read-back in the test process). */
export const stores = (table: string) => DynamoDbStore.make(ddbClient(), Tables.fromBase(table))

export const closeStores = () => {
  ddb?.destroy()
  ddb = undefined
}

/**
 * The set-up every end-to-end file shares: `beforeAll` checks that `services` answer and connects
 * the returned MongoDB client; after each test the binaries it started are killed and its
 * scenarios dropped; `afterAll` closes the client and the store read-back.
 */
export const useServers = (services: ReadonlyArray<ServiceName>): MongoClient => {
  const client = mongoClient()
  beforeAll(async () => {
    for (const service of services) await requireService(service)
    await client.connect()
  })
  afterEach(async () => {
    await killAll()
    await dropScenarios()
  })
  afterAll(async () => {
    await client.close()
    closeStores()
  })
  return client
}

/** The non-zero totals in the store, sorted by customer. */
export const storedTotals = async (table: string, pipeline: Pipeline.Pipeline<any, number, any> = orderTotals): Promise<Record<string, number>> => {
  const all = await Effect.runPromise(stores(table).aggregates.all(pipeline))
  return Object.fromEntries(Array.from(all).filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** The dead letters in the store's dead-letter table (the bootstrap's, and the change stream's). */
export const storedDeadLetters = (table: string): Promise<ReadonlyArray<DeadLetter>> =>
  Effect.runPromise(stores(table).deadLetters.list(orderTotals.name))

/** The counts a writer (`seed.ts --writer`) prints when it stops. */
export type WriterCounts = Readonly<Orders.WriterCounts>

/** Stops a writer with SIGTERM and reads its counts. */
export const stopWriter = async (writer: Proc): Promise<WriterCounts> => {
  const exit = await stop(writer)
  if (exit.code !== 0) throw new Error(`the writer ended with ${exit.code ?? exit.signal}:\n${writer.stderr()}`)
  return JSON.parse(writer.stdout().trim().split("\n").pop()!) as WriterCounts
}

export const MARKER_CUSTOMER = "zz-quiescence"

/**
 * Quiescence: inserts a marker order (valid, part of the reference) after the writer stopped and
 * waits until the store holds it in the first pipeline (the totals) and in the last one (the top
 * customers of its day): the fold writes a batch to its pipelines one after the other, in the
 * order of `pipelines`, so the marker in the last one means that its batch is in all of them (the
 * totals alone would let a test read the other pipelines while the worker still writes them).
 * With `kafka`, also until the group has committed the topic to its end (the marker's partition
 * being applied says nothing of the others).
 */
export const quiesce = async (
  collection: Collection<Document>,
  table: string,
  options: { readonly kafka?: { readonly admin: Admin; readonly group: string; readonly topic: string }; readonly timeoutMs?: number } = {}
): Promise<void> => {
  const amount = 1 + Math.floor(Math.random() * 100_000)
  const createdAt = new Date().toISOString()
  const day = Window.key(ALL, dayOf(Date.parse(createdAt)))
  const { aggregates } = stores(table)
  const marked = async () => [
    (await Effect.runPromise(aggregates.get(orderTotals, [MARKER_CUSTOMER]))).get(MARKER_CUSTOMER) ?? 0,
    TopK.count((await Effect.runPromise(aggregates.get(topCustomersPerDay, [day]))).get(day) ?? TopK.empty, MARKER_CUSTOMER)
  ]
  // the markers inserted before are in the store already (each quiescence waited for its own)
  const expected = (await marked()).map((cents) => cents + amount)
  await collection.insertOne({ _id: `marker-${Date.now()}` as any, customer_id: MARKER_CUSTOMER, amount, created_at: createdAt })
  const timeoutMs = options.timeoutMs ?? 90_000
  const done = async () => {
    const now = await marked()
    return now[0] === expected[0] && now[1] === expected[1] ? true : undefined
  }
  await eventually("the marker order in the store", done, timeoutMs, 200)
  if (options.kafka !== undefined) await quiescent(options.kafka.admin, options.kafka.group, options.kafka.topic, timeoutMs)
}

/** How many records of `totals` differ from `expected` (for messages). */
export const differences = <V extends number | string>(got: Record<string, V>, expected: Record<string, V>): Array<string> => {
  const out: Array<string> = []
  for (const k of new Set([...Object.keys(got), ...Object.keys(expected)])) {
    if (got[k] !== expected[k]) out.push(`${k}: got ${got[k]}, expected ${expected[k]}`)
  }
  return out
}

/**
 * How the two count pipelines folded in the same pass as the totals (orders per status, orders per
 * customer) differ from group-bys over the final collection: empty when both are exact.
 */
export const countDifferences = async (table: string, orders: Collection<Document>): Promise<Array<string>> => {
  const reference = await groupByCount(orders)
  return [
    ...differences(await storedTotals(table, ordersPerStatus), reference.perStatus).map((d) => `${ordersPerStatus.name} ${d}`),
    ...differences(await storedTotals(table, ordersPerCustomer), reference.perCustomer).map((d) => `${ordersPerCustomer.name} ${d}`)
  ]
}

const DAY = 86_400_000

/** The UTC day of an instant, `YYYY-MM-DD`. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** What the per-day pipelines must hold, computed from the final collection. */
export interface PerDayReference {
  /** `"<customer>|<day>"` -> cents (non-zero). */
  readonly revenue: Record<string, number>
  /** day -> distinct customers. */
  readonly distinct: Record<string, number>
  /** day -> the top 10 `[customer, cents]`, largest first, ties by customer. */
  readonly top: Record<string, Array<readonly [string, number]>>
}

const byKey = <V>(entries: Iterable<readonly [string, V]>): Record<string, V> =>
  Object.fromEntries(Array.from(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

/**
 * The per-day group-bys over the collection now, by this file's own rules: an order counts on the
 * UTC day of its `created_at` (text that `Date.parse` reads) when that day is within the retention
 * at `now`; its customer is a non-empty string; its revenue needs an amount that is a safe integer
 * (what the driver gives for Int32, Double and Int64 within 2^53).
 */
export const perDayReference = async (collection: Collection<Document>, now: number = Date.now()): Promise<PerDayReference> => {
  const revenue = new Map<string, Map<string, number>>() // day -> customer -> cents
  const customers = new Map<string, Set<string>>() // day -> customers
  for (const doc of await collection.find().toArray()) {
    const customer: unknown = doc.customer_id
    const amount: unknown = doc.amount
    const at = typeof doc.created_at === "string" ? Date.parse(doc.created_at) : Number.NaN
    if (typeof customer !== "string" || customer.length === 0 || !Number.isFinite(at)) continue
    const day = dayOf(at)
    if (Date.parse(`${day}T00:00:00Z`) + DAY + RETENTION_DAYS * DAY <= now) continue
    if (!customers.has(day)) customers.set(day, new Set())
    customers.get(day)!.add(customer)
    if (typeof amount !== "number" || !Number.isSafeInteger(amount)) continue
    if (!revenue.has(day)) revenue.set(day, new Map())
    revenue.get(day)!.set(customer, (revenue.get(day)!.get(customer) ?? 0) + amount)
  }
  const top = (byCustomer: ReadonlyMap<string, number>) =>
    Array.from(byCustomer).filter(([, cents]) => cents > 0).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).slice(0, 10)
  return {
    revenue: byKey(Array.from(revenue).flatMap(([day, byCustomer]) =>
      Array.from(byCustomer).filter(([, cents]) => cents !== 0).map(([c, cents]) => [Window.key(c, day), cents] as const)
    )),
    distinct: byKey(Array.from(customers).map(([day, set]) => [day, set.size] as const)),
    top: byKey(Array.from(revenue).map(([day, byCustomer]) => [day, top(byCustomer)] as const).filter(([, t]) => t.length > 0))
  }
}

/** Each customer's revenue over the `days` UTC days up to `now` (today included), from a reference. */
export const lastDays = (reference: PerDayReference, days: number, now: number = Date.now()): Record<string, number> => {
  const wanted = new Set(Array.from({ length: days }, (_, i) => dayOf(now - i * DAY)))
  const out = new Map<string, number>()
  for (const [key, cents] of Object.entries(reference.revenue)) {
    const [customer, day] = Window.splitKey(key)!
    if (wanted.has(day)) out.set(customer, (out.get(customer) ?? 0) + cents)
  }
  return byKey(Array.from(out).filter(([, cents]) => cents !== 0))
}

/** What the per-day pipelines hold in the store (full reads), in the reference's shape. */
export const storedPerDay = async (table: string): Promise<PerDayReference> => {
  const { aggregates } = stores(table)
  const revenue = await Effect.runPromise(aggregates.all(revenuePerDay))
  const customers = await Effect.runPromise(aggregates.all(customersPerDay))
  const top = await Effect.runPromise(aggregates.all(topCustomersPerDay))
  const days = <V, A>(all: ReadonlyMap<string, V>, f: (value: V) => A, keep: (a: A) => boolean) =>
    byKey(Array.from(all).map(([key, value]) => [Window.splitKey(key)![1], f(value)] as const).filter(([, a]) => keep(a)))
  return {
    revenue: byKey(Array.from(revenue).filter(([, cents]) => cents !== 0)),
    distinct: days(customers, (m) => Array.from(m.values()).filter((n) => n > 0).length, (n) => n > 0),
    top: days(top, (m) => Array.from(TopK.top(m, 10)), (t) => t.length > 0)
  }
}

/**
 * How the three per-day pipelines folded in the same pass as the totals differ from group-bys over
 * the final collection (revenue per customer and UTC day to the cent, distinct customers and the
 * top 10 per day exactly): empty when all are exact. The reference is computed at the same moment
 * as the read, so a day that expires in between cannot tell them apart.
 */
export const perDayDifferences = async (table: string, orders: Collection<Document>): Promise<Array<string>> => {
  const stored = await storedPerDay(table)
  const reference = await perDayReference(orders)
  const json = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, JSON.stringify(v)]))
  return [
    ...differences(stored.revenue, reference.revenue).map((d) => `${revenuePerDay.name} ${d}`),
    ...differences(stored.distinct, reference.distinct).map((d) => `${customersPerDay.name} ${d}`),
    ...differences(json(stored.top), json(reference.top)).map((d) => `${topCustomersPerDay.name} ${d}`)
  ]
}

/** The number of documents the bootstrap's scan has committed (the snapshot source's position in the token store). */
export const scannedSoFar = async (sc: Scenario): Promise<number> => {
  const saved = await Effect.runPromise(
    stores(sc.table).tokens.get(Source.tokenScope, Source.positionToken(`mongo-snapshot:${sc.db}.${sc.collection}`)).pipe(
      // before the first run has created the tables
      Effect.catch(() => Effect.succeed(Option.none()))
    )
  )
  if (saved._tag === "None" || typeof saved.value !== "object" || saved.value === null) return 0
  return Math.max(0, ...Object.values(saved.value as Record<string, { seq?: number }>).map((p) => p.seq ?? 0))
}

/**
 * Runs the bootstrap and SIGKILLs it in the middle of its scan, `kills` times (fewer if a run
 * finishes first): each run is killed `delay()` ms after it has committed at least one batch of
 * its own, so the next run has something to resume from. Then runs it to its end. Returns the final
 * run's JSON summary and the figures.
 */
export const bootstrapWithKills = async (
  sc: Scenario,
  kills: number,
  delay: () => number
): Promise<{ readonly summary: BootstrapSummary; readonly kills: number; readonly resumes: number }> => {
  let done = 0
  let resumes = 0
  for (let attempt = 0; attempt < kills * 3 && done < kills; attempt++) {
    const before = await scannedSoFar(sc)
    const p = start("bootstrap", sc.env, ["--json"])
    await waitFor(p, /snapshot \S+: (scanning|resuming)/, 60_000)
    await eventually("a committed scan batch", async () => (!p.alive() || (await scannedSoFar(sc)) > before ? true : undefined), 60_000, 25)
    await sleep(delay())
    if (/resuming after [1-9]\d* documents/.test(p.stderr())) resumes++
    if (p.alive() && !/bootstrap of order_totals done/.test(p.stderr())) {
      p.child.kill("SIGKILL")
      const exit = await p.exited
      if (exit.signal === "SIGKILL") done++
    } else {
      await p.exited
    }
  }
  const last = start("bootstrap", sc.env, ["--json"])
  const exit = await last.exited
  if (exit.code !== 0) throw new Error(`the bootstrap failed:\n${last.stderr()}`)
  if (/resuming after [1-9]\d* documents/.test(last.stderr())) resumes++
  return { summary: JSON.parse(last.stdout().trim()) as BootstrapSummary, kills: done, resumes }
}

export interface BootstrapSummary {
  readonly alreadyDone: boolean
  readonly documents: number
  readonly documentsThisRun: number
  readonly deadLetters: number
  readonly elapsedMs: number
  readonly position: string
}

/** Lines of a Kafka worker's log that record an assignment (one per rebalance it took part in). */
export const assignments = (p: Proc): number => (p.stderr().match(/assigned generation/g) ?? []).length

/** Durations of a test's phases, for its closing line (and for finding out where a slow run spent its time). */
export const phases = () => {
  const started = Date.now()
  let last = started
  const parts: Array<string> = []
  return {
    mark: (name: string) => {
      const now = Date.now()
      parts.push(`${name} ${((now - last) / 1000).toFixed(1)}s`)
      last = now
    },
    toString: () => `${((Date.now() - started) / 1000).toFixed(1)} s (${parts.join(", ")})`
  }
}

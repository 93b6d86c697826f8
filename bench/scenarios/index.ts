/** The benchmark scenarios, each with quick (CI smoke) and full parameters. */
import type { Sample } from "../lib/measure.ts"
import { DYNAMODB_CONCURRENCY, type WorkloadOptions } from "../lib/workload.ts"

/**
 * A scenario module, loaded only by the process that runs one of its scenarios: the Kafka, MongoDB,
 * DynamoDB and SQLite clients take about 0.4 s to load, and every run is a fresh process.
 */
const lazy = <M>(load: () => Promise<M>): (() => Promise<M>) => {
  let loaded: Promise<M> | undefined
  return () => (loaded ??= load())
}
const Fold = lazy(() => import("./fold.ts"))
const Memory = lazy(() => import("./memory.ts"))
const KafkaScenario = lazy(() => import("./kafka.ts"))
const MongoScenario = lazy(() => import("./mongo.ts"))
const Stores = lazy(() => import("./stores.ts"))
const Fanout = lazy(() => import("./fanout.ts"))
const ImportCost = lazy(() => import("./importCost.ts"))
const Events = lazy(() => import("./events.ts"))
const Latency = lazy(() => import("./latency.ts"))
const DdbClient = lazy(() => import("./ddbClient.ts"))
const EventsProcess = lazy(() => import("./eventsProcess.ts"))
const Native = lazy(() => import("./native.ts"))
const Original = lazy(() => import("./original.ts"))
const WindowScenario = lazy(() => import("./window.ts"))
const Query = lazy(() => import("./query.ts"))
const Parse = lazy(() => import("./parse.ts"))

export interface Scenario {
  readonly name: string
  readonly description: string
  readonly quick: WorkloadOptions
  readonly full: WorkloadOptions
  readonly library: (w: WorkloadOptions) => Promise<Sample>
  readonly ceiling: (w: WorkloadOptions) => Promise<Sample>
  /** Servers the scenario needs (started by scripts/bench.sh). */
  readonly requires?: ReadonlyArray<"kafka" | "mongo" | "dynamodb" | "toxiproxy" | "redis">
  /** Runs once in the parent before the runs (fills a topic...); returns env vars for the children. */
  readonly prepare?: (w: WorkloadOptions) => Promise<Record<string, string>>
  /** Runs once in the parent after the runs, even when one failed (drops tables...); gets what `prepare` returned. */
  readonly cleanup?: (env: Record<string, string>) => Promise<void>
  /**
   * What "vs ceiling" compares: `"records"` (default) records/s; `"writes"` store writes/s, for
   * ceilings that measure a store's raw write rate.
   */
  readonly compare?: "records" | "writes"
  /** Why the scenario cannot run on this machine (bench/run.ts prints it and goes on), or `undefined`. */
  readonly skip?: () => Promise<string | undefined>
}

/**
 * events-1m-process's library process (in the library column) against the Go original's
 * (bench/original, built from the checkout in MURMUR_SRC; in the ceiling column), both decoding
 * each line the same way: bench/scenarios/original.ts.
 */
const eventsOriginal = (decoding: "json" | "positional"): Scenario => ({
  name: `events-1m-process-original${decoding === "json" ? "" : "-positional"}`,
  description: `events-1m-process's library process (in the library column) against the Go original's whole process over the same file (in the ceiling column): bench/original, the original's own JSON-Lines source and streaming runtime (WithConcurrency MURMUR_CONCURRENCY, default 1) with a map-backed store, built from the checkout in MURMUR_SRC; ${
    decoding === "json"
      ? "each side decodes a line with its JSON parser (JSON.parse; the source's default decoder, encoding/json)"
      : "each side reads a line's three fields by their fixed layout, with no JSON parser (what the original's 0.68 s of issue 16 corresponds to)"
  }; both timed from start to exit, totals checked; target: the library within 2x of the original (vs ceiling >= 50%)`,
  quick: { changes: 100_000, docs: 0, customers: 10_000, skew: "uniform" },
  full: { changes: 1_000_000, docs: 0, customers: 10_000, skew: "uniform" },
  skip: async () => (await Original()).skip(),
  prepare: async (w) => (await EventsProcess()).prepare(w, { original: (await Original()).build() }),
  cleanup: async (env) => (await EventsProcess()).cleanup(env),
  library: async () => (await EventsProcess()).library(decoding),
  ceiling: async () => (await EventsProcess()).original(decoding)
})

const fold = (name: string, docs: number, skew: "uniform" | "zipf"): Scenario => ({
  name,
  description: `the fold alone in memory: changes over ${docs} documents, ${skew} customers; ceiling: a hand-written ledger-and-sum loop over the same arrays`,
  quick: { changes: 100_000, docs: Math.min(docs, 100_000), customers: 10_000, skew },
  full: { changes: 1_000_000, docs, customers: 10_000, skew },
  library: async (w) => (await Fold()).library(w),
  ceiling: async (w) => (await Fold()).ceiling(w)
})

const embedded = (durability: "full" | "normal", skew: "uniform" | "zipf"): Scenario => ({
  name: `store-embedded-${durability}-${skew}`,
  description: `the fold into the embedded SQLite store (synchronous=${durability.toUpperCase()}), ${skew} customers; ceiling: the same aggregate and ledger rows as plain upserts, one transaction per batch`,
  quick: { changes: 10_000, docs: 5_000, customers: 10_000, skew },
  full: { changes: 500_000, docs: 100_000, customers: 10_000, skew },
  compare: "writes",
  library: async (w) => (await Stores()).embeddedLibrary(durability)(w),
  ceiling: async (w) => (await Stores()).embeddedCeiling(durability)(w)
})

const embeddedSmallBatches: Scenario = {
  name: "store-embedded-small-batches",
  description: "three pipelines folded into the embedded SQLite store (synchronous=FULL) in batches of 20 records, as a live source delivers them, one transaction a batch (the store's Transactions); in the ceiling column, the baseline: the same fold with one transaction a store call (vs ceiling = how many times faster)",
  quick: { changes: 4_000, docs: 2_000, customers: 1_000, skew: "uniform", chunk: 20 },
  full: { changes: 20_000, docs: 20_000, customers: 2_000, skew: "uniform", chunk: 20 },
  library: async (w) => (await Stores()).embeddedSmallBatches(true)(w),
  ceiling: async (w) => (await Stores()).embeddedSmallBatches(false)(w)
}

const dynamodb = (skew: "uniform" | "zipf"): Scenario => ({
  name: `store-dynamodb-${skew}`,
  description: `the fold into the DynamoDB stores on dynalite (concurrency ${DYNAMODB_CONCURRENCY}), ${skew} customers; ceiling: the same items as plain UpdateItem ADD / PutItem at the same concurrency`,
  quick: { changes: 800, docs: 400, customers: 10_000, skew },
  full: { changes: 20_000, docs: 5_000, customers: 10_000, skew },
  requires: ["dynamodb"],
  compare: "writes",
  prepare: async () => (await Stores()).dynamoPrepare(),
  cleanup: async (env) => (await Stores()).dynamoCleanup(env),
  library: async (w) => (await Stores()).dynamoLibrary(w),
  ceiling: async (w) => (await Stores()).dynamoCeiling(w)
})

/** The CPU a DynamoDB request costs: the library's default transport against the SDK client. */
const dynamodbClient: Scenario = {
  name: "dynamodb-client",
  description: `conditional ledger PutItems to dynalite, ${DYNAMODB_CONCURRENCY} in flight, through the library's default transport (DynamoDB's JSON protocol over Node's HTTP agent); ceiling: the same requests through the SDK client (@aws-sdk/client-dynamodb)`,
  quick: { changes: 2_000, docs: 2_000, customers: 1_000, skew: "uniform" },
  full: { changes: 20_000, docs: 20_000, customers: 1_000, skew: "uniform" },
  requires: ["dynamodb"],
  prepare: async () => (await DdbClient()).prepare(),
  cleanup: async (env) => (await DdbClient()).cleanup(env),
  library: async (w) => (await DdbClient()).library(w),
  ceiling: async (w) => (await DdbClient()).ceiling(w)
}

/**
 * The DynamoDB stores `latencyMs` away: scenario 2's two sides through a Toxiproxy proxy that
 * holds every answer that long (bench/scenarios/latency.ts), in batches of 500.
 */
const dynamodbLatency = (latencyMs: number): Scenario => ({
  name: `store-dynamodb-latency-${latencyMs}ms`,
  description: `the fold into the DynamoDB stores on dynalite behind a Toxiproxy proxy that holds every answer ${latencyMs} ms (concurrency ${DYNAMODB_CONCURRENCY}, batches of 500, 250 in quick mode), uniform customers; ceiling: the same items as plain UpdateItem ADD / PutItem at the same latency and concurrency`,
  quick: { changes: 1_000, docs: 500, customers: 10_000, skew: "uniform", chunk: 250 },
  full: { changes: 4_000, docs: 2_000, customers: 10_000, skew: "uniform", chunk: 500 },
  requires: ["dynamodb", "toxiproxy"],
  compare: "writes",
  prepare: async () => (await Latency()).prepare(latencyMs)(),
  cleanup: async (env) => (await Latency()).cleanup(env),
  library: async (w) => (await Latency()).library(w),
  ceiling: async (w) => (await Latency()).ceiling(w)
})

/**
 * The JavaScript ceiling of a fold or events scenario (in the library column) against the same
 * loop in Go (in the ceiling column), over the same workload: bench/scenarios/native.ts.
 */
const native = (name: string, kind: "changes" | "events", of: string, w: { quick: WorkloadOptions; full: WorkloadOptions }): Scenario => ({
  name,
  description: `the hand-written JavaScript ceiling of ${of} (in the library column) against the same loop in Go, bench/native (in the ceiling column), over the same ${kind}; each times its loop alone and its totals must equal the JavaScript ceiling's`,
  ...w,
  skip: async () => (await Native()).skip(),
  prepare: async (workload) => (await Native()).prepare(kind)(workload),
  cleanup: async (env) => (await Native()).cleanup(env),
  library: async (workload) => (await Native()).javascript(kind)(workload),
  ceiling: async () => (await Native()).native(kind)()
})

const foldNative = (docs: "10k" | "1m", skew: "uniform" | "zipf"): Scenario => {
  const n = docs === "10k" ? 10_000 : 1_000_000
  return native(`fold-native-${docs}-docs-${skew}`, "changes", `fold-${docs}-docs-${skew}`, {
    quick: { changes: 100_000, docs: Math.min(n, 100_000), customers: 10_000, skew },
    full: { changes: 1_000_000, docs: n, customers: 10_000, skew }
  })
}

const eventsNative = (skew: "uniform" | "zipf"): Scenario =>
  native(`events-native-1m-${skew}`, "events", `events-10m (a sum per customer; here 1M events, generated before the timed loop)`, {
    quick: { changes: 100_000, docs: 0, customers: 10_000, skew },
    full: { changes: 1_000_000, docs: 0, customers: 10_000, skew }
  })

/**
 * Query throughput (bench/scenarios/query.ts): keys read a second through the query server (one
 * key a request, or 100), over the embedded store or through the Valkey/Redis cache, against the
 * store's raw reads at the same concurrency.
 */
const query = (op: "get" | "many", backend: "embedded" | "cached", skew: "uniform" | "zipf"): Scenario => {
  const cached = backend === "cached"
  const chunk = op === "get" ? 1 : 100
  return {
    name: `query-${op}-${backend}${skew === "zipf" ? "-zipf" : ""}`,
    description: `the query server (in-process, HTTP on 127.0.0.1) reading ${op === "get" ? "one key a request (GET .../keys/:key)" : "100 keys a request (POST .../keys)"}, 32 requests in flight, ${skew} keys of a sum pipeline pre-filled in the embedded store${cached ? ", through the Valkey/Redis cache (warmed)" : ""}; records = keys read; ceiling: ${cached ? "raw ioredis MGET of the same cache keys" : "Aggregates.get on the embedded store"} for the same keys, ${chunk} a call, 32 in flight, no HTTP`,
    quick: { changes: op === "get" ? 10_000 : 200_000, docs: 0, customers: 20_000, skew, chunk },
    full: { changes: op === "get" ? 50_000 : 1_000_000, docs: 0, customers: 100_000, skew, chunk },
    ...(cached ? { requires: ["redis" as const] } : {}),
    prepare: async (w) => (await Query()).prepare(w),
    cleanup: async (env) => (await Query()).cleanup(cached)(env),
    library: async (w) => (await Query()).library(cached)(w),
    ceiling: async (w) => (await Query()).ceiling(cached)(w)
  }
}

export const scenarios: ReadonlyArray<Scenario> = [
  fold("fold-10k-docs-uniform", 10_000, "uniform"),
  fold("fold-10k-docs-zipf", 10_000, "zipf"),
  fold("fold-1m-docs-uniform", 1_000_000, "uniform"),
  fold("fold-1m-docs-zipf", 1_000_000, "zipf"),
  foldNative("10k", "uniform"),
  foldNative("10k", "zipf"),
  foldNative("1m", "uniform"),
  foldNative("1m", "zipf"),
  {
    name: "memory-10m-changes-1m-docs",
    description: "RSS while folding changes over a fixed set of documents, generated lazily: bounded by documents, not by changes",
    quick: { changes: 400_000, docs: 40_000, customers: 10_000, skew: "uniform" },
    full: { changes: 10_000_000, docs: 1_000_000, customers: 10_000, skew: "uniform" },
    library: async (w) => (await Memory()).library(w),
    ceiling: async (w) => (await Memory()).ceiling(w)
  },
  {
    name: "kafka-to-store",
    description: "Debezium envelopes on a 4-partition topic consumed by KafkaSource and folded into the in-memory store (decoding included); ceiling: raw kafkajs consume of the same topic, no processing",
    quick: { changes: 30_000, docs: 10_000, customers: 5_000, skew: "zipf" },
    full: { changes: 500_000, docs: 100_000, customers: 10_000, skew: "zipf" },
    requires: ["kafka"],
    prepare: async (w) => (await KafkaScenario()).prepare(w),
    library: async () => (await KafkaScenario()).library("kafkajs"),
    ceiling: async () => (await KafkaScenario()).ceiling("kafkajs")
  },
  {
    name: "kafka-to-store-platformatic",
    description: "scenario 3 on the @platformatic/kafka adapter: the same topic consumed by KafkaSource and folded into the in-memory store; ceiling: raw @platformatic/kafka consume (its message stream) of the same topic, no processing",
    quick: { changes: 30_000, docs: 10_000, customers: 5_000, skew: "zipf" },
    full: { changes: 500_000, docs: 100_000, customers: 10_000, skew: "zipf" },
    requires: ["kafka"],
    prepare: async (w) => (await KafkaScenario()).prepare(w),
    library: async () => (await KafkaScenario()).library("platformatic"),
    ceiling: async () => (await KafkaScenario()).ceiling("platformatic")
  },
  {
    name: "fanout-3-pipelines-kafka",
    description: "the Kafka topic of scenario 3 folded into three pipelines by one consumer group; in the ceiling column, the baseline: three consumer groups one after the other, one pipeline each (vs ceiling = how many times faster one pass is)",
    quick: { changes: 30_000, docs: 10_000, customers: 5_000, skew: "zipf" },
    full: { changes: 300_000, docs: 100_000, customers: 10_000, skew: "zipf" },
    requires: ["kafka"],
    prepare: async (w) => (await KafkaScenario()).prepare(w),
    library: async () => (await KafkaScenario()).fanoutOnePass(),
    ceiling: async () => (await KafkaScenario()).fanoutThreeRuns()
  },
  {
    name: "fanout-3-pipelines-file",
    description: "a JSON-Lines dump of Debezium envelopes folded into three pipelines in one pass (in-memory stores, decoding included); in the ceiling column, the baseline: three runs over the same file, one pipeline each (vs ceiling = how many times faster one pass is)",
    quick: { changes: 30_000, docs: 10_000, customers: 5_000, skew: "zipf" },
    full: { changes: 300_000, docs: 100_000, customers: 10_000, skew: "zipf" },
    library: async (w) => (await Fanout()).library(w),
    ceiling: async (w) => (await Fanout()).baseline(w)
  },
  {
    name: "events-10m",
    description: "10M insert-only order events folded by a ledger-free events pipeline (sum per customer) into the in-memory stores; live heap after GC at 1M/5M/10M must stay flat; ceiling: a hand-written sum per customer over the same lazy stream",
    quick: { changes: 400_000, docs: 0, customers: 10_000, skew: "uniform" },
    full: { changes: 10_000_000, docs: 0, customers: 10_000, skew: "uniform" },
    library: async (w) => (await Events()).library(w),
    ceiling: async (w) => (await Events()).ceiling(w)
  },
  {
    name: "events-1m-process",
    description: "1M insert-only order events in a JSON-Lines file, summed per customer (10k customers) by an events pipeline into the in-memory store, as a whole process of its own (bench/process/events.ts as built: start, imports, read, fold, check; seconds = the process's wall time, peak RSS its own); ceiling: the same program's hand-written side (node:readline, JSON.parse, a Map). Targets: within 2x of the Go original (measured on this machine by events-1m-process-original{,-positional}; issue 16 quoted 0.68 s) and of Go (events-1m-process-native), peak RSS under 300 MiB",
    quick: { changes: 100_000, docs: 0, customers: 10_000, skew: "uniform" },
    full: { changes: 1_000_000, docs: 0, customers: 10_000, skew: "uniform" },
    prepare: async (w) => (await EventsProcess()).prepare(w),
    cleanup: async (env) => (await EventsProcess()).cleanup(env),
    library: async () => (await EventsProcess()).library(),
    ceiling: async () => (await EventsProcess()).ceiling()
  },
  {
    name: "events-1m-process-native",
    description: "events-1m-process's library process (in the library column) against a Go process doing the hand-written work over the same file (bench/native in jsonl mode: bufio.Scanner, encoding/json, a map; in the ceiling column), both timed from start to exit, totals checked; target: the library within 2x of Go (vs ceiling >= 50%)",
    quick: { changes: 100_000, docs: 0, customers: 10_000, skew: "uniform" },
    full: { changes: 1_000_000, docs: 0, customers: 10_000, skew: "uniform" },
    skip: async () => (await Native()).skip(),
    prepare: async (w) => (await EventsProcess()).prepare(w, { native: (await Native()).buildNative() }),
    cleanup: async (env) => (await EventsProcess()).cleanup(env),
    library: async () => (await EventsProcess()).library(),
    ceiling: async () => (await EventsProcess()).native()
  },
  eventsOriginal("json"),
  eventsOriginal("positional"),
  {
    name: "debezium-parse",
    description: "parsing the values of records captured from the real Debezium MongoDB connector (test/fixtures/debezium-real, schemas.enable=false; source.ts_ns is an integer literal past 2^53 in each) with ExtendedJson.parseJson, which keeps such literals exact; ceiling: a plain JSON.parse of the same texts, which rounds them",
    quick: { changes: 200_000, docs: 0, customers: 0, skew: "uniform" },
    full: { changes: 1_000_000, docs: 0, customers: 0, skew: "uniform" },
    library: async (w) => (await Parse()).library(w),
    ceiling: async (w) => (await Parse()).ceiling(w)
  },
  {
    name: "events-plan",
    description: "the planner alone on the events path (decode, key, value, coalesce), 1M events in batches of 2000, timed on the second of two passes (a running worker; the first, JIT still compiling, is extra nsPerRecordCold); target under 150 ns a record (extra nsPerRecord); ceiling: a hand-written coalescing loop without decoding, timed the same way",
    quick: { changes: 100_000, docs: 0, customers: 10_000, skew: "uniform" },
    full: { changes: 1_000_000, docs: 0, customers: 10_000, skew: "uniform" },
    library: async (w) => (await Events()).planLibrary(w),
    ceiling: async (w) => (await Events()).planCeiling(w)
  },
  eventsNative("uniform"),
  eventsNative("zipf"),
  {
    name: "window-embedded-365-days",
    description: "order events over 365 days (60 in quick mode; uniform over 1,000 customers) folded by a windowed events pipeline (sum per customer per UTC day, 7-day retention) into the embedded store on a file, the Clock following the event time; aggregate rows and pages in use at 10/50/100%: the rows must stay under (retention + 2 days) x customers (extra rowsBound); ceiling: the same sums per customer and day as plain SQLite upserts, one transaction per batch with a delete of the expired days",
    quick: { changes: 100_000, docs: 0, customers: 1_000, skew: "uniform", days: 60 },
    full: { changes: 2_000_000, docs: 0, customers: 1_000, skew: "uniform", days: 365 },
    library: async (w) => (await WindowScenario()).library(w),
    ceiling: async (w) => (await WindowScenario()).ceiling(w)
  },
  embedded("full", "uniform"),
  embedded("full", "zipf"),
  embedded("normal", "uniform"),
  embedded("normal", "zipf"),
  embeddedSmallBatches,
  dynamodb("uniform"),
  dynamodb("zipf"),
  dynamodbClient,
  dynamodbLatency(5),
  dynamodbLatency(20),
  {
    name: "mongo-bootstrap",
    description: "MongoSnapshot scan of a pre-filled collection folded by Fold.run into the in-memory store (staged batches, decoding included); ceiling: the raw driver cursor, find().sort({_id: 1}) with the same batch size, no processing",
    quick: { changes: 20_000, docs: 20_000, customers: 10_000, skew: "zipf", chunk: 1000 },
    full: { changes: 500_000, docs: 500_000, customers: 10_000, skew: "zipf", chunk: 1000 },
    requires: ["mongo"],
    prepare: async (w) => (await MongoScenario()).prepare(w),
    cleanup: async (env) => (await MongoScenario()).cleanup(env),
    library: async (w) => (await MongoScenario()).library(w),
    ceiling: async (w) => (await MongoScenario()).ceiling(w)
  },
  query("get", "embedded", "uniform"),
  query("many", "embedded", "uniform"),
  query("get", "cached", "uniform"),
  query("many", "cached", "uniform"),
  query("get", "embedded", "zipf"),
  query("many", "cached", "zipf")
]

/**
 * A scenario that is not a rate against a ceiling: it runs its own processes and gives its own
 * table (`--only` selects it by name like the others).
 */
export interface Report {
  readonly name: string
  readonly description: string
  readonly run: (
    root: string,
    mode: "quick" | "full"
  ) => Promise<{ readonly table: ReadonlyArray<ReadonlyArray<string>>; readonly result: unknown }>
}

export const reports: ReadonlyArray<Report> = [
  {
    name: "import-cost",
    description: "the time a fresh process takes to import each subpath of the package, minus the time it takes to import effect alone (medians); the target is under 50 ms for the core modules",
    run: async (root, mode) => {
      const { measure, table } = await ImportCost()
      const result = measure(root, mode)
      return { table: table(result), result }
    }
  }
]

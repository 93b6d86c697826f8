/**
 * Scenario 2: the fold with a persistent store. The library's fold (Fold.run over an in-memory
 * array source, as in scenario 1) writes to
 *
 * - the embedded store (SQLite through `node:sqlite`, durability `"full"` or `"normal"`), one
 *   fresh database file per run;
 * - the DynamoDB stores on dynalite: the four tables are created once in `prepare` (unique names)
 *   and each run uses its own pipeline name, so every run starts from empty aggregates and ledger.
 *
 * Ceiling: the raw write rate of the same store for the same writes. An untimed pre-pass plans the
 * workload with the library's own planner (`Plan.plan`) to learn, batch by batch, which aggregate
 * rows and which ledger rows the library writes; the timed part then writes exactly those rows as
 * plain, unconditional writes with no reads: SQLite upserts in one transaction per batch (same
 * schema and pragmas, opened with `Embedded.open`), DynamoDB `UpdateItem ... ADD` (aggregates) and
 * `PutItem` (ledger) at the store's default concurrency. Both sides write the same rows for the
 * same records, so records/s and store writes/s compare directly.
 */
import { DynamoDBClient, type PutItemCommandInput, type UpdateItemCommandInput } from "@aws-sdk/client-dynamodb"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer, Redacted, References, Stream } from "effect"
import type { Input } from "../../src/Input.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Plan from "../../src/Runtime/Plan.ts"
import * as Source from "../../src/Source.ts"
import { commitToTokens } from "../../src/Source.ts"
import * as DynamoDbClient from "../../src/DynamoDb/DynamoDbClient.ts"
import * as Keys from "../../src/DynamoDb/internal/keys.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as DynamoDbTables from "../../src/DynamoDb/DynamoDbTables.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import type { Entry } from "../../src/Store/Ledger.ts"
import type { Tokens } from "../../src/Store/Tokens.ts"
import { Transactions } from "../../src/Store/Transactions.ts"
import * as ValueCodec from "../../src/internal/valueCodec.ts"
import { type Counter, counting, type Services } from "../lib/counting.ts"
import { time, type Sample } from "../lib/measure.ts"
import { benchPipeline, ordersPerAmountBand, ordersPerCustomer } from "../lib/pipeline.ts"
import { required, setting } from "../lib/services.ts"
import { DYNAMODB_CONCURRENCY, generateAll, type Order, type WorkloadOptions } from "../lib/workload.ts"


const batchSizeOf = (w: WorkloadOptions): number => w.chunk ?? 2000

const arraySource = (chunks: ReadonlyArray<ReadonlyArray<Input>>): Source.Source<"changes", never, Tokens> => {
  // one committer for the run: it reads the saved positions once, not before every commit (a
  // store round trip per batch that a real source does not make)
  const commit = commitToTokens("bench")
  return Source.make({
    name: "bench",
    kind: "changes",
    records: Stream.fromArrays(...(chunks as Array<Array<Input>>)),
    commit: (last) => Effect.orDie(commit(last))
  })
}

const round4 = (n: number) => Math.round(n * 10_000) / 10_000

// ---------------------------------------------------------------------------------------------
// what the library writes, batch by batch (untimed pre-pass for the ceilings)
// ---------------------------------------------------------------------------------------------

interface AggregateRow {
  readonly key: string
  readonly delta: number
  /** the key's total after this batch */
  readonly total: number
  readonly partition: string
  /** the batch's last seq in that partition (the high-water mark the library sets) */
  readonly last: number
}

interface BatchRows {
  readonly aggregates: ReadonlyArray<AggregateRow>
  readonly ledger: ReadonlyArray<readonly [string, Entry<number>]>
}

/** The rows the fold writes for each batch: the library's planner over a plain in-memory ledger. */
const rowsOf = (chunks: ReadonlyArray<ReadonlyArray<Input>>, batchSize: number): Array<BatchRows> => {
  const ledger = new Map<string, Entry<number>>()
  const totals = new Map<string, number>()
  const out: Array<BatchRows> = []
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += batchSize) {
      const plan = Plan.plan(benchPipeline, chunk.slice(i, i + batchSize), ledger)
      const aggregates: Array<AggregateRow> = []
      for (const u of plan.updates) {
        const total = (totals.get(u.key) ?? 0) + u.delta
        totals.set(u.key, total)
        const mark = u.marks[0]!
        aggregates.push({ key: u.key, delta: u.delta, total, partition: mark.partition, last: mark.last })
      }
      for (const [id, entry] of plan.ledger) ledger.set(id, entry)
      out.push({ aggregates, ledger: Array.from(plan.ledger) })
    }
  }
  return out
}

const countRows = (rows: ReadonlyArray<BatchRows>) => {
  let aggregates = 0
  let ledger = 0
  for (const b of rows) {
    aggregates += b.aggregates.length
    ledger += b.ledger.length
  }
  return { aggregates, ledger }
}

/** What a store run reports: records, round trips, aggregate and ledger rows written. */
const rowsWritten = (records: number, roundTrips: number, aggregates: number, ledger: number, workload: WorkloadOptions) => ({
  records,
  roundTrips,
  writes: aggregates,
  storeWrites: aggregates + ledger,
  extra: { ledgerWritesPerRecord: round4(ledger / records), batchSize: batchSizeOf(workload) }
})

/** The library's side, over any store layer: records folded, round trips, rows written. */
const foldInto = async (
  pipeline: Pipeline.Pipeline<Order, number, "changes">,
  workload: WorkloadOptions,
  layer: (counter: Counter) => Layer.Layer<Services, unknown>
): Promise<Sample> => {
  const chunks = generateAll(workload)
  const counter: Counter = { calls: 0, keysWritten: 0, ledgerEntries: 0 }
  return time(async () => {
    const program = Fold.run(arraySource(chunks), [pipeline], { batchSize: batchSizeOf(workload) })
    const summary = await Effect.runPromise(Effect.provide(program, layer(counter)))
    return rowsWritten(summary.records, counter.calls, counter.keysWritten, counter.ledgerEntries ?? 0, workload)
  })
}

// ---------------------------------------------------------------------------------------------
// embedded (SQLite)
// ---------------------------------------------------------------------------------------------

const withTempDir = async <A>(f: (dir: string) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "bench-embedded-"))
  try {
    return await f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The library's fold into a fresh embedded store. */
export const embeddedLibrary = (durability: "full" | "normal") => (workload: WorkloadOptions): Promise<Sample> =>
  withTempDir((dir) =>
    foldInto(benchPipeline, workload, (counter) => counting(Embedded.layer({ path: join(dir, "store.db"), durability }), counter))
  )

/** The store's services without its `Transactions`: every store call is then its own transaction. */
const withoutTransactions = <E>(base: Layer.Layer<Services | Transactions, E>): Layer.Layer<Services, E> =>
  Layer.effectContext(Effect.map(Effect.context<Services | Transactions>(), Context.omit(Transactions))).pipe(Layer.provide(base))

/**
 * Small batches into the embedded store (`synchronous=FULL`), as a live source delivers them, for
 * three pipelines: with a transaction a batch (the fold uses the store's `Transactions`), or with
 * a transaction a store call (the baseline).
 */
export const embeddedSmallBatches = (transactions: boolean) => (workload: WorkloadOptions): Promise<Sample> =>
  withTempDir(async (dir) => {
    const chunks = generateAll(workload)
    const layer = Embedded.layer({ path: join(dir, "store.db"), durability: "full" })
    return time(async () => {
      const program = Fold.run(arraySource(chunks), [benchPipeline, ordersPerCustomer, ordersPerAmountBand], { batchSize: batchSizeOf(workload) })
      const summary = await Effect.runPromise(Effect.provide(program, transactions ? layer : withoutTransactions(layer)))
      return { records: summary.records, writes: 0 }
    })
  })

/** The same rows as plain upserts, one transaction per batch, into a fresh database of the same schema. */
export const embeddedCeiling = (durability: "full" | "normal") => (workload: WorkloadOptions): Promise<Sample> =>
  withTempDir(async (dir) => {
    const chunks = generateAll(workload)
    const records = chunks.reduce((n, c) => n + c.length, 0)
    const name = benchPipeline.name
    // everything the statements bind, computed before the clock starts
    const rows = rowsOf(chunks, batchSizeOf(workload))
    const counts = countRows(rows)
    const batches = rows.map((b) => ({
      aggregates: b.aggregates.map((r) => [name, r.key, ValueCodec.encode(r.total), JSON.stringify({ [r.partition]: r.last })] as const),
      ledger: b.ledger.map(([id, e]) =>
        [name, id, JSON.stringify(e.keys), e.keys.length === 0 ? "null" : ValueCodec.encode(e.value), e.version[0], e.version[1]] as const
      )
    }))
    const program = Effect.scoped(Effect.gen(function*() {
      const db = yield* Embedded.open({ path: join(dir, "store.db"), durability })
      return yield* Effect.promise(() =>
        time(async () => {
          const agg = db.prepare(
            "INSERT INTO aggregates (pipeline, key, value, hw) VALUES (?, ?, ?, ?) " +
              "ON CONFLICT (pipeline, key) DO UPDATE SET value = excluded.value, hw = excluded.hw"
          )
          const led = db.prepare(
            "INSERT INTO ledger (pipeline, doc_id, keys, value, v_hi, v_lo) VALUES (?, ?, ?, ?, ?, ?) " +
              "ON CONFLICT (pipeline, doc_id) DO UPDATE SET keys = excluded.keys, value = excluded.value, v_hi = excluded.v_hi, v_lo = excluded.v_lo"
          )
          for (const b of batches) {
            db.exec("BEGIN IMMEDIATE")
            for (const r of b.aggregates) agg.run(r[0], r[1], r[2], r[3])
            for (const r of b.ledger) led.run(r[0], r[1], r[2], r[3], r[4], r[5])
            db.exec("COMMIT")
          }
          return rowsWritten(records, batches.length, counts.aggregates, counts.ledger, workload)
        })
      )
    }))
    return Effect.runPromise(program)
  })

// ---------------------------------------------------------------------------------------------
// DynamoDB (dynalite)
// ---------------------------------------------------------------------------------------------

/** Where stores.ts's DynamoDB clients send: DDB_ENDPOINT, AWS_REGION, the static test credentials. */
export const ddbSettings = (): DynamoDbClient.Settings => ({
  endpoint: required("DDB_ENDPOINT"),
  region: setting("AWS_REGION") ?? "us-east-1",
  credentials: {
    accessKeyId: setting("AWS_ACCESS_KEY_ID") ?? "test",
    secretAccessKey: Redacted.make(setting("AWS_SECRET_ACCESS_KEY") ?? "test")
  }
})

/** An SDK client that counts the HTTP requests it sends (every attempt, retries included) in `requests.sent`. */
export const sdkClient = (requests: { sent: number }): DynamoDBClient => {
  const client = new DynamoDBClient(DynamoDbClient.clientConfig(ddbSettings()))
  // after the SDK's retry middleware (same step, higher priority): runs once per attempt
  client.middlewareStack.add((next) => (args) => {
    requests.sent++
    return next(args)
  }, { step: "finalizeRequest", priority: "low", name: "benchRequestCounter" })
  return client
}

/** The library's default transport, counting its requests (retries inside it not counted) in `requests.sent`. */
export const httpClient = (requests: { sent: number }): { readonly client: DynamoDbClient.Client; readonly close: () => void } => {
  const opened = DynamoDbClient.open(ddbSettings())
  return {
    client: {
      send: (operation, input, signal) => {
        requests.sent++
        return opened.client.send(operation, input, signal)
      }
    },
    close: opened.close
  }
}

/**
 * Both sides of the DynamoDB scenarios send through the same transport: the library's default
 * (DynamoDB's JSON protocol over Node's HTTP agent), or the SDK client with BENCH_DDB_TRANSPORT=sdk.
 */
const withClient = async <A>(f: (client: DynamoDbClient.Client, requests: { sent: number }) => Promise<A>): Promise<A> => {
  const requests = { sent: 0 }
  if (setting("BENCH_DDB_TRANSPORT") === "sdk") {
    const sdk = sdkClient(requests)
    try {
      return await f(DynamoDbClient.fromSdk(sdk), requests)
    } finally {
      sdk.destroy()
    }
  }
  const http = httpClient(requests)
  try {
    return await f(http.client, requests)
  } finally {
    http.close()
  }
}

const quietly = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect.pipe(Effect.provide(Layer.succeed(References.MinimumLogLevel, "Error"))))

/** Creates the four tables once per bench invocation; children read the base name from BENCH_DDB_TABLE. */
export const dynamoPrepare = async (): Promise<Record<string, string>> => {
  const base = `bench_${randomUUID().slice(0, 8)}`
  await withClient((client) => quietly(DynamoDbTables.create(DynamoDbTables.fromBase(base)).pipe(Effect.provide(DynamoDbClient.layerFrom(client)))))
  return { BENCH_DDB_TABLE: base }
}

/** Deletes the tables made by {@link dynamoPrepare}. */
export const dynamoCleanup = async (env: Record<string, string>): Promise<void> => {
  const base = env["BENCH_DDB_TABLE"]
  if (base === undefined) return
  await withClient((client) => quietly(DynamoDbTables.drop(DynamoDbTables.fromBase(base)).pipe(Effect.provide(DynamoDbClient.layerFrom(client)))))
}

/** A pipeline name of its own per run: the tables are shared, the keys are not. */
const runName = () => `bench_${randomUUID().slice(0, 8)}`

/** The library's fold into the DynamoDB stores; round trips are HTTP requests (as for the ceiling). */
export const dynamoLibrary = (workload: WorkloadOptions): Promise<Sample> =>
  withClient(async (client, requests) => {
    const tables = DynamoDbTables.fromBase(required("BENCH_DDB_TABLE"))
    const pipeline = Pipeline.rename(runName())(benchPipeline)
    const sample = await foldInto(pipeline, workload, (counter) =>
      counting(
        DynamoDbStore.layerFrom(client, tables, { aggregateConcurrency: DYNAMODB_CONCURRENCY, ledgerConcurrency: DYNAMODB_CONCURRENCY }),
        counter
      ))
    return { ...sample, roundTrips: requests.sent }
  })

/** Runs `tasks` with at most `concurrency` in flight. */
const pool = async (tasks: ReadonlyArray<() => Promise<unknown>>, concurrency: number): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!()
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker))
}

/** The same items as plain `UpdateItem ADD` (aggregates) and `PutItem` (ledger), no conditions, no reads. */
export const dynamoCeiling = (workload: WorkloadOptions): Promise<Sample> =>
  withClient(async (client, requests) => {
    const tables = DynamoDbTables.fromBase(required("BENCH_DDB_TABLE"))
    const name = runName()
    const chunks = generateAll(workload)
    const records = chunks.reduce((n, c) => n + c.length, 0)
    const rows = rowsOf(chunks, batchSizeOf(workload))
    const counts = countRows(rows)
    const batches = rows.map((b) => {
      const updates = b.aggregates.map((r): UpdateItemCommandInput => ({
        TableName: tables.aggregates,
        Key: { pk: { S: Keys.identity([name, r.key]) }, sk: { S: "@" } },
        UpdateExpression: "SET #p = :p, #h = :l ADD #v :d",
        ExpressionAttributeNames: { "#p": "p", "#h": Keys.markAttribute(r.partition), "#v": "v" },
        ExpressionAttributeValues: { ":p": { S: name }, ":l": { N: String(r.last) }, ":d": { N: String(r.delta) } }
      }))
      const puts = b.ledger.map(([id, e]): PutItemCommandInput => ({
        TableName: tables.ledger,
        Item: {
          pk: { S: Keys.identity([name, id]) },
          p: { S: name },
          keys: { S: JSON.stringify(e.keys) },
          vh: { N: String(e.version[0]) },
          vl: { N: String(e.version[1]) },
          ...(e.keys.length === 0 ? {} : { c: { S: ValueCodec.encode(e.value) } })
        }
      }))
      return { updates, puts }
    })
    return time(async () => {
      for (const b of batches) {
        await pool([
          ...b.updates.map((input) => () => client.send("UpdateItem", input)),
          ...b.puts.map((input) => () => client.send("PutItem", input))
        ], DYNAMODB_CONCURRENCY)
      }
      return rowsWritten(records, requests.sent, counts.aggregates, counts.ledger, workload)
    })
  })

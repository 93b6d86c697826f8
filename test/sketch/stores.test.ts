/**
 * Sketches as pipeline aggregates on every store: folded, written (as `$sketch` base64 text by the
 * embedded and DynamoDB stores), read back, and compared with the sketch built directly from the
 * final data. Both comparisons are exact, not within an error bound: a HyperLogLog of a union is
 * the merge of its parts, and a Count-Min sketch is linear, so updates and deletes retract
 * exactly. A pipeline whose sketch could outgrow a DynamoDB item is refused before anything is
 * written; the same pipeline runs on the memory store, which has no item limit.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ScanCommand } from "@aws-sdk/client-dynamodb"
import { Cause, Effect, Exit, Layer, References, Schema, Stream } from "effect"
import { describe, expect, it } from "vitest"
import * as BloomFilter from "../../src/BloomFilter.ts"
import * as CountMinSketch from "../../src/CountMinSketch.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as HyperLogLog from "../../src/HyperLogLog.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Memory from "../../src/Store/Memory.ts"
import type { Tokens } from "../../src/Store/Tokens.ts"
import { dynamoDbSuite } from "../dynamodb/support.ts"
import type { Services } from "../support/faults.ts"
import * as Rand from "../support/random.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

const Order = Schema.Struct({ customer: Schema.String, product: Schema.String, status: Schema.String })
type Order = typeof Order.Type

const hll = { precision: 10 }
const cms = { width: 64, depth: 4 }

/** Distinct customers per status (insert-only: a source of orders each seen once). */
const distinctCustomers = Pipeline.make("distinct_customers", {
  schema: Order,
  key: (o) => o.status,
  value: (o) => HyperLogLog.of(o.customer, hll),
  monoid: HyperLogLog.monoid(hll)
})

/** Product frequencies per status, a group: follows updates, moves and deletes. */
const productCounts = Pipeline.make("product_counts", {
  schema: Order,
  key: (o) => o.status,
  value: (o) => CountMinSketch.of(o.product, cms),
  monoid: CountMinSketch.group(cms)
})

const statuses = ["new", "paid", "shipped"]

/** A seeded history of orders (inserts, updates, moves between statuses, deletes) and its final state. */
const history = (seed: number) => {
  const r = Rand.make(seed)
  const current = new Map<string, Order>()
  const changes: Array<Source.Change> = []
  for (let n = 0; n < 300; n++) {
    const id = `o${r.int(0, 60)}`
    if (current.has(id) && r.chance(0.15)) {
      current.delete(id)
      changes.push(Source.remove(id))
      continue
    }
    const order = { customer: `c${r.int(0, 40)}`, product: `p${r.int(0, 25)}`, status: r.pick(statuses) }
    current.set(id, order)
    changes.push(Source.upsert(id, order))
  }
  return { changes, final: [...current.values()] }
}

const byStatus = <A>(orders: ReadonlyArray<Order>, build: (group: ReadonlyArray<Order>) => A) =>
  new Map(statuses.flatMap((s) => {
    const group = orders.filter((o) => o.status === s)
    return group.length === 0 ? [] : [[s, build(group)] as const]
  }))

const readAll = <V>(pipeline: Pipeline.Pipeline<any, V, any>, store: Layer.Layer<Services, any>) =>
  Effect.runPromise(Aggregates.use((a) => a.all(pipeline)).pipe(Effect.provide(store), Effect.scoped))

/** Folds one seeded history into both pipelines and checks them against sketches of the final orders. */
const foldAndCheck = async (seed: number, store: () => Layer.Layer<Services, any>) => {
  const { changes, final } = history(seed)
  const run = <K extends Source.Kind>(source: Source.Source<K, any, Tokens>, pipelines: ReadonlyArray<Fold.Accepts<K>>) =>
    Effect.runPromise(Fold.run(source, pipelines, { batchSize: 17 }).pipe(Effect.provide(store()), Effect.provide(quiet), Effect.scoped))
  await run(Source.fromStream(`changes-${seed}`, Stream.fromIterable(changes)), [productCounts])
  // the insert-only pipeline reads the final collection, each order once (as a scan would)
  await run(Source.fromIterable(`scan-${seed}`, final.map((o, i) => ({ ...o, _id: i })), { id: (o) => o._id }), [distinctCustomers])

  const counts = await readAll(productCounts, store())
  const expectedCounts = byStatus(final, (g) => CountMinSketch.fromIterable(g.map((o) => o.product), cms))
  for (const s of statuses) {
    const got = counts.get(s) ?? CountMinSketch.make(cms)
    const want = expectedCounts.get(s) ?? CountMinSketch.make(cms)
    expect(CountMinSketch.equals(got, want), `${seed} ${s}`).toBe(true)
  }
  const distinct = await readAll(distinctCustomers, store())
  const expectedDistinct = byStatus(final, (g) => HyperLogLog.fromIterable(g.map((o) => o.customer), hll))
  expect([...distinct.keys()].sort()).toEqual([...expectedDistinct.keys()].sort())
  for (const [s, want] of expectedDistinct) expect(HyperLogLog.equals(distinct.get(s)!, want), `${seed} ${s}`).toBe(true)
}

describe("sketch aggregates on the stores", () => {
  it("memory (the reference store)", async () => {
    for (const seed of [1, 2, 3]) {
      const state = Memory.makeState()
      await foldAndCheck(seed, () => Memory.layer(state))
    }
  })

  it("embedded SQLite: written as $sketch text, read back equal", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sketch-embedded-"))
    try {
      for (const seed of [4, 5]) await foldAndCheck(seed, () => Embedded.layer({ path: join(dir, `s${seed}.sqlite`) }))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  describe("DynamoDB (dynalite)", () => {
    const ddb = dynamoDbSuite()

    it("compare-and-set writes of sketches, read back equal", async () => {
      for (const seed of [6, 7]) {
        const tables = await ddb.tables("sketch")
        await foldAndCheck(seed, () => DynamoDbStore.layerFrom(ddb.client(), tables))
      }
    })

    it("a sketch that could outgrow an item is refused before anything is written", async () => {
      const big = BloomFilter.optimal({ expectedItems: 1_000_000, falsePositiveRate: 0.01 })
      const seen = Pipeline.make("seen_customers", {
        schema: Order,
        key: (o) => o.status,
        value: (o) => BloomFilter.of(o.customer, big),
        monoid: BloomFilter.monoid(big)
      })
      const source = () => Source.fromIterable("orders", history(8).final.map((o, i) => ({ ...o, _id: i })), { id: (o) => o._id })
      const tables = await ddb.tables("sketch-big")
      const exit = await Effect.runPromiseExit(
        Fold.run(source(), [seen]).pipe(Effect.provide(DynamoDbStore.layerFrom(ddb.client(), tables)), Effect.provide(quiet), Effect.scoped)
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(error).toMatchObject({ _tag: "PipelineError", pipeline: "seen_customers", cause: { _tag: "SketchSizeError" } })
      expect(String((error as Error).message)).toMatch(/cannot fit one item.*more than the \d+ bytes an item allows/)
      for (const table of [tables.aggregates, tables.tokens]) {
        expect((await ddb.client().send(new ScanCommand({ TableName: table, Select: "COUNT" }))).Count, table).toBe(0)
      }
      // no item limit in memory: the same pipeline runs
      const state = Memory.makeState()
      await Effect.runPromise(Fold.run(source(), [seen]).pipe(Effect.provide(Memory.layer(state)), Effect.provide(quiet)))
      const paid = (await readAll(seen, Memory.layer(state))).get("paid")!
      expect(BloomFilter.mightContain(paid, history(8).final.find((o) => o.status === "paid")!.customer)).toBe(true)
    })
  })
})

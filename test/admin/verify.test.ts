/**
 * `admin.js verify PIPELINE` (the built binary) against the real mongo-java-server, on the embedded
 * store and on DynamoDB (dynalite): after a clean bootstrap it reports no difference (exit 0) for
 * every pipeline; a difference planted in the store with the store's own API is found, and only
 * that key, with the expected value of a group-by over the collection (exit 1).
 */
import { existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Document } from "mongodb"
import { orderTotals, pipelines, revenuePerDay } from "../../examples/orderstats/pipeline.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Window from "../../src/Window.ts"
import { groupBySum } from "../mongo/support.ts"
import { requireService } from "../support/services.ts"
import { closeClients, json, type Scenario, scenario, type StoreKind } from "./support.ts"

/**
 * Writes `delta` into `key` of `pipeline` with the store's own apply, from a partition no source
 * uses, at position `seq` (the store applies each position once).
 */
const plant = (sc: Scenario, pipeline: typeof orderTotals | typeof revenuePerDay, key: string, delta: number, seq = 1) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const aggregates = yield* Aggregates
      yield* aggregates.apply(pipeline, [{
        key,
        delta,
        marks: [{ partition: "planted-by-test", first: seq, last: seq }],
        contributions: [{ partition: "planted-by-test", seq, delta }]
      }])
    }).pipe(Effect.provide(sc.stores))
  )

const isValid = (doc: Document) =>
  typeof doc.customer_id === "string" && doc.customer_id.length > 0 && Number.isSafeInteger(doc.amount) && typeof doc.created_at === "string"

interface VerifyJson {
  readonly pipeline: string
  readonly documents: number
  readonly refused: number
  readonly differences: ReadonlyArray<{ readonly key: string; readonly expected: unknown; readonly stored: unknown }>
}

describe.each<StoreKind>(["embedded", "dynamodb"])("admin verify on the %s store", (kind) => {
  let sc: Scenario
  beforeAll(async () => {
    await requireService("mongo")
    if (kind === "dynamodb") await requireService("dynamodb")
    sc = scenario(`verify_${kind}`, kind)
    await sc.ok("seed", ["--count", "150", "--invalid", "4", "--customers", "12", "--seed", "19"])
    await sc.ok("bootstrap", [])
  })
  afterAll(async () => {
    await sc?.close()
    await closeClients()
  })

  it("reports no difference after a clean run, for every pipeline (exit 0)", async () => {
    const documents = await sc.collection.countDocuments()
    for (const pipeline of pipelines) {
      const r = await sc.run("admin", ["verify", pipeline.name, "--json"])
      expect(r.code, `${pipeline.name}: ${r.stderr}`).toBe(0)
      const report = json<VerifyJson>(r.stdout)
      expect(report.pipeline).toBe(pipeline.name)
      expect(report.documents).toBe(documents)
      expect(report.differences).toEqual([])
    }
    const text = await sc.run("admin", ["verify", "order_totals"])
    expect(text.stdout).toMatch(/no differences/)
  })

  it("finds a difference planted in the store, and only that key (exit 1)", async () => {
    const reference = (await groupBySum(sc.collection)).totals
    const customer = Object.keys(reference).sort()[0]!
    await plant(sc, orderTotals, customer, 7)
    await plant(sc, orderTotals, "ghost-customer", 5)
    const r = await sc.run("admin", ["verify", "order_totals", "--json"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/DifferencesFound: pipeline order_totals: 2 aggregate keys differ/)
    expect(json<VerifyJson>(r.stdout).differences).toEqual([
      { key: customer, expected: reference[customer], stored: reference[customer]! + 7 },
      { key: "ghost-customer", expected: null, stored: 5 }
    ])
    const text = await sc.run("admin", ["verify", "order_totals"])
    expect(text.code).toBe(1)
    expect(text.stdout).toMatch(new RegExp(`${customer}\\s+${reference[customer]}\\s+${reference[customer]! + 7}`))
    // the other pipelines are untouched
    const other = await sc.run("admin", ["verify", "orders_per_customer", "--json"])
    expect(other.code).toBe(0)
    // undo: the store is exact again
    await plant(sc, orderTotals, customer, -7, 2)
    await plant(sc, orderTotals, "ghost-customer", -5, 2)
    expect((await sc.run("admin", ["verify", "order_totals"])).code).toBe(0)
  })

  it("finds a difference in one bucket of a windowed pipeline", async () => {
    const docs = (await sc.collection.find().toArray()).filter(isValid)
    const doc = docs[0]!
    const day = (d: Document) => new Date(d.created_at as string).toISOString().slice(0, 10)
    const expected = docs.filter((d) => d.customer_id === doc.customer_id && day(d) === day(doc)).reduce((n, d) => n + (d.amount as number), 0)
    const bucket = Window.bucketAt(revenuePerDay.window!, Date.parse(doc.created_at as string))
    const key = Window.key(doc.customer_id as string, bucket.id)
    await plant(sc, revenuePerDay, key, -1, 3)
    const r = await sc.run("admin", ["verify", "revenue_per_day", "--json"])
    expect(r.code).toBe(1)
    expect(json<VerifyJson>(r.stdout).differences).toEqual([{ key, expected, stored: expected - 1 }])
  })

  it.runIf(kind === "embedded")("refuses a store that does not exist, and creates nothing (exit 1)", async () => {
    const missing = join(tmpdir(), `verify-missing-${Date.now()}`, "state")
    const r = await sc.run("admin", ["verify", "order_totals", "--json"], { STATE_DIR: missing })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/no embedded store at/)
    expect(existsSync(dirname(missing))).toBe(false)
  })

  it("refuses an unknown pipeline with the usage (exit 1)", async () => {
    const r = await sc.run("admin", ["verify", "no_such_pipeline"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/no_such_pipeline/)
    expect(r.stderr).toMatch(/usage:/)
  })
})

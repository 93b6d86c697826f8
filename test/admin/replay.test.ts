/**
 * `admin.js dead-letters list|show|replay` (the built binary) against the real mongo-java-server,
 * on the embedded store and on DynamoDB (dynalite): invalid orders are dead-lettered by the
 * bootstrap; some are fixed in MongoDB, one deleted, one left invalid; the replay folds the fixed
 * ones exactly once (the totals equal a group-by over the final collection), leaves the invalid one
 * pending (exit 1), changes nothing when run again, and the live worker folding the fixes' own
 * change events afterwards (and a later change) does not count them twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Document } from "mongodb"
import { Effect } from "effect"
import { ordersPerCustomer } from "../../examples/orderstats/pipeline.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { groupByCount, groupBySum, nonZero } from "../mongo/support.ts"
import { requireService } from "../support/services.ts"
import { closeClients, json, type Scenario, scenario, type StoreKind } from "./support.ts"

interface LetterJson {
  readonly pipeline: string
  readonly id: string
  readonly docId: string | null
  readonly reason: string
  readonly status: "pending" | "resolved"
  readonly raw?: string
}
interface ReplayJson {
  readonly replays: ReadonlyArray<{
    readonly pipeline: string
    readonly resolved: ReadonlyArray<{ readonly id: string; readonly docId: string; readonly outcome: string }>
    readonly stillFailing: ReadonlyArray<{ readonly id: string; readonly docId: string; readonly reason: string }>
    readonly alreadyResolved: number
  }>
}

const totals = async (sc: Scenario): Promise<Record<string, number>> => json<{ totals: Record<string, number> }>(await sc.ok("totals", ["--json"])).totals

/** The non-zero counts per customer in the store, read in this process with the store's own API. */
const perCustomer = (sc: Scenario): Promise<Record<string, number>> =>
  Effect.runPromise(
    Effect.flatMap(Aggregates, (aggregates) => aggregates.all(ordersPerCustomer)).pipe(
      Effect.map((all) => nonZero(all)),
      Effect.provide(sc.stores)
    )
  )

const letters = async (sc: Scenario, pipeline?: string): Promise<ReadonlyArray<LetterJson>> =>
  json<{ deadLetters: ReadonlyArray<LetterJson> }>(await sc.ok("admin", ["dead-letters", "list", "--json", ...(pipeline === undefined ? [] : ["--pipeline", pipeline])])).deadLetters

const idText = (doc: Document) => JSON.stringify(doc._id)

describe.each<StoreKind>(["embedded", "dynamodb"])("admin dead-letters on the %s store", (kind) => {
  let sc: Scenario
  let bad: Array<Document> = []
  beforeAll(async () => {
    await requireService("mongo")
    if (kind === "dynamodb") await requireService("dynamodb")
    sc = scenario(`replay_${kind}`, kind)
    await sc.ok("seed", ["--count", "80", "--invalid", "6", "--customers", "8", "--seed", "23"])
    await sc.ok("bootstrap", [])
    bad = await sc.collection.find({ invalid: true }).sort({ _id: 1 }).toArray()
  })
  afterAll(async () => {
    await sc?.close()
    await closeClients()
  })

  it("lists and shows the dead letters of the bootstrap", async () => {
    expect(bad.length).toBe(6)
    const totalsLetters = await letters(sc, "order_totals")
    // every invalid order is refused by the totals (a bad amount or a bad customer), and only those
    expect(totalsLetters.map((l) => l.docId).sort()).toEqual(bad.map(idText).sort())
    expect(totalsLetters.every((l) => l.status === "pending")).toBe(true)
    const first = totalsLetters[0]!
    const shown = json<{ deadLetters: ReadonlyArray<LetterJson> }>(await sc.ok("admin", ["dead-letters", "show", first.id, "--json", "--pipeline", "order_totals"]))
    expect(shown.deadLetters).toHaveLength(1)
    expect(shown.deadLetters[0]!.reason).toBe(first.reason)
    expect(JSON.parse(shown.deadLetters[0]!.raw!)._id).toEqual(JSON.parse(first.docId!))
    const text = await sc.ok("admin", ["dead-letters", "show", first.id])
    expect(text).toMatch(/reason: +the document does not match the pipeline's schema/)
    const missing = await sc.run("admin", ["dead-letters", "show", "no-such#1"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/DeadLetterNotFound/)
  })

  it("replays the fixed documents exactly once, and a second replay changes nothing", async () => {
    const [keep, gone, ...fix] = bad
    await sc.collection.deleteOne({ _id: gone!._id })
    for (const [i, doc] of fix.entries()) {
      await sc.collection.updateOne({ _id: doc._id }, { $set: { customer_id: `fixed-${i % 2}`, amount: 1000 + i } })
    }
    const r = await sc.run("admin", ["dead-letters", "replay", "--json"])
    // one document is still refused (by each pipeline that reads its fractional amount): exit 1, and it is named
    expect(r.code, r.stderr).toBe(1)
    const report = json<ReplayJson>(r.stdout)
    const failing = report.replays.flatMap((x) => x.stillFailing.map((f) => ({ ...f, pipeline: x.pipeline })))
    expect(new Set(failing.map((x) => x.docId))).toEqual(new Set([idText(keep!)]))
    expect(failing.map((x) => x.pipeline).sort()).toEqual(["order_totals", "revenue_per_day", "top_customers_per_day"])
    expect(r.stderr).toMatch(/StillFailing: 3 dead letters are still refused/)
    const ofTotals = report.replays.find((x) => x.pipeline === "order_totals")!
    expect(ofTotals.resolved.map((x) => x.docId).sort()).toEqual([gone!, ...fix].map(idText).sort())
    expect(ofTotals.resolved.find((x) => x.docId === idText(gone!))!.outcome).toBe("deleted")
    expect(ofTotals.stillFailing.map((x) => x.id)).toHaveLength(1)
    expect(await totals(sc)).toEqual((await groupBySum(sc.collection)).totals)
    const listed = await letters(sc, "order_totals")
    expect(listed.filter((l) => l.status === "pending").map((l) => l.docId)).toEqual([idText(keep!)])

    const before = await totals(sc)
    const again = json<ReplayJson>((await sc.run("admin", ["dead-letters", "replay", "--json"])).stdout)
    expect(again.replays.flatMap((x) => x.resolved)).toEqual([])
    expect(await totals(sc)).toEqual(before)
  })

  it("the live worker folding the fixes' own changes, and later ones, counts nothing twice", async () => {
    const [keep, , fixed] = bad
    // a later change to a replayed document, and the fix of the last invalid one
    await sc.collection.updateOne({ _id: fixed!._id }, { $inc: { amount: 100 } })
    await sc.collection.updateOne({ _id: keep!._id }, { $set: { amount: 777 } })
    const replayed = await sc.run("admin", ["dead-letters", "replay", "--json"])
    expect(replayed.code, replayed.stderr).toBe(0)
    expect(json<ReplayJson>(replayed.stdout).replays.find((x) => x.pipeline === "order_totals")!.resolved.map((x) => x.docId)).toEqual([idText(keep!)])
    await sc.ok("worker", [], { STOP_WHEN_IDLE_MS: "3000" })
    const reference = await groupBySum(sc.collection)
    expect(reference.invalid).toBe(0)
    expect(await totals(sc)).toEqual(reference.totals)
    expect(await perCustomer(sc)).toEqual((await groupByCount(sc.collection)).perCustomer)
    for (const pipeline of ["order_totals", "orders_per_status", "orders_per_customer", "revenue_per_day", "customers_per_day", "top_customers_per_day"]) {
      const v = await sc.run("admin", ["verify", pipeline])
      expect(v.code, `${pipeline}: ${v.stdout}${v.stderr}`).toBe(0)
    }
    const pending = (await letters(sc)).filter((l) => l.status === "pending")
    expect(pending).toEqual([])
  })
})

/**
 * Bootstrap from a MongoDB collection while a concurrent writer inserts, updates amounts, moves
 * orders to other customers, replaces and deletes; then live from the handoff position while the
 * writer goes on; at quiescence the totals equal a group-by-sum over the collection, to the cent.
 * Then a restart resumes from the saved resume token with changes made while nothing ran.
 * Against the real server (mongo-java-server locally), with the embedded SQLite store.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Decimal128, type Document, type MongoClient } from "mongodb"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import type * as MongoHandoff from "../../src/MongoDb/MongoHandoff.ts"
import { committed } from "../../src/Source.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Version from "../../src/Version.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { connectClient, deadLetterProblems, groupBySum, nonZero, orderSpec, quiet, seed, sleep, startWriter, totalChanges, totalsOf } from "./support.ts"

let client: MongoClient
let dir = ""

beforeAll(async () => {
  await requireService("mongo")
  client = await connectClient()
  dir = mkdtempSync(join(tmpdir(), "mongo-live-"))
})
afterAll(async () => {
  await client?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Bootstrap (or resume), then live, of `spec` into the embedded store at `store`. */
const runOn = (spec: ReturnType<typeof orderSpec>, store: string) =>
  Effect.runPromise(Orchestrator.run(spec).pipe(Effect.provide([Embedded.layer({ path: store }), Mongo.layerClient(client), quiet])))

describe("MongoDB bootstrap + change stream", () => {
  it("is exact after a bootstrap raced by a writer, then live from the handoff", async () => {
    const ns = { db: uniqueName("live"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    const ORDERS = 4000
    const started = Date.now()
    const ids = await seed(orders, ORDERS, 7)
    const store = join(dir, "race.sqlite")
    const base = orderSpec(ns, { batchSize: 25, stopWhenIdle: 2000 })
    let atCapture = 0
    const spec = { ...base, handoff: base.handoff.pipe(Effect.tap(() => Effect.sync(() => (atCapture = totalChanges(writer.counts))))) }
    const layers = Layer.mergeAll(Embedded.layer({ path: store, durability: "normal" }), Mongo.layerClient(client), quiet)

    const writer = startWriter(orders, ids, { seed: 11, pauseMs: 0 })
    await sleep(100)
    const boot = await Effect.runPromise(Orchestrator.bootstrap(spec).pipe(Effect.provide(layers)))
    const duringScan = totalChanges(writer.counts) - atCapture
    // keep writing while live runs
    const liveRun = Effect.runPromise(Orchestrator.live(spec).pipe(Effect.provide(layers)))
    await sleep(1500)
    const counts = await writer.stop()
    const live = await liveRun
    const reference = await groupBySum(orders)
    const totals = await Effect.runPromise(totalsOf(store))

    console.log(
      `race: ${ORDERS} orders seeded, ${totalChanges(counts)} changes (${duringScan} during the scan; ${JSON.stringify(counts)}), ` +
        `scan ${boot.summary?.records} records, live ${live.summary?.records} records ` +
        `(${Fold.of(live.summary, orderTotals).stale} stale, ${Fold.of(live.summary, orderTotals).skipped} skipped), handoff ${Version.format(boot.handoff.version)} ` +
        `via ${(boot.handoff.live as MongoHandoff.LiveStart).method}, ${reference.documents} final documents, ` +
        `${Object.keys(reference.totals).length} customers, ${Date.now() - started} ms`
    )
    expect(duringScan).toBeGreaterThan(20)
    expect(boot.summary?.records).toBeGreaterThan(ORDERS / 2)
    expect(live.summary?.records).toBeGreaterThanOrEqual(duringScan)
    expect(totals).toEqual(reference.totals)
    // orders made invalid during the scan and live are dead letters, and nothing else is
    expect(counts.invalidations).toBeGreaterThan(0)
    const letters = await Effect.runPromise(DeadLetters.use((d) => d.list(orderTotals.name)).pipe(Effect.provide(Embedded.layer({ path: store }))))
    expect(await deadLetterProblems(orders, letters)).toEqual([])
  })

  it("resumes from the saved token after a restart, with exactly the changes made while down", async () => {
    const ns = { db: uniqueName("resume"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    const ids = await seed(orders, 1500, 21)
    const store = join(dir, "resume.sqlite")
    const spec = orderSpec(ns, { batchSize: 250, stopWhenIdle: 1500 })
    const run = () => runOn(spec, store)

    const first = await run()
    expect(Fold.of(first.bootstrap, orderTotals).upserts).toBe(1500)
    expect(nonZero(new Map(Object.entries(await Effect.runPromise(totalsOf(store)))))).toEqual((await groupBySum(orders)).totals)

    // a first live stretch, so that a resume token is committed
    const w1 = startWriter(orders, ids, { seed: 22, firstNew: 20_000_000 })
    await sleep(400)
    const c1 = totalChanges(await w1.stop())
    const second = await run()
    expect(second.bootstrap).toBeUndefined()
    // exactly the writer's changes: the first run already read (and committed) the change at P0, which
    // startAtOperationTime (inclusive) gives again, skipped
    expect(first.live!.records).toBe(Fold.of(first.live, orderTotals).skipped)
    expect(second.live?.records).toBe(c1)

    const handoff = second.handoff
    const saved = await Effect.runPromise(
      committed(`mongo-changes:${ns.db}.${ns.collection}`, `mongo-changes:${ns.db}.${ns.collection}@${Version.format(handoff.version)}`)
        .pipe(Effect.provide(Embedded.layer({ path: store })))
    )
    expect(saved?.seq).toBe(first.live!.records + second.live!.records)
    expect(saved?.checkpoint).toMatchObject({ token: { _data: expect.any(String) } })

    // changes while nothing runs: the restart must read exactly these (resumeAfter the saved token)
    const idsNow = (await orders.find({ madeInvalid: { $exists: false } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id)
    const w2 = startWriter(orders, idsNow, { seed: 23, firstNew: 30_000_000 })
    await sleep(600)
    const c2 = totalChanges(await w2.stop())
    const third = await run()
    const reference = await groupBySum(orders)
    console.log(
      `resume: 1500 orders, ${c1} changes in the first live run, ${c2} changes while down, ` +
        `restart read ${third.live?.records} changes (${Fold.of(third.live, orderTotals).stale} stale)`
    )
    expect(c2).toBeGreaterThan(20)
    expect(third.live?.records).toBe(c2)
    expect(await Effect.runPromise(totalsOf(store))).toEqual(reference.totals)
    const state = await Effect.runPromise(Orchestrator.state(orderTotals.name).pipe(Effect.provide(Embedded.layer({ path: store }))))
    expect(Option.getOrUndefined(state)?.phase).toBe("done")
  })

  it("keys numeric _ids by value across types, Decimal128 included, and keeps fields named __proto__", async () => {
    const ns = { db: uniqueName("ids"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    const proto = (id: number) => new Map([["__proto__", id]])
    await orders.insertMany(([
      { _id: 1, customer_id: "A", amount: 100 },
      { _id: 2, customer_id: "A", amount: 200 },
      { _id: proto(1), customer_id: "A", amount: 10 },
      { _id: proto(2), customer_id: "A", amount: 20 },
      { _id: {}, customer_id: "A", amount: 40 },
      // a top-level field named __proto__ is a field like any other (not the document's prototype)
      new Map<string, unknown>([["_id", 3], ["__proto__", { customer_id: "GHOST" }], ["customer_id", "B"], ["amount", 5]])
    ]) as Array<Document>)
    const store = join(dir, "ids.sqlite")
    const spec = orderSpec(ns, { batchSize: 2, stopWhenIdle: 1500 })
    const run = () => runOn(spec, store)
    const first = await run()
    expect(Fold.of(first.bootstrap, orderTotals).upserts).toBe(6)
    expect(await Effect.runPromise(totalsOf(store))).toEqual((await groupBySum(orders)).totals)

    // MongoDB accepts a replacement whose _id equals the old one by value: the document is one
    await orders.replaceOne({ _id: 1 } as Document, { _id: Decimal128.fromString("1.00"), customer_id: "B", amount: 77 })
    await orders.updateOne({ _id: Decimal128.fromString("1") } as Document, { $inc: { amount: 1 } })
    await orders.replaceOne({ _id: 2 } as Document, { _id: Decimal128.fromString("2E0"), customer_id: "C", amount: 9 })
    await orders.deleteOne({ _id: 2 } as Document)
    await orders.deleteOne({ _id: proto(1) } as Document)
    await orders.insertOne({ _id: proto(3), customer_id: "A", amount: 1000 } as Document)
    await orders.updateOne({ _id: 3 } as Document, { $inc: { amount: 2 } })
    await run()
    const reference = await groupBySum(orders)
    expect(reference.totals).toEqual({ A: 1060, B: 85 })
    expect(await Effect.runPromise(totalsOf(store))).toEqual(reference.totals)
  })
})

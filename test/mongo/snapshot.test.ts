/**
 * The snapshot scan and the change stream against the real server, piece by piece:
 * - the resume filter returns exactly the documents after any `_id`, across BSON types;
 * - documents the schema refuses (a non-integer amount, a missing or empty customer, a string
 *   amount, a Long past 2^53) are dead-lettered with their `_id`, their Extended JSON and the
 *   reason, in the scan and in the change stream, counted once, and nothing else is lost;
 * - filter and projection; progress in the logs and in the gauges;
 * - cursors and change streams are closed when the stream ends early, fails or is interrupted.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { EJSON } from "bson"
import { Effect, Fiber, Layer, Logger, Metric, Schedule, Stream } from "effect"
import { Decimal128, type Document, Double, Int32, Long, type MongoClient, MongoNetworkError, ObjectId, Timestamp, UUID } from "mongodb"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as DocumentId from "../../src/DocumentId.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as MongoChangeStream from "../../src/MongoDb/MongoChangeStream.ts"
import * as MongoSnapshot from "../../src/MongoDb/MongoSnapshot.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Version from "../../src/Version.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { connectClient, groupBySum, nonZero, orderSpec, quiet, seed, sleep } from "./support.ts"

let client: MongoClient

beforeAll(async () => {
  await requireService("mongo")
  client = await connectClient({ monitorCommands: true })
})
afterAll(async () => {
  await client?.close()
})

const text = (value: unknown) => EJSON.stringify({ v: value }, { relaxed: false })

describe("MongoDB snapshot scan", () => {
  it("resumes after any _id: the documents after it in _id order, across BSON types", async () => {
    const coll = client.db(uniqueName("types")).collection<Document>("c")
    const ids: Array<unknown> = [
      -5, 0, 2.5, new Int32(3), Long.fromNumber(4), new Double(4.5), Decimal128.fromString("7.25"), 1e15,
      "", "a", "b", "zz", "\u00e9",
      { a: 1 }, { a: 1, b: 2 }, { b: 0 },
      // binary: UUIDs (mongo-java-server keeps subtype 4 apart from other binaries, so that its $gt
      // from a subtype-0 binary misses them; MongoDB orders all binaries by length, subtype, bytes)
      new UUID(), new UUID(),
      new ObjectId("000000000000000000000001"), new ObjectId(), new ObjectId(),
      false, true,
      new Date(0), new Date(1_700_000_000_000),
      new Timestamp({ t: 1, i: 1 }), new Timestamp({ t: 2, i: 0 })
    ]
    await coll.insertMany(ids.map((_id, n) => ({ _id: _id as any, n })))
    const all = (await coll.find().sort({ _id: 1 }).toArray()).map((d) => text(d._id))
    expect(all).toHaveLength(ids.length)
    for (let i = 0; i < all.length; i++) {
      const last = EJSON.parse(all[i]!, { relaxed: false }).v
      const rest = (await coll.find(MongoSnapshot.after(last) as any).sort({ _id: 1 }).toArray()).map((d) => text(d._id))
      expect(rest, `after ${all[i]}`).toEqual(all.slice(i + 1))
    }
  })

  it("dead-letters documents the schema refuses, in the scan and in the change stream, and loses nothing else", async () => {
    const ns = { db: uniqueName("decode"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    await seed(orders, 600, 3)
    const bad = (tag: string): Array<Document> => [
      { _id: `${tag}-float`, customer_id: "cust-00", amount: 12.5 },
      { _id: `${tag}-nocustomer`, amount: 100 },
      { _id: `${tag}-emptycustomer`, customer_id: "", amount: 100 },
      { _id: `${tag}-stringamount`, customer_id: "cust-01", amount: "100" },
      { _id: new ObjectId(), customer_id: "cust-02", amount: Long.fromString("9007199254740993") }
    ]
    const inScan = bad("scan")
    await orders.insertMany(inScan)
    const state = Memory.makeState()
    const layers = Layer.mergeAll(Memory.layer(state), Mongo.layerClient(client), quiet)
    const spec = orderSpec(ns, { batchSize: 64, stopWhenIdle: 800 })
    const first = await Effect.runPromise(Orchestrator.run(spec).pipe(Effect.provide(layers)))
    // live: more refused documents, and valid changes around them
    const inLive = bad("live")
    await orders.insertMany(inLive)
    await orders.insertOne({ _id: "live-ok" as any, customer_id: "cust-03", amount: 4321 })
    await orders.updateOne({ _id: "scan-float" as any }, { $set: { note: "still a float" } })
    const second = await Effect.runPromise(Orchestrator.run(spec).pipe(Effect.provide(layers)))
    // a third run reads nothing new and writes no second dead letter
    const third = await Effect.runPromise(Orchestrator.run(spec).pipe(Effect.provide(layers)))

    const { totals, letters } = await Effect.runPromise(Effect.gen(function*() {
      const totals = yield* (yield* Aggregates).all(orderTotals)
      const letters = yield* (yield* DeadLetters).list(orderTotals.name)
      return { totals: totals as ReadonlyMap<string, number>, letters }
    }).pipe(Effect.provide(layers)))
    const reference = await groupBySum(orders)
    const refused = [...inScan, ...inLive]
    console.log(
      `decode: ${reference.documents} documents, ${reference.invalid} invalid; scan rejected ${Fold.of(first.bootstrap, orderTotals).rejected}, ` +
        `live rejected ${Fold.of(second.live, orderTotals).rejected}; ${letters.length} dead letters; reasons: ` +
        Array.from(new Set(letters.map((l) => l.reason.slice(0, 90)))).join(" | ")
    )
    expect(Fold.of(first.bootstrap, orderTotals).rejected).toBe(inScan.length)
    expect(Fold.of(first.bootstrap, orderTotals).upserts).toBe(600)
    // the update of a refused document is refused again (it is a new change)
    expect(Fold.of(second.live, orderTotals).rejected).toBe(inLive.length + 1)
    expect(third.live?.records ?? 0).toBe(0)
    expect(letters).toHaveLength(refused.length + 1)
    for (const doc of refused) {
      const id = DocumentId.fromBson(doc._id)
      const letter = letters.find((l) => l.docId === id)
      expect(letter, `dead letter of ${id}`).toBeDefined()
      expect(letter!.reason).toMatch(/does not match the pipeline's schema/)
      expect(EJSON.parse(letter!.raw, { relaxed: false })._id).toEqual(doc._id)
    }
    const long = letters.find((l) => l.raw.includes("9007199254740993"))
    expect(long?.raw).toContain("$numberLong")
    expect(nonZero(totals)).toEqual(reference.totals)
    expect(reference.invalid).toBe(refused.length)
  })

  it("scans with a filter and a projection, and reports progress in logs and gauges", async () => {
    const ns = { db: uniqueName("progress"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    await seed(orders, 2500, 9)
    const expected = await orders.countDocuments({ customer_id: { $in: ["cust-01", "cust-02"] } })
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => {
      lines.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const handoff = Handoff.atVersion(Version.make(5_000, 1))
    const source = MongoSnapshot.make({
      ...ns,
      handoff,
      batchSize: 100,
      filter: { customer_id: { $in: ["cust-01", "cust-02"] } },
      projection: { _id: 0, customer_id: 1, amount: 1 },
      progressInterval: 0
    })
    const result = await Effect.runPromise(Effect.gen(function*() {
      const chunks = yield* Stream.runCollect(Stream.chunks(source.records))
      const snapshot = yield* Metric.snapshot
      return { chunks, records: chunks.flat(), snapshot }
    }).pipe(Effect.provide([Memory.layer(), Mongo.layerClient(client), Logger.layer([logger])])))
    expect(result.records).toHaveLength(expected)
    // one chunk per driver batch: full batches, then the rest
    expect(result.chunks.map((c) => c.length)).toEqual(
      Array.from({ length: Math.ceil(expected / 100) }, (_, i) => Math.min(100, expected - i * 100))
    )
    expect(result.records.every((r) => r._tag === "Upsert" && r.version === handoff.version)).toBe(true)
    expect(result.records.every((r) => r._tag === "Upsert" && ["cust-01", "cust-02"].includes((r.doc as { customer_id: string }).customer_id))).toBe(true)
    expect(result.records.every((r) => r._tag === "Upsert" && (r.doc as Record<string, unknown>).note === undefined)).toBe(true)
    expect(result.records.map((r) => r.seq)).toEqual(result.records.map((_, i) => i + 1))
    expect(lines.some((l) => /snapshot \S+: scanning about 2500 documents/.test(l))).toBe(true)
    expect(lines.some((l) => /snapshot \S+: \d+\/2500 documents \(\d+\.\d%\), \d+\/s, ETA \S+/.test(l))).toBe(true)
    expect(lines.some((l) => new RegExp(`snapshot \\S+: done, ${expected} documents`).test(l))).toBe(true)
    const gauge = (id: string) =>
      result.snapshot.find((m) => m.id === id && (m.attributes as Record<string, unknown> | undefined)?.source === source.name)
    expect(gauge("monoid_snapshot_documents")?.state).toEqual({ value: expected })
    expect(gauge("monoid_snapshot_documents_estimated")?.state).toEqual({ value: 2500 })
    expect(gauge("monoid_snapshot_eta_seconds")?.state).toEqual({ value: 0 })
  })

  it("reopens the cursor after the last document read on a transient error: nothing lost, nothing twice", async () => {
    const ns = { db: uniqueName("reopen"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    await seed(orders, 700, 12)
    const ids = (await orders.find({}, { sort: { _id: 1 }, projection: { _id: 1 } }).toArray()).map((d) => DocumentId.fromBson(d._id))
    let calls = 0
    let opened = 0
    // a network failure injected on the 4th batch read (the server cannot drop a connection on demand)
    const flaky = new Proxy(client, {
      get: (target, prop, receiver) =>
        prop === "db"
          ? (name: string) =>
            new Proxy(target.db(name), {
              get: (d, p) =>
                p === "collection"
                  ? (c: string) =>
                    new Proxy(d.collection(c), {
                      get: (cc, q) =>
                        q === "find"
                          ? (...args: Array<any>) => {
                            opened++
                            const cursor = (cc.find as any)(...args)
                            const hasNext = cursor.hasNext.bind(cursor)
                            cursor.hasNext = () =>
                              ++calls === 4 ? Promise.reject(new MongoNetworkError("connection reset (injected)")) : hasNext()
                            return cursor
                          }
                          : Reflect.get(cc, q)
                    })
                  : Reflect.get(d, p)
            })
          : Reflect.get(target, prop, receiver)
    })
    const source = MongoSnapshot.make({
      ...ns,
      handoff: Handoff.atVersion(Version.make(9, 9)),
      batchSize: 100,
      retry: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 3 }))
    })
    const records = await Effect.runPromise(
      Stream.runCollect(source.records).pipe(Effect.provide([Memory.layer(), Mongo.layerClient(flaky), quiet]))
    )
    expect(opened).toBe(2)
    expect(records.map((r) => (r._tag === "Upsert" ? r.docId : r._tag))).toEqual(ids)
    expect(records.map((r) => r.seq)).toEqual(ids.map((_, i) => i + 1))
  })

  it("closes cursors and change streams when the stream ends early, fails or is interrupted", async () => {
    const ns = { db: uniqueName("scoped"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    await seed(orders, 500, 4)
    const killed: Array<string> = []
    const onCommand = (event: { commandName: string; databaseName: string }) => {
      if (event.commandName === "killCursors" && event.databaseName === ns.db) killed.push(event.commandName)
    }
    client.on("commandStarted", onCommand)
    try {
      const handoff = Handoff.atVersion(Version.make(1, 0), { startAtOperationTime: { t: Math.floor(Date.now() / 1000) - 5, i: 0 } })
      const snapshot = MongoSnapshot.make({ ...ns, handoff, batchSize: 50 })
      const changes = MongoChangeStream.make({ ...ns, handoff, batchSize: 50 })
      const provide = Effect.provide([Memory.layer(), Mongo.layerClient(client), quiet])
      // ends early: 60 of 500 documents
      const taken = await Effect.runPromise(Stream.runCollect(Stream.take(snapshot.records, 60)).pipe(provide))
      expect(taken).toHaveLength(60)
      await sleep(100)
      expect(killed).toHaveLength(1)
      // fails downstream
      const failed = await Effect.runPromise(
        Effect.exit(Stream.runForEach(snapshot.records, (r) => (r.seq > 120 ? Effect.fail("downstream failure") : Effect.void))).pipe(provide)
      )
      expect(failed._tag).toBe("Failure")
      await sleep(100)
      expect(killed).toHaveLength(2)
      // interrupted while following the change stream (the seeded inserts, then idle)
      const seen: Array<number> = []
      const fiber = Effect.runFork(Stream.runForEach(changes.records, (r) => Effect.sync(() => seen.push(r.seq))).pipe(provide))
      while (seen.length < 500) await sleep(20)
      await Effect.runPromise(Fiber.interrupt(fiber))
      await sleep(100)
      expect(killed.length).toBeGreaterThanOrEqual(3)
      console.log(`scoped: ${killed.length} killCursors after an early end, a failure and an interruption`)
    } finally {
      client.off("commandStarted", onCommand)
    }
  })
})

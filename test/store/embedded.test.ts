/**
 * The embedded store: its connection settings (page cache, durability) read back from SQLite
 * itself, and its transactions (a batch's writes as one unit: rolled back whole, invisible to other
 * callers until committed).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, References, Stream } from "effect"
import { ordersPerStatus, orderTotals } from "../../examples/orderstats/pipeline.ts"
import type * as Monoid from "../../src/Monoid.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { Transactions } from "../../src/Store/Transactions.ts"
import { crashing } from "../support/faults.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Error")

const dir = mkdtempSync(join(tmpdir(), "embedded-options-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const pragmas = (options: Embedded.Options) =>
  Effect.runPromise(Effect.scoped(Effect.map(Embedded.open(options), (db) => ({
    cache: (db.prepare("PRAGMA cache_size").get() as { cache_size: number }).cache_size,
    synchronous: (db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous
  }))))

describe("embedded store connection", () => {
  it("keeps a 64 MiB page cache by default, and the size asked for otherwise", async () => {
    // SQLite's answer is in KiB when negative
    expect((await pragmas({ path: join(dir, "default.sqlite") })).cache).toBe(-64 * 1024)
    expect((await pragmas({ path: join(dir, "small.sqlite"), cacheMiB: 8 })).cache).toBe(-8 * 1024)
    expect((await pragmas({ path: join(dir, "half.sqlite"), cacheMiB: 0.5 })).cache).toBe(-512)
  })

  it("is durable against power loss by default (synchronous=FULL), against crashes with normal", async () => {
    expect((await pragmas({ path: join(dir, "full.sqlite") })).synchronous).toBe(2)
    expect((await pragmas({ path: join(dir, "normal.sqlite"), durability: "normal" })).synchronous).toBe(1)
  })

  it("refuses a cache size that is not a positive number of MiB", async () => {
    for (const cacheMiB of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const exit = await Effect.runPromiseExit(Effect.scoped(Embedded.open({ path: join(dir, "bad.sqlite"), cacheMiB })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain("cacheMiB must be a positive number")
    }
  })
})

const order = (id: string, customer: string, amount: number, status: string) => ({ _id: id, customer_id: customer, amount, status })

/** Two batches of two changes each (the fold's `batchSize: 2`), for two pipelines. */
const changes = [
  Source.upsert("o1", order("o1", "c1", 100, "paid")),
  Source.upsert("o2", order("o2", "c2", 5, "paid")),
  Source.upsert("o1", order("o1", "c1", 150, "shipped")),
  Source.upsert("o3", order("o3", "c2", 7, "paid"))
]

const totalsOf = (layer: Layer.Layer<Aggregates, unknown>, pipeline: { readonly name: string; readonly monoid: Monoid.Monoid<any> }) =>
  Effect.runPromise(
    Aggregates.use((a) => a.all(pipeline)).pipe(
      Effect.map((all) => Object.fromEntries(all as ReadonlyMap<string, number>)),
      Effect.provide(layer)
    )
  )

describe("embedded store transactions", () => {
  for (const transactions of [true, false]) {
    it(`a batch crashed in its second pipeline's write leaves ${transactions ? "no write of the batch (one transaction a batch)" : "the first pipeline's write (a transaction a call)"}`, async () => {
      const path = join(dir, `crash-${transactions}.sqlite`)
      const source = Source.fromStream("orders", Stream.fromIterable(changes))
      // the 4th aggregate write is the second pipeline's in the second batch; it is applied, then the process dies
      const crashed = crashing(Embedded.layer({ path }), { at: 4, operation: "aggregates.apply", mode: "after" }, { n: 0 }, { transactions })
      const exit = await Effect.runPromiseExit(Fold.run(source, [orderTotals, ordersPerStatus], { batchSize: 2 }).pipe(Effect.provide(crashed), Effect.provide(quiet)))
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause).includes("Crash")).toBe(true)
      const after = Embedded.layer({ path })
      const batchOne = { c1: 100, c2: 5 }
      const both = { c1: 150, c2: 12 }
      expect(await totalsOf(after, orderTotals)).toEqual(transactions ? batchOne : both)
      expect(await totalsOf(after, ordersPerStatus)).toEqual(transactions ? { paid: 2 } : { paid: 2, shipped: 1 })
      // a restart finishes the batch either way
      await Effect.runPromise(Fold.run(source, [orderTotals, ordersPerStatus], { batchSize: 2 }).pipe(Effect.provide(after), Effect.provide(quiet)))
      expect(await totalsOf(after, orderTotals)).toEqual(both)
      expect(await totalsOf(after, ordersPerStatus)).toEqual({ paid: 2, shipped: 1 })
    })
  }

  it("runs a batch's transaction again when it could not begin (another process held the database)", async () => {
    const path = join(dir, "begin-busy.sqlite")
    let attempts = 0
    // the real store's transactions, the first one refused as SQLite refuses a BEGIN it waited too long for
    const busyOnce = Layer.effect(Transactions, Effect.map(Effect.service(Transactions), (tx) => ({
      withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.suspend(() =>
          ++attempts === 1
            ? Effect.fail(new StoreError({ store: "embedded", operation: "transaction.begin", retryable: true, detail: "database is locked" }))
            : tx.withTransaction(effect)
        )
    })))
    const store = Layer.provideMerge(busyOnce, Embedded.layer({ path }))
    const source = Source.fromStream("orders", Stream.fromIterable(changes))
    await Effect.runPromise(Fold.run(source, [orderTotals], { batchSize: 4 }).pipe(Effect.provide(store), Effect.provide(quiet)))
    expect(attempts).toBe(2)
    expect(await totalsOf(Embedded.layer({ path }), orderTotals)).toEqual({ c1: 150, c2: 12 })
  })

  const update = (key: string, delta: number, seq: number) => ({ key, delta, marks: [{ partition: "p", first: seq, last: seq }], contributions: [] })

  it("rolls back what a failed, dead or interrupted transaction wrote (a nested one with it), and the store stays usable", async () => {
    const program = Effect.gen(function*() {
      const tx = yield* Transactions
      const aggregates = yield* Aggregates
      const ledger = yield* Ledger
      const write = (seq: number) =>
        Effect.andThen(
          aggregates.apply(orderTotals, [update("c1", 10, seq)]),
          ledger.put(orderTotals, new Map([[`o${seq}`, { keys: ["c1"], value: 10, version: [1, seq] as const }]]))
        )
      const failed = yield* Effect.exit(tx.withTransaction(Effect.andThen(write(1), Effect.fail("no"))))
      const died = yield* Effect.exit(tx.withTransaction(Effect.andThen(write(2), Effect.die("dead"))))
      const fiber = yield* Effect.forkChild(tx.withTransaction(Effect.andThen(write(3), Effect.never)))
      yield* Effect.sleep(20)
      yield* Fiber.interrupt(fiber)
      // a transaction inside one of the same store is part of it: rolled back with it
      const nested = yield* Effect.exit(tx.withTransaction(Effect.andThen(tx.withTransaction(write(5)), Effect.fail("outer"))))
      const none = { total: yield* aggregates.get(orderTotals, ["c1"]), ledger: yield* ledger.get(orderTotals, ["o1", "o2", "o3", "o5"]) }
      yield* tx.withTransaction(write(4))
      const committed = { total: yield* aggregates.get(orderTotals, ["c1"]), ledger: yield* ledger.get(orderTotals, ["o4"]) }
      return { failed, died, nested, none, committed }
    })
    const result = await Effect.runPromise(program.pipe(Effect.provide(Embedded.layer({ path: join(dir, "rollback.sqlite") }))))
    expect(Exit.isFailure(result.failed) && Exit.isFailure(result.died) && Exit.isFailure(result.nested)).toBe(true)
    expect(result.none.total.size).toBe(0)
    expect(result.none.ledger).toEqual([undefined, undefined, undefined, undefined])
    expect(result.committed.total.get("c1")).toBe(10)
    expect(result.committed.ledger[0]?.version).toEqual([1, 4])
  })

  it("other callers wait for a transaction: they never read its writes before it commits", async () => {
    const program = Effect.gen(function*() {
      const tx = yield* Transactions
      const aggregates = yield* Aggregates
      const events: Array<string> = []
      const writer = yield* Effect.forkChild(tx.withTransaction(Effect.gen(function*() {
        yield* aggregates.apply(orderTotals, [update("c1", 5, 1)])
        events.push("first write")
        yield* Effect.sleep(50)
        yield* aggregates.apply(orderTotals, [update("c1", 7, 2)])
        events.push("second write")
      })))
      yield* Effect.sleep(10)
      const read = yield* aggregates.get(orderTotals, ["c1"])
      events.push(`read ${read.get("c1")}`)
      yield* Fiber.join(writer)
      return events
    })
    const events = await Effect.runPromise(program.pipe(Effect.provide(Embedded.layer({ path: join(dir, "isolation.sqlite") }))))
    expect(events).toEqual(["first write", "second write", "read 12"])
  })
})

describe("embedded store keys", () => {
  it("keeps keys SQLite's UTF-8 cannot hold as they are (lone surrogates) apart from each other and from U+FFFD", async () => {
    // keys cut in the middle of an emoji, or read from JSON \ud83d escapes; and the column's own mark
    const keys = ["\ud83d", "\ud83c", "\ufffd", "\udc00x", "\uffff", "\uffff\"{", "a", "😀"]
    const orders = keys.flatMap((customer, i) => [
      { _id: `o${i}`, customer_id: customer, amount: 10 + i, status: "new" },
      { _id: `p${i}`, customer_id: customer, amount: 100 * (i + 1), status: "new" }
    ])
    const expected = new Map<string, number>()
    for (const o of orders) expected.set(o.customer_id, (expected.get(o.customer_id) ?? 0) + o.amount)
    const source = Source.fromStream("surrogates", Stream.fromIterable(orders.map((o) => Source.upsert(o._id, o))))
    const result = await Effect.runPromise(Effect.gen(function*() {
      yield* Fold.run(source, [orderTotals])
      const aggregates = yield* Aggregates
      return { all: yield* aggregates.all(orderTotals), got: yield* aggregates.get(orderTotals, keys) }
    }).pipe(Effect.provide(Embedded.layer({ path: join(dir, "surrogates.sqlite") })), Effect.provide(quiet)))
    expect(new Map(result.all)).toEqual(expected)
    expect(new Map(result.got)).toEqual(expected)
  })
})

/**
 * The fold overlaps the reads and planning of a batch with the writes of the previous one:
 *
 * - the order of store calls shows batch N+1's ledger read starting before batch N's writes end,
 *   while writes and commits stay one batch at a time, in order;
 * - batch N+1 is planned against batch N's in-flight ledger entries: a document changed in both
 *   batches folds exactly even though its ledger write has not landed when N+1 is planned; once
 *   N's writes have ended, N+1 reads its documents from the store instead;
 * - batch N+1's writes start while batch N's position is being committed (batch N+2's wait for
 *   that commit), and the commits stay one at a time, in order;
 * - a write that fails while the live source delivers nothing more fails the run at once instead
 *   of waiting for the next record.
 */
import { Context, Deferred, Effect, Fiber, Layer, Queue, Stream } from "effect"
import * as I from "../../src/Input.ts"
import { describe, expect, it } from "vitest"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import { quiet, sumOfN } from "../support/pipelines.ts"


const totals = sumOfN("totals")

/** The memory store with slow writes, logging the start and end of each call. */
const slowStore = (state: Memory.State, log: Array<string>, writeMs: number) =>
  Layer.effectContext(Effect.gen(function*() {
    const aggregates = yield* Aggregates
    const ledger = yield* Ledger
    const timed = <A, E>(name: string, effect: Effect.Effect<A, E>, ms: number) =>
      Effect.gen(function*() {
        log.push(`${name}:start`)
        yield* Effect.sleep(ms)
        const a = yield* effect
        log.push(`${name}:end`)
        return a
      })
    return Context.make(Aggregates, { ...aggregates, apply: (t, u) => timed("apply", aggregates.apply(t, u), writeMs) }).pipe(
      Context.add(Ledger, { get: (t, ids) => timed("ledger.get", ledger.get(t, ids), 1), put: (t, e) => timed("ledger.put", ledger.put(t, e), writeMs) })
    )
  })).pipe(Layer.provideMerge(Memory.layer(state)))

const batches = (...chunks: ReadonlyArray<ReadonlyArray<Source.Change>>) =>
  Source.fromStream("overlap", Stream.fromArrays(...(chunks as Array<Array<Source.Change>>)))

describe("overlapping batches", () => {
  it("reads and plans batch N+1 while batch N is written; writes stay in order; exact", async () => {
    const state = Memory.makeState()
    const log: Array<string> = []
    const source = batches(
      [Source.upsert("d1", { k: "a", n: 1 }), Source.upsert("d2", { k: "b", n: 2 })],
      [Source.upsert("d1", { k: "a", n: 10 }), Source.upsert("d3", { k: "a", n: 3 })], // d1 again: planned on batch 1's in-flight entry
      [Source.upsert("d1", { k: "b", n: 10 }), Source.remove("d2")]
    )
    await Effect.runPromise(Fold.run(source, [totals]).pipe(Effect.provide(slowStore(state, log, 30)), Effect.provide(quiet)))
    const all = await Effect.runPromise(Aggregates.use((a) => a.all(totals)).pipe(Effect.provide(Memory.layer(state))))
    expect(Object.fromEntries(all)).toEqual({ a: 3, b: 10 })
    // the second batch's ledger read began before the first batch's ledger write ended
    const secondRead = log.indexOf("ledger.get:start", log.indexOf("ledger.get:start") + 1)
    expect(secondRead).toBeGreaterThan(0)
    expect(secondRead).toBeLessThan(log.indexOf("ledger.put:end"))
    // writes never overlap: each apply and ledger write ends before the next one starts
    const writes = log.filter((e) => !e.startsWith("ledger.get"))
    for (let i = 0; i < writes.length; i += 2) expect([writes[i]!.endsWith(":start"), writes[i + 1]!.endsWith(":end")]).toEqual([true, true])
  })

  it("once batch N's writes have ended, batch N+1 reads its documents from the store, not from N's plan", async () => {
    const state = Memory.makeState()
    const asked: Array<ReadonlyArray<string>> = []
    const spying = Layer.effectContext(Effect.gen(function*() {
      const ledger = yield* Ledger
      return Context.make(Ledger, { ...ledger, get: (t, ids) => Effect.andThen(Effect.sync(() => asked.push([...ids])), ledger.get(t, ids)) })
    })).pipe(Layer.provideMerge(Memory.layer(state)))
    // the second batch comes 50 ms after the first: the first one's writes (in memory) are done by then
    const source = Source.fromStream(
      "after-writes",
      Stream.concat(
        Stream.fromArray([Source.upsert("d1", { k: "a", n: 1 }), Source.upsert("d2", { k: "b", n: 2 })]),
        Stream.fromEffect(Effect.as(Effect.sleep(50), Source.upsert("d1", { k: "b", n: 5 })))
      )
    )
    await Effect.runPromise(Fold.run(source, [totals], { batchSize: 2 }).pipe(Effect.provide(spying), Effect.provide(quiet)))
    const all = await Effect.runPromise(Aggregates.use((a) => a.all(totals)).pipe(Effect.provide(Memory.layer(state))))
    expect(Object.fromEntries(all)).toEqual({ a: 0, b: 7 })
    // d1's entry came from the store (which holds what the first batch wrote, or anything newer);
    // document ids are canonical JSON
    expect(asked).toEqual([['"d1"', '"d2"'], ['"d1"']])
  })

  it("writes batch N+1 while batch N is committed; commits stay one at a time, in order; exact", async () => {
    const state = Memory.makeState()
    const log: Array<string> = []
    const committed: Array<number> = []
    // position commits that take 40 ms (a read and a write of a store some milliseconds away)
    const slowCommits = Layer.effectContext(Effect.gen(function*() {
      const tokens = yield* Tokens
      const aggregates = yield* Aggregates
      return Context.make(Tokens, {
        ...tokens,
        set: (scope, name, value) =>
          !name.startsWith("position:") ? tokens.set(scope, name, value) : Effect.gen(function*() {
            log.push("commit:start")
            yield* Effect.sleep(40)
            yield* tokens.set(scope, name, value)
            committed.push(...Object.values(value as Record<string, { seq: number }>).map((p) => p.seq))
            log.push("commit:end")
          })
      }).pipe(Context.add(Aggregates, { ...aggregates, apply: (t, u) => Effect.andThen(Effect.sync(() => log.push("apply")), aggregates.apply(t, u)) }))
    })).pipe(Layer.provideMerge(Memory.layer(state)))
    const source = batches(
      [Source.upsert("d1", { k: "a", n: 1 }), Source.upsert("d2", { k: "b", n: 2 })],
      [Source.upsert("d1", { k: "a", n: 10 }), Source.upsert("d3", { k: "a", n: 3 })],
      [Source.upsert("d1", { k: "b", n: 10 }), Source.remove("d2")],
      [Source.upsert("d4", { k: "c", n: 4 })]
    )
    await Effect.runPromise(Fold.run(source, [totals], { batchSize: 2 }).pipe(Effect.provide(slowCommits), Effect.provide(quiet)))
    const all = await Effect.runPromise(Aggregates.use((a) => a.all(totals)).pipe(Effect.provide(Memory.layer(state))))
    expect(Object.fromEntries(all)).toEqual({ a: 3, b: 10, c: 4 })
    // every batch committed, in order, one commit at a time
    expect(committed).toEqual([2, 4, 6, 7])
    const commits = log.filter((e) => e.startsWith("commit"))
    expect(commits).toEqual(["commit:start", "commit:end", "commit:start", "commit:end", "commit:start", "commit:end", "commit:start", "commit:end"])
    // the second batch's aggregates were written before the first batch's commit ended
    const applies = log.flatMap((e, i) => (e === "apply" ? [i] : []))
    expect(applies[1]).toBeLessThan(log.indexOf("commit:end"))
    // but no more than two batches at once: the third batch's writes wait for the first's commit
    expect(applies[2]).toBeGreaterThan(log.indexOf("commit:end"))
  })

  it("a write that fails while the live source is idle fails the run at once", async () => {
    const state = Memory.makeState()
    const failing = Layer.effectContext(Effect.gen(function*() {
      const aggregates = yield* Aggregates
      return Context.make(Aggregates, {
        ...aggregates,
        apply: () => Effect.fail(new StoreError({ store: "memory", operation: "apply", retryable: false, detail: "disk on fire" }))
      })
    })).pipe(Layer.provideMerge(Memory.layer(state)))
    const started = Date.now()
    const exit = await Effect.runPromiseExit(Effect.gen(function*() {
      const queue = yield* Queue.unbounded<Source.Change>()
      yield* Queue.offer(queue, Source.upsert("d1", { k: "a", n: 1 }))
      // the queue never ends: only the failed write can stop the run
      return yield* Fold.run(Source.fromStream("idle", Stream.fromQueue(queue), { resume: "continue" }), [totals])
    }).pipe(Effect.provide(failing), Effect.provide(quiet), Effect.timeout("10 seconds")))
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toMatch(/disk on fire/)
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it("a partition given to this reader again is planned from the store, which another reader may have moved on", async () => {
    // a consumer group: this reader's batch N stalls in its writes, another member takes the
    // partition, folds N's record and a later one, and leaves; the partition comes back in a new
    // generation, and batch N+1 goes on from the other member's commit
    const state = Memory.makeState()
    const id = JSON.stringify("x")
    const at = (seq: number, generation: number) => ({ partition: "orders/0", seq, checkpoint: generation })
    const groupSource = (name: string, records: Stream.Stream<I.Input>) =>
      Source.make({ name, kind: "changes", records, commit: () => Effect.void, continues: (a, b) => a.checkpoint === b.checkpoint })
    const result = await Effect.runPromise(Effect.gen(function*() {
      const blocked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const otherDone = yield* Deferred.make<void>()
      let applies = 0
      // the real store; only this reader's first aggregate write waits to be released
      const stalling = Layer.effectContext(Effect.gen(function*() {
        const aggregates = yield* Aggregates
        return Context.make(Aggregates, {
          ...aggregates,
          apply: (t, u) =>
            ++applies === 1
              ? Effect.andThen(Effect.andThen(Deferred.succeed(blocked, undefined), Deferred.await(release)), aggregates.apply(t, u))
              : aggregates.apply(t, u)
        })
      })).pipe(Layer.provideMerge(Memory.layer(state)))
      const mine = groupSource("member-a", Stream.concat(
        Stream.make(I.upsert(id, { k: "a", n: 10 }, at(1, 1))),
        Stream.fromEffect(Effect.as(Deferred.await(otherDone), I.upsert(id, { k: "c", n: 30 }, at(3, 2))))
      ))
      const fiber = yield* Effect.forkChild(Fold.run(mine, [totals]).pipe(Effect.provide(stalling)))
      yield* Deferred.await(blocked)
      const other = groupSource("member-b", Stream.make(I.upsert(id, { k: "a", n: 10 }, at(1, 7)), I.upsert(id, { k: "b", n: 20 }, at(2, 7))))
      yield* Fold.run(other, [totals]).pipe(Effect.provide(Memory.layer(state)))
      yield* Deferred.succeed(otherDone, undefined)
      // batch N+1 is read while batch N's writes still stall
      yield* Effect.sleep(100)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(fiber)
      return yield* Aggregates.use((a) => a.all(totals)).pipe(Effect.provide(Memory.layer(state)))
    }).pipe(Effect.provide(quiet)))
    // the document's final state is c: 30; a and b hold nothing
    expect(Object.fromEntries([...result].filter(([, v]) => v !== 0))).toEqual({ c: 30 })
  })
})

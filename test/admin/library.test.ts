/**
 * The admin modules as a library, over the in-memory store: `Verify` against a group-by written
 * here, `DeadLetterReplay` over a source of truth kept in a `Map` (replay exactly once, twice
 * changes nothing, a replay whose ledger write fails is finished by the next one without counting
 * twice), and `PipelineStatus` (phase, counts, positions).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema, Stream } from "effect"
import * as DeadLetterReplay from "../../src/Admin/DeadLetterReplay.ts"
import * as PipelineStatus from "../../src/Admin/PipelineStatus.ts"
import * as Verify from "../../src/Admin/Verify.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Rebootstrap from "../../src/Runtime/Rebootstrap.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import type { Version } from "../../src/Version.ts"

const Order = Schema.Struct({ _id: Schema.String, customer: Schema.String.check(Schema.isNonEmpty()), amount: Schema.Int })
const totals = Pipeline.make("totals", { schema: Order, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })

type Doc = { readonly _id: string; readonly customer?: unknown; readonly amount?: unknown }

/** The reference: a plain group-by-sum over the valid documents, non-zero totals only. */
const groupBy = (docs: Iterable<Doc>): Record<string, number> => {
  const out = new Map<string, number>()
  for (const d of docs) {
    if (typeof d.customer !== "string" || d.customer === "" || !Number.isSafeInteger(d.amount)) continue
    out.set(d.customer, (out.get(d.customer) ?? 0) + (d.amount as number))
  }
  return Object.fromEntries([...out].filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)))
}

const stored = Effect.map(Effect.flatMap(Aggregates, (a) => a.all(totals)), (all) =>
  Object.fromEntries([...all].filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1))))

const docs: ReadonlyArray<Doc> = [
  { _id: "o1", customer: "a", amount: 10 },
  { _id: "o2", customer: "b", amount: 5 },
  { _id: "o3", customer: "a", amount: 2.5 },
  { _id: "o4", customer: "", amount: 7 },
  { _id: "o5", customer: "c", amount: "9" },
  { _id: "o6", customer: "b", amount: 1 }
]

/** Folds `docs` as the first states of their documents (a source of changes, versions [1, seq]). */
const foldAll = (list: ReadonlyArray<Doc>) =>
  Fold.run(Source.fromStream("orders", Stream.fromIterable(list.map((d) => Source.upsert(d._id, d)))), [totals])

describe("Verify", () => {
  it.effect("computes the aggregates of a rescan as a group-by does, and reports nothing after a clean fold", () =>
    Effect.gen(function*() {
      const expected = yield* Verify.expected(totals, Stream.fromIterable(docs))
      expect(Object.fromEntries(expected.values)).toEqual(groupBy(docs))
      expect(expected.refused).toBe(3)
      yield* foldAll(docs)
      const report = yield* Verify.run(totals, Stream.fromIterable(docs))
      expect(report.differences).toEqual([])
      expect(report.expectedKeys).toBe(2)
      expect(yield* Verify.check(report)).toBe(report)
    }).pipe(Effect.provide(Memory.layer())))

  it.effect("finds exactly the keys that differ; an identity value counts as absent", () =>
    Effect.gen(function*() {
      yield* foldAll(docs)
      const aggregates = yield* Aggregates
      const plant = (key: string, delta: number, seq: number) =>
        aggregates.apply(totals, [{ key, delta, marks: [{ partition: "planted", first: seq, last: seq }], contributions: [{ partition: "planted", seq, delta }] }])
      yield* plant("b", 3, 1)
      yield* plant("zero", 0, 2) // a key whose contributions cancel out: not a difference
      yield* plant("ghost", -4, 3)
      const report = yield* Verify.run(totals, Stream.fromIterable(docs))
      expect(report.differences).toEqual([
        { key: "b", expected: 6, stored: 9 },
        { key: "ghost", expected: undefined, stored: -4 }
      ])
      const failed = yield* Effect.flip(Verify.check(report))
      expect(failed._tag).toBe("DifferencesFound")
      expect(failed.message).toBe("pipeline totals: 2 aggregate keys differ from the source of truth")
    }).pipe(Effect.provide(Memory.layer())))
})

/** A source of truth the test edits, and a replay over it at increasing versions. */
const truth = () => {
  const current = new Map(docs.map((d) => [JSON.stringify(d._id), d]))
  let hi = 1000
  const options: DeadLetterReplay.Options<never, never> = {
    version: Effect.sync((): Version => [++hi, 0]),
    lookup: (ids) => Effect.sync(() => new Map(ids.filter((id) => current.has(id)).map((id) => [id, current.get(id)]))),
    fold: { retry: Fold.defaultRetry }
  }
  return { current, options, replay: DeadLetterReplay.replay(totals, options) }
}

/** Runs `replay` over `state` killed between its aggregate and ledger writes (its ledger writes fail). */
const killedBeforeLedgerWrite = <A, E>(state: Memory.State, replay: Effect.Effect<A, E, any>) => {
  const failingLedger = Layer.succeed(Ledger, {
    ...Memory.ledger(state),
    put: () => Effect.fail(new StoreError({ store: "test", operation: "ledger.put", retryable: false }))
  })
  return Effect.runPromise(Effect.exit(replay.pipe(Effect.provide(Layer.merge(Memory.layer(state), failingLedger))) as Effect.Effect<A, E>))
}

describe("DeadLetterReplay", () => {
  it.effect("replays fixed documents exactly once; a second replay changes nothing", () =>
    Effect.gen(function*() {
      const t = truth()
      yield* foldAll(docs)
      const before = yield* DeadLetterReplay.list("totals")
      expect(before.map((l) => [l.docId, l.resolution])).toEqual([["\"o3\"", undefined], ["\"o4\"", undefined], ["\"o5\"", undefined]])
      t.current.set("\"o3\"", { _id: "o3", customer: "a", amount: 3 })
      t.current.set("\"o4\"", { _id: "o4", customer: "d", amount: 7 })
      t.current.delete("\"o5\"")
      const first = yield* t.replay
      expect(first.resolved.map((r) => [r.docId, r.outcome])).toEqual([["\"o3\"", "folded"], ["\"o4\"", "folded"], ["\"o5\"", "deleted"]])
      expect(yield* stored).toEqual(groupBy(t.current.values()))
      const second = yield* t.replay
      expect(second.resolved).toEqual([])
      expect(second.alreadyResolved).toBe(3)
      expect(yield* stored).toEqual(groupBy(t.current.values()))
      const found = yield* DeadLetterReplay.find("totals", first.resolved[0]!.id)
      expect(found.resolution?.outcome).toBe("folded")
      const missing = yield* Effect.flip(DeadLetterReplay.find("totals", "nope#1"))
      expect(missing._tag).toBe("DeadLetterNotFound")
    }).pipe(Effect.provide(Memory.layer())))

  it.effect("leaves a document the pipeline still refuses pending, with the current reason", () =>
    Effect.gen(function*() {
      const t = truth()
      yield* foldAll(docs)
      t.current.set("\"o5\"", { _id: "o5", customer: "c", amount: "still text" })
      const report = yield* t.replay
      // o3 and o4 were not fixed, o5 was changed but is still invalid
      expect(report.stillFailing.map((f) => f.docId)).toEqual(["\"o3\"", "\"o4\"", "\"o5\""])
      expect(report.stillFailing[2]!.reason).toMatch(/amount/)
      expect(report.resolved).toEqual([])
      const pending = (yield* DeadLetterReplay.list("totals")).filter((l) => l.resolution === undefined)
      expect(pending.map((l) => l.docId)).toEqual(["\"o3\"", "\"o4\"", "\"o5\""])
      expect(yield* stored).toEqual(groupBy(t.current.values()))
    }).pipe(Effect.provide(Memory.layer())))

  it.effect("a fixed pipeline replayed at the very version its refused states were folded at (nothing written since) folds them", () =>
    Effect.gen(function*() {
      // bootstrapped at one version, as a snapshot is at its handoff; the source has not moved since
      const at: Version = [1000, 4]
      yield* Fold.run(Source.fromStream("snapshot", Stream.fromIterable(docs.map((d) => Source.upsert(d._id, d, at)))), [totals])
      // the fix: a pipeline of the same name whose schema also takes amounts written as text
      const Lenient = Schema.Struct({ _id: Schema.String, customer: Schema.String.check(Schema.isNonEmpty()), amount: Schema.Union([Schema.Int, Schema.FiniteFromString]) })
      const lenient = Pipeline.make("totals", { schema: Lenient, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })
      const current = new Map(docs.map((d) => [JSON.stringify(d._id), d]))
      const report = yield* DeadLetterReplay.replay(lenient, {
        version: Effect.succeed(at),
        lookup: (ids) => Effect.succeed(new Map(ids.filter((id) => current.has(id)).map((id) => [id, current.get(id)])))
      })
      expect(report.resolved.map((r) => [r.docId, r.outcome])).toEqual([["\"o5\"", "folded"]])
      expect(report.fold.stale).toBe(0)
      // by hand: o1 a 10, o2 b 5, o5 c "9" (now taken), o6 b 1; o3 (2.5) and o4 (no customer) still refused
      expect(yield* stored).toEqual({ a: 10, b: 6, c: 9 })
      expect(report.stillFailing.map((f) => f.docId)).toEqual(["\"o3\"", "\"o4\""])
    }).pipe(Effect.provide(Memory.layer())))

  it.effect("a windowed pipeline's document whose event time has no bucket stays pending, as the fold refuses it", () =>
    Effect.gen(function*() {
      const Timed = Schema.Struct({ _id: Schema.String, customer: Schema.String, amount: Schema.Int, at: Schema.Number })
      const perDay = Pipeline.make("per_day", { schema: Timed, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum }).pipe(
        Pipeline.windowed({ time: (o) => o.at, granularity: "day" })
      )
      // a date past the range of Date, and one whose day has no four-digit year
      const timed = [
        { _id: "t1", customer: "a", amount: 1, at: Date.UTC(2026, 11, 4) },
        { _id: "t2", customer: "a", amount: 2, at: 1e16 },
        { _id: "t3", customer: "a", amount: 4, at: Date.UTC(10_000, 0, 5) }
      ]
      yield* Fold.run(Source.fromStream("timed", Stream.fromIterable(timed.map((d) => Source.upsert(d._id, d)))), [perDay])
      const current = new Map(timed.map((d) => [JSON.stringify(d._id), d]))
      const report = yield* DeadLetterReplay.replay(perDay, {
        version: Effect.succeed<Version>([5, 0]),
        lookup: (ids) => Effect.succeed(new Map(ids.filter((id) => current.has(id)).map((id) => [id, current.get(id)])))
      })
      expect(report.resolved).toEqual([])
      expect(report.stillFailing.map((f) => f.docId)).toEqual(["\"t2\"", "\"t3\""])
    }).pipe(Effect.provide(Memory.layer())))

  it("a rebuild after such a replay (the source still not written) swaps: the replay's half version is not ahead of it", async () => {
    const state = Memory.makeState()
    const inStore = <A, E>(e: Effect.Effect<A, E, any>) => Effect.runPromise(e.pipe(Effect.provide(Memory.layer(state))) as Effect.Effect<A, E>)
    const Lenient = Schema.Struct({ _id: Schema.String, customer: Schema.String.check(Schema.isNonEmpty()), amount: Schema.Union([Schema.Int, Schema.FiniteFromString]) })
    const lenient = Pipeline.make("totals", { schema: Lenient, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })
    const spec = (pipeline: Pipeline.Pipeline<any, number, "changes">): Orchestrator.Spec<"changes", StoreError, any> => ({
      pipelines: [pipeline],
      handoff: Effect.succeed(Handoff.atVersion([1000, 4])),
      bootstrap: () => Source.fromIterable("orders", docs, { id: (d) => d._id }),
      live: () => Source.fromStream("live", Stream.never)
    })
    await inStore(Orchestrator.bootstrap(spec(totals)))
    const current = new Map(docs.map((d) => [JSON.stringify(d._id), d]))
    const replayed = await inStore(DeadLetterReplay.replay(lenient, {
      version: Effect.succeed<Version>([1000, 4]),
      lookup: (ids) => Effect.succeed(new Map(ids.filter((id) => current.has(id)).map((id) => [id, current.get(id)])))
    }))
    expect(replayed.resolved.map((r) => r.docId)).toEqual(["\"o5\""])
    const rebuilt = await inStore(Rebootstrap.run(spec(lenient), "totals", { idle: "100 millis", attempts: 2 }))
    expect(rebuilt.to).toBe(1)
    // by hand, as above: a 10, b 6, c 9
    expect(await inStore(stored)).toEqual({ a: 10, b: 6, c: 9 })
  }, 30_000)

  it("a replay whose ledger write fails is finished by the next one, without counting twice", async () => {
    const state = Memory.makeState()
    const t = truth()
    await Effect.runPromise(foldAll(docs).pipe(Effect.provide(Memory.layer(state))))
    t.current.set("\"o3\"", { _id: "o3", customer: "a", amount: 30 })
    t.current.set("\"o4\"", { _id: "o4", customer: "b", amount: 40 })
    // the aggregates are written, then the ledger write fails: nothing records that they were
    const crashed = await killedBeforeLedgerWrite(state, t.replay)
    expect(crashed._tag).toBe("Failure")
    // and the document changes again before the next replay: its batch is not the crashed one
    t.current.set("\"o3\"", { _id: "o3", customer: "a", amount: 35 })
    const replayed = await Effect.runPromise(Effect.gen(function*() {
      const report = yield* t.replay
      return { report, totals: yield* stored }
    }).pipe(Effect.provide(Memory.layer(state))))
    expect(replayed.report.resolved.map((r) => r.docId)).toEqual(["\"o3\"", "\"o4\""])
    expect(replayed.totals).toEqual(groupBy(t.current.values()))
  })

  it("a replay killed before its ledger write is finished by the next one, even with nothing new to fold", async () => {
    const state = Memory.makeState()
    const t = truth()
    await Effect.runPromise(foldAll(docs).pipe(Effect.provide(Memory.layer(state))))
    t.current.set("\"o3\"", { _id: "o3", customer: "a", amount: 30 })
    const crashed = await killedBeforeLedgerWrite(state, t.replay)
    expect(crashed._tag).toBe("Failure")
    // the document is made invalid again: the rerun has nothing to fold, but the crashed batch's
    // aggregate write must not stay without its ledger entry (the worker's next change of the
    // document would retract what the ledger holds, not what the aggregates got)
    t.current.set("\"o3\"", { _id: "o3", customer: "a", amount: "bad again" })
    const rerun = await Effect.runPromise(t.replay.pipe(Effect.provide(Memory.layer(state))))
    expect(rerun.resolved).toEqual([])
    const later: Doc = { _id: "o3", customer: "a", amount: 40 }
    t.current.set("\"o3\"", later)
    const after = await Effect.runPromise(Effect.gen(function*() {
      yield* Fold.run(Source.fromStream("live", Stream.make(Source.upsert("o3", later, [5000, 0]))), [totals])
      return yield* stored
    }).pipe(Effect.provide(Memory.layer(state))))
    expect(after).toEqual(groupBy(t.current.values()))
  })
})

describe("DeadLetterReplay and the live worker", () => {
  it("a worker started after a replay was killed in its write finishes the replay's batch first", async () => {
    const state = Memory.makeState()
    const t = truth()
    const spec = (live: ReadonlyArray<Doc>): Orchestrator.Spec<"changes", StoreError, Tokens> => ({
      pipelines: [totals],
      handoff: Handoff.at([1, 0]),
      bootstrap: () => Source.fromIterable("orders", docs, { id: (d) => d._id }),
      live: () => Source.fromStream("live", Stream.fromIterable(live.map((d, i) => Source.upsert(d._id, d, [5000 + i, 0]))))
    })
    const inStore = <A, E>(effect: Effect.Effect<A, E, any>) => Effect.runPromise(effect.pipe(Effect.provide(Memory.layer(state))) as Effect.Effect<A, E>)
    await inStore(Orchestrator.run(spec([])))
    t.current.set("\"o3\"", { _id: "o3", customer: "a", amount: 30 })
    const crashed = await killedBeforeLedgerWrite(state, t.replay)
    expect(crashed._tag).toBe("Failure")
    // the worker starts before anyone reruns the replay, and folds a later change of the document
    const later: Doc = { _id: "o3", customer: "a", amount: 35 }
    t.current.set("\"o3\"", later)
    await inStore(Orchestrator.live(spec([later])))
    expect(await inStore(stored)).toEqual(groupBy(t.current.values()))
  })

  it("finishes it with the workers' keepDocuments: the replayed document's fields are kept for its patches", async () => {
    const state = Memory.makeState()
    const t = truth()
    const spec: Orchestrator.Spec<"changes", StoreError, Tokens> = {
      pipelines: [totals],
      handoff: Handoff.at([1, 0]),
      bootstrap: () => Source.fromIterable("orders", docs, { id: (d) => d._id }),
      live: () => Source.fromStream("live", Stream.empty),
      options: { keepDocuments: true }
    }
    const inStore = <A, E>(effect: Effect.Effect<A, E, any>) => Effect.runPromise(effect.pipe(Effect.provide(Memory.layer(state))) as Effect.Effect<A, E>)
    await inStore(Orchestrator.run(spec))
    t.current.set("\"o3\"", { _id: "o3", customer: "a", amount: 30 })
    const replay = DeadLetterReplay.replay(totals, { ...t.options, fold: { ...t.options.fold, keepDocuments: true } })
    expect((await killedBeforeLedgerWrite(state, replay))._tag).toBe("Failure")
    await inStore(Orchestrator.live(spec))
    const [entry] = await inStore(Ledger.use((l) => l.get(totals, ["\"o3\""])))
    expect(entry?.doc).toEqual({ _id: "o3", customer: "a", amount: 30 })
  })
})

describe("DeadLetterReplay and Rebootstrap", () => {
  it("a rebootstrap keeps what a replay resolved", async () => {
    const state = Memory.makeState()
    const t = truth()
    // the rebuild's handoff is taken after the replay's version, as a source's would be
    const spec = (list: ReadonlyArray<Doc>, at: number): Orchestrator.Spec<"changes", StoreError, Tokens> => ({
      pipelines: [totals],
      handoff: Handoff.at([at, 0]),
      bootstrap: () => Source.fromIterable("orders", list, { id: (d) => d._id })
    })
    const inStore = <A, E>(effect: Effect.Effect<A, E, any>) => Effect.runPromise(effect.pipe(Effect.provide(Memory.layer(state))) as Effect.Effect<A, E>)
    await inStore(Orchestrator.run(spec(docs, 1)))
    t.current.set("\"o3\"", { _id: "o3", customer: "a", amount: 3 })
    const replayed = await inStore(t.replay)
    expect(replayed.resolved.map((r) => r.docId)).toEqual(["\"o3\""])
    await inStore(Rebootstrap.run(spec([...t.current.values()], 5000), "totals", { idle: "10 millis" }))
    const letters = await inStore(DeadLetterReplay.list("totals"))
    expect(letters.filter((l) => l.docId === "\"o3\"").map((l) => l.resolution?.outcome)).toEqual(["folded"])
    expect(await inStore(stored)).toEqual(groupBy(t.current.values()))
  })

  it("reads a resolution saved where earlier versions kept them (the pipeline's own scope)", () =>
    Effect.gen(function*() {
      yield* foldAll(docs)
      const [first] = yield* DeadLetterReplay.list("totals")
      yield* (yield* Tokens).set("totals", `dead-letter:${first!.id}`, { outcome: "deleted", version: [7, 0], at: 1 })
      const letters = yield* DeadLetterReplay.list("totals")
      expect(letters.map((l) => l.resolution?.outcome)).toEqual(["deleted", undefined, undefined])
    }).pipe(Effect.provide(Memory.layer()), Effect.runPromise))
})

describe("PipelineStatus", () => {
  it.effect("says new before the bootstrap, live after it, with the counts and positions", () =>
    Effect.gen(function*() {
      const before = yield* PipelineStatus.of(totals)
      expect(before.phase).toBe("new")
      expect(before.aggregates).toBe(0)
      yield* Orchestrator.bootstrap({
        pipelines: [totals],
        handoff: Effect.succeed(Handoff.atVersion([5, 0])),
        bootstrap: () => Source.fromIterable("seed", docs, { id: (d) => d._id })
      })
      const after = yield* PipelineStatus.of(totals)
      expect(after.phase).toBe("live")
      expect(after.handoff?.version).toEqual([5, 0])
      expect(after.aggregates).toBe(Object.keys(groupBy(docs)).length)
      expect(after.deadLetters).toEqual({ total: 3, pending: 3 })
      const positions = yield* PipelineStatus.positions("seed")
      expect(positions.map((p) => [p.partition, p.seq])).toEqual([["stream:seed", docs.length]])
      expect(yield* PipelineStatus.positions("unknown")).toEqual([])
    }).pipe(Effect.provide(Memory.layer())))
})

/**
 * Sources anyone can build, the fold as a Sink, one source feeding several pipelines:
 *
 * - a user's own `Stream` (from an iterable, from a queue) through `Source.fromStream` into
 *   `Fold.sink`, with a `Stream.filter` in between; a replayed stream resumes after its commit;
 * - `Fold.run` as a `dual`, and the types refusing a max over a source of changes;
 * - a deployment running `[totals]` restarted as `[totals, perStatus]`: the new pipeline is
 *   bootstrapped on its own scan and handoff, the first keeps what it has, both then follow the
 *   one live stream, exact.
 *
 * No server needed (memory store).
 */
import { type Cause, Effect, Layer, Option, Queue, References, Schema, Stream } from "effect"
import { Number as NumberOrder } from "effect/Order"
import { describe, expect, it } from "vitest"
import { ordersPerStatus, orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Readme from "../../examples/readme.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Version from "../../src/Version.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

const totalsOf = (state: Memory.State, pipeline: { readonly name: string; readonly monoid: Monoid.Monoid<any> }) =>
  Effect.runPromise(
    Aggregates.use((a) => a.all(pipeline)).pipe(
      Effect.map((all) => Object.fromEntries(Array.from(all as ReadonlyMap<string, number>).filter(([, v]) => v !== 0))),
      Effect.provide(Memory.layer(state))
    )
  )

const order = (id: string, customer: string, amount: number, status?: string) => ({
  _id: id,
  customer_id: customer,
  amount,
  ...(status === undefined ? {} : { status })
})

describe("Source.fromStream into Fold.sink", () => {
  it("a user's Stream, filtered on the way, folds exactly; a replay resumes after the commit", async () => {
    const changes = [
      Source.upsert("o1", order("o1", "c1", 100)),
      Source.upsert("o2", order("o2", "c1", 5)),
      Source.upsert("o1", order("o1", "c2", 100)), // a move
      Source.upsert("test-1", order("test-1", "c9", 999)), // dropped by the filter below
      Source.remove("o2"),
      Source.upsert("o3", order("o3", "c2", 7))
    ]
    const state = Memory.makeState()
    const source = Source.fromStream("user-orders", Stream.fromIterable(changes))
    const fold = source.records.pipe(
      Stream.filter((r) => !(r._tag === "Upsert" && r.docId.includes("test"))),
      Stream.run(Fold.sink(source, [orderTotals])),
      Effect.provide(Memory.layer(state)),
      Effect.provide(quiet)
    )
    const first = await Effect.runPromise(fold)
    expect(await totalsOf(state, orderTotals)).toEqual({ c2: 107 })
    expect(Fold.of(first, orderTotals).upserts).toBe(4)
    // the same stream again (a restart): everything is committed, nothing is folded twice
    const again = await Effect.runPromise(fold)
    expect(again.records).toBe(0)
    expect(await totalsOf(state, orderTotals)).toEqual({ c2: 107 })
  })

  it("a queue (each run gives new elements): positions go on from the commit", async () => {
    const state = Memory.makeState()
    const run = (items: ReadonlyArray<Source.Change>) =>
      Effect.runPromise(Effect.gen(function*() {
        const queue = yield* Queue.unbounded<Source.Change, Cause.Done>()
        yield* Queue.offerAll(queue, items)
        yield* Queue.end(queue)
        const source = Source.fromStream("queue-orders", Stream.fromQueue(queue), { resume: "continue" })
        return yield* source.pipe(Fold.run([orderTotals, ordersPerStatus]))
      }).pipe(Effect.provide(Memory.layer(state)), Effect.provide(quiet)))
    await run([Source.upsert("o1", order("o1", "c1", 10, "new")), Source.upsert("o2", order("o2", "c1", 20, "new"))])
    await run([Source.upsert("o1", order("o1", "c1", 15, "paid")), Source.remove("o2")])
    expect(await totalsOf(state, orderTotals)).toEqual({ c1: 15 })
    expect(await totalsOf(state, ordersPerStatus)).toEqual({ paid: 1 })
  })

  it("events with ids: any pipeline, a max among them; an id seen again is the same event", async () => {
    const state = Memory.makeState()
    const Payment = Schema.Struct({ id: Schema.String, customer: Schema.String, cents: Schema.Int })
    const largest = Pipeline.make("largest_payment", {
      schema: Payment,
      key: (p) => p.customer,
      value: (p) => Option.some(p.cents),
      monoid: Monoid.max(NumberOrder)
    })
    const payments = [{ id: "p1", customer: "c1", cents: 30 }, { id: "p2", customer: "c1", cents: 70 }, { id: "p1", customer: "c1", cents: 30 }]
    const source = Source.events("payments", Stream.fromIterable(payments), { id: (p) => p.id })
    const summary = await Effect.runPromise(Fold.run(source, [largest]).pipe(Effect.provide(Memory.layer(state)), Effect.provide(quiet)))
    expect(Fold.of(summary, largest).rejected).toBe(0)
    const stored = await Effect.runPromise(Aggregates.use((a) => a.get(largest, ["c1"])).pipe(Effect.provide(Memory.layer(state))))
    expect(stored.get("c1")).toEqual(Option.some(70))
  })

  it("the types hold pipelines to sources: a source of changes takes only group pipelines", () => {
    const Doc = Schema.Struct({ _id: Schema.String, customer_id: Schema.String, amount: Schema.Int })
    const max = Pipeline.make("max", { schema: Doc, key: (d) => d.customer_id, value: (d) => Option.some(d.amount), monoid: Monoid.max(NumberOrder) })
    const changes = Source.fromStream("c", Stream.empty)
    const docs = Source.fromIterable("d", [] as Array<typeof Doc.Type>, { id: (d) => d._id })
    // @ts-expect-error a max cannot retract: a source of updates and deletes refuses it
    Fold.run(changes, [max])
    // @ts-expect-error the same in the orchestrator
    Orchestrator.run({ pipelines: [max], handoff: Effect.succeed(Handoff.atVersion(Version.zero)), live: () => changes })
    // documents each once: any pipeline
    const ok = [Fold.run(docs, [max, orderTotals]), Fold.run(changes, [orderTotals])]
    expect(ok).toHaveLength(2)
  })
})

describe("the README's example", () => {
  it("folds one stream into two pipelines in one pass", async () => {
    const summary = await Effect.runPromise(Readme.folded.pipe(Effect.provide(quiet)))
    expect(summary.records).toBe(3)
    expect(Fold.of(summary, Readme.orderTotals).upserts).toBe(2)
    expect(Fold.of(summary, Readme.ordersPerStatus).deletes).toBe(1)
  })
})

describe("a pipeline added to a running deployment", () => {
  it("bootstraps on its own scan and handoff while the others keep what they have, then shares the live stream", async () => {
    const state = Memory.makeState()
    const log: Array<Source.Change> = []
    const docs = new Map<string, ReturnType<typeof order>>()
    const apply = (change: Source.Change) => {
      log.push(change)
      if (change._tag === "Upsert") docs.set(change.id as string, change.doc as ReturnType<typeof order>)
      else docs.delete(change.id as string)
    }
    // the collection before the first bootstrap
    for (let i = 0; i < 20; i++) docs.set(`o${i}`, order(`o${i}`, `c${i % 3}`, 100 + i, i % 2 === 0 ? "new" : "paid"))
    let handoffs = 0
    const spec = <K extends Source.Kind>(pipelines: ReadonlyArray<Fold.Accepts<"changes">>) => ({
      pipelines,
      // each bootstrap: a new handoff, and a scan of the collection as it is then
      handoff: Effect.sync(() => Handoff.atVersion(Version.make(1_000 * ++handoffs, 0))),
      bootstrap: (h: Handoff.Handoff) => Source.fromIterable(`scan@${Version.format(h.version)}`, Array.from(docs.values()), { id: (d) => d._id }),
      // the live stream: every change since the first bootstrap, replayed from the start
      live: () => Source.fromStream("changes", Stream.fromIterable([...log])) as Source.Source<K & "changes", never, never>
    })
    const run = (pipelines: ReadonlyArray<Fold.Accepts<"changes">>) =>
      Effect.runPromise(Orchestrator.run(spec(pipelines)).pipe(Effect.provide(Memory.layer(state)), Effect.provide(quiet)))
    const expected = () => {
      const totals: Record<string, number> = {}
      const perStatus: Record<string, number> = {}
      for (const d of docs.values()) {
        totals[d.customer_id] = (totals[d.customer_id] ?? 0) + d.amount
        const s = d.status ?? "none"
        perStatus[s] = (perStatus[s] ?? 0) + 1
      }
      return { totals, perStatus }
    }

    const first = await run([orderTotals])
    apply(Source.upsert("o1", order("o1", "c2", 500, "shipped")))
    apply(Source.remove("o2"))
    await run([orderTotals])
    expect(await totalsOf(state, orderTotals)).toEqual(expected().totals)

    // restarted with a second pipeline: it is bootstrapped from the collection now, on its own handoff
    const second = await run([orderTotals, ordersPerStatus])
    expect(second.handoffs[orderTotals.name]).toEqual(first.handoffs[orderTotals.name])
    expect(Version.compare(second.handoffs[ordersPerStatus.name]!.version, first.handoffs[orderTotals.name]!.version)).toBeGreaterThan(0)
    expect(Fold.of(second.bootstrap, ordersPerStatus).upserts).toBe(docs.size)
    expect(second.bootstrap?.pipelines[orderTotals.name]).toBeUndefined()
    expect(await totalsOf(state, ordersPerStatus)).toEqual(expected().perStatus)

    // then both follow the one stream
    apply(Source.upsert("o3", order("o3", "c0", 1, "cancelled")))
    apply(Source.upsert("o30", order("o30", "c1", 42)))
    apply(Source.remove("o4"))
    const third = await run([orderTotals, ordersPerStatus])
    expect(third.live?.records).toBe(3)
    expect(await totalsOf(state, orderTotals)).toEqual(expected().totals)
    expect(await totalsOf(state, ordersPerStatus)).toEqual(expected().perStatus)
  })

  it("is refused when its handoff is the one the others were bootstrapped from (a fixed handoff): its scan would read nothing", async () => {
    const state = Memory.makeState()
    const docs = Array.from({ length: 6 }, (_, i) => order(`o${i}`, `c${i % 2}`, 10 + i, "new"))
    const spec = (pipelines: ReadonlyArray<Fold.Accepts<"changes">>) => ({
      pipelines,
      handoff: Effect.succeed(Handoff.atVersion(Version.make(1_000, 0))),
      bootstrap: (h: Handoff.Handoff) => Source.fromIterable(`scan@${Version.format(h.version)}`, docs, { id: (d) => d._id })
    })
    const run = (pipelines: ReadonlyArray<Fold.Accepts<"changes">>) =>
      Effect.runPromiseExit(Orchestrator.run(spec(pipelines)).pipe(Effect.provide(Memory.layer(state)), Effect.provide(quiet)))
    expect((await run([orderTotals]))._tag).toBe("Success")
    const added = await run([orderTotals, ordersPerStatus])
    expect(added._tag).toBe("Failure")
    expect(String(added._tag === "Failure" ? added.cause : "")).toMatch(/ConfigurationError[\s\S]*orders_per_status is new/)
    // nothing was started for it, and the first keeps what it has
    expect(Option.isNone(await Effect.runPromise(Orchestrator.state(ordersPerStatus.name).pipe(Effect.provide(Memory.layer(state)))))).toBe(true)
    expect(await totalsOf(state, orderTotals)).toEqual({ c0: 10 + 12 + 14, c1: 11 + 13 + 15 })
  })
})

/**
 * Append-only event logs for the ledger-free ("events") pipelines, a Kafka-like source over them
 * that redelivers, and the plain references they are checked against.
 *
 * A log is page views spread over partitions. Events come in every shape a producer writes:
 * valid ones with integer amounts (Int32-sized and past 2^31), ids that repeat across events (a
 * producer's retry writes the same event at another offset: an events pipeline counts it again,
 * by design), and invalid ones (amount as text or a fraction, customer missing or not a string,
 * not an object at all) that must be dead-lettered.
 *
 * The source delivers each partition in order in chunks of random sizes, interleaving partitions
 * anew on each run, resumes after the committed offsets, and within a run sometimes delivers an
 * already-delivered stretch again (a consumer-group rebalance): same offsets, same records, in a
 * later chunk or at the end of the same one.
 */
import { Effect, Exit, Layer, Option, Order, References, Schema, Stream } from "effect"
import { expect } from "vitest"
import * as I from "../../src/Input.ts"
import type { Input } from "../../src/Input.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Source from "../../src/Source.ts"
import { commitToTokens, committed } from "../../src/Source.ts"
import type { Tokens } from "../../src/Store/Tokens.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import { Crash, crashing, type Services } from "./faults.ts"
import * as Rand from "./random.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

export interface LoggedEvent {
  readonly partition: number
  readonly offset: number
  readonly id: string
  readonly doc: unknown
}

const View = Schema.Struct({ customer: Schema.String, page: Schema.String, amount: Schema.Int })
type View = typeof View.Type

/** Sum of amounts per customer, ledger-free. */
export const amountPerCustomer = Pipeline.make("events_amount_per_customer", {
  schema: View,
  key: (v) => v.customer,
  value: (v) => v.amount,
  monoid: Monoid.sum
}).pipe(Pipeline.events)

/** Views per page, ledger-free. */
export const viewsPerPage = Pipeline.make("events_views_per_page", {
  schema: Schema.Struct({ page: Schema.String }),
  key: (v) => v.page,
  value: () => 1,
  monoid: Monoid.count
}).pipe(Pipeline.events)

/** The largest amount per customer: an insert-only monoid, ledger-free. */
export const maxPerCustomer = Pipeline.make("events_max_per_customer", {
  schema: View,
  key: (v) => v.customer,
  value: (v) => Option.some(v.amount),
  monoid: Monoid.max(Order.Number)
}).pipe(Pipeline.events)

export const eventPipelines = [amountPerCustomer, viewsPerPage, maxPerCustomer] as const

const isView = (doc: unknown): doc is View =>
  typeof doc === "object" && doc !== null && typeof (doc as View).customer === "string" &&
  typeof (doc as View).page === "string" && Number.isSafeInteger((doc as View).amount)

/** A seeded log of `count` events over `partitions` partitions. */
export const generateEvents = (seed: number, count: number, partitions: number): ReadonlyArray<LoggedEvent> => {
  const r = Rand.make(seed)
  const customers = Array.from({ length: 8 }, (_, i) => `c${i}`)
  const pages = ["/", "/cart", "/item?id=1", "/ünï", "/a\"b"]
  const offsets = Array.from({ length: partitions }, () => 0)
  const out: Array<LoggedEvent> = []
  for (let n = 0; n < count; n++) {
    const partition = r.int(0, partitions - 1)
    const retry = out.length > 0 && r.chance(0.05)
    const id = retry ? r.pick(out).id : `e${n}`
    const roll = r.next()
    const doc = roll < 0.8
      ? { customer: r.pick(customers), page: r.pick(pages), amount: r.chance(0.1) ? 2 ** 31 + r.int(0, 1000) : r.int(-50, 5000) }
      : r.pick<unknown>([
        { customer: r.pick(customers), page: r.pick(pages), amount: "12" },
        { customer: r.pick(customers), page: r.pick(pages), amount: 1.5 },
        { page: r.pick(pages), amount: 3 },
        { customer: 7, page: r.pick(pages), amount: 3 },
        "not an object",
        null
      ])
    out.push({ partition, offset: offsets[partition]!++, id, doc })
  }
  return out
}

/** Group-by references over the log: every event of a valid shape counts once per offset. */
export const eventReferences = (log: ReadonlyArray<LoggedEvent>) => {
  const amount = new Map<string, number>()
  const views = new Map<string, number>()
  const max = new Map<string, number>()
  const invalidForViews: Array<LoggedEvent> = []
  for (const e of log) {
    const d = e.doc as Partial<View> | null
    if (typeof d === "object" && d !== null && typeof d.page === "string") views.set(d.page, (views.get(d.page) ?? 0) + 1)
    else invalidForViews.push(e)
    if (!isView(e.doc)) continue
    amount.set(e.doc.customer, (amount.get(e.doc.customer) ?? 0) + e.doc.amount)
    max.set(e.doc.customer, Math.max(max.get(e.doc.customer) ?? Number.NEGATIVE_INFINITY, e.doc.amount))
  }
  return {
    [amountPerCustomer.name]: { totals: amount, deadLetters: log.filter((e) => !isView(e.doc)).length },
    [viewsPerPage.name]: { totals: views, deadLetters: invalidForViews.length },
    [maxPerCustomer.name]: { totals: max, deadLetters: log.filter((e) => !isView(e.doc)).length }
  } as Record<string, { readonly totals: ReadonlyMap<string, number>; readonly deadLetters: number }>
}

/** A Kafka-like source over the log (see the module doc). */
export const eventSource = (
  log: ReadonlyArray<LoggedEvent>,
  options: { readonly partitions: number; readonly random: Rand.Random; readonly maxChunk: number; readonly name?: string }
): Source.Source<"events", never, Tokens> => {
  const name = options.name ?? "test-events"
  const byPartition: Array<Array<Input>> = Array.from({ length: options.partitions }, () => [])
  for (const e of log) {
    byPartition[e.partition]!.push(I.event(e.id, e.doc, { partition: `events/${e.partition}`, seq: e.offset }))
  }
  const records = Stream.unwrap(Effect.gen(function*() {
    const heads: Array<number> = []
    for (let p = 0; p < options.partitions; p++) {
      const saved = yield* Effect.orDie(committed(name, `events/${p}`))
      heads.push(saved === undefined ? 0 : saved.seq + 1)
    }
    const chunks: Array<Array<Input>> = []
    while (true) {
      const open = heads.map((h, p) => (h < byPartition[p]!.length ? p : -1)).filter((p) => p >= 0)
      if (open.length === 0) break
      const p = options.random.pick(open)
      const take = options.random.int(1, options.maxChunk)
      const list = byPartition[p]!
      // a rebalance: an already-delivered stretch of this partition again
      const from = options.random.chance(0.1) ? Math.max(0, heads[p]! - options.random.int(1, options.maxChunk)) : heads[p]!
      const chunk = list.slice(from, Math.min(list.length, from + take))
      // the redelivered stretch may also arrive in the same chunk as the first delivery
      if (options.random.chance(0.15)) chunk.push(...chunk.slice(options.random.int(0, chunk.length - 1)))
      chunks.push(chunk)
      heads[p] = Math.max(heads[p]!, Math.min(list.length, from + take))
    }
    return Stream.fromArrays(...chunks)
  }))
  return Source.make({ name, kind: "events", records, commit: (last) => Effect.orDie(commitToTokens(name)(last)) })
}

export interface EventRun {
  readonly seed: number
  readonly partitions: number
  readonly maxChunk: number
  readonly crashes: number
}

/** Folds `log` through `eventSource` with crashes and restarts; reads every pipeline back. */
export const foldEvents = (log: ReadonlyArray<LoggedEvent>, p: EventRun, store: () => Layer.Layer<Services, any>) =>
  Effect.runPromise(Effect.gen(function*() {
    const r = Rand.make(p.seed ^ 0x2545f491)
    const calls = { n: 0 }
    let restarts = 0
    for (let attempt = 0;; attempt++) {
      const plan = attempt < p.crashes
        ? { at: calls.n + r.int(1, 30), mode: r.pick(["before", "after", "partial"] as const) }
        : undefined
      const source = eventSource(log, { partitions: p.partitions, random: r, maxChunk: p.maxChunk })
      const exit = yield* Effect.exit(
        Fold.run(source, eventPipelines, { batchSize: p.maxChunk }).pipe(Effect.provide(crashing(store(), plan, calls)))
      )
      if (Exit.isSuccess(exit)) break
      if (!exit.cause.reasons.some((reason) => reason._tag === "Die" && reason.defect instanceof Crash)) {
        return yield* Effect.failCause(exit.cause)
      }
      restarts++
    }
    const read = Effect.gen(function*() {
      const out: Record<string, { totals: Map<string, number>; deadLetters: number }> = {}
      for (const pipeline of eventPipelines) {
        const all: ReadonlyMap<string, unknown> = yield* (yield* Aggregates).all(pipeline as Pipeline.Pipeline<any, any>)
        const totals = new Map<string, number>()
        for (const [k, v] of all) totals.set(k, Option.isOption(v) ? Option.getOrThrow(v) as number : v as number)
        out[pipeline.name] = { totals, deadLetters: (yield* (yield* DeadLetters).list(pipeline.name)).length }
      }
      return out
    })
    return { pipelines: yield* read.pipe(Effect.provide(store())), restarts }
  }).pipe(Effect.provide(quiet), Effect.scoped))

export const sorted = (m: ReadonlyMap<string, number>) => [...m].filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1))

export const expectExact = (log: ReadonlyArray<LoggedEvent>, result: Awaited<ReturnType<typeof foldEvents>>) => {
  const reference = eventReferences(log)
  for (const pipeline of eventPipelines) {
    const got = result.pipelines[pipeline.name]!
    expect(sorted(got.totals), pipeline.name).toEqual(sorted(reference[pipeline.name]!.totals))
    expect(got.deadLetters, pipeline.name).toBe(reference[pipeline.name]!.deadLetters)
  }
}


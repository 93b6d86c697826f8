/**
 * A pipeline is an immutable description of one aggregation: how to decode a source document,
 * which aggregate key(s) it contributes to, what value it contributes, and which monoid combines
 * the values. The same value runs in bootstrap (snapshot scan) and live (change stream) mode.
 *
 * The mode is part of the type:
 * - a pipeline whose monoid is a {@link Monoid.Group} is a `"changes"` pipeline: it takes updates
 *   and deletes, because the contribution ledger can retract an old contribution by its inverse;
 * - any other monoid (min, max, first/last, sets, ...) gives an `"insertOnly"` pipeline: it takes
 *   snapshot rows and append-only events. Sources of updates and deletes only accept `"changes"`
 *   pipelines, so the compiler refuses to fold a max over a changing collection;
 * - {@link events} makes an `"events"` pipeline, which keeps no ledger at all: each record of an
 *   append-only source (page views, clicks, payments never edited) contributes once per source
 *   position. Memory and store size stay flat in the number of events.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Monoid, Pipeline } from "effect-monoid-streams"
 *
 * const Order = Schema.Struct({ _id: Schema.String, customer_id: Schema.String, amount: Schema.Int })
 * const totals = Pipeline.make("order_totals", {
 *   schema: Order,
 *   key: (o) => o.customer_id,
 *   value: (o) => o.amount,
 *   monoid: Monoid.sum
 * }) // Pipeline<Order, number, "changes">
 * const paidTotals = totals.pipe(Pipeline.filter((o) => o.amount > 0))
 * ```
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import type * as Monoid from "./Monoid.ts"
import * as Window from "./Window.ts"

/**
 * `"changes"`: takes upserts and deletes (group monoid). `"insertOnly"`: takes inserts and events
 * only. `"events"`: takes inserts and events only, with no ledger (see {@link events}).
 *
 * @category models
 * @since 0.1.0
 */
export type Mode = "changes" | "insertOnly" | "events"


/**
 * What one document contributes: the same value to each of its keys.
 *
 * @category models
 * @since 0.1.0
 */
export interface Contribution<V> {
  readonly keys: ReadonlyArray<string>
  readonly value: V
}

/**
 * An aggregation over inputs `In` with values `V`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Pipeline<In, V, M extends Mode = Mode> extends Pipeable {
  readonly _tag: "Pipeline"
  readonly name: string
  readonly mode: M
  /** Decodes a raw source document (a JSON value, a BSON document turned into JSON) into `In`. */
  readonly schema: Schema.Codec<In, any>
  readonly keys: (input: In) => ReadonlyArray<string>
  /** The single key of an input, when the pipeline was built with `key` (a faster path than `keys`). */
  readonly key: ((input: In) => string) | undefined
  readonly value: (input: In) => V
  readonly monoid: M extends "changes" ? Monoid.Group<V> : Monoid.Monoid<V>
  /** Inputs for which this returns `false` contribute nothing (and retract what they contributed). */
  readonly filter: ((input: In) => boolean) | undefined
  /** Set by {@link windowed}: the bucket of each input is part of its aggregate keys. */
  readonly window: Window.Window<In> | undefined
}

/**
 * The options of {@link make}: give `key` for one aggregate key per input, or `keys` for several
 * (hierarchical roll-ups such as `[customer, region, "all"]`).
 *
 * @category models
 * @since 0.1.0
 */
export type Options<In, V, M extends Monoid.Monoid<V>> =
  & {
    readonly schema: Schema.Codec<In, any>
    readonly value: (input: In) => V
    readonly monoid: M
    readonly filter?: (input: In) => boolean
  }
  & ({ readonly key: (input: In) => string } | { readonly keys: (input: In) => ReadonlyArray<string> })

const Proto = {
  _tag: "Pipeline",
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const build = <In, V, M extends Mode>(fields: Omit<Pipeline<In, V, M>, "_tag" | "pipe">): Pipeline<In, V, M> =>
  Object.freeze(Object.assign(Object.create(Proto), fields)) as Pipeline<In, V, M>

const checkName = (name: string, where: string): string => {
  if (name.length === 0) throw new TypeError(`${where}: the name must not be empty`)
  // "@..." scopes belong to the library in the token store (the sources' positions live under "@sources")
  if (name.startsWith("@")) throw new TypeError(`${where}: the name ${JSON.stringify(name)} must not start with "@" (reserved)`)
  return name
}

const isGroup = <V>(m: Monoid.Monoid<V>): m is Monoid.Group<V> => typeof (m as Monoid.Group<V>).inverse === "function"

/**
 * Builds a pipeline. A group monoid gives a `"changes"` pipeline, any other monoid an
 * `"insertOnly"` one. The name must be non-empty and must not start with `@` (the library's own
 * entries in the token store use such names); a bad name throws a `TypeError`, and so does a group
 * not declared commutative (a retraction appends the inverse of the old contribution, which
 * removes it only from a commutative aggregate).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: {
  <In, V>(name: string, options: Options<In, V, Monoid.Group<V>>): Pipeline<In, V, "changes">
  <In, V>(name: string, options: Options<In, V, Monoid.Monoid<V>>): Pipeline<In, V, "insertOnly">
} = <In, V>(name: string, options: Options<In, V, Monoid.Monoid<V>>): Pipeline<In, V, any> => {
  checkName(name, "Pipeline.make")
  if (isGroup(options.monoid) && !options.monoid.commutative) {
    throw new TypeError(
      `Pipeline.make("${name}"): the group's combine is not declared commutative. A change of a document retracts ` +
        `its old contribution by appending the inverse, which removes it only from a commutative aggregate. Declare ` +
        `commutative: true if combine(a, b) equals combine(b, a) (Laws.check tests it), or fold with a monoid that ` +
        `is not a group (an insert-only pipeline)`
    )
  }
  const keys = "keys" in options ? options.keys : ((key) => (input: In) => [key(input)])(options.key)
  return build<In, V, Mode>({
    name,
    mode: isGroup(options.monoid) ? "changes" : "insertOnly",
    schema: options.schema,
    keys,
    key: "key" in options ? options.key : undefined,
    value: options.value,
    monoid: options.monoid as any,
    filter: options.filter,
    window: undefined
  })
}

/**
 * Keeps only the inputs that satisfy `predicate`; a document that stops satisfying it retracts its
 * contribution (in `"changes"` pipelines).
 *
 * @category combinators
 * @since 0.1.0
 */
export const filter = <In>(predicate: (input: In) => boolean) =>
<V, M extends Mode>(self: Pipeline<In, V, M>): Pipeline<In, V, M> => {
  const previous = self.filter
  return build<In, V, M>({
    ...fieldsOf(self),
    filter: previous === undefined ? predicate : (input) => previous(input) && predicate(input)
  })
}

/**
 * Renames a pipeline (the name namespaces its aggregates, ledger and positions in the stores).
 *
 * @category combinators
 * @since 0.1.0
 */
export const rename = (name: string) => <In, V, M extends Mode>(self: Pipeline<In, V, M>): Pipeline<In, V, M> =>
  build<In, V, M>({ ...fieldsOf(self), name: checkName(name, "Pipeline.rename") })

/**
 * Declares a group pipeline insert-only: updates that change a contribution and deletes are
 * dead-lettered instead of retracted. Useful for event streams where a change would be a bug.
 *
 * @category combinators
 * @since 0.1.0
 */
export const insertOnly = <In, V>(self: Pipeline<In, V, Mode>): Pipeline<In, V, "insertOnly"> =>
  build<In, V, "insertOnly">({ ...fieldsOf(self), mode: "insertOnly", monoid: self.monoid })

/**
 * Folds append-only records with no contribution ledger: no entry is read, written or kept per
 * document or event, so memory and store size stay flat however many events are folded, and each
 * batch costs no ledger round trip.
 *
 * What makes it exact is the source's positions instead of document ids. The aggregate store keeps
 * per key and source partition the last position applied (its high-water marks): a batch replayed
 * after a crash or a redelivery, at the same positions, is skipped where it was applied, and a
 * source whose replay is not byte-identical stages its batches (see `Source`). What the ledger
 * would add, and this mode gives up:
 * - an event written twice *at two positions* (a producer's retry that lands twice in a topic)
 *   counts twice; deduplicating by id needs the ledger (keep the pipeline as it is);
 * - updates and deletes cannot be folded: an `"events"` pipeline takes only `"events"` sources
 *   (checked by the types; a hand-built record that updates or deletes is dead-lettered);
 * - next to a snapshot (a bootstrap), a live record that carries a version (Kafka's plain
 *   decoding with `version: "timestamp"`) counts only when it is newer than the handoff; a live
 *   source without versions cannot tell the snapshot's events from later ones, so it must start
 *   where the snapshot ends.
 *
 * Any monoid works (a sum, a max, a HyperLogLog).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Monoid, Pipeline } from "effect-monoid-streams"
 *
 * const views = Pipeline.make("views_per_page", {
 *   schema: Schema.Struct({ page: Schema.String }),
 *   key: (v) => v.page,
 *   value: () => 1,
 *   monoid: Monoid.count
 * }).pipe(Pipeline.events) // Pipeline<{ page: string }, number, "events">
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const events = <In, V>(self: Pipeline<In, V, Mode>): Pipeline<In, V, "events"> =>
  build<In, V, "events">({ ...fieldsOf(self), mode: "events", monoid: self.monoid })

/**
 * Buckets the pipeline's aggregates by event time (see `Window`): each key becomes one aggregate
 * per bucket (`"<key>|<bucket>"`), buckets past the retention expire, and updates that change the
 * event time move their contribution from bucket to bucket. Throws a `RangeError` for an unknown
 * time zone or granularity, or a bad retention.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Monoid, Pipeline } from "effect-monoid-streams"
 *
 * const ordersPerHour = Pipeline.make("orders_per_hour", {
 *   schema: Schema.Struct({ status: Schema.String, created_at: Schema.String }),
 *   key: (o) => o.status,
 *   value: () => 1,
 *   monoid: Monoid.count
 * }).pipe(Pipeline.windowed({ time: (o) => o.created_at, granularity: "hour", retention: "2 days" }))
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const windowed = <In>(options: Window.Options<In>) =>
<V, M extends Mode>(self: Pipeline<In, V, M>): Pipeline<In, V, M> =>
  build<In, V, M>({ ...fieldsOf(self), window: Window.make(options) })

/**
 * `true` for pipelines that keep no ledger (see {@link events}).
 *
 * @category guards
 * @since 0.2.0
 */
export const isEvents = <In, V>(self: Pipeline<In, V, Mode>): self is Pipeline<In, V, "events"> => self.mode === "events"

const fieldsOf = <In, V, M extends Mode>(self: Pipeline<In, V, M>): Omit<Pipeline<In, V, M>, "_tag" | "pipe"> => ({
  name: self.name,
  mode: self.mode,
  schema: self.schema,
  keys: self.keys,
  key: self.key,
  value: self.value,
  monoid: self.monoid,
  filter: self.filter,
  window: self.window
})

const noContribution: Contribution<never> = Object.freeze({ keys: Object.freeze([]) as ReadonlyArray<string>, value: undefined as never })

/**
 * What `input` contributes: its keys and value, or no keys when the filter excludes it. Throws
 * what the key or value function throws, and what the monoid's `check` throws for a value outside
 * its domain (the fold refuses such a document).
 *
 * @category utils
 * @since 0.1.0
 */
export const contribution = <In, V>(self: Pipeline<In, V, Mode>, input: In): Contribution<V> => {
  if (self.filter !== undefined && !self.filter(input)) return noContribution
  const keys = self.keys(input)
  const value = self.value(input)
  self.monoid.check?.(value)
  return { keys, value }
}

/**
 * `true` for pipelines that take updates and deletes.
 *
 * @category guards
 * @since 0.1.0
 */
export const isChanges = <In, V>(self: Pipeline<In, V, Mode>): self is Pipeline<In, V, "changes"> =>
  self.mode === "changes"

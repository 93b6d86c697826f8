/**
 * The aggregate store: one value per (pipeline, key), written idempotently.
 *
 * A batch of the fold reaches the store as one {@link KeyUpdate} per aggregate key: the
 * coalesced delta, the per-partition marks of the batch, and the individual contributions.
 * Each stored aggregate carries a high-water mark per source partition ("every record of this
 * partition up to `seq` is in this value"). A store applies an update so that a replayed batch
 * never counts twice (DESIGN.md §4.2):
 *
 * - fast path: when no stored mark is at or above its partition's `first` (at or before the
 *   update's first contribution from that partition), combine the whole delta and set the marks
 *   to the batch ends, also when the delta is the identity (contributions that cancel out);
 * - otherwise: combine only the contributions above the stored marks (see {@link resolve}), and
 *   raise the marks.
 *
 * The marks of a key whose contributions cancel out must be raised all the same. The ledger
 * entries of a batch are written after its aggregates, but not all at once (item by item on
 * DynamoDB; or a second member reads them while the partition's previous owner is still writing,
 * during a rebalance): a replay can find one document of the batch recorded and another not, and
 * then recomputes only the second one's contribution. Only a mark at or past it tells the store
 * that this contribution is already in the value.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Monoid from "../Monoid.ts"
import type { StoreError } from "./StoreError.ts"

/**
 * The end of a batch in one partition, for one aggregate key.
 *
 * @category models
 * @since 0.1.0
 */
export interface Mark {
  readonly partition: string
  /**
   * A `seq` at or before the first contribution to this key from this partition in the batch (the
   * planner gives the first record of the partition in the batch, so that keys can share marks).
   * A stored mark below it means none of the update was applied.
   */
  readonly first: number
  /** `seq` of the last record of this partition in the batch. */
  readonly last: number
}

/**
 * One record's delta to one key.
 *
 * @category models
 * @since 0.1.0
 */
export interface Contribution<V> {
  readonly partition: string
  readonly seq: number
  readonly delta: V
}

/**
 * Everything a batch does to one aggregate key.
 *
 * @category models
 * @since 0.1.0
 */
export interface KeyUpdate<V> {
  readonly key: string
  /** The combination of every contribution, in batch order (the identity when they cancel out). */
  readonly delta: V
  readonly marks: ReadonlyArray<Mark>
  /** In batch order; used only when part of the batch is already applied. */
  readonly contributions: ReadonlyArray<Contribution<V>>
  /**
   * When the key's aggregate expires (ms since the epoch): a windowed pipeline's bucket, past its
   * retention. Stores drop it then, and never return it after. `undefined`: never.
   */
  readonly expiresAt?: number | undefined
}

/**
 * What a store needs to know about the pipeline it writes for.
 *
 * @category models
 * @since 0.1.0
 */
export interface Target<V> {
  readonly name: string
  readonly monoid: Monoid.Monoid<V>
}

/**
 * Counts of one `apply` call.
 *
 * @category models
 * @since 0.1.0
 */
export interface ApplyStats {
  /** Keys written (the value, or only the marks when the contributions cancel out). */
  readonly written: number
  /** Keys whose whole update was already applied (a replay). */
  readonly skipped: number
  /** Keys where only part of the update was applied before (a replay with other batch boundaries). */
  readonly partial: number
}

/**
 * @category services
 * @since 0.1.0
 */
export class Aggregates extends Context.Service<Aggregates, {
  /** Applies a batch of per-key updates idempotently (see the module doc). */
  readonly apply: <V>(target: Target<V>, updates: ReadonlyArray<KeyUpdate<V>>) => Effect.Effect<ApplyStats, StoreError>
  /** Reads the current values of `keys`; missing keys are absent from the map. */
  readonly get: <V>(target: Target<V>, keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, V>, StoreError>
  /** Reads every aggregate of a pipeline (for reports and tests; may be a full scan). */
  readonly all: <V>(target: Target<V>) => Effect.Effect<ReadonlyMap<string, V>, StoreError>
  /**
   * The largest item the store can write, in bytes, when it has a limit (DynamoDB: 400 KB). The
   * fold refuses, before it writes anything, a pipeline whose monoid's values could outgrow it
   * (`Monoid.maxEncodedSize`).
   */
  readonly itemLimit?: number | undefined
}>()("effect-monoid-streams/Aggregates") {}

/**
 * The part of an update that is not yet in a stored value whose marks are `hw`.
 *
 * Returns `undefined` when nothing is left to apply (all of it is in the store already). `fast` is
 * `true` when the whole update is new: then the delta is applied and the marks raised even when
 * the delta is the identity (see the module doc).
 * Every store uses this, so replay semantics are the same everywhere.
 *
 * @category replay rules
 * @since 0.1.0
 */
export const resolve = <V>(
  monoid: Monoid.Monoid<V>,
  update: KeyUpdate<V>,
  hw: (partition: string) => number | undefined
): { readonly delta: V; readonly fast: boolean } | undefined => {
  let fresh = true
  for (const mark of update.marks) {
    const applied = hw(mark.partition)
    if (applied !== undefined && applied >= mark.first) {
      fresh = false
      break
    }
  }
  if (fresh) return { delta: update.delta, fast: true }
  let delta: V | undefined = undefined
  for (const c of update.contributions) {
    const applied = hw(c.partition)
    if (applied !== undefined && c.seq <= applied) continue
    delta = delta === undefined ? c.delta : monoid.combine(delta, c.delta)
  }
  return delta === undefined ? undefined : { delta, fast: false }
}

/**
 * The marks after applying `update` over marks `hw`: each partition's mark raised to the batch end.
 *
 * @category replay rules
 * @since 0.1.0
 */
export const raiseMarks = (
  hw: Readonly<Record<string, number>>,
  marks: ReadonlyArray<Mark>
): Record<string, number> => {
  // null prototype: a partition may be named "__proto__" (a valid Kafka topic name)
  const next: Record<string, number> = Object.assign(Object.create(null), hw)
  for (const mark of marks) {
    const current = next[mark.partition]
    if (current === undefined || current < mark.last) next[mark.partition] = mark.last
  }
  return next
}

/**
 * Reconciliation: recompute a pipeline's aggregates from the source of truth, independently of the
 * store, and compare them with what the store holds. The check operators run after an incident (a
 * restored backup, a worker that ran with a bug, a store written by hand).
 *
 * The expected aggregates are computed here, without the fold, the ledger or the store: each
 * document of the rescan is decoded with the pipeline's own schema, filtered with its filter, and its
 * value combined into each of its keys (windowed pipelines: into its bucket's key, buckets past
 * their retention left out). A document the pipeline refuses contributes nothing, as in the fold.
 * Keys are then compared with `Equal.equals`; a stored key whose value is the monoid's identity
 * (contributions that cancelled out) counts as absent.
 *
 * The rescan reads the documents as they are now: run `verify` when the live worker has caught up
 * (or is stopped), or a key changed in between shows up as a difference. It is meant for
 * `"changes"` pipelines, whose aggregates depend only on each document's latest state.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import * as Verify from "effect-monoid-streams/Verify"
 *
 * const documents = Stream.make({ _id: "o1", customer_id: "c1", amount: 5 })
 * const report = Verify.run(orderTotals, documents) // Effect<Report, StoreError, Aggregates>
 * const checked = Effect.flatMap(report, Verify.check) // fails with DifferencesFound on any difference
 * ```
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { dual } from "effect/Function"
import { equals } from "../Equal.ts"
import type * as Monoid from "../Monoid.ts"
import type { Mode, Pipeline } from "../Pipeline.ts"
import { Aggregates } from "../Store/Aggregates.ts"
import type { StoreError } from "../Store/StoreError.ts"
import * as Contribution from "./internal/contribution.ts"

/**
 * One key whose stored value is not the expected one. `undefined`: absent (or the identity).
 *
 * @category models
 * @since 0.2.0
 */
export interface Difference<V> {
  readonly key: string
  readonly expected: V | undefined
  readonly stored: V | undefined
}

/**
 * The aggregates a rescan gives: per key, the combination of every document's contribution.
 *
 * @category models
 * @since 0.2.0
 */
export interface Expected<V> {
  readonly values: ReadonlyMap<string, V>
  /** Documents read. */
  readonly documents: number
  /** Documents the pipeline refuses (schema, event time, key or value function): they contribute nothing. */
  readonly refused: number
}

/**
 * What a verification found.
 *
 * @category models
 * @since 0.2.0
 */
export interface Report<V> {
  readonly pipeline: string
  readonly documents: number
  readonly refused: number
  /** Keys with a value other than the identity, by the rescan and in the store. */
  readonly expectedKeys: number
  readonly storedKeys: number
  /** Every key that differs, sorted by key. */
  readonly differences: ReadonlyArray<Difference<V>>
}

/**
 * The store does not hold what the source of truth gives.
 *
 * @category errors
 * @since 0.2.0
 */
export class DifferencesFound extends Data.TaggedError("DifferencesFound")<{
  readonly pipeline: string
  readonly count: number
}> {
  override get message(): string {
    return `pipeline ${this.pipeline}: ${this.count} aggregate key${this.count === 1 ? "" : "s"} differ${this.count === 1 ? "s" : ""} from the source of truth`
  }
}

/**
 * The aggregates of `pipeline` over `documents` (raw documents as exact JSON, as a source gives
 * them), computed without the store.
 *
 * @category computing
 * @since 0.2.0
 */
export const expected = <In, V, E, R>(
  pipeline: Pipeline<In, V, Mode>,
  documents: Stream.Stream<unknown, E, R>
): Effect.Effect<Expected<V>, E, R> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const monoid = pipeline.monoid
    return Stream.runFold(documents, () => ({ values: new Map<string, V>(), documents: 0, refused: 0 }), (acc, doc) => {
      acc.documents++
      const contribution = Contribution.of(pipeline, doc, now)
      if (Contribution.isRefusal(contribution)) acc.refused++
      else {
        for (const key of contribution.keys) {
          const current = acc.values.get(key)
          acc.values.set(key, current === undefined ? contribution.value : monoid.combine(current, contribution.value))
        }
      }
      return acc
    })
  })

const isIdentity = <V>(monoid: Monoid.Monoid<V>, value: V | undefined): boolean => value === undefined || equals(value, monoid.empty)

/**
 * Every key whose value differs between `expected` and `stored`, sorted by key (a value equal to the
 * monoid's identity counts as absent).
 *
 * @category comparing
 * @since 0.2.0
 */
export const compare = <V>(
  monoid: Monoid.Monoid<V>,
  expected: ReadonlyMap<string, V>,
  stored: ReadonlyMap<string, V>
): ReadonlyArray<Difference<V>> => {
  const keys = new Set([...expected.keys(), ...stored.keys()])
  const out: Array<Difference<V>> = []
  for (const key of keys) {
    const e = expected.get(key)
    const s = stored.get(key)
    const eAbsent = isIdentity(monoid, e)
    const sAbsent = isIdentity(monoid, s)
    if (eAbsent && sAbsent) continue
    if (!eAbsent && !sAbsent && equals(e, s)) continue
    out.push({ key, expected: eAbsent ? undefined : e, stored: sAbsent ? undefined : s })
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

const countPresent = <V>(monoid: Monoid.Monoid<V>, values: ReadonlyMap<string, V>): number => {
  let n = 0
  for (const v of values.values()) if (!isIdentity(monoid, v)) n++
  return n
}

/**
 * Rescans `documents`, reads every aggregate of `pipeline` from the store, and reports the keys
 * that differ.
 *
 * @category running
 * @since 0.2.0
 */
export const run: {
  <E, R>(documents: Stream.Stream<unknown, E, R>): <In, V>(pipeline: Pipeline<In, V, Mode>) => Effect.Effect<Report<V>, E | StoreError, R | Aggregates>
  <In, V, E, R>(pipeline: Pipeline<In, V, Mode>, documents: Stream.Stream<unknown, E, R>): Effect.Effect<Report<V>, E | StoreError, R | Aggregates>
} = dual(2, <In, V, E, R>(pipeline: Pipeline<In, V, Mode>, documents: Stream.Stream<unknown, E, R>) =>
  Effect.gen(function*() {
    const scan = yield* expected(pipeline, documents)
    const stored = yield* (yield* Aggregates).all(pipeline)
    return {
      pipeline: pipeline.name,
      documents: scan.documents,
      refused: scan.refused,
      expectedKeys: countPresent(pipeline.monoid, scan.values),
      storedKeys: countPresent(pipeline.monoid, stored),
      differences: compare(pipeline.monoid, scan.values, stored)
    } satisfies Report<V>
  }).pipe(Effect.withSpan("Verify.run", { attributes: { pipeline: pipeline.name } })))

/**
 * Fails with {@link DifferencesFound} when the report has differences.
 *
 * @category running
 * @since 0.2.0
 */
export const check = <V>(report: Report<V>): Effect.Effect<Report<V>, DifferencesFound> =>
  report.differences.length === 0
    ? Effect.succeed(report)
    : Effect.fail(new DifferencesFound({ pipeline: report.pipeline, count: report.differences.length }))

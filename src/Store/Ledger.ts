/**
 * The contribution ledger: for each source document, what it currently contributes (its keys and
 * value) and the version of the state that contribution came from (DESIGN.md §4.1).
 *
 * A change is folded as `contribution(new) - contribution(ledger)` on the old and new keys, and
 * only when its version is newer than the ledger's. Redelivered changes fold to nothing,
 * out-of-date ones are skipped, deletes retract, and a move to another key subtracts from the old
 * key and adds to the new one. Deleted documents stay in the ledger as entries without keys, so
 * that a late, older upsert of the same document is recognised as stale.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { Version } from "../Version.ts"
import type { Target } from "./Aggregates.ts"
import type { StoreError } from "./StoreError.ts"

/**
 * What one document contributes, as of `version`. No keys: it contributes nothing (deleted or
 * filtered out), and `value` is meaningless.
 *
 * @category models
 * @since 0.1.0
 */
export interface Entry<V> {
  readonly keys: ReadonlyArray<string>
  readonly value: V
  readonly version: Version
  /**
   * The fields of the document the pipeline reads, as exact JSON, kept when the fold runs with
   * `keepDocuments` (so that an update given as a patch can be applied); absent otherwise, and for
   * a deleted document.
   */
  readonly doc?: unknown
}

/**
 * @category services
 * @since 0.1.0
 */
export class Ledger extends Context.Service<Ledger, {
  /**
   * The entry of each of `docIds`, in the same order (`undefined` where a document has none): the
   * fold reads them by position, with no look-up by id.
   */
  readonly get: <V>(target: Target<V>, docIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Entry<V> | undefined>, StoreError>
  /**
   * Writes entries, each only if its version is newer than the stored one (a concurrent or
   * replayed writer never moves an entry back).
   */
  readonly put: <V>(target: Target<V>, entries: ReadonlyMap<string, Entry<V>>) => Effect.Effect<void, StoreError>
}>()("effect-monoid-streams/Ledger") {}

/**
 * Store transactions: an optional service of a store that can make several of its writes one
 * atomic unit. The fold writes each batch's dead letters, aggregates and ledger entries (of every
 * pipeline) and, for a source that stages, the staged batch through `withTransaction` when the
 * store provides it, then commits the source's position after it; otherwise each store call is
 * its own unit, as the fold's protocol allows (idempotent aggregate writes, version-guarded
 * ledger, positions committed last).
 *
 * The embedded store provides it: one SQLite transaction, so one commit (one `fsync` with
 * `durability: "full"`) a batch instead of one per store call, and a crash leaves a batch either
 * wholly applied to every pipeline or not at all.
 *
 * It must come from the store that holds the aggregates and the ledger. A layer that wraps a
 * store's services (to count or time its calls) and builds a context of its own must add the
 * store's `Transactions` to it (`Effect.serviceOption(Transactions)`), or the fold quietly goes
 * back to a transaction a call.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { StoreError } from "./StoreError.ts"

/**
 * @category services
 * @since 0.2.0
 */
export class Transactions extends Context.Service<Transactions, {
  /**
   * Runs `effect` with every write it makes through this store's services in one transaction:
   * committed when it succeeds, rolled back when it fails, dies or is interrupted. Other callers of
   * the store wait until it ends, so nobody reads its writes before they are committed. Called
   * inside a transaction of the same store, it runs `effect` as part of that one.
   */
  readonly withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
}>()("effect-monoid-streams/Transactions") {}

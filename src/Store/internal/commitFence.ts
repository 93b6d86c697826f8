/**
 * The check a store whose writes are not fenced one by one makes before the fold commits a batch
 * (see `Generations`): the commit fails when a pipeline's generation moved or was sealed since
 * the fold bound it, so that what a rebuild has not read is not committed past.
 *
 * DynamoDB writes aggregates and ledger entries without reading the generation pointer; the fold
 * checks it once per batch, after the batch's writes and before its commit, whether the source
 * commits through the token store (a change stream) or elsewhere (a Kafka consumer group). The
 * memory and embedded stores check in every write and provide none.
 *
 * @internal
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { StoreError } from "../StoreError.ts"

export class CommitFence extends Context.Service<CommitFence, {
  readonly check: Effect.Effect<void, StoreError>
}>()("effect-monoid-streams/CommitFence") {}

/**
 * Set by the fold around a commit it has checked through the {@link CommitFence}, so that the
 * store's token writes of that commit need not read the pointer again. A store layer rebuilt
 * without the fence (a wrapper that keeps only the four store services) leaves it unset, and the
 * token store checks position commits itself.
 */
export const Checked = Context.Reference<boolean>("effect-monoid-streams/CommitFence/Checked", { defaultValue: () => false })

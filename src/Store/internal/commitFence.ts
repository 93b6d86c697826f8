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

/**
 * The dead-letter sink: every record the fold cannot apply lands here with its raw text and the
 * reason, before its position is committed. Nothing is dropped silently.
 *
 * Writes are idempotent per (pipeline, partition, seq) where the store allows it, so a replayed
 * batch does not duplicate its dead letters.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { StoreError } from "./StoreError.ts"

/**
 * One record that could not be applied.
 *
 * @category models
 * @since 0.1.0
 */
export interface DeadLetter {
  readonly pipeline: string
  readonly partition: string
  readonly seq: number
  readonly docId?: string | undefined
  /** The raw record key, when the source has one. */
  readonly key?: string | undefined
  readonly raw: string
  readonly reason: string
  /** Milliseconds since the epoch, when it was dead-lettered. */
  readonly at: number
}

/**
 * @category services
 * @since 0.1.0
 */
export class DeadLetters extends Context.Service<DeadLetters, {
  readonly write: (records: ReadonlyArray<DeadLetter>) => Effect.Effect<void, StoreError>
  readonly list: (pipeline: string) => Effect.Effect<ReadonlyArray<DeadLetter>, StoreError>
}>()("effect-monoid-streams/DeadLetters") {}

/**
 * The typed failures of a run. The stores' failure, `StoreError`, is its own module
 * (`StoreError`), beside the store services.
 *
 * Decode failures are not errors of the run: they become dead letters and the run goes on.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A source cannot be read (a file is missing, a broker or server refuses, a cursor died).
 * `retryable` errors are retried by sources that can reconnect.
 *
 * @category errors
 * @since 0.1.0
 */
export class SourceError extends Data.TaggedError("SourceError")<{
  readonly source: string
  readonly retryable: boolean
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const cause = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `source ${this.source}: ${this.detail}${cause}`
  }
}

/**
 * The saved live position can no longer be used (MongoDB `ChangeStreamHistoryLost`, an invalid or
 * expired resume token, a Kafka offset out of range with no reset allowed). The aggregates are
 * still consistent up to that position; run the bootstrap again to reconcile (with the ledger, a
 * re-scan retracts documents that disappeared meanwhile).
 *
 * @category errors
 * @since 0.1.0
 */
export class PositionLost extends Data.TaggedError("PositionLost")<{
  readonly source: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `source ${this.source}: the saved position can no longer be resumed (${this.detail}); re-run the bootstrap to reconcile`
  }
}

/**
 * The live stream ended for good (a dropped or renamed collection: MongoDB `invalidate`).
 *
 * @category errors
 * @since 0.1.0
 */
export class StreamInvalidated extends Data.TaggedError("StreamInvalidated")<{
  readonly source: string
  readonly detail: string
}> {
  override get message(): string {
    return `source ${this.source}: the change stream was invalidated (${this.detail})`
  }
}

/**
 * The pipeline itself failed on a batch: an aggregate left the range of its monoid (an integer
 * sum past 2^53: use `Monoid.sumBigInt`), or a pipeline function threw in a way that is not about
 * one record.
 *
 * @category errors
 * @since 0.1.0
 */
export class PipelineError extends Data.TaggedError("PipelineError")<{
  readonly pipeline: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const cause = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `pipeline ${this.pipeline}: ${this.detail}${cause}`
  }
}

/**
 * The run was configured in a way that cannot work (a missing setting, a bad position text).
 *
 * @category errors
 * @since 0.1.0
 */
export class ConfigurationError extends Data.TaggedError("ConfigurationError")<{
  readonly detail: string
}> {
  override get message(): string {
    return this.detail
  }
}

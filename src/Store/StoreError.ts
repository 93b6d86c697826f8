/**
 * The error every store operation fails with.
 *
 * `retryable` tells the runtime whether to retry on its `Schedule` (throttling, timeouts, a
 * server that is down for a while) or to fail the run at once (a missing table, bad credentials,
 * a value the store cannot encode).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * @category errors
 * @since 0.1.0
 */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly store: string
  readonly operation: string
  readonly retryable: boolean
  readonly cause?: unknown
  readonly detail?: string
}> {
  override get message(): string {
    const cause = this.cause instanceof Error ? `: ${this.cause.message}` : this.cause === undefined ? "" : `: ${describe(this.cause)}`
    return `${this.store}.${this.operation} failed${this.retryable ? " (retryable)" : ""}${this.detail === undefined ? "" : ` (${this.detail})`}${cause}`
  }
}

const describe = (u: unknown): string => {
  try {
    return String(u)
  } catch {
    // objects without a string form (a null-prototype record, say)
    try {
      return JSON.stringify(u) ?? "an unprintable value"
    } catch {
      return "an unprintable value"
    }
  }
}

/**
 * Retries of a store call a source makes by itself, outside the fold's `retrying`: the first read
 * of its committed position, when its records stream starts. Every store call of the fold rides a
 * transient error (a connection reset, throttling, a timeout) out on the fold's schedule; without
 * this, one such error on that first read would fail the whole run at once. The schedule is the
 * fold's default too (`Fold.defaultRetry`): exponential from 100 ms, capped at 5 s, jittered, for
 * up to 2 minutes; a non-retryable error, and one the schedule gave up on, pass through. It lives
 * here because `Source` does not import the runtime (the fold is built on sources, not the other
 * way round).
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { StoreError } from "../Store/StoreError.ts"

/** The store retry policy of sources and the fold (`Fold.defaultRetry`), bounded. */
export const schedule: Schedule.Schedule<Duration.Duration, unknown> = Schedule.min([
  Schedule.exponential("100 millis"),
  Schedule.spaced("5 seconds")
]).pipe(Schedule.jittered, Schedule.upTo({ duration: "2 minutes" }))

/**
 * Retries an effect's retryable `StoreError`s on `on` (default {@link schedule}); other errors, and
 * a `StoreError` the schedule gave up on, pass through (`Fold.retrying`).
 */
export const retryingOn = (on: Schedule.Schedule<any, unknown> = schedule) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(effect, {
    schedule: on,
    while: (e: E) => (e as { _tag?: string })._tag === "StoreError" && (e as unknown as StoreError).retryable
  }) as Effect.Effect<A, E, R>

/** `effect`, its retryable `StoreError`s retried on {@link schedule}. */
export const retrying: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = retryingOn()

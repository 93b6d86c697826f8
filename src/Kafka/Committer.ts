/**
 * Pipelined offset commits: a commit runs in the background while the fold applies the next
 * batch, and the next commit first waits for it, so commits stay in order and at most one is in
 * flight. A commit only ever names records the fold has applied, so committing later (or losing
 * a commit in a crash) can only make the next owner read applied records again, which the store's
 * high-water marks and the ledger make harmless. It removes one broker round trip per batch from
 * the fold's critical path.
 *
 * A background commit that fails for good fails `failed`, which the source's stream watches, so the
 * run still fails with the error even when no further batch arrives.
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Exit, Fiber } from "effect"
import type { SourceError } from "../Errors.ts"

/**
 * @since 0.1.0
 */
export interface Committer {
  /** Waits for the commit in flight (failing with its error), then starts `commit` in the background. */
  readonly submit: (commit: Effect.Effect<void, SourceError>) => Effect.Effect<void, SourceError>
  /** Waits for the commit in flight, if any (its failure is in `failed`). */
  readonly flush: Effect.Effect<void>
  /** Fails with the error of a background commit that failed. */
  readonly failed: Effect.Effect<never, SourceError>
}

/**
 * @since 0.1.0
 */
export const make: Effect.Effect<Committer> = Effect.gen(function*() {
  const failure = yield* Deferred.make<never, SourceError>()
  let inflight: Fiber.Fiber<void, SourceError> | undefined
  const awaitInflight = Effect.suspend(() => (inflight === undefined ? Effect.succeed(Exit.void) : Fiber.await(inflight)))
  return {
    submit: (commit) =>
      Effect.gen(function*() {
        const previous = yield* awaitInflight
        if (Exit.isFailure(previous)) return yield* Effect.failCause(previous.cause)
        inflight = yield* Effect.forkDetach(commit.pipe(Effect.tapError((e) => Deferred.fail(failure, e))))
      }),
    flush: Effect.asVoid(awaitInflight),
    failed: Deferred.await(failure)
  }
})

/**
 * Coalesced background offset commits. The fold hands over the offsets of each applied batch and
 * goes on at once; one commit at a time runs in the background, and offsets handed over while it
 * runs are merged (the latest offset of each partition wins) into the next one.
 *
 * Why this is safe: a commit only ever names records the fold has applied, so committing later, or
 * losing a commit in a crash, can only make the next owner read applied records again, which the
 * store's high-water marks and the ledger make harmless. Why it matters: a consumer's commit shares
 * the broker connection with its long-polling fetch, so a commit can wait for the fetch in flight;
 * awaiting it in the fold's path halved the throughput.
 *
 * A background commit that fails for good fails `failed`, which the source's stream watches, so the
 * run still fails with that error. `flush` waits for everything handed over to be committed (the
 * source runs it before the member leaves the group).
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { SourceError } from "../../Errors.ts"
import * as Port from "../KafkaPort.ts"

/**
 * @since 0.1.0
 */
export interface Committer {
  /** Hands over the offsets of applied records; returns at once (fails only after a background failure). */
  readonly submit: (consumer: Port.Consumer, offsets: ReadonlyArray<Port.CommitOffset>) => Effect.Effect<void, SourceError>
  /** Waits until everything handed over is committed or refused (or a commit failed). */
  readonly flush: Effect.Effect<void>
  /** Fails with the error of a background commit that failed for good. */
  readonly failed: Effect.Effect<never, SourceError>
}

/**
 * A committer that commits with `commitNow` (which retries on its own schedule).
 *
 * @since 0.1.0
 */
export const make = (
  commitNow: (consumer: Port.Consumer, offsets: ReadonlyArray<Port.CommitOffset>) => Effect.Effect<void, SourceError>
): Effect.Effect<Committer> =>
  Effect.gen(function*() {
    const failure = yield* Deferred.make<never, SourceError>()
    let pending: { consumer: Port.Consumer; offsets: Map<string, Port.CommitOffset> } | undefined
    let idle = yield* Deferred.make<void>()
    yield* Deferred.succeed(idle, undefined)
    let running = false

    const loop: Effect.Effect<void> = Effect.gen(function*() {
      while (pending !== undefined) {
        const { consumer, offsets } = pending
        pending = undefined
        const exit = yield* Effect.exit(commitNow(consumer, Array.from(offsets.values())))
        if (exit._tag === "Failure") {
          yield* Deferred.failCause(failure, exit.cause)
          pending = undefined
        }
      }
    }).pipe(Effect.ensuring(Effect.suspend(() => {
      running = false
      return Deferred.succeed(idle, undefined)
    })))

    const submit = (consumer: Port.Consumer, offsets: ReadonlyArray<Port.CommitOffset>) =>
      Effect.gen(function*() {
        if (Deferred.isDoneUnsafe(failure)) return yield* Deferred.await(failure)
        // a new consumer (after a reconnect) starts a new set: the old one's offsets would be refused
        if (pending === undefined || pending.consumer !== consumer) pending = { consumer, offsets: new Map() }
        for (const o of offsets) pending.offsets.set(Port.partitionName(o), o)
        if (running) return
        running = true
        idle = yield* Deferred.make<void>()
        yield* Effect.forkDetach(loop)
      })

    return {
      submit,
      flush: Effect.suspend(() => Deferred.await(idle)),
      failed: Deferred.await(failure)
    }
  })

/**
 * The handoff between bootstrap and live (DESIGN.md §4.4).
 *
 * Before the snapshot scan starts, the live position P0 is captured: its version (every snapshot
 * row gets it, so a live change at or before P0 is recognised as already in the snapshot), and
 * whatever the live source needs to start there (a resume token, a cluster time, Kafka offsets).
 * The runtime persists it in the token store with the bootstrap's progress, so a restarted
 * bootstrap keeps the same P0 and the live source starts where the scan began. No gap (everything
 * after P0 is replayed), no double count (the ledger skips what the snapshot already holds).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Version } from "./Version.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Handoff {
  /** The version snapshot rows carry. */
  readonly version: Version
  /** Where the live source starts (JSON; source-specific). */
  readonly live: unknown
  /** Milliseconds since the epoch, when it was captured. */
  readonly capturedAt: number
}

/**
 * A handoff at a known version, for sources that start live from their own beginning (a file, a
 * Kafka topic read from its earliest offsets). `capturedAt` is informational (logs, status); it
 * is `0` unless given. {@link at} stamps it with the `Clock`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const atVersion = (version: Version, live: unknown = null, capturedAt = 0): Handoff => ({
  version,
  live,
  capturedAt
})

/**
 * {@link atVersion}, captured now by the `Clock` (so `TestClock` controls it in tests).
 *
 * @example
 * ```ts
 * import * as Handoff from "effect-monoid-streams/Handoff"
 * import * as Version from "effect-monoid-streams/Version"
 *
 * const handoff = Handoff.at(Version.make(1700000000000, 0)) // Effect<Handoff>
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const at = (version: Version, live: unknown = null): Effect.Effect<Handoff> =>
  Effect.map(Clock.currentTimeMillis, (now) => atVersion(version, live, now))

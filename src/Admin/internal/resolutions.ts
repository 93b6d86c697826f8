/**
 * Where the admin commands record that a dead letter was resolved by a replay: one token per dead
 * letter, in the scope {@link scope}, named by its pipeline and id (`<partition>#<seq>`). The
 * dead-letter sink itself is append-only (`DeadLetters` has no delete), so the record of what was
 * resolved lives beside it, in the token store every store has. The scope is the library's own
 * (`@`), outside every pipeline's generations: a rebootstrap drops the old generation's tokens,
 * and the dead letters, which it keeps, must keep their resolutions.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** The token scope of every resolution. */
export const scope = "@dead-letter-resolutions"

/** The token name of the resolution of dead letter `id` of `pipeline`. */
export const tokenName = (pipeline: string, id: string): string => JSON.stringify([pipeline, id])

/** Where resolutions were kept before: the pipeline's own scope, which a rebootstrap drops (read only). */
export const legacyTokenName = (id: string): string => `dead-letter:${id}`

/** How a replay resolved a dead letter. */
export interface Resolution {
  /** `"folded"`: the document's current state was folded; `"deleted"`: the document is gone, its contribution retracted. */
  readonly outcome: "folded" | "deleted"
  /** The version the replay folded the document's current state at. */
  readonly version: readonly [number, number]
  /** When (ms since the epoch). */
  readonly at: number
}

const ResolutionJson = Schema.Struct({
  outcome: Schema.Literals(["folded", "deleted"]),
  version: Schema.Tuple([Schema.Finite, Schema.Finite]),
  at: Schema.Finite
})

const decodeJson = Schema.decodeUnknownOption(ResolutionJson)

/** A saved resolution, or `undefined` when the value is not one. */
export const decode = (u: unknown): Resolution | undefined => Option.getOrUndefined(decodeJson(u))

/**
 * Where the admin commands record that a dead letter was resolved by a replay: one token per dead
 * letter, in the scope of its pipeline, named `dead-letter:<partition>#<seq>` (the dead letter's
 * id). The dead-letter sink itself is append-only (`DeadLetters` has no delete), so the record of
 * what was resolved lives beside it, in the token store every store has.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** The token name of the resolution of dead letter `id`. */
export const tokenName = (id: string): string => `dead-letter:${id}`

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

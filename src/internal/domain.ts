/**
 * The reasons a document's contribution is refused for what its pipeline's functions returned
 * (a value outside its monoid's domain, a key that is not a string), the same in the planner and
 * in the admin operations' reference computation.
 *
 * @internal
 */
import { errorText } from "./errorText.ts"

/** Why a document whose value the monoid's check threw `error` for contributes nothing. */
export const outsideDomain = (error: unknown): string => `the value is outside the monoid's domain: ${errorText(error)}`

/** Why a document whose key function gave `key`, not a string, contributes nothing (a key function that escaped its type). */
export const notAKey = (key: unknown): string => `the pipeline's key function returned ${key === null ? "null" : typeof key}, not a string`

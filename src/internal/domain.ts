/**
 * The reason a value outside its monoid's domain (`Monoid.check`) gives, the same in the planner
 * and in the admin operations' reference computation.
 *
 * @internal
 */
import { errorText } from "./errorText.ts"

/** Why a document whose value the monoid's check threw `error` for contributes nothing. */
export const outsideDomain = (error: unknown): string => `the value is outside the monoid's domain: ${errorText(error)}`

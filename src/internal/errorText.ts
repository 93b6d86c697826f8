/**
 * What was thrown, as text: an `Error`'s message, anything else as `String` gives it (a thrown
 * string, a number). For reasons in dead letters and error details.
 *
 * @internal
 */
export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

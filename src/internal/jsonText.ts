/**
 * A value as JSON text for a dead letter's raw input, whatever it holds: bigints as their digits,
 * and `String(value)` for what JSON cannot write (a cycle, `undefined`).
 *
 * @internal
 */
export const jsonText = (value: unknown): string => {
  try {
    return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * How many keys hold something: whose aggregate is not the monoid's identity. A key retracted to
 * the identity keeps its row in the store; admin status and the server's gauge count it out alike.
 *
 * @internal
 */
import { equals } from "../Equal.ts"

/** @internal */
export const heldKeys = (values: ReadonlyMap<string, unknown>, empty: unknown): number => {
  let held = 0
  for (const value of values.values()) if (!equals(value, empty)) held++
  return held
}

/**
 * `@effect/vitest` helpers for the law kit: one line per instance registers one test per
 * applicable law (named `"<name>: <law>"`), each throwing the `LawError` when the law fails.
 *
 * @example
 * ```ts
 * import { describe } from "@effect/vitest"
 * import * as fc from "fast-check"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 * import { lawsFor } from "effect-monoid-streams/vitest"
 *
 * describe("my monoids", () => {
 *   lawsFor("sum", Monoid.sum, fc.integer({ min: -1e9, max: 1e9 }))
 * })
 * ```
 *
 * @since 0.1.0
 */
import { it } from "@effect/vitest"
import type * as fc from "fast-check"
import * as Laws from "../Laws.ts"
import type * as Monoid from "../Monoid.ts"

/**
 * Registers one `it` per law that applies to `instance` (identity, associativity, plus
 * commutativity when claimed and inverses for groups), named `"<name>: <law>"`. Each test runs
 * the law's property and throws `Laws.LawError` on failure. `name` is also the instance name in
 * the error messages unless `options.name` is given.
 *
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 * import { lawsFor } from "effect-monoid-streams/vitest"
 *
 * lawsFor("bigint sum", Monoid.sumBigInt, fc.bigInt(), { numRuns: 500 })
 * ```
 *
 * @category testing
 * @since 0.1.0
 */
export const lawsFor = <A>(
  name: string,
  instance: Monoid.Monoid<A>,
  arbitrary: fc.Arbitrary<A>,
  options?: Laws.Options<A>
): void => {
  const all = Laws.laws(instance, arbitrary, { ...options, name: options?.name ?? name })
  for (const law of all) {
    it(`${name}: ${law.name}`, () => {
      law.run()
    })
  }
}

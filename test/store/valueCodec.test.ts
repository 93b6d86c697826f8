/**
 * The stores' value codec: every number, `-0` and the non-finite ones included, reads back as
 * the same value (`Object.is`), alone and inside the containers values are built from.
 */
import fc from "fast-check"
import { Option } from "effect"
import { describe, expect, it } from "vitest"
import * as ValueCodec from "../../src/internal/valueCodec.ts"

const numbers = fc.oneof(fc.double(), fc.constantFrom(-0, 0, Number.NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MAX_VALUE))

describe("ValueCodec", () => {
  it("reads back every number as the same value, -0 included", () => {
    fc.assert(fc.property(numbers, (n) => {
      expect(Object.is(ValueCodec.decode<number>(ValueCodec.encode(n)), n)).toBe(true)
      const nested = ValueCodec.decode<{ a: ReadonlyArray<number>; o: Option.Option<number> }>(ValueCodec.encode({ a: [n], o: Option.some(n) }))
      expect(Object.is(nested.a[0], n)).toBe(true)
      expect(Object.is(Option.getOrThrow(nested.o), n)).toBe(true)
      expect(Object.is(ValueCodec.fromJson(JSON.parse(JSON.stringify(ValueCodec.toJson(n)))), n)).toBe(true)
    }), { numRuns: 2000 })
  })
})

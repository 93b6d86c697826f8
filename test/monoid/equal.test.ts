import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import * as fc from "fast-check"
import { equals } from "../../src/Equal.ts"

describe("Equal.equals", () => {
  it("primitives: Object.is, except +0 equals -0", () => {
    expect(equals(1, 1)).toBe(true)
    expect(equals(1, 2)).toBe(false)
    expect(equals(0, -0)).toBe(true)
    expect(equals(Number.NaN, Number.NaN)).toBe(true)
    expect(equals(Number.NaN, 0)).toBe(false)
    expect(equals("a", "a")).toBe(true)
    expect(equals("a", "b")).toBe(false)
    expect(equals(1, "1")).toBe(false)
    expect(equals(null, undefined)).toBe(false)
    expect(equals(null, null)).toBe(true)
    expect(equals(undefined, undefined)).toBe(true)
    expect(equals(true, true)).toBe(true)
    expect(equals(true, false)).toBe(false)
    expect(equals(null, {})).toBe(false)
    expect(equals({}, null)).toBe(false)
  })

  it("bigint by value", () => {
    expect(equals(2n ** 70n, 2n ** 70n)).toBe(true)
    expect(equals(1n, 2n)).toBe(false)
    expect(equals(1n, 1)).toBe(false)
  })

  it("arrays elementwise, including nested, with length", () => {
    expect(equals([1, [2, 3n]], [1, [2, 3n]])).toBe(true)
    expect(equals([1, 2], [1, 2, 3])).toBe(false)
    expect(equals([1, [2]], [1, [3]])).toBe(false)
    expect(equals([], {})).toBe(false)
    expect(equals({}, [])).toBe(false)
    expect(equals([0], [-0])).toBe(true)
  })

  it("plain objects by own keys, whatever their order, including null-prototype objects", () => {
    expect(equals({ a: 1, b: { c: [1] } }, { b: { c: [1] }, a: 1 })).toBe(true)
    expect(equals({ a: 1 }, { a: 2 })).toBe(false)
    expect(equals({ a: 0 }, {})).toBe(false)
    expect(equals({}, { a: 0 })).toBe(false)
    expect(equals({ a: undefined }, { b: undefined })).toBe(false)
    const bare = Object.assign(Object.create(null), { a: 1 })
    expect(equals(bare, { a: 1 })).toBe(true)
    expect(equals({ a: 1 }, bare)).toBe(true)
  })

  it("class instances: same prototype required", () => {
    class P {
      readonly x: number
      constructor(x: number) {
        this.x = x
      }
    }
    class Q {
      readonly x: number
      constructor(x: number) {
        this.x = x
      }
    }
    expect(equals(new P(1), new P(1))).toBe(true)
    expect(equals(new P(1), new P(2))).toBe(false)
    expect(equals(new P(1), new Q(1))).toBe(false)
    expect(equals(new P(1), { x: 1 })).toBe(false)
    expect(equals(new Date(5), new Date(5))).toBe(true)
    expect(equals(new Date(5), new Date(6))).toBe(false)
  })

  it("Sets: same members by equals, in any order", () => {
    expect(equals(new Set([1, 2, 3]), new Set([3, 2, 1]))).toBe(true)
    expect(equals(new Set([1, 2]), new Set([1, 3]))).toBe(false)
    expect(equals(new Set([1]), new Set([1, 2]))).toBe(false)
    expect(equals(new Set([{ a: 1 }, { a: 2 }]), new Set([{ a: 2 }, { a: 1 }]))).toBe(true)
    expect(equals(new Set([{ a: 1 }, { a: 1 }]), new Set([{ a: 1 }, { a: 2 }]))).toBe(false)
    expect(equals(new Set([[1], 2]), new Set([2, [1]]))).toBe(true)
    expect(equals(new Set([Number.NaN]), new Set([Number.NaN]))).toBe(true)
    expect(equals(new Set(), [])).toBe(false)
    expect(equals(new Set([1]), new Map([[1, 1]]))).toBe(false)
  })

  it("Maps: same keys, values by equals", () => {
    expect(equals(new Map([["a", 1], ["b", 2]]), new Map([["b", 2], ["a", 1]]))).toBe(true)
    expect(equals(new Map([["a", 1]]), new Map([["a", 2]]))).toBe(false)
    expect(equals(new Map([["a", 1]]), new Map([["b", 1]]))).toBe(false)
    expect(equals(new Map([["a", 0]]), new Map())).toBe(false)
    expect(equals(new Map([["a", new Set([1])]]), new Map([["a", new Set([1])]]))).toBe(true)
    expect(equals(new Map([[[1], "x"]]), new Map([[[1], "x"]]))).toBe(true)
    expect(equals(new Map([[[1], "x"]]), new Map([[[1], "y"]]))).toBe(false)
    expect(equals(new Map([[[1], "x"]]), new Map([[[2], "x"]]))).toBe(false)
  })

  it("effect Option: _tag and value", () => {
    expect(equals(Option.none(), Option.none())).toBe(true)
    expect(equals(Option.some(1), Option.some(1))).toBe(true)
    expect(equals(Option.some(1), Option.some(2))).toBe(false)
    expect(equals(Option.some(1), Option.none())).toBe(false)
    expect(equals(Option.none(), Option.some(1))).toBe(false)
    expect(equals(Option.some({ at: 1, value: new Set(["x"]) }), Option.some({ at: 1, value: new Set(["x"]) }))).toBe(true)
    expect(equals(Option.some(1), { _tag: "Some", value: 1 })).toBe(false)
    expect(equals({ _tag: "Some", value: 1 }, Option.some(1))).toBe(false)
  })

  it("values implementing effect's Equal delegate to it", () => {
    expect(equals(Chunk.make(1, 2), Chunk.make(1, 2))).toBe(true)
    expect(equals(Chunk.make(1, 2), Chunk.make(1, 3))).toBe(false)
    expect(equals(HashSet.make("a", "b"), HashSet.make("b", "a"))).toBe(true)
    expect(equals(HashSet.make("a"), HashSet.make("b"))).toBe(false)
  })

  it("is reflexive and symmetric on generated values, and agrees with structural clones", () => {
    const leaf = fc.oneof(fc.integer(), fc.bigInt(), fc.string({ maxLength: 2 }), fc.constant(-0), fc.constant(Number.NaN))
    const value = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.array(tie("v"), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 2 }), tie("v"), { maxKeys: 3 }),
        fc.array(tie("v"), { maxLength: 3 }).map((xs) => new Set(xs)),
        fc.array(fc.tuple(fc.string({ maxLength: 2 }), tie("v")), { maxLength: 3 }).map((e) => new Map(e)),
        fc.option(tie("v")).map((x) => (x === null ? Option.none() : Option.some(x)))
      )
    })).v
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(equals(a, a)).toBe(true)
        expect(equals(a, structuredCloneish(a))).toBe(true)
        expect(equals(a, b)).toBe(equals(b, a))
      })
    )
  })
})

/** A deep copy that keeps Options as Options (structuredClone would turn them into plain objects). */
const structuredCloneish = (u: unknown): unknown => {
  if (Option.isOption(u)) return Option.isSome(u) ? Option.some(structuredCloneish(u.value)) : Option.none()
  if (Array.isArray(u)) return u.map(structuredCloneish)
  if (u instanceof Set) return new Set([...u].map(structuredCloneish))
  if (u instanceof Map) return new Map([...u].map(([k, v]) => [k, structuredCloneish(v)]))
  if (typeof u === "object" && u !== null) {
    return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, structuredCloneish(v)]))
  }
  return u
}

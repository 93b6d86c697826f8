import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as EffectNumber from "effect/Number"
import * as Option from "effect/Option"
import * as Order from "effect/Order"
import * as Reducer from "effect/Reducer"
import * as Monoid from "../../src/Monoid.ts"

const MAX = Number.MAX_SAFE_INTEGER

/** Calls `f`, expecting it to throw an IntegerOverflowError, and returns it. */
const overflow = (f: () => unknown): Monoid.IntegerOverflowError => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(Monoid.IntegerOverflowError)
    return e as Monoid.IntegerOverflowError
  }
  throw new Error("expected an IntegerOverflowError")
}

describe("sum and count", () => {
  it("sum overflow throws IntegerOverflowError, never a wrong total", () => {
    const e = overflow(() => Monoid.sum.combine(MAX, 1))
    expect(e._tag).toBe("IntegerOverflowError")
    expect(e.left).toBe(MAX)
    expect(e.right).toBe(1)
    expect(e.message).toContain(`${MAX} + 1`)
    expect(e.message).toContain("sumBigInt")
    expect(overflow(() => Monoid.sum.combine(-MAX, -1)).left).toBe(-MAX)
    expect(overflow(() => Monoid.count.combine(1, MAX)).right).toBe(MAX)
    expect(() => Monoid.combineAll(Monoid.sum, [MAX - 10, 5, 6])).toThrow(Monoid.IntegerOverflowError)
  })

  it("the edges of the safe range are fine", () => {
    expect(Monoid.sum.combine(MAX - 1, 1)).toBe(MAX)
    expect(Monoid.sum.combine(-MAX + 1, -1)).toBe(-MAX)
    expect(Monoid.sum.combine(MAX, -MAX)).toBe(0)
    expect(Monoid.combineAll(Monoid.sum, [MAX, -1, 1])).toBe(MAX)
    // the fold is stepwise: an intermediate overflow throws even if the final total would be safe
    expect(() => Monoid.combineAll(Monoid.sum, [MAX, 1, -1])).toThrow(Monoid.IntegerOverflowError)
  })

  it("a non-integer or non-finite operand throws, even when the result would be an integer", () => {
    const e = overflow(() => Monoid.sum.combine(0.5, 0.5))
    expect(e.message).toContain("left operand 0.5 is not a safe integer")
    expect(overflow(() => Monoid.sum.combine(1, 0.25)).message).toContain("right operand 0.25")
    overflow(() => Monoid.sum.combine(Number.NaN, 0))
    overflow(() => Monoid.sum.combine(0, Number.POSITIVE_INFINITY))
    overflow(() => Monoid.sum.combine(MAX + 1, -1)) // 2^53 is an integer, but not a safe one
    overflow(() => Monoid.count.combine(1.5, 0))
    overflow(() => Monoid.sum.inverse(0.5))
  })

  it("inverse negates, and the inverse of 0 is +0", () => {
    expect(Monoid.sum.inverse(7)).toBe(-7)
    expect(Monoid.count.inverse(-3)).toBe(3)
    expect(Object.is(Monoid.sum.inverse(0), 0)).toBe(true)
    expect(Monoid.sum.combine(MAX, Monoid.sum.inverse(MAX))).toBe(0)
  })

  it("the error is a yieldable tagged error", () => {
    const program = Effect.try({
      try: () => Monoid.sum.combine(MAX, MAX),
      catch: (e) => e as Monoid.IntegerOverflowError
    }).pipe(Effect.catchTag("IntegerOverflowError", (e) => Effect.succeed(`caught ${e.left}`)))
    expect(Effect.runSync(program)).toBe(`caught ${MAX}`)
  })

  it("kinds, flags and identities", () => {
    expect([Monoid.sum.kind, Monoid.count.kind, Monoid.sumBigInt.kind]).toEqual(["sum", "count", "sumBigInt"])
    expect([Monoid.sum.commutative, Monoid.count.commutative, Monoid.sumBigInt.commutative]).toEqual([true, true, true])
    expect(Monoid.sum.initialValue).toBe(Monoid.sum.empty)
    expect(Monoid.sumBigInt.empty).toBe(0n)
  })
})

describe("sumBigInt", () => {
  it("handles values past 2^64 exactly", () => {
    const big = 2n ** 64n
    expect(Monoid.sumBigInt.combine(big, big)).toBe(2n ** 65n)
    expect(Monoid.sumBigInt.combine(big, 1n)).toBe(18446744073709551617n)
    expect(Monoid.combineAll(Monoid.sumBigInt, [2n ** 100n, 1n, -(2n ** 100n)])).toBe(1n)
    expect(Monoid.sumBigInt.inverse(big)).toBe(-big)
  })
})

describe("min, max, first, last", () => {
  it("min/max: none is the identity; ties keep the left operand", () => {
    const lo = Monoid.min(Order.Number), hi = Monoid.max(Order.Number)
    expect(lo.combine(Option.some(3), Option.some(1))).toEqual(Option.some(1))
    expect(hi.combine(Option.some(3), Option.some(1))).toEqual(Option.some(3))
    expect(lo.combine(Option.none(), Option.some(2))).toEqual(Option.some(2))
    expect(hi.combine(Option.some(2), Option.none())).toEqual(Option.some(2))
    const byAt = Order.mapInput(Order.Number, (s: { readonly at: number }) => s.at)
    const a = Option.some({ at: 1, id: "a" }), b = Option.some({ at: 1, id: "b" })
    expect(Monoid.min(byAt).combine(a, b)).toBe(a)
    expect(Monoid.max(byAt).combine(a, b)).toBe(a)
    expect(Monoid.combineAll(Monoid.max(Order.String), ["b", "c", "a"].map(Option.some))).toEqual(Option.some("c"))
    expect([lo.kind, hi.kind, lo.commutative, hi.commutative]).toEqual(["min", "max", true, true])
  })

  it("first: earliest wins, left wins a tie; last: latest wins, right wins a tie", () => {
    const f = Monoid.first<string>(), l = Monoid.last<string>()
    expect(f.combine(Monoid.stamped(20, "b"), Monoid.stamped(10, "a"))).toEqual(Monoid.stamped(10, "a"))
    expect(f.combine(Monoid.stamped(10, "x"), Monoid.stamped(10, "y"))).toEqual(Monoid.stamped(10, "x"))
    expect(l.combine(Monoid.stamped(20, "b"), Monoid.stamped(10, "a"))).toEqual(Monoid.stamped(20, "b"))
    expect(l.combine(Monoid.stamped(10, "x"), Monoid.stamped(10, "y"))).toEqual(Monoid.stamped(10, "y"))
    expect(f.combine(Option.none(), Monoid.stamped(5, "z"))).toEqual(Monoid.stamped(5, "z"))
    expect(l.combine(Monoid.stamped(5, "z"), Option.none())).toEqual(Monoid.stamped(5, "z"))
    expect([f.kind, l.kind, f.commutative, l.commutative]).toEqual(["first", "last", false, false])
    expect(Monoid.stamped(3, "v")).toEqual(Option.some({ at: 3, value: "v" }))
  })
})

describe("union", () => {
  it("does not mutate its operands and always returns a new Set", () => {
    const u = Monoid.union<number>()
    const a = new Set([1, 2]), b = new Set([2, 3])
    const r = u.combine(a, b)
    expect([...r]).toEqual([1, 2, 3])
    expect([...a]).toEqual([1, 2])
    expect([...b]).toEqual([2, 3])
    expect(r).not.toBe(a)
    expect(r).not.toBe(b)
    const withEmpty = u.combine(a, u.empty)
    expect(withEmpty).not.toBe(a)
    expect(u.combine(u.empty, b)).not.toBe(b)
    expect(u.empty.size).toBe(0)
    expect(u.kind).toBe("union")
  })
})

describe("map", () => {
  it("over a group: merges by key and drops entries that cancel to the identity", () => {
    const m = Monoid.map(Monoid.sum)
    const r = m.combine(new Map([["c1", 5], ["c2", 1]]), new Map([["c1", -5], ["c3", 2]]))
    expect(r).toEqual(new Map([["c2", 1], ["c3", 2]]))
    expect(r.has("c1")).toBe(false)
    expect(m.combine(new Map([["a", 0]]), new Map())).toEqual(new Map()) // { a: 0 } is {}
    expect(m.combine(new Map(), new Map([["a", 0]])).size).toBe(0)
    const x = new Map([["a", 3], ["b", -2]])
    expect(m.combine(x, m.inverse(x)).size).toBe(0)
    expect(m.inverse(x)).toEqual(new Map([["a", -3], ["b", 2]]))
  })

  it("over a struct of groups: an entry is dropped only when every field is back to 0", () => {
    const m = Monoid.map(Monoid.struct({ n: Monoid.count, total: Monoid.sum }))
    const a = new Map([["k", { n: 1, total: 10 }]])
    expect(m.combine(a, new Map([["k", { n: -1, total: -10 }]])).size).toBe(0)
    expect(m.combine(a, new Map([["k", { n: -1, total: 0 }]]))).toEqual(new Map([["k", { n: 0, total: 10 }]]))
  })

  it("over a monoid (max): merges by key and keeps every entry", () => {
    const m = Monoid.map(Monoid.max(Order.Number))
    const r = m.combine(
      new Map([["a", Option.some(1)], ["b", Option.none()]]),
      new Map([["a", Option.some(4)], ["c", Option.some(2)]])
    )
    expect(r).toEqual(new Map([["a", Option.some(4)], ["b", Option.none()], ["c", Option.some(2)]]))
  })

  it("does not mutate its operands", () => {
    const m = Monoid.map(Monoid.sum)
    const a = new Map([["a", 1]]), b = new Map([["a", -1], ["b", 2]])
    const r = m.combine(a, b)
    expect(a).toEqual(new Map([["a", 1]]))
    expect(b).toEqual(new Map([["a", -1], ["b", 2]]))
    expect(r).not.toBe(a)
    expect(m.combine(a, m.empty)).not.toBe(a)
    expect(m.empty.size).toBe(0)
  })
})

describe("struct and tuple", () => {
  it("combine field-wise into new values", () => {
    const s = Monoid.struct({ total: Monoid.sum, seen: Monoid.union<string>() })
    const a = { total: 1, seen: new Set(["x"]) }
    expect(s.combine(a, { total: 2, seen: new Set(["y"]) })).toEqual({ total: 3, seen: new Set(["x", "y"]) })
    expect(a).toEqual({ total: 1, seen: new Set(["x"]) })
    expect(s.empty).toEqual({ total: 0, seen: new Set() })
    const t = Monoid.tuple(Monoid.sum, Monoid.first<string>())
    expect(t.combine([1, Monoid.stamped(2, "b")], [2, Monoid.stamped(1, "a")])).toEqual([3, Monoid.stamped(1, "a")])
    expect(t.empty).toEqual([0, Option.none()])
  })
})

describe("make, makeGroup, fromReducer, combineAll", () => {
  it("make fills defaults; combineAll folds left to right from empty", () => {
    const concat = Monoid.make<string>({ empty: "", combine: (a, b) => a + b })
    expect(concat.kind).toBe("custom")
    expect(concat.commutative).toBe(false)
    expect(concat.initialValue).toBe(concat.empty)
    expect(concat.combineAll(["a", "b", "c"])).toBe("abc")
    expect(Monoid.combineAll(concat, [])).toBe("")
    expect(Monoid.isGroup(concat)).toBe(false)
  })

  it("makeGroup keeps kind and inverse", () => {
    const xor = Monoid.makeGroup<number>({ kind: "count", empty: 0, combine: (a, b) => a ^ b, inverse: (a) => a })
    expect(Monoid.isGroup(xor)).toBe(true)
    expect(xor.kind).toBe("count")
    expect(xor.combine(5, xor.inverse(5))).toBe(0)
  })

  it("fromReducer wraps effect's Reducer (Number.ReducerSum) and keeps its combineAll", () => {
    const m = Monoid.fromReducer(EffectNumber.ReducerSum)
    expect(m.kind).toBe("custom")
    expect(m.commutative).toBe(false)
    expect(m.empty).toBe(0)
    expect(m.combineAll([1, 2, 3])).toBe(6)
    const withOptions = Monoid.fromReducer(EffectNumber.ReducerSum, { kind: "sum", commutative: true })
    expect([withOptions.kind, withOptions.commutative]).toEqual(["sum", true])
    let calls = 0
    const r = Reducer.make<number>((a, b) => a * b, 1, () => {
      calls++
      return -1
    })
    expect(Monoid.fromReducer(r).combineAll([2, 3])).toBe(-1)
    expect(calls).toBe(1)
  })

  it("a Monoid is usable where effect expects a Reducer", () => {
    const asReducer: Reducer.Reducer<number> = Monoid.sum
    expect(asReducer.combineAll([1, 2])).toBe(3)
  })
})

describe("values at the edges of a monoid's domain", () => {
  it("stamped refuses a time that is not finite: first and last would not be associative with it", () => {
    expect(() => Monoid.stamped(Number.NaN, "a")).toThrow(RangeError)
    expect(() => Monoid.stamped(Number.POSITIVE_INFINITY, "a")).toThrow(/finite/)
    // with finite times the grouping does not matter
    const first = Monoid.first<string>()
    const [a, b, c] = [Monoid.stamped(1, "a"), Monoid.stamped(1, "b"), Monoid.stamped(0, "c")]
    expect(first.combine(first.combine(a, b), c)).toEqual(first.combine(a, first.combine(b, c)))
  })

  it("struct keeps a field named __proto__ as data", () => {
    const m = Monoid.struct({ ["__proto__"]: Monoid.sum, b: Monoid.sum } as Record<string, Monoid.Group<number>>)
    expect(Object.keys(m.empty)).toEqual(["__proto__", "b"])
    const sum = m.combine(JSON.parse("{\"__proto__\": 2, \"b\": 1}"), JSON.parse("{\"__proto__\": 3, \"b\": 1}"))
    expect(Object.getOwnPropertyDescriptor(sum, "__proto__")?.value).toBe(5)
    expect(Object.getOwnPropertyDescriptor(m.inverse(sum), "__proto__")?.value).toBe(-5)
  })
})

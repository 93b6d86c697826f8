import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as Order from "effect/Order"
import * as fc from "fast-check"
import * as Laws from "../../src/Laws.ts"
import * as Monoid from "../../src/Monoid.ts"

/** Runs the kit and returns the LawError it must throw. */
const violation = <A>(instance: Monoid.Monoid<A>, arbitrary: fc.Arbitrary<A>, options?: Laws.Options<A>) => {
  try {
    Laws.check(instance, arbitrary, options)
  } catch (e) {
    expect(e).toBeInstanceOf(Laws.LawError)
    return e as Laws.LawError
  }
  throw new Error("expected Laws.check to throw a LawError, but every law passed")
}

const int = fc.integer({ min: -1000, max: 1000 })
const smallSet = fc.array(fc.nat(9), { maxLength: 5 }).map((xs): ReadonlySet<number> => new Set(xs))
const stamped = fc.option(fc.record({ at: fc.integer({ min: 0, max: 2 }), value: fc.nat(3) })).map((s) =>
  s === null ? Option.none() : Option.some(s)
)

describe("the kit rejects broken instances", () => {
  it("subtraction: identity fails first (0 - a is not a), in law order", () => {
    const minus = Monoid.make<number>({ empty: 0, combine: (a, b) => a - b })
    const e = violation(minus, int)
    expect(e.law).toBe("leftIdentity")
    expect(e.instance).toBe("custom")
    expect(e.counterexample).toHaveLength(1)
    expect(minus.combine(0, e.counterexample[0] as number)).not.toBe(e.counterexample[0])
  })

  it("subtraction with a patched identity is caught by associativity", () => {
    const minus = Monoid.make<number>({
      empty: 0,
      combine: (a, b) => (a === 0 ? b : b === 0 ? a : a - b)
    })
    const e = violation(minus, int, { name: "patched minus" })
    expect(e.law).toBe("associativity")
    expect(e.instance).toBe("patched minus")
    expect(e.message).toContain(`law "associativity"`)
    expect(e.message).toContain(`instance "patched minus"`)
    const [a, b, c] = e.counterexample as [number, number, number]
    expect(minus.combine(minus.combine(a, b), c)).not.toBe(minus.combine(a, minus.combine(b, c)))
  })

  it("wrong identity (empty = 1 for sum) fails leftIdentity", () => {
    const broken = Monoid.makeGroup({ kind: "sum", empty: 1, combine: Monoid.sum.combine, inverse: Monoid.sum.inverse })
    const e = violation(broken, int)
    expect(e.law).toBe("leftIdentity")
    expect(e.instance).toBe("sum")
    expect(e.counterexample).toEqual([0]) // shrunk
  })

  it("wrong identity on bigints: the message prints bigints", () => {
    const broken = Monoid.make<bigint>({ empty: 1n, combine: (a, b) => a + b })
    const e = violation(broken, fc.bigInt())
    expect(e.law).toBe("leftIdentity")
    expect(e.message).toContain("counterexample: [0n]")
    expect(e.message).toContain("combine(empty, a) = 1n")
  })

  it("first() claimed commutative fails commutativity", () => {
    const lying: Monoid.Monoid<Option.Option<Monoid.Stamped<number>>> = { ...Monoid.first<number>(), commutative: true }
    const e = violation(lying, stamped)
    expect(e.law).toBe("commutativity")
    const [a, b] = e.counterexample as [Option.Option<Monoid.Stamped<number>>, Option.Option<Monoid.Stamped<number>>]
    // the counterexample is a tie on `at` with different values
    expect(Option.isSome(a) && Option.isSome(b) && a.value.at === b.value.at).toBe(true)
    expect(e.message).toContain("Option.some({ at: ")
  })

  it("string concatenation claimed commutative fails commutativity", () => {
    const concat = Monoid.make<string>({ empty: "", combine: (a, b) => a + b, commutative: true })
    const e = violation(concat, fc.string())
    expect(e.law).toBe("commutativity")
    const [a, b] = e.counterexample as [string, string]
    expect(a + b).not.toBe(b + a)
  })

  it("the same string concatenation, honestly non-commutative, passes", () => {
    expect(() => Laws.check(Monoid.make<string>({ empty: "", combine: (a, b) => a + b }), fc.string())).not.toThrow()
  })

  it("wrong inverse (identity function) fails leftInverse", () => {
    const broken = Monoid.makeGroup<number>({
      empty: 0,
      combine: Monoid.sum.combine,
      inverse: (a) => a,
      commutative: true
    })
    const e = violation(broken, int)
    expect(e.law).toBe("leftInverse")
    expect(e.counterexample.map((n) => Math.abs(n as number))).toEqual([1]) // shrunk: 1 + 1 is not 0
  })

  it("both inverse laws are checked: a wrong half of an inverse fails leftInverse, a one-sided one rightInverse", () => {
    // pairs under (a, b) + (c, d) = (a + c, b + d), inverse negates only the first half
    const pairSum = Monoid.tuple(Monoid.sum, Monoid.sum)
    const wrong = Monoid.makeGroup<readonly [number, number]>({
      empty: [0, 0],
      combine: pairSum.combine,
      inverse: ([a, b]) => [-a, b],
      commutative: true
    })
    expect(violation(wrong, fc.tuple(int, int)).law).toBe("leftInverse")
    // "-x" cancels x only from the left: combine(inverse(a), a) = empty holds, combine(a, inverse(a)) does not
    const asymmetric = Monoid.makeGroup<string>({
      empty: "",
      combine: (x, y) => (x === "" ? y : y === "" ? x : x.startsWith("-") && x.slice(1) === y ? "" : x + "|" + y),
      inverse: (x) => (x === "" ? "" : "-" + x),
      commutative: false
    })
    const e = violation(asymmetric, fc.constantFrom("", "a", "b"), { numRuns: 50 })
    expect(e.law).toBe("rightInverse")
  })

  it("a set union that mutates `self` is caught by leftIdentity (it mutates the identity)", () => {
    const mutating = Monoid.make<ReadonlySet<number>>({
      kind: "union",
      empty: new Set(),
      combine: (self, that) => {
        const s = self as Set<number>
        for (const x of that) s.add(x)
        return s
      },
      commutative: true
    })
    const e = violation(mutating, smallSet)
    expect(e.law).toBe("leftIdentity")
    expect(e.message).toContain("operand empty of combine(empty, a) was mutated")
    expect(e.message).toContain("Set(1) {") // shrunk to a one-element set, printed as a Set
    expect(mutating.empty.size).toBe(0) // the kit worked on copies: the instance's empty is intact
  })

  it("a union that mutates `that` is caught by rightIdentity", () => {
    const mutating = Monoid.make<ReadonlySet<number>>({
      empty: new Set(),
      combine: (self, that) => {
        const t = that as Set<number>
        for (const x of self) t.add(x)
        return t
      },
      commutative: true
    })
    const e = violation(mutating, smallSet)
    expect(e.law).toBe("rightIdentity")
    expect(e.message).toContain("operand empty of combine(a, empty) was mutated")
  })

  it("a union that mutates only when both sides are non-empty is caught by associativity", () => {
    const mutating = Monoid.make<ReadonlySet<number>>({
      empty: new Set(),
      combine: (self, that) => {
        if (self.size === 0) return new Set(that)
        if (that.size === 0) return new Set(self)
        const s = self as Set<number>
        for (const x of that) s.add(x)
        return s
      },
      commutative: true
    })
    const e = violation(mutating, smallSet)
    expect(e.law).toBe("associativity")
    expect(e.message).toContain("was mutated")
  })

  it("a map monoid that mutates its left operand is caught", () => {
    const good = Monoid.map(Monoid.sum)
    const mutating = Monoid.make<ReadonlyMap<string, number>>({
      empty: new Map(),
      combine: (self, that) => {
        const m = self as Map<string, number>
        for (const [k, v] of good.combine(self, that)) m.set(k, v)
        return m
      },
      commutative: true
    })
    const maps = fc
      .array(fc.tuple(fc.constantFrom("a", "b"), fc.integer({ min: 1, max: 3 })), { maxLength: 3 })
      .map((e): ReadonlyMap<string, number> => new Map(e))
    expect(violation(mutating, maps).law).toBe("leftIdentity")
  })

  it("mutation inside an Option (Option<Set>) is caught by associativity", () => {
    const mutating = Monoid.make<Option.Option<ReadonlySet<number>>>({
      empty: Option.none(),
      combine: (self, that) => {
        if (Option.isNone(self)) return that
        if (Option.isNone(that)) return self
        const s = self.value as Set<number>
        for (const x of that.value) s.add(x)
        return self
      },
      commutative: true
    })
    const e = violation(mutating, fc.option(smallSet).map((s) => (s === null ? Option.none() : Option.some(s))))
    expect(e.law).toBe("associativity")
    expect(e.message).toMatch(/operand .* of combine\(.*\) was mutated/)
  })

  it("a combine that throws fails the law being checked and keeps the error as cause", () => {
    // sum is fine, but this arbitrary leaves its domain: MAX + MAX overflows in associativity
    const e = violation(Monoid.sum, fc.constant(Number.MAX_SAFE_INTEGER))
    expect(e.law).toBe("associativity")
    expect(e.cause).toBeInstanceOf(Monoid.IntegerOverflowError)
    expect(e.message).toContain("IntegerOverflowError")
  })

  it("a throwing inverse fails leftInverse with the cause kept", () => {
    const boom = new Error("no inverse here")
    const broken = Monoid.makeGroup<number>({
      empty: 0,
      combine: Monoid.sum.combine,
      inverse: () => {
        throw boom
      },
      commutative: true
    })
    const e = violation(broken, int)
    expect(e.law).toBe("leftInverse")
    expect(e.cause).toBe(boom)
  })

  it("a min with an order that is not total is not commutative", () => {
    // orders by `at` only: two different values with the same `at` tie, and the left one is kept
    const byAt = Order.mapInput(Order.Number, (s: Monoid.Stamped<number>) => s.at)
    const e = violation(Monoid.min(byAt), stamped)
    expect(e.law).toBe("commutativity")
  })

  it("custom equality: an instance equal only up to a normalisation passes with it, fails without", () => {
    // combine keeps a sorted array with duplicates removed only on combine: [2, 1] is not normalised
    const sortedUnion = Monoid.make<ReadonlyArray<number>>({
      empty: [],
      combine: (a, b) => [...new Set([...a, ...b])].sort((x, y) => x - y),
      commutative: true
    })
    const arrays = fc.array(fc.nat(5), { maxLength: 4 })
    expect(violation(sortedUnion, arrays).law).toBe("leftIdentity")
    const asSet = (xs: ReadonlyArray<number>) => [...new Set(xs)].sort((x, y) => x - y).join(",")
    expect(() => Laws.check(sortedUnion, arrays, { equals: (x, y) => asSet(x) === asSet(y) })).not.toThrow()
  })

  it("a seed replays the same counterexample", () => {
    const concat = Monoid.make<string>({ empty: "", combine: (a, b) => a + b, commutative: true })
    const first = violation(concat, fc.string(), { seed: 42 })
    const again = violation(concat, fc.string(), { seed: 42 })
    expect(again.counterexample).toEqual(first.counterexample)
    expect(first.message).toContain("seed: 42")
  })
})

describe("Laws.applicable", () => {
  it("lists the laws in checking order, by claims", () => {
    expect(Laws.applicable(Monoid.first())).toEqual(["leftIdentity", "rightIdentity", "associativity"])
    expect(Laws.applicable(Monoid.union())).toEqual(["leftIdentity", "rightIdentity", "associativity", "commutativity"])
    expect(Laws.applicable(Monoid.sum)).toEqual([
      "leftIdentity",
      "rightIdentity",
      "associativity",
      "commutativity",
      "leftInverse",
      "rightInverse"
    ])
    expect(Laws.laws(Monoid.sum, fc.integer()).map((l) => l.name)).toEqual(Laws.applicable(Monoid.sum))
  })
})

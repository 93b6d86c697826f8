import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as EffectNumber from "effect/Number"
import * as Option from "effect/Option"
import * as Order from "effect/Order"
import * as fc from "fast-check"
import * as Equal from "../../src/Equal.ts"
import * as Laws from "../../src/Laws.ts"
import * as Monoid from "../../src/Monoid.ts"
import { lawsFor } from "../../src/testing/vitest.ts"

// ---------------------------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------------------------

const toOption = <A>(a: A | null): Option.Option<A> => (a === null ? Option.none() : Option.some(a))
const option = <A>(arb: fc.Arbitrary<A>): fc.Arbitrary<Option.Option<A>> => fc.option(arb).map(toOption)

/** Sums of three of these stay far below 2^53. */
const safeInt = fc.integer({ min: -(2 ** 40), max: 2 ** 40 })
/** Small values, so ties (min/max) happen often. */
const smallInt = fc.integer({ min: -5, max: 5 })
/** Small timestamps, so equal `at` happens often and the tie-break rule is exercised. */
const stampedArb = option(fc.record({ at: fc.integer({ min: 0, max: 3 }), value: fc.string({ maxLength: 2 }) }))
const smallSet = fc.array(fc.nat(9), { maxLength: 6 }).map((xs): ReadonlySet<number> => new Set(xs))
const keys = fc.constantFrom("a", "b", "c")
/** Canonical maps for a group: no entry holds the identity (0); small values so sums cancel. */
const nonZeroMap = fc
  .array(fc.tuple(keys, fc.integer({ min: -3, max: 3 }).filter((n) => n !== 0)), { maxLength: 4 })
  .map((entries): ReadonlyMap<string, number> => new Map(entries))
const optionMap = fc
  .array(fc.tuple(keys, option(smallInt)), { maxLength: 4 })
  .map((entries): ReadonlyMap<string, Option.Option<number>> => new Map(entries))

// ---------------------------------------------------------------------------------------------
// every built-in instance through the kit
// ---------------------------------------------------------------------------------------------

describe("built-in instances satisfy their laws", () => {
  lawsFor("sum", Monoid.sum, safeInt)
  lawsFor("sumBigInt", Monoid.sumBigInt, fc.bigInt())
  lawsFor("sumBigInt (past 2^64)", Monoid.sumBigInt, fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }))
  lawsFor("count", Monoid.count, fc.integer({ min: -1_000_000, max: 1_000_000 }))
  lawsFor("min number", Monoid.min(Order.Number), option(smallInt))
  lawsFor("max number", Monoid.max(Order.Number), option(smallInt))
  lawsFor("min double", Monoid.min(Order.Number), option(fc.double({ noNaN: true })))
  lawsFor("min string", Monoid.min(Order.String), option(fc.string({ maxLength: 3 })))
  lawsFor("max string", Monoid.max(Order.String), option(fc.string({ maxLength: 3 })))
  lawsFor("first", Monoid.first<string>(), stampedArb)
  lawsFor("last", Monoid.last<string>(), stampedArb)
  lawsFor("union", Monoid.union<number>(), smallSet)
  lawsFor(
    "struct of groups",
    Monoid.struct({ amount: Monoid.sum, orders: Monoid.count, big: Monoid.sumBigInt }),
    fc.record({ amount: safeInt, orders: smallInt, big: fc.bigInt() })
  )
  lawsFor(
    "struct with min",
    Monoid.struct({ amount: Monoid.sum, lowest: Monoid.min(Order.Number) }),
    fc.record({ amount: safeInt, lowest: option(smallInt) })
  )
  lawsFor("tuple of groups", Monoid.tuple(Monoid.sum, Monoid.sumBigInt), fc.tuple(safeInt, fc.bigInt()))
  lawsFor(
    "tuple with last and union",
    Monoid.tuple(Monoid.count, Monoid.last<string>(), Monoid.union<number>()),
    fc.tuple(smallInt, stampedArb, smallSet)
  )
  lawsFor("map over sum", Monoid.map(Monoid.sum), nonZeroMap)
  lawsFor("map over max", Monoid.map(Monoid.max(Order.Number)), optionMap)
  lawsFor("map over struct of groups", Monoid.map(Monoid.struct({ n: Monoid.count, s: Monoid.sum })), fc
    .array(fc.tuple(keys, fc.record({ n: smallInt, s: smallInt }).filter((v) => v.n !== 0 || v.s !== 0)), {
      maxLength: 4
    })
    .map((entries): ReadonlyMap<string, { readonly n: number; readonly s: number }> => new Map(entries)))
  lawsFor(
    "fromReducer(EffectNumber.ReducerSum)",
    Monoid.fromReducer(EffectNumber.ReducerSum, { commutative: true }),
    fc.integer({ min: -1_000_000, max: 1_000_000 })
  )
})

describe("map over a group with identity entries", () => {
  // non-canonical inputs ({ a: 0 }) are equal to their canonical form under an equality that
  // ignores identity entries; with it the laws hold for any input
  const withoutZeros = (m: ReadonlyMap<string, number>) => new Map([...m].filter(([, v]) => v !== 0))
  lawsFor(
    "map over sum, zeros allowed",
    Monoid.map(Monoid.sum),
    fc.array(fc.tuple(keys, smallInt), { maxLength: 4 }).map((e): ReadonlyMap<string, number> => new Map(e)),
    { equals: (a, b) => Equal.equals(withoutZeros(a), withoutZeros(b)) }
  )
  it("but plain structural equality tells { a: 0 } from {}", () => {
    expect(() =>
      Laws.check(Monoid.map(Monoid.sum), fc.constant<ReadonlyMap<string, number>>(new Map([["a", 0]])))
    ).toThrow(expect.objectContaining({ law: "leftIdentity" }))
  })
})

// ---------------------------------------------------------------------------------------------
// lawsFor registers one test per applicable law
// ---------------------------------------------------------------------------------------------

describe("lawsFor registration", () => {
  let names: ReadonlyArray<string> = []
  beforeAll(({}, suite) => {
    names = suite.tasks.map((task) => task.name)
  })
  lawsFor("g", Monoid.sum, safeInt)
  lawsFor("m", Monoid.first<number>(), option(fc.record({ at: smallInt, value: smallInt })))
  it("names one test per applicable law, in order", () => {
    expect(names.filter((n) => n.startsWith("g: "))).toEqual([
      "g: leftIdentity",
      "g: rightIdentity",
      "g: associativity",
      "g: commutativity",
      "g: leftInverse",
      "g: rightInverse"
    ])
    expect(names.filter((n) => n.startsWith("m: "))).toEqual(["m: leftIdentity", "m: rightIdentity", "m: associativity"])
  })
})

// ---------------------------------------------------------------------------------------------
// group-ness at runtime and in the types
// ---------------------------------------------------------------------------------------------

describe("groups", () => {
  it("a struct of groups is a Group at runtime and in the types", () => {
    const totals = Monoid.struct({ amount: Monoid.sum, orders: Monoid.count })
    const typed: Monoid.Group<{ readonly amount: number; readonly orders: number }> = totals
    expect(Monoid.isGroup(typed)).toBe(true)
    expect(typed.inverse({ amount: 5, orders: 1 })).toEqual({ amount: -5, orders: -1 })
    expect(typed.kind).toBe("struct")
    expect(typed.commutative).toBe(true)
  })

  it("a struct containing min is a Monoid, not a Group", () => {
    const withMin = Monoid.struct({ amount: Monoid.sum, lowest: Monoid.min(Order.Number) })
    // @ts-expect-error a struct containing min is not typed as a Group
    const notGroup: Monoid.Group<{ readonly amount: number; readonly lowest: Option.Option<number> }> = withMin
    expect(Monoid.isGroup(notGroup)).toBe(false)
    const monoid: Monoid.Monoid<{ readonly amount: number; readonly lowest: Option.Option<number> }> = withMin
    expect(monoid.empty).toEqual({ amount: 0, lowest: Option.none() })
  })

  it("a struct with a non-commutative member is not commutative", () => {
    expect(Monoid.struct({ a: Monoid.sum, f: Monoid.first<number>() }).commutative).toBe(false)
    expect(Monoid.tuple(Monoid.sum, Monoid.last<number>()).commutative).toBe(false)
  })

  it("a tuple of groups is a Group; a tuple with max is not", () => {
    const pair = Monoid.tuple(Monoid.sum, Monoid.sumBigInt)
    const typed: Monoid.Group<readonly [number, bigint]> = pair
    expect(Monoid.isGroup(typed)).toBe(true)
    expect(typed.combine([1, 2n], [3, 4n])).toEqual([4, 6n])
    expect(typed.inverse([1, 2n])).toEqual([-1, -2n])
    const withMax = Monoid.tuple(Monoid.sum, Monoid.max(Order.Number))
    // @ts-expect-error a tuple containing max is not typed as a Group
    const notGroup: Monoid.Group<readonly [number, Option.Option<number>]> = withMax
    expect(Monoid.isGroup(notGroup)).toBe(false)
    expect(withMax.kind).toBe("tuple")
  })

  it("map over a group is a Group; map over max is not", () => {
    const g: Monoid.Group<ReadonlyMap<string, number>> = Monoid.map(Monoid.sum)
    expect(Monoid.isGroup(g)).toBe(true)
    const m = Monoid.map(Monoid.max(Order.Number))
    // @ts-expect-error map over max is not typed as a Group
    const notGroup: Monoid.Group<ReadonlyMap<string, Option.Option<number>>> = m
    expect(Monoid.isGroup(notGroup)).toBe(false)
    expect(m.kind).toBe("map")
  })

  it("the built-ins are groups exactly when they should be", () => {
    expect([Monoid.sum, Monoid.sumBigInt, Monoid.count].map((m) => Monoid.isGroup(m as Monoid.Monoid<unknown>)))
      .toEqual([true, true, true])
    const monoids: ReadonlyArray<Monoid.Monoid<any>> = [
      Monoid.min(Order.Number),
      Monoid.max(Order.Number),
      Monoid.first(),
      Monoid.last(),
      Monoid.union(),
      Monoid.fromReducer(EffectNumber.ReducerSum)
    ]
    expect(monoids.map(Monoid.isGroup)).toEqual([false, false, false, false, false, false])
  })
})

import { describe, expect, it } from "vitest"
import fc from "fast-check"
import * as Laws from "../../src/Laws.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as TopK from "../../src/TopK.ts"

const floatSum = Monoid.make<number>({ empty: 0, combine: (a, b) => a + b, commutative: true })
/** Uniform thirds in ±1e6: their sums round often */
const floats = fc.noBias(fc.integer({ min: -3e6, max: 3e6 })).map((x) => x / 3)

describe("Laws.approximately and normalConfidence", () => {
  it("compares numbers up to a relative and an absolute tolerance", () => {
    const eq = Laws.approximately({ relative: 1e-9 })
    expect(eq(0.1 + 0.2, 0.3)).toBe(true)
    expect(eq(1, 1 + 1e-6)).toBe(false)
    expect(eq(Number.NaN, Number.NaN)).toBe(true)
    expect(eq(Infinity, Infinity)).toBe(true)
    expect(eq(Infinity, 1e308)).toBe(false)
    expect(Laws.approximately({ absolute: 0.5 })(1, 1.5)).toBe(true)
    expect(Laws.approximately({ absolute: 0.5 })(1, 1.6)).toBe(false)
    expect(Laws.approximately({})(1, 1)).toBe(true)
  })

  it("gives the normal coverage of z standard deviations", () => {
    expect(Laws.normalConfidence(1)).toBeCloseTo(0.682689, 5)
    expect(Laws.normalConfidence(2)).toBeCloseTo(0.954500, 5)
    expect(Laws.normalConfidence(3)).toBeCloseTo(0.997300, 5)
    expect(Laws.normalConfidence(0)).toBeCloseTo(0, 6)
  })
})

describe("Laws.checkApproximately", () => {
  it("passes a float sum with a tolerance on associativity, which the exact kit rejects", () => {
    expect(() => Laws.check(floatSum, floats, { numRuns: 300, seed: 2 })).toThrow(/associativity/)
    Laws.checkApproximately(floatSum, floats, {
      numRuns: 300,
      approximate: { associativity: Laws.approximately({ relative: 1e-9, absolute: 1e-6 }) }
    })
  })

  it("keeps the other laws exact and reports which equality failed", () => {
    const lying = Monoid.make<number>({ empty: 0, combine: (a, b) => a - b, commutative: true })
    try {
      Laws.checkApproximately(lying, fc.integer({ min: -100, max: 100 }), { approximate: { leftIdentity: () => true } })
      expect.unreachable("subtraction passed")
    } catch (e) {
      expect(e).toBeInstanceOf(Laws.LawError)
      expect((e as Laws.LawError).law).toBe("associativity") // rightIdentity holds for subtraction: a - 0 = a
    }
    try {
      Laws.checkApproximately(floatSum, floats, { approximate: { associativity: () => false }, name: "strict" })
      expect.unreachable("an always-false equality passed")
    } catch (e) {
      expect((e as Laws.LawError).law).toBe("associativity")
      expect((e as Laws.LawError).instance).toBe("strict")
      expect((e as Laws.LawError).message).toContain('approximate equality given for "associativity"')
    }
  })

  it("behaves like check when no law is approximate", () => {
    expect(() => Laws.checkApproximately(Monoid.sum, fc.integer({ min: -1e6, max: 1e6 }))).not.toThrow()
    const concat = Monoid.make<string>({ empty: "", combine: (a, b) => a + b, commutative: true })
    expect(() => Laws.checkApproximately(concat, fc.string())).toThrow(/commutativity/)
  })
})

describe("Laws.checkErrorBound: the statistics", () => {
  // each run misses with probability 10% (a uniform draw below 100 of 1000)
  const draws = fc.noBias(fc.integer({ min: 0, max: 999 })).map((x) => [x])
  const run = (confidence: number, numRuns = 300) =>
    Laws.checkErrorBound<number, number>({
      name: "coin",
      streams: draws,
      monoid: () => floatSum,
      sketch: (xs) => xs[0] ?? 0,
      within: (_, xs) => ((xs[0] ?? 1000) < 100 ? "unlucky draw" : undefined),
      confidence,
      numRuns,
      seed: 99,
      parts: 1
    })

  it("accepts misses at the stated rate", () => {
    const report = run(0.9)
    expect(report.runs).toBe(300)
    expect(report.misses).toBeGreaterThan(10) // the misses are real ...
    expect(report.misses).toBeLessThanOrEqual(report.allowed) // ... and explained by a 10% miss rate
  })

  it("rejects the same misses when a higher confidence is claimed", () => {
    try {
      run(0.99)
      expect.unreachable("10% misses passed a 99% claim")
    } catch (e) {
      expect(e).toBeInstanceOf(Laws.SketchLawError)
      expect((e as Laws.SketchLawError).law).toBe("errorBound")
      expect((e as Laws.SketchLawError).message).toContain("unlucky draw")
      expect((e as Laws.SketchLawError).message).toContain("replay with { seed: 99 }")
    }
  })

  it("allows no miss at confidence 1, and a binomial tail's worth otherwise", () => {
    expect(() => run(1, 50)).toThrow(/errorBound/)
    const never = Laws.checkErrorBound<number, number>({
      streams: draws, monoid: () => floatSum, sketch: () => 0, within: () => undefined, confidence: 0.95, numRuns: 100, seed: 1
    })
    // Binomial(100, 0.05): P(X > 14) ≈ 1.4e-4 > 1e-4 ≥ P(X > 15) ≈ 3.7e-5
    expect(never.allowed).toBe(15)
    expect(never.misses).toBe(0)
  })

  it("reports an invariant failure at once, with the stream and the seed", () => {
    try {
      Laws.checkErrorBound<number, number>({
        name: "never",
        streams: draws,
        monoid: () => floatSum,
        sketch: (xs) => xs[0] ?? 0,
        invariant: (s) => (s >= 0 ? "always fails" : undefined),
        seed: 4
      })
      expect.unreachable("a failing invariant passed")
    } catch (e) {
      expect((e as Laws.SketchLawError).law).toBe("invariant")
      expect((e as Laws.SketchLawError).counterexample).toHaveLength(2)
    }
  })

  it("sketches parts and merges them in a random tree: a non-associative merge is seen", () => {
    const minus = Monoid.make<number>({ empty: 0, combine: (a, b) => a - b })
    expect(() =>
      Laws.checkErrorBound<number, number>({
        streams: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 5, maxLength: 30 }),
        monoid: () => minus,
        sketch: (xs) => xs.reduce((a, b) => a + b, 0),
        invariant: (s, xs) => (s === xs.reduce((a, b) => a + b, 0) ? undefined : `${s}`),
        seed: 8
      })
    ).toThrow(/invariant/)
  })
})

describe("Laws.checkPurity and checkHomomorphism", () => {
  it("finds a combine that mutates a Map operand, through the snapshot", () => {
    const mutating = Monoid.make<TopK.TopK>({
      empty: new Map(),
      commutative: true,
      combine: (a, b) => {
        const out = a as Map<string, number>
        for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v)
        return out
      }
    })
    const maps = fc.array(fc.constantFrom("a", "b"), { minLength: 1, maxLength: 4 }).map(TopK.fromIterable)
    expect(() => Laws.checkPurity(mutating, maps, { snapshot: TopK.encode })).toThrow(/purity/)
    expect(() => Laws.checkPurity(TopK.group, maps, { snapshot: TopK.encode })).not.toThrow()
  })

  it("checks that sketching nothing gives empty", () => {
    const offByOne = Monoid.make<number>({ empty: 0, combine: (a, b) => a + b, commutative: true })
    try {
      Laws.checkHomomorphism(offByOne, { items: fc.array(fc.nat(9)), sketch: (xs) => xs.length + 1 })
      expect.unreachable("sketch([]) = 1 passed")
    } catch (e) {
      expect((e as Laws.SketchLawError).law).toBe("emptySketch")
    }
  })

  it("reports what a sketch function throws", () => {
    try {
      Laws.checkHomomorphism(floatSum, {
        items: fc.array(fc.nat(9)),
        sketch: (xs) => {
          if (xs.length > 2) throw new Error("too long")
          return xs.length
        }
      })
      expect.unreachable("a throwing sketch passed")
    } catch (e) {
      expect((e as Laws.SketchLawError).message).toContain("threw Error: too long")
      expect((e as Laws.SketchLawError).cause).toBeInstanceOf(Error)
    }
  })
})

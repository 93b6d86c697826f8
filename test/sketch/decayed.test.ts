import { describe, expect, it } from "vitest"
import fc from "fast-check"
import * as Result from "effect/Result"
import * as DecayedSum from "../../src/DecayedSum.ts"
import * as Equal from "../../src/Equal.ts"
import * as Laws from "../../src/Laws.ts"
import * as Monoid from "../../src/Monoid.ts"
import { SketchMismatchError } from "../../src/SketchError.ts"

const hour = 3_600_000
const options = { halfLife: hour }
const time = fc.integer({ min: 0, max: 200 * hour })
const contribution = fc.tuple(fc.double({ min: 0, max: 1e6, noNaN: true }), time)
const contributions = fc.array(contribution, { maxLength: 6 })
/** Sums of non-negative contributions (scores), the empty sum included. */
const sums = contributions.map((cs) => cs.reduce((s, [v, t]) => DecayedSum.add(s, v, t), DecayedSum.make(options)))

describe("DecayedSum: which laws hold exactly, which up to rounding", () => {
  const m = DecayedSum.monoid(options)

  it("identity and commutativity hold exactly; associativity within 1e-12 relative", () => {
    Laws.checkApproximately(m, sums, {
      name: "DecayedSum",
      numRuns: 500,
      approximate: { associativity: DecayedSum.approximatelyEquals({ relative: 1e-12 }) }
    })
  })

  it("associativity does not hold exactly in floating point, and the exact kit finds it", () => {
    try {
      Laws.check(m, sums, { name: "DecayedSum", numRuns: 500, seed: 1 })
      expect.unreachable("float decays were exactly associative")
    } catch (e) {
      expect((e as Laws.LawError).law).toBe("associativity")
      const [a, b, c] = (e as Laws.LawError).counterexample as [DecayedSum.DecayedSum, DecayedSum.DecayedSum, DecayedSum.DecayedSum]
      const left = m.combine(m.combine(a, b), c), right = m.combine(a, m.combine(b, c))
      expect(left.at).toBe(right.at) // the reference time is exact
      expect(DecayedSum.approximatelyEquals()(left, right)).toBe(true) // the values are within rounding
    }
  })

  it("a tolerance too tight to cover rounding is rejected (the approximate check can fail)", () => {
    expect(() =>
      Laws.checkApproximately(m, sums, {
        numRuns: 500,
        seed: 1,
        approximate: { associativity: DecayedSum.approximatelyEquals({ relative: 0, absolute: 0 }) }
      })
    ).toThrow(/approximate equality given for "associativity"/)
  })

  it("an inexact claim elsewhere still fails: a tolerance on associativity does not excuse a wrong identity", () => {
    const shifted = Monoid.make<DecayedSum.DecayedSum>({ ...m, empty: { halfLife: hour, value: 0, at: 0 } })
    expect(() =>
      Laws.checkApproximately(shifted, sums, { approximate: { associativity: DecayedSum.approximatelyEquals() } })
    ).toThrow(/leftIdentity/)
  })

  it("with mixed signs, associativity holds relative to the sum of magnitudes", () => {
    const signed = fc.array(fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), time), { minLength: 1, maxLength: 3 })
    fc.assert(
      fc.property(signed, signed, signed, (xs, ys, zs) => {
        const build = (cs: ReadonlyArray<readonly [number, number]>) => m.combineAll(cs.map(([v, t]) => DecayedSum.of(v, t, options)))
        const [a, b, c] = [build(xs), build(ys), build(zs)]
        const left = m.combine(m.combine(a, b), c), right = m.combine(a, m.combine(b, c))
        const magnitude = [...xs, ...ys, ...zs].reduce((acc, [v]) => acc + Math.abs(v), 0)
        expect(left.at).toBe(right.at)
        expect(Math.abs(left.value - right.value)).toBeLessThanOrEqual(1e-12 * magnitude + 1e-300)
      }),
      { numRuns: 300 }
    )
  })
})

describe("DecayedSum: the value", () => {
  const m = DecayedSum.monoid(options)

  it("equals the direct sum of decayed contributions, whatever the merge tree (within 1e-12)", () => {
    const report = Laws.checkErrorBound<DecayedSum.DecayedSum, readonly [number, number]>({
      name: "DecayedSum",
      streams: fc.array(contribution, { maxLength: 60 }),
      monoid: () => m,
      sketch: (cs) => cs.reduce((s, [v, t]) => DecayedSum.add(s, v, t), m.empty),
      invariant: (s, cs) => {
        const at = 300 * hour
        const direct = cs.reduce((acc, [v, t]) => acc + v * 2 ** (-(at - t) / hour), 0)
        const got = DecayedSum.valueAt(s, at)
        return Laws.approximately({ relative: 1e-12, absolute: 1e-300 })(got, direct) ? undefined : `${got} vs ${direct}`
      },
      numRuns: 200,
      seed: 17
    })
    expect(report.runs).toBe(200)
  })

  it("a merge that adds without decaying is a lawful monoid, but the value check rejects it", () => {
    const noDecay = Monoid.make<DecayedSum.DecayedSum>({
      ...m,
      combine: (a, b) => (a.at === -Infinity ? b : b.at === -Infinity ? a : { halfLife: a.halfLife, value: a.value + b.value, at: Math.max(a.at, b.at) })
    })
    expect(() =>
      Laws.checkErrorBound<DecayedSum.DecayedSum, readonly [number, number]>({
        streams: fc.array(contribution, { minLength: 2, maxLength: 20 }),
        monoid: () => noDecay,
        sketch: (cs) => cs.reduce((s, [v, t]) => DecayedSum.add(s, v, t), m.empty),
        invariant: (s, cs) => {
          const direct = cs.reduce((acc, [v, t]) => acc + v * 2 ** (-(300 * hour - t) / hour), 0)
          return Laws.approximately({ relative: 1e-9 })(DecayedSum.valueAt(s, 300 * hour), direct) ? undefined : "wrong value"
        },
        parts: 4,
        numRuns: 100,
        seed: 3
      })
    ).toThrow(/invariant/)
  })

  it("decays by half per half-life, accepts Duration inputs, refuses other half-lives", () => {
    const s = m.combineAll([DecayedSum.of(10, 0, options), DecayedSum.of(4, hour, options)])
    expect(DecayedSum.valueAt(s, hour)).toBe(9)
    expect(DecayedSum.valueAt(s, 3 * hour)).toBe(2.25)
    expect(DecayedSum.valueAt(m.empty, 0)).toBe(0)
    expect(Equal.equals(DecayedSum.make({ halfLife: "1 hour" }), m.empty)).toBe(true)
    expect(() => m.combine(s, DecayedSum.of(1, 0, { halfLife: "2 hours" }))).toThrow(SketchMismatchError)
    expect(() => DecayedSum.of(Number.NaN, 0, options)).toThrow(RangeError)
    expect(() => DecayedSum.of(1, Infinity, options)).toThrow(RangeError)
    expect(() => DecayedSum.make({ halfLife: 0 })).toThrow(RangeError)
    expect(m.combine(DecayedSum.of(5, 7, options), DecayedSum.of(-5, 7, options))).toEqual({ halfLife: hour, value: 0, at: 7 })
  })
})

describe("DecayedSum: the float range", () => {
  const m = DecayedSum.monoid(options)

  it("a sum past the float range throws a RangeError instead of returning Infinity, which decode refuses", () => {
    const big = DecayedSum.of(1e308, 0, options)
    expect(() => m.combine(big, big)).toThrow(RangeError)
    expect(() => m.combine(big, big)).toThrow(/DecayedSum overflow: 1e\+308 at 0 plus 1e\+308 at 0 is Infinity at 0/)
    expect(() => DecayedSum.add(DecayedSum.of(-1e308, 5, options), -1e308, 5)).toThrow(RangeError)
    // decayed first, the same values fit: every sum combine returns is finite, so it decodes
    const later = m.combine(big, DecayedSum.of(1e308, hour, options))
    expect(later.value).toBe(1.5e308)
    expect(DecayedSum.decodeUnsafe(DecayedSum.encode(later))).toEqual(later)
    expect(m.combine(big, DecayedSum.of(-1e308, 0, options)).value).toBe(0)
  })

  it("check refuses what decode refuses: a value or time that is not finite (a pipeline dead-letters it)", () => {
    const check = m.check!
    expect(() => check({ halfLife: hour, value: Infinity, at: 0 })).toThrow(/value must be finite/)
    expect(() => check({ halfLife: hour, value: Number.NaN, at: 0 })).toThrow(RangeError)
    expect(() => check({ halfLife: hour, value: 5, at: -Infinity })).toThrow(/time must be finite/)
    expect(() => check({ halfLife: hour, value: 5, at: Number.NaN })).toThrow(RangeError)
    expect(() => check(DecayedSum.of(1, 0, { halfLife: 2 * hour }))).toThrow(SketchMismatchError)
    expect(() => check(m.empty)).not.toThrow()
    expect(() => check(DecayedSum.of(-1e308, 0, options))).not.toThrow()
  })
})

describe("DecayedSum: encoding", () => {
  it("round-trips exactly in 28 bytes", () => {
    fc.assert(
      fc.property(sums, (s) => {
        const bytes = DecayedSum.encode(s)
        expect(bytes.length).toBe(DecayedSum.encodedSize)
        expect(DecayedSum.decodeUnsafe(bytes)).toEqual(s)
      }),
      { numRuns: 100 }
    )
  })

  it("decode validates", () => {
    const bytes = (halfLife: number, value: number, at: number) => DecayedSum.encode({ halfLife, value, at })
    const reason = (b: Uint8Array) => {
      const r = DecayedSum.decode(b)
      return Result.isFailure(r) ? r.failure.reason : "decoded"
    }
    expect(reason(bytes(1, 0, -Infinity))).toBe("decoded")
    expect(reason(bytes(0, 1, 0))).toContain("half-life")
    expect(reason(bytes(1, Number.NaN, 0))).toContain("value")
    expect(reason(bytes(1, 1, -Infinity))).toContain("reference time")
    expect(reason(bytes(1, 1, 0).slice(0, 20))).toContain("truncated")
  })
})

import { describe, expect, it } from "vitest"
import fc from "fast-check"
import * as Result from "effect/Result"
import * as Equal from "../../src/Equal.ts"
import * as HyperLogLog from "../../src/HyperLogLog.ts"
import * as Laws from "../../src/Laws.ts"
import * as Monoid from "../../src/Monoid.ts"
import { SketchDecodeError, SketchMismatchError } from "../../src/SketchError.ts"

const small = { precision: 6 }
const item = fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: -50, max: 50 }))
const items = fc.array(item, { maxLength: 40 })
/** Sketches of streams, and one-item sketches (which take a merge fast path). */
const sketches = fc.oneof(items.map((xs) => HyperLogLog.fromIterable(xs, small)), item.map((x) => HyperLogLog.of(x, small)))

/** `n` distinct items starting at `base` (cheap to generate, distinct by construction). */
const distinctStream = (max: number) =>
  fc.record({ n: fc.integer({ min: 0, max }), base: fc.integer({ min: 0, max: 2 ** 40 }) })
    .map(({ base, n }) => Array.from({ length: n }, (_, i) => base + i))

/** The law kit's error-bound check for a distinct-count estimator at `z` standard errors. */
const boundCheck = (
  monoid: (p: number) => Monoid.Monoid<HyperLogLog.HyperLogLog>,
  estimate: (s: HyperLogLog.HyperLogLog) => number,
  precision: number,
  options: { readonly z: number; readonly max: number; readonly numRuns?: number; readonly name?: string }
) => {
  const se = HyperLogLog.standardError(precision)
  return Laws.checkErrorBound({
    name: options.name ?? `HyperLogLog(p=${precision})`,
    streams: distinctStream(options.max),
    monoid: () => monoid(precision),
    sketch: (xs) => HyperLogLog.fromIterable(xs, { precision }),
    // ±1 absolute: a single collision among a handful of items is a whole item
    within: (s, xs) => {
      const n = xs.length, e = estimate(s)
      return Math.abs(e - n) <= options.z * se * n + 1 ? undefined : `estimate ${e.toFixed(1)} for ${n} distinct`
    },
    confidence: Laws.normalConfidence(options.z),
    numRuns: options.numRuns ?? 60,
    seed: 7
  })
}

describe("HyperLogLog: monoid laws", () => {
  const m = HyperLogLog.monoid(small)

  it("is a commutative monoid under the law kit (identity, associativity, commutativity)", () => {
    expect(Laws.applicable(m)).toEqual(["leftIdentity", "rightIdentity", "associativity", "commutativity"])
    Laws.check(m, sketches, { name: "HyperLogLog" })
  })

  it("combine is pure (snapshots of the encoding)", () => {
    Laws.checkPurity(m, sketches, { snapshot: HyperLogLog.encode, name: "HyperLogLog" })
  })

  it("merging loses nothing: merge(sketch(A), sketch(B)) = sketch(A ∪ B), and merging is idempotent", () => {
    Laws.checkHomomorphism(m, { items, sketch: (xs) => HyperLogLog.fromIterable(xs, small), idempotent: true })
    // also through `of` and `add`
    fc.assert(
      fc.property(items, (xs) => {
        const viaOf = m.combineAll(xs.map((x) => HyperLogLog.of(x, small)))
        const viaAdd = xs.reduce((s, x) => HyperLogLog.add(s, x), m.empty)
        const direct = HyperLogLog.fromIterable(xs, small)
        expect(Equal.equals(viaOf, direct)).toBe(true)
        expect(HyperLogLog.equals(viaAdd, direct)).toBe(true)
        expect(HyperLogLog.equals(HyperLogLog.addAll(m.empty, xs), direct)).toBe(true)
      }),
      { numRuns: 50 }
    )
  })

  it("refuses sketches of other parameters with a typed error", () => {
    const a = HyperLogLog.make({ precision: 10 })
    expect(() => HyperLogLog.merge(a, HyperLogLog.make({ precision: 12 }))).toThrow(SketchMismatchError)
    expect(() => HyperLogLog.merge(a, HyperLogLog.make({ precision: 10, seed: 1 }))).toThrow(SketchMismatchError)
    try {
      HyperLogLog.monoid({ precision: 10 }).combine(a, HyperLogLog.make({ precision: 12 }))
    } catch (e) {
      expect(e).toBeInstanceOf(SketchMismatchError)
      expect((e as SketchMismatchError)._tag).toBe("SketchMismatchError")
      expect((e as SketchMismatchError).message).toContain("precision 10, seed 0 vs precision 12, seed 0")
    }
    expect(() => HyperLogLog.make({ precision: 3 })).toThrow(RangeError)
    expect(() => HyperLogLog.make({ precision: 19 })).toThrow(RangeError)
    expect(() => HyperLogLog.make({ precision: 10, seed: -1 })).toThrow(RangeError)
  })
})

describe("HyperLogLog: estimates", () => {
  it("Ertl's estimator stays within 3 standard errors (1.04/√m) over 0..25k distinct items, after random merges", () => {
    for (const p of [8, 12]) {
      const report = boundCheck((p) => HyperLogLog.monoid({ precision: p }), HyperLogLog.estimate, p, { z: 3, max: 25_000, numRuns: 30 })
      expect(report.runs).toBe(30)
      expect(report.misses).toBeLessThanOrEqual(report.allowed)
    }
  })

  it("is close on small counts and exact at 0", () => {
    expect(HyperLogLog.estimate(HyperLogLog.make({ precision: 14 }))).toBe(0)
    const s = HyperLogLog.fromIterable(["a", "b", "c", "a"], { precision: 14 })
    expect(Math.round(HyperLogLog.estimate(s))).toBe(3)
    expect(Math.round(HyperLogLog.estimateClassic(s))).toBe(3)
    expect(HyperLogLog.standardError(14)).toBeCloseTo(0.008125, 10)
  })

  it("is unbiased at small precisions: the mean error over 2000 seeded sketches is within 4 standard errors of 0", () => {
    // the large-sketch constant α∞ alone over-estimates by +4.5%/+2.2%/+1.1% at n = m and
    // +7.1%/+3.5%/+1.8% at n = 10m for p = 4/5/6; α_m alone under-estimates by −2.6% at p = 4, n = m
    const trials = 2000
    for (const p of [4, 5, 6]) {
      const m = 2 ** p
      for (const n of [m, 10 * m]) {
        let sum = 0, squares = 0
        for (let t = 0; t < trials; t++) {
          const xs = Array.from({ length: n }, (_, i) => t * 1e6 + i)
          const r = HyperLogLog.estimate(HyperLogLog.fromIterable(xs, { precision: p, seed: t })) / n - 1
          sum += r
          squares += r * r
        }
        const mean = sum / trials
        const stderr = Math.sqrt((squares / trials - mean * mean) / trials)
        expect(Math.abs(mean), `p=${p}, n=${n}: mean error ${(100 * mean).toFixed(2)}%`).toBeLessThan(4 * stderr)
      }
    }
  })

  it("with no zero register, the estimate is the classic harmonic-mean estimate with α_m", () => {
    for (const p of [4, 5, 6, 7, 10]) {
      const s = HyperLogLog.fromIterable(Array.from({ length: 40 * 2 ** p }, (_, i) => i), { precision: p })
      expect(HyperLogLog.registers(s).includes(0)).toBe(false)
      expect(HyperLogLog.estimate(s)).toBeCloseTo(HyperLogLog.estimateClassic(s), 6)
    }
  })

  it("estimates are computed on read: the registers and their encoding do not depend on the estimator", () => {
    const golden: Record<number, string> = {
      4: "534b01010407000000000706070508070a060607080e05050906",
      5: "534b01010507000000000606050c0606040507040603090405050509060607080d0604060407080a0507"
    }
    for (const p of [4, 5]) {
      const s = HyperLogLog.fromIterable(Array.from({ length: 1000 }, (_, i) => `u${i}`), { precision: p, seed: 7 })
      const bytes = HyperLogLog.encode(s)
      expect(Buffer.from(bytes).toString("hex")).toBe(golden[p])
      expect(HyperLogLog.encode(HyperLogLog.decodeUnsafe(bytes))).toEqual(bytes)
    }
  })

  it("the classic estimator (linear counting below 2.5m) also meets the bound at small and large counts", () => {
    const p = 10, m = 1024
    // linear counting range and far above the switch; the transition region is where it is biased
    boundCheck((p) => HyperLogLog.monoid({ precision: p }), HyperLogLog.estimateClassic, p, { z: 3, max: 2 * m, name: "classic, small" })
    const se = HyperLogLog.standardError(p)
    Laws.checkErrorBound({
      name: "classic, large",
      streams: fc.record({ n: fc.integer({ min: 10 * m, max: 20 * m }), base: fc.nat() })
        .map(({ base, n }) => Array.from({ length: n }, (_, i) => base + i)),
      monoid: () => HyperLogLog.monoid({ precision: p }),
      sketch: (xs) => HyperLogLog.fromIterable(xs, { precision: p }),
      within: (s, xs) => Math.abs(HyperLogLog.estimateClassic(s) - xs.length) <= 3 * se * xs.length ? undefined : "miss",
      confidence: Laws.normalConfidence(3),
      numRuns: 20,
      seed: 3
    })
  })
})

describe("HyperLogLog: broken variants are rejected", () => {
  // a merge that sums registers: still a lawful commutative monoid, but not the union
  const summing = Monoid.make<HyperLogLog.HyperLogLog>({
    kind: "custom",
    empty: HyperLogLog.make(small),
    commutative: true,
    combine: (a, b) => {
      const x = HyperLogLog.registers(a), y = HyperLogLog.registers(b)
      return rebuild(x.map((v, i) => Math.min(v + y[i]!, 59)), 6)
    }
  })

  it("the monoid laws cannot see it (it is a lawful monoid) ...", () => {
    expect(() => Laws.check(summing, sketches)).not.toThrow()
  })

  it("... but the homomorphism check does", () => {
    try {
      Laws.checkHomomorphism(summing, { items, sketch: (xs) => HyperLogLog.fromIterable(xs, small), name: "summing HLL" })
      expect.unreachable("the summing merge passed the homomorphism check")
    } catch (e) {
      expect(e).toBeInstanceOf(Laws.SketchLawError)
      expect((e as Laws.SketchLawError).law).toBe("homomorphism")
      expect((e as Laws.SketchLawError).message).toContain("sketch(A ++ B)")
    }
  })

  it("... and so does the error bound: summed registers over-estimate on almost every run", () => {
    const summingAt = (p: number) =>
      Monoid.make<HyperLogLog.HyperLogLog>({
        empty: HyperLogLog.make({ precision: p }),
        commutative: true,
        combine: (a, b) => rebuild(HyperLogLog.registers(a).map((v, i) => Math.min(v + HyperLogLog.registers(b)[i]!, 65 - p)), p)
      })
    try {
      boundCheck(summingAt, HyperLogLog.estimate, 10, { z: 3, max: 10_000, numRuns: 20, name: "summing HLL" })
      expect.unreachable("the summing merge met the error bound")
    } catch (e) {
      expect(e).toBeInstanceOf(Laws.SketchLawError)
      expect((e as Laws.SketchLawError).law).toBe("errorBound")
    }
  })

  it("a merge that mutates its left operand passes Laws.check (typed arrays are not copied) but not checkPurity", () => {
    const mutating = Monoid.make<HyperLogLog.HyperLogLog>({
      kind: "custom",
      empty: HyperLogLog.make(small),
      commutative: true,
      combine: (a, b) => {
        const regs = (a as unknown as { registers: Uint8Array }).registers
        const other = HyperLogLog.registers(b)
        for (let i = 0; i < regs.length; i++) regs[i] = Math.max(regs[i]!, other[i]!)
        return a
      }
    })
    // fresh sketches per run, so the mutation of one run does not leak into the next
    try {
      Laws.checkPurity(mutating, sketches, { snapshot: HyperLogLog.encode, name: "mutating HLL" })
      expect.unreachable("the mutating merge passed checkPurity")
    } catch (e) {
      expect(e).toBeInstanceOf(Laws.SketchLawError)
      expect((e as Laws.SketchLawError).law).toBe("purity")
      expect((e as Laws.SketchLawError).message).toMatch(/mutated (a|b|the instance's empty)/)
    }
  })
})

/** Builds a sketch from registers through the public encoding (dense mode). */
const rebuild = (registers: Uint8Array, p: number): HyperLogLog.HyperLogLog => {
  const bytes = new Uint8Array(10 + registers.length)
  bytes.set([0x53, 0x4b, 1, 1, p, 0, 0, 0, 0, 0])
  bytes.set(registers, 10)
  return HyperLogLog.decodeUnsafe(bytes)
}

describe("HyperLogLog: encoding", () => {
  it("round-trips, deterministically, for any sketch and precision", () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 300 }), fc.integer({ min: 4, max: 12 }), fc.nat(), (xs, p, seed) => {
        const s = HyperLogLog.fromIterable(xs, { precision: p, seed })
        const bytes = HyperLogLog.encode(s)
        const back = HyperLogLog.decodeUnsafe(bytes)
        expect(HyperLogLog.equals(back, s)).toBe(true)
        expect(back.precision).toBe(p)
        expect(back.seed).toBe(seed)
        expect(HyperLogLog.encode(back)).toEqual(bytes)
        // never larger than the dense form
        expect(bytes.length).toBeLessThanOrEqual(10 + (1 << p))
      }),
      { numRuns: 100 }
    )
  })

  it("is sparse for few items and dense for many", () => {
    const few = HyperLogLog.encode(HyperLogLog.fromIterable(["a", "b", "c"], { precision: 14 }))
    expect(few[9]).toBe(1)
    expect(few.length).toBeLessThanOrEqual(24)
    const many = HyperLogLog.encode(HyperLogLog.fromIterable(Array.from({ length: 50_000 }, (_, i) => i), { precision: 14 }))
    expect(many[9]).toBe(0)
    expect(many.length).toBe(10 + 16384)
  })

  it("decode validates and returns typed errors", () => {
    const good = HyperLogLog.encode(HyperLogLog.fromIterable(["a", "b"], { precision: 8 }))
    const reason = (bytes: Uint8Array) => {
      const r = HyperLogLog.decode(bytes)
      expect(Result.isFailure(r)).toBe(true)
      if (Result.isFailure(r)) {
        expect(r.failure).toBeInstanceOf(SketchDecodeError)
        return r.failure.reason
      }
      return ""
    }
    expect(Result.isSuccess(HyperLogLog.decode(good))).toBe(true)
    expect(reason(good.slice(0, 3))).toContain("too short")
    expect(reason(Uint8Array.from([0, ...good.slice(1)]))).toContain("magic")
    expect(reason(Uint8Array.from([0x53, 0x4b, 2, ...good.slice(3)]))).toContain("type code 2")
    expect(reason(Uint8Array.from([0x53, 0x4b, 1, 9, ...good.slice(4)]))).toContain("version 9")
    expect(reason(Uint8Array.from([...good.slice(0, 4), 19, ...good.slice(5)]))).toContain("precision 19")
    expect(reason(Uint8Array.from([...good, 0]))).toContain("trailing")
    expect(reason(good.slice(0, good.length - 1))).toContain("truncated")
    const dense = new Uint8Array(10 + 16)
    dense.set([0x53, 0x4b, 1, 1, 4, 0, 0, 0, 0, 0])
    expect(Result.isSuccess(HyperLogLog.decode(dense))).toBe(true)
    dense[12] = 62 // > 65 - 4 = 61
    expect(reason(dense)).toContain("above the largest rank 61")
    expect(reason(Uint8Array.from([0x53, 0x4b, 1, 1, 4, 0, 0, 0, 0, 7]))).toContain("mode 7")
    // sparse: two registers, the second index past the end
    expect(reason(Uint8Array.from([0x53, 0x4b, 1, 1, 4, 0, 0, 0, 0, 1, 2, 3, 1, 20, 1]))).toContain("out of range")
    expect(() => HyperLogLog.decodeUnsafe(good.slice(0, 2))).toThrow(SketchDecodeError)
  })

  it("prints its parameters and estimate, not its registers", () => {
    const s = HyperLogLog.fromIterable(["a"], { precision: 14 })
    expect(String(s)).toContain('"precision":14')
    expect(Object.keys(s)).toEqual(["precision", "seed"])
    expect(HyperLogLog.isHyperLogLog(s)).toBe(true)
    expect(HyperLogLog.isHyperLogLog({ precision: 14 })).toBe(false)
    expect(HyperLogLog.isEmpty(HyperLogLog.make({ precision: 4 }))).toBe(true)
    expect(HyperLogLog.isEmpty(s)).toBe(false)
  })
})

import { describe, expect, it } from "vitest"
import fc from "fast-check"
import * as Result from "effect/Result"
import * as CountMinSketch from "../../src/CountMinSketch.ts"
import * as Equal from "../../src/Equal.ts"
import * as Hash64 from "../../src/Hash64.ts"
import * as Laws from "../../src/Laws.ts"
import * as Monoid from "../../src/Monoid.ts"
import { SketchDecodeError, SketchMismatchError } from "../../src/SketchError.ts"

const small = { width: 16, depth: 3 }
const item = fc.oneof(fc.string({ maxLength: 4 }), fc.integer({ min: -20, max: 20 }))
const items = fc.array(item, { maxLength: 40 })
/** Sketches of signed updates (deletes included), so the group is exercised beyond insert-only values. */
const sketches = fc.oneof(
  fc.array(fc.tuple(item, fc.integer({ min: -1000, max: 1000 })), { maxLength: 20 })
    .map((updates) => updates.reduce((s, [x, n]) => CountMinSketch.add(s, x, n), CountMinSketch.make(small))),
  // one-item sketches take a merge fast path
  fc.tuple(item, fc.integer({ min: -1000, max: 1000 })).map(([x, n]) => CountMinSketch.of(x, small, n))
)

/** Streams of 200..4000 items with a heavy head and a long tail, as item counts in real traffic. */
const skewed = fc.record({ n: fc.integer({ min: 200, max: 4000 }), seed: fc.noBias(fc.integer({ min: 1, max: 2 ** 31 - 1 })) })
  .map(({ n, seed }) => {
    let state = seed
    const next = () => (state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5 >>> 0) / 2 ** 32
    return Array.from({ length: n }, () => `item-${Math.floor(2000 * next() ** 2)}`)
  })

const trueCount = (xs: ReadonlyArray<string>, x: string) => xs.reduce((n, y) => (y === x ? n + 1 : n), 0)
const counts = (xs: ReadonlyArray<string>) => {
  const out = new Map<string, number>()
  for (const x of xs) out.set(x, (out.get(x) ?? 0) + 1)
  return out
}

describe("CountMinSketch: group laws", () => {
  const g = CountMinSketch.group(small)

  it("is a commutative group under the law kit", () => {
    expect(Laws.applicable(g)).toEqual([
      "leftIdentity", "rightIdentity", "associativity", "commutativity", "leftInverse", "rightInverse"
    ])
    Laws.check(g, sketches, { name: "CountMinSketch" })
  })

  it("combine and inverse are pure", () => {
    Laws.checkPurity(g, sketches, { snapshot: CountMinSketch.encode, name: "CountMinSketch" })
  })

  it("is linear: merge(sketch(A), sketch(B)) = sketch(A ⊎ B), and inverse retracts B ⊆ A exactly", () => {
    Laws.checkHomomorphism(g, { items, sketch: (xs) => CountMinSketch.fromIterable(xs, small), name: "CountMinSketch" })
    // updates and deletes fold to the sketch of what is left
    fc.assert(
      fc.property(items, items, (kept, deleted) => {
        const folded = [...kept, ...deleted].map((x) => CountMinSketch.of(x, small))
          .concat(deleted.map((x) => g.inverse(CountMinSketch.of(x, small))))
        expect(Equal.equals(g.combineAll(folded), CountMinSketch.fromIterable(kept, small))).toBe(true)
      }),
      { numRuns: 50 }
    )
  })

  it("counts exactly when there are no collisions, including deletes", () => {
    const options = { width: 1000, depth: 4 }
    const s = CountMinSketch.make(options).pipe(CountMinSketch.add("a", 5), CountMinSketch.add("b"), CountMinSketch.add("a", -2))
    expect(CountMinSketch.estimate(s, "a")).toBe(3)
    expect(s.pipe(CountMinSketch.estimate("b"))).toBe(1)
    expect(CountMinSketch.total(s)).toBe(4)
    expect(CountMinSketch.estimate(CountMinSketch.make(options), "a")).toBe(0)
    expect(CountMinSketch.of("a", options, 7).pipe(CountMinSketch.estimate("a"))).toBe(7)
  })

  it("throws IntegerOverflowError on unsafe counters, like Monoid.sum", () => {
    const big = CountMinSketch.of("a", small, Number.MAX_SAFE_INTEGER)
    expect(() => g.combine(big, CountMinSketch.of("a", small))).toThrow(Monoid.IntegerOverflowError)
    expect(() => CountMinSketch.add(big, "a", 1)).toThrow(Monoid.IntegerOverflowError)
    expect(() => CountMinSketch.of("a", small, 0.5)).toThrow(Monoid.IntegerOverflowError)
    expect(() => CountMinSketch.add(CountMinSketch.make(small), "a", Number.NaN)).toThrow(Monoid.IntegerOverflowError)
    expect(CountMinSketch.estimate(g.combine(big, g.inverse(big)), "a")).toBe(0)
  })

  it("refuses other parameters with a typed error, and bad parameters with a RangeError", () => {
    expect(() => g.combine(g.empty, CountMinSketch.make({ width: 16, depth: 4 }))).toThrow(SketchMismatchError)
    expect(() => g.combine(g.empty, CountMinSketch.make({ ...small, seed: 9 }))).toThrow(SketchMismatchError)
    expect(() => CountMinSketch.make({ width: 0, depth: 3 })).toThrow(RangeError)
    expect(() => CountMinSketch.make({ width: 2 ** 23, depth: 4 })).toThrow(RangeError)
    expect(CountMinSketch.dimensions({ epsilon: 0.01, delta: 0.01 })).toEqual({ width: 272, depth: 5 })
  })
})

describe("CountMinSketch: columns", () => {
  /** Row `i`'s column as the module doc gives it: `((a + i·b + (i³ − i)/6) mod 2^32) mod width`. */
  const documented = (item: string | number, i: number, width: number, seed: number): number => {
    const h = Hash64.hash(item, seed)
    const a = h & 0xffffffffn, b = h >> 32n, n = BigInt(i)
    return Number(((a + n * b + (n ** 3n - n) / 6n) % 2n ** 32n) % BigInt(width))
  }

  it("are the documented formula, reduced mod 2^32 before mod width (3000 items)", () => {
    let unreduced = 0
    for (const [width, depth, seed] of [[997, 12, 0], [1000, 20, 7], [4096, 5, 2 ** 32 - 1]] as const) {
      for (let k = 0; k < 1000; k++) {
        const item = k % 2 === 0 ? `item-${k}` : k * 1.5 - 300
        const cells = CountMinSketch.counters(CountMinSketch.of(item, { width, depth, seed }))
        for (let i = 0; i < depth; i++) {
          const row = cells.subarray(i * width, (i + 1) * width)
          expect(row.indexOf(1), `${String(item)}, row ${i}`).toBe(documented(item, i, width, seed))
          const h = Hash64.hash(item, seed), n = BigInt(i)
          if (Number(((h & 0xffffffffn) + n * (h >> 32n) + (n ** 3n - n) / 6n) % BigInt(width)) !== row.indexOf(1)) unreduced++
        }
      }
    }
    // without the reduction mod 2^32 most columns past the first rows would differ
    expect(unreduced).toBeGreaterThan(10_000)
  })
})

describe("CountMinSketch: error bound over seeds", () => {
  const epsilon = 0.01, delta = 0.05
  const dims = CountMinSketch.dimensions({ epsilon, delta }) // 272 × 3

  const check = (claimedEpsilon: number, name: string) =>
    Laws.checkErrorBound<CountMinSketch.CountMinSketch, string>({
      name,
      streams: skewed,
      monoid: (seed) => CountMinSketch.group({ ...dims, seed }),
      sketch: (xs, seed) => CountMinSketch.fromIterable(xs, { ...dims, seed }),
      invariant: (s, xs) => {
        for (const [x, f] of counts(xs)) {
          const e = CountMinSketch.estimate(s, x)
          if (e < f) return `estimate ${e} below the true count ${f} of ${x}`
        }
        return CountMinSketch.total(s) === xs.length ? undefined : `total ${CountMinSketch.total(s)} for ${xs.length} items`
      },
      // one query per run (the first item, or an absent one), over a fresh seed per run
      within: (s, xs) => {
        const x = xs[0] ?? "absent"
        const e = CountMinSketch.estimate(s, x), f = trueCount(xs, x)
        return e <= f + claimedEpsilon * xs.length ? undefined : `estimate ${e} for ${x}: true ${f}, N ${xs.length}`
      },
      confidence: 1 - delta,
      numRuns: 100,
      seed: 11
    })

  it("never under-estimates, and over-estimates by more than εN with probability at most δ", () => {
    const report = check(epsilon, "CountMinSketch(ε=0.01, δ=0.05)")
    expect(report.misses).toBeLessThanOrEqual(report.allowed)
  })

  it("the kit rejects an over-claimed bound (ε ten times smaller than the dimensions give)", () => {
    expect(() => check(epsilon / 50, "over-claimed")).toThrow(/errorBound/)
  })

  it("the kit rejects a merge that keeps the larger operand (it loses counts: under-estimates)", () => {
    const keepLarger = (seed: number) =>
      Monoid.make<CountMinSketch.CountMinSketch>({
        empty: CountMinSketch.make({ ...dims, seed }),
        commutative: true,
        combine: (a, b) => (CountMinSketch.total(a) >= CountMinSketch.total(b) ? a : b)
      })
    try {
      Laws.checkErrorBound<CountMinSketch.CountMinSketch, string>({
        name: "keep-larger Count-Min",
        streams: skewed,
        monoid: keepLarger,
        sketch: (xs, seed) => CountMinSketch.fromIterable(xs, { ...dims, seed }),
        invariant: (s, xs) => {
          for (const [x, f] of counts(xs)) {
            if (CountMinSketch.estimate(s, x) < f) return `under-estimates ${x}`
          }
          return undefined
        },
        numRuns: 30,
        seed: 5
      })
      expect.unreachable("a merge that drops an operand kept the Count-Min invariant")
    } catch (e) {
      expect(e).toBeInstanceOf(Laws.SketchLawError)
      expect((e as Laws.SketchLawError).law).toBe("invariant")
      expect((e as Laws.SketchLawError).message).toContain("under-estimates")
    }
  })

  it("the kit rejects a group whose inverse does not negate", () => {
    const g = CountMinSketch.group(small)
    const broken = Monoid.makeGroup({ ...g, inverse: (s: CountMinSketch.CountMinSketch) => s })
    expect(() => Laws.check(broken, sketches)).toThrow(/leftInverse/)
    expect(() => Laws.checkHomomorphism(broken, { items, sketch: (xs) => CountMinSketch.fromIterable(xs, small) }))
      .toThrow(/retraction/)
  })
})

describe("CountMinSketch: encoding", () => {
  it("round-trips deterministically, negative counters included", () => {
    fc.assert(
      fc.property(sketches, (s) => {
        const bytes = CountMinSketch.encode(s)
        const back = CountMinSketch.decodeUnsafe(bytes)
        expect(CountMinSketch.equals(back, s)).toBe(true)
        expect(CountMinSketch.total(back)).toBe(CountMinSketch.total(s))
        expect(CountMinSketch.encode(back)).toEqual(bytes)
      }),
      { numRuns: 100 }
    )
    const big = CountMinSketch.of("a", { width: 10, depth: 2 }, -Number.MAX_SAFE_INTEGER)
    expect(CountMinSketch.estimate(CountMinSketch.decodeUnsafe(CountMinSketch.encode(big)), "a")).toBe(-Number.MAX_SAFE_INTEGER)
  })

  it("decode validates: rows must sum alike, indices in range, no zero magnitudes", () => {
    const reason = (bytes: ReadonlyArray<number>) => {
      const r = CountMinSketch.decode(Uint8Array.from(bytes))
      return Result.isFailure(r) ? r.failure.reason : "decoded"
    }
    const head = [0x53, 0x4b, 2, 1, 2, 2, 0, 0, 0, 0] // width 2, depth 2, seed 0
    expect(reason([...head, 2, 0, 3, 2, 3])).toBe("decoded") // cells 0 (row 0) and 2 (row 1) are 3
    expect(reason([...head, 2, 0, 3, 3, 3])).toContain("row 1 sums to -3, row 0 to 3") // cell 2 is -3 (sign bit)
    expect(reason([...head, 1, 0, 3])).toContain("row 1 sums to 0, row 0 to 3")
    expect(reason([...head, 2, 0, 3, 8, 3])).toContain("out of range")
    expect(reason([...head, 1, 0, 0])).toContain("is 0")
    expect(reason([...head, 5])).toContain("more than 4")
    expect(reason([0x53, 0x4b, 2, 1, 0, 2, 0, 0, 0, 0, 0])).toContain("out of range")
    expect(() => CountMinSketch.decodeUnsafe(Uint8Array.from([1]))).toThrow(SketchDecodeError)
  })

  it("is compact for sparse sketches", () => {
    const s = CountMinSketch.of("a", { width: 272, depth: 5 })
    expect(CountMinSketch.encode(s).length).toBeLessThan(30)
  })
})

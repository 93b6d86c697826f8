import { describe, expect, it } from "vitest"
import fc from "fast-check"
import * as Result from "effect/Result"
import * as Equal from "../../src/Equal.ts"
import * as Laws from "../../src/Laws.ts"
import * as MisraGries from "../../src/MisraGries.ts"
import * as Monoid from "../../src/Monoid.ts"
import { SketchMismatchError } from "../../src/SketchError.ts"

const options = { capacity: 3 }
const item = fc.constantFrom("a", "b", "c", "d", "e", "f", "g")
const items = fc.array(item, { maxLength: 40 })
const summaries = items.map((xs) => MisraGries.fromIterable(xs, options))

/** Skewed streams of 0..3000 items over 50 values. */
const streams = fc.record({ n: fc.integer({ min: 0, max: 3000 }), seed: fc.noBias(fc.integer({ min: 1, max: 2 ** 31 - 1 })) })
  .map(({ n, seed }) => {
    let state = seed
    const next = () => (state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5 >>> 0) / 2 ** 32
    return Array.from({ length: n }, () => `v${Math.floor(50 * next() ** 3)}`)
  })

const counts = (xs: ReadonlyArray<string>) => {
  const out = new Map<string, number>()
  for (const x of xs) out.set(x, (out.get(x) ?? 0) + 1)
  return out
}

/** The Misra–Gries guarantee: f(x) − N/(k+1) ≤ estimate(x) ≤ f(x) for every item. */
const bound = (s: MisraGries.MisraGries, xs: ReadonlyArray<string>) => {
  if (s.total !== xs.length) return `total ${s.total} for ${xs.length} items`
  if (s.counters.size > s.capacity) return `${s.counters.size} counters, capacity ${s.capacity}`
  const slack = xs.length / (s.capacity + 1)
  for (const [x, f] of counts(xs)) {
    const e = MisraGries.estimate(s, x)
    if (e > f) return `estimate ${e} above the true count ${f} of ${x}`
    if (e < f - slack) return `estimate ${e} of ${x} below ${f} − N/(k+1) = ${f - slack}`
  }
  return undefined
}

describe("MisraGries: laws (exact where exact, within the bound where not)", () => {
  const m = MisraGries.monoid(options)

  it("identity and commutativity hold exactly; associativity within N/(k+1) per item", () => {
    Laws.checkApproximately(m, summaries, { approximate: { associativity: MisraGries.withinBound }, name: "MisraGries", numRuns: 300 })
  })

  it("associativity does not hold exactly, and the exact kit finds it", () => {
    try {
      Laws.check(m, summaries, { name: "MisraGries", numRuns: 500 })
      expect.unreachable("Misra–Gries merges passed exact associativity")
    } catch (e) {
      expect((e as Laws.LawError).law).toBe("associativity")
    }
  })

  it("whatever the merge tree, every estimate stays within f(x) − N/(k+1) ≤ estimate ≤ f(x)", () => {
    for (const capacity of [1, 5, 20]) {
      Laws.checkErrorBound<MisraGries.MisraGries, string>({
        name: `MisraGries(k=${capacity})`,
        streams,
        monoid: () => MisraGries.monoid({ capacity }),
        sketch: (xs) => MisraGries.fromIterable(xs, { capacity }),
        invariant: bound,
        parts: 16,
        numRuns: 60,
        seed: 13
      })
    }
  })

  it("one-pass fromIterable equals folding one-item summaries", () => {
    fc.assert(
      fc.property(items, (xs) => {
        const folded = m.combineAll(xs.map((x) => MisraGries.of(x, options)))
        expect(Equal.equals(folded, MisraGries.fromIterable(xs, options))).toBe(true)
        expect(Equal.equals(xs.reduce(MisraGries.add, m.empty), folded)).toBe(true)
      }),
      { numRuns: 100 }
    )
  })

  it("a merge that keeps the larger count per item (instead of the sum) breaks the bound, and the kit finds it", () => {
    const maxPerItem = (capacity: number) =>
      Monoid.make<MisraGries.MisraGries>({
        empty: MisraGries.make({ capacity }),
        commutative: true,
        combine: (a, b) => {
          const out = new Map(a.counters)
          for (const [k, v] of b.counters) out.set(k, Math.max(out.get(k) ?? 0, v))
          const kept = [...out].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, capacity)
          return { capacity, total: a.total + b.total, counters: new Map(kept) }
        }
      })
    try {
      Laws.checkErrorBound<MisraGries.MisraGries, string>({
        name: "max-per-item MisraGries",
        streams,
        monoid: () => maxPerItem(20),
        sketch: (xs) => MisraGries.fromIterable(xs, { capacity: 20 }),
        invariant: bound,
        parts: 16,
        numRuns: 60,
        seed: 13
      })
      expect.unreachable("a max-per-item merge kept the Misra–Gries bound")
    } catch (e) {
      expect((e as Laws.SketchLawError).law).toBe("invariant")
      expect((e as Laws.SketchLawError).message).toMatch(/below .* − N\/\(k\+1\)/)
    }
  })

  it("reads top items and refuses other capacities", () => {
    const s = MisraGries.fromIterable(["a", "b", "a", "c", "a", "d"], { capacity: 2 })
    expect(MisraGries.top(s, 1)).toEqual([["a", 2]])
    expect(MisraGries.top(s, 0)).toEqual([])
    expect(MisraGries.top(s, 5)).toEqual([["a", 2], ["d", 1]])
    // a k that is not a non-negative integer is refused, as by TopK.top
    for (const k of [Number.NaN, -1, 1.5, Infinity]) expect(() => MisraGries.top(s, k), String(k)).toThrow(RangeError)
    expect(() => MisraGries.top(s, Number.NaN)).toThrow(/MisraGries.top k must be an integer in \[0, /)
    expect(MisraGries.errorBound(s)).toBe((6 - 3) / 3) // counters a: 2, d: 1
    expect(() => m.combine(MisraGries.of("a", options), MisraGries.of("a", { capacity: 4 }))).toThrow(SketchMismatchError)
    expect(() => MisraGries.make({ capacity: 0 })).toThrow(RangeError)
  })
})

describe("MisraGries: encoding", () => {
  it("round-trips deterministically", () => {
    fc.assert(
      fc.property(items, (xs) => {
        const s = MisraGries.fromIterable(xs, options)
        const bytes = MisraGries.encode(s)
        expect(Equal.equals(MisraGries.decodeUnsafe(bytes), s)).toBe(true)
        expect(MisraGries.encode(MisraGries.decodeUnsafe(bytes))).toEqual(bytes)
      }),
      { numRuns: 100 }
    )
  })

  it("decode validates", () => {
    const reason = (bytes: ReadonlyArray<number>) => {
      const r = MisraGries.decode(Uint8Array.from(bytes))
      return Result.isFailure(r) ? r.failure.reason : "decoded"
    }
    expect(reason([0x53, 0x4b, 6, 1, 2, 5, 1, 2, 0x61, 3])).toBe("decoded")
    expect(reason([0x53, 0x4b, 6, 1, 1, 5, 2, 2, 0x61, 1, 2, 0x62, 1])).toContain("more than the capacity")
    expect(reason([0x53, 0x4b, 6, 1, 2, 2, 1, 2, 0x61, 3])).toContain("more than the total")
    expect(reason([0x53, 0x4b, 6, 1, 2, 5, 1, 3, 0x61, 3])).toContain("negative")
    expect(reason([0x53, 0x4b, 6, 1, 0, 0, 0])).toContain("capacity 0")
  })
})

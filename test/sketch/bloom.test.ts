import { describe, expect, it } from "vitest"
import fc from "fast-check"
import * as Result from "effect/Result"
import * as BloomFilter from "../../src/BloomFilter.ts"
import * as Hash64 from "../../src/Hash64.ts"
import * as Laws from "../../src/Laws.ts"
import * as Monoid from "../../src/Monoid.ts"
import { SketchDecodeError, SketchMismatchError } from "../../src/SketchError.ts"

const small = { bits: 61, hashes: 3 } // not a multiple of 8: the last byte is partial
const item = fc.oneof(fc.string({ maxLength: 5 }), fc.integer({ min: -30, max: 30 }))
const items = fc.array(item, { maxLength: 30 })
const filters = fc.oneof(items.map((xs) => BloomFilter.fromIterable(xs, small)), item.map((x) => BloomFilter.of(x, small)))

/** `n` distinct numbers from `base` (members), and `probes` numbers outside them. */
const membership = (n: { min: number; max: number }) =>
  fc.record({ n: fc.integer(n), base: fc.integer({ min: 0, max: 2 ** 40 }) })
    .map(({ base, n }) => Array.from({ length: n }, (_, i) => base + i))

describe("BloomFilter: monoid laws", () => {
  const m = BloomFilter.monoid(small)

  it("is a commutative monoid under the law kit, and pure", () => {
    Laws.check(m, filters, { name: "BloomFilter" })
    Laws.checkPurity(m, filters, { snapshot: BloomFilter.encode, name: "BloomFilter" })
  })

  it("merging is the union, exactly, and idempotent", () => {
    Laws.checkHomomorphism(m, { items, sketch: (xs) => BloomFilter.fromIterable(xs, small), idempotent: true })
    // 37 bits: one 32-bit word merged at once, then a tail byte
    const odd = { bits: 37, hashes: 2 }
    Laws.checkHomomorphism(BloomFilter.monoid(odd), { items, sketch: (xs) => BloomFilter.fromIterable(xs, odd) })
    fc.assert(
      fc.property(items, (xs) => {
        const viaOf = m.combineAll(xs.map((x) => BloomFilter.of(x, small)))
        expect(BloomFilter.equals(viaOf, BloomFilter.fromIterable(xs, small))).toBe(true)
        expect(BloomFilter.equals(xs.reduce(BloomFilter.add, m.empty), viaOf)).toBe(true)
      }),
      { numRuns: 50 }
    )
  })

  it("refuses other parameters", () => {
    expect(() => m.combine(m.empty, BloomFilter.make({ bits: 62, hashes: 3 }))).toThrow(SketchMismatchError)
    expect(() => m.combine(m.empty, BloomFilter.make({ ...small, seed: 1 }))).toThrow(SketchMismatchError)
    expect(() => BloomFilter.make({ bits: 0, hashes: 1 })).toThrow(RangeError)
    expect(() => BloomFilter.make({ bits: 10, hashes: 33 })).toThrow(RangeError)
    expect(BloomFilter.optimal({ expectedItems: 1000, falsePositiveRate: 0.01 })).toEqual({ bits: 9586, hashes: 7 })
  })
})

describe("BloomFilter: guarantees", () => {
  const options = BloomFilter.optimal({ expectedItems: 2000, falsePositiveRate: 0.01 })
  const probes = 2000

  /** No false negatives (always); the false-positive rate over `probes` fresh items within 2× the formula (per run). */
  const check = (monoid: (seed: number) => Monoid.Monoid<BloomFilter.BloomFilter>, name: string, slack = 2) =>
    Laws.checkErrorBound<BloomFilter.BloomFilter, number>({
      name,
      streams: membership({ min: 0, max: 2000 }),
      monoid,
      sketch: (xs, seed) => BloomFilter.fromIterable(xs, { ...options, seed }),
      invariant: (f, xs) => {
        for (const x of xs) if (!BloomFilter.mightContain(f, x)) return `false negative: ${x} was added`
        return undefined
      },
      within: (f, xs) => {
        const base = (xs[0] ?? 0) + xs.length + 1e6
        let positives = 0
        for (let i = 0; i < probes; i++) if (BloomFilter.mightContain(f, base + i)) positives++
        const expected = BloomFilter.expectedFalsePositiveRate(options, xs.length)
        return positives <= slack * expected * probes + 5 ? undefined :
          `${positives} false positives in ${probes} probes, expected ${(expected * probes).toFixed(1)}`
      },
      confidence: 0.99,
      numRuns: 40,
      seed: 21
    })

  it("has no false negatives, and its false-positive rate follows (1 − e^(−kn/m))^k", () => {
    const report = check((seed) => BloomFilter.monoid({ ...options, seed }), "BloomFilter")
    expect(report.misses).toBeLessThanOrEqual(report.allowed)
  })

  it("the kit rejects an over-claimed false-positive rate (a fifth of the formula)", () => {
    expect(() => check((seed) => BloomFilter.monoid({ ...options, seed }), "over-claimed", 0.2)).toThrow(/errorBound/)
  })

  it("the kit rejects a merge that intersects (bitwise AND): it forgets members", () => {
    const and = (seed: number) => {
      const good = BloomFilter.monoid({ ...options, seed })
      return Monoid.make<BloomFilter.BloomFilter>({
        empty: good.empty,
        commutative: true,
        combine: (a, b) => {
          // AND through the public API: keep the bits both have
          const x = BloomFilter.bitArray(a), y = BloomFilter.bitArray(b)
          return decodeDense(x.map((v, i) => v & y[i]!), { ...options, seed })
        }
      })
    }
    expect(() => check(and, "AND-merge Bloom filter")).toThrow(/false negative/)
  })

  it("estimates how many items it holds", () => {
    const f = BloomFilter.fromIterable(Array.from({ length: 1000 }, (_, i) => i), options)
    expect(Math.abs(BloomFilter.estimateCount(f) - 1000)).toBeLessThan(50)
    expect(BloomFilter.estimateCount(BloomFilter.make(options))).toBe(0)
    expect(BloomFilter.setBits(BloomFilter.of("x", { bits: 1000, hashes: 4 }))).toBeLessThanOrEqual(4)
  })
})

/** A filter with the given bytes, through the dense binary form. */
const decodeDense = (bytes: Uint8Array, options: { bits: number; hashes: number; seed: number }) => {
  const head = [0x53, 0x4b, 4, 1]
  let x = options.bits
  while (x >= 0x80) {
    head.push((x % 0x80) | 0x80)
    x = Math.floor(x / 0x80)
  }
  head.push(x, options.hashes, options.seed & 0xff, (options.seed >>> 8) & 0xff, (options.seed >>> 16) & 0xff, options.seed >>> 24, 0)
  return BloomFilter.decodeUnsafe(Uint8Array.from([...head, ...bytes]))
}

describe("BloomFilter: positions and sizing", () => {
  it("bit positions are the documented formula, reduced mod 2^32 before mod m (3000 items)", () => {
    for (const [bits, hashes, seed] of [[1001, 32, 0], [9586, 7, 5], [61, 3, 2 ** 32 - 1]] as const) {
      for (let k = 0; k < 1000; k++) {
        const item = k % 2 === 0 ? `item-${k}` : k * 1.5 - 300
        const h = Hash64.hash(item, seed)
        const a = h & 0xffffffffn, b = h >> 32n
        const expected = new Set<number>()
        for (let i = 0n; i < BigInt(hashes); i++) {
          expected.add(Number(((a + i * b + (i ** 3n - i) / 6n) % 2n ** 32n) % BigInt(bits)))
        }
        const words = BloomFilter.bitArray(BloomFilter.of(item, { bits, hashes, seed }))
        const set: Array<number> = []
        for (let j = 0; j < bits; j++) if ((words[j >>> 3]! & (1 << (j & 7))) !== 0) set.push(j)
        expect(set, String(item)).toEqual([...expected].sort((x, y) => x - y))
      }
    }
  })

  it("optimal caps k at 32, and the documented rates follow", () => {
    const rate = (p: number) => {
      const o = BloomFilter.optimal({ expectedItems: 1_000_000, falsePositiveRate: p })
      return { hashes: o.hashes, rate: BloomFilter.expectedFalsePositiveRate(o, 1_000_000) }
    }
    expect(rate(2e-10).hashes).toBe(32) // log2(1/p) = 32.2: not capped
    expect(rate(2e-10).rate / 2e-10).toBeCloseTo(1, 2)
    for (const [p, documented] of [[1e-10, 1.01e-10], [1e-11, 1.14e-11], [1e-12, 1.46e-12], [1e-15, 5.9e-15]] as const) {
      expect(rate(p).hashes).toBe(32)
      expect(Math.abs(rate(p).rate / documented - 1)).toBeLessThan(0.01) // "about": within 1%
    }
  })
})

describe("BloomFilter: encoding", () => {
  it("round-trips deterministically, sparse or dense", () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 200 }), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 8 }), (xs, bits, hashes) => {
        const f = BloomFilter.fromIterable(xs, { bits, hashes, seed: 3 })
        const bytes = BloomFilter.encode(f)
        const back = BloomFilter.decodeUnsafe(bytes)
        expect(BloomFilter.equals(back, f)).toBe(true)
        expect(BloomFilter.encode(back)).toEqual(bytes)
        expect(bytes.length).toBeLessThanOrEqual(16 + Math.ceil(bits / 8))
      }),
      { numRuns: 100 }
    )
    expect(BloomFilter.encode(BloomFilter.of("a", { bits: 100_000, hashes: 3 })).length).toBeLessThan(25)
  })

  it("decode validates", () => {
    const reason = (bytes: ReadonlyArray<number>) => {
      const r = BloomFilter.decode(Uint8Array.from(bytes))
      return Result.isFailure(r) ? r.failure.reason : "decoded"
    }
    // 12 bits, 2 hashes, seed 0, dense: 2 bytes
    expect(reason([0x53, 0x4b, 4, 1, 12, 2, 0, 0, 0, 0, 0, 0xff, 0x0f])).toBe("decoded")
    expect(reason([0x53, 0x4b, 4, 1, 12, 2, 0, 0, 0, 0, 0, 0xff, 0x1f])).toContain("past the end")
    expect(reason([0x53, 0x4b, 4, 1, 12, 0, 0, 0, 0, 0, 0, 0xff, 0x0f])).toContain("hashes")
    expect(reason([0x53, 0x4b, 4, 1, 12, 2, 0, 0, 0, 0, 1, 2, 3, 9])).toContain("out of range")
    expect(reason([0x53, 0x4b, 4, 1, 0, 2, 0, 0, 0, 0, 0])).toContain("bits out of range")
    expect(() => BloomFilter.decodeUnsafe(Uint8Array.from([0x53, 0x4b, 1, 1]))).toThrow(SketchDecodeError)
  })
})

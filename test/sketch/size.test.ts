import { describe, expect, it } from "vitest"
import fc from "fast-check"
import * as Result from "effect/Result"
import * as BloomFilter from "../../src/BloomFilter.ts"
import * as CountMinSketch from "../../src/CountMinSketch.ts"
import * as DecayedSum from "../../src/DecayedSum.ts"
import * as HyperLogLog from "../../src/HyperLogLog.ts"
import * as MisraGries from "../../src/MisraGries.ts"
import * as Sketch from "../../src/Sketch.ts"
import { SketchSizeError } from "../../src/SketchError.ts"
import * as TopK from "../../src/TopK.ts"
import * as ValueCodec from "../../src/internal/valueCodec.ts"

const item = fc.oneof(fc.string({ maxLength: 8 }), fc.integer())
const items = fc.array(item, { maxLength: 300 })

describe("maxEncodedSize: no encoding is larger, and the bound is reached", () => {
  it("HyperLogLog: 2^p + 10, reached by a dense sketch", () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 12 }), items, (precision, xs) => {
        const bytes = HyperLogLog.encode(HyperLogLog.fromIterable(xs, { precision }))
        expect(bytes.length).toBeLessThanOrEqual(HyperLogLog.maxEncodedSize({ precision }))
      }),
      { numRuns: 100 }
    )
    const full = HyperLogLog.fromIterable(Array.from({ length: 5000 }, (_, i) => i), { precision: 8 })
    expect(HyperLogLog.encode(full).length).toBe(HyperLogLog.maxEncodedSize({ precision: 8 }))
    expect(() => HyperLogLog.maxEncodedSize({ precision: 19 })).toThrow(RangeError)
  })

  it("CountMinSketch: 1 + varint(maxCount) per counter, reached when every counter is at maxCount", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(item, fc.integer({ min: -(2 ** 40), max: 2 ** 40 })), { maxLength: 60 }),
        (width, depth, updates) => {
          const options = { width, depth }
          const s = updates.reduce((acc, [x, n]) => CountMinSketch.add(acc, x, n), CountMinSketch.make(options))
          expect(CountMinSketch.encode(s).length).toBeLessThanOrEqual(CountMinSketch.maxEncodedSize(options))
          const maxCount = Math.max(0, ...CountMinSketch.counters(s).map(Math.abs))
          expect(CountMinSketch.encode(s).length).toBeLessThanOrEqual(CountMinSketch.maxEncodedSize(options, { maxCount }))
        }
      ),
      { numRuns: 100 }
    )
    // width 1: every item lands in every row's only counter
    const one = { width: 1, depth: 4 }
    const full = CountMinSketch.of("a", one, Number.MAX_SAFE_INTEGER)
    expect(CountMinSketch.encode(full).length).toBe(CountMinSketch.maxEncodedSize(one))
    expect(() => CountMinSketch.maxEncodedSize(one, { maxCount: -1 })).toThrow(RangeError)
  })

  it("BloomFilter: ⌈m/8⌉ + 10 + varint(m), reached by a dense filter", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 8 }), items, (bits, hashes, xs) => {
        const options = { bits, hashes }
        expect(BloomFilter.encode(BloomFilter.fromIterable(xs, options)).length)
          .toBeLessThanOrEqual(BloomFilter.maxEncodedSize(options))
      }),
      { numRuns: 100 }
    )
    const options = { bits: 1000, hashes: 4 }
    const dense = BloomFilter.fromIterable(Array.from({ length: 500 }, (_, i) => i), options)
    expect(BloomFilter.encode(dense).length).toBe(BloomFilter.maxEncodedSize(options))
  })

  it("MisraGries: capacity counters of items of at most maxItemBytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.string({ unit: "grapheme", maxLength: 5 }), { maxLength: 200 }), (capacity, xs) => {
        const maxItemBytes = Math.max(0, ...xs.map((x) => new TextEncoder().encode(x).length))
        const bytes = MisraGries.encode(MisraGries.fromIterable(xs, { capacity }))
        expect(bytes.length).toBeLessThanOrEqual(MisraGries.maxEncodedSize({ capacity, maxItemBytes }))
      }),
      { numRuns: 100 }
    )
    expect(() => MisraGries.maxEncodedSize({ capacity: 0, maxItemBytes: 3 })).toThrow(RangeError)
  })

  it("DecayedSum: always 28 bytes; TopK.encodedSize is the exact size of the encoding", () => {
    expect(DecayedSum.encode(DecayedSum.make({ halfLife: 1 })).length).toBe(DecayedSum.encodedSize)
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: "grapheme", maxLength: 6 }), fc.integer({ min: -1e15, max: 1e15 })), { maxLength: 20 }), (entries) => {
        const m = entries.reduce((acc, [x, n]) => TopK.add(acc, x, n), TopK.empty)
        expect(TopK.encodedSize(m)).toBe(TopK.encode(m).length)
      }),
      { numRuns: 100 }
    )
  })
})

describe("Sketch.checkSize: refuse, at construction, parameters that cannot fit an item", () => {
  it("accepts what fits DynamoDB's 400 KB less the reserve, refuses the rest with a typed error", () => {
    expect(Sketch.dynamoDbItemLimit).toBe(409_600)
    expect(Sketch.checkSize("HyperLogLog", HyperLogLog.maxEncodedSize({ precision: 18 }))).toEqual(Result.succeed(262_154))
    const big = BloomFilter.optimal({ expectedItems: 1_000_000, falsePositiveRate: 0.01 })
    const refused = Sketch.checkSize("BloomFilter", BloomFilter.maxEncodedSize(big))
    expect(Result.isFailure(refused)).toBe(true)
    if (Result.isFailure(refused)) {
      expect(refused.failure).toBeInstanceOf(SketchSizeError)
      expect(refused.failure._tag).toBe("SketchSizeError")
      expect(refused.failure.limit).toBe(409_600 - 1024)
      expect(refused.failure.message).toContain("BloomFilter")
    }
    // at the edge
    expect(Result.isSuccess(Sketch.checkSize("x", 408_576))).toBe(true)
    expect(Result.isFailure(Sketch.checkSize("x", 408_577))).toBe(true)
  })

  it("counts base64 when the store writes strings, and takes another limit and reserve", () => {
    const p18 = HyperLogLog.maxEncodedSize({ precision: 18 })
    expect(Sketch.storedSize(p18, { base64: true })).toBe(4 * Math.ceil(p18 / 3))
    expect(Result.isSuccess(Sketch.checkSize("p18", p18, { base64: true }))).toBe(true)
    expect(Result.isFailure(Sketch.checkSize("p18", p18, { limit: 262_154, reserve: 0 + 1 }))).toBe(true)
    expect(Sketch.checkSize("p18", p18, { limit: 262_154, reserve: 0 })).toEqual(Result.succeed(p18))
    // a Count-Min sketch of 2^16 counters does not fit with full-range counters, but does with small counts
    const cms = { width: 16_384, depth: 4 }
    expect(Result.isFailure(Sketch.checkSize("cms", CountMinSketch.maxEncodedSize(cms)))).toBe(true)
    expect(Result.isSuccess(Sketch.checkSize("cms", CountMinSketch.maxEncodedSize(cms, { maxCount: 1000 })))).toBe(true)
  })
})

describe("stored sizes: what the built-in stores write (JSON text) for MisraGries and TopK", () => {
  const written = (value: unknown) => Buffer.byteLength(ValueCodec.encode(value), "utf8")

  it("TopK.storedSize is the exact size of the stored text, whatever the items (quotes, controls, surrogates, emoji)", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.string({ unit: "binary", maxLength: 12 }), fc.integer({ min: -(2 ** 45), max: 2 ** 45 })), { maxLength: 60 }), (entries) => {
      const m = entries.reduce((acc, [x, n]) => TopK.add(acc, x, n), TopK.empty)
      expect(TopK.storedSize(m)).toBe(written(m))
    }))
    expect(TopK.storedSize(TopK.fromIterable(["a", "b", "a"]))).toBe(26)
  })

  it("MisraGries.maxStoredSize bounds the stored text of full summaries, and is reached within a few bytes", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 2, max: 40 }), (capacity, maxItemBytes) => {
      // full: capacity distinct items of exactly maxItemBytes ASCII bytes (no escapes), counts of 16 digits
      const items = Array.from({ length: capacity }, (_, i) => i.toString(36).padStart(maxItemBytes, "x"))
      expect(new Set(items).size).toBe(capacity)
      const counters = new Map(items.map((x, i) => [x, 2 ** 52 + i]))
      const summary: MisraGries.MisraGries = { capacity, total: 2 ** 53 - 1, counters }
      const bound = MisraGries.maxStoredSize({ capacity, maxItemBytes })
      expect(written(summary)).toBeLessThanOrEqual(bound)
      // reached within a few bytes: the capacity takes fewer than 7 digits, the last counter no comma
      expect(bound - written(summary)).toBeLessThanOrEqual(8)
    }))
    // a full summary of 100 UUIDs with counts of 16 digits
    const uuids = Array.from({ length: 100 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`)
    const full: MisraGries.MisraGries = { capacity: 1_000_000, total: 2 ** 53 - 1, counters: new Map(uuids.map((u, i) => [u, 2 ** 52 + i])) }
    const bound = MisraGries.maxStoredSize({ capacity: 100, maxItemBytes: 36 })
    expect(written({ ...full, capacity: 100 })).toBeLessThanOrEqual(bound)
    expect(bound - written({ ...full, capacity: 100 })).toBeLessThan(20)
    // the binary bound the stores do not use is far below what they write
    expect(written({ ...full, capacity: 100 })).toBeGreaterThan(MisraGries.maxEncodedSize({ capacity: 100, maxItemBytes: 36 }))
    // the audit's case: a capacity whose binary bound passes the check, but whose stored text does not fit DynamoDB
    expect(Result.isSuccess(Sketch.checkSize("MG", MisraGries.maxEncodedSize({ capacity: 9_079, maxItemBytes: 36 })))).toBe(true)
    expect(Result.isFailure(Sketch.checkSize("MG", MisraGries.maxStoredSize({ capacity: 9_079, maxItemBytes: 36 })))).toBe(true)
  })
})

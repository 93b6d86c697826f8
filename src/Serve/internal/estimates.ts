/**
 * The answers of the estimate routes, computed from a stored sketch (or its pipeline's identity
 * when the key holds nothing). Pure.
 *
 * @internal
 */
import * as BloomFilter from "../../BloomFilter.ts"
import * as CountMinSketch from "../../CountMinSketch.ts"
import type * as Hash64 from "../../Hash64.ts"
import * as HyperLogLog from "../../HyperLogLog.ts"
import * as TopK from "../../TopK.ts"
import type { Estimate, ValueKind } from "../QueryApi.ts"

/** A sketch an estimate route reads: its route, the kind of value, and the guard of its values. */
export interface Sketch<S> {
  readonly estimate: Estimate
  readonly kind: ValueKind
  readonly is: (u: unknown) => u is S
}

export const hyperLogLog: Sketch<HyperLogLog.HyperLogLog> = { estimate: "distinct", kind: "hyperLogLog", is: HyperLogLog.isHyperLogLog }

export const countMinSketch: Sketch<CountMinSketch.CountMinSketch> = {
  estimate: "frequency",
  kind: "countMinSketch",
  is: CountMinSketch.isCountMinSketch
}

export const bloomFilter: Sketch<BloomFilter.BloomFilter> = { estimate: "contains", kind: "bloomFilter", is: BloomFilter.isBloomFilter }

export const topK: Sketch<TopK.TopK> = { estimate: "top", kind: "topK", is: (u): u is TopK.TopK => u instanceof Map }

/** A HyperLogLog's estimate and its relative standard error. */
export const distinct = (sketch: HyperLogLog.HyperLogLog) => ({
  estimate: HyperLogLog.estimate(sketch),
  standardError: HyperLogLog.standardError(sketch.precision),
  precision: sketch.precision
})

/**
 * A Count-Min estimate, with the `ε` and `δ` of the sketch's dimensions (`width = ⌈e/ε⌉`,
 * `depth = ⌈ln(1/δ)⌉`, read backwards).
 */
export const frequency = (sketch: CountMinSketch.CountMinSketch, item: Hash64.Hashable) => ({
  estimate: CountMinSketch.estimate(sketch, item),
  total: CountMinSketch.total(sketch),
  epsilon: Math.E / sketch.width,
  delta: Math.exp(-sketch.depth)
})

/** A Bloom filter's answer, with the false-positive rate at its estimated number of items. */
export const membership = (filter: BloomFilter.BloomFilter, item: Hash64.Hashable) => {
  const items = BloomFilter.estimateCount(filter)
  return {
    mightContain: BloomFilter.mightContain(filter, item),
    estimatedItems: Number.isFinite(items) ? items : null,
    falsePositiveRate: Number.isFinite(items) ? BloomFilter.expectedFalsePositiveRate(filter, items) : 1
  }
}

/** The `n` largest counts of a TopK, and how many items have a positive count. */
export const top = (value: TopK.TopK, n: number) => {
  let distinctItems = 0
  for (const count of value.values()) if (count > 0) distinctItems++
  return {
    items: TopK.top(value, n).map(([item, count]) => ({ item, count })),
    distinctItems
  }
}

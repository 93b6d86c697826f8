/**
 * Misra–Gries heavy hitters: a bounded top-k summary (at most `capacity` counters) whose merge is
 * associative only up to a documented error bound.
 *
 * The mergeable Misra–Gries summary of Agarwal, Cormode, Huang, Phillips, Wei and Yi ("Mergeable
 * summaries", PODS 2012): `combine` adds the counters key-wise and, when more than `capacity`
 * remain, subtracts the `(capacity + 1)`-th largest count from every counter and drops those that
 * are no longer positive. `total` (`N`, the number of items summarized) is kept exactly.
 *
 * What holds, and how it is tested:
 * - **exactly**: identity (`combine(empty, a) = a`), commutativity (the result does not depend on
 *   the order of the operands: addition and the threshold are symmetric), and `total`;
 * - **within a bound**: for every item `x` with true count `f(x)` in the summarized multiset,
 *   whatever the merge tree, `f(x) − (N − Σ counters)/(capacity + 1) ≤ estimate(x) ≤ f(x)`
 *   (so `f(x) − N/(capacity+1)` at worst). Associativity therefore holds only up to that bound:
 *   two bracketings differ by at most `N/(capacity + 1)` per item ({@link withinBound}). Every
 *   item with `f(x) > N/(capacity + 1)` is among the counters.
 *
 * It is insert-only (a `Monoid`, not a `Group`): counts cannot be retracted. For exact answers and
 * retraction use `TopK` (an exact frequency map) instead.
 *
 * Values are plain objects (`{ capacity, total, counters }` with a `ReadonlyMap`), so they work
 * with the library's `Equal`, the law kit's mutation checks and the JSON value codec. Items are
 * strings.
 *
 * @example
 * ```ts
 * import * as MisraGries from "effect-monoid-streams/MisraGries"
 *
 * const s = MisraGries.fromIterable(["a", "b", "a", "c", "a", "d"], { capacity: 2 })
 * MisraGries.top(s, 1) // [["a", 2]]: the true count 3, minus at most N/(k+1) = 2
 * ```
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import * as Result from "effect/Result"
import {
  checkInteger,
  decodeWith,
  Invalid,
  MAX_VARINT_SIZE,
  type Reader,
  TypeCode,
  varintSize,
  Writer
} from "./internal/sketch.ts"
import * as Monoid from "./Monoid.ts"
import { type SketchDecodeError, SketchMismatchError } from "./SketchError.ts"

/**
 * A Misra–Gries summary: at most `capacity` positive counters and the exact `total`.
 *
 * @category models
 * @since 0.1.0
 */
export interface MisraGries {
  readonly capacity: number
  readonly total: number
  readonly counters: ReadonlyMap<string, number>
}

/**
 * Parameters: `capacity` (the `k` counters kept, 1..2^20).
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly capacity: number
}

const MAX_CAPACITY = 2 ** 20

const capacityOf = (options: Options): number =>
  checkInteger("MisraGries capacity", options.capacity, 1, MAX_CAPACITY)

const safeAdd = (x: number, y: number): number => {
  const r = x + y
  if (!Number.isSafeInteger(r)) throw new Monoid.IntegerOverflowError({ left: x, right: y })
  return r
}

/**
 * The empty summary.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): MisraGries => ({ capacity: capacityOf(options), total: 0, counters: new Map() })

/**
 * The summary of one item: the value a pipeline contributes per document.
 *
 * @category constructors
 * @since 0.1.0
 */
export const of = (item: string, options: Options): MisraGries => ({
  capacity: capacityOf(options),
  total: 1,
  counters: new Map([[item, 1]])
})

/** Keeps at most `capacity` counters: subtracts the (capacity+1)-th largest count from all. */
const reduce = (counters: Map<string, number>, capacity: number): Map<string, number> => {
  if (counters.size <= capacity) return counters
  const values = [...counters.values()].sort((a, b) => b - a)
  const cut = values[capacity]!
  const out = new Map<string, number>()
  for (const [k, v] of counters) if (v > cut) out.set(k, v - cut)
  return out
}

/**
 * The summary of the items of an iterable (the classic one-pass Misra–Gries algorithm, which is
 * the same as folding one-item summaries with `combine`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromIterable = (items: Iterable<string>, options: Options): MisraGries => {
  const capacity = capacityOf(options)
  let counters = new Map<string, number>()
  let total = 0
  for (const item of items) {
    total = safeAdd(total, 1)
    const c = counters.get(item)
    if (c !== undefined) counters.set(item, c + 1)
    else if (counters.size < capacity) counters.set(item, 1)
    else {
      const next = new Map<string, number>()
      for (const [k, v] of counters) if (v > 1) next.set(k, v - 1)
      counters = next
    }
  }
  return { capacity, total, counters }
}

/**
 * The merge of two summaries (see the module doc). Throws {@link SketchMismatchError} when the
 * capacities differ.
 *
 * @category combinators
 * @since 0.1.0
 */
export const merge: {
  (that: MisraGries): (self: MisraGries) => MisraGries
  (self: MisraGries, that: MisraGries): MisraGries
} = dual(2, (self: MisraGries, that: MisraGries): MisraGries => {
  if (self.capacity !== that.capacity) {
    throw new SketchMismatchError({
      sketch: "MisraGries",
      left: `capacity ${self.capacity}`,
      right: `capacity ${that.capacity}`
    })
  }
  if (that.total === 0) return self
  if (self.total === 0) return that
  const sum = new Map(self.counters)
  for (const [k, v] of that.counters) sum.set(k, safeAdd(sum.get(k) ?? 0, v))
  return { capacity: self.capacity, total: safeAdd(self.total, that.total), counters: reduce(sum, self.capacity) }
})

/**
 * Adds one item (returns a new summary).
 *
 * @category combinators
 * @since 0.1.0
 */
export const add: {
  (item: string): (self: MisraGries) => MisraGries
  (self: MisraGries, item: string): MisraGries
} = dual(2, (self: MisraGries, item: string): MisraGries => merge(self, of(item, self)))

/**
 * The monoid of summaries with this capacity (`kind: "custom"`, commutative). Associative only
 * up to {@link withinBound}; see the module doc.
 *
 * @category instances
 * @since 0.1.0
 */
export const monoid = (options: Options): Monoid.Monoid<MisraGries> => {
  const empty = make(options)
  // a merge with the empty summary checks the capacity and returns the operand: no copy
  return Monoid.make({ kind: "custom", empty, combine: merge, commutative: true, check: (s) => void merge(empty, s) })
}

/**
 * The estimated count of an item: its counter, or 0. Never more than the true count, and less by
 * at most {@link errorBound}.
 *
 * @category estimates
 * @since 0.1.0
 */
export const estimate: {
  (item: string): (self: MisraGries) => number
  (self: MisraGries, item: string): number
} = dual(2, (self: MisraGries, item: string): number => self.counters.get(item) ?? 0)

/**
 * `(N − Σ counters) / (capacity + 1)`: how much any estimate can be below the true count.
 *
 * @category estimates
 * @since 0.1.0
 */
export const errorBound = (self: MisraGries): number => {
  let kept = 0
  for (const v of self.counters.values()) kept += v
  return (self.total - kept) / (self.capacity + 1)
}

/**
 * The `k` largest counters, largest first; ties by item, ascending. `k` must be a non-negative
 * integer (0 gives `[]`): any other `k` (a fraction, a negative number, `NaN`, `Infinity`) throws
 * a `RangeError`, as in `TopK.top`.
 *
 * @category estimates
 * @since 0.1.0
 */
export const top: {
  (k: number): (self: MisraGries) => ReadonlyArray<readonly [string, number]>
  (self: MisraGries, k: number): ReadonlyArray<readonly [string, number]>
} = dual(2, (self: MisraGries, k: number): ReadonlyArray<readonly [string, number]> => {
  const n = checkInteger("MisraGries.top k", k, 0, Number.MAX_SAFE_INTEGER)
  return [...self.counters]
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .slice(0, n)
})

/**
 * The equivalence under which the merge is associative: same capacity and total, and every
 * item's counts differ by at most `total / (capacity + 1)` (two summaries of the same multiset,
 * each within the bound of the true counts, are at most that far apart). Use it as the
 * associativity equality of `Laws.checkApproximately`.
 *
 * @category equivalence
 * @since 0.1.0
 */
export const withinBound = (self: MisraGries, that: MisraGries): boolean => {
  if (self.capacity !== that.capacity || self.total !== that.total) return false
  const slack = self.total / (self.capacity + 1)
  for (const [k, v] of self.counters) if (Math.abs(v - (that.counters.get(k) ?? 0)) > slack) return false
  for (const [k, v] of that.counters) if (Math.abs(v - (self.counters.get(k) ?? 0)) > slack) return false
  return true
}

/**
 * The binary encoding (format version 1): header `53 4b 06 01`, capacity, total and the number
 * of counters (varints), then the counters sorted by item, each as its UTF-8 length times two
 * (varint), the UTF-8 bytes and the count (varint). Deterministic.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (self: MisraGries): Uint8Array => {
  const keys = [...self.counters.keys()].sort()
  const w = new Writer(16 + keys.length * 12).header(TypeCode.MisraGries).varint(self.capacity).varint(self.total)
    .varint(keys.length)
  for (const key of keys) w.string(key, 0).varint(self.counters.get(key)!)
  return w.done()
}

/**
 * The largest encoding of a summary with this capacity whose items take at most `maxItemBytes`
 * UTF-8 bytes each: `capacity` counters of an item and a count (at most 8 bytes), plus the header,
 * capacity, total and size. The built-in stores write a summary as JSON text, not this
 * encoding: give {@link maxStoredSize} to `Sketch.checkSize` for them. Throws a `RangeError` for
 * parameters out of range.
 *
 * @example
 * ```ts
 * import * as MisraGries from "effect-monoid-streams/MisraGries"
 *
 * MisraGries.maxEncodedSize({ capacity: 100, maxItemBytes: 36 }) // 4514: 100 UUIDs and counts
 * ```
 *
 * @category sizes
 * @since 0.1.0
 */
export const maxEncodedSize = (options: Options & { readonly maxItemBytes: number }): number => {
  const capacity = capacityOf(options)
  const b = checkInteger("MisraGries maxItemBytes", options.maxItemBytes, 0, 2 ** 30)
  const entry = varintSize(b * 2 + 1) + b + MAX_VARINT_SIZE
  return 4 + 2 * varintSize(capacity) + MAX_VARINT_SIZE + capacity * entry
}

/**
 * The most bytes the built-in stores (embedded, DynamoDB) write for a summary with this capacity:
 * its JSON text (`{"capacity":k,"total":n,"counters":{"$map":[["item",count],...]}}`). Here
 * `maxItemBytes` is the longest item's length in that text: its UTF-8 bytes when it holds no `"`,
 * `\` or control characters (ids, UUIDs, e-mail addresses), one more for each `"` or `\`. Give it
 * to `Sketch.checkSize` when a pipeline is built (and bound the item length where items are made,
 * e.g. customer ids). Throws a `RangeError` for parameters out of range.
 *
 * @example
 * ```ts
 * import * as MisraGries from "effect-monoid-streams/MisraGries"
 * import * as Sketch from "effect-monoid-streams/Sketch"
 *
 * MisraGries.maxStoredSize({ capacity: 100, maxItemBytes: 36 }) // 5868: 100 UUIDs and counts
 * Sketch.checkSize("MisraGries", MisraGries.maxStoredSize({ capacity: 9_000, maxItemBytes: 36 })) // Result.fail(SketchSizeError)
 * ```
 *
 * @category sizes
 * @since 0.1.0
 */
export const maxStoredSize = (options: Options & { readonly maxItemBytes: number }): number => {
  const capacity = capacityOf(options)
  const b = checkInteger("MisraGries maxItemBytes", options.maxItemBytes, 0, 2 ** 30)
  // {"capacity":<7 digits>,"total":<16 digits>,"counters":{"$map":[ ... ]}}, and per counter
  // ["<item>",<16 digits>] and a comma: counts and the total are integers below 2^53
  return 68 + capacity * (b + 22)
}

const read = (r: Reader): MisraGries => {
  r.header(TypeCode.MisraGries)
  const capacity = r.varint()
  if (capacity < 1 || capacity > MAX_CAPACITY) throw new Invalid(`capacity ${capacity} out of range`)
  const total = r.varint()
  const size = r.varint()
  if (size > capacity) throw new Invalid(`${size} counters, more than the capacity ${capacity}`)
  const counters = new Map<string, number>()
  let previous: string | undefined
  let kept = 0
  for (let i = 0; i < size; i++) {
    const [key, flag] = r.string()
    if (flag !== 0) throw new Invalid("negative counter")
    if (previous !== undefined && !(previous < key)) throw new Invalid("items are not sorted and distinct")
    previous = key
    const v = r.varint()
    if (v === 0) throw new Invalid(`item ${JSON.stringify(key)} has count 0`)
    kept += v
    counters.set(key, v)
  }
  if (kept > total) throw new Invalid(`the counters sum to ${kept}, more than the total ${total}`)
  return { capacity, total, counters }
}

/**
 * Decodes and validates bytes written by {@link encode}.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array): Result.Result<MisraGries, SketchDecodeError> =>
  decodeWith("MisraGries", bytes, read)

/**
 * Like {@link decode}, but throws the {@link SketchDecodeError}.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decodeUnsafe = (bytes: Uint8Array): MisraGries => Result.getOrThrow(decode(bytes))

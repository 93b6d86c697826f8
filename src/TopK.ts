/**
 * Top-k with a lawful merge: an **exact** frequency map, truncated only when it is read.
 *
 * Why this construction. A top-k summary that truncates to `k` entries when it merges is not
 * associative: an item cut from one partial result can be the winner once the next partial result
 * arrives, so the answer depends on how the stream was split and in which order the parts were
 * merged (`test/sketch/topk.test.ts` shows the law kit finding such a counterexample). A fold that
 * must be exact under redelivery, re-batching, crash recovery and retraction needs a combine
 * whose result does not depend on the bracketing. So the value is the full map item → count, a
 * commutative **group** (the map group of exact integer counts, as `Monoid.map(Monoid.count)`):
 *
 * - `combine` adds counts key-wise (exact integers; an unsafe total throws
 *   `Monoid.IntegerOverflowError`) and drops keys whose count becomes 0, so the representation is
 *   canonical; `inverse` negates every count. Associativity, commutativity, identity and inverses
 *   hold exactly, and `combine(topK(A), topK(B))` is exactly `topK(A ⊎ B)`; deletes retract.
 * - {@link top} truncates to the `k` largest positive counts at read time, ties broken by item
 *   (ascending), so the answer is exact and deterministic.
 *
 * The price is memory: one entry per distinct item with a non-zero count. When that is too much,
 * `MisraGries` keeps at most `k` counters with a documented error bound (`f(x) − N/(k+1) ≤
 * estimate ≤ f(x)`) and a merge that is associative only up to that bound, insert-only; its law
 * tests check the bound instead of pretending to equality.
 *
 * Values are plain `ReadonlyMap<string, number>`s, so they work with the library's `Equal`, the
 * law kit's mutation checks and the JSON value codec as they are. Items are strings.
 *
 * @example
 * ```ts
 * import * as TopK from "effect-monoid-streams/TopK"
 *
 * const views = TopK.fromIterable(["home", "pricing", "home", "blog", "home", "pricing"])
 * TopK.top(views, 2) // [["home", 3], ["pricing", 2]]
 * const g = TopK.group
 * TopK.top(g.combine(views, g.inverse(TopK.of("home", 3))), 1) // [["pricing", 2]]
 * ```
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import * as Result from "effect/Result"
import {
  checkInteger,
  decodeWith,
  HEADER_SIZE,
  Invalid,
  type Reader,
  stringSize,
  TypeCode,
  utf8Length,
  varintSize,
  Writer
} from "./internal/sketch.ts"
import * as Monoid from "./Monoid.ts"
import type { SketchDecodeError } from "./SketchError.ts"

/**
 * Exact counts per item (no zero counts).
 *
 * @category models
 * @since 0.1.0
 */
export type TopK = ReadonlyMap<string, number>

const mapGroup = Monoid.map(Monoid.count)

/**
 * The group of exact frequency maps (`kind: "custom"`, commutative): key-wise exact integer
 * sums, zero counts dropped, `inverse` negates.
 *
 * @category instances
 * @since 0.1.0
 */
export const group: Monoid.Group<TopK> = Monoid.makeGroup({
  kind: "custom",
  empty: mapGroup.empty,
  combine: mapGroup.combine,
  inverse: mapGroup.inverse,
  commutative: true,
  check: mapGroup.check
})

/**
 * The empty map.
 *
 * @category constructors
 * @since 0.1.0
 */
export const empty: TopK = group.empty

/**
 * `count` (default 1; negative to retract) occurrences of one item: the value a pipeline
 * contributes per document.
 *
 * @category constructors
 * @since 0.1.0
 */
export const of = (item: string, count = 1): TopK => {
  if (!Number.isSafeInteger(count)) throw new Monoid.IntegerOverflowError({ left: count, right: 0 })
  return count === 0 ? new Map() : new Map([[item, count]])
}

/**
 * The counts of the items of an iterable (each counted once).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromIterable = (items: Iterable<string>): TopK => {
  const out = new Map<string, number>()
  for (const item of items) {
    const n = (out.get(item) ?? 0) + 1
    if (!Number.isSafeInteger(n)) throw new Monoid.IntegerOverflowError({ left: n - 1, right: 1 })
    out.set(item, n)
  }
  return out
}

/**
 * Adds `count` (default 1; negative to retract) occurrences of an item; returns a new map.
 *
 * @category combinators
 * @since 0.1.0
 */
export const add: {
  (item: string, count?: number): (self: TopK) => TopK
  (self: TopK, item: string, count?: number): TopK
} = dual(
  (args) => args[0] instanceof Map,
  (self: TopK, item: string, count: number = 1): TopK => group.combine(self, of(item, count))
)

/**
 * Combines two maps (same as `group.combine`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const merge: {
  (that: TopK): (self: TopK) => TopK
  (self: TopK, that: TopK): TopK
} = dual(2, (self: TopK, that: TopK): TopK => group.combine(self, that))

/**
 * The exact count of an item (0 when absent).
 *
 * @category getters
 * @since 0.1.0
 */
export const count: {
  (item: string): (self: TopK) => number
  (self: TopK, item: string): number
} = dual(2, (self: TopK, item: string): number => self.get(item) ?? 0)

const byCountThenItem = (x: readonly [string, number], y: readonly [string, number]): number =>
  y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)

/**
 * The `k` items with the largest positive counts, largest first; ties by item, ascending. Exact.
 * `k` must be a non-negative integer (0 gives `[]`): any other `k` (a fraction, a negative number,
 * `NaN`, `Infinity`) throws a `RangeError`, as in `MisraGries.top`.
 *
 * @example
 * ```ts
 * import * as TopK from "effect-monoid-streams/TopK"
 *
 * TopK.top(TopK.fromIterable(["b", "a", "b", "a", "c"]), 2) // [["a", 2], ["b", 2]]
 * ```
 *
 * @category getters
 * @since 0.1.0
 */
export const top: {
  (k: number): (self: TopK) => ReadonlyArray<readonly [string, number]>
  (self: TopK, k: number): ReadonlyArray<readonly [string, number]>
} = dual(2, (self: TopK, k: number): ReadonlyArray<readonly [string, number]> => {
  const n = checkInteger("TopK.top k", k, 0, Number.MAX_SAFE_INTEGER)
  if (n === 0) return []
  // one pass keeping the best n in order (binary insertion): O(size · log n) plus the moves
  const best: Array<readonly [string, number]> = []
  for (const entry of self) {
    if (entry[1] <= 0) continue
    if (best.length === n && byCountThenItem(entry, best[n - 1]!) >= 0) continue
    let lo = 0, hi = best.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (byCountThenItem(best[mid]!, entry) < 0) lo = mid + 1
      else hi = mid
    }
    best.splice(lo, 0, entry)
    if (best.length > n) best.pop()
  }
  return best
})

/**
 * The binary encoding (format version 1): header `53 4b 03 01`, the number of entries (varint),
 * then the entries sorted by item (code-unit order), each as its UTF-8 length times two plus the
 * count's sign bit (varint), the UTF-8 bytes and the count's magnitude (varint). Deterministic.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (self: TopK): Uint8Array => {
  const keys = [...self.keys()].filter((k) => self.get(k) !== 0).sort()
  const w = new Writer(8 + keys.length * 12).header(TypeCode.TopK).varint(keys.length)
  for (const key of keys) {
    const n = self.get(key)!
    w.string(key, n < 0 ? 1 : 0).varint(Math.abs(n))
  }
  return w.done()
}

/**
 * The size of {@link encode}`(self)` in bytes, without encoding. A `TopK` is exact, so it grows
 * with the number of distinct items and has no size fixed by parameters; an aggregate that can
 * hold unboundedly many items belongs in `MisraGries` (bounded, approximate) instead. The
 * built-in stores write a `TopK` as JSON text, not this encoding: {@link storedSize} is what it
 * takes there.
 *
 * @example
 * ```ts
 * import * as TopK from "effect-monoid-streams/TopK"
 *
 * TopK.encodedSize(TopK.fromIterable(["a", "b", "a"])) // 11
 * ```
 *
 * @category sizes
 * @since 0.1.0
 */
export const encodedSize = (self: TopK): number => {
  let size = 0, n = 0
  for (const [key, count] of self) {
    if (count === 0) continue
    n++
    size += stringSize(key) + varintSize(Math.abs(count))
  }
  return HEADER_SIZE + varintSize(n) + size
}

/**
 * The bytes the built-in stores (embedded, DynamoDB) write for `self`: its JSON text
 * (`{"$map":[["item",count],...]}`), in UTF-8. Compare it with an item limit at write time:
 * `Sketch.checkSize("TopK", TopK.storedSize(value))`.
 *
 * @example
 * ```ts
 * import * as TopK from "effect-monoid-streams/TopK"
 *
 * TopK.storedSize(TopK.fromIterable(["a", "b", "a"])) // 26
 * ```
 *
 * @category sizes
 * @since 0.1.0
 */
export const storedSize = (self: TopK): number => {
  let size = 11, n = 0 // {"$map":[ and ]}
  for (const [key, count] of self) {
    size += utf8Length(JSON.stringify(key)) + 3 + JSON.stringify(count).length + (n++ === 0 ? 0 : 1)
  }
  return size
}

const read = (r: Reader): TopK => {
  r.header(TypeCode.TopK)
  const size = r.varint()
  const out = new Map<string, number>()
  let previous: string | undefined
  for (let i = 0; i < size; i++) {
    const [key, negative] = r.string()
    if (previous !== undefined && !(previous < key)) throw new Invalid("items are not sorted and distinct")
    previous = key
    const magnitude = r.varint()
    if (magnitude === 0) throw new Invalid(`item ${JSON.stringify(key)} has count 0`)
    out.set(key, negative ? -magnitude : magnitude)
  }
  return out
}

/**
 * Decodes and validates bytes written by {@link encode}: items sorted and distinct, valid UTF-8,
 * non-zero safe-integer counts.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array): Result.Result<TopK, SketchDecodeError> => decodeWith("TopK", bytes, read)

/**
 * Like {@link decode}, but throws the {@link SketchDecodeError}.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decodeUnsafe = (bytes: Uint8Array): TopK => Result.getOrThrow(decode(bytes))

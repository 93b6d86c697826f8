/**
 * Count-Min sketch: approximate frequencies in `width × depth` integer counters, as a commutative
 * **group**, so updates and deletes fold exactly.
 *
 * An item is hashed once to 64 bits with seeded xxHash64 (see `Hash64`); row `i` uses column
 * `((a + i·b + (i³ − i)/6) mod 2^32) mod width`, where `a` and `b` are the low and high 32-bit
 * words of the hash (enhanced double hashing, Dillinger & Manolios 2004, in unsigned 32-bit
 * arithmetic: the sum is reduced mod 2^32 before mod `width`). Adding `count` of an item adds
 * `count` to one counter per row.
 *
 * - **Combine** is the cell-wise sum and **inverse** the cell-wise negation, both in exact integer
 *   arithmetic: a counter that would leave the safe-integer range throws the library's
 *   `Monoid.IntegerOverflowError`. The sketch is a linear function of the multiset of updates, so
 *   `combine(sketch(A), sketch(B))` is exactly `sketch(A ⊎ B)` and, for `B ⊆ A`,
 *   `combine(sketch(A), inverse(sketch(B)))` is exactly `sketch(A \ B)`: a pipeline can retract a
 *   document's old contribution.
 * - **Estimate** ({@link estimate}) is the minimum over the rows. When every true count is
 *   non-negative (the strict turnstile model: deletes never exceed inserts), it never
 *   under-estimates, and with `width = ⌈e/ε⌉`, `depth = ⌈ln(1/δ)⌉` (see {@link dimensions}) it
 *   over-estimates by at most `ε·N` (`N` = {@link total}) with probability at least `1 − δ` over
 *   the choice of seed.
 * - **Encoding**: header, width, depth (varints), seed (u32), then the non-zero counters as
 *   (gap and sign, magnitude) varint pairs. Decoding checks that every row sums to the same total.
 *
 * @example
 * ```ts
 * import * as CountMinSketch from "effect-monoid-streams/CountMinSketch"
 *
 * const options = { width: 272, depth: 5 } // ε ≈ 1%, δ ≈ 0.7%
 * const views = CountMinSketch.fromIterable(["a", "b", "a"], options)
 * CountMinSketch.estimate(views, "a") // 2 (or a little more)
 * const g = CountMinSketch.group(options)
 * const undone = g.combine(views, g.inverse(CountMinSketch.of("a", options))) // one "a" retracted
 * CountMinSketch.estimate(undone, "a") // 1 (or a little more)
 * ```
 *
 * @since 0.1.0
 */
import type * as Equal from "effect/Equal"
import { dual } from "effect/Function"
import type * as Inspectable from "effect/Inspectable"
import type * as Pipeable from "effect/Pipeable"
import * as Result from "effect/Result"
import { digest, type Hashable, hashItem, isSeed } from "./internal/hash64.ts"
import {
  checkInteger,
  checkOf,
  decodeWith,
  hashElements,
  Invalid,
  makeProto,
  registerDecoder,
  type Reader,
  sameElements,
  MAX_VARINT_SIZE,
  TypeCode,
  varintSize,
  Writer
} from "./internal/sketch.ts"
import * as Monoid from "./Monoid.ts"
import { type SketchDecodeError, SketchMismatchError } from "./SketchError.ts"

const TypeId: unique symbol = Symbol.for("effect-monoid-streams/CountMinSketch")

/**
 * @category type ids
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * A Count-Min sketch. Its counters are private; read them with {@link counters}.
 *
 * @category models
 * @since 0.1.0
 */
export interface CountMinSketch extends Pipeable.Pipeable, Inspectable.Inspectable, Equal.Equal {
  readonly [TypeId]: TypeId
  /** Counters per row. */
  readonly width: number
  /** Rows (independent hash functions). */
  readonly depth: number
  /** The hash seed (an unsigned 32-bit integer). */
  readonly seed: number
}

/**
 * Parameters: `width` (1..2^24), `depth` (1..64), `width × depth ≤ 2^24`, and an optional `seed`
 * (default 0). Sketches combine only with sketches of the same parameters.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly width: number
  readonly depth: number
  readonly seed?: number
}

interface Internal extends CountMinSketch {
  /** row-major: cell (row, column) is `cells[row * width + column]`; safe integers */
  readonly cells: Float64Array
  /** the sum of any row */
  readonly total: number
  /** The only non-zero cells (sketches made by `of`), or undefined: a merge fast path. */
  readonly touched: ReadonlyArray<number> | undefined
}

const MAX_CELLS = 2 ** 24
const MAX_DEPTH = 64

const Proto = makeProto<Internal>({
  typeId: TypeId,
  equals: (a, b) => a.width === b.width && a.depth === b.depth && a.seed === b.seed && sameElements(a.cells, b.cells),
  hash: (a) => hashElements((a.width * 31 + a.depth) * 31 + a.seed, a.cells),
  toJSON: (a) => ({ _id: "CountMinSketch", width: a.width, depth: a.depth, seed: a.seed, total: a.total }),
  encode: (self) => encode(self as unknown as CountMinSketch)
})

const unsafeMake = (
  width: number,
  depth: number,
  seed: number,
  cells: Float64Array,
  total: number,
  touched?: ReadonlyArray<number>
): CountMinSketch => {
  const self = Object.create(Proto) as { -readonly [K in keyof Internal]: Internal[K] }
  self.width = width
  self.depth = depth
  self.seed = seed
  // not enumerable: printing a sketch (law kit messages, console) shows its parameters, not every counter
  Object.defineProperty(self, "cells", { value: cells, enumerable: false })
  Object.defineProperty(self, "touched", { value: touched, enumerable: false })
  self.total = total
  return self
}

const params = (options: Options): readonly [number, number, number] => {
  const width = checkInteger("CountMinSketch width", options.width, 1, MAX_CELLS)
  const depth = checkInteger("CountMinSketch depth", options.depth, 1, MAX_DEPTH)
  if (width * depth > MAX_CELLS) {
    throw new RangeError(`CountMinSketch width × depth must be at most ${MAX_CELLS}, got ${width * depth}`)
  }
  const seed = options.seed ?? 0
  if (!isSeed(seed)) throw new RangeError(`CountMinSketch seed must be an unsigned 32-bit integer, got ${String(seed)}`)
  return [width, depth, seed]
}

const checkCount = (count: number): number => {
  if (!Number.isSafeInteger(count)) throw new Monoid.IntegerOverflowError({ left: count, right: 0 })
  return count
}

const safeAdd = (x: number, y: number): number => {
  const r = x + y
  if (!Number.isSafeInteger(r)) throw new Monoid.IntegerOverflowError({ left: x, right: y })
  return r
}

/** Adds `count` of `item` to `cells` (mutating: only on fresh arrays); records the cells in `touched`. */
const insert = (
  cells: Float64Array,
  width: number,
  depth: number,
  seed: number,
  item: Hashable,
  count: number,
  touched?: Array<number>
): void => {
  hashItem(item, seed)
  let a = digest.lo
  let b = digest.hi
  for (let row = 0; row < depth; row++) {
    const k = row * width + (a % width)
    cells[k] = safeAdd(cells[k]!, count)
    touched?.push(k)
    a = (a + b) >>> 0
    b = (b + row + 1) >>> 0
  }
}

/**
 * `width = ⌈e / ε⌉` and `depth = ⌈ln(1 / δ)⌉`: the smallest dimensions for which an estimate
 * exceeds the true count by more than `ε·N` with probability at most `δ`.
 *
 * @example
 * ```ts
 * import * as CountMinSketch from "effect-monoid-streams/CountMinSketch"
 *
 * CountMinSketch.dimensions({ epsilon: 0.01, delta: 0.01 }) // { width: 272, depth: 5 }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const dimensions = (options: { readonly epsilon: number; readonly delta: number }): {
  readonly width: number
  readonly depth: number
} => {
  const { delta, epsilon } = options
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`CountMinSketch epsilon must be in (0, 1), got ${epsilon}`)
  if (!(delta > 0 && delta < 1)) throw new RangeError(`CountMinSketch delta must be in (0, 1), got ${delta}`)
  return { width: Math.ceil(Math.E / epsilon), depth: Math.ceil(Math.log(1 / delta)) }
}

/**
 * Whether a value is a Count-Min sketch.
 *
 * @category guards
 * @since 0.1.0
 */
export const isCountMinSketch = (u: unknown): u is CountMinSketch =>
  typeof u === "object" && u !== null && (u as Record<symbol, unknown>)[TypeId] === TypeId

/**
 * The empty sketch (every counter 0). Throws a `RangeError` for parameters out of range.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): CountMinSketch => {
  const [width, depth, seed] = params(options)
  return unsafeMake(width, depth, seed, new Float64Array(width * depth), 0)
}

/**
 * The sketch of `count` (default 1, may be negative to retract) occurrences of one item: the value
 * a pipeline contributes per document.
 *
 * @category constructors
 * @since 0.1.0
 */
export const of = (item: Hashable, options: Options, count = 1): CountMinSketch => {
  const [width, depth, seed] = params(options)
  checkCount(count)
  const cells = new Float64Array(width * depth)
  const touched: Array<number> = []
  insert(cells, width, depth, seed, item, count, touched)
  return unsafeMake(width, depth, seed, cells, count, touched)
}

/**
 * The sketch of every item of an iterable (each counted once).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromIterable = (items: Iterable<Hashable>, options: Options): CountMinSketch => {
  const [width, depth, seed] = params(options)
  const cells = new Float64Array(width * depth)
  let total = 0
  for (const item of items) {
    insert(cells, width, depth, seed, item, 1)
    total = safeAdd(total, 1)
  }
  return unsafeMake(width, depth, seed, cells, total)
}

/**
 * Adds `count` (default 1; negative to remove) occurrences of an item; returns a new sketch.
 *
 * @example
 * ```ts
 * import { pipe } from "effect/Function"
 * import * as CountMinSketch from "effect-monoid-streams/CountMinSketch"
 *
 * const s = pipe(CountMinSketch.make({ width: 100, depth: 4 }), CountMinSketch.add("a", 3), CountMinSketch.add("a", -1))
 * CountMinSketch.estimate(s, "a") // 2
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const add: {
  (item: Hashable, count?: number): (self: CountMinSketch) => CountMinSketch
  (self: CountMinSketch, item: Hashable, count?: number): CountMinSketch
} = dual(
  (args) => isCountMinSketch(args[0]),
  (self: CountMinSketch, item: Hashable, count: number = 1): CountMinSketch => {
    const s = self as Internal
    checkCount(count)
    const cells = s.cells.slice()
    insert(cells, s.width, s.depth, s.seed, item, count)
    return unsafeMake(s.width, s.depth, s.seed, cells, safeAdd(s.total, count))
  }
)

const describe = (s: CountMinSketch): string => `width ${s.width}, depth ${s.depth}, seed ${s.seed}`

/** Throws {@link SketchMismatchError} unless the two sketches have the same parameters. */
const sameParameters = (a: CountMinSketch, b: CountMinSketch): void => {
  if (a.width !== b.width || a.depth !== b.depth || a.seed !== b.seed) {
    throw new SketchMismatchError({ sketch: "CountMinSketch", left: describe(a), right: describe(b) })
  }
}

/**
 * The cell-wise sum. Throws {@link SketchMismatchError} when the parameters differ and
 * `Monoid.IntegerOverflowError` when a counter leaves the safe-integer range.
 *
 * @category combinators
 * @since 0.1.0
 */
export const merge: {
  (that: CountMinSketch): (self: CountMinSketch) => CountMinSketch
  (self: CountMinSketch, that: CountMinSketch): CountMinSketch
} = dual(2, (self: CountMinSketch, that: CountMinSketch): CountMinSketch => {
  const a = self as Internal, b = that as Internal
  sameParameters(a, b)
  const total = safeAdd(a.total, b.total)
  // one-item sketches (pipelines contribute `of(item)`): copy the other operand, add a few cells
  if (a.touched !== undefined || b.touched !== undefined) {
    const [big, small] = b.touched !== undefined ? [a, b] : [b, a]
    const out = big.cells.slice()
    for (const i of small.touched!) {
      const r = out[i]! + small.cells[i]!
      if (r > Number.MAX_SAFE_INTEGER || r < -Number.MAX_SAFE_INTEGER) {
        throw new Monoid.IntegerOverflowError({ left: a.cells[i]!, right: b.cells[i]! })
      }
      out[i] = r
    }
    return unsafeMake(a.width, a.depth, a.seed, out, total)
  }
  const x = a.cells, y = b.cells, n = x.length
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const r = x[i]! + y[i]!
    if (r > Number.MAX_SAFE_INTEGER || r < -Number.MAX_SAFE_INTEGER) {
      throw new Monoid.IntegerOverflowError({ left: x[i]!, right: y[i]! })
    }
    out[i] = r
  }
  return unsafeMake(a.width, a.depth, a.seed, out, total)
})

/**
 * The cell-wise negation: `merge(s, negate(s))` is the empty sketch.
 *
 * @category combinators
 * @since 0.1.0
 */
export const negate = (self: CountMinSketch): CountMinSketch => {
  const s = self as Internal
  const x = s.cells, n = x.length
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const v = x[i]!
    out[i] = v === 0 ? 0 : -v
  }
  return unsafeMake(s.width, s.depth, s.seed, out, s.total === 0 ? 0 : -s.total, s.touched)
}

/**
 * The group of sketches with these parameters (`kind: "custom"`, commutative): `empty` is
 * {@link make}`(options)`, `combine` is {@link merge}, `inverse` is {@link negate}.
 *
 * @example
 * ```ts
 * import * as CountMinSketch from "effect-monoid-streams/CountMinSketch"
 *
 * const g = CountMinSketch.group({ width: 64, depth: 3 })
 * const a = CountMinSketch.of("x", { width: 64, depth: 3 })
 * g.combine(a, g.inverse(a)) // equal to g.empty
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const group = (options: Options): Monoid.Group<CountMinSketch> => {
  const empty = make(options)
  const check = checkOf("CountMinSketch", isCountMinSketch, empty, sameParameters)
  return Monoid.makeGroup({
    kind: "custom",
    empty,
    combine: merge,
    inverse: negate,
    commutative: true,
    maxEncodedSize: maxEncodedSize(options),
    check
  })
}

/**
 * The estimated count of an item: the minimum of its counters. When no true count is negative,
 * `estimate ≥ true count`, and `estimate ≤ true count + ε·total` with probability `1 − δ` (see
 * {@link dimensions}).
 *
 * @category estimates
 * @since 0.1.0
 */
export const estimate: {
  (item: Hashable): (self: CountMinSketch) => number
  (self: CountMinSketch, item: Hashable): number
} = dual(2, (self: CountMinSketch, item: Hashable): number => {
  const s = self as Internal
  hashItem(item, s.seed)
  let a = digest.lo
  let b = digest.hi
  let min = Number.POSITIVE_INFINITY
  for (let row = 0; row < s.depth; row++) {
    const v = s.cells[row * s.width + (a % s.width)]!
    if (v < min) min = v
    a = (a + b) >>> 0
    b = (b + row + 1) >>> 0
  }
  return min
})

/**
 * `N`: the sum of all counts added (the sum of any one row).
 *
 * @category getters
 * @since 0.1.0
 */
export const total = (self: CountMinSketch): number => (self as Internal).total

/**
 * A copy of the counters, row-major (`depth` rows of `width`).
 *
 * @category getters
 * @since 0.1.0
 */
export const counters = (self: CountMinSketch): Float64Array => (self as Internal).cells.slice()

/**
 * Structural equality: same parameters and counters.
 *
 * @category equivalence
 * @since 0.1.0
 */
export const equals = (self: CountMinSketch, that: CountMinSketch): boolean =>
  self.width === that.width && self.depth === that.depth && self.seed === that.seed &&
  sameElements((self as Internal).cells, (that as Internal).cells)

/**
 * The binary encoding (format version 1): header `53 4b 02 01`, width and depth (varints), seed
 * (u32 LE), the number of non-zero counters (varint), then for each its gap to the previous one
 * times two plus its sign bit (varint) and its magnitude (varint). Deterministic.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (self: CountMinSketch): Uint8Array => {
  const s = self as Internal
  const cells = s.cells
  let nonZero = 0
  for (let i = 0; i < cells.length; i++) if (cells[i] !== 0) nonZero++
  const w = new Writer(16 + nonZero * 4).header(TypeCode.CountMinSketch).varint(s.width).varint(s.depth).u32(s.seed)
    .varint(nonZero)
  let previous = -1
  for (let i = 0; i < cells.length; i++) {
    const v = cells[i]!
    if (v === 0) continue
    w.varint((i - previous - 1) * 2 + (v < 0 ? 1 : 0)).varint(Math.abs(v))
    previous = i
  }
  return w.done()
}

/**
 * The largest encoding of a sketch with these parameters, in bytes, when no counter's magnitude
 * exceeds `maxCount` (default `2^53 − 1`, the largest a counter can hold): every counter non-zero,
 * each taking one byte of gap and sign plus `varint(maxCount)` bytes, plus at most 17 bytes of
 * header and dimensions. With the default that is at most `9·w·d + 17`; a store that knows a bound
 * on its counts (the total of an insert-only bucket) can pass it for a tighter figure. Give it to
 * `Sketch.checkSize` when a pipeline is built. Throws a `RangeError` for parameters out of range.
 *
 * @example
 * ```ts
 * import * as CountMinSketch from "effect-monoid-streams/CountMinSketch"
 *
 * CountMinSketch.maxEncodedSize({ width: 272, depth: 5 }) // 12253
 * CountMinSketch.maxEncodedSize({ width: 272, depth: 5 }, { maxCount: 1_000_000 }) // 5453
 * ```
 *
 * @category sizes
 * @since 0.1.0
 */
export const maxEncodedSize = (options: Options, bound?: { readonly maxCount?: number }): number => {
  const [width, depth] = params(options)
  const maxCount = bound?.maxCount ?? Number.MAX_SAFE_INTEGER
  if (!(Number.isSafeInteger(maxCount) && maxCount >= 0)) {
    throw new RangeError(`CountMinSketch maxCount must be a non-negative safe integer, got ${maxCount}`)
  }
  const n = width * depth
  const perCounter = 1 + Math.min(varintSize(maxCount), MAX_VARINT_SIZE)
  return 8 + varintSize(width) + varintSize(depth) + varintSize(n) + n * perCounter
}

const read = (r: Reader): CountMinSketch => {
  r.header(TypeCode.CountMinSketch)
  const width = r.varint()
  const depth = r.varint()
  if (width < 1 || depth < 1 || depth > MAX_DEPTH || width * depth > MAX_CELLS) {
    throw new Invalid(`dimensions ${width} × ${depth} out of range`)
  }
  const seed = r.u32()
  const n = width * depth
  const cells = new Float64Array(n)
  const count = r.varint()
  if (count > n) throw new Invalid(`${count} non-zero counters, more than ${n}`)
  let index = -1
  for (let k = 0; k < count; k++) {
    const gap = r.varint()
    index += Math.floor(gap / 2) + 1
    if (index >= n) throw new Invalid(`counter index ${index} out of range`)
    const magnitude = r.varint()
    if (magnitude === 0) throw new Invalid(`counter ${index} is encoded as non-zero but is 0`)
    cells[index] = gap % 2 === 1 ? -magnitude : magnitude
  }
  let total = 0
  for (let row = 0; row < depth; row++) {
    let sum = 0
    for (let c = 0; c < width; c++) {
      sum += cells[row * width + c]!
      if (!Number.isSafeInteger(sum)) throw new Invalid(`row ${row} sums beyond the safe-integer range`)
    }
    if (row === 0) total = sum
    else if (sum !== total) throw new Invalid(`row ${row} sums to ${sum}, row 0 to ${total}: not a Count-Min sketch`)
  }
  return unsafeMake(width, depth, seed, cells, total)
}

/**
 * Decodes and validates bytes written by {@link encode}: header, dimensions, indices in range,
 * and every row summing to the same total.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array): Result.Result<CountMinSketch, SketchDecodeError> =>
  decodeWith("CountMinSketch", bytes, read)

/**
 * Like {@link decode}, but throws the {@link SketchDecodeError}.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decodeUnsafe = (bytes: Uint8Array): CountMinSketch => Result.getOrThrow(decode(bytes))

registerDecoder(TypeCode.CountMinSketch, decode)

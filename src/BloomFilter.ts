/**
 * Bloom filter: approximate set membership in `m` bits, as a commutative, idempotent monoid.
 *
 * An item is hashed once to 64 bits with seeded xxHash64 (see `Hash64`); its `k` bit positions
 * are `((a + i·b + (i³ − i)/6) mod 2^32) mod m` for `i = 0..k−1`, where `a` and `b` are the low
 * and high 32-bit words of the hash (enhanced double hashing, Dillinger & Manolios 2004, in
 * unsigned 32-bit arithmetic: the sum is reduced mod 2^32 before mod `m`).
 *
 * - **Merge** is the bitwise OR: associative, commutative and idempotent exactly, and
 *   `merge(filter(A), filter(B))` is exactly `filter(A ∪ B)`. Not a group: a Bloom filter cannot
 *   forget an item, so use it for insert-only pipelines.
 * - **{@link mightContain}** never answers `false` for an added item (no false negatives, an exact
 *   guarantee); for an item not added it answers `true` with probability about
 *   `(1 − e^(−k·n/m))^k` after `n` distinct insertions ({@link expectedFalsePositiveRate}).
 *   {@link optimal} sizes a filter for a target rate.
 * - **Encoding**: header, `m` (varint), `k` (u8), seed (u32), then the bit array (dense) or the
 *   positions of the set bits as gaps (sparse), whichever is shorter.
 *
 * @example
 * ```ts
 * import * as BloomFilter from "effect-monoid-streams/BloomFilter"
 *
 * const options = BloomFilter.optimal({ expectedItems: 1000, falsePositiveRate: 0.01 }) // { bits: 9586, hashes: 7 }
 * const seen = BloomFilter.fromIterable(["a", "b"], options)
 * BloomFilter.mightContain(seen, "a") // true
 * BloomFilter.mightContain(seen, "zzz") // false (true with probability ≈ 1% at 1000 items)
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
  TypeCode,
  varintSize,
  Writer
} from "./internal/sketch.ts"
import * as Monoid from "./Monoid.ts"
import { type SketchDecodeError, SketchMismatchError } from "./SketchError.ts"

const TypeId: unique symbol = Symbol.for("effect-monoid-streams/BloomFilter")

/**
 * @category type ids
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * A Bloom filter. Its bits are private; read them with {@link bitArray}.
 *
 * @category models
 * @since 0.1.0
 */
export interface BloomFilter extends Pipeable.Pipeable, Inspectable.Inspectable, Equal.Equal {
  readonly [TypeId]: TypeId
  /** `m`: the number of bits. */
  readonly bits: number
  /** `k`: bit positions per item. */
  readonly hashes: number
  /** The hash seed (an unsigned 32-bit integer). */
  readonly seed: number
}

/**
 * Parameters: `bits` (1..2^31), `hashes` (1..32) and an optional `seed` (default 0). Filters
 * merge only with filters of the same parameters.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly bits: number
  readonly hashes: number
  readonly seed?: number
}

interface Internal extends BloomFilter {
  /** bit `j` is bit `j & 7` of byte `j >>> 3`; bits past `m` are 0 */
  readonly words: Uint8Array
  /** The only non-zero bytes (filters made by `of`), or undefined: a merge fast path. */
  readonly touched: ReadonlyArray<number> | undefined
}

const MAX_BITS = 2 ** 31
const MAX_HASHES = 32

const Proto = makeProto<Internal>({
  typeId: TypeId,
  equals: (a, b) => a.bits === b.bits && a.hashes === b.hashes && a.seed === b.seed && sameElements(a.words, b.words),
  hash: (a) => hashElements((a.bits * 31 + a.hashes) * 31 + a.seed, a.words),
  toJSON: (a) => ({ _id: "BloomFilter", bits: a.bits, hashes: a.hashes, seed: a.seed, setBits: popCount(a.words) }),
  encode: (self) => encode(self as unknown as BloomFilter)
})

const unsafeMake = (
  bits: number,
  hashes: number,
  seed: number,
  words: Uint8Array,
  touched?: ReadonlyArray<number>
): BloomFilter => {
  const self = Object.create(Proto) as { -readonly [K in keyof Internal]: Internal[K] }
  self.bits = bits
  self.hashes = hashes
  self.seed = seed
  // not enumerable: printing a sketch (law kit messages, console) shows its parameters, not every counter
  Object.defineProperty(self, "words", { value: words, enumerable: false })
  Object.defineProperty(self, "touched", { value: touched, enumerable: false })
  return self
}

const params = (options: Options): readonly [number, number, number] => {
  const bits = checkInteger("BloomFilter bits", options.bits, 1, MAX_BITS)
  const hashes = checkInteger("BloomFilter hashes", options.hashes, 1, MAX_HASHES)
  const seed = options.seed ?? 0
  if (!isSeed(seed)) throw new RangeError(`BloomFilter seed must be an unsigned 32-bit integer, got ${String(seed)}`)
  return [bits, hashes, seed]
}

const popCount = (words: Uint8Array): number => {
  let n = 0
  for (let i = 0; i < words.length; i++) {
    let b = words[i]!
    while (b !== 0) {
      b &= b - 1
      n++
    }
  }
  return n
}

const insert = (
  words: Uint8Array,
  bits: number,
  hashes: number,
  seed: number,
  item: Hashable,
  touched?: Array<number>
): void => {
  hashItem(item, seed)
  let a = digest.lo
  let b = digest.hi
  for (let i = 0; i < hashes; i++) {
    const j = a % bits
    words[j >>> 3]! |= 1 << (j & 7)
    touched?.push(j >>> 3)
    a = (a + b) >>> 0
    b = (b + i + 1) >>> 0
  }
}

/**
 * The bits and hashes for `expectedItems` distinct items at a false-positive rate:
 * `m = ⌈−n·ln(p) / ln(2)²⌉`, `k = min(32, max(1, round(m/n · ln 2)))`.
 *
 * `k` is capped at 32, the most a filter takes. The cap applies to rates below
 * `2^−32.5 ≈ 1.65e-10`, where `round(log2(1/p))` exceeds 32. `m` is not raised to make up for it,
 * so the filter's rate at `expectedItems` ({@link expectedFalsePositiveRate}) is then above the
 * target: about `1.01e-10` for `1e-10`, `1.14e-11` for `1e-11`, `1.46e-12` for `1e-12` and
 * `5.9e-15` for `1e-15`.
 *
 * @example
 * ```ts
 * import * as BloomFilter from "effect-monoid-streams/BloomFilter"
 *
 * BloomFilter.optimal({ expectedItems: 1_000_000, falsePositiveRate: 0.001 }) // { bits: 14377588, hashes: 10 }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const optimal = (options: {
  readonly expectedItems: number
  readonly falsePositiveRate: number
}): { readonly bits: number; readonly hashes: number } => {
  const n = options.expectedItems, p = options.falsePositiveRate
  if (!(n >= 1)) throw new RangeError(`BloomFilter expectedItems must be at least 1, got ${n}`)
  if (!(p > 0 && p < 1)) throw new RangeError(`BloomFilter falsePositiveRate must be in (0, 1), got ${p}`)
  const bits = Math.ceil((-n * Math.log(p)) / (Math.LN2 * Math.LN2))
  return { bits, hashes: Math.min(MAX_HASHES, Math.max(1, Math.round((bits / n) * Math.LN2))) }
}

/**
 * `(1 − e^(−k·n/m))^k`: the false-positive probability after `n` distinct insertions.
 *
 * @category estimates
 * @since 0.1.0
 */
export const expectedFalsePositiveRate = (options: Options, items: number): number =>
  (1 - Math.exp((-options.hashes * items) / options.bits)) ** options.hashes

/**
 * Whether a value is a Bloom filter.
 *
 * @category guards
 * @since 0.1.0
 */
export const isBloomFilter = (u: unknown): u is BloomFilter =>
  typeof u === "object" && u !== null && (u as Record<symbol, unknown>)[TypeId] === TypeId

/**
 * The empty filter. Throws a `RangeError` for parameters out of range.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): BloomFilter => {
  const [bits, hashes, seed] = params(options)
  return unsafeMake(bits, hashes, seed, new Uint8Array(Math.ceil(bits / 8)))
}

/**
 * A one-item filter: the value a pipeline contributes per document.
 *
 * @category constructors
 * @since 0.1.0
 */
export const of = (item: Hashable, options: Options): BloomFilter => {
  const [bits, hashes, seed] = params(options)
  const words = new Uint8Array(Math.ceil(bits / 8))
  const touched: Array<number> = []
  insert(words, bits, hashes, seed, item, touched)
  return unsafeMake(bits, hashes, seed, words, touched)
}

/**
 * A filter of every item of an iterable.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromIterable = (items: Iterable<Hashable>, options: Options): BloomFilter => {
  const [bits, hashes, seed] = params(options)
  const words = new Uint8Array(Math.ceil(bits / 8))
  for (const item of items) insert(words, bits, hashes, seed, item)
  return unsafeMake(bits, hashes, seed, words)
}

/**
 * Adds an item (returns a new filter).
 *
 * @category combinators
 * @since 0.1.0
 */
export const add: {
  (item: Hashable): (self: BloomFilter) => BloomFilter
  (self: BloomFilter, item: Hashable): BloomFilter
} = dual(2, (self: BloomFilter, item: Hashable): BloomFilter => {
  const s = self as Internal
  const words = s.words.slice()
  insert(words, s.bits, s.hashes, s.seed, item)
  return unsafeMake(s.bits, s.hashes, s.seed, words)
})

const describe = (s: BloomFilter): string => `bits ${s.bits}, hashes ${s.hashes}, seed ${s.seed}`

/** Throws {@link SketchMismatchError} unless the two filters have the same parameters. */
const sameParameters = (a: BloomFilter, b: BloomFilter): void => {
  if (a.bits !== b.bits || a.hashes !== b.hashes || a.seed !== b.seed) {
    throw new SketchMismatchError({ sketch: "BloomFilter", left: describe(a), right: describe(b) })
  }
}

/**
 * The union: the bitwise OR. Throws {@link SketchMismatchError} when the parameters differ.
 *
 * @category combinators
 * @since 0.1.0
 */
export const merge: {
  (that: BloomFilter): (self: BloomFilter) => BloomFilter
  (self: BloomFilter, that: BloomFilter): BloomFilter
} = dual(2, (self: BloomFilter, that: BloomFilter): BloomFilter => {
  const a = self as Internal, b = that as Internal
  sameParameters(a, b)
  if (a === b) return a
  // one-item filters (pipelines contribute `of(item)`): copy the other operand, set a few bytes
  if (a.touched !== undefined || b.touched !== undefined) {
    const [big, small] = b.touched !== undefined ? [a, b] : [b, a]
    const out = big.words.slice()
    for (const i of small.touched!) out[i]! |= small.words[i]!
    return unsafeMake(a.bits, a.hashes, a.seed, out)
  }
  const x = a.words, y = b.words, n = x.length
  const out = new Uint8Array(n)
  let i = 0
  if (x.byteOffset % 4 === 0 && y.byteOffset % 4 === 0) {
    // four bytes at a time, then the tail
    const w = n >>> 2
    const xw = new Uint32Array(x.buffer, x.byteOffset, w), yw = new Uint32Array(y.buffer, y.byteOffset, w)
    const ow = new Uint32Array(out.buffer, 0, w)
    for (let k = 0; k < w; k++) ow[k] = xw[k]! | yw[k]!
    i = w * 4
  }
  for (; i < n; i++) out[i] = x[i]! | y[i]!
  return unsafeMake(a.bits, a.hashes, a.seed, out)
})

/**
 * The monoid of filters with these parameters (`kind: "custom"`, commutative; also idempotent):
 * `empty` is {@link make}`(options)`, `combine` is {@link merge}.
 *
 * @category instances
 * @since 0.1.0
 */
export const monoid = (options: Options): Monoid.Monoid<BloomFilter> => {
  const empty = make(options)
  const check = checkOf("BloomFilter", isBloomFilter, empty, sameParameters)
  return Monoid.make({ kind: "custom", empty, combine: merge, commutative: true, maxEncodedSize: maxEncodedSize(options), check })
}

/**
 * `false` when the item was certainly never added; `true` when it was added or, with a small
 * probability, when it was not (a false positive).
 *
 * @category estimates
 * @since 0.1.0
 */
export const mightContain: {
  (item: Hashable): (self: BloomFilter) => boolean
  (self: BloomFilter, item: Hashable): boolean
} = dual(2, (self: BloomFilter, item: Hashable): boolean => {
  const s = self as Internal
  hashItem(item, s.seed)
  let a = digest.lo
  let b = digest.hi
  const words = s.words, bits = s.bits
  for (let i = 0; i < s.hashes; i++) {
    const j = a % bits
    if ((words[j >>> 3]! & (1 << (j & 7))) === 0) return false
    a = (a + b) >>> 0
    b = (b + i + 1) >>> 0
  }
  return true
})

/**
 * The number of set bits.
 *
 * @category getters
 * @since 0.1.0
 */
export const setBits = (self: BloomFilter): number => popCount((self as Internal).words)

/**
 * The estimated number of distinct items added, `−(m/k)·ln(1 − X/m)` with `X` set bits
 * (Swamidass & Baldi); `Infinity` when every bit is set.
 *
 * @category estimates
 * @since 0.1.0
 */
export const estimateCount = (self: BloomFilter): number => {
  const set = setBits(self)
  return set === 0 ? 0 : (-self.bits / self.hashes) * Math.log(1 - set / self.bits)
}

/**
 * A copy of the bit array (`⌈m/8⌉` bytes; bit `j` is bit `j & 7` of byte `j >>> 3`).
 *
 * @category getters
 * @since 0.1.0
 */
export const bitArray = (self: BloomFilter): Uint8Array => (self as Internal).words.slice()

/**
 * Structural equality: same parameters and bits.
 *
 * @category equivalence
 * @since 0.1.0
 */
export const equals = (self: BloomFilter, that: BloomFilter): boolean =>
  self.bits === that.bits && self.hashes === that.hashes && self.seed === that.seed &&
  sameElements((self as Internal).words, (that as Internal).words)

/**
 * The binary encoding (format version 1): header `53 4b 04 01`, `m` (varint), `k` (u8), seed
 * (u32 LE), then `0` and the `⌈m/8⌉` bytes (dense), or `1`, the number of set bits (varint) and
 * the gap before each (varint) (sparse), whichever is shorter (dense on a tie). Deterministic.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (self: BloomFilter): Uint8Array => {
  const s = self as Internal
  const words = s.words
  let set = 0
  let sparseSize = 0
  let previous = -1
  for (let j = 0; j < s.bits; j++) {
    if ((words[j >>> 3]! & (1 << (j & 7))) === 0) continue
    set++
    sparseSize += varintSize(j - previous - 1)
    previous = j
    if (sparseSize >= words.length) break
  }
  sparseSize += varintSize(set)
  const w = new Writer(16 + Math.min(words.length, sparseSize)).header(TypeCode.BloomFilter).varint(s.bits)
    .u8(s.hashes).u32(s.seed)
  if (sparseSize >= words.length) return w.u8(0).bytes(words).done()
  w.u8(1).varint(set)
  previous = -1
  for (let j = 0; j < s.bits; j++) {
    if ((words[j >>> 3]! & (1 << (j & 7))) === 0) continue
    w.varint(j - previous - 1)
    previous = j
  }
  return w.done()
}

/**
 * The largest encoding of a filter with these parameters, in bytes: `⌈m/8⌉ + 10 + varint(m)`
 * (the dense form, at most `⌈m/8⌉ + 15`; the sparse form is used only when shorter). Give it to
 * `Sketch.checkSize` when a pipeline is built: DynamoDB's 400 KB hold about 3.2 Mbit, a 1% filter
 * of some 340k items. Throws a `RangeError` for parameters out of range.
 *
 * @example
 * ```ts
 * import * as BloomFilter from "effect-monoid-streams/BloomFilter"
 *
 * BloomFilter.maxEncodedSize(BloomFilter.optimal({ expectedItems: 100_000, falsePositiveRate: 0.01 })) // 119827
 * ```
 *
 * @category sizes
 * @since 0.1.0
 */
export const maxEncodedSize = (options: Options): number => {
  const [bits] = params(options)
  return Math.ceil(bits / 8) + 10 + varintSize(bits)
}

const read = (r: Reader): BloomFilter => {
  r.header(TypeCode.BloomFilter)
  const bits = r.varint()
  if (bits < 1 || bits > MAX_BITS) throw new Invalid(`${bits} bits out of range`)
  const hashes = r.u8()
  if (hashes < 1 || hashes > MAX_HASHES) throw new Invalid(`${hashes} hashes out of range`)
  const seed = r.u32()
  const length = Math.ceil(bits / 8)
  const mode = r.u8()
  let words: Uint8Array
  if (mode === 0) {
    words = r.bytes(length)
    const tail = bits % 8
    if (tail !== 0 && (words[length - 1]! >>> tail) !== 0) throw new Invalid("bits set past the end of the filter")
  } else if (mode === 1) {
    words = new Uint8Array(length)
    const count = r.varint()
    if (count > bits) throw new Invalid(`${count} set bits, more than ${bits}`)
    let j = -1
    for (let k = 0; k < count; k++) {
      j += r.varint() + 1
      if (j >= bits) throw new Invalid(`bit ${j} out of range`)
      words[j >>> 3]! |= 1 << (j & 7)
    }
  } else {
    throw new Invalid(`unknown bit-array mode ${mode}`)
  }
  return unsafeMake(bits, hashes, seed, words)
}

/**
 * Decodes and validates bytes written by {@link encode}.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array): Result.Result<BloomFilter, SketchDecodeError> =>
  decodeWith("BloomFilter", bytes, read)

/**
 * Like {@link decode}, but throws the {@link SketchDecodeError}.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decodeUnsafe = (bytes: Uint8Array): BloomFilter => Result.getOrThrow(decode(bytes))

registerDecoder(TypeCode.BloomFilter, decode)

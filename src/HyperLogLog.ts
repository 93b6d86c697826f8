/**
 * HyperLogLog: approximate distinct counts in `2^p` bytes, as a commutative, idempotent monoid.
 *
 * A sketch has a precision `p` (4..18, so `m = 2^p` registers) and a hash seed. An item is hashed
 * to 64 bits with xxHash64 (see `Hash64`: strings as UTF-8, numbers as float64, bigints as
 * decimal digits); the top `p` bits pick a register, and the register keeps the largest
 * "rank" seen (the number of leading zeros of the remaining `64 - p` bits, plus one).
 *
 * - **Merge** is the register-wise maximum. It is associative, commutative and idempotent
 *   *exactly*, and `merge(sketch(A), sketch(B))` is exactly `sketch(A ∪ B)`: merging loses
 *   nothing. It is not a group (a distinct count cannot retract an item), so use it for
 *   insert-only pipelines.
 * - **Estimate** ({@link estimate}) is Otmar Ertl's improved raw estimator ("New cardinality
 *   estimation algorithms for HyperLogLog sketches", 2017, the estimator Redis uses since 5.0),
 *   with Flajolet et al.'s constant `α_m` for `m` registers in place of its large-sketch constant
 *   `α∞` as registers fill up: it needs no empirical bias tables and no switch between linear
 *   counting and the raw estimate, and it is practically unbiased from 0 to far beyond 2^40
 *   distinct items. In seeded trials its mean error is within ±1% at every precision, except for
 *   at most `m / 2` items at `p = 4` and `5`, where it is at most +3% (one item at `p = 4` is
 *   estimated as 1.03). Its relative standard error is about
 *   {@link standardError}`(p) = 1.04 / sqrt(2^p)` (0.81% at `p = 14`); at `p = 4`, `5` and `6`
 *   it is about 6%, 3% and 1% larger (27.7%, 18.9% and 13.2% instead of 26%, 18.4% and 13%).
 *   {@link estimateClassic} is the original Flajolet et al. estimator with the small-range
 *   correction (linear counting below `2.5 m` when a register is still zero); no large-range
 *   correction is needed with a 64-bit hash. HLL++'s empirical bias tables are not used.
 * - **Encoding**: a 4-byte header, the precision, the seed (u32), then the registers, dense
 *   (`m` bytes) or sparse (gaps and values of the non-zero registers) whichever is shorter, so a
 *   sketch of a few items takes a few bytes.
 *
 * Values are immutable: `add` and `merge` return new sketches. Equality is structural (effect
 * `Equal`, so `Equal.equals` of this library and of effect compare registers).
 *
 * @example
 * ```ts
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 *
 * const visitors = HyperLogLog.fromIterable(["ann", "bob", "ann"], { precision: 12 })
 * HyperLogLog.estimate(visitors) // ≈ 2
 * const more = visitors.pipe(HyperLogLog.add("cy"))
 * const all = HyperLogLog.monoid({ precision: 12 }).combineAll([visitors, more])
 * HyperLogLog.estimate(all) // ≈ 3
 * HyperLogLog.decodeUnsafe(HyperLogLog.encode(all)) // equal to `all`
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

const TypeId: unique symbol = Symbol.for("effect-monoid-streams/HyperLogLog")

/**
 * @category type ids
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * A HyperLogLog sketch. Its registers are private; read them with {@link registers}.
 *
 * @category models
 * @since 0.1.0
 */
export interface HyperLogLog extends Pipeable.Pipeable, Inspectable.Inspectable, Equal.Equal {
  readonly [TypeId]: TypeId
  /** `p`: the sketch has `2^p` registers. */
  readonly precision: number
  /** The hash seed (an unsigned 32-bit integer). */
  readonly seed: number
}

/**
 * Parameters: `precision` 4..18 and an optional hash `seed` (default 0). Sketches merge only with
 * sketches of the same parameters.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly precision: number
  readonly seed?: number
}

interface Internal extends HyperLogLog {
  readonly registers: Uint8Array
  /** The index of the only non-zero register (sketches made by `of`), or -1: a merge fast path. */
  readonly only: number
}

/**
 * The smallest precision.
 *
 * @category constants
 * @since 0.1.0
 */
export const minPrecision = 4

/**
 * The largest precision (`2^18` registers, 256 KiB).
 *
 * @category constants
 * @since 0.1.0
 */
export const maxPrecision = 18

const Proto = makeProto<Internal>({
  typeId: TypeId,
  equals: (a, b) => a.precision === b.precision && a.seed === b.seed && sameElements(a.registers, b.registers),
  hash: (a) => hashElements(a.precision * 31 + a.seed, a.registers),
  toJSON: (a) => ({ _id: "HyperLogLog", precision: a.precision, seed: a.seed, estimate: estimate(a) }),
  encode: (self) => encode(self as unknown as HyperLogLog)
})

const unsafeMake = (precision: number, seed: number, registers: Uint8Array, only = -1): HyperLogLog => {
  const self = Object.create(Proto) as { -readonly [K in keyof Internal]: Internal[K] }
  self.precision = precision
  self.seed = seed
  // not enumerable: printing a sketch (law kit messages, console) shows its parameters, not every counter
  Object.defineProperty(self, "registers", { value: registers, enumerable: false })
  Object.defineProperty(self, "only", { value: only, enumerable: false })
  return self
}

const params = (options: Options): readonly [number, number] => {
  const p = checkInteger("HyperLogLog precision", options.precision, minPrecision, maxPrecision)
  const seed = options.seed ?? 0
  if (!isSeed(seed)) throw new RangeError(`HyperLogLog seed must be an unsigned 32-bit integer, got ${String(seed)}`)
  return [p, seed]
}

/** Sets register of `item` in `registers` (mutating: only on fresh arrays); returns its index. */
const insert = (registers: Uint8Array, p: number, seed: number, item: Hashable): number => {
  hashItem(item, seed)
  const hi = digest.hi, lo = digest.lo
  const index = hi >>> (32 - p)
  const wHi = ((hi << p) | (lo >>> (32 - p))) >>> 0
  const wLo = (lo << p) >>> 0
  const rank = wHi !== 0 ? Math.clz32(wHi) + 1 : wLo !== 0 ? 33 + Math.clz32(wLo) : 65 - p
  if (rank > registers[index]!) registers[index] = rank
  return index
}

/**
 * Whether a value is a HyperLogLog sketch.
 *
 * @category guards
 * @since 0.1.0
 */
export const isHyperLogLog = (u: unknown): u is HyperLogLog =>
  typeof u === "object" && u !== null && (u as Record<symbol, unknown>)[TypeId] === TypeId

/**
 * The empty sketch (estimate 0) with these parameters. Throws a `RangeError` for a precision
 * outside 4..18 or a seed that is not an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 *
 * HyperLogLog.estimate(HyperLogLog.make({ precision: 14 })) // 0
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): HyperLogLog => {
  const [p, seed] = params(options)
  return unsafeMake(p, seed, new Uint8Array(1 << p))
}

/**
 * A one-item sketch: the value a pipeline contributes per document.
 *
 * @example
 * ```ts
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 *
 * const m = HyperLogLog.monoid({ precision: 12 })
 * HyperLogLog.estimate(m.combineAll(["a", "b", "a"].map((x) => HyperLogLog.of(x, { precision: 12 })))) // ≈ 2
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const of = (item: Hashable, options: Options): HyperLogLog => {
  const [p, seed] = params(options)
  const registers = new Uint8Array(1 << p)
  const index = insert(registers, p, seed, item)
  return unsafeMake(p, seed, registers, index)
}

/**
 * A sketch of every item of an iterable (one allocation: the fast way to sketch a batch).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromIterable = (items: Iterable<Hashable>, options: Options): HyperLogLog => {
  const [p, seed] = params(options)
  const registers = new Uint8Array(1 << p)
  for (const item of items) insert(registers, p, seed, item)
  return unsafeMake(p, seed, registers)
}

/**
 * Adds one item (returns a new sketch).
 *
 * @example
 * ```ts
 * import { pipe } from "effect/Function"
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 *
 * pipe(HyperLogLog.make({ precision: 10 }), HyperLogLog.add("x"), HyperLogLog.estimate) // ≈ 1
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const add: {
  (item: Hashable): (self: HyperLogLog) => HyperLogLog
  (self: HyperLogLog, item: Hashable): HyperLogLog
} = dual(2, (self: HyperLogLog, item: Hashable): HyperLogLog => {
  const s = self as Internal
  const registers = s.registers.slice()
  insert(registers, s.precision, s.seed, item)
  return unsafeMake(s.precision, s.seed, registers)
})

/**
 * Adds every item of an iterable (returns a new sketch; one copy of the registers).
 *
 * @category combinators
 * @since 0.1.0
 */
export const addAll: {
  (items: Iterable<Hashable>): (self: HyperLogLog) => HyperLogLog
  (self: HyperLogLog, items: Iterable<Hashable>): HyperLogLog
} = dual(2, (self: HyperLogLog, items: Iterable<Hashable>): HyperLogLog => {
  const s = self as Internal
  const registers = s.registers.slice()
  for (const item of items) insert(registers, s.precision, s.seed, item)
  return unsafeMake(s.precision, s.seed, registers)
})

const describe = (s: HyperLogLog): string => `precision ${s.precision}, seed ${s.seed}`

/** Throws {@link SketchMismatchError} unless the two sketches have the same parameters. */
const sameParameters = (a: HyperLogLog, b: HyperLogLog): void => {
  if (a.precision !== b.precision || a.seed !== b.seed) {
    throw new SketchMismatchError({ sketch: "HyperLogLog", left: describe(a), right: describe(b) })
  }
}

/**
 * The union of two sketches: the register-wise maximum. Throws {@link SketchMismatchError} when
 * the precisions or seeds differ.
 *
 * @category combinators
 * @since 0.1.0
 */
export const merge: {
  (that: HyperLogLog): (self: HyperLogLog) => HyperLogLog
  (self: HyperLogLog, that: HyperLogLog): HyperLogLog
} = dual(2, (self: HyperLogLog, that: HyperLogLog): HyperLogLog => {
  const a = self as Internal, b = that as Internal
  sameParameters(a, b)
  if (a === b) return a
  // one-item sketches (pipelines contribute `of(item)`): copy the other operand, raise one register
  if (b.only >= 0 || a.only >= 0) {
    const [big, one] = b.only >= 0 ? [a, b] : [b, a]
    const out = big.registers.slice()
    const i = one.only
    if (one.registers[i]! > out[i]!) out[i] = one.registers[i]!
    return unsafeMake(a.precision, a.seed, out, big.only === i ? i : -1)
  }
  return unsafeMake(a.precision, a.seed, maxRegisters(a.registers, b.registers))
})

/**
 * The register-wise maximum. Registers are at most 65 − 4 = 61 < 128, so four of them are compared
 * at once in a 32-bit word: `(x | 0x80) − y` keeps the high bit of a byte exactly when `x ≥ y`,
 * and never borrows from the next byte.
 */
const maxRegisters = (x: Uint8Array, y: Uint8Array): Uint8Array => {
  const n = x.length
  const out = new Uint8Array(n)
  if (n % 4 === 0 && x.byteOffset % 4 === 0 && y.byteOffset % 4 === 0) {
    const xw = new Uint32Array(x.buffer, x.byteOffset, n / 4)
    const yw = new Uint32Array(y.buffer, y.byteOffset, n / 4)
    const ow = new Uint32Array(out.buffer, 0, n / 4)
    for (let i = 0; i < xw.length; i++) {
      const u = xw[i]!, v = yw[i]!
      const ge = (((u | 0x80808080) - v) & 0x80808080) >>> 7 // 1 in each byte where u ≥ v
      const mask = Math.imul(ge, 0xff) // 0xff in each byte where u ≥ v
      ow[i] = (u & mask) | (v & ~mask)
    }
    return out
  }
  for (let i = 0; i < n; i++) {
    const u = x[i]!, v = y[i]!
    out[i] = u > v ? u : v
  }
  return out
}

/**
 * The monoid of sketches with these parameters (`kind: "custom"`, commutative; also
 * idempotent). `empty` is {@link make}`(options)`; `combine` is {@link merge}, which throws
 * {@link SketchMismatchError} for sketches of other parameters.
 *
 * @example
 * ```ts
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 *
 * const m = HyperLogLog.monoid({ precision: 14 })
 * m.combine(m.empty, HyperLogLog.of("a", { precision: 14 })) // the one-item sketch
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const monoid = (options: Options): Monoid.Monoid<HyperLogLog> => {
  const empty = make(options)
  const check = checkOf("HyperLogLog", isHyperLogLog, empty, sameParameters)
  return Monoid.make({ kind: "custom", empty, combine: merge, commutative: true, maxEncodedSize: maxEncodedSize(options), check })
}

/**
 * The relative standard error of the estimate at precision `p`: `1.04 / sqrt(2^p)`, its value for
 * large sketches. The error is a little larger at the smallest precisions: about `1.106 / sqrt(m)`,
 * `1.070 / sqrt(m)` and `1.054 / sqrt(m)` at `p = 4`, `5` and `6` (Flajolet et al.).
 *
 * @example
 * ```ts
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 *
 * HyperLogLog.standardError(14) // 0.008125
 * ```
 *
 * @category estimates
 * @since 0.1.0
 */
export const standardError = (precision: number): number => 1.04 / Math.sqrt(2 ** precision)

const sigma = (x: number): number => {
  if (x === 1) return Number.POSITIVE_INFINITY
  let y = 1
  let z = x
  let previous: number
  do {
    x *= x
    previous = z
    z += x * y
    y += y
  } while (previous !== z)
  return z
}

const tau = (x: number): number => {
  if (x === 0 || x === 1) return 0
  let y = 1
  let z = 1 - x
  let previous: number
  do {
    x = Math.sqrt(x)
    previous = z
    y *= 0.5
    z -= (1 - x) * (1 - x) * y
  } while (previous !== z)
  return z / 3
}

const ALPHA_INF = 1 / (2 * Math.LN2)

/**
 * Flajolet et al.'s bias constant `α_m` for `m` registers: the tabulated values for 16, 32 and 64,
 * else `α∞ / (1 + 1.079 / m)` (the paper writes `α∞ = 1 / (2 ln 2)` as 0.7213).
 */
const alpha = (m: number): number =>
  m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : ALPHA_INF / (1 + 1.079 / m)

/**
 * The estimated number of distinct items, with Ertl's improved estimator (see the module doc).
 * A float; 0 for the empty sketch.
 *
 * Ertl's estimator is `α∞ m² / z`. While most registers are zero it is in effect linear counting,
 * for which `α∞` is right. Once few registers are zero it is the harmonic mean of the registers,
 * which needs Flajolet et al.'s `α_m`: with `α∞` it over-estimates by the factor `α∞ / α_m` (7.2%
 * at `p = 4`, 3.5% at `p = 5`, 1.7% at `p = 6`, `1.079 / m` above). So the constant used is
 * `α∞ + (α_m − α∞) f`, where `f` is the fraction of non-zero registers; with no register at zero
 * or at the largest rank, the estimate is {@link estimateClassic}'s harmonic-mean estimate.
 *
 * @category estimates
 * @since 0.1.0
 */
export const estimate = (self: HyperLogLog): number => {
  const s = self as Internal
  const q = 64 - s.precision
  const m = s.registers.length
  const counts = new Int32Array(q + 2)
  const regs = s.registers
  for (let i = 0; i < m; i++) counts[regs[i]!]!++
  let z = m * tau((m - counts[q + 1]!) / m)
  for (let k = q; k >= 1; k--) z = 0.5 * (z + counts[k]!)
  z += m * sigma(counts[0]! / m)
  const a = ALPHA_INF + (alpha(m) - ALPHA_INF) * ((m - counts[0]!) / m)
  return (a * m * m) / z
}

/**
 * The original HyperLogLog estimate (Flajolet, Fusy, Gandouet, Meunier 2007): the raw harmonic
 * mean estimate, replaced by linear counting `m ln(m / V)` when it is at most `2.5 m` and `V > 0`
 * registers are zero. Kept for comparison; it has a visible bias just above `2.5 m` that
 * {@link estimate} does not have.
 *
 * @category estimates
 * @since 0.1.0
 */
export const estimateClassic = (self: HyperLogLog): number => {
  const s = self as Internal
  const m = s.registers.length
  let sum = 0
  let zeros = 0
  for (const r of s.registers) {
    sum += 2 ** -r
    if (r === 0) zeros++
  }
  const raw = (alpha(m) * m * m) / sum
  return raw <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : raw
}

/**
 * A copy of the registers (`2^p` bytes).
 *
 * @category getters
 * @since 0.1.0
 */
export const registers = (self: HyperLogLog): Uint8Array => (self as Internal).registers.slice()

/**
 * Whether no item was added (every register is zero).
 *
 * @category getters
 * @since 0.1.0
 */
export const isEmpty = (self: HyperLogLog): boolean => (self as Internal).registers.every((r) => r === 0)

/**
 * Structural equality: same parameters and registers.
 *
 * @category equivalence
 * @since 0.1.0
 */
export const equals = (self: HyperLogLog, that: HyperLogLog): boolean =>
  self.precision === that.precision && self.seed === that.seed &&
  sameElements((self as Internal).registers, (that as Internal).registers)

/**
 * The binary encoding (format version 1): header `53 4b 01 01`, precision (u8), seed (u32 LE),
 * then `0` and the `2^p` registers (dense), or `1`, the number of non-zero registers (varint) and
 * for each the gap to the previous one (varint) and its value (u8) (sparse), whichever is
 * shorter (dense on a tie). Deterministic: equal sketches have equal encodings.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (self: HyperLogLog): Uint8Array => {
  const s = self as Internal
  const regs = s.registers
  const m = regs.length
  let nonZero = 0
  let sparseSize = 0
  let previous = -1
  for (let i = 0; i < m; i++) {
    if (regs[i] === 0) continue
    nonZero++
    sparseSize += varintSize(i - previous - 1) + 1
    previous = i
  }
  sparseSize += varintSize(nonZero)
  const w = new Writer(10 + Math.min(m, sparseSize)).header(TypeCode.HyperLogLog).u8(s.precision).u32(s.seed)
  if (sparseSize >= m) return w.u8(0).bytes(regs).done()
  w.u8(1).varint(nonZero)
  previous = -1
  for (let i = 0; i < m; i++) {
    if (regs[i] === 0) continue
    w.varint(i - previous - 1).u8(regs[i]!)
    previous = i
  }
  return w.done()
}

/**
 * The largest encoding of a sketch with these parameters, in bytes: `2^p + 10` (the dense form;
 * the sparse form is used only when shorter). Give it to `Sketch.checkSize` when a pipeline is
 * built. Throws a `RangeError` for parameters out of range.
 *
 * @example
 * ```ts
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 *
 * HyperLogLog.maxEncodedSize({ precision: 14 }) // 16394
 * HyperLogLog.maxEncodedSize({ precision: 18 }) // 262154: every precision fits DynamoDB's 400 KB
 * ```
 *
 * @category sizes
 * @since 0.1.0
 */
export const maxEncodedSize = (options: Options): number => (1 << params(options)[0]) + 10

const read = (r: Reader): HyperLogLog => {
  r.header(TypeCode.HyperLogLog)
  const p = r.u8()
  if (p < minPrecision || p > maxPrecision) throw new Invalid(`precision ${p} outside [${minPrecision}, ${maxPrecision}]`)
  const seed = r.u32()
  const m = 1 << p
  const top = 65 - p
  const mode = r.u8()
  let regs: Uint8Array
  if (mode === 0) {
    regs = r.bytes(m)
    for (let i = 0; i < m; i++) {
      if (regs[i]! > top) throw new Invalid(`register ${i} is ${regs[i]}, above the largest rank ${top}`)
    }
  } else if (mode === 1) {
    regs = new Uint8Array(m)
    const count = r.varint()
    if (count > m) throw new Invalid(`${count} non-zero registers, more than ${m}`)
    let index = -1
    for (let k = 0; k < count; k++) {
      index += r.varint() + 1
      if (index >= m) throw new Invalid(`register index ${index} out of range`)
      const v = r.u8()
      if (v === 0 || v > top) throw new Invalid(`register ${index} is ${v}, outside [1, ${top}]`)
      regs[index] = v
    }
  } else {
    throw new Invalid(`unknown register mode ${mode}`)
  }
  return unsafeMake(p, seed, regs)
}

/**
 * Decodes and validates bytes written by {@link encode}: the header, the precision range, the
 * register values (at most `65 - p`), sparse indices in range, and no trailing bytes.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array): Result.Result<HyperLogLog, SketchDecodeError> =>
  decodeWith("HyperLogLog", bytes, read)

/**
 * Like {@link decode}, but throws the {@link SketchDecodeError}.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decodeUnsafe = (bytes: Uint8Array): HyperLogLog => Result.getOrThrow(decode(bytes))

registerDecoder(TypeCode.HyperLogLog, decode)

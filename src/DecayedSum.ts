/**
 * Exponentially decayed sums (trending scores): every contribution loses half its weight every
 * `halfLife`.
 *
 * A value is `(value, at)`: the sum of its contributions, each decayed to the reference time `at`
 * (milliseconds, like `Monoid.Stamped`). `combine` moves both operands to the later reference time
 * and adds them:
 *
 * ```text
 * combine((v₁, t₁), (v₂, t₂)) = (v₁·2^(−(T−t₁)/h) + v₂·2^(−(T−t₂)/h), T)   with T = max(t₁, t₂)
 * ```
 *
 * Decay factors are at most 1, so a contribution never grows; a very old one underflows to 0. The
 * sum itself can leave the float range (beyond about ±1.8e308, as `1e308 + 1e308` does): `combine`
 * then throws a `RangeError` rather than return an infinite value, which {@link decode} would
 * refuse. The empty value is `(0, −Infinity)`. {@link valueAt} reads the score at any time.
 *
 * Which laws hold, and how they are tested (`test/sketch/decayed.test.ts`):
 * - **exactly**: left and right identity (`combine` returns the other operand), commutativity
 *   (the same two float products are added, and float addition is commutative; equal times decay
 *   by exactly 1), and the reference time of any bracketing (a maximum);
 * - **up to floating-point error**: associativity. The two bracketings decay a contribution by
 *   `2^(−x)·2^(−y)` or by `2^(−(x+y))` and add in a different order, so the values differ by a
 *   few units in the last place. For contributions of one sign the relative difference is below
 *   `1e-12` (plus `1e-300` absolute, for results that underflow to subnormals); with mixed signs
 *   cancellation can make the *relative* difference large, so it is bounded relative to the sum
 *   of magnitudes instead. The law kit checks associativity with {@link approximatelyEquals}
 *   (`Laws.checkApproximately`) and the other laws with exact equality.
 *
 * It is a monoid, not a group: `(v, t)` and `(−v, t)` combine to `(0, t)`, which is not the
 * identity `(0, −Infinity)` (it still moves the reference time).
 *
 * Values are plain objects `{ halfLife, value, at }`, so they work with the library's `Equal`, the
 * law kit's mutation checks and the JSON value codec (which writes `-Infinity` as a tagged number).
 *
 * @example
 * ```ts
 * import * as DecayedSum from "effect-monoid-streams/DecayedSum"
 *
 * const hour = 3_600_000
 * const m = DecayedSum.monoid({ halfLife: hour })
 * const score = m.combineAll([DecayedSum.of(10, 0, { halfLife: hour }), DecayedSum.of(4, hour, { halfLife: hour })])
 * DecayedSum.valueAt(score, hour) // 9: 10 decayed by one half-life, plus 4
 * DecayedSum.valueAt(score, 3 * hour) // 2.25
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { dual } from "effect/Function"
import * as Result from "effect/Result"
import { decodeWith, Invalid, type Reader, TypeCode, Writer } from "./internal/sketch.ts"
import * as Monoid from "./Monoid.ts"
import { type SketchDecodeError, SketchMismatchError } from "./SketchError.ts"

/**
 * A decayed sum: `value` as of time `at` (ms), decaying with `halfLife` (ms).
 *
 * @category models
 * @since 0.1.0
 */
export interface DecayedSum {
  readonly halfLife: number
  readonly value: number
  readonly at: number
}

/**
 * Parameters: the half-life, as milliseconds or an effect `Duration` input (`"1 hour"`). It must
 * be positive and finite.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly halfLife: Duration.Input
}

const halfLifeOf = (options: Options): number => {
  const h = Duration.toMillis(options.halfLife)
  if (!(h > 0 && Number.isFinite(h))) throw new RangeError(`DecayedSum halfLife must be positive and finite, got ${h} ms`)
  return h
}

/**
 * The empty decayed sum `(0, −Infinity)`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): DecayedSum => ({ halfLife: halfLifeOf(options), value: 0, at: -Infinity })

/**
 * One contribution: `value` at time `at` (ms). Both must be finite.
 *
 * @category constructors
 * @since 0.1.0
 */
export const of = (value: number, at: number, options: Options): DecayedSum => {
  if (!Number.isFinite(value)) throw new RangeError(`DecayedSum value must be finite, got ${value}`)
  if (!Number.isFinite(at)) throw new RangeError(`DecayedSum time must be finite, got ${at}`)
  return { halfLife: halfLifeOf(options), value: value === 0 ? 0 : value, at }
}

const decay = (value: number, from: number, to: number, halfLife: number): number =>
  from === to || value === 0 ? value : value * 2 ** (-(to - from) / halfLife)

/**
 * The score at time `time` (ms): `value · 2^(−(time − at)/halfLife)`. Reading before `at` grows
 * the value back (by the same formula, so far enough back it reads ±Infinity); the empty sum reads
 * 0 at any time.
 *
 * @category getters
 * @since 0.1.0
 */
export const valueAt: {
  (time: number): (self: DecayedSum) => number
  (self: DecayedSum, time: number): number
} = dual(2, (self: DecayedSum, time: number): number => decay(self.value, self.at, time, self.halfLife))

/**
 * The sum of two decayed sums, at the later reference time. Throws {@link SketchMismatchError}
 * when the half-lives differ, and a `RangeError` when the sum is not a finite number (it exceeds
 * the float range, about ±1.8e308).
 *
 * @category combinators
 * @since 0.1.0
 */
export const merge: {
  (that: DecayedSum): (self: DecayedSum) => DecayedSum
  (self: DecayedSum, that: DecayedSum): DecayedSum
} = dual(2, (self: DecayedSum, that: DecayedSum): DecayedSum => {
  if (self.halfLife !== that.halfLife) {
    throw new SketchMismatchError({
      sketch: "DecayedSum",
      left: `halfLife ${self.halfLife} ms`,
      right: `halfLife ${that.halfLife} ms`
    })
  }
  if (that.at === -Infinity) return self
  if (self.at === -Infinity) return that
  const at = self.at >= that.at ? self.at : that.at
  const value = decay(self.value, self.at, at, self.halfLife) + decay(that.value, that.at, at, self.halfLife)
  if (!Number.isFinite(value)) {
    throw new RangeError(
      `DecayedSum overflow: ${self.value} at ${self.at} plus ${that.value} at ${that.at} is ${value} at ${at}`
    )
  }
  return { halfLife: self.halfLife, value: value === 0 ? 0 : value, at }
})

/**
 * Adds a contribution `value` at time `at`. Throws a `RangeError` as {@link of} and {@link merge} do.
 *
 * @category combinators
 * @since 0.1.0
 */
export const add: {
  (value: number, at: number): (self: DecayedSum) => DecayedSum
  (self: DecayedSum, value: number, at: number): DecayedSum
} = dual(3, (self: DecayedSum, value: number, at: number): DecayedSum => merge(self, of(value, at, self)))

/**
 * The monoid of decayed sums with this half-life (`kind: "custom"`, commutative). Associative up
 * to floating-point error only; see the module doc. Its `check` refuses a value of another
 * half-life, a value that is not finite, and a reference time that is not finite (except the
 * empty sum's), as {@link decode} does.
 *
 * @category instances
 * @since 0.1.0
 */
export const monoid = (options: Options): Monoid.Monoid<DecayedSum> => {
  const empty = make(options)
  const check = (s: DecayedSum): void => {
    // a merge with the empty sum checks the half-life and returns the operand: no copy
    merge(empty, s)
    if (!Number.isFinite(s.value)) throw new RangeError(`DecayedSum value must be finite, got ${s.value}`)
    if (!Number.isFinite(s.at) && !(s.at === -Infinity && s.value === 0)) {
      throw new RangeError(`DecayedSum time must be finite (only the empty sum (0, -Infinity) has no time), got ${s.at}`)
    }
  }
  return Monoid.make({ kind: "custom", empty, combine: merge, commutative: true, check })
}

/**
 * An equivalence up to a tolerance: same half-life and reference time, and values within
 * `relative · max(|a|, |b|) + absolute` (defaults `1e-12` and `1e-300`). The equality for the
 * associativity law of sums of one sign.
 *
 * @example
 * ```ts
 * import * as DecayedSum from "effect-monoid-streams/DecayedSum"
 *
 * const eq = DecayedSum.approximatelyEquals({ relative: 1e-9 })
 * eq({ halfLife: 1, value: 1, at: 0 }, { halfLife: 1, value: 1 + 1e-12, at: 0 }) // true
 * ```
 *
 * @category equivalence
 * @since 0.1.0
 */
export const approximatelyEquals = (tolerance?: { readonly relative?: number; readonly absolute?: number }) => {
  const relative = tolerance?.relative ?? 1e-12
  const absolute = tolerance?.absolute ?? 1e-300
  return (self: DecayedSum, that: DecayedSum): boolean =>
    self.halfLife === that.halfLife && self.at === that.at &&
    Math.abs(self.value - that.value) <= relative * Math.max(Math.abs(self.value), Math.abs(that.value)) + absolute
}

/**
 * The binary encoding (format version 1): header `53 4b 05 01`, then half-life, value and
 * reference time as float64 LE ({@link encodedSize} = 28 bytes in all).
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (self: DecayedSum): Uint8Array =>
  new Writer(encodedSize).header(TypeCode.DecayedSum).f64(self.halfLife).f64(self.value).f64(self.at).done()

/**
 * The size of every encoding: 28 bytes.
 *
 * @category sizes
 * @since 0.1.0
 */
export const encodedSize = 28

const read = (r: Reader): DecayedSum => {
  r.header(TypeCode.DecayedSum)
  const halfLife = r.f64()
  const value = r.f64()
  const at = r.f64()
  if (!(halfLife > 0 && Number.isFinite(halfLife))) throw new Invalid(`half-life ${halfLife} is not positive and finite`)
  if (!Number.isFinite(value)) throw new Invalid(`value ${value} is not finite`)
  if (!Number.isFinite(at) && !(at === -Infinity && value === 0)) {
    throw new Invalid(`reference time ${at} is not finite (only the empty sum (0, -Infinity) has no time)`)
  }
  return { halfLife, value: value === 0 ? 0 : value, at }
}

/**
 * Decodes and validates bytes written by {@link encode}.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array): Result.Result<DecayedSum, SketchDecodeError> =>
  decodeWith("DecayedSum", bytes, read)

/**
 * Like {@link decode}, but throws the {@link SketchDecodeError}.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decodeUnsafe = (bytes: Uint8Array): DecayedSum => Result.getOrThrow(decode(bytes))

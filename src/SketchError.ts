/**
 * The typed errors of the sketches (`HyperLogLog`, `CountMinSketch`, `BloomFilter`, `TopK`,
 * `MisraGries`, `DecayedSum`).
 *
 * - {@link SketchMismatchError}: `combine` was given two sketches built with different parameters
 *   (precision, width/depth, bits/hashes, seed, half-life, capacity). Their merge would be
 *   meaningless, so it is refused rather than computed.
 * - {@link SketchDecodeError}: bytes given to a `decode` are not a valid encoding (wrong magic or
 *   type, unknown version, parameters out of range, truncated or trailing bytes, values out of
 *   range).
 * - {@link SketchSizeError}: a sketch's parameters allow an encoding larger than a store's item
 *   limit (`Sketch.checkSize`), refused when the pipeline is built rather than at the first write
 *   that grows past it.
 *
 * Integer counters that would leave the safe-integer range throw the library's
 * `Monoid.IntegerOverflowError`, like `Monoid.sum`.
 *
 * @example
 * ```ts
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 * import * as SketchError from "effect-monoid-streams/SketchError"
 *
 * try {
 *   HyperLogLog.merge(HyperLogLog.make({ precision: 10 }), HyperLogLog.make({ precision: 12 }))
 * } catch (e) {
 *   e instanceof SketchError.SketchMismatchError // true
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Two sketches with different parameters were combined. `left` and `right` describe the
 * parameters of each operand (for example `"precision 10, seed 0"`).
 *
 * @category errors
 * @since 0.1.0
 */
export class SketchMismatchError extends Data.TaggedError("SketchMismatchError")<{
  /** Which structure (`"HyperLogLog"`, `"CountMinSketch"`, ...). */
  readonly sketch: string
  /** The parameters of the left operand. */
  readonly left: string
  /** The parameters of the right operand. */
  readonly right: string
}> {
  override get message(): string {
    return `${this.sketch}: cannot combine sketches with different parameters (${this.left} vs ${this.right})`
  }
}

/**
 * Bytes that are not a valid encoding of the expected sketch.
 *
 * @category errors
 * @since 0.1.0
 */
export class SketchDecodeError extends Data.TaggedError("SketchDecodeError")<{
  /** Which structure the bytes were decoded as. */
  readonly sketch: string
  /** Why they were refused. */
  readonly reason: string
}> {
  override get message(): string {
    return `${this.sketch}: invalid encoding: ${this.reason}`
  }
}

/**
 * Sketch parameters whose largest encoding cannot fit a store's item limit (DynamoDB's 400 KB by
 * default; see `Sketch.checkSize`).
 *
 * @example
 * ```ts
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 * import * as Sketch from "effect-monoid-streams/Sketch"
 *
 * Sketch.checkSize("BloomFilter", 1_000_000) // Result.fail(SketchSizeError { size: 1000000, limit: 408576 })
 * Sketch.checkSize("HyperLogLog", HyperLogLog.maxEncodedSize({ precision: 14 })) // Result.succeed(16394)
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class SketchSizeError extends Data.TaggedError("SketchSizeError")<{
  /** Which structure, or a description of the aggregate. */
  readonly sketch: string
  /** The largest stored size of the value, in bytes (after base64, when the store uses it). */
  readonly size: number
  /** The bytes the store allows for the value (its item limit less the reserve). */
  readonly limit: number
}> {
  override get message(): string {
    return `${this.sketch}: up to ${this.size} bytes when stored, more than the ${this.limit} bytes an item allows; ` +
      `choose smaller parameters`
  }
}

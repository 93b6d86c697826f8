/**
 * One binary codec for every sketch, dispatching on the header's type code: what a store needs to
 * persist sketch aggregates.
 *
 * HyperLogLog, Count-Min and Bloom filter values are objects with their own prototype and private
 * typed arrays; the stores' value codec writes them with their binary encoding (base64 under a
 * `$sketch` tag: the embedded and DynamoDB stores), and the other structures (`TopK`,
 * `MisraGries`, `DecayedSum`) as the plain values they are. {@link encode} and {@link decode} are
 * that binary form, for anyone who stores sketches elsewhere.
 *
 * Type codes (byte 2 of every encoding, after the magic `53 4b`): 1 HyperLogLog, 2 Count-Min,
 * 3 TopK, 4 Bloom filter, 5 DecayedSum, 6 Misra–Gries.
 *
 * **Sizes.** Sketch parameters whose value could outgrow a store item (DynamoDB: 400 KB for the
 * whole item) are refused before a fold writes anything: the HyperLogLog, Count-Min and Bloom
 * monoids carry their largest encoding (`Monoid.maxEncodedSize`), the DynamoDB store its item
 * limit, and the fold fails with a `PipelineError` whose cause is a `SketchSizeError`. Each
 * fixed-size structure states its largest encoding: `HyperLogLog.maxEncodedSize`, `CountMinSketch.maxEncodedSize`,
 * `BloomFilter.maxEncodedSize`, `MisraGries.maxEncodedSize` (given the longest item) and
 * `DecayedSum.encodedSize`; {@link checkSize} compares it with the limit. The built-in stores
 * write HyperLogLog, Count-Min and Bloom filter values as base64 inside `{"$sketch":"..."}` (pass
 * `{ base64: true }`, and keep 14 bytes of the reserve for the wrapping; the fold's own check
 * counts them), and
 * `MisraGries` and `TopK` values as JSON text, larger than their encoding: check
 * `MisraGries.maxStoredSize` (given the longest item) when a pipeline is built. `TopK` is exact
 * and grows with the distinct items, so it has no such bound: check `TopK.storedSize(value)` at
 * write time, or use `MisraGries`.
 *
 * | structure (parameters) | largest encoding |
 * | --- | --- |
 * | HyperLogLog (precision p) | `2^p + 10` bytes (p = 14: 16,394; p = 18: 262,154) |
 * | Count-Min (width w, depth d) | at most `9·w·d + 17` bytes; `(1 + varint(maxCount))·w·d + 17` given `maxCount` (272 × 5: 12,253) |
 * | Bloom filter (m bits) | at most `⌈m/8⌉ + 15` bytes (1% at 100k items: 119,827) |
 * | Misra–Gries (capacity k, items of at most b UTF-8 bytes) | at most `k·(b + 12) + 18` bytes; as the built-in stores write it, `k·(b + 22) + 68` |
 * | DecayedSum | 28 bytes |
 *
 * **Cost of a pipeline fold.** `combine` is pure, so folding one-item sketches
 * (`combine(acc, of(item))`) copies the accumulated sketch per item: measured on one core, about
 * 49k items/s for HyperLogLog p = 14, 88k/s for Count-Min 272 × 5 and 7k/s for a 1.9 Mbit Bloom
 * filter (`bench/sketch/README.md`). Sketch a batch with the modules' `fromIterable` where possible.
 *
 * @example
 * ```ts
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 * import * as Sketch from "effect-monoid-streams/Sketch"
 *
 * const s = HyperLogLog.fromIterable(["a", "b"], { precision: 10 })
 * Sketch.isSketch(s) // true
 * Sketch.decode(Sketch.encode(s)) // Result.succeed(a sketch equal to s)
 * ```
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import * as BloomFilter from "./BloomFilter.ts"
import * as CountMinSketch from "./CountMinSketch.ts"
import * as DecayedSum from "./DecayedSum.ts"
import * as HyperLogLog from "./HyperLogLog.ts"
import { TypeCode } from "./internal/sketch.ts"
import * as MisraGries from "./MisraGries.ts"
import { SketchDecodeError, SketchSizeError } from "./SketchError.ts"
import * as TopK from "./TopK.ts"

/**
 * The sketches whose values are not plain data (they need this codec to be stored).
 *
 * @category models
 * @since 0.1.0
 */
export type Sketch = HyperLogLog.HyperLogLog | CountMinSketch.CountMinSketch | BloomFilter.BloomFilter

/**
 * Any value this codec decodes.
 *
 * @category models
 * @since 0.1.0
 */
export type Decoded =
  | Sketch
  | TopK.TopK
  | MisraGries.MisraGries
  | DecayedSum.DecayedSum

/**
 * Whether a value is a HyperLogLog, Count-Min sketch or Bloom filter.
 *
 * @category guards
 * @since 0.1.0
 */
export const isSketch = (u: unknown): u is Sketch =>
  HyperLogLog.isHyperLogLog(u) || CountMinSketch.isCountMinSketch(u) || BloomFilter.isBloomFilter(u)

/**
 * The binary encoding of a sketch (the module's own `encode`).
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (sketch: Sketch): Uint8Array =>
  HyperLogLog.isHyperLogLog(sketch)
    ? HyperLogLog.encode(sketch)
    : CountMinSketch.isCountMinSketch(sketch)
    ? CountMinSketch.encode(sketch)
    : BloomFilter.encode(sketch)

/**
 * Decodes any sketch encoding, by its type code, with that module's validating `decode`.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array): Result.Result<Decoded, SketchDecodeError> => {
  switch (bytes instanceof Uint8Array && bytes.length >= 3 ? bytes[2] : undefined) {
    case TypeCode.HyperLogLog:
      return HyperLogLog.decode(bytes)
    case TypeCode.CountMinSketch:
      return CountMinSketch.decode(bytes)
    case TypeCode.TopK:
      return TopK.decode(bytes)
    case TypeCode.BloomFilter:
      return BloomFilter.decode(bytes)
    case TypeCode.DecayedSum:
      return DecayedSum.decode(bytes)
    case TypeCode.MisraGries:
      return MisraGries.decode(bytes)
    default:
      return Result.fail(new SketchDecodeError({ sketch: "Sketch", reason: "not a sketch encoding (unknown type code)" }))
  }
}

/**
 * DynamoDB's item limit, 400 KB: 409,600 bytes for the names and values of all of an item's
 * attributes.
 *
 * @category sizes
 * @since 0.1.0
 */
export const dynamoDbItemLimit = 409_600

/**
 * Options of {@link checkSize} and {@link storedSize}.
 *
 * @category sizes
 * @since 0.1.0
 */
export interface SizeOptions {
  /** The item limit in bytes (default {@link dynamoDbItemLimit}). */
  readonly limit?: number
  /** Bytes of the item taken by everything but the sketch: keys, attribute names, version, TTL (default 1024). */
  readonly reserve?: number
  /** Whether the store writes the encoding as a base64 string (4 bytes per 3) rather than binary (default `false`). */
  readonly base64?: boolean
}

/**
 * The bytes an encoding of `encodedSize` bytes takes in a store: itself, or its base64 length.
 *
 * @example
 * ```ts
 * import * as Sketch from "effect-monoid-streams/Sketch"
 *
 * Sketch.storedSize(16_394) // 16394
 * Sketch.storedSize(16_394, { base64: true }) // 21860
 * ```
 *
 * @category sizes
 * @since 0.1.0
 */
export const storedSize = (encodedSize: number, options?: SizeOptions): number =>
  options?.base64 === true ? 4 * Math.ceil(encodedSize / 3) : encodedSize

/**
 * Checks, when a pipeline is built, that a sketch whose encoding takes at most `maxEncodedSize`
 * bytes (a module's `maxEncodedSize(options)`) always fits an item: succeeds with the stored size,
 * or fails with a {@link SketchSizeError}.
 *
 * @example
 * ```ts
 * import * as BloomFilter from "effect-monoid-streams/BloomFilter"
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 * import * as Sketch from "effect-monoid-streams/Sketch"
 *
 * Sketch.checkSize("HyperLogLog(p=14)", HyperLogLog.maxEncodedSize({ precision: 14 })) // Result.succeed(16394)
 * const big = BloomFilter.optimal({ expectedItems: 1_000_000, falsePositiveRate: 0.01 })
 * Sketch.checkSize("BloomFilter", BloomFilter.maxEncodedSize(big)) // Result.fail(SketchSizeError)
 * ```
 *
 * @category sizes
 * @since 0.1.0
 */
export const checkSize = (
  sketch: string,
  maxEncodedSize: number,
  options?: SizeOptions
): Result.Result<number, SketchSizeError> => {
  const size = storedSize(maxEncodedSize, options)
  const limit = (options?.limit ?? dynamoDbItemLimit) - (options?.reserve ?? 1024)
  return size <= limit ? Result.succeed(size) : Result.fail(new SketchSizeError({ sketch, size, limit }))
}

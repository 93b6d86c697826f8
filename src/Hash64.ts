/**
 * The 64-bit hash of the sketches: xxHash64 (XXH64), written here in plain JavaScript on 32-bit
 * words (no bigint and no allocation per hash), checked against the reference implementation's
 * outputs (`test/sketch/hash64.test.ts`).
 *
 * Sketch items are hashed as bytes, so the same item hashes the same way in every process and
 * release (sketches are stored and merged across processes):
 * - a string: its UTF-8 bytes (a lone surrogate as its 3-byte generalized UTF-8 form);
 * - a number: the byte `0xff`, then its float64 little-endian (`-0` as `0`, every NaN as the
 *   canonical NaN); `0xff` never occurs in UTF-8, so `1` and `"1"` hash differently;
 * - a bigint: the byte `0xfe`, then its decimal digits.
 *
 * Seeds are unsigned 32-bit integers (the 64-bit XXH64 seed `0x00000000_ssssssss`).
 *
 * @example
 * ```ts
 * import * as Hash64 from "effect-monoid-streams/Hash64"
 *
 * Hash64.hashBytes(new Uint8Array(0)) // 0xef46db3751d8e999n (XXH64 of nothing, seed 0)
 * Hash64.hash("abc") === Hash64.hashBytes(new TextEncoder().encode("abc")) // true
 * ```
 *
 * @since 0.1.0
 */
import { digest, type Hashable as Item, hashItem, isSeed, xxh64 } from "./internal/hash64.ts"

/**
 * What the sketches hash: strings, numbers and bigints.
 *
 * @category models
 * @since 0.1.0
 */
export type Hashable = Item

const seedOf = (seed: number | undefined): number => {
  const s = seed ?? 0
  if (!isSeed(s)) throw new RangeError(`hash seed must be an unsigned 32-bit integer, got ${String(s)}`)
  return s
}

const result = (): bigint => (BigInt(digest.hi) << 32n) | BigInt(digest.lo)

/**
 * XXH64 of the bytes, with an unsigned 32-bit seed (default 0).
 *
 * @category hashing
 * @since 0.1.0
 */
export const hashBytes = (bytes: Uint8Array, seed?: number): bigint => {
  xxh64(bytes, bytes.length, seedOf(seed))
  return result()
}

/**
 * XXH64 of an item's bytes (see the module doc), with an unsigned 32-bit seed (default 0).
 *
 * @category hashing
 * @since 0.1.0
 */
export const hash = (item: Hashable, seed?: number): bigint => {
  hashItem(item, seedOf(seed))
  return result()
}

/**
 * xxHash64 (XXH64, Yann Collet's 64-bit xxHash) in plain JavaScript, on pairs of unsigned 32-bit
 * words, without bigint or allocation per call. The sketches hash items with it.
 *
 * Items are hashed as bytes:
 * - a string: its UTF-8 bytes (lone surrogates as their 3-byte generalized UTF-8 form, so two
 *   different strings never share a byte sequence);
 * - a number: the byte `0xff`, then its IEEE-754 float64, little-endian (`-0` as `0`, every NaN as
 *   the canonical NaN); `0xff` never occurs in UTF-8, so numbers and strings do not collide;
 * - a bigint: the byte `0xfe`, then its decimal digits (ASCII).
 *
 * The 64-bit seed is `(0, seed)`: seeds are unsigned 32-bit integers.
 *
 * @internal
 */

const P1H = 0x9e3779b1, P1L = 0x85ebca87
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f
const P3H = 0x165667b1, P3L = 0x9e3779f9
const P4H = 0x85ebca77, P4L = 0xc2b2ae63
const P5H = 0x27d4eb2f, P5L = 0x165667c5

/** The result of the last hash: high and low unsigned 32-bit words. */
export const digest = { hi: 0, lo: 0 }

// The 64-bit register of the helpers below: R[0] is the high word, R[1] the low word. A typed
// array, not two `let`s: a module-level `let` holding a uint32 above 2^30 is boxed on every write.
const R = new Uint32Array(2)

/** R = a * b mod 2^64 */
const mul = (ah: number, al: number, bh: number, bl: number): void => {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16
  const mid = a1 * b0 + a0 * b1 + ((a0 * b0) >>> 16) // < 3 * 2^32: exact
  const hi = a1 * b1 + Math.floor(mid / 65536)
  R[1] = Math.imul(al, bl)
  R[0] = hi + Math.imul(ah, bl) + Math.imul(al, bh)
}

/** R = a + b mod 2^64 */
const add = (ah: number, al: number, bh: number, bl: number): void => {
  const lo = al + bl
  R[1] = lo
  R[0] = ah + bh + (lo > 0xffffffff ? 1 : 0)
}

/** R = rotl(a, r), 0 < r < 32 */
const rotl = (ah: number, al: number, r: number): void => {
  R[0] = (ah << r) | (al >>> (32 - r))
  R[1] = (al << r) | (ah >>> (32 - r))
}

/** R = round(acc, input) = rotl(acc + input * P2, 31) * P1 */
const round = (acch: number, accl: number, ih: number, il: number): void => {
  mul(ih, il, P2H, P2L)
  add(acch, accl, R[0]!, R[1]!)
  rotl(R[0]!, R[1]!, 31)
  mul(R[0]!, R[1]!, P1H, P1L)
}

/** R = (acc ^ round(0, v)) * P1 + P4 */
const mergeRound = (acch: number, accl: number, vh: number, vl: number): void => {
  round(0, 0, vh, vl)
  mul((acch ^ R[0]!) >>> 0, (accl ^ R[1]!) >>> 0, P1H, P1L)
  add(R[0]!, R[1]!, P4H, P4L)
}

const u32 = (b: Uint8Array, i: number): number =>
  (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0

/** XXH64 of `bytes[0, length)` with seed `(0, seed)`; the result is in {@link digest}. */
export const xxh64 = (bytes: Uint8Array, length: number, seed: number): void => {
  let i = 0
  let hh: number, hl: number
  if (length >= 32) {
    add(0, seed, P1H, P1L)
    add(R[0]!, R[1]!, P2H, P2L)
    let v1h = R[0]!, v1l = R[1]!
    add(0, seed, P2H, P2L)
    let v2h = R[0]!, v2l = R[1]!
    let v3h = 0, v3l = seed
    // seed - P1 = seed + (2^64 - P1) = seed + (~P1 + 1); P1's low word is not 0, so no carry
    add(0, seed, ~P1H >>> 0, -P1L >>> 0)
    let v4h = R[0]!, v4l = R[1]!
    const limit = length - 32
    while (i <= limit) {
      round(v1h, v1l, u32(bytes, i + 4), u32(bytes, i))
      v1h = R[0]!, v1l = R[1]!
      round(v2h, v2l, u32(bytes, i + 12), u32(bytes, i + 8))
      v2h = R[0]!, v2l = R[1]!
      round(v3h, v3l, u32(bytes, i + 20), u32(bytes, i + 16))
      v3h = R[0]!, v3l = R[1]!
      round(v4h, v4l, u32(bytes, i + 28), u32(bytes, i + 24))
      v4h = R[0]!, v4l = R[1]!
      i += 32
    }
    rotl(v1h, v1l, 1)
    hh = R[0]!, hl = R[1]!
    rotl(v2h, v2l, 7)
    add(hh, hl, R[0]!, R[1]!)
    hh = R[0]!, hl = R[1]!
    rotl(v3h, v3l, 12)
    add(hh, hl, R[0]!, R[1]!)
    hh = R[0]!, hl = R[1]!
    rotl(v4h, v4l, 18)
    add(hh, hl, R[0]!, R[1]!)
    mergeRound(R[0]!, R[1]!, v1h, v1l)
    mergeRound(R[0]!, R[1]!, v2h, v2l)
    mergeRound(R[0]!, R[1]!, v3h, v3l)
    mergeRound(R[0]!, R[1]!, v4h, v4l)
    hh = R[0]!, hl = R[1]!
  } else {
    add(0, seed, P5H, P5L)
    hh = R[0]!, hl = R[1]!
  }
  add(hh, hl, 0, length) // length < 2^32
  hh = R[0]!, hl = R[1]!
  while (i + 8 <= length) {
    round(0, 0, u32(bytes, i + 4), u32(bytes, i))
    rotl((hh ^ R[0]!) >>> 0, (hl ^ R[1]!) >>> 0, 27)
    mul(R[0]!, R[1]!, P1H, P1L)
    add(R[0]!, R[1]!, P4H, P4L)
    hh = R[0]!, hl = R[1]!
    i += 8
  }
  if (i + 4 <= length) {
    mul(0, u32(bytes, i), P1H, P1L)
    rotl((hh ^ R[0]!) >>> 0, (hl ^ R[1]!) >>> 0, 23)
    mul(R[0]!, R[1]!, P2H, P2L)
    add(R[0]!, R[1]!, P3H, P3L)
    hh = R[0]!, hl = R[1]!
    i += 4
  }
  while (i < length) {
    mul(0, bytes[i]!, P5H, P5L)
    rotl((hh ^ R[0]!) >>> 0, (hl ^ R[1]!) >>> 0, 11)
    mul(R[0]!, R[1]!, P1H, P1L)
    hh = R[0]!, hl = R[1]!
    i++
  }
  // avalanche
  hl = (hl ^ (hh >>> 1)) >>> 0 // h ^= h >>> 33
  mul(hh, hl, P2H, P2L)
  hh = R[0]!, hl = R[1]!
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0 // h ^= h >>> 29
  hh = (hh ^ (hh >>> 29)) >>> 0
  mul(hh, hl, P3H, P3L)
  hh = R[0]!, hl = R[1]!
  digest.hi = hh
  digest.lo = (hl ^ hh) >>> 0 // h ^= h >>> 32
}

let scratch = new Uint8Array(256)
const f64 = new Float64Array(1)
const f64Bytes = new Uint8Array(f64.buffer)
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const ensure = (n: number): Uint8Array => {
  if (scratch.length < n) scratch = new Uint8Array(Math.max(n, scratch.length * 2))
  return scratch
}

/** Writes the generalized UTF-8 bytes of `s` into the scratch buffer; returns their count. */
const utf8 = (s: string): number => {
  const n = s.length
  let out = ensure(n * 3)
  let j = 0
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) {
      out[j++] = c
    } else if (c < 0x800) {
      out[j++] = 0xc0 | (c >> 6)
      out[j++] = 0x80 | (c & 0x3f)
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = s.charCodeAt(i + 1)
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
          i++
          out[j++] = 0xf0 | (c >> 18)
          out[j++] = 0x80 | ((c >> 12) & 0x3f)
          out[j++] = 0x80 | ((c >> 6) & 0x3f)
          out[j++] = 0x80 | (c & 0x3f)
          continue
        }
      }
      out[j++] = 0xe0 | (c >> 12)
      out[j++] = 0x80 | ((c >> 6) & 0x3f)
      out[j++] = 0x80 | (c & 0x3f)
    }
  }
  return j
}

/** The items the sketches hash. */
export type Hashable = string | number | bigint

/** Hashes an item (see the module doc for its bytes); the result is in {@link digest}. */
export const hashItem = (item: Hashable, seed: number): void => {
  if (typeof item === "string") {
    const n = utf8(item)
    xxh64(scratch, n, seed)
    return
  }
  if (typeof item === "number") {
    f64[0] = item === 0 ? 0 : item !== item ? Number.NaN : item
    const out = ensure(9)
    out[0] = 0xff
    if (littleEndian) {
      for (let k = 0; k < 8; k++) out[k + 1] = f64Bytes[k]!
    } else {
      for (let k = 0; k < 8; k++) out[k + 1] = f64Bytes[7 - k]!
    }
    xxh64(out, 9, seed)
    return
  }
  if (typeof item === "bigint") {
    const digits = item.toString(10)
    const out = ensure(digits.length + 1)
    out[0] = 0xfe
    for (let k = 0; k < digits.length; k++) out[k + 1] = digits.charCodeAt(k)
    xxh64(out, digits.length + 1, seed)
    return
  }
  throw new TypeError(`sketch: cannot hash a ${typeof item} (strings, numbers and bigints only)`)
}

/** Whether `seed` is a valid seed (an unsigned 32-bit integer). */
export const isSeed = (seed: unknown): seed is number =>
  typeof seed === "number" && Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff

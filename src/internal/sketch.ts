/**
 * Shared plumbing of the sketches: the binary header, a byte writer and a validating reader,
 * and the prototype that gives sketch values `pipe`, effect `Equal`/`Hash` and inspection.
 *
 * Every encoding starts with a 4-byte header: the magic `0x53 0x4b` ("SK"), a type code (below)
 * and a format version (1 for every type so far). Integers after it are unsigned LEB128 varints
 * (at most 2^53 - 1) unless said otherwise; floats are IEEE-754 float64 little-endian.
 *
 * @internal
 */
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Inspectable from "effect/Inspectable"
import * as Pipeable from "effect/Pipeable"
import * as Result from "effect/Result"
import { SketchDecodeError } from "../SketchError.ts"

/** Type codes of the header. */
export const TypeCode = {
  HyperLogLog: 1,
  CountMinSketch: 2,
  TopK: 3,
  BloomFilter: 4,
  DecayedSum: 5,
  MisraGries: 6
} as const

/** The format version written by this release. */
export const VERSION = 1

const MAGIC0 = 0x53
const MAGIC1 = 0x4b

/** Thrown by {@link Reader} and caught by {@link decodeWith}. */
export class Invalid {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

/** A growable byte buffer. */
export class Writer {
  private buf: Uint8Array
  private n = 0
  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity)
  }
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k))
    next.set(this.buf.subarray(0, this.n))
    this.buf = next
  }
  header(type: number): this {
    return this.u8(MAGIC0).u8(MAGIC1).u8(type).u8(VERSION)
  }
  u8(b: number): this {
    this.room(1)
    this.buf[this.n++] = b
    return this
  }
  u32(x: number): this {
    this.room(4)
    this.buf[this.n++] = x & 0xff
    this.buf[this.n++] = (x >>> 8) & 0xff
    this.buf[this.n++] = (x >>> 16) & 0xff
    this.buf[this.n++] = (x >>> 24) & 0xff
    return this
  }
  /** An unsigned integer `0 <= x <= 2^53 - 1`. */
  varint(x: number): this {
    this.room(8)
    while (x >= 0x80) {
      this.buf[this.n++] = (x % 0x80) | 0x80
      x = Math.floor(x / 0x80)
    }
    this.buf[this.n++] = x
    return this
  }
  f64(x: number): this {
    this.room(8)
    new DataView(this.buf.buffer, this.buf.byteOffset + this.n, 8).setFloat64(0, x, true)
    this.n += 8
    return this
  }
  bytes(b: Uint8Array): this {
    this.room(b.length)
    this.buf.set(b, this.n)
    this.n += b.length
    return this
  }
  /** A UTF-8 string, prefixed by `2 * byteLength + flag` (flag is 0 or 1). */
  string(s: string, flag: 0 | 1): this {
    if (loneSurrogate.test(s)) throw new TypeError(`sketch: cannot encode a string with a lone surrogate: ${JSON.stringify(s)}`)
    const b = textEncoder.encode(s)
    this.varint(b.length * 2 + flag)
    return this.bytes(b)
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.n)
  }
}

const textEncoder = new TextEncoder()
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** A reader that throws {@link Invalid} on anything unexpected. */
export class Reader {
  private i = 0
  private readonly b: Uint8Array
  constructor(b: Uint8Array) {
    this.b = b
  }
  get remaining(): number {
    return this.b.length - this.i
  }
  header(type: number): void {
    if (this.b.length < 4) throw new Invalid(`${this.b.length} bytes is too short for a header`)
    if (this.b[0] !== MAGIC0 || this.b[1] !== MAGIC1) throw new Invalid("not a sketch (bad magic bytes)")
    if (this.b[2] !== type) throw new Invalid(`type code ${this.b[2]}, expected ${type}`)
    if (this.b[3] !== VERSION) throw new Invalid(`unknown format version ${this.b[3]} (this release reads ${VERSION})`)
    this.i = 4
  }
  u8(): number {
    if (this.i >= this.b.length) throw new Invalid("truncated")
    return this.b[this.i++]!
  }
  u32(): number {
    if (this.i + 4 > this.b.length) throw new Invalid("truncated")
    const b = this.b, i = this.i
    this.i += 4
    return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0
  }
  varint(): number {
    let x = 0
    let scale = 1
    for (let k = 0; k < 8; k++) {
      const byte = this.u8()
      x += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) {
        if (k > 0 && byte === 0) throw new Invalid("non-minimal varint")
        if (!Number.isSafeInteger(x)) throw new Invalid("varint beyond 2^53 - 1")
        return x
      }
      scale *= 0x80
    }
    throw new Invalid("varint longer than 8 bytes")
  }
  f64(): number {
    if (this.i + 8 > this.b.length) throw new Invalid("truncated")
    const x = new DataView(this.b.buffer, this.b.byteOffset + this.i, 8).getFloat64(0, true)
    this.i += 8
    return x
  }
  bytes(n: number): Uint8Array {
    if (this.i + n > this.b.length) throw new Invalid("truncated")
    const out = this.b.slice(this.i, this.i + n)
    this.i += n
    return out
  }
  /** A string written by `Writer.string`; returns it and the flag. */
  string(): readonly [string, 0 | 1] {
    const prefix = this.varint()
    const n = Math.floor(prefix / 2)
    if (this.i + n > this.b.length) throw new Invalid("truncated")
    let s: string
    try {
      s = textDecoder.decode(this.b.subarray(this.i, this.i + n))
    } catch {
      throw new Invalid("a string is not valid UTF-8")
    }
    this.i += n
    return [s, (prefix % 2) as 0 | 1]
  }
  end(): void {
    if (this.i !== this.b.length) throw new Invalid(`${this.b.length - this.i} trailing bytes`)
  }
}

/** Runs a decoder, turning {@link Invalid} into a `SketchDecodeError`. */
export const decodeWith = <A>(sketch: string, bytes: Uint8Array, f: (r: Reader) => A): Result.Result<A, SketchDecodeError> => {
  if (!(bytes instanceof Uint8Array)) {
    return Result.fail(new SketchDecodeError({ sketch, reason: "expected a Uint8Array" }))
  }
  try {
    const r = new Reader(bytes)
    const out = f(r)
    r.end()
    return Result.succeed(out)
  } catch (e) {
    if (e instanceof Invalid) return Result.fail(new SketchDecodeError({ sketch, reason: e.reason }))
    throw e
  }
}

/** Byte-wise equality of two arrays of numbers (typed or not). */
export const sameElements = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false
  }
  return true
}

/** A hash of a numeric array, for effect's `Hash` (cached by effect per object). */
export const hashElements = (seed: number, a: ArrayLike<number>): number => {
  let h = seed
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    if (x !== 0) h = Hash.combine(h)(Hash.combine(Hash.number(i))(Hash.number(x)))
  }
  return Hash.optimize(h)
}

/**
 * The prototype of a sketch value: `pipe`, effect `Equal` and `Hash` (given), and `toJSON` /
 * Node inspection / `toString` showing `toJSON`.
 */
export const makeProto = <S extends object>(options: {
  readonly typeId: symbol
  readonly equals: (self: S, that: S) => boolean
  readonly hash: (self: S) => number
  readonly toJSON: (self: S) => unknown
  /** The binary encoding, for the stores' value codec (see {@link encodeStored}). */
  readonly encode?: ((self: S) => Uint8Array) | undefined
}): object => {
  const { encode, equals, hash, toJSON, typeId } = options
  return {
    ...Pipeable.Prototype,
    ...Inspectable.BaseProto,
    [typeId]: typeId,
    ...(encode === undefined ? {} : {
      [EncodeId](this: S): Uint8Array {
        return encode(this)
      }
    }),
    [Equal.symbol](this: S, that: unknown): boolean {
      return typeof that === "object" && that !== null && (that as Record<symbol, unknown>)[typeId] === typeId &&
        equals(this, that as S)
    },
    [Hash.symbol](this: S): number {
      return hash(this)
    },
    toJSON(this: S) {
      return toJSON(this)
    }
  }
}

const EncodeId = Symbol.for("effect-monoid-streams/Sketch/encode")

const decoders = new Map<number, (bytes: Uint8Array) => Result.Result<unknown, SketchDecodeError>>()

/** Registers the decoder of a sketch type (each sketch module does, when it is loaded). */
export const registerDecoder = (code: number, decode: (bytes: Uint8Array) => Result.Result<unknown, SketchDecodeError>): void => {
  decoders.set(code, decode)
}

/**
 * The binary encoding of a value whose prototype carries one (HyperLogLog, Count-Min, Bloom
 * filter), or `undefined` for any other value. The stores' value codec uses it, so the core needs
 * no import of the sketch modules.
 */
export const encodeStored = (u: unknown): Uint8Array | undefined => {
  const encode = typeof u === "object" && u !== null ? (u as Record<symbol, unknown>)[EncodeId] : undefined
  return typeof encode === "function" ? (encode as () => Uint8Array).call(u) : undefined
}

/** Decodes what {@link encodeStored} encoded, with the registered decoder of its type code. */
export const decodeStored = (bytes: Uint8Array): Result.Result<unknown, SketchDecodeError> => {
  const decode = bytes.length >= 3 ? decoders.get(bytes[2]!) : undefined
  return decode === undefined
    ? Result.fail(new SketchDecodeError({ sketch: "Sketch", reason: `no sketch module loaded for type code ${bytes[2]}` }))
    : decode(bytes)
}

/** Checks an integer parameter at construction; throws a `RangeError` naming it. */
export const checkInteger = (what: string, x: unknown, min: number, max: number): number => {
  if (typeof x !== "number" || !Number.isInteger(x) || x < min || x > max) {
    throw new RangeError(`${what} must be an integer in [${min}, ${max}], got ${String(x)}`)
  }
  return x
}

/** The bytes of `Writer.varint(x)` for `0 <= x <= 2^53 - 1` (1 to 8). */
export const varintSize = (x: number): number => {
  let n = 1
  while (x >= 0x80) {
    x = Math.floor(x / 0x80)
    n++
  }
  return n
}

/** The UTF-8 byte length of a string (a lone surrogate counts 3, as `Writer.string` refuses it anyway). */
export const utf8Length = (s: string): number => {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/** The bytes of `Writer.string(s, flag)`. */
export const stringSize = (s: string): number => {
  const n = utf8Length(s)
  return varintSize(n * 2 + 1) + n
}

/** The largest safe integer's varint: 8 bytes. */
export const MAX_VARINT_SIZE = 8

/** The header's bytes. */
export const HEADER_SIZE = 4

/**
 * A sketch monoid's `check` (see `Monoid.check`): the value is a sketch (`is`) with the parameters
 * of `empty`, as `same` (the check its `merge` makes) finds.
 */
export const checkOf = <S>(name: string, is: (u: unknown) => u is S, empty: S, same: (a: S, b: S) => void) => (value: S): void => {
  if (!is(value)) throw new TypeError(`not a ${name}: ${String(value)}`)
  same(empty, value)
}

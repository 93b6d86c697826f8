/**
 * Plain implementations of the same algorithms, for the bench's baseline rows: mutable, in place,
 * no parameter checks, no overflow checks, no immutability, same hash (our XXH64) and the same
 * index arithmetic as `src/`. What ours costs above these is the price of values that are pure
 * (every `combine` returns a fresh sketch), checked, and storable.
 */
import { digest, type Hashable, hashItem } from "../../src/internal/hash64.ts"

/** HyperLogLog with `2^p` byte registers, updated in place. */
export class PlainHyperLogLog {
  readonly p: number
  readonly registers: Uint8Array
  constructor(p: number) {
    this.p = p
    this.registers = new Uint8Array(1 << p)
  }
  add(item: Hashable): void {
    hashItem(item, 0)
    const hi = digest.hi, lo = digest.lo, p = this.p
    const index = hi >>> (32 - p)
    const wHi = ((hi << p) | (lo >>> (32 - p))) >>> 0
    const wLo = (lo << p) >>> 0
    const rank = wHi !== 0 ? Math.clz32(wHi) + 1 : wLo !== 0 ? 33 + Math.clz32(wLo) : 65 - p
    if (rank > this.registers[index]!) this.registers[index] = rank
  }
  /** In place: `this ∪= that`. */
  mergeInto(that: PlainHyperLogLog): void {
    const x = this.registers, y = that.registers
    for (let i = 0; i < x.length; i++) if (y[i]! > x[i]!) x[i] = y[i]!
  }
  /** A new sketch (what a pure merge must do), with a plain byte loop. */
  merge(that: PlainHyperLogLog): PlainHyperLogLog {
    const out = new PlainHyperLogLog(this.p)
    const x = this.registers, y = that.registers, o = out.registers
    for (let i = 0; i < x.length; i++) o[i] = x[i]! > y[i]! ? x[i]! : y[i]!
    return out
  }
}

/** Count-Min with `width × depth` float64 counters, updated in place. */
export class PlainCountMin {
  readonly width: number
  readonly depth: number
  readonly cells: Float64Array
  constructor(width: number, depth: number) {
    this.width = width
    this.depth = depth
    this.cells = new Float64Array(width * depth)
  }
  add(item: Hashable, count = 1): void {
    hashItem(item, 0)
    let a = digest.lo, b = digest.hi
    for (let row = 0; row < this.depth; row++) {
      this.cells[row * this.width + (a % this.width)]! += count
      a = (a + b) >>> 0
      b = (b + row + 1) >>> 0
    }
  }
  mergeInto(that: PlainCountMin): void {
    const x = this.cells, y = that.cells
    for (let i = 0; i < x.length; i++) x[i]! += y[i]!
  }
  merge(that: PlainCountMin): PlainCountMin {
    const out = new PlainCountMin(this.width, this.depth)
    const x = this.cells, y = that.cells, o = out.cells
    for (let i = 0; i < x.length; i++) o[i] = x[i]! + y[i]!
    return out
  }
}

/** A Bloom filter over `bits` bits in bytes, updated in place. */
export class PlainBloom {
  readonly bits: number
  readonly hashes: number
  readonly words: Uint8Array
  constructor(bits: number, hashes: number) {
    this.bits = bits
    this.hashes = hashes
    this.words = new Uint8Array(Math.ceil(bits / 8))
  }
  add(item: Hashable): void {
    hashItem(item, 0)
    let a = digest.lo, b = digest.hi
    for (let i = 0; i < this.hashes; i++) {
      const j = a % this.bits
      this.words[j >>> 3]! |= 1 << (j & 7)
      a = (a + b) >>> 0
      b = (b + i + 1) >>> 0
    }
  }
  mergeInto(that: PlainBloom): void {
    const x = this.words, y = that.words
    for (let i = 0; i < x.length; i++) x[i]! |= y[i]!
  }
  merge(that: PlainBloom): PlainBloom {
    const out = new PlainBloom(this.bits, this.hashes)
    const x = this.words, y = that.words, o = out.words
    for (let i = 0; i < x.length; i++) o[i] = x[i]! | y[i]!
    return out
  }
}

/** Exact counts in a mutable `Map` (the plain form of `TopK`). */
export const plainCountsAdd = (m: Map<string, number>, item: string, n = 1): void => {
  const v = (m.get(item) ?? 0) + n
  if (v === 0) m.delete(item)
  else m.set(item, v)
}

/** `into += from`, key-wise, in place. */
export const plainCountsMergeInto = (into: Map<string, number>, from: ReadonlyMap<string, number>): void => {
  for (const [k, v] of from) plainCountsAdd(into, k, v)
}

/** Misra–Gries, the textbook one-pass algorithm on a mutable `Map`. */
export const plainMisraGriesAdd = (m: Map<string, number>, capacity: number, item: string): void => {
  const c = m.get(item)
  if (c !== undefined) m.set(item, c + 1)
  else if (m.size < capacity) m.set(item, 1)
  else {
    for (const [k, v] of m) {
      if (v === 1) m.delete(k)
      else m.set(k, v - 1)
    }
  }
}

/** A decayed sum `(value, at)`, updated in place. */
export class PlainDecayed {
  value = 0
  at = Number.NEGATIVE_INFINITY
  readonly halfLife: number
  constructor(halfLife: number) {
    this.halfLife = halfLife
  }
  add(value: number, at: number): void {
    if (this.at === Number.NEGATIVE_INFINITY) {
      this.value = value
      this.at = at
    } else if (at >= this.at) {
      this.value = this.value * 2 ** (-(at - this.at) / this.halfLife) + value
      this.at = at
    } else {
      this.value += value * 2 ** (-(this.at - at) / this.halfLife)
    }
  }
}

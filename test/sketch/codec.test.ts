import { describe, expect, it } from "vitest"
import * as Result from "effect/Result"
import * as BloomFilter from "../../src/BloomFilter.ts"
import * as CountMinSketch from "../../src/CountMinSketch.ts"
import * as DecayedSum from "../../src/DecayedSum.ts"
import * as Equal from "../../src/Equal.ts"
import * as HyperLogLog from "../../src/HyperLogLog.ts"
import * as MisraGries from "../../src/MisraGries.ts"
import * as Sketch from "../../src/Sketch.ts"
import { SketchDecodeError } from "../../src/SketchError.ts"
import * as TopK from "../../src/TopK.ts"

describe("Sketch: one codec for all", () => {
  const values = [
    HyperLogLog.fromIterable(["a", "b"], { precision: 10 }),
    CountMinSketch.fromIterable(["a", "a"], { width: 30, depth: 2 }),
    BloomFilter.fromIterable([1, 2], { bits: 100, hashes: 3 }),
    TopK.fromIterable(["x", "y", "x"]),
    MisraGries.fromIterable(["x", "y", "x"], { capacity: 2 }),
    DecayedSum.of(3, 1000, { halfLife: 60_000 })
  ] as const

  it("decodes every encoding by its type code, equal to the original", () => {
    const encodings = [
      HyperLogLog.encode(values[0]), CountMinSketch.encode(values[1]), BloomFilter.encode(values[2]),
      TopK.encode(values[3]), MisraGries.encode(values[4]), DecayedSum.encode(values[5])
    ]
    encodings.forEach((bytes, i) => {
      const r = Sketch.decode(bytes)
      expect(Result.isSuccess(r) && Equal.equals(r.success, values[i])).toBe(true)
    })
    expect(Sketch.encode(values[0])).toEqual(encodings[0])
    expect(Sketch.encode(values[1])).toEqual(encodings[1])
    expect(Sketch.encode(values[2])).toEqual(encodings[2])
  })

  it("tells which values need it: the typed-array sketches, not the plain values", () => {
    values.forEach((v, i) => expect(Sketch.isSketch(v)).toBe(i < 3))
  })

  it("refuses what is not a sketch", () => {
    const r = Sketch.decode(Uint8Array.from([0x53, 0x4b, 42, 1]))
    expect(Result.isFailure(r) && r.failure instanceof SketchDecodeError).toBe(true)
    expect(Result.isFailure(Sketch.decode(new Uint8Array(0)))).toBe(true)
  })
})

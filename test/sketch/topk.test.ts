import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { pipe } from "effect/Function"
import * as Result from "effect/Result"
import * as Equal from "../../src/Equal.ts"
import * as Laws from "../../src/Laws.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as TopK from "../../src/TopK.ts"

const item = fc.constantFrom("a", "b", "c", "d", "e", "f")
const items = fc.array(item, { maxLength: 30 })
/** Signed counts (retractions included); canonical (no zero counts). */
const maps = fc.array(fc.tuple(item, fc.integer({ min: -50, max: 50 })), { maxLength: 8 })
  .map((updates) => updates.reduce((m, [x, n]) => TopK.add(m, x, n), TopK.empty))

describe("TopK (exact frequency map): group laws", () => {
  it("is a commutative group under the law kit, exactly, with the kit's own mutation checks", () => {
    expect(Laws.applicable(TopK.group)).toContain("rightInverse")
    Laws.check(TopK.group, maps, { name: "TopK" })
  })

  it("merging loses nothing and retracts exactly", () => {
    Laws.checkHomomorphism(TopK.group, { items, sketch: TopK.fromIterable, name: "TopK" })
  })

  it("top(k) of any merge tree is the exact top-k of the whole stream", () => {
    fc.assert(
      fc.property(fc.array(items, { maxLength: 6 }), fc.integer({ min: 0, max: 6 }), (parts, k) => {
        const all = parts.flat()
        const merged = TopK.group.combineAll(parts.map(TopK.fromIterable))
        const expected = [...new Set(all)]
          .map((x) => [x, all.filter((y) => y === x).length] as const)
          .sort((p, q) => q[1] - p[1] || (p[0] < q[0] ? -1 : 1))
          .slice(0, k)
        expect(TopK.top(merged, k)).toEqual(expected)
      }),
      { numRuns: 100 }
    )
  })

  it("reads counts, ignores non-positive counts in top, breaks ties by item", () => {
    const m = pipe(TopK.fromIterable(["b", "a", "b", "a", "c"]), TopK.add("z", -2))
    expect(TopK.top(m, 2)).toEqual([["a", 2], ["b", 2]])
    expect(pipe(m, TopK.top(10))).toEqual([["a", 2], ["b", 2], ["c", 1]])
    expect(TopK.count(m, "z")).toBe(-2)
    expect(pipe(m, TopK.count("nope"))).toBe(0)
    expect(TopK.top(m, 0)).toEqual([])
  })

  it("top(k) takes a non-negative integer k and throws a RangeError for any other, as MisraGries.top does", () => {
    const m = TopK.fromIterable(["b", "a", "b", "a", "c"])
    for (const k of [Number.NaN, -1, 1.5, Infinity, -Infinity]) {
      expect(() => TopK.top(m, k), String(k)).toThrow(RangeError)
      expect(() => pipe(m, TopK.top(k)), String(k)).toThrow(/TopK.top k must be an integer in \[0, /)
    }
    expect(() => TopK.top(TopK.empty, Number.NaN)).toThrow(RangeError)
    expect(TopK.of("x", 0).size).toBe(0)
    expect(() => TopK.of("x", 0.5)).toThrow(Monoid.IntegerOverflowError)
    expect(() => TopK.group.combine(TopK.of("x", Number.MAX_SAFE_INTEGER), TopK.of("x"))).toThrow(Monoid.IntegerOverflowError)
  })

  it("is a plain ReadonlyMap: the law kit's deep copies see into it, no snapshot needed", () => {
    const m = TopK.fromIterable(["a", "b", "a"])
    expect(m).toBeInstanceOf(Map)
    expect(Object.getPrototypeOf(m)).toBe(Map.prototype)
  })
})

describe("TopK: a truncating merge is not lawful, and the kit says so", () => {
  const k = 2
  const truncate = (m: TopK.TopK): TopK.TopK => new Map(TopK.top(m, k))
  const truncating = Monoid.make<TopK.TopK>({
    kind: "custom",
    empty: TopK.empty,
    combine: (a, b) => truncate(TopK.group.combine(a, b)),
    commutative: true
  })
  const truncated = fc.array(item, { maxLength: 12 }).map((xs) => truncate(TopK.fromIterable(xs)))

  it("fails associativity", () => {
    try {
      Laws.check(truncating, truncated, { name: "truncating top-2" })
      expect.unreachable("the truncating merge passed the monoid laws")
    } catch (e) {
      expect(e).toBeInstanceOf(Laws.LawError)
      expect((e as Laws.LawError).law).toBe("associativity")
      const [a, b, c] = (e as Laws.LawError).counterexample as [TopK.TopK, TopK.TopK, TopK.TopK]
      const left = truncating.combine(truncating.combine(a, b), c)
      const right = truncating.combine(a, truncating.combine(b, c))
      expect(Equal.equals(left, right)).toBe(false)
    }
  })

  it("and fails the homomorphism check (merging loses the item that wins later)", () => {
    expect(() => Laws.checkHomomorphism(truncating, { items, sketch: (xs) => truncate(TopK.fromIterable(xs)) }))
      .toThrow(/homomorphism/)
  })
})

describe("TopK: encoding", () => {
  it("round-trips deterministically, whatever the insertion order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: "grapheme", maxLength: 6 }), fc.integer({ min: -1e15, max: 1e15 })), { maxLength: 10 }), (entries) => {
        const m = entries.reduce((acc, [x, n]) => TopK.add(acc, x, n), TopK.empty)
        const reversed = [...entries].reverse().reduce((acc, [x, n]) => TopK.add(acc, x, n), TopK.empty)
        const bytes = TopK.encode(m)
        expect(TopK.encode(reversed)).toEqual(bytes)
        expect(Equal.equals(TopK.decodeUnsafe(bytes), m)).toBe(true)
      }),
      { numRuns: 100 }
    )
  })

  it("decode validates", () => {
    const reason = (bytes: ReadonlyArray<number>) => {
      const r = TopK.decode(Uint8Array.from(bytes))
      return Result.isFailure(r) ? r.failure.reason : "decoded"
    }
    // two entries "a" → 2, "b" → -1
    expect(reason([0x53, 0x4b, 3, 1, 2, 2, 0x61, 2, 3, 0x62, 1])).toBe("decoded")
    expect(TopK.decodeUnsafe(Uint8Array.from([0x53, 0x4b, 3, 1, 2, 2, 0x61, 2, 3, 0x62, 1])).get("b")).toBe(-1)
    expect(reason([0x53, 0x4b, 3, 1, 2, 2, 0x62, 2, 2, 0x61, 1])).toContain("sorted")
    expect(reason([0x53, 0x4b, 3, 1, 1, 2, 0x61, 0])).toContain("count 0")
    expect(reason([0x53, 0x4b, 3, 1, 1, 2, 0xff, 1])).toContain("UTF-8")
    expect(reason([0x53, 0x4b, 3, 1, 1, 2, 0x61, 1, 0])).toContain("trailing")
    expect(() => TopK.encode(new Map([["\ud800", 1]]))).toThrow(TypeError)
  })
})

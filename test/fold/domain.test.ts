/**
 * Values outside a monoid's domain (`Monoid.check`): a fraction or a number past 2^53 for an
 * integer sum, a sketch of other parameters. They are refused states, dead-lettered with the
 * reason, whether they are a key's first value (which no `combine` sees before the store writes
 * it) or a later one; the fold goes on, and the totals equal a group-by over the valid documents.
 * Without the check the first would be stored as it is and every later write of its key would
 * fail the fold.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Schema, Stream } from "effect"
import { describe, expect, it } from "vitest"
import * as HyperLogLog from "../../src/HyperLogLog.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Verify from "../../src/Admin/Verify.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Plan from "../../src/Runtime/Plan.ts"
import * as I from "../../src/Input.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Memory from "../../src/Store/Memory.ts"

const Doc = Schema.Struct({ _id: Schema.String, k: Schema.String, n: Schema.Number })
type Doc = typeof Doc.Type

const sums = Pipeline.make("sums", { schema: Doc, key: (d) => d.k, value: (d) => d.n, monoid: Monoid.sum })
const pairs = Pipeline.make("pairs", {
  schema: Doc,
  key: (d) => d.k,
  value: (d) => ({ n: d.n, one: 1 }),
  monoid: Monoid.struct({ n: Monoid.sum, one: Monoid.count })
})
const distinct = Pipeline.make("distinct", {
  schema: Doc,
  key: (d) => d.k,
  // a document with n 7 builds its sketch with another precision: a programming error, refused
  value: (d) => HyperLogLog.of(d._id, { precision: d.n === 7 ? 12 : 10 }),
  monoid: HyperLogLog.monoid({ precision: 10 })
})

const groupBy = (docs: ReadonlyArray<Doc>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const d of docs) if (Number.isSafeInteger(d.n)) out[d.k] = (out[d.k] ?? 0) + d.n
  return out
}

describe("values outside the monoid's domain", () => {
  it("are dead-lettered, first value of a key or not, and the fold goes on", async () => {
    const docs: ReadonlyArray<Doc> = [
      { _id: "a1", k: "a", n: 12.5 }, // the first value of key a
      { _id: "a2", k: "a", n: 3 },
      { _id: "b1", k: "b", n: 2 ** 60 },
      { _id: "c1", k: "c", n: 4 },
      { _id: "c2", k: "c", n: Number.NaN },
      { _id: "d1", k: "d", n: 7 }
    ]
    // one batch, then one record per batch: the key's first value in a batch either way
    for (const batchSize of [100, 1]) {
      const result = await Effect.runPromise(Effect.gen(function*() {
        const source = Source.fromStream("docs", Stream.fromIterable(docs.map((d) => Source.upsert(d._id, d))))
        yield* Fold.run(source, [sums, pairs], { batchSize })
        // an insert-only pipeline takes a source of events
        const summary = yield* Fold.run(Source.fromIterable("events", docs, { id: (d) => d._id }), [distinct], { batchSize })
        const aggregates = yield* Aggregates
        const letters = yield* (yield* DeadLetters).list("sums")
        return {
          summary,
          sums: Object.fromEntries([...(yield* aggregates.all(sums))].filter(([, v]) => v !== 0)),
          pairs: Object.fromEntries([...(yield* aggregates.all(pairs))].map(([k, v]) => [k, v.n])),
          distinct: [...(yield* aggregates.all(distinct))].map(([k, v]) => [k, Math.round(HyperLogLog.estimate(v))]),
          letters
        }
      }).pipe(Effect.provide(Memory.layer())))
      expect(result.sums).toEqual(groupBy(docs))
      expect(result.pairs).toEqual({ a: 3, c: 4, d: 7 })
      expect(result.letters.map((l) => l.docId).sort()).toEqual(["\"a1\"", "\"b1\"", "\"c2\""])
      expect(result.letters[0]!.reason).toMatch(/outside the monoid's domain: integer sum: .* is not a safe integer/)
      expect(Fold.of(result.summary, "distinct").rejected).toBe(1)
      expect(result.distinct).toEqual([["a", 2], ["b", 1], ["c", 2]])
    }
  })

  it("Verify computes what the fold does: a refused value contributes nothing there either", async () => {
    const docs: ReadonlyArray<Doc> = [{ _id: "a1", k: "a", n: 12.5 }, { _id: "a2", k: "a", n: 3 }, { _id: "b1", k: "b", n: 2 }]
    const report = await Effect.runPromise(Effect.gen(function*() {
      yield* Fold.run(Source.fromStream("docs", Stream.fromIterable(docs.map((d) => Source.upsert(d._id, d)))), [sums])
      return yield* Verify.run(sums, Stream.fromIterable(docs))
    }).pipe(Effect.provide(Memory.layer())))
    expect(report.differences).toEqual([])
    expect(() => Pipeline.contribution(sums, docs[0]!)).toThrow(Monoid.IntegerOverflowError)
  })

  it("each built-in says what it takes", () => {
    expect(() => Monoid.sum.check!(0.5)).toThrow(Monoid.IntegerOverflowError)
    expect(() => Monoid.sum.check!(2 ** 53)).toThrow(/not a safe integer/)
    expect(() => Monoid.sum.check!(-(2 ** 53) + 1)).not.toThrow()
    expect(() => Monoid.sumBigInt.check!(1 as unknown as bigint)).toThrow(TypeError)
    expect(() => Monoid.map(Monoid.count).check!(new Map([["x", 1], ["y", 0.5]]))).toThrow(/0.5/)
    expect(() => Monoid.tuple(Monoid.sum, Monoid.sumBigInt).check!([1, 2] as unknown as readonly [number, bigint])).toThrow(TypeError)
    expect(() => HyperLogLog.monoid({ precision: 10 }).check!(HyperLogLog.of("x", { precision: 11 }))).toThrow(/precision 11/)
    // a monoid without a check takes every value
    expect(Monoid.make({ empty: "", combine: (a: string, b: string) => a + b }).check).toBeUndefined()
  })
})

describe("a store given a key's first value outside the monoid's domain", () => {
  it.each(["memory", "embedded"] as const)("%s: refuses it as combine would, and writes nothing", async (kind) => {
    const dir = mkdtempSync(join(tmpdir(), "domain-"))
    const layer = kind === "memory" ? Memory.layer() : Embedded.layer({ path: join(dir, "store.sqlite") })
    const target = { name: "t", monoid: Monoid.sum }
    const update = (key: string, delta: number) => ({ key, delta, marks: [{ partition: "p", first: 1, last: 1 }], contributions: [] })
    try {
      const result = await Effect.runPromise(Effect.gen(function*() {
        const aggregates = yield* Aggregates
        const refused = yield* Effect.exit(aggregates.apply(target, [update("ok", 1), update("half", 0.5)]))
        return { refused, stored: yield* aggregates.all(target) }
      }).pipe(Effect.provide(layer)))
      expect(Exit.isFailure(result.refused)).toBe(true)
      expect(result.stored.size).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("a key function that returns something else than a string (escaping its type)", () => {
  it("refuses the document, in every mode and with one key or many", () => {
    const key = (d: Doc) => (d.k === "" ? (undefined as unknown as string) : d.k)
    const one = Pipeline.make("one", { schema: Doc, key, value: (d) => d.n, monoid: Monoid.sum })
    const many = Pipeline.make("many", { schema: Doc, keys: (d) => [key(d), "all"], value: (d) => d.n, monoid: Monoid.sum })
    const batch = [
      I.upsert("\"a\"", { _id: "a", k: "x", n: 1 }, { partition: "p", seq: 1 }),
      I.upsert("\"b\"", { _id: "b", k: "", n: 2 }, { partition: "p", seq: 2 })
    ]
    for (const pipeline of [one, many, one.pipe(Pipeline.events), many.pipe(Pipeline.events)]) {
      const plan = Plan.plan(pipeline, batch, new Map())
      expect(plan.rejects.map((r) => [r.seq, r.reason])).toEqual([[2, "the pipeline's key function returned undefined, not a string"]])
      expect(plan.updates.some((u) => u.key === "undefined" || u.key === (undefined as unknown as string))).toBe(false)
    }
  })
})

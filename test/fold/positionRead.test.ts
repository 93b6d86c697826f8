/**
 * The first store call of a source over a user's stream (`Source.fromStream`, `Source.events`,
 * `Source.fromIterable`): the read of its committed position, made when the fold starts reading
 * the records, outside the fold's own `retrying`. A transient store error there (a connection
 * reset) must be ridden out as every other store call of the fold is, on a bounded schedule, and
 * not fail the run at once; a non-retryable one still fails it at once, read once.
 *
 * No server needed: the real memory store, its `Tokens.get` wrapped to fail as `fail` says.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Exit, Layer, Stream } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as I from "../../src/Input.ts"
import * as Jsonl from "../../src/Jsonl/Jsonl.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import { quiet, sumOfN } from "../support/pipelines.ts"


const sum = sumOfN("sum")

/** A connection reset, as the DynamoDB store reports one. */
const reset = (retryable: boolean) =>
  new StoreError({
    store: "memory",
    operation: "tokens.get",
    retryable,
    cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })
  })

/** Every store service of the memory store. */
type Services = Layer.Success<ReturnType<typeof Memory.layer>>

interface Calls {
  /** The names of every `Tokens.get`, in order; the failed ones too. */
  readonly gets: Array<string>
  /** The names whose `get` failed. */
  readonly failed: Array<string>
}

/** The memory store over `state`, its `n`-th `Tokens.get` (1-based) failing with `fail(n)` when that is defined. */
const flaky = (state: Memory.State, fail: (n: number) => StoreError | undefined, calls: Calls) =>
  Layer.effectContext(
    Effect.gen(function*() {
      const context = yield* Effect.context<Services>()
      const tokens = Context.get(context, Tokens)
      return Context.add(context, Tokens, {
        get: (scope, name) =>
          Effect.suspend(() => {
            calls.gets.push(name)
            const error = fail(calls.gets.length)
            if (error === undefined) return tokens.get(scope, name)
            calls.failed.push(name)
            return Effect.fail(error)
          }),
        set: tokens.set
      })
    })
  ).pipe(Layer.provide(Memory.layer(state)))

const totals = (state: Memory.State) =>
  Effect.runPromise(
    Aggregates.use((a) => a.all(sum)).pipe(
      Effect.map((all) => Object.fromEntries(all)),
      Effect.provide(Memory.layer(state))
    )
  )

const elements = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ id: `d${from + i}`, k: (from + i) % 3 === 0 ? "a" : "b", n: from + i }))

type Element = ReturnType<typeof elements>[number]

/** The expected totals of `docs`: a group-by. */
const reference = (docs: ReadonlyArray<Element>) => {
  const out: Record<string, number> = {}
  for (const d of docs) out[d.k] = (out[d.k] ?? 0) + d.n
  return out
}

const dir = mkdtempSync(join(tmpdir(), "position-read-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The three constructors over a user's stream, and a JSON-Lines file, each over `docs`. */
const sources = {
  fromStream: (docs: ReadonlyArray<Element>) =>
    Source.fromStream("orders", Stream.fromIterable(docs.map((d) => Source.upsert(d.id, { k: d.k, n: d.n })))),
  events: (docs: ReadonlyArray<Element>) =>
    Source.events("views", Stream.fromIterable(docs), { id: (d) => d.id, doc: (d) => ({ k: d.k, n: d.n }) }),
  fromIterable: (docs: ReadonlyArray<Element>) =>
    Source.fromIterable("seed", docs.map((d) => ({ _id: d.id, k: d.k, n: d.n })), { id: (d) => d._id }),
  // the other sources read it the same way (MongoDB's change stream and scan too)
  jsonl: (docs: ReadonlyArray<Element>) => {
    const path = join(dir, `orders-${docs.length}.jsonl`)
    writeFileSync(path, docs.map((d) => JSON.stringify({ _id: d.id, k: d.k, n: d.n }) + "\n").join(""))
    return Jsonl.make({ name: "jsonl-orders", kind: "events", path, partition: "file", decode: (text, position) => {
      const doc = JSON.parse(text) as { _id: string }
      return I.upsert(JSON.stringify(doc._id), doc, position)
    } })
  }
} as const

const run = (source: ReturnType<(typeof sources)[keyof typeof sources]>, layer: Layer.Layer<Services>) =>
  Effect.runPromiseExit(
    // the three sources' kinds accept `sum` (a group monoid, so a "changes" pipeline)
    Fold.run(source as Source.Source<"changes", StoreError, Tokens>, [sum], { batchSize: 4 }).pipe(
      Effect.provide(layer),
      Effect.provide(quiet)
    )
  )

describe("the first read of a stream source's committed position", () => {
  for (const [kind, make] of Object.entries(sources)) {
    it(`Source.${kind}: one retryable error on it is retried, and the run is exact`, async () => {
      const state = Memory.makeState()
      const calls: Calls = { gets: [], failed: [] }
      const docs = elements(1, 10)
      const exit = await run(make(docs), flaky(state, (n) => (n === 1 ? reset(true) : undefined), calls))
      expect(exit._tag, Exit.isFailure(exit) ? String(exit.cause) : "").toBe("Success")
      // the call that failed was the source's read of its position, and it was made again
      const position = Source.positionToken(make([]).name)
      expect(calls.failed).toEqual([position])
      expect(calls.gets.filter((name) => name === position).length).toBeGreaterThanOrEqual(2)
      expect(await totals(state)).toEqual(reference(docs))
      if (Exit.isSuccess(exit)) expect(exit.value.records).toBe(docs.length)
    })
  }

  it("a restarted run whose position read fails twice resumes after the committed position: no element counted twice", async () => {
    const state = Memory.makeState()
    const first = elements(1, 6)
    const all = elements(1, 13)
    const clean: Calls = { gets: [], failed: [] }
    expect(Exit.isSuccess(await run(sources.fromStream(first), flaky(state, () => undefined, clean)))).toBe(true)
    // the same stream from its start, longer: the committed 6 are dropped once the read gets through
    const calls: Calls = { gets: [], failed: [] }
    const exit = await run(sources.fromStream(all), flaky(state, (n) => (n <= 2 ? reset(true) : undefined), calls))
    expect(exit._tag, Exit.isFailure(exit) ? String(exit.cause) : "").toBe("Success")
    expect(calls.failed).toHaveLength(2)
    if (Exit.isSuccess(exit)) expect(exit.value.records).toBe(all.length - first.length)
    expect(await totals(state)).toEqual(reference(all))
  })

  it("a non-retryable error on it fails the run at once, read once", async () => {
    const state = Memory.makeState()
    const calls: Calls = { gets: [], failed: [] }
    const exit = await run(sources.fromStream(elements(1, 5)), flaky(state, (n) => (n === 1 ? reset(false) : undefined), calls))
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
    expect(error?._tag === "Fail" && error.error instanceof StoreError && !error.error.retryable).toBe(true)
    expect(calls.gets).toEqual([Source.positionToken("orders")])
    expect(await totals(state)).toEqual({})
  })
})

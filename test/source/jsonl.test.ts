/**
 * The JSON-Lines source with a decode function of the user's: a line it throws on is
 * dead-lettered with the raw line and what was thrown, the rest of the file is folded, and the
 * committed position covers the dead-lettered line (a second run reads nothing again);
 * `Unsupported` still stops the run with a `ConfigurationError`. Keys that the decode cuts out of
 * its lines keep none of the file's blocks alive once folded.
 */
import { createWriteStream, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { finished } from "node:stream/promises"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { Context, Effect, Exit, Layer } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as I from "../../src/Input.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Jsonl from "../../src/Jsonl/Jsonl.ts"
import * as JsonlSnapshot from "../../src/Jsonl/JsonlSnapshot.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Version from "../../src/Version.ts"
import { quiet, sumOfN } from "../support/pipelines.ts"


const totals = sumOfN("jsonl_totals").pipe(Pipeline.events)

const dir = mkdtempSync(join(tmpdir(), "jsonl-source-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const lines = ['{"k":"a","n":1}', '{"k":"a",', '{"k":"b","n":2}', "oops", '{"k":"a","n":4}']

/** What `JSON.parse` itself says about each line it throws on (the expected reasons). */
const parseError = (text: string): string => {
  try {
    JSON.parse(text)
  } catch (error) {
    return (error as Error).message
  }
  throw new Error(`${text} parses`)
}

const source = (path: string) =>
  Jsonl.make({
    name: "jsonl-user-decode",
    kind: "events",
    path,
    partition: "file",
    chunkSize: 2,
    decode: (text, position) => I.event(`e${position.seq}`, JSON.parse(text) as unknown, position)
  })

describe("a JSON-Lines source whose decode function throws", () => {
  it("dead-letters the line with what was thrown, folds the rest, and commits past it", async () => {
    const path = join(dir, "events.jsonl")
    writeFileSync(path, lines.join("\n") + "\n")
    const result = await Effect.runPromise(Effect.gen(function*() {
      const first = yield* Fold.run(source(path), [totals])
      const again = yield* Fold.run(source(path), [totals])
      const all = yield* (yield* Aggregates).all(totals)
      const dead = yield* (yield* DeadLetters).list(totals.name)
      return { first: first.records, again: again.records, all, dead }
    }).pipe(Effect.provide(Memory.layer()), Effect.provide(quiet)))
    // the reference: a group-by of the lines that parse
    const expected = new Map<string, number>()
    for (const line of lines) {
      try {
        const d = JSON.parse(line) as { k: string; n: number }
        expected.set(d.k, (expected.get(d.k) ?? 0) + d.n)
      } catch {
        // not a document
      }
    }
    expect(new Map(result.all)).toEqual(expected)
    expect(result.dead.map((d) => [d.seq, d.raw, d.reason])).toEqual([
      [2, lines[1], `the decode function threw: ${parseError(lines[1]!)}`],
      [4, lines[3], `the decode function threw: ${parseError(lines[3]!)}`]
    ])
    expect(result.first).toBe(lines.length)
    expect(result.again).toBe(0)
  })

  it("still stops the run on Unsupported, with a ConfigurationError naming the line", async () => {
    const path = join(dir, "unsupported.jsonl")
    writeFileSync(path, lines.slice(0, 1).join("\n") + "\n")
    const unsupported = Jsonl.make({
      name: "jsonl-unsupported",
      kind: "events",
      path,
      partition: "file",
      decode: () => ({ _tag: "Unsupported", reason: "not a file of events" })
    })
    const exit = await Effect.runPromiseExit(Fold.run(unsupported, [totals]).pipe(Effect.provide(Memory.layer()), Effect.provide(quiet)))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(exit)).toContain("ConfigurationError")
    expect(String(exit)).toContain(`${path} line 1: not a file of events`)
  })
})

/** A full garbage collection (the flag is set at run time, so no worker needs `--expose-gc`). */
const collect = (() => {
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc") as () => void
})()

/** The bytes the process's strings and objects hold, after a full collection. */
const retained = (): number => {
  collect()
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}

describe("a JSON-Lines source whose decode cuts its keys out of the lines", () => {
  it("keeps none of the file's blocks alive in the fold's key table or the in-memory store", async () => {
    const path = join(dir, "cut-keys.jsonl")
    // 48 MiB of lines, a new key every 4,096 lines: each 1 MiB block brings two or three new keys
    const count = 440_000
    const out = createWriteStream(path)
    const pad = "x".repeat(80)
    const expected = new Map<string, number>()
    for (let i = 0; i < count; i++) {
      const key = `customer-${String(i >> 12).padStart(6, "0")}`
      expected.set(key, (expected.get(key) ?? 0) + (i % 7))
      if (!out.write(`{"k":"${key}","n":${i % 7},"pad":"${pad}"}\n`)) await new Promise<void>((go) => out.once("drain", () => go()))
    }
    out.end()
    await finished(out)
    const cutting = Jsonl.make({
      name: "jsonl-cut-keys",
      kind: "events",
      path,
      partition: "file",
      // the key and the amount read by their places in the line, as a decode by layout does
      decode: (text, position) => {
        const end = text.indexOf("\"", 6)
        const k = text.slice(6, end)
        const n = Number(text.slice(end + 6, text.indexOf(",", end + 6)))
        return I.event(`e${position.seq}`, { k, n }, position)
      }
    })
    const before = retained()
    const result = await Effect.runPromise(Effect.gen(function*() {
      const summary = yield* Fold.run(cutting, [totals])
      const all = yield* (yield* Aggregates).all(totals)
      // measured while the store and the key table still hold every key
      return { records: summary.records, all, grown: retained() - before }
    }).pipe(Effect.provide(Memory.layer()), Effect.provide(quiet)))
    expect(result.records).toBe(count)
    expect(new Map(result.all)).toEqual(expected)
    // a key kept as cut would keep its block: about 48 MiB
    expect(result.grown).toBeLessThan(12 * 1024 * 1024)
  })
})

describe("a JSON-Lines file that a writer appends to", () => {
  it("leaves a last line it cannot decode yet for a later run, which reads it whole; folds a complete one", async () => {
    const path = join(dir, "appended.jsonl")
    const whole = ['{"k":"a","n":1}', '{"k":"b","n":20}', '{"k":"a","n":300}', '{"k":"b","n":4000}']
    const half = whole[2]!.slice(0, 9)
    // the writer is in the middle of the third line
    writeFileSync(path, `${whole[0]}\n${whole[1]}\n${half}`)
    const runs: Array<number> = []
    const fold = Effect.gen(function*() {
      runs.push((yield* Fold.run(source(path), [totals])).records)
    })
    const result = await Effect.runPromise(Effect.gen(function*() {
      yield* fold
      // it finishes the line and writes the next, the last without its newline
      writeFileSync(path, `${whole[0]}\n${whole[1]}\n${whole[2]}\n${whole[3]}`)
      yield* fold
      yield* fold
      return { all: yield* (yield* Aggregates).all(totals), dead: yield* (yield* DeadLetters).list(totals.name) }
    }).pipe(Effect.provide(Memory.layer()), Effect.provide(quiet)))
    const expected = new Map<string, number>()
    for (const line of whole) {
      const d = JSON.parse(line) as { k: string; n: number }
      expected.set(d.k, (expected.get(d.k) ?? 0) + d.n)
    }
    expect(new Map(result.all)).toEqual(expected)
    expect(result.dead).toEqual([])
    // the half line was not read, the whole ones once each (the last one, complete, without its newline)
    expect(runs).toEqual([2, 2, 0])
  })
})

describe("a JSON-Lines file that starts with a UTF-8 byte order mark", () => {
  it("reads its first line without the mark", async () => {
    const path = join(dir, "bom.jsonl")
    writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"k":"a","n":1}\n{"k":"a","n":2}\n')]))
    const result = await Effect.runPromise(Effect.gen(function*() {
      yield* Fold.run(source(path), [totals])
      return { all: yield* (yield* Aggregates).all(totals), dead: yield* (yield* DeadLetters).list(totals.name) }
    }).pipe(Effect.provide(Memory.layer()), Effect.provide(quiet)))
    expect(result.dead).toEqual([])
    expect(new Map(result.all)).toEqual(new Map([["a", 3]]))
  })
})

describe("a JSON-Lines snapshot whose last line was cut short", () => {
  it("dead-letters the line (a snapshot is read once: no later run would read it)", async () => {
    const path = join(dir, "cut-snapshot.jsonl")
    const docs = [{ _id: "x", k: "a", n: 1 }, { _id: "y", k: "b", n: 20 }]
    const cut = '{"_id":"z","k":"a","n":3'
    writeFileSync(path, `${docs.map((d) => JSON.stringify(d)).join("\n")}\n${cut}`)
    const snapshot = JsonlSnapshot.make({ path, handoff: Handoff.atVersion(Version.make(1700000000000, 1)) })
    const counts = sumOfN("jsonl_snapshot_totals")
    const result = await Effect.runPromise(Effect.gen(function*() {
      const first = yield* Fold.run(snapshot, [counts])
      const second = yield* Fold.run(snapshot, [counts])
      return { records: [first.records, second.records], all: yield* (yield* Aggregates).all(counts), dead: yield* (yield* DeadLetters).list(counts.name) }
    }).pipe(Effect.provide(Memory.layer()), Effect.provide(quiet)))
    expect(new Map(result.all)).toEqual(new Map(docs.map((d) => [d.k, d.n])))
    expect(result.dead.map((d) => d.raw)).toEqual([cut])
    // the cut line was taken (dead-lettered and committed) by the first run
    expect(result.records).toEqual([3, 0])
  })
})

describe("a JSON-Lines line as large as MongoDB allows", () => {
  it("is read with the default limit: a document near 16 MiB as JSON text inside a record", async () => {
    const path = join(dir, "large.jsonl")
    // a document near MongoDB's 16 MiB, as Debezium writes it: JSON text inside JSON
    const big = JSON.stringify({ k: "a", n: 7, pad: "x".repeat(15 * 1024 * 1024) })
    writeFileSync(path, `${JSON.stringify({ k: "b", n: 1 })}\n${JSON.stringify({ text: big })}\n`)
    const large = Jsonl.make({
      name: "jsonl-large",
      kind: "events",
      path,
      partition: "file",
      decode: (text, position) => {
        const record = JSON.parse(text) as { text?: string }
        return I.event("line-" + position.seq, record.text === undefined ? record : JSON.parse(record.text), position)
      }
    })
    const result = await Effect.runPromise(Effect.gen(function*() {
      yield* Fold.run(large, [totals])
      return { all: yield* (yield* Aggregates).all(totals), dead: yield* (yield* DeadLetters).list(totals.name) }
    }).pipe(Effect.provide(Memory.layer()), Effect.provide(quiet)))
    expect(result.dead).toEqual([])
    expect(new Map(result.all)).toEqual(new Map([["a", 7], ["b", 1]]))
  })
})

describe("a JSON-Lines file replaced under the same name (rotated)", () => {
  it("fails the next run instead of reading the new file from the committed offset", async () => {
    const path = join(dir, "rotated.jsonl")
    const old = ['{"k":"a","n":1}', '{"k":"b","n":20}', '{"k":"a","n":300}']
    writeFileSync(path, old.map((l) => l + "\n").join(""))
    // the new file is longer than the committed offset: reading it from there would lose its first lines
    const rotated = ['{"k":"c","n":4000}', '{"k":"c","n":50000}', '{"k":"a","n":600000}', '{"k":"d","n":7}', '{"k":"d","n":8}']
    const exit = await Effect.runPromise(Effect.gen(function*() {
      yield* Fold.run(source(path), [totals])
      writeFileSync(path, rotated.map((l) => l + "\n").join(""))
      return yield* Effect.exit(Fold.run(source(path), [totals]))
    }).pipe(Effect.provide(Memory.layer()), Effect.provide(quiet)))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toMatch(/not those committed: the file was replaced/)
  })

  it("fails it too when the file was rotated after it was read, while its last batch was still being written", async () => {
    const path = join(dir, "rotated-late.jsonl")
    writeFileSync(path, ['{"k":"a","n":1}', '{"k":"b","n":20}', '{"k":"a","n":300}'].map((l) => l + "\n").join(""))
    const rotated = ['{"k":"c","n":4000}', '{"k":"c","n":50000}', '{"k":"a","n":600000}', '{"k":"d","n":7}', '{"k":"d","n":8}']
    const state = Memory.makeState()
    // the store's aggregate write takes a moment (a store some milliseconds away), and the file is
    // rotated meanwhile: moved away, a new one created under its name
    const rotating = Layer.effectContext(Effect.gen(function*() {
      const aggregates = yield* Aggregates
      return Context.make(Aggregates, {
        ...aggregates,
        apply: (t, u) =>
          Effect.andThen(
            Effect.sleep(100).pipe(Effect.andThen(Effect.sync(() => {
              writeFileSync(`${path}.new`, rotated.map((l) => l + "\n").join(""))
              renameSync(`${path}.new`, path)
            }))),
            aggregates.apply(t, u)
          )
      })
    })).pipe(Layer.provideMerge(Memory.layer(state)))
    await Effect.runPromise(Fold.run(source(path), [totals]).pipe(Effect.provide(rotating), Effect.provide(quiet)))
    const exit = await Effect.runPromise(Effect.exit(Fold.run(source(path), [totals])).pipe(Effect.provide(Memory.layer(state)), Effect.provide(quiet)))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toMatch(/not those committed: the file was replaced/)
  })
})

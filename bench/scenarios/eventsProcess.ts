/**
 * `events-1m-process`: the insert-only workload of issue 16 as a whole process. The parent writes
 * 1M order events as a JSON-Lines file (`{"_id":"ev<n>","customer_id":...,"amount":...}`); each
 * run is a fresh process that starts, loads the library, reads the file through the JSON-Lines
 * source, folds it with an events pipeline (sum per customer) into the in-memory stores and checks
 * the totals against the sums the parent computed while writing the file. `seconds` is the process's whole life up to then
 * (`process.uptime()`: Node's start, imports, read, fold, check), and the peak RSS is the
 * process's. Ceiling: a hand-written process that reads the same file line by line, parses each
 * line and sums per customer, with the same check.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { Effect } from "effect"
import * as I from "../../src/Input.ts"
import * as Jsonl from "../../src/Jsonl/Jsonl.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Aggregates from "../../src/Store/Aggregates.ts"
import type { Sample } from "../lib/measure.ts"
import { type Order, orderEvents, type WorkloadOptions } from "../lib/workload.ts"
import { eventsPipeline } from "./events.ts"

const FILE = "EVENTS_JSONL"
const TOTALS = "EVENTS_TOTALS"

/** Writes the workload's events to a JSON-Lines file; the file's path and its totals go to the children. */
export const prepare = async (workload: WorkloadOptions): Promise<Record<string, string>> => {
  const dir = mkdtempSync(join(tmpdir(), "bench-events-"))
  const path = join(dir, "events.jsonl")
  const lines: Array<string> = []
  const totals: Record<string, number> = {}
  for (const chunk of orderEvents(workload)) {
    for (const r of chunk) {
      if (r._tag !== "Event") continue
      const doc = r.doc as Order
      lines.push(JSON.stringify({ _id: r.eventId, customer_id: doc.customer_id, amount: doc.amount }))
      totals[doc.customer_id] = (totals[doc.customer_id] ?? 0) + doc.amount
    }
  }
  writeFileSync(path, lines.join("\n") + "\n")
  writeFileSync(join(dir, "totals.json"), JSON.stringify({ records: lines.length, totals }))
  return { [FILE]: path, [TOTALS]: join(dir, "totals.json") }
}

export const cleanup = async (env: Record<string, string>): Promise<void> => {
  const path = env[FILE]
  if (path !== undefined) rmSync(join(path, ".."), { recursive: true, force: true })
}

const envOf = (name: string): string => {
  const path = process.env[name]
  if (path === undefined) throw new Error(`${name} is not set (the scenario's prepare step writes the file)`)
  return path
}

/** Fails unless `totals` are the sums the parent computed while writing the file. */
const check = (side: string, records: number, totals: ReadonlyMap<string, number>): void => {
  const expected = JSON.parse(readFileSync(envOf(TOTALS), "utf8")) as { records: number; totals: Record<string, number> }
  let wrong = Object.keys(expected.totals).length === totals.size ? 0 : 1
  for (const [key, value] of totals) if (expected.totals[key] !== value) wrong++
  if (wrong > 0 || records !== expected.records) {
    throw new Error(`events-1m-process ${side}: ${wrong} totals differ from the file's sums (${records} records folded, ${expected.records} in the file)`)
  }
}

/** The per-customer sums of the file, read plainly (the ceiling's work). */
const plainTotals = async (path: string): Promise<{ records: number; totals: Map<string, number> }> => {
  const totals = new Map<string, number>()
  let records = 0
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (line.length === 0) continue
    const doc = JSON.parse(line) as Order
    totals.set(doc.customer_id, (totals.get(doc.customer_id) ?? 0) + doc.amount)
    records++
  }
  return { records, totals }
}

const sample = (records: number): Sample => ({
  records,
  seconds: process.uptime(),
  roundTrips: 0,
  writes: 0,
  peakRssMiB: process.resourceUsage().maxRSS / 1024
})

export const library = async (): Promise<Sample> => {
  const path = envOf(FILE)
  const source = Jsonl.make({
    name: "bench-events-file",
    kind: "events",
    path,
    partition: "events",
    chunkSize: 2000,
    decode: (text, position) => {
      const doc = JSON.parse(text) as { readonly _id: string }
      return I.event(doc._id, doc, position)
    }
  })
  const { summary, totals } = await Effect.runPromise(
    Effect.gen(function*() {
      const summary = yield* Fold.run(source, [eventsPipeline], { batchSize: 2000 })
      const aggregates = yield* Aggregates.Aggregates
      const totals = yield* aggregates.all(eventsPipeline)
      return { summary, totals }
    }).pipe(Effect.provide(Memory.layer()))
  )
  check("library", summary.records, totals as ReadonlyMap<string, number>)
  return sample(summary.records)
}

export const ceiling = async (): Promise<Sample> => {
  const { records, totals } = await plainTotals(envOf(FILE))
  check("ceiling", records, totals)
  return sample(records)
}

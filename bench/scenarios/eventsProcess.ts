/**
 * `events-1m-process`: the insert-only workload of issue 16 as a whole process. The parent writes
 * 1M order events as a JSON-Lines file (`{"_id":"ev<n>","customer_id":...,"amount":...}`); each
 * run starts a program of its own (bench/process/events.ts, as built in dist/) that loads the
 * package, reads the file through the JSON-Lines source, folds it with an events pipeline (sum per
 * customer) into the in-memory stores and checks the totals against the sums the parent computed
 * while writing the file. `seconds` is that program's wall time from start to exit (Node's start,
 * imports, read, fold, check) and the peak RSS is its own, not the benchmark runner's. Ceiling: the same program's hand-written side, which reads the file line by line,
 * parses each line and sums per customer, with the same check. `events-1m-process-native` puts the
 * same library process against the Go program of bench/native reading the same file, and
 * `events-1m-process-original{,-positional}` against the Go original (bench/scenarios/original.ts),
 * the second with both sides decoding each line by its fixed layout instead of a JSON parser.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { mismatch } from "../lib/fileTotals.ts"
import type { Sample } from "../lib/measure.ts"
import { type Order, orderEvents, type WorkloadOptions } from "../lib/workload.ts"

const here = fileURLToPath(import.meta.url)
/** The repository (this module runs from bench/scenarios or from dist/bench/scenarios). */
const root = join(here, "..", "..", "..", here.includes("/dist/") ? ".." : "")

const FILE = "EVENTS_JSONL"
const TOTALS = "EVENTS_TOTALS"
/** The Go program (bench/native), for events-1m-process-native. */
const NATIVE = "EVENTS_NATIVE_BIN"
/** The Go original's program (bench/original), for events-1m-process-original. */
const ORIGINAL = "EVENTS_ORIGINAL_BIN"

/** How a line is decoded: `JSON.parse` (encoding/json in Go) or by its fixed layout. */
export type Decoding = "json" | "positional"

/** Writes the workload's events to a JSON-Lines file; the file's path and its totals go to the children. */
export const prepare = async (
  workload: WorkloadOptions,
  programs: { readonly native?: string; readonly original?: string } = {}
): Promise<Record<string, string>> => {
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
  return {
    [FILE]: path,
    [TOTALS]: join(dir, "totals.json"),
    ...(programs.native === undefined ? {} : { [NATIVE]: programs.native }),
    ...(programs.original === undefined ? {} : { [ORIGINAL]: programs.original })
  }
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

/** The whole-process program (bench/process/events.ts), as built. */
const program = join(root, "dist", "bench", "process", "events.js")

/** Runs `command` to its exit: its wall time, and the figures it printed (its last line, JSON). */
const timed = (command: string, args: ReadonlyArray<string>) => {
  const start = process.hrtime.bigint()
  const out = execFileSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "inherit"] })
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return { seconds, printed: JSON.parse(out.trim().split("\n").at(-1)!) as { records: number; peakRssMiB: number; totals?: Record<string, number> } }
}

/** Runs the program on the file for `side` (it checks its own totals). */
const run = (side: "library" | "plain", decoding: Decoding): Sample => {
  if (!existsSync(program)) throw new Error(`${program} is missing: run npm run build (npm run bench does)`)
  const { printed, seconds } = timed(process.execPath, [program, side, envOf(FILE), envOf(TOTALS), decoding])
  return { records: printed.records, seconds, roundTrips: 0, writes: 0, peakRssMiB: printed.peakRssMiB }
}

export const library = async (decoding: Decoding = "json"): Promise<Sample> => run("library", decoding)

export const ceiling = async (decoding: Decoding = "json"): Promise<Sample> => run("plain", decoding)

/** A Go program over the file (it prints its totals), checked against the file's. */
const go = (name: string, command: string, args: ReadonlyArray<string>): Sample => {
  const { printed, seconds } = timed(command, args)
  const wrong = mismatch(envOf(TOTALS), printed.records, new Map(Object.entries(printed.totals ?? {})))
  if (wrong !== undefined) throw new Error(`${name}: ${wrong}`)
  return { records: printed.records, seconds, roundTrips: 0, writes: 0, peakRssMiB: printed.peakRssMiB }
}

/** The Go program of bench/native in jsonl mode over the file. */
export const native = async (): Promise<Sample> => go("events-1m-process-native, Go", envOf(NATIVE), ["jsonl", envOf(FILE)])

/**
 * The Go original over the file (bench/original), its streaming runtime at `MURMUR_CONCURRENCY`
 * (default 1, the runtime's own default).
 */
export const original = async (decoding: Decoding): Promise<Sample> =>
  go(`events-1m-process-original (${decoding}), the Go original`, envOf(ORIGINAL), [
    "-decode",
    decoding,
    "-concurrency",
    process.env["MURMUR_CONCURRENCY"] ?? "1",
    envOf(FILE)
  ])

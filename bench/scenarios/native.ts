/**
 * The native ceiling (issue 16, item 5): the hand-written JavaScript ceilings of the fold and
 * events scenarios against the same loops in Go (bench/native/main.go), over the same input.
 *
 * `prepare` (once, in the parent) builds the Go program into `.cache/bench-native/` (Go's own build
 * cache makes a rebuild of unchanged sources instant), generates the workload with
 * bench/lib/workload.ts, writes it to a binary file in a temporary folder, and computes the totals
 * of the JavaScript ceiling over it. The "library" side is the JavaScript ceiling itself
 * (`ledgerAndSum` of fold.ts, `sumPerCustomer` of events.ts) over the generated arrays, the
 * "ceiling" side the Go program over the file; each times the loop alone (not the generation,
 * the file or its parsing), and each run's totals must equal the JavaScript ceiling's, customer by
 * customer, or the run fails: both sides provably do the same work.
 *
 * Without a Go toolchain (`/usr/local/go/bin/go`, or `go` on the PATH) the scenarios are skipped
 * with a note ({@link skip}).
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Input } from "../../src/Input.ts"
import { peakRssMiB, type Sample } from "../lib/measure.ts"
import { generateAll, type Order, orderEvents, type WorkloadOptions } from "../lib/workload.ts"
import { ledgerAndSum } from "./fold.ts"
import { sumPerCustomer } from "./events.ts"

export type Kind = "changes" | "events"

const here = dirname(fileURLToPath(import.meta.url))
/** The repository (this module runs from bench/scenarios or from dist/bench/scenarios). */
const root = join(here, "..", "..", here.includes("/dist/") ? ".." : "")

/** The Go toolchain: /usr/local/go/bin/go, else `go` on the PATH; `undefined` when there is none. */
export const findGo = (): string | undefined =>
  ["/usr/local/go/bin", ...(process.env["PATH"] ?? "").split(delimiter)]
    .filter((d) => d !== "")
    .map((d) => join(d, "go"))
    .find((p) => existsSync(p))

/** Why the native scenarios cannot run here, or `undefined` when they can. */
export const skip = (): string | undefined =>
  findGo() === undefined ? "no Go toolchain (neither /usr/local/go/bin/go nor go on the PATH): install Go to compare the fold with a compiled language" : undefined

/** Builds bench/native into .cache/bench-native/foldceiling; returns its path. */
const build = (go: string): string => {
  const out = join(root, ".cache", "bench-native", "foldceiling")
  mkdirSync(dirname(out), { recursive: true })
  execFileSync(go, ["build", "-o", out, "."], {
    cwd: join(root, "bench", "native"),
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, GOTOOLCHAIN: "local", CGO_ENABLED: "0" }
  })
  return out
}

const generate = (kind: Kind, w: WorkloadOptions): Array<Array<Input>> => kind === "changes" ? generateAll(w) : Array.from(orderEvents(w))

const totalsOf = (kind: Kind, chunks: ReadonlyArray<ReadonlyArray<Input>>) => kind === "changes" ? ledgerAndSum(chunks) : sumPerCustomer(chunks)

const TAGS: Partial<Record<Input["_tag"], number>> = { Upsert: 0, Delete: 1, Event: 2 }
const NONE = 0xffffffff

/** The workload in bench/native/main.go's format (strings once, records as indexes and numbers). */
const encode = (chunks: ReadonlyArray<ReadonlyArray<Input>>): Buffer => {
  const strings = new Map<string, number>()
  const intern = (s: string | undefined) => {
    if (s === undefined) return NONE
    let i = strings.get(s)
    if (i === undefined) strings.set(s, i = strings.size)
    return i
  }
  const count = chunks.reduce((n, c) => n + c.length, 0)
  const records = Buffer.alloc(count * 33)
  let off = 0
  for (const chunk of chunks) {
    for (const r of chunk) {
      const doc = r._tag === "Upsert" || r._tag === "Event" ? r.doc as Order : undefined
      const version = r._tag === "Upsert" || r._tag === "Delete" ? r.version : undefined
      off = records.writeUInt8(TAGS[r._tag] ?? 3, off)
      off = records.writeUInt32LE(intern(r._tag === "Upsert" || r._tag === "Delete" ? r.docId : undefined), off)
      off = records.writeUInt32LE(intern(doc?.customer_id), off)
      off = records.writeDoubleLE(version?.[0] ?? 0, off)
      off = records.writeDoubleLE(version?.[1] ?? 0, off)
      off = records.writeDoubleLE(doc?.amount ?? 0, off)
    }
  }
  const parts: Array<Buffer> = [Buffer.from("FOLDNAT1"), u32(strings.size)]
  for (const s of strings.keys()) {
    const b = Buffer.from(s, "utf8")
    parts.push(u32(b.length), b)
  }
  parts.push(u32(count), records)
  return Buffer.concat(parts)
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n)
  return b
}

/** The run folder and the Go program, handed from `prepare` to the run processes. */
const DIR = "BENCH_NATIVE_DIR"
const BIN = "BENCH_NATIVE_BIN"

const envOf = (name: string): string => {
  const v = process.env[name]
  if (v === undefined) throw new Error(`${name} is not set: the native scenarios run under bench/run.ts, whose prepare sets it`)
  return v
}

/** Builds the Go program (bench/native); returns its path. Fails when there is no Go toolchain. */
export const buildNative = (): string => {
  const go = findGo()
  if (go === undefined) throw new Error(skip())
  return build(go)
}

export const prepare = (kind: Kind) => async (w: WorkloadOptions): Promise<Record<string, string>> => {
  const bin = buildNative()
  const dir = mkdtempSync(join(tmpdir(), "bench-native-"))
  const chunks = generate(kind, w)
  writeFileSync(join(dir, "workload.bin"), encode(chunks))
  writeFileSync(join(dir, "totals.json"), JSON.stringify(Object.fromEntries(totalsOf(kind, chunks).totals)))
  return { [DIR]: dir, [BIN]: bin }
}

export const cleanup = async (env: Record<string, string>): Promise<void> => {
  if (env[DIR] !== undefined) rmSync(env[DIR], { recursive: true, force: true })
}

/** Fails unless `totals` are the JavaScript ceiling's, customer by customer. */
const check = (side: string, totals: ReadonlyMap<string, number>): void => {
  const expected = JSON.parse(readFileSync(join(envOf(DIR), "totals.json"), "utf8")) as Record<string, number>
  const keys = Object.keys(expected)
  const wrong = keys.filter((k) => totals.get(k) !== expected[k])
  if (wrong.length > 0 || totals.size !== keys.length) {
    throw new Error(`${side}: totals differ from the JavaScript ceiling's (${totals.size} customers against ${keys.length}; ${wrong.length} differ, e.g. ${wrong.slice(0, 3).map((k) => `${k}: ${totals.get(k)} against ${expected[k]}`).join(", ")})`)
  }
}

/** The JavaScript ceiling, timed around its loop alone, its totals checked. */
export const javascript = (kind: Kind) => async (w: WorkloadOptions): Promise<Sample> => {
  const chunks = generate(kind, w)
  const start = process.hrtime.bigint()
  const { records, totals } = totalsOf(kind, chunks)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  check("JavaScript", totals)
  return { records, seconds, roundTrips: 0, writes: 0, peakRssMiB: peakRssMiB() }
}

/** The Go program over the file (it times its loop alone), its totals checked. */
export const native = (kind: Kind) => async (): Promise<Sample> => {
  const out = execFileSync(envOf(BIN), [kind, join(envOf(DIR), "workload.bin")], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "inherit"]
  })
  const r = JSON.parse(out) as { records: number; seconds: number; peakRssMiB: number; totals: Record<string, number> }
  check("Go", new Map(Object.entries(r.totals)))
  // the run's process is the Go program's: its peak RSS, not this launcher's
  return { records: r.records, seconds: r.seconds, roundTrips: 0, writes: 0, peakRssMiB: r.peakRssMiB }
}

/**
 * `npm run bench [-- --quick] [-- --only NAME,...]`: every scenario against its ceiling.
 *
 * Each run executes in a fresh child process (so peak RSS and JIT state belong to that run alone);
 * the parent runs each side several times, prints a table with the median rate, the spread
 * (min-max), ns per record, store round trips and writes per record, peak RSS, and the ratio to
 * the ceiling, and writes bench/results/<scenario>.json.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg, totalmem } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Sample, summarise, type Summary } from "./lib/measure.ts"
import { reports, scenarios } from "./scenarios/index.ts"

const args = process.argv.slice(2)
const here = fileURLToPath(import.meta.url)
const root = join(here, "..", "..", here.includes("/dist/") ? ".." : "")

if (args[0] === "--child") {
  const [, name, side, mode] = args as [string, string, "library" | "ceiling", "quick" | "full"]
  const scenario = scenarios.find((s) => s.name === name)
  if (scenario === undefined) throw new Error(`no scenario ${name}`)
  const sample = await scenario[side](scenario[mode])
  process.stdout.write("\n" + JSON.stringify(sample) + "\n")
  process.exit(0)
}

const quick = args.includes("--quick")
const onlyIndex = args.indexOf("--only")
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? "").split(",")) : undefined
const runs = quick ? 2 : 5
const mode = quick ? "quick" : "full"
const selected = scenarios.filter((s) => only === undefined || only.has(s.name))
const selectedReports = reports.filter((r) => only === undefined || only.has(r.name))
const unknown = Array.from(only ?? []).filter((name) => ![...scenarios, ...reports].some((s) => s.name === name))
if (unknown.length > 0) throw new Error(`no scenario ${unknown.join(", ")}`)

if (args[0] === "--requires") {
  // the services.sh names of the servers the selected scenarios need (scripts/bench.sh starts them)
  const names = new Set(selected.flatMap((s) => s.requires ?? []).map((r) => (r === "dynamodb" ? "dynalite" : r)))
  process.stdout.write(Array.from(names).join(" ") + "\n")
  process.exit(0)
}

/**
 * Extra Node flags for the run processes, e.g. `BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=prof"`
 * to profile every run of a scenario whose servers the parent prepares (Node refuses `--cpu-prof`
 * in NODE_OPTIONS).
 */
const nodeFlags = (process.env["BENCH_NODE_FLAGS"] ?? "").split(/\s+/).filter((f) => f.length > 0)

const child = (name: string, side: string, env: Record<string, string>): Sample => {
  const out = execFileSync(process.execPath, [...nodeFlags, "--expose-gc", here, "--child", name, side, mode], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env, KAFKAJS_NO_PARTITIONER_WARNING: "1" }
  })
  // the sample is the last line (anything a library logs to stdout before it is not parsed)
  return JSON.parse(out.trim().split("\n").pop() ?? "") as Sample
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString()
}

console.log(`bench (${mode}: ${runs} runs per side, median [min-max]) on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`)
const header = ["scenario", "side", "records/s", "spread", "ns/rec", "trips/rec", "writes/rec", "store writes/s", "peak RSS MiB", "vs ceiling"]
const rows: Array<Array<string>> = [header]
mkdirSync(join(root, "bench", "results"), { recursive: true })
for (const scenario of selected) {
  const skipped = await scenario.skip?.()
  if (skipped !== undefined) {
    console.log(`${scenario.name}: skipped, ${skipped}`)
    continue
  }
  const results: Record<string, Summary> = {}
  const env = scenario.prepare === undefined ? {} : await scenario.prepare(scenario[mode])
  try {
    // the sides alternate run by run, so that a busy spell of the machine weighs on both alike
    const samples = { library: [] as Array<Sample>, ceiling: [] as Array<Sample> }
    for (let i = 0; i < runs; i++) {
      for (const side of ["library", "ceiling"] as const) samples[side].push(child(scenario.name, side, env))
    }
    results.library = summarise(samples.library)
    results.ceiling = summarise(samples.ceiling)
  } finally {
    if (scenario.cleanup !== undefined) await scenario.cleanup(env)
  }
  const lib = results.library!
  const ceil = results.ceiling!
  // store scenarios compare write rates (the ceiling's unit is raw writes); the others records/s
  const ratio = scenario.compare === "writes" && lib.storeWritesPerSecond !== undefined && ceil.storeWritesPerSecond !== undefined
    ? lib.storeWritesPerSecond.median / ceil.storeWritesPerSecond.median
    : lib.rate.median / ceil.rate.median
  for (const [side, s] of [["library", lib], ["ceiling", ceil]] as const) {
    rows.push([
      scenario.name,
      side,
      fmt(s.rate.median),
      `${fmt(s.rate.min)}-${fmt(s.rate.max)}`,
      fmt(s.nsPerRecord),
      fmt(s.roundTripsPerRecord, 4),
      fmt(s.writesPerRecord, 4),
      s.storeWritesPerSecond === undefined ? "" : fmt(s.storeWritesPerSecond.median),
      fmt(s.peakRssMiB),
      side === "library" ? `${fmt(ratio * 100, 1)}%` : ""
    ])
  }
  for (const [side, s] of [["library:", lib], ["ceiling:", ceil]] as const) {
    const extra = s.extra === undefined ? "" : `  ${Object.entries(s.extra).map(([k, v]) => `${k}=${v}`).join(" ")}`
    if (extra !== "") rows.push([scenario.name, side, extra, "", "", "", "", "", "", ""])
  }
  writeFileSync(
    join(root, "bench", "results", `${scenario.name}.json`),
    JSON.stringify({ scenario: scenario.name, description: scenario.description, mode, params: scenario[mode], machine, load: loadavg(), compare: scenario.compare ?? "records", library: lib, ceiling: ceil, ratio }, null, 2) + "\n"
  )
}
/** Prints a table: the first `left` columns aligned left, the others (figures) right. */
const print = (table: ReadonlyArray<ReadonlyArray<string>>, left: number) => {
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => (r[c] ?? "").length)))
  for (const r of table) console.log(r.map((cell, c) => (c < left ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "))
}
if (rows.length > 1) print(rows, 2)

for (const report of selectedReports) {
  const { result, table } = await report.run(root, mode)
  console.log(`\n${report.name}: ${report.description}\n`)
  print(table, 2)
  writeFileSync(
    join(root, "bench", "results", `${report.name}.json`),
    JSON.stringify({ scenario: report.name, description: report.description, mode, machine, load: loadavg(), result }, null, 2) + "\n"
  )
}

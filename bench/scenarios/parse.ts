/**
 * Parsing Debezium envelopes as the connector writes them: the values of the records captured
 * from the real MongoDB connector (test/fixtures/debezium-real, `schemas.enable=false`; each has
 * `source.ts_ns`, an integer literal past 2^53) parsed by `ExtendedJson.parseJson`, which keeps
 * such literals exact, against a plain `JSON.parse` of the same texts (which rounds them).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseJson } from "../../src/ExtendedJson.ts"
import { peakRssMiB, type Sample } from "../lib/measure.ts"
import type { WorkloadOptions } from "../lib/workload.ts"

const here = fileURLToPath(import.meta.url)
// bench/scenarios in the sources, dist/bench/scenarios once built
const root = join(here, "..", "..", "..", here.includes("/dist/") ? ".." : "")
const fixtures = join(root, "test", "fixtures", "debezium-real")

/** Every non-tombstone record value of the captured files without schemas, as the text Kafka carries. */
const values = (): ReadonlyArray<string> =>
  readdirSync(fixtures)
    .filter((f) => f.endsWith("-schemas-false.jsonl"))
    .flatMap((f) => readFileSync(join(fixtures, f), "utf8").split("\n"))
    .filter((line) => line.trim().length > 0)
    .map((line) => (JSON.parse(line) as { value: unknown }).value)
    .filter((value) => value !== null)
    .map((value) => JSON.stringify(value))

/** `workload.changes` parses over the captured values in turn, timed after a warm-up pass. */
const parsed = (workload: WorkloadOptions, parse: (text: string) => unknown): Sample => {
  const texts = values()
  if (texts.length === 0) throw new Error(`no captured records in ${fixtures}`)
  const pass = (n: number) => {
    let kept = 0
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) if (parse(texts[i % texts.length]!) !== undefined) kept++
    return { kept, seconds: Number(process.hrtime.bigint() - start) / 1e9 }
  }
  pass(Math.min(workload.changes, 50_000))
  const { kept, seconds } = pass(workload.changes)
  return {
    records: kept,
    seconds,
    roundTrips: 0,
    writes: 0,
    peakRssMiB: peakRssMiB(),
    extra: { nsPerRecord: Math.round((seconds * 1e9) / kept), texts: texts.length }
  }
}

export const library = async (workload: WorkloadOptions): Promise<Sample> => parsed(workload, parseJson)

export const ceiling = async (workload: WorkloadOptions): Promise<Sample> => parsed(workload, (text) => JSON.parse(text))

/**
 * Scenario 6 (file): one source, three pipelines. A JSON-Lines dump of Debezium envelopes (what a
 * topic dump looks like: the same decoder as the Kafka path) folded into three pipelines over the
 * in-memory stores, in one pass, against three separate runs over the same file with one pipeline
 * each (three deployments of a library that feeds one pipeline per source). The file is written
 * before the timed part, on both sides. The Kafka form of the scenario is in `kafka.ts`.
 *
 * The baseline side takes the place of the ceiling in the table: "vs ceiling" is then how many
 * times faster one pass is than three (records/s counts the file's records once on both sides).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, References } from "effect"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as JsonlChanges from "../../src/Jsonl/JsonlChanges.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { type Counter, counting } from "../lib/counting.ts"
import { type Sample, time } from "../lib/measure.ts"
import { fanoutPipelines } from "../lib/pipeline.ts"
import { envelope } from "../lib/envelope.ts"
import { changes, type WorkloadOptions } from "../lib/workload.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

const three = fanoutPipelines

/** Writes the workload's dump to a fresh file; returns its path, its record count and how to remove it. */
const dump = (workload: WorkloadOptions) => {
  const dir = mkdtempSync(join(tmpdir(), "bench-fanout-"))
  const path = join(dir, "changes.jsonl")
  const lines: Array<string> = []
  for (const chunk of changes({ ...workload, chunk: 5000 })) {
    for (const r of chunk) {
      // a line of the dump: the Kafka record of the change, key and value as JSON text
      const record = envelope(r)
      if (record !== undefined) lines.push(JSON.stringify(record))
    }
  }
  const text = lines.join("\n") + "\n"
  writeFileSync(path, text)
  return { path, records: text.split("\n").length - 1, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

const foldFile = (path: string, pipelines: ReadonlyArray<Pipeline.Pipeline<any, number, "changes">>, counter: Counter) =>
  Effect.runPromise(
    Fold.run(JsonlChanges.make({ path }), pipelines, { batchSize: 2000 }).pipe(
      Effect.provide(counting(Memory.layer(), counter)),
      Effect.provide(quiet)
    )
  )

/** One pass: the file read and decoded once, every batch applied to the three pipelines. */
export const library = async (workload: WorkloadOptions): Promise<Sample> => {
  const file = dump(workload)
  const counter: Counter = { calls: 0, keysWritten: 0 }
  try {
    return await time(async () => {
      const summary = await foldFile(file.path, three, counter)
      if (summary.records !== file.records) throw new Error(`folded ${summary.records} of ${file.records} records`)
      return { records: file.records, roundTrips: counter.calls, writes: counter.keysWritten }
    })
  } finally {
    file.remove()
  }
}

/** The baseline: three runs over the file, one pipeline each, each with stores of its own. */
export const baseline = async (workload: WorkloadOptions): Promise<Sample> => {
  const file = dump(workload)
  const counter: Counter = { calls: 0, keysWritten: 0 }
  try {
    return await time(async () => {
      for (const pipeline of three) {
        const summary = await foldFile(file.path, [pipeline], counter)
        if (summary.records !== file.records) throw new Error(`folded ${summary.records} of ${file.records} records`)
      }
      return { records: file.records, roundTrips: counter.calls, writes: counter.keysWritten }
    })
  } finally {
    file.remove()
  }
}

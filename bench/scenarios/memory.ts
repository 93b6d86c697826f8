/**
 * Scenario 5: memory. Folds a long stream of changes over a fixed set of documents, generated
 * lazily (no input is held), and samples RSS as it goes: the ledger grows with documents, nothing
 * may grow with changes. The ceiling is the hand-written loop over the same lazy stream.
 */
import { Effect, Stream } from "effect"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { commitToTokens } from "../../src/Source.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { peakRssMiB, type Sample } from "../lib/measure.ts"
import { benchPipeline } from "../lib/pipeline.ts"
import type { Input } from "../../src/Input.ts"
import { changes, type Order, type WorkloadOptions } from "../lib/workload.ts"

const MiB = 1048576
const gc = (globalThis as { gc?: () => void }).gc

/**
 * Samples memory after each tenth of the stream: RSS, and the live heap after a full GC (the
 * children run with --expose-gc), which is what "bounded" is about (RSS also counts garbage V8 has
 * not returned yet).
 */
const sampled = (workload: WorkloadOptions) => {
  const marks: Array<{ readonly rss: number; readonly heap: number }> = []
  const step = Math.floor(workload.changes / 10)
  let seen = 0
  function* gen() {
    for (const chunk of changes(workload)) {
      seen += chunk.length
      if (Math.floor(seen / step) > marks.length) {
        gc?.()
        const m = process.memoryUsage()
        marks.push({ rss: m.rss / MiB, heap: m.heapUsed / MiB })
      }
      yield chunk
    }
  }
  return { gen, marks }
}

const report = (records: number, seconds: number, marks: ReadonlyArray<{ readonly rss: number; readonly heap: number }>): Sample => ({
  records,
  seconds,
  roundTrips: 0,
  writes: 0,
  peakRssMiB: peakRssMiB(),
  extra: {
    heapAt10pctMiB: Math.round(marks[0]?.heap ?? 0),
    heapAt50pctMiB: Math.round(marks[4]?.heap ?? 0),
    heapAt100pctMiB: Math.round(marks[marks.length - 1]?.heap ?? 0),
    heapGrowth50to100pctMiB: Math.round((marks[marks.length - 1]?.heap ?? 0) - (marks[4]?.heap ?? 0)),
    rssAt100pctMiB: Math.round(marks[marks.length - 1]?.rss ?? 0)
  }
})

export const library = async (workload: WorkloadOptions): Promise<Sample> => {
  const { gen, marks } = sampled(workload)
  const start = process.hrtime.bigint()
  const summary = await Effect.runPromise(
    Fold.run(Source.make({
      name: "bench-memory",
      kind: "changes",
      // one generated array per chunk (fromIterable's default chunk size would pull thousands of
      // arrays, millions of records, ahead of the fold)
      records: Stream.fromIterable(gen(), { chunkSize: 1 }).pipe(
        Stream.filter((chunk): chunk is [Input, ...Array<Input>] => chunk.length > 0),
        Stream.flattenArray
      ),
      commit: (last) => Effect.orDie(commitToTokens("bench-memory")(last))
    }), [benchPipeline], { batchSize: workload.chunk ?? 2000 }).pipe(Effect.provide(Memory.layer()))
  )
  return report(summary.records, Number(process.hrtime.bigint() - start) / 1e9, marks)
}

export const ceiling = async (workload: WorkloadOptions): Promise<Sample> => {
  const { gen, marks } = sampled(workload)
  const start = process.hrtime.bigint()
  const ledger = new Map<string, { key: string | undefined; value: number; hi: number; lo: number }>()
  const totals = new Map<string, number>()
  let records = 0
  for (const chunk of gen()) {
    for (const r of chunk) {
      records++
      if (r._tag !== "Upsert" && r._tag !== "Delete") continue
      const cur = ledger.get(r.docId)
      const version = r.version!
      if (cur !== undefined && !(version[0] > cur.hi || (version[0] === cur.hi && version[1] > cur.lo))) continue
      if (cur !== undefined && cur.key !== undefined) totals.set(cur.key, (totals.get(cur.key) ?? 0) - cur.value)
      if (r._tag === "Upsert") {
        const doc = r.doc as Order
          totals.set(doc.customer_id, (totals.get(doc.customer_id) ?? 0) + doc.amount)
        ledger.set(r.docId, { key: doc.customer_id, value: doc.amount, hi: version[0], lo: version[1] })
      } else ledger.set(r.docId, { key: undefined, value: 0, hi: version[0], lo: version[1] })
    }
  }
  return report(records, Number(process.hrtime.bigint() - start) / 1e9, marks)
}

/**
 * Events without a ledger (`Pipeline.events`).
 *
 * - `events-10m`: 10M insert-only order events, generated lazily, folded by an events pipeline
 *   (sum per customer) into the in-memory stores, with the live heap after a full GC sampled at
 *   1M, 5M and 10M events: nothing may grow with events. Ceiling: a hand-written sum per customer
 *   over the same lazy stream.
 * - `events-plan`: the planner alone on the events path (decode, key, value, coalesce per key),
 *   1M events in batches of 2000, in nanoseconds per record against the target of 150 ns: the
 *   second of two passes over the batches (a running worker's cost; the first pass, with the JIT
 *   still compiling, is reported as `nsPerRecordCold`). Ceiling: a hand-written coalescing loop
 *   over the same batches (no decoding), timed the same way.
 */
import { Effect, Stream } from "effect"
import type { Input } from "../../src/Input.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Plan from "../../src/Runtime/Plan.ts"
import * as Source from "../../src/Source.ts"
import { commitToTokens } from "../../src/Source.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { peakRssMiB, type Sample } from "../lib/measure.ts"
import { benchPipeline } from "../lib/pipeline.ts"
import { type Order, orderEvents, type WorkloadOptions } from "../lib/workload.ts"

const MiB = 1048576
const gc = (globalThis as { gc?: () => void }).gc

/** The bench pipeline without its ledger. */
export const eventsPipeline = benchPipeline.pipe(Pipeline.rename("bench_event_totals"), Pipeline.events)

/** The events of `workload`, with the live heap (after a full GC) noted at 10%, 50% and 100%. */
const sampled = (workload: WorkloadOptions) => {
  const heap = new Map<number, number>()
  const at = [workload.changes / 10, workload.changes / 2, workload.changes]
  let seen = 0
  function* gen() {
    for (const chunk of orderEvents(workload)) {
      yield chunk
      seen += chunk.length
      if (at.includes(seen)) {
        gc?.()
        heap.set(seen, process.memoryUsage().heapUsed / MiB)
      }
    }
  }
  return { gen, heap, at }
}

const report = (records: number, seconds: number, s: ReturnType<typeof sampled>): Sample => {
  const [a, b, c] = s.at.map((n) => Math.round(s.heap.get(n) ?? Number.NaN))
  return {
    records,
    seconds,
    roundTrips: 0,
    writes: 0,
    peakRssMiB: peakRssMiB(),
    extra: { heapAt10pctMiB: a!, heapAt50pctMiB: b!, heapAt100pctMiB: c!, heapGrowth10to100pctMiB: c! - a! }
  }
}

export const library = async (workload: WorkloadOptions): Promise<Sample> => {
  const s = sampled(workload)
  const start = process.hrtime.bigint()
  const summary = await Effect.runPromise(
    Fold.run(Source.make({
      name: "bench-events",
      kind: "events",
      records: Stream.fromIterable(s.gen(), { chunkSize: 1 }).pipe(
        Stream.filter((chunk): chunk is [Input, ...Array<Input>] => chunk.length > 0),
        Stream.flattenArray
      ),
      commit: (last) => Effect.orDie(commitToTokens("bench-events")(last))
    }), [eventsPipeline], { batchSize: workload.chunk ?? 2000 }).pipe(Effect.provide(Memory.layer()))
  )
  return report(summary.records, Number(process.hrtime.bigint() - start) / 1e9, s)
}

export const ceiling = async (workload: WorkloadOptions): Promise<Sample> => {
  const s = sampled(workload)
  const start = process.hrtime.bigint()
  const { records } = sumPerCustomer(s.gen())
  return report(records, Number(process.hrtime.bigint() - start) / 1e9, s)
}

/**
 * The ceiling's work: a sum per customer, by hand (exported for the native ceiling,
 * bench/scenarios/native.ts, which checks its Go twin's totals against these).
 */
export const sumPerCustomer = (chunks: Iterable<ReadonlyArray<Input>>): { records: number; totals: Map<string, number> } => {
  const totals = new Map<string, number>()
  let records = 0
  for (const chunk of chunks) {
    for (const r of chunk) {
      records++
      if (r._tag !== "Event") continue
      const doc = r.doc as Order
      totals.set(doc.customer_id, (totals.get(doc.customer_id) ?? 0) + doc.amount)
    }
  }
  return { records, totals }
}

/**
 * Plans every batch twice and times both passes: the first is a fresh process's (the JIT still
 * compiling), the second a long-running worker's. The sample is the second pass; `nsPerRecordCold`
 * is the first.
 */
const planned = (workload: WorkloadOptions, run: (batch: ReadonlyArray<Input>) => void): Sample => {
  const batches = Array.from(orderEvents(workload))
  const pass = () => {
    const start = process.hrtime.bigint()
    let records = 0
    for (const batch of batches) {
      run(batch)
      records += batch.length
    }
    return { records, seconds: Number(process.hrtime.bigint() - start) / 1e9 }
  }
  const cold = pass()
  const { records, seconds } = pass()
  return {
    records,
    seconds,
    roundTrips: 0,
    writes: 0,
    peakRssMiB: peakRssMiB(),
    extra: { nsPerRecord: Math.round((seconds * 1e9) / records), nsPerRecordCold: Math.round((cold.seconds * 1e9) / cold.records) }
  }
}

const noLedger = new Map()

export const planLibrary = async (workload: WorkloadOptions): Promise<Sample> =>
  planned(workload, (batch) => {
    Plan.plan(eventsPipeline, batch, noLedger)
  })

export const planCeiling = async (workload: WorkloadOptions): Promise<Sample> =>
  planned(workload, (batch) => {
    const acc = new Map<string, number>()
    for (const r of batch) {
      if (r._tag !== "Event") continue
      const doc = r.doc as Order
      acc.set(doc.customer_id, (acc.get(doc.customer_id) ?? 0) + doc.amount)
    }
  })

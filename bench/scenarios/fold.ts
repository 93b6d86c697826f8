/**
 * Scenario 1: the fold alone, in memory. The library's fold (Fold.run over the in-memory stores:
 * ledger look-ups, planning, coalescing, idempotent apply, ledger writes, position commits) against
 * its ceiling, a plain hand-written loop doing the same ledger-and-sum work over the same arrays.
 */
import { Effect, Stream } from "effect"
import type { Input } from "../../src/Input.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { commitToTokens } from "../../src/Source.ts"
import * as Memory from "../../src/Store/Memory.ts"
import type { Tokens } from "../../src/Store/Tokens.ts"
import { type Counter, counting } from "../lib/counting.ts"
import { time, type Sample } from "../lib/measure.ts"
import { benchPipeline } from "../lib/pipeline.ts"
import { generateAll, type Order, type WorkloadOptions } from "../lib/workload.ts"

export const sourceOf = (chunks: ReadonlyArray<ReadonlyArray<Input>>, name = "bench"): Source.Source<"changes", never, Tokens> =>
  Source.make({
    name,
    kind: "changes",
    records: Stream.fromArrays(...(chunks as Array<Array<Input>>)),
    commit: (last) => Effect.orDie(commitToTokens(name)(last))
  })

/** The library's fold over the in-memory stores. */
export const library = async (workload: WorkloadOptions): Promise<Sample> => {
  const chunks = generateAll(workload)
  const counter: Counter = { calls: 0, keysWritten: 0 }
  return time(async () => {
    const summary = await Effect.runPromise(
      Fold.run(sourceOf(chunks), [benchPipeline], { batchSize: workload.chunk ?? 2000 }).pipe(
        Effect.provide(counting(Memory.layer(), counter))
      )
    )
    return { records: summary.records, roundTrips: counter.calls, writes: counter.keysWritten }
  })
}

interface LedgerRow {
  key: string | undefined
  value: number
  hi: number
  lo: number
}

/**
 * The ceiling's work: a plain loop over the arrays, no library around it (exported for the native
 * ceiling, bench/scenarios/native.ts, which checks its Go twin's totals against these).
 */
export const ledgerAndSum = (chunks: ReadonlyArray<ReadonlyArray<Input>>): { records: number; totals: Map<string, number> } => {
  const ledger = new Map<string, LedgerRow>()
  const totals = new Map<string, number>()
  let records = 0
  for (const chunk of chunks) {
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
      } else {
        ledger.set(r.docId, { key: undefined, value: 0, hi: version[0], lo: version[1] })
      }
    }
  }
  return { records, totals }
}

/** The ceiling: the same work as a plain loop over arrays, no library around it. */
export const ceiling = async (workload: WorkloadOptions): Promise<Sample> => {
  const chunks = generateAll(workload)
  return time(async () => ({ records: ledgerAndSum(chunks).records, writes: 0 }))
}

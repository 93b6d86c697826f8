/**
 * Crashes half-way through a batch's writes, as a store that writes item by item (DynamoDB) or two
 * members owning one partition for a moment (a rebalance) leave the ledger: some documents of the
 * batch recorded, others not. The replay must then skip exactly what the aggregates hold, also
 * where a batch's contributions to a key cancel out (one order moving in, another moving out).
 *
 * No server needed (memory store, with the crash injected around it).
 */
import { Effect, Exit, Layer, References, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { ordersPerCustomer, orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { type CrashPlan, crashing } from "../support/faults.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

const order = (id: string, customer: string, amount: number) => ({ _id: id, customer_id: customer, amount })

const read = (state: Memory.State, pipeline: typeof ordersPerCustomer | typeof orderTotals) =>
  Effect.runPromise(
    Aggregates.use((a) => a.all(pipeline)).pipe(
      Effect.map((all) => Object.fromEntries(Array.from(all).filter(([, v]) => v !== 0))),
      Effect.provide(Memory.layer(state))
    )
  )

/** Folds `changes` in batches of two into `state`, crashing as `plan` says; returns whether it crashed. */
const fold = (state: Memory.State, changes: ReadonlyArray<Source.Change>, plan: CrashPlan | undefined) =>
  Effect.runPromiseExit(
    Source.fromStream("orders", Stream.fromIterable(changes)).pipe(
      Fold.run([orderTotals, ordersPerCustomer], { batchSize: 2 }),
      Effect.provide(crashing(Memory.layer(state), plan)),
      Effect.provide(quiet)
    )
  ).then(Exit.isFailure)

describe("a crash half-way through a batch's writes", () => {
  // batch 1 places o1 at c1 and o2 at c2; batch 2 moves o1 to c2 and o2 to c3: c2 gets +1 and -1
  const changes = [
    Source.upsert("o1", order("o1", "c1", 10)),
    Source.upsert("o2", order("o2", "c2", 20)),
    Source.upsert("o1", order("o1", "c2", 10)),
    Source.upsert("o2", order("o2", "c3", 20))
  ]
  const expected = { counts: { c2: 1, c3: 1 }, totals: { c2: 10, c3: 20 } }

  for (const at of [1, 2, 3, 4]) {
    it(`ledger write ${at} of 4 half done (first pipeline's then second's, per batch): the replay is exact`, async () => {
      const state = Memory.makeState()
      expect(await fold(state, changes, { operation: "ledger.put", at, mode: "partial" })).toBe(true)
      expect(await fold(state, changes, undefined)).toBe(false)
      expect(await read(state, ordersPerCustomer)).toEqual(expected.counts)
      expect(await read(state, orderTotals)).toEqual(expected.totals)
    })
  }

  it("aggregate write 4 of 4 half done: the replay is exact", async () => {
    const state = Memory.makeState()
    expect(await fold(state, changes, { operation: "aggregates.apply", at: 4, mode: "partial" })).toBe(true)
    expect(await fold(state, changes, undefined)).toBe(false)
    expect(await read(state, ordersPerCustomer)).toEqual(expected.counts)
    expect(await read(state, orderTotals)).toEqual(expected.totals)
  })
})

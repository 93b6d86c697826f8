/**
 * The fold's central property, history independence: for any generated history (inserts, amount
 * updates, customer moves, documents turning invalid and valid again, deletes, re-inserts of ids
 * in another numeric type, `_id`s of every BSON type, redeliveries, out-of-date records,
 * tombstones, malformed records), any batch boundaries, any number of partitions, and simulated
 * crashes at any store call with restarts, the totals equal a plain group-by-sum over the valid
 * final documents, and exactly the records without a valid state are dead-lettered.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { Context, Effect, Layer } from "effect"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import type { Services } from "../support/faults.ts"
import { foldHistory } from "../support/foldHarness.ts"
import { ordersPerCustomer, ordersPerStatus, orderTotals } from "../../examples/orderstats/pipeline.ts"
import { deadLetterProblems, exactProblems, generate, nonZero, reference } from "../support/history.ts"

/** Store services whose every call first waits a millisecond, so that concurrent batches interleave. */
const slowCalls = (base: Layer.Layer<Services>) =>
  Layer.effectContext(Effect.gen(function*() {
    const a = yield* Aggregates
    const l = yield* Ledger
    const t = yield* Tokens
    const d = yield* DeadLetters
    const slow = <A, E>(e: Effect.Effect<A, E>) => Effect.andThen(Effect.sleep(1), e)
    return Context.make(Aggregates, { apply: (x, u) => slow(a.apply(x, u)), get: (x, k) => slow(a.get(x, k)), all: a.all }).pipe(
      Context.add(Ledger, { get: (x, ids) => slow(l.get(x, ids)), put: (x, e) => slow(l.put(x, e)) }),
      Context.add(Tokens, { get: (p, n) => slow(t.get(p, n)), set: (p, n, v) => slow(t.set(p, n, v)) }),
      Context.add(DeadLetters, { write: (r) => slow(d.write(r)), list: d.list })
    )
  })).pipe(Layer.provide(base))

/** The example's three pipelines, folded from one source in one pass. */
const three = [orderTotals, ordersPerStatus, ordersPerCustomer]

const params = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  partitions: fc.integer({ min: 1, max: 4 }),
  maxChunk: fc.integer({ min: 1, max: 40 }),
  crashes: fc.integer({ min: 0, max: 6 })
})

describe("fold over generated histories", () => {
  it("in memory: three pipelines from one source, exact under random batching, partitions and crashes", async () => {
    let restarts = 0
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        const history = generate(p.seed)
        const state = Memory.makeState()
        const result = await foldHistory(history, { ...p, pipelines: three, crashWindow: 90, store: () => Memory.layer(state) })
        restarts += result.restarts
        expect(exactProblems(history, result.pipelines)).toEqual([])
        expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
        expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
      }),
      { numRuns: 150 }
    )
    // the crash injection really happened
    expect(restarts).toBeGreaterThan(50)
  })

  for (const transactions of [true, false]) {
    it(`embedded SQLite store${transactions ? " (a transaction a batch)" : " (a transaction a call)"}: three pipelines exact across crashes and reopened databases`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "fold-embedded-"))
      let run = 0
      let restarts = 0
      try {
        await fc.assert(
          fc.asyncProperty(params, async (p) => {
            const history = generate(p.seed, { docs: 20, ops: 80 })
            const path = join(dir, `run-${run++}.sqlite`)
            const result = await foldHistory(history, {
              ...p,
              pipelines: three,
              crashWindow: 90,
              transactions,
              store: () => Embedded.layer({ path, durability: "normal" })
            })
            restarts += result.restarts
            expect(exactProblems(history, result.pipelines)).toEqual([])
            expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
            expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
          }),
          { numRuns: 40 }
        )
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
      expect(restarts).toBeGreaterThan(10)
    })
  }

  it("ordered by source time (Debezium 2.x cluster times): any earlier record again, out-of-date states late (memory)", async () => {
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        const history = generate(p.seed, { ordering: "sourceTime" })
        const state = Memory.makeState()
        const result = await foldHistory(history, { ...p, ordering: "sourceTime", store: () => Memory.layer(state) })
        expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
        expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
      }),
      { numRuns: 60 }
    )
  })

  it("the harness detects a broken ordering: position order over a log whose records arrive out of date", async () => {
    // Not a property of the library: out-of-date records placed anywhere (not a topic's order)
    // regress documents when read by position, so the test above needs "sourceTime" to hold.
    let wrong = 0
    for (let seed = 0; seed < 30; seed++) {
      const history = generate(seed, { ordering: "sourceTime" })
      const result = await foldHistory(history, { seed, crashes: 0, partitions: 1, maxChunk: 10, store: ((state) => () => Memory.layer(state))(Memory.makeState()) })
      if (JSON.stringify(nonZero(result.totals)) !== JSON.stringify(nonZero(reference(history.final)))) wrong++
    }
    expect(wrong).toBeGreaterThan(0)
  })

  it("memory with store calls that take time (as a network store's do): batches overlap, crashes cut writes mid-batch", async () => {
    // the fold plans a batch while the previous one is written; with calls that yield, a crash in
    // one batch's reads interrupts the other's writes half-way, and a restart must still be exact
    let restarts = 0
    for (const seed of [7, 8, 9, 10, 11, 12]) {
      const history = generate(seed, { docs: 80, ops: 500, customers: 12 })
      const state = Memory.makeState()
      const result = await foldHistory(history, {
        seed,
        partitions: 4,
        maxChunk: 16,
        crashes: 12,
        crashWindow: 60,
        pipelines: three,
        store: () => slowCalls(Memory.layer(state))
      })
      restarts += result.restarts
      expect(exactProblems(history, result.pipelines), `seed ${seed}`).toEqual([])
      expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
    }
    expect(restarts).toBeGreaterThan(30)
  })

  it("large histories with many crashes (memory)", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const history = generate(seed, { docs: 200, ops: 2000, customers: 15 })
      const result = await foldHistory(history, {
        seed,
        partitions: 3,
        maxChunk: 64,
        crashes: 25,
        crashWindow: 120,
        store: ((state) => () => Memory.layer(state))(Memory.makeState())
      })
      expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
      expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
    }
  })

  it("the harness detects a broken mechanism: an unstaged scan that re-reads changed documents after a crash", async () => {
    // Not a property of the library: a check that the test above can fail. Without staging, the
    // crashed batch is finished from other document states than the ones partly applied.
    let wrong = 0
    for (let seed = 0; seed < 40; seed++) {
      const history = generate(seed)
      const state = Memory.makeState()
      const result = await foldHistory(history, {
        seed,
        crashes: 4,
        partitions: 1,
        maxChunk: 10,
        crashWindow: 15,
        stagedScan: false,
        store: () => Memory.layer(state)
      })
      if (JSON.stringify(nonZero(result.totals)) !== JSON.stringify(nonZero(reference(history.final)))) wrong++
    }
    expect(wrong).toBeGreaterThan(0)
  })

  it("a transaction a batch does not replace staging: an unstaged scan is still wrong after a crash (embedded)", async () => {
    // No batch is applied half-way in a transaction, but a scan read again after a crash between
    // the transaction and the commit puts other documents at the same positions, and the marks
    // skip them as applied (docs/design.md). So staged sources stage on every store.
    const dir = mkdtempSync(join(tmpdir(), "fold-unstaged-"))
    let wrong = 0
    try {
      for (let seed = 0; seed < 150; seed++) {
        const history = generate(seed, { docs: 20, ops: 80 })
        const path = join(dir, `run-${seed}.sqlite`)
        const result = await foldHistory(history, {
          seed,
          crashes: 3,
          partitions: 1,
          maxChunk: 1,
          crashWindow: 40,
          stagedScan: false,
          store: () => Embedded.layer({ path, durability: "normal" })
        })
        if (JSON.stringify(nonZero(result.totals)) !== JSON.stringify(nonZero(reference(history.final)))) wrong++
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    // 5 of the 150 (seeded, the same every run): the crashes that fall between a transaction and its commit
    expect(wrong).toBeGreaterThan(0)
  })
})

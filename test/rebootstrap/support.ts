/**
 * Helpers of the rebootstrap tests: a writer whose every change keeps the sum of all amounts (it
 * moves orders between customers and replaces them with the same amount), and a reader that polls
 * a pipeline's aggregates and checks each answer against that invariant.
 */
import type { ManagedRuntime } from "effect"
import type { Collection, Document } from "mongodb"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Rand from "../support/random.ts"
import { sleep } from "../mongo/support.ts"

export const CUSTOMERS = Array.from({ length: 12 }, (_, i) => `cust-${String(i).padStart(2, "0")}`)

/** Inserts `count` orders with integer amounts; returns their ids and the sum of their amounts. */
export const seedOrders = async (collection: Collection<Document>, count: number, seed: number) => {
  const r = Rand.make(seed)
  const docs = Array.from({ length: count }, (_, n) => ({
    _id: `o-${String(n).padStart(6, "0")}` as any,
    customer_id: r.pick(CUSTOMERS),
    amount: r.int(1, 100_000)
  }))
  for (let i = 0; i < docs.length; i += 1000) await collection.insertMany(docs.slice(i, i + 1000))
  return { ids: docs.map((d) => d._id as string), sum: docs.reduce((s, d) => s + d.amount, 0) }
}

export interface Writer {
  readonly changes: () => number
  readonly stop: () => Promise<number>
}

/**
 * Moves random orders to random customers (`$set`), or replaces them with the same amount and
 * another customer: every single change keeps the sum of all amounts, so any complete state of
 * the aggregates sums to the seeded total.
 */
export const startWriter = (collection: Collection<Document>, ids: ReadonlyArray<string>, seed: number): Writer => {
  const r = Rand.make(seed)
  let running = true
  let changes = 0
  let rev = 0
  const loop = (async () => {
    while (running) {
      const id = r.pick(ids) as any
      rev++
      if (r.chance(0.8)) await collection.updateOne({ _id: id }, { $set: { customer_id: r.pick(CUSTOMERS), rev } })
      else {
        const doc = await collection.findOne({ _id: id })
        await collection.replaceOne({ _id: id }, { customer_id: r.pick(CUSTOMERS), amount: doc!.amount, rev })
      }
      changes++
      await sleep(r.int(0, 3))
    }
  })()
  return {
    changes: () => changes,
    stop: async () => {
      running = false
      await loop
      return changes
    }
  }
}

export interface Reader {
  readonly reads: () => number
  /** Every answer that was not a complete state (its sum differs from the invariant). */
  readonly bad: ReadonlyArray<string>
  readonly stop: () => Promise<void>
}

export const sumOf = (m: ReadonlyMap<string, unknown>): number => {
  let s = 0
  for (const v of m.values()) s += v as number
  return s
}

/**
 * Polls `all` of orderTotals through `runtime` until stopped, checking every answer sums to
 * `expected` (within `slack`, for a store whose batches are not atomic to readers).
 */
export const startReader = (runtime: ManagedRuntime.ManagedRuntime<Aggregates, any>, expected: number, slack = 0): Reader => {
  let running = true
  let reads = 0
  const bad: Array<string> = []
  const loop = (async () => {
    while (running) {
      const all = await runtime.runPromise(Aggregates.use((a) => a.all(orderTotals)))
      reads++
      const sum = sumOf(all)
      if (Math.abs(sum - expected) > slack) bad.push(`read ${reads}: ${all.size} keys summing to ${sum}, expected ${expected}`)
      await sleep(2)
    }
  })()
  return {
    reads: () => reads,
    bad,
    stop: async () => {
      running = false
      await loop
    }
  }
}

/** Reads the orderTotals aggregates through `runtime` as a plain record of its non-zero values. */
export const totals = (runtime: ManagedRuntime.ManagedRuntime<Aggregates, any>) =>
  runtime.runPromise(Aggregates.use((a) => a.all(orderTotals))).then((all) =>
    Object.fromEntries(Array.from(all as ReadonlyMap<string, number>).filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)))
  )

export const eventually = async <A>(f: () => Promise<A>, ok: (a: A) => boolean, timeoutMs: number): Promise<A> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const a = await f()
    if (ok(a) || Date.now() > until) return a
    await sleep(100)
  }
}


/**
 * A rebuild's catch-up against changes that share one version, as the changes of one MongoDB
 * transaction share its cluster time, delivered in two chunks (two `getMore` round trips). The
 * live worker has folded both; the sealed catch-up must not stop at the first, or the swap (which
 * compares the newest versions of both generations, equal then) leaves the second out for good:
 * the worker resumes after both. Totals against a group-by over the final documents. No server.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, ManagedRuntime, Stream } from "effect"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Rebootstrap from "../../src/Runtime/Rebootstrap.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Version from "../../src/Version.ts"
import { quiet, sleep } from "../mongo/support.ts"

interface Order {
  readonly _id: string
  readonly customer_id: string
  readonly amount: number
}

describe("Rebootstrap.run, changes that share a version across two chunks", () => {
  it("catches up past the shared version before it swaps, and stays exact", async () => {
    const log: Array<Source.Change> = []
    const documents = new Map<string, Order>()
    const slow = new Set<number>()
    const upsert = (order: Order, version: Version.Version) => {
      log.push(Source.upsert(order._id, order, version))
      documents.set(order._id, order)
    }
    let t = 1000
    for (let i = 0; i < 40; i++) upsert({ _id: `o${i}`, customer_id: `c${i % 4}`, amount: 10 + i }, Version.make(++t, 0))
    // the live source: the log from its start, one record a chunk; `slow` records come 300 ms late
    const stream = Stream.unfold(0, (i) =>
      Effect.gen(function*() {
        while (i >= log.length) yield* Effect.sleep("20 millis")
        if (slow.has(i)) yield* Effect.sleep("300 millis")
        return [log[i]!, i + 1] as const
      }))
    const spec: Orchestrator.Spec<"changes", unknown, any> = {
      pipelines: [orderTotals],
      handoff: Effect.succeed(Handoff.atVersion(Version.make(1000, 0))),
      live: () => Source.fromStream("log", stream)
    }
    const state = Memory.makeState()
    const runtime = ManagedRuntime.make(Layer.merge(Memory.layer(state), quiet))
    const expected = () => {
      const out = new Map<string, number>()
      for (const o of documents.values()) out.set(o.customer_id, (out.get(o.customer_id) ?? 0) + o.amount)
      return [...out].sort()
    }
    const served = () => runtime.runPromise(Aggregates.use((a) => a.all(orderTotals))).then((m) => [...m].sort())
    const settled = async () => {
      for (let n = 0; n < 50 && JSON.stringify(await served()) !== JSON.stringify(expected()); n++) await sleep(100)
      return served()
    }
    const worker = runtime.runFork(Rebootstrap.following(Orchestrator.run(spec)))
    expect(await settled()).toEqual(expected())
    // one transaction: two orders changed at one version, the second in the next chunk
    const T = Version.make(++t, 0)
    upsert({ _id: "o1", customer_id: "c1", amount: 1_000 }, T)
    slow.add(log.length)
    upsert({ _id: "o2", customer_id: "c2", amount: 100_000 }, T)
    expect(await settled()).toEqual(expected())

    const rebuilt = await runtime.runPromise(Rebootstrap.run(spec, orderTotals.name, { idle: "1 second" }))
    expect(rebuilt.to).toBe(1)
    expect(await settled()).toEqual(expected())
    await runtime.runPromise(Fiber.interrupt(worker))
    await runtime.dispose()
  }, 60_000)
})

/**
 * Where a rebuild's catch-up may end. The live worker has folded everything; the sealed catch-up
 * must read all of it too, or the swap (which compares the newest versions of both generations)
 * leaves the rest out for good: the worker resumes after it.
 * - Changes that share one version (the changes of one MongoDB transaction share its cluster
 *   time), delivered in two chunks (two `getMore` round trips): not at the first of them.
 * - A source of two partitions read unevenly (a Kafka consumer group): a busy partition that went
 *   past the live worker's newest version says nothing of a slow one still behind, or of one that
 *   has not delivered anything yet.
 * Totals against a group-by over the final documents. No server.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, ManagedRuntime, Stream } from "effect"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as DocumentId from "../../src/DocumentId.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as I from "../../src/Input.ts"
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

/**
 * A runtime over a fresh in-memory store, the reference (a group-by-sum over `documents` as they
 * are now) and the store's totals once they equal it (or after 10 s).
 */
const watched = (documents: ReadonlyMap<string, Order>) => {
  const runtime = ManagedRuntime.make(Layer.merge(Memory.layer(Memory.makeState()), quiet))
  const expected = () => {
    const out = new Map<string, number>()
    for (const o of documents.values()) out.set(o.customer_id, (out.get(o.customer_id) ?? 0) + o.amount)
    return [...out].sort()
  }
  const served = () => runtime.runPromise(Aggregates.use((a) => a.all(orderTotals))).then((m) => [...m].sort())
  const settled = async () => {
    for (let n = 0; n < 100 && JSON.stringify(await served()) !== JSON.stringify(expected()); n++) await sleep(100)
    return served()
  }
  return { runtime, expected, settled }
}

describe("Rebootstrap.run catching up", () => {
  it("changes that share a version across two chunks: catches up past the shared version before it swaps, and stays exact", async () => {
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
    const { runtime, expected, settled } = watched(documents)
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

  it("two partitions read unevenly: waits for the slow one, late to start, though the busy one went past", async () => {
    const documents = new Map<string, Order>()
    const logs: Record<"busy" | "slow", Array<I.Upsert>> = { busy: [], slow: [] }
    const append = (partition: "busy" | "slow", order: Order, version: Version.Version) => {
      const log = logs[partition]
      log.push(I.upsert(DocumentId.fromJson(order._id), order, { partition, seq: log.length + 1 }, { version }))
      documents.set(order._id, order)
    }
    // the slow partition: a backlog of older changes, one every 40 ms
    for (let i = 0; i < 50; i++) append("slow", { _id: `s${i}`, customer_id: "cs", amount: 1 + i }, Version.make(1_001 + i, 0))
    let busyAt = 2_000
    const produce = (n: number) => append("busy", { _id: `b${n % 7}`, customer_id: `cb${n % 3}`, amount: n }, Version.make(++busyAt, 0))
    for (let n = 0; n < 20; n++) produce(n)
    const partition = (name: "busy" | "slow", from: number, pauseMs: number) =>
      Stream.unfold(from, (i) =>
        Effect.gen(function*() {
          while (i >= logs[name].length) yield* Effect.sleep("10 millis")
          yield* Effect.sleep(Duration.millis(pauseMs))
          return [logs[name][i]!, i + 1] as const
        }))
    // each run reads every partition from its committed position
    const topic = () =>
      Source.make({
        name: "topic",
        kind: "changes",
        commit: Source.commitToTokens("topic"),
        records: Stream.unwrap(Effect.gen(function*() {
          const busy = yield* Source.committed("topic", "busy")
          const slow = yield* Source.committed("topic", "slow")
          // the slow partition also starts late: its first record comes after the busy one went past
          const late = Stream.fromEffect(Effect.sleep("700 millis")).pipe(Stream.drain)
          return Stream.merge(partition("busy", busy?.seq ?? 0, 2), Stream.concat(late, partition("slow", slow?.seq ?? 0, 40)))
        }))
      })
    // the handoff is the head of the source when it is taken, as a cluster time is
    const spec: Orchestrator.Spec<"changes", unknown, any> = {
      pipelines: [orderTotals],
      handoff: Effect.sync(() => Handoff.atVersion(Version.make(busyAt, 0))),
      live: () => topic()
    }
    const { runtime, expected, settled } = watched(documents)
    const worker = runtime.runFork(Rebootstrap.following(Orchestrator.run(spec)))
    expect(await settled()).toEqual(expected())
    // the busy partition goes on changing orders while the rebuild runs
    let producing = true
    const producer = (async () => {
      for (let n = 20; producing; n++) {
        produce(n)
        await sleep(30)
      }
    })()
    const rebuilt = await runtime.runPromise(Rebootstrap.run(spec, orderTotals.name, { idle: "1 second" }))
    producing = false
    await producer
    expect(rebuilt.to).toBe(1)
    expect(await settled()).toEqual(expected())
    await runtime.runPromise(Fiber.interrupt(worker))
    await runtime.dispose()
  }, 60_000)
})

/**
 * The fold's spans, as a tracer sees them: one `Fold.run`, one `Fold.batch` per batch (its source,
 * partitions and record count), and under each batch one `Fold.write` per pipeline (pipeline,
 * partitions, records, keys written).
 */
import { Effect, Layer, References, Stream, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import { ordersPerStatus, orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import * as Memory from "../../src/Store/Memory.ts"

describe("the fold's spans", () => {
  it("a span per batch, and under it one per pipeline, with pipeline and partition", async () => {
    const spans: Array<Tracer.NativeSpan> = []
    const tracer = Tracer.make({
      span(options) {
        const span = new Tracer.NativeSpan(options)
        spans.push(span)
        return span
      }
    })
    const changes = Array.from({ length: 25 }, (_, i) =>
      Source.upsert(`o${i}`, { _id: `o${i}`, customer_id: `c${i % 4}`, amount: i, status: i % 2 === 0 ? "paid" : "open" }))
    const source = Source.fromStream("span-orders", Stream.fromIterable(changes))
    await Effect.runPromise(
      Fold.run(source, [orderTotals, ordersPerStatus], { batchSize: 10 }).pipe(
        Effect.provide(Memory.layer()),
        Effect.provide(Layer.succeed(References.MinimumLogLevel, "Warn")),
        Effect.provideService(Tracer.Tracer, tracer)
      )
    )
    const named = (name: string) => spans.filter((s) => s.name === name)
    expect(named("Fold.run")).toHaveLength(1)
    const batches = named("Fold.batch")
    expect(batches.map((b) => b.attributes.get("records"))).toEqual([10, 10, 5])
    for (const b of batches) {
      expect(b.attributes.get("source")).toBe(source.name)
      expect(b.attributes.get("partitions")).toBe("stream:span-orders")
    }
    const writes = named("Fold.write")
    expect(writes).toHaveLength(6)
    for (const w of writes) {
      const parent = w.parent._tag === "Some" ? w.parent.value : undefined
      expect(batches).toContain(parent)
      expect(w.attributes.get("partitions")).toBe("stream:span-orders")
    }
    expect(writes.map((w) => w.attributes.get("pipeline")).sort()).toEqual(
      [orderTotals.name, orderTotals.name, orderTotals.name, ordersPerStatus.name, ordersPerStatus.name, ordersPerStatus.name].sort()
    )
    // the first batch writes one key per customer (4) and one per status (2)
    expect(writes.slice(0, 2).map((w) => w.attributes.get("keys")).sort()).toEqual([2, 4])
  })
})

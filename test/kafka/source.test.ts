/**
 * The Kafka source against the real broker: a generated history of Debezium envelopes (inserts,
 * amount updates, customer moves, deletes, tombstones, redeliveries, out-of-date and malformed
 * records) over several partitions keyed by document id, folded by one in-process worker until the
 * group has committed everything. Totals must equal the group-by-sum of the final documents, and
 * the dead-letter topic (read back with plain kafkajs) must hold exactly the malformed records.
 */
import { Effect, Fiber, Layer, Option, References, Schema } from "effect"
import { Number as NumberOrder } from "effect/Order"
import { describe, expect, it } from "vitest"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as I from "../../src/Input.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as KafkaSource from "../../src/Kafka/KafkaSource.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as KafkaDeadLetters from "../../src/Kafka/KafkaDeadLetters.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { generate, nonZero, reference } from "../support/history.ts"
import { uniqueName } from "../support/services.ts"
import { adapters, createTopic, members, produce, quiescent, readTopic, useKafka } from "./support.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

const { k, admin, producer } = useKafka()

describe("KafkaSource's partitions between members", () => {
  it("says a partition fetched in a new generation does not go on from the batch before (another member may have folded it)", () => {
    const source = KafkaSource.make({ topic: "t", groupId: "g" })
    const record = (seq: number, generation: number) => I.skip("test", { partition: "t/0", seq, checkpoint: generation })
    expect(source.continues?.(record(4, 3), record(5, 3))).toBe(true)
    expect(source.continues?.(record(4, 3), record(9, 4))).toBe(false)
  })
})

describe.each(adapters)("KafkaSource on $name (real broker)", (adapter) => {
  const clientLayer = () => adapter.layer(uniqueName("worker"))

  it("folds a generated history exactly and dead-letters exactly the malformed records", async () => {
    const started = Date.now()
    const partitions = 4
    const history = generate(20251201, { docs: 600, ops: 2500, customers: 9 })
    const topic = uniqueName("orders")
    const dlq = uniqueName("orders-dlq")
    const groupId = uniqueName("orderstats")
    await createTopic(admin, topic, partitions)
    await createTopic(admin, dlq, 2)
    const placed = await produce(producer, topic, partitions, history.log)

    const state = Memory.makeState()
    const source = KafkaSource.make({ topic, groupId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 200 })
    const fiber = Effect.runFork(
      Fold.run(source, [orderTotals]).pipe(
        Effect.provide(KafkaDeadLetters.layer({ topic: dlq })),
        Effect.provide(Memory.layer(state)),
        Effect.provide(clientLayer()),
        Effect.provide(quiet)
      )
    )
    const end = await quiescent(admin, groupId, topic)
    const folded = Date.now() - started

    // graceful shutdown: interrupting the fold leaves the group at once (no session timeout to wait for)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect((await members(admin, groupId)).members).toBe(0)

    const totals = await Effect.runPromise(Aggregates.use((a) => a.all(orderTotals)).pipe(Effect.provide(Memory.layer(state))))
    expect(nonZero(totals as ReadonlyMap<string, number>)).toEqual(nonZero(reference(history.final)))
    expect(end.reduce((a, b) => a + b, 0)).toBe(history.log.length)

    // the dead-letter topic, read with plain kafkajs: exactly the malformed records, original key and value
    const letters = await readTopic(k, admin, dlq)
    const malformed = placed.filter((p) => p.record.deadLetter)
    expect(history.malformed).toBeGreaterThan(0)
    expect(letters).toHaveLength(malformed.length)
    const expected = malformed.map((p) => `${p.partition}/${p.offset} ${p.record.key} ${p.record.value}`).sort()
    const got = letters.map((l) => `${l.headers["dlq-partition"]}/${l.headers["dlq-offset"]} ${l.key} ${l.value}`).sort()
    expect(got).toEqual(expected)
    for (const l of letters) {
      expect(l.headers["dlq-topic"]).toBe(topic)
      expect(l.headers["dlq-pipeline"]).toBe(orderTotals.name)
      expect(l.headers["dlq-source-partition"]).toBe(`${topic}/${l.headers["dlq-partition"]}`)
      expect(l.headers["dlq-reason"]?.length ?? 0).toBeGreaterThan(0)
    }
    // and the service reads the same dead letters back
    const listed = await Effect.runPromise(
      DeadLetters.use((d) => d.list(orderTotals.name)).pipe(
        Effect.provide(KafkaDeadLetters.layer({ topic: dlq })),
        Effect.provide(clientLayer()),
        Effect.provide(quiet)
      )
    )
    expect(listed.map((d) => `${d.partition} ${d.seq} ${d.raw}`).sort()).toEqual(
      malformed.map((p) => `${topic}/${p.partition} ${p.offset} ${p.record.value}`).sort()
    )
    console.log(
      `kafka source (${adapter.name}): ${history.log.length} records on ${partitions} partitions (${
        history.log.filter((r) => r.kind === "redeliver" || r.kind === "stale").length
      } redelivered or out of date, ${history.log.filter((r) => r.kind === "tombstone").length} tombstones), ` +
        `${malformed.length} dead-lettered, ${Object.keys(nonZero(totals as ReadonlyMap<string, number>)).length} customers with a non-zero total (${history.final.size} documents left), folded and committed in ${folded} ms`
    )
  })

  it("reads plain documents from an append-only topic (version from the offset), any pipeline", async () => {
    const Order = Schema.Struct({ _id: Schema.String, customer_id: Schema.String, amount: Schema.Int })
    // a max is not a group: only plain (insert) decoding accepts it
    const largest = Pipeline.make("largest_order", {
      schema: Order,
      key: (o) => o.customer_id,
      value: (o) => Option.some(o.amount),
      monoid: Monoid.max(NumberOrder)
    })
    // @ts-expect-error Debezium envelopes carry updates and deletes: a max cannot retract, the types refuse it
    Fold.run(KafkaSource.make({ topic: "t", groupId: "g" }), [largest])
    const topic = uniqueName("plain")
    const dlq = uniqueName("plain-dlq")
    const groupId = uniqueName("plain-group")
    await createTopic(admin, topic, 2)
    await createTopic(admin, dlq, 1)
    const docs = [
      { _id: "a", customer_id: "c1", amount: 500 },
      { _id: "b", customer_id: "c1", amount: 1200 },
      { _id: "c", customer_id: "c2", amount: 70 },
      { _id: "d", customer_id: "c2", amount: 3000 }
    ]
    await producer.send({
      topic,
      acks: -1,
      messages: [
        ...docs.map((d, i) => ({ key: d._id, value: JSON.stringify(d), partition: i % 2 })),
        { key: "a", value: JSON.stringify(docs[0]), partition: 0 }, // a duplicate document: no change
        { key: "x", value: JSON.stringify({ _id: "x", customer_id: "c1", amount: "lots" }), partition: 1 },
        { key: "y", value: "{broken", partition: 0 },
        { key: "z", value: Buffer.from([0xff, 0x00, 0xfe, 0x7b]), partition: 1 } // not UTF-8: dead-lettered byte for byte
      ]
    })
    const state = Memory.makeState()
    const source = KafkaSource.make({ topic, groupId, decoding: { _tag: "plain", version: "offset" }, maxWaitTimeMs: 200 })
    const fiber = Effect.runFork(
      Fold.run(source, [largest]).pipe(
        Effect.provide(KafkaDeadLetters.layer({ topic: dlq })),
        Effect.provide(Memory.layer(state)),
        Effect.provide(clientLayer()),
        Effect.provide(quiet)
      )
    )
    await quiescent(admin, groupId, topic)
    await Effect.runPromise(Fiber.interrupt(fiber))
    const totals = await Effect.runPromise(Aggregates.use((a) => a.all(largest)).pipe(Effect.provide(Memory.layer(state))))
    expect(Object.fromEntries(totals)).toEqual({ c1: Option.some(1200), c2: Option.some(3000) })
    const letters = await readTopic(k, admin, dlq)
    expect(letters.map((l) => [l.key, l.valueBytes?.toString("hex")]).sort()).toEqual([
      ["x", Buffer.from(JSON.stringify({ _id: "x", customer_id: "c1", amount: "lots" })).toString("hex")],
      ["y", Buffer.from("{broken").toString("hex")],
      ["z", "ff00fe7b"]
    ])
    expect(letters.find((l) => l.key === "z")?.headers["dlq-reason"]).toMatch(/not UTF-8/)
  })

  it("reads events without an id by their position: each record once, a redelivered one too", async () => {
    const View = Schema.Struct({ page: Schema.String })
    const viewsPerPage = Pipeline.make("views_per_page", { schema: View, key: (v) => v.page, value: () => 1, monoid: Monoid.count })
    const events = Pipeline.make("views_per_page_events", { schema: View, key: (v) => v.page, value: () => 1, monoid: Monoid.count }).pipe(
      Pipeline.events
    )
    const topic = uniqueName("views")
    await createTopic(admin, topic, 2)
    // the same page viewed twice writes two identical records: two views, not one
    const pages = ["home", "home", "cart", "home", "cart", "about", "home"]
    await producer.send({
      topic,
      acks: -1,
      messages: pages.map((page, i) => ({ value: JSON.stringify({ page }), partition: i % 2 }))
    })
    const expected: Record<string, number> = {}
    for (const page of pages) expected[page] = (expected[page] ?? 0) + 1
    const state = Memory.makeState()
    // a second group reads every record again into the same store: a redelivery of each offset
    for (const groupId of [uniqueName("views-group"), uniqueName("views-again")]) {
      const source = KafkaSource.make({ topic, groupId, decoding: { _tag: "plain", version: "offset", id: "position" }, maxWaitTimeMs: 200 })
      const fiber = Effect.runFork(
        Fold.run(source, [viewsPerPage, events]).pipe(Effect.provide(Memory.layer(state)), Effect.provide(clientLayer()), Effect.provide(quiet))
      )
      await quiescent(admin, groupId, topic)
      await Effect.runPromise(Fiber.interrupt(fiber))
      const read = (p: typeof viewsPerPage | typeof events) =>
        Effect.runPromise(Aggregates.use((a) => a.all(p)).pipe(Effect.provide(Memory.layer(state))))
      expect(Object.fromEntries(await read(viewsPerPage))).toEqual(expected)
      expect(Object.fromEntries(await read(events))).toEqual(expected)
      for (const p of [viewsPerPage, events]) {
        const letters = await Effect.runPromise(DeadLetters.use((d) => d.list(p.name)).pipe(Effect.provide(Memory.layer(state))))
        expect(letters).toEqual([])
      }
    }
  })
})

/**
 * `admin.js status` (the built binary) against the real servers: every pipeline is new before the
 * bootstrap and live after it, with the aggregate keys of a group-by over the collection, the
 * invalid orders as pending dead letters, the scan's position and the change stream's lag; with
 * `LIVE_SOURCE=kafka`, the consumer lag per partition is the end offset the test produced to minus
 * the offset it committed for the group.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as KafkaDeadLetters from "../../src/Kafka/KafkaDeadLetters.ts"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import { createTopic, kafka } from "../kafka/support.ts"
import { groupBySum } from "../mongo/support.ts"
import { kafkaBrokers, requireService, uniqueName } from "../support/services.ts"
import { closeClients, json, type Scenario, scenario } from "./support.ts"

interface StatusJson {
  readonly pipelines: ReadonlyArray<{
    readonly pipeline: string
    readonly phase: string
    readonly aggregates: number
    readonly deadLetters: { readonly total: number; readonly pending: number }
  }>
  readonly positions: {
    readonly scan: ReadonlyArray<{ readonly partition: string; readonly seq: number }>
    readonly changes: ReadonlyArray<{ readonly partition: string; readonly seq: number; readonly checkpoint: unknown }>
  }
  readonly lag: { readonly ms?: number; readonly error?: string; readonly partitions?: ReadonlyArray<unknown> }
}

describe("admin status", () => {
  let sc: Scenario
  beforeAll(async () => {
    await requireService("mongo")
    sc = scenario("status", "embedded")
  })
  afterAll(async () => {
    await sc?.close()
    await closeClients()
  })

  it("says every pipeline is new before the bootstrap", async () => {
    const s = json<StatusJson>(await sc.ok("admin", ["status", "--json"]))
    expect(s.pipelines.map((p) => p.phase)).toEqual(Array(6).fill("new"))
    expect(s.lag.error).toBe("no bootstrap yet")
  })

  it("gives phase, keys, dead letters, positions and the change stream's lag after the bootstrap and the worker", async () => {
    await sc.ok("seed", ["--count", "60", "--invalid", "3", "--customers", "9", "--seed", "5"])
    await sc.ok("bootstrap", [])
    const reference = await groupBySum(sc.collection)
    const s = json<StatusJson>(await sc.ok("admin", ["status", "--json"]))
    expect(s.pipelines.map((p) => p.phase)).toEqual(Array(6).fill("live"))
    const totals = s.pipelines.find((p) => p.pipeline === "order_totals")!
    expect(totals.aggregates).toBe(Object.keys(reference.totals).length)
    expect(totals.deadLetters).toEqual({ total: reference.invalid, pending: reference.invalid })
    expect(s.positions.scan.map((p) => p.seq)).toEqual([reference.documents])
    expect(s.positions.changes).toEqual([])
    expect(s.lag.ms).toBeGreaterThanOrEqual(0)

    // a change no worker has folded for 2 s: the lag is how long it has waited
    const written = Date.now()
    await sc.collection.insertOne({ _id: "late-order" as never, customer_id: "late", amount: 5, created_at: new Date().toISOString() })
    await new Promise((resolve) => setTimeout(resolve, 2_100))
    const behind = json<StatusJson>(await sc.ok("admin", ["status", "--json"]))
    // cluster times count whole seconds
    expect(behind.lag.ms).toBeGreaterThanOrEqual(2_000 - 1_000)
    expect(behind.lag.ms).toBeLessThanOrEqual(Date.now() - written + 1_000)
    await sc.ok("worker", [], { STOP_WHEN_IDLE_MS: "2000" })
    const after = json<StatusJson>(await sc.ok("admin", ["status", "--json"]))
    expect(after.positions.changes).toHaveLength(1)
    expect((after.positions.changes[0]!.checkpoint as { token?: unknown }).token).toBeDefined()
    // the worker folded the change: its token is at the change, so the lag is at most the time since
    // (other tests' writes move the server's cluster time on; cluster times count whole seconds)
    expect(after.lag.ms).toBeGreaterThanOrEqual(0)
    expect(after.lag.ms).toBeLessThanOrEqual(Date.now() - written + 1_000)
    expect(after.pipelines.find((p) => p.pipeline === "order_totals")!.aggregates).toBe(Object.keys((await groupBySum(sc.collection)).totals).length)

    // caught up, the collection idle while the server's cluster time moves on (writes elsewhere,
    // which a replica set's no-op entries also do): no change waits, so no lag
    await new Promise((resolve) => setTimeout(resolve, 2_100))
    await sc.collection.db.collection("status_elsewhere").insertOne({ at: Date.now() })
    const idle = json<StatusJson>(await sc.ok("admin", ["status", "--json"]))
    expect(idle.lag.ms).toBe(0)

    const text = await sc.ok("admin", ["status"])
    expect(text).toMatch(/order_totals +live/)
    expect(text).toMatch(/lag \(change stream\): caught up/)
  })

  it("gives the consumer group's lag per partition with LIVE_SOURCE=kafka", async () => {
    await requireService("kafka")
    const topic = uniqueName("admin_status").replace(/[^A-Za-z0-9_.]/g, "_")
    const group = `${topic}_group`
    const k = kafka()
    const admin = k.admin()
    const producer = k.producer()
    await admin.connect()
    await producer.connect()
    try {
      await createTopic(admin, topic, 2)
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}`, partition: 0 })) })
      await producer.send({ topic, messages: Array.from({ length: 3 }, (_, i) => ({ value: `s${i}`, partition: 1 })) })
      await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: "4" }] })
      // a dead-letter topic no worker has created: no dead letters on Kafka
      const env = { LIVE_SOURCE: "kafka", KAFKA_BROKERS: kafkaBrokers().join(","), KAFKA_TOPIC: topic, CONSUMER_GROUP: group, KAFKA_DLQ_TOPIC: `${topic}.dlq` }
      const s = json<StatusJson>(await sc.ok("admin", ["status", "--json"], env))
      expect(s.lag.partitions).toEqual([
        { partition: `${topic}/0`, committed: "4", end: "10", lag: 6 },
        { partition: `${topic}/1`, end: "3", lag: 3 }
      ])
      const text = await sc.ok("admin", ["status"], env)
      expect(text).toContain(`${topic}/0: 6 records (committed 4, end 10)`)
    } finally {
      await producer.disconnect()
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
      await admin.disconnect()
    }
  })

  it("lists the dead letters the Kafka workers wrote to the dead-letter topic, and refuses to replay them, with LIVE_SOURCE=kafka", async () => {
    await requireService("kafka")
    const dlq = uniqueName("admin_dlq").replace(/[^A-Za-z0-9_.]/g, "_")
    const cdc = `${dlq}.cdc`
    const admin = kafka().admin()
    await admin.connect()
    await createTopic(admin, dlq, 1)
    // an order the Kafka worker refused: its document, and the dead letter it wrote
    await sc.collection.insertOne({ _id: "kafka-bad" as never, customer_id: "k", amount: "12", created_at: new Date().toISOString() })
    const letter = { pipeline: "order_totals", partition: `${cdc}/0`, seq: 7, docId: JSON.stringify("kafka-bad"), raw: "{}", reason: "refused by the test", at: Date.now() }
    await Effect.runPromise(
      Effect.flatMap(DeadLetters, (d) => d.write([letter])).pipe(
        Effect.provide(KafkaDeadLetters.layer({ topic: dlq })),
        Effect.provide(KafkaJs.layer({ brokers: kafkaBrokers(), logLevel: "nothing" }))
      )
    )
    try {
      const env = { LIVE_SOURCE: "kafka", KAFKA_BROKERS: kafkaBrokers().join(","), KAFKA_DLQ_TOPIC: dlq }
      const listed = json<{ deadLetters: ReadonlyArray<{ id: string; status: string }> }>(
        await sc.ok("admin", ["dead-letters", "list", "--json", "--pipeline", "order_totals"], env)
      ).deadLetters
      const id = `${cdc}/0#7`
      expect(listed.find((l) => l.id === id)?.status).toBe("pending")
      // without LIVE_SOURCE=kafka the topic is not read
      const storeOnly = json<{ deadLetters: ReadonlyArray<{ id: string }> }>(await sc.ok("admin", ["dead-letters", "list", "--json"])).deadLetters
      expect(storeOnly.some((l) => l.id === id)).toBe(false)

      // a replay would fold the document at a cluster time, which the Kafka worker's offsets cannot
      // be ordered against: the document's later records would be skipped for good
      const totals = async () => json<{ totals: Record<string, number> }>(await sc.ok("totals", ["--json"])).totals
      const before = await totals()
      await sc.collection.updateOne({ _id: "kafka-bad" as never }, { $set: { amount: 12 } })
      const refused = await sc.run("admin", ["dead-letters", "replay", id, "--json"], env)
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toMatch(/cannot run on a store the Kafka worker folds \(LIVE_SOURCE=kafka\)/)
      expect(refused.stderr).toMatch(/Write the fixed documents in MongoDB/)
      expect(await totals()).toEqual(before)
      const still = json<{ deadLetters: ReadonlyArray<{ id: string; status: string }> }>(
        await sc.ok("admin", ["dead-letters", "list", "--json", "--pipeline", "order_totals"], env)
      ).deadLetters
      expect(still.find((l) => l.id === id)?.status).toBe("pending")
    } finally {
      await admin.deleteTopics({ topics: [dlq] }).catch(() => undefined)
      await admin.disconnect()
    }
  })
})

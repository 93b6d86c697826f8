/**
 * Smoke test of the Kafka test server through kafkajs: topic creation with the admin client,
 * produce, consume in a consumer group with autoCommit off, an explicit offset commit, and a
 * second consumer of the same group that starts after the committed offset.
 */
import { type Admin, type Consumer, Kafka, logLevel, Partitioners, type Producer } from "kafkajs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, kafkaBrokers, requireService, uniqueName } from "../support/services.ts"

interface Received {
  readonly partition: number
  readonly offset: string
  readonly key: string
  readonly value: string
}

describe("Kafka (smoke)", () => {
  let kafka: Kafka
  let admin: Admin
  let producer: Producer
  const consumers: Array<Consumer> = []

  beforeAll(async () => {
    await requireService("kafka")
    kafka = new Kafka({ clientId: uniqueName("smoke"), brokers: kafkaBrokers(), logLevel: logLevel.ERROR })
    admin = kafka.admin()
    await admin.connect()
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
  })

  afterAll(async () => {
    for (const consumer of consumers) await consumer.disconnect().catch(() => undefined)
    await producer?.disconnect()
    await admin?.disconnect()
  })

  const startConsumer = async (groupId: string, topic: string, into: Array<Received>): Promise<Consumer> => {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 })
    consumers.push(consumer)
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        into.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? "",
          value: message.value?.toString() ?? ""
        })
      }
    })
    return consumer
  }

  it("creates a topic, consumes in a group, and resumes a second consumer after the committed offset", async () => {
    const topic = uniqueName("smoke-topic")
    const groupId = uniqueName("smoke-group")

    expect(
      await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })
    ).toBe(true)
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
    expect(metadata.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2])

    // six records on partition 0, one on each of partitions 1 and 2
    const onZero = [0, 1, 2, 3, 4, 5].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 }))
    const acks = await producer.send({
      topic,
      messages: [...onZero, { key: "p1", value: "w1", partition: 1 }, { key: "p2", value: "w2", partition: 2 }]
    })
    expect(acks.map((a) => a.partition).sort()).toEqual([0, 1, 2])
    const offsets = await admin.fetchTopicOffsets(topic)
    expect(offsets.map((o) => [o.partition, o.high]).sort()).toEqual([[0, "6"], [1, "1"], [2, "1"]])

    // first consumer: reads everything, commits "v0..v2 done" on partition 0 and all of 1 and 2
    const first: Array<Received> = []
    const consumer1 = await startConsumer(groupId, topic, first)
    await eventually("the first consumer to receive 8 records", () => (first.length >= 8 ? true : undefined), 30_000)
    expect(first.filter((r) => r.partition === 0).map((r) => r.value)).toEqual(["v0", "v1", "v2", "v3", "v4", "v5"])
    expect(first.filter((r) => r.partition !== 0).map((r) => r.value).sort()).toEqual(["w1", "w2"])
    await consumer1.commitOffsets([
      { topic, partition: 0, offset: "3" },
      { topic, partition: 1, offset: "1" },
      { topic, partition: 2, offset: "1" }
    ])
    await consumer1.disconnect()

    const committed = await admin.fetchOffsets({ groupId, topics: [topic] })
    expect(committed[0]?.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([[0, "3"], [1, "1"], [2, "1"]])

    // second consumer, same group: starts after the committed offsets (fromBeginning is ignored)
    const second: Array<Received> = []
    const consumer2 = await startConsumer(groupId, topic, second)
    await eventually("the second consumer to receive 3 records", () => (second.length >= 3 ? true : undefined), 30_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000)) // anything more would be a bug
    expect(second.map((r) => [r.partition, r.offset, r.key, r.value])).toEqual([
      [0, "3", "k3", "v3"],
      [0, "4", "k4", "v4"],
      [0, "5", "k5", "v5"]
    ])

    await consumer2.disconnect()
    await admin.deleteTopics({ topics: [topic] })
  })
})

/**
 * Helpers of the Kafka tests, all through the real kafkajs client: topics, producing a generated
 * history keyed by document id with known offsets, waiting until a group has committed everything,
 * and reading a topic back (the dead-letter topic) independently of the library. {@link adapters}
 * lists the port's adapters: every Kafka test runs once per adapter.
 */
import type { Context, Layer } from "effect"
import { type Admin, type IHeaders, Kafka, logLevel, Partitioners, type Producer } from "kafkajs"
import { afterAll, beforeAll } from "vitest"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import * as KafkaPlatformatic from "../../src/Kafka/KafkaPlatformatic.ts"
import type * as Port from "../../src/Kafka/KafkaPort.ts"
import type { LogRecord } from "../support/history.ts"
import { eventually, kafkaBrokers, requireService, uniqueName } from "../support/services.ts"

/** One adapter of the Kafka port, as the tests make it. */
export interface Adapter {
  readonly name: "kafkajs" | "platformatic"
  /** The client service as a layer, with its own client id. */
  readonly layer: (clientId: string) => Layer.Layer<Port.KafkaClient>
  /** The client service itself. */
  readonly client: () => Context.Service.Shape<typeof Port.KafkaClient>
}

export const adapters: ReadonlyArray<Adapter> = [
  {
    name: "kafkajs",
    layer: (clientId) => KafkaJs.layer({ brokers: kafkaBrokers(), clientId, logLevel: "error" }),
    client: () => KafkaJs.fromKafka(kafka())
  },
  {
    name: "platformatic",
    layer: (clientId) => KafkaPlatformatic.layer({ brokers: kafkaBrokers(), clientId }),
    client: () => KafkaPlatformatic.make({ brokers: kafkaBrokers(), clientId: uniqueName("test") })
  }
]

export const kafka = (clientId = uniqueName("test")): Kafka =>
  new Kafka({ clientId, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING })

export const createTopic = async (admin: Admin, topic: string, partitions: number): Promise<void> => {
  let created: boolean
  try {
    created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true })
  } catch (error) {
    // for a moment after creating a topic the broker may answer its metadata with
    // UNKNOWN_TOPIC_OR_PARTITION, which kafkajs's wait for leaders does not retry: wait here
    const e = error as { type?: string; cause?: { type?: string } }
    if (e.type !== "UNKNOWN_TOPIC_OR_PARTITION" && e.cause?.type !== "UNKNOWN_TOPIC_OR_PARTITION") throw error
    created = true
  }
  if (!created) throw new Error(`topic ${topic} already exists`)
  for (let attempt = 0; ; attempt++) {
    const ready = await admin.fetchTopicMetadata({ topics: [topic] }).then(
      ({ topics }) => topics[0]?.partitions.length === partitions && topics[0].partitions.every((p) => p.leader >= 0),
      () => false
    )
    if (ready) return
    if (attempt >= 50) throw new Error(`topic ${topic}: its ${partitions} partitions have no leaders after 10 s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** FNV-1a, the partition of a key: records of one document stay in one partition, in order. */
export const partitionOf = (key: string, partitions: number): number => {
  let h = 2166136261
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619)
  return (h >>> 0) % partitions
}

export interface Placed {
  readonly record: LogRecord
  readonly partition: number
  readonly offset: number
}

/**
 * Produces `log` (in order) to `topic`, each record to the partition of its key, and returns where
 * each landed. Records are sent partition by partition in slices, so offsets are known exactly.
 */
export const produce = async (
  producer: Producer,
  topic: string,
  partitions: number,
  log: ReadonlyArray<LogRecord>,
  next: Array<number> = Array.from({ length: partitions }, () => -1)
): Promise<Array<Placed>> => {
  const byPartition: Array<Array<LogRecord>> = Array.from({ length: partitions }, () => [])
  for (const rec of log) byPartition[partitionOf(rec.key, partitions)]!.push(rec)
  const placed: Array<Placed> = []
  await Promise.all(byPartition.map(async (records, partition) => {
    for (let i = 0; i < records.length; i += 500) {
      const slice = records.slice(i, i + 500)
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: slice.map((r) => ({ key: r.key, value: r.value, partition }))
      })
      const base = Number(meta?.baseOffset)
      if (!Number.isSafeInteger(base)) throw new Error(`no base offset for ${topic}/${partition}`)
      if (next[partition] !== -1 && next[partition] !== base) throw new Error(`unexpected offset ${base} on ${topic}/${partition}`)
      slice.forEach((record, k) => placed.push({ record, partition, offset: base + k }))
      next[partition] = base + slice.length
    }
  }))
  return placed
}

/**
 * The kafkajs client of one test file with its admin and producer: made now, connected in
 * `beforeAll` once the broker answers, disconnected in `afterAll`.
 */
export const useKafka = (): { readonly k: Kafka; readonly admin: Admin; readonly producer: Producer } => {
  const k = kafka()
  const admin = k.admin()
  const producer = k.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  beforeAll(async () => {
    await requireService("kafka")
    await admin.connect()
    await producer.connect()
  })
  afterAll(async () => {
    await producer.disconnect()
    await admin.disconnect()
  })
  return { k, admin, producer }
}

/** The group's committed offset per partition (-1 when none). */
export const committedOffsets = async (admin: Admin, groupId: string, topic: string): Promise<Array<number>> => {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return (t?.partitions ?? []).slice().sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset))
}

export const endOffsets = async (admin: Admin, topic: string): Promise<Array<number>> =>
  (await admin.fetchTopicOffsets(topic)).slice().sort((a, b) => a.partition - b.partition).map((p) => Number(p.high))

/** Waits until the group has committed every partition up to its end. */
export const quiescent = async (admin: Admin, groupId: string, topic: string, timeoutMs = 60_000): Promise<Array<number>> =>
  eventually(`group ${groupId} to commit all of ${topic}`, async () => {
    const [committed, end] = await Promise.all([committedOffsets(admin, groupId, topic), endOffsets(admin, topic)])
    return committed.length === end.length && committed.every((c, i) => c === end[i]) ? end : undefined
  }, timeoutMs, 200)

export interface TopicRecord {
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: string | null
  readonly valueBytes: Buffer | null
  readonly headers: Record<string, string>
}

const headerText = (headers: IHeaders | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers ?? {})) {
    const last = Array.isArray(v) ? v[v.length - 1] : v
    if (last !== undefined) out[k] = last.toString()
  }
  return out
}

/** Reads every record of `topic` up to its current end with plain kafkajs (a fresh group, nothing committed). */
export const readTopic = async (k: Kafka, admin: Admin, topic: string, timeoutMs = 30_000): Promise<Array<TopicRecord>> => {
  const end = await endOffsets(admin, topic)
  const total = end.reduce((a, b) => a + b, 0)
  const out = new Map<string, TopicRecord>()
  if (total === 0) return []
  const consumer = k.consumer({ groupId: uniqueName("reader"), maxWaitTimeInMs: 200, sessionTimeout: 10_000, heartbeatInterval: 1_000 })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        out.set(`${partition}/${message.offset}`, {
          partition,
          offset: Number(message.offset),
          key: message.key?.toString("utf8") ?? null,
          value: message.value?.toString("utf8") ?? null,
          valueBytes: message.value,
          headers: headerText(message.headers)
        })
      }
    })
    await eventually(`reading ${total} records of ${topic}`, () => (out.size >= total ? true : undefined), timeoutMs, 50)
  } finally {
    await consumer.disconnect()
  }
  return Array.from(out.values()).sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

/** The members of a consumer group. */
export const members = async (admin: Admin, groupId: string): Promise<{ readonly state: string; readonly members: number }> => {
  const { groups } = await admin.describeGroups([groupId])
  const g = groups[0]
  return { state: g?.state ?? "Unknown", members: g?.members.length ?? 0 }
}

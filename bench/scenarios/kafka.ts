/**
 * Scenario 3: Kafka to store. A topic pre-filled with Debezium envelopes (4 partitions) is consumed
 * by the library's Kafka source and folded into the in-memory store, end to end (decoding
 * included), once per adapter of the Kafka port; the ceiling of each is its own client's raw
 * consume rate of the same topic with no processing (kafkajs `eachBatch`; `@platformatic/kafka`'s
 * message stream). Each run uses a fresh consumer group. Also scenario 6 (Kafka): the same topic
 * into three pipelines by one consumer group, against three groups with one pipeline each.
 */
import { randomUUID } from "node:crypto"
import { Consumer as PConsumer, MessagesStreamModes } from "@platformatic/kafka"
import { Effect, Layer, References, Stream } from "effect"
import { Kafka, logLevel } from "kafkajs"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import * as KafkaPlatformatic from "../../src/Kafka/KafkaPlatformatic.ts"
import type * as Port from "../../src/Kafka/KafkaPort.ts"
import type * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as KafkaSource from "../../src/Kafka/KafkaSource.ts"
import * as Source from "../../src/Source.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { type Counter, counting } from "../lib/counting.ts"
import { peakRssMiB, time, type Sample } from "../lib/measure.ts"
import { benchPipeline, fanoutPipelines } from "../lib/pipeline.ts"
import { required } from "../lib/services.ts"
import { envelope } from "../lib/envelope.ts"
import { changes, type WorkloadOptions } from "../lib/workload.ts"

const PARTITIONS = 4

const kafka = () => new Kafka({ clientId: "bench", brokers: required("KAFKA_BROKERS").split(","), logLevel: logLevel.NOTHING })

/** Creates and fills the topic once per bench invocation; children read its name from BENCH_KAFKA_TOPIC. */
export const prepare = async (workload: WorkloadOptions): Promise<Record<string, string>> => {
  const topic = `bench-${randomUUID()}`
  const client = kafka()
  const admin = client.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()
  const producer = client.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  let produced = 0
  for (const chunk of changes({ ...workload, chunk: 5000 })) {
    const messages = chunk.flatMap((r) => envelope(r) ?? [])
    await producer.send({ topic, acks: -1, messages })
    produced += messages.length
  }
  await producer.disconnect()
  return { BENCH_KAFKA_TOPIC: topic, BENCH_KAFKA_RECORDS: String(produced) }
}

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

/** The port adapters the scenario measures. */
export type Adapter = "kafkajs" | "platformatic"

const clientLayer = (adapter: Adapter): Layer.Layer<Port.KafkaClient> =>
  adapter === "kafkajs"
    ? KafkaJs.layer({ brokers: required("KAFKA_BROKERS").split(",") })
    : KafkaPlatformatic.layer({ brokers: required("KAFKA_BROKERS").split(","), clientId: "bench" })

/**
 * A consumer group of its own folds the whole topic into `pipelines`, timed from connecting to the
 * moment the fold has committed the last record (joining the group counts, leaving it does not).
 */
const foldTopic = async (pipelines: ReadonlyArray<Pipeline.Pipeline<any, number, "changes">>, adapter: Adapter = "kafkajs"): Promise<Sample> => {
  const topic = required("BENCH_KAFKA_TOPIC")
  const total = Number(required("BENCH_KAFKA_RECORDS"))
  const counter: Counter = { calls: 0, keysWritten: 0 }
  const start = process.hrtime.bigint()
  let end = 0n
  const next = new Map<string, number>()
  const source = KafkaSource.make({ topic, groupId: `bench-${randomUUID()}` })
  const summary = await Effect.runPromise(
    Fold.run(Source.make({
      name: source.name,
      kind: source.kind,
      records: source.records.pipe(Stream.take(total)),
      commit: (last) =>
        source.commit(last).pipe(Effect.tap(() =>
          Effect.sync(() => {
            for (const [partition, record] of last) next.set(partition, record.seq + 1)
            let done = 0
            for (const n of next.values()) done += n
            if (done >= total && end === 0n) end = process.hrtime.bigint()
          })
        ))
    }), pipelines).pipe(
      Effect.provide(counting(Memory.layer(), counter)),
      Effect.provide(clientLayer(adapter)),
      Effect.provide(quiet)
    )
  )
  return {
    records: summary.records,
    seconds: Number(end - start) / 1e9,
    roundTrips: counter.calls,
    writes: counter.keysWritten,
    peakRssMiB: peakRssMiB()
  }
}

/**
 * Scenario 3's library side: the topic folded into one pipeline. Its ceiling (below) is timed the
 * same way: from connecting to the last record consumed.
 */
export const library = (adapter: Adapter = "kafkajs"): Promise<Sample> => foldTopic([benchPipeline], adapter)

/** Scenario 6 (Kafka), one pass: one consumer group feeds the three pipelines. */
export const fanoutOnePass = (): Promise<Sample> => foldTopic(fanoutPipelines)

/**
 * Scenario 6 (Kafka), the baseline: three consumer groups one after the other, one pipeline each
 * (records counted once, seconds summed).
 */
export const fanoutThreeRuns = async (): Promise<Sample> => {
  const runs: Array<Sample> = []
  for (const pipeline of fanoutPipelines) runs.push(await foldTopic([pipeline]))
  return {
    records: runs[0]!.records,
    seconds: runs.reduce((s, r) => s + r.seconds, 0),
    roundTrips: runs.reduce((s, r) => s + r.roundTrips, 0),
    writes: runs.reduce((s, r) => s + r.writes, 0),
    peakRssMiB: peakRssMiB()
  }
}

/** The ceiling of {@link library} on `adapter`: its client's raw consume of the topic. */
export const ceiling = (adapter: Adapter = "kafkajs"): Promise<Sample> => adapter === "kafkajs" ? kafkaJsCeiling() : platformaticCeiling()

/**
 * Raw @platformatic/kafka: a consumer group's message stream from the earliest offset, each message
 * counted in a `data` listener (faster here than `for await`).
 */
const platformaticCeiling = (): Promise<Sample> => {
  const topic = required("BENCH_KAFKA_TOPIC")
  const total = Number(required("BENCH_KAFKA_RECORDS"))
  return time(async () => {
    const consumer = new PConsumer({
      clientId: "bench-raw",
      bootstrapBrokers: required("KAFKA_BROKERS").split(","),
      groupId: `bench-raw-${randomUUID()}`,
      maxWaitTime: 1000
    })
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    let seen = 0
    await new Promise<void>((resolve, reject) => {
      stream.on("data", () => {
        if (++seen === total) resolve()
      })
      stream.on("error", reject)
    })
    void consumer.close(true)
    return { records: seen }
  })
}

const kafkaJsCeiling = async (): Promise<Sample> => {
  const topic = required("BENCH_KAFKA_TOPIC")
  const total = Number(required("BENCH_KAFKA_RECORDS"))
  return time(async () => {
    const consumer = kafka().consumer({ groupId: `bench-raw-${randomUUID()}`, maxWaitTimeInMs: 1000 })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    let seen = 0
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length
          if (seen >= total) resolve()
        }
      }).catch(reject)
    })
    void consumer.disconnect()
    return { records: seen }
  })
}

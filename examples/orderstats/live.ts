/**
 * The live side of orderTotals, from the handoff the bootstrap saved, on the source `LIVE_SOURCE`
 * names:
 *
 * - `changestream`: the collection's change stream (`MongoChangeStream`), from the last committed
 *   resume token or, on the first run, from P0. Run one such worker per collection.
 * - `kafka`: Debezium MongoDB envelopes on `KAFKA_TOPIC`, read by the consumer group
 *   `CONSUMER_GROUP` (`KafkaSource`): run as many workers as the topic has partitions. A new group
 *   starts at the beginning of the topic and folds each document's records in their partition's
 *   order over the snapshot, so the topic only has to reach back to the moment the bootstrap began
 *   (the relay and Debezium both start before it); only records of `MONGO_DB`.`MONGO_COLLECTION`
 *   are folded. Records larger than `KAFKA_MAX_RECORD_BYTES` and records that do
 *   not decode go to the dead-letter topic `KAFKA_DLQ_TOPIC` with the reason in a header.
 *
 * Both fail with a `ConfigurationError` when the bootstrap has not finished.
 */
import { Effect } from "effect"
import * as Rebootstrap from "../../src/Runtime/Rebootstrap.ts"
import { ConfigurationError, type SourceError } from "../../src/Errors.ts"
import type * as Port from "../../src/Kafka/KafkaPort.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as KafkaSource from "../../src/Kafka/KafkaSource.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as KafkaDeadLetters from "../../src/Kafka/KafkaDeadLetters.ts"
import * as Settings from "./config.ts"
import * as LiveSource from "./liveSource.ts"
import { pipelines } from "./pipeline.ts"
import * as Scan from "./scan.ts"
import * as Topics from "./topics.ts"
import * as KafkaClient from "./kafkaClient.ts"

/**
 * The live run over the change stream (needs the store services).
 */
export const changeStream = (options: { readonly stopWhenIdleMs?: number | undefined } = {}) =>
  Effect.gen(function*() {
    const mongo = yield* Settings.mongo
    const keepDocuments = yield* Settings.keepDocuments
    yield* Effect.logInfo(`live: following the change stream of ${Mongo.formatNamespace(mongo)}`)
    return yield* Orchestrator.live(Scan.spec(mongo, { ...options, keepDocuments })).pipe(Effect.provide(Mongo.layer({ uri: mongo.uri })))
  })

/**
 * The KafkaSource of the configured topic and group.
 */
export const kafkaSource = (settings: Settings.KafkaSettings, namespace: { readonly db: string; readonly collection: string }) =>
  KafkaSource.make({
    namespace,
    topic: settings.topic,
    groupId: settings.groupId,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    rebalanceTimeoutMs: settings.rebalanceTimeoutMs,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    maxRecordBytes: settings.maxRecordBytes
  })

/**
 * The live run over the Kafka topic, dead letters to the dead-letter topic (needs the store
 * services; its `DeadLetters` is replaced by the topic's).
 */
export const kafka = Effect.gen(function*() {
  const settings = yield* Settings.kafka
  yield* Topics.ensure([settings.topic, settings.deadLetterTopic], settings.partitions)
  yield* Effect.logInfo(
    `live: consuming ${settings.topic} as group ${settings.groupId}, dead letters to ${settings.deadLetterTopic}, ` +
      `records over ${settings.maxRecordBytes} bytes dead-lettered`
  )
  const namespace = yield* Settings.namespace
  const keepDocuments = yield* Settings.keepDocuments
  const spec: Orchestrator.Spec<"changes", SourceError | ConfigurationError, Port.KafkaClient> = {
    pipelines,
    // only the bootstrap captures the handoff; the live run reads the saved one
    handoff: Effect.fail(new ConfigurationError({ detail: "the Kafka worker does not bootstrap: run the bootstrap first" })),
    // one consumer group feeds every pipeline
    live: () => kafkaSource(settings, namespace),
    options: { batchSize: 1000, keepDocuments }
  }
  return yield* Orchestrator.live(spec).pipe(
    Effect.provide(KafkaDeadLetters.layer({ topic: settings.deadLetterTopic })),
    Effect.provide(KafkaClient.layer)
  )
})

/**
 * The live run on `source` (`LIVE_SOURCE`). When `admin.js rebootstrap` swaps a pipeline's
 * generation, the run stops before committing more and starts again on the new one.
 */
export const run = (options: { readonly source: Settings.LiveSource; readonly stopWhenIdleMs?: number | undefined }) =>
  Effect.andThen(
    LiveSource.claim(options.source),
    Rebootstrap.following(options.source === "kafka" ? kafka : changeStream({ stopWhenIdleMs: options.stopWhenIdleMs }))
  )

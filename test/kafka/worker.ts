/**
 * A live worker process for the multi-process Kafka tests: folds the orderstats pipeline from a
 * Kafka topic into an embedded SQLite store shared with the other workers, dead letters to a
 * dead-letter topic, through the adapter named by `WORKER_ADAPTER` (`kafkajs`, `platformatic`).
 * Run with Node 24 (`node test/kafka/worker.ts`); settings come from
 * the environment. Log lines go to stdout as JSON (`{"worker","level","message"}`), so the test can
 * follow assignments and revocations. SIGINT/SIGTERM interrupt the fold: the consumer leaves the
 * group before the process exits.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Logger, References } from "effect"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import * as KafkaPlatformatic from "../../src/Kafka/KafkaPlatformatic.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as KafkaSource from "../../src/Kafka/KafkaSource.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as KafkaDeadLetters from "../../src/Kafka/KafkaDeadLetters.ts"

const settings = Config.all({
  worker: Config.String("WORKER_NAME"),
  adapter: Config.Literals(["kafkajs", "platformatic"], "WORKER_ADAPTER").pipe(Config.withDefault("kafkajs" as const)),
  topic: Config.String("WORKER_TOPIC"),
  groupId: Config.String("WORKER_GROUP"),
  dlq: Config.String("WORKER_DLQ"),
  db: Config.String("WORKER_DB"),
  sessionTimeoutMs: Config.Int("WORKER_SESSION_TIMEOUT_MS").pipe(Config.withDefault(6_000)),
  maxBytesPerPartition: Config.Int("WORKER_MAX_BYTES_PER_PARTITION").pipe(Config.withDefault(64 * 1024))
})

const main = Effect.gen(function*() {
  const s = yield* settings
  const lines = Logger.make(({ logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    process.stdout.write(`${JSON.stringify({ worker: s.worker, level: logLevel, message: text })}\n`)
  })
  const source = KafkaSource.make({
    topic: s.topic,
    groupId: s.groupId,
    sessionTimeoutMs: s.sessionTimeoutMs,
    rebalanceTimeoutMs: 15_000,
    heartbeatIntervalMs: 500,
    maxWaitTimeMs: 200,
    maxBytesPerPartition: s.maxBytesPerPartition
  })
  yield* Effect.gen(function*() {
    yield* Effect.logInfo("worker started")
    yield* Fold.run(source, [orderTotals]).pipe(
      Effect.onInterrupt(() => Effect.logInfo("worker interrupted: leaving the group")),
      Effect.provide(KafkaDeadLetters.layer({ topic: s.dlq })),
      Effect.provide(Embedded.layer({ path: s.db, durability: "normal" })),
      Effect.provide(s.adapter === "kafkajs" ? KafkaJs.layerConfig : KafkaPlatformatic.layerConfig)
    )
  }).pipe(Effect.provide([Logger.layer([lines]), Layer.succeed(References.MinimumLogLevel, "Info")]))
})

NodeRuntime.runMain(main)

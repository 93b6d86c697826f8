/**
 * The Kafka topics of the example (the change topic, the dead-letter topic), created when missing
 * with the admin client of kafkajs, configured like the library's client (`KafkaJs.config`:
 * `KAFKA_BROKERS`, TLS, SASL). The library itself never creates topics; the binaries do it so that
 * the walkthrough needs no Kafka tooling. Production topics are usually made by their owners, with
 * the partitions and retention they need.
 */
import { Config, Effect, Schedule } from "effect"
import { Kafka } from "kafkajs"
import { SourceError } from "../../src/Errors.ts"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"

/**
 * Creates the topics of `names` that do not exist, with `partitions` partitions and the broker's
 * default replication factor. Returns the names it created.
 */
export const ensure = (
  names: ReadonlyArray<string>,
  partitions: number
): Effect.Effect<ReadonlyArray<string>, SourceError | Config.ConfigError> =>
  Effect.gen(function*() {
    const options = yield* KafkaJs.config
    const context = yield* Effect.context<never>()
    const created = yield* Effect.tryPromise({
      try: async () => {
        const admin = new Kafka(KafkaJs.kafkaConfig({ ...options, logLevel: "error" }, context)).admin()
        await admin.connect()
        try {
          const existing = new Set(await admin.listTopics())
          const missing = names.filter((t) => !existing.has(t))
          if (missing.length > 0) {
            await admin.createTopics({
              topics: missing.map((topic) => ({ topic, numPartitions: Math.max(1, partitions) })),
              waitForLeaders: true
            })
          }
          return missing
        } finally {
          await admin.disconnect().catch(() => undefined)
        }
      },
      catch: (cause) => new SourceError({ source: "kafka", retryable: true, detail: `creating the topics ${names.join(", ")} failed`, cause })
    }).pipe(
      Effect.retry({ schedule: Schedule.exponential("250 millis").pipe(Schedule.jittered, Schedule.upTo({ duration: "20 seconds" })) })
    )
    if (created.length > 0) yield* Effect.logInfo(`created the Kafka topics ${created.join(", ")} (${partitions} partitions)`)
    return created
  })

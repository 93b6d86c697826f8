/**
 * The Kafka client of the example's binaries, chosen by `KAFKA_CLIENT`: `platformatic` (the
 * default: `@platformatic/kafka`, the faster of the two adapters on the Kafka-to-store benchmark)
 * or `kafkajs`. Both read the same `KAFKA_*` connection settings and pass the same test suite.
 */
import { Config, Effect, Layer, Schema } from "effect"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import * as KafkaPlatformatic from "../../src/Kafka/KafkaPlatformatic.ts"

/** `KAFKA_CLIENT`. */
export const client = Config.schema(Schema.Literals(["platformatic", "kafkajs"]), "KAFKA_CLIENT").pipe(
  Config.withDefault("platformatic" as const)
)

/** The `KafkaClient` service of the chosen adapter, configured from the environment. */
export const layer = Layer.unwrap(
  Effect.map(client, (name) => (name === "kafkajs" ? KafkaJs.layerConfig : KafkaPlatformatic.layerConfig))
)

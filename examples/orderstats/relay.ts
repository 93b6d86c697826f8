/**
 * relay: a CDC relay for development and tests. Tails the orders collection's change stream and
 * publishes Debezium-shaped MongoDB envelopes to `KAFKA_TOPIC`, keyed by document id, so that the
 * Kafka worker can be run without Kafka Connect and Debezium. Runs until SIGINT/SIGTERM (exit 0).
 *
 *   relay.js
 *
 * Start it before the bootstrap (like Debezium). It keeps its position (the last published resume
 * token) in the store, so a restart resumes there; it may republish the last batch, which the
 * workers' ledger makes harmless. Creates `KAFKA_TOPIC` (`KAFKA_TOPIC_PARTITIONS` partitions) when
 * missing. See changeRelay.ts and envelope.ts, and docs/orderstats.md for how real Debezium differs.
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as ChangeRelay from "./changeRelay.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import { orderTotals } from "./pipeline.ts"
import * as Stores from "./stores.ts"
import * as Topics from "./topics.ts"
import * as KafkaClient from "./kafkaClient.ts"

const program = Effect.gen(function*() {
  const mongo = yield* Settings.mongo
  const kafka = yield* Settings.topic
  yield* Topics.ensure([kafka.topic], kafka.partitions)
  const counts: ChangeRelay.Counts = { published: 0, c: 0, u: 0, d: 0, skipped: 0, batches: 0 }
  yield* ChangeRelay.run({ ns: mongo, topic: kafka.topic, pipeline: orderTotals.name, batchSize: mongo.streamBatchSize, idlePollMs: mongo.idlePollMs }, counts).pipe(
    Effect.onInterrupt(() =>
      Effect.logInfo(`relay stopped: ${counts.published} records published (c ${counts.c}, u ${counts.u}, d ${counts.d}), ${counts.skipped} events skipped`)
    ),
    Effect.provide(Mongo.layer({ uri: mongo.uri }))
  )
}).pipe(Effect.provide([Stores.layer, KafkaClient.layer]))

const command = Command.make("relay.js", {}, () => program).pipe(
  Cli.describe(
    "A CDC relay for development and tests: tails the orders collection's change stream and publishes Debezium-shaped " +
      "envelopes to KAFKA_TOPIC (created when missing), until SIGINT or SIGTERM (exit code 0). Start it before the bootstrap, " +
      "like Debezium; it keeps its position in the store and resumes there.",
    [Settings.sections.mongo, Settings.sections.relay, Settings.sections.store, Settings.sections.logging]
  )
)

Cli.runMain("relay", command)

/**
 * worker: the live worker. Folds the changes after the bootstrap's handoff into the store, from the
 * source `LIVE_SOURCE` names (`changestream`, the default, or `kafka`), and runs until SIGINT or
 * SIGTERM (exit code 0: the change stream closes, the consumer leaves its group; every batch
 * applied was committed, the one in flight is read again by the next run).
 *
 *   worker.js [--json]
 *
 * It starts from the saved position: the last committed resume token or Kafka offsets, or P0 on
 * the first run. It fails at once, with a message saying so, when the bootstrap has not finished.
 * With `STOP_WHEN_IDLE_MS` (change stream only) it stops after that long without a change and
 * prints what it folded (`--json`: as one JSON object). Settings: see config.ts.
 *
 * With `SERVE_PORT` set it also serves the query server (serving.ts): the API, `/metrics`, the
 * status page at `/status` (phase, progress, throughput, lag and dead letters of its pipelines:
 * with `LIVE_SOURCE=kafka` those on `KAFKA_DLQ_TOPIC`, where its fold writes them, as well as the
 * store's), and `/health/ready` for orchestrators. With `OTEL_EXPORTER_OTLP_ENDPOINT` it exports traces,
 * metrics and logs over OTLP.
 */
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as Live from "./live.ts"
import * as Report from "./report.ts"
import * as Serving from "./serving.ts"
import * as Stores from "./stores.ts"

const program = (options: { readonly json: boolean }) =>
  Effect.gen(function*() {
    const source = yield* Settings.liveSource
    const stopWhenIdleMs = yield* Settings.stopWhenIdleMs
    const serves = yield* Serving.workerServes
    const services = serves ? Layer.provideMerge(Serving.server, Stores.layer) : Stores.layer
    const result = yield* Live.run({ source, stopWhenIdleMs }).pipe(Effect.provide(services), Effect.provide(Serving.telemetry))
    const summary = result.summary
    if (summary === undefined) return
    yield* Effect.sync(() =>
      process.stdout.write(options.json ? `${JSON.stringify({ live: summary })}\n` : `worker: ${Report.liveLine(summary)}\n`)
    )
  })

const command = Command.make("worker.js", { json: Cli.json }, program).pipe(
  Cli.describe(
    "The live worker: folds the changes after the bootstrap's handoff into the store, from the collection's change stream " +
      "(LIVE_SOURCE=changestream) or from Debezium records on Kafka (LIVE_SOURCE=kafka), until SIGINT or SIGTERM (exit code 0). " +
      "It resumes from its last committed position, and refuses to start before the bootstrap has finished.",
    [
      Settings.sections.mongo,
      Settings.sections.live,
      Settings.sections.kafka,
      Settings.sections.store,
      Serving.workerServerSection,
      Serving.telemetrySection,
      Settings.sections.logging
    ]
  )
)

Cli.runMain("worker", command)

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
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as Live from "./live.ts"
import * as Report from "./report.ts"
import * as Stores from "./stores.ts"

const program = (options: { readonly json: boolean }) =>
  Effect.gen(function*() {
    const source = yield* Settings.liveSource
    const stopWhenIdleMs = yield* Settings.stopWhenIdleMs
    const result = yield* Live.run({ source, stopWhenIdleMs }).pipe(Effect.provide(Stores.layer))
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
    [Settings.sections.mongo, Settings.sections.live, Settings.sections.kafka, Settings.sections.store, Settings.sections.logging]
  )
)

Cli.runMain("worker", command)

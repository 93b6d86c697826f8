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
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as Live from "./live.ts"
import * as Report from "./report.ts"
import * as Stores from "./stores.ts"

const USAGE = "usage: worker.js [--json]"

const program = Effect.gen(function*() {
  const { values } = yield* Cli.flags(USAGE, { json: { type: "boolean", default: false } })
  const stopWhenIdleMs = yield* Settings.stopWhenIdleMs
  const result = yield* Live.run({ stopWhenIdleMs })
  const summary = result.summary
  if (summary === undefined) return
  yield* Effect.sync(() =>
    process.stdout.write(values.json ? `${JSON.stringify({ live: summary })}\n` : `worker: ${Report.liveLine(summary)}\n`)
  )
}).pipe(Effect.provide(Stores.layer))

Cli.runMain("worker", program)

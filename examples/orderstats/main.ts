/**
 * orderstats: per-customer order totals, exact.
 *
 *   main.js [--snapshot FILE] [--changes FILE] [--snapshot-position TS_MS:ORD] [--state DIR] [--json]
 *   main.js --services [--json]
 *
 * Without `--services`: the embedded demo (no servers; see files.ts). With no flags it folds the
 * sample data shipped in examples/orderstats/data on a fresh store and prints a table.
 *
 * With `--services`: bootstrap, then live, in one process, on the servers the environment names
 * (MONGO_URI, LIVE_SOURCE, KAFKA_BROKERS, DDB_ENDPOINT..., see config.ts): the bootstrap (or its
 * resumption, or nothing when it is done) prints its summary on stdout, then the live worker runs
 * until SIGINT/SIGTERM (exit code 0). The mode is a flag, not the mere presence of MONGO_URI,
 * because test and CI shells export every endpoint (scripts/test.sh): a variable left in the
 * environment must not turn the demo into a long-running worker.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as Files from "./files.ts"
import * as Live from "./live.ts"
import * as Report from "./report.ts"
import * as Scan from "./scan.ts"
import * as Stores from "./stores.ts"

const USAGE = "usage: main.js --services [--json]   (or the embedded demo: main.js [--snapshot FILE] [--changes FILE] ...)"

const argv = process.argv.slice(2)

const services = Effect.gen(function*() {
  const { values } = yield* Cli.flags(USAGE, { services: { type: "boolean" }, json: { type: "boolean", default: false } }, argv)
  const mongo = yield* Settings.mongo
  const boot = yield* Scan.run(mongo)
  yield* Effect.sync(() =>
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ bootstrap: boot })}\n`
        : `bootstrap: ${boot.alreadyDone ? "already done" : `${boot.documents} documents, ${boot.deadLetters} dead-lettered, ${Report.seconds(boot.elapsedMs)}`}; ` +
          `handoff ${Scan.describeHandoff(boot.handoff)}; now live\n`
    )
  )
  const stopWhenIdleMs = yield* Settings.stopWhenIdleMs
  const live = yield* Live.run({ stopWhenIdleMs })
  // reached when the change stream stopped after STOP_WHEN_IDLE_MS without a change
  if (live.summary !== undefined) {
    const summary = live.summary
    yield* Effect.sync(() =>
      process.stdout.write(values.json ? `${JSON.stringify({ live: summary })}\n` : `live: ${Report.liveLine(summary)}\n`)
    )
  }
}).pipe(Effect.provide(Stores.layer))

if (argv.includes("--services")) Cli.runMain("orderstats", services)
else NodeRuntime.runMain(Files.main(argv), { disableErrorReporting: true })

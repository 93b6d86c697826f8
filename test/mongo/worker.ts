/**
 * A worker process for the kill tests: bootstrap orderTotals from a MongoDB collection, then follow
 * its change stream, on the embedded store. Run with Node 24 (the core uses parameter properties,
 * so type stripping alone is not enough):
 *
 *   node test/mongo/worker.ts --db DB --collection COLL --state FILE [--batch N] [--stop-when-idle MS]
 *
 * MONGO_URI names the server. Logs go to stderr; with --stop-when-idle the live stream ends after
 * that long without a change and the worker prints one JSON line on stdout:
 * `{ totals, deadLetters, handoff, bootstrap, live }`.
 */
import { parseArgs } from "node:util"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Logger } from "effect"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as MongoCollection from "../../src/MongoDb/MongoCollection.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Version from "../../src/Version.ts"

const { values } = parseArgs({
  options: {
    db: { type: "string" },
    collection: { type: "string" },
    state: { type: "string" },
    batch: { type: "string", default: "100" },
    "stop-when-idle": { type: "string" }
  },
  strict: true
})
if (values.db === undefined || values.collection === undefined || values.state === undefined) {
  process.stderr.write("usage: worker.ts --db DB --collection COLL --state FILE [--batch N] [--stop-when-idle MS]\n")
  process.exit(2)
}
const ns = { db: values.db, collection: values.collection }
const batchSize = Number(values.batch)
const stopWhenIdle = values["stop-when-idle"] === undefined ? undefined : Number(values["stop-when-idle"])

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(MongoCollection.spec([orderTotals], {
    ...ns,
    batchSize,
    snapshot: { progressInterval: "500 millis" },
    changes: stopWhenIdle === undefined ? {} : { stopWhenIdle }
  }))
  const totals = yield* (yield* Aggregates).all(orderTotals)
  const deadLetters = yield* (yield* DeadLetters).list(orderTotals.name)
  const out = {
    totals: Object.fromEntries(Array.from(totals as ReadonlyMap<string, number>).filter(([, v]) => v !== 0)),
    deadLetters: deadLetters.length,
    letters: deadLetters.map((d) => ({ raw: d.raw, reason: d.reason })),
    handoff: Version.format(result.handoff.version),
    bootstrap: result.bootstrap ?? null,
    live: result.live ?? null
  }
  yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(out)}\n`))
})

const main = program.pipe(
  Effect.provide(Layer.mergeAll(Embedded.layer({ path: values.state }), Mongo.layerConfig)),
  Effect.tapError((error) => Effect.sync(() => process.stderr.write(`worker: ${error._tag}: ${error.message}\n`))),
  Effect.provide(Layer.succeed(Logger.LogToStderr, true))
)

NodeRuntime.runMain(main, { disableErrorReporting: true })

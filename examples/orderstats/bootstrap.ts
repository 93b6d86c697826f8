/**
 * bootstrap: scans the orders collection into the store and records the handoff position P0 from
 * which the live worker starts. Prints a summary (documents, dead letters, elapsed, position).
 *
 *   bootstrap.js [--json]
 *
 * Killed at any moment (even SIGKILL), it is simply run again: it keeps the same P0, finishes the
 * batch that was being applied, and resumes the scan after the last committed document. Run after
 * it finished, it does nothing and says so. Settings: MONGO_URI, MONGO_DB, MONGO_COLLECTION,
 * MONGO_BATCH_SIZE, and the store's (see config.ts). Exit code 0 when the bootstrap is done, 1 on
 * failure (the reason on stderr).
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as Version from "../../src/Version.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import { orderTotals, pipelines } from "./pipeline.ts"
import * as Report from "./report.ts"
import * as Scan from "./scan.ts"
import * as Stores from "./stores.ts"

const program = (options: { readonly json: boolean }) =>
  Effect.gen(function*() {
    const mongo = yield* Settings.mongo
    const r = yield* Scan.run(mongo).pipe(Effect.provide(Stores.layer))
    const ns = Mongo.formatNamespace(mongo)
    const text = options.json
      ? JSON.stringify({
        pipelines: pipelines.map((p) => p.name),
        namespace: ns,
        alreadyDone: r.alreadyDone,
        documents: r.documents,
        documentsThisRun: r.documentsThisRun,
        deadLetters: r.deadLetters,
        deadLettersPerPipeline: r.deadLettersPerPipeline,
        elapsedMs: r.elapsedMs,
        position: Version.format(r.handoff.version),
        handoff: r.handoff
      })
      : [
        `bootstrap of ${pipelines.map((p) => p.name).join(", ")} from ${ns}: ${r.alreadyDone ? "already done before this run" : "done"}`,
        `  documents:    ${r.documents} scanned (${r.documentsThisRun} by this run)`,
        `  dead letters: ${r.deadLetters} (${orderTotals.name}); this run: ${JSON.stringify(r.deadLettersPerPipeline)}`,
        `  elapsed:      ${Report.seconds(r.elapsedMs)}`,
        `  position:     ${Scan.describeHandoff(r.handoff)}`,
        `                ${Scan.HANDOFF_MEANING}`
      ].join("\n")
    yield* Effect.sync(() => process.stdout.write(`${text}\n`))
  })

const command = Command.make("bootstrap.js", { json: Cli.json }, program).pipe(
  Cli.describe(
    "Scans the orders collection into the store and records the handoff position P0 from which the live worker starts. " +
      "Killed at any moment, it is simply run again: it resumes after the last committed document; run after it finished, it does nothing and says so.",
    [Settings.sections.mongo, Settings.sections.fold, Settings.sections.store, Settings.sections.logging]
  )
)

Cli.runMain("bootstrap", command)

/**
 * The embedded demo of orderstats (no servers): per-customer order totals bootstrapped from a
 * snapshot file and kept exact from a change file (Debezium records as JSON Lines), on the
 * embedded store. `main.js` runs it unless `--services` is given.
 *
 *   main.js [--snapshot FILE] [--changes FILE] [--snapshot-position TS_MS:ORD] [--state DIR] [--json]
 *
 * With no flags it folds the sample data shipped in examples/orderstats/data on a fresh store and
 * prints a table. `--state DIR` keeps the store there, so a rerun resumes (and a run killed at any
 * moment can simply be run again). `--json` prints exactly one JSON object on stdout.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { Effect, Layer, Logger } from "effect"
import { ConfigurationError } from "../../src/Errors.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as JsonlChanges from "../../src/Jsonl/JsonlChanges.ts"
import * as JsonlSnapshot from "../../src/Jsonl/JsonlSnapshot.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Version from "../../src/Version.ts"
import { ordersPerCustomer, ordersPerStatus, orderTotals, pipelines } from "./pipeline.ts"
import * as Report from "./report.ts"
import * as Settings from "./config.ts"

const USAGE = "usage: main.js [--snapshot FILE] [--changes FILE] [--snapshot-position TS_MS:ORD] [--state DIR] [--json]"

/** The sample data folder, from the source tree or from dist/. */
const sampleDir = (): string => {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const candidate of [join(here, "data"), join(here, "..", "..", "..", "examples", "orderstats", "data")]) {
    if (existsSync(join(candidate, "manifest.json"))) return candidate
  }
  throw new Error("the sample data folder examples/orderstats/data was not found")
}

interface Args {
  readonly snapshot: string | undefined
  readonly changes: string | undefined
  readonly position: Version.Version
  readonly state: string | undefined
  readonly json: boolean
}

export const parse = (argv: ReadonlyArray<string>): Effect.Effect<Args, ConfigurationError> =>
  Effect.try({
    try: () => {
      const { values } = parseArgs({
        args: [...argv],
        options: {
          snapshot: { type: "string" },
          changes: { type: "string" },
          "snapshot-position": { type: "string" },
          state: { type: "string" },
          json: { type: "boolean", default: false }
        },
        strict: true,
        allowPositionals: false
      })
      const sample = values.snapshot === undefined && values.changes === undefined
      const dir = sample ? sampleDir() : undefined
      const snapshot = dir !== undefined ? join(dir, "snapshot.jsonl") : values.snapshot
      const changes = dir !== undefined ? join(dir, "changes.jsonl") : values.changes
      let positionText = values["snapshot-position"]
      if (positionText === undefined && dir !== undefined) {
        positionText = (JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { snapshotPosition: string }).snapshotPosition
      }
      if (positionText === undefined && snapshot !== undefined) {
        throw new Error("--snapshot needs --snapshot-position TS_MS:ORD, the version of the snapshot (changes at or before it are already in it)")
      }
      const position = positionText === undefined ? Version.zero : Version.parse(positionText)
      if (position === undefined) throw new Error(`--snapshot-position must be TS_MS:ORD, got ${JSON.stringify(positionText)}`)
      for (const file of [snapshot, changes]) {
        if (file !== undefined && !existsSync(file)) throw new Error(`no such file: ${file}`)
      }
      return {
        snapshot: snapshot === undefined ? undefined : resolve(snapshot),
        changes: changes === undefined ? undefined : resolve(changes),
        position,
        state: values.state,
        json: values.json === true
      }
    },
    catch: (error: unknown) => new ConfigurationError({ detail: `${error instanceof Error ? error.message : String(error)}\n${USAGE}` })
  })


const program = (args: Args) =>
  Effect.gen(function*() {
    const { snapshot, changes } = args
    const namespace = yield* Settings.namespace
    const keepDocuments = yield* Settings.keepDocuments
    // one pass over each file feeds the three pipelines
    const result = yield* Orchestrator.run({
      pipelines,
      handoff: Handoff.at(args.position),
      bootstrap: snapshot === undefined ? undefined : (handoff) => JsonlSnapshot.make({ path: snapshot, handoff }),
      // Debezium records as the connector writes them, one document's in their topic order
      live: changes === undefined ? undefined : () => JsonlChanges.make({ path: changes, namespace }),
      // KEEP_DOCUMENTS=true: records of capture.mode=change_streams (updates without the document)
      options: { keepDocuments }
    })
    const aggregates = yield* Aggregates
    const totals = Report.nonZero(yield* aggregates.all(orderTotals))
    const perStatus = Report.nonZero(yield* aggregates.all(ordersPerStatus))
    const perCustomer = Report.nonZero(yield* aggregates.all(ordersPerCustomer))
    const dead = Report.deadLetters(result.bootstrap, result.live)
    const letters = yield* (yield* DeadLetters).list(orderTotals.name)
    if (args.json) {
      const out = {
        totals: Object.fromEntries(totals),
        perStatus: Object.fromEntries(perStatus),
        ordersPerCustomer: Object.fromEntries(perCustomer),
        deadLetters: dead[orderTotals.name] ?? 0,
        deadLettersPerPipeline: dead,
        handoff: Version.format(result.handoff.version),
        bootstrap: result.bootstrap ?? null,
        live: result.live ?? null
      }
      yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(out)}\n`))
    } else {
      const b = result.bootstrap === undefined ? undefined : Fold.of(result.bootstrap, orderTotals)
      const l = result.live === undefined ? undefined : Fold.of(result.live, orderTotals)
      yield* Effect.sync(() =>
        process.stdout.write(
          `${Report.table(totals)}\n\n${Report.counts("status", perStatus)}\n\n${Report.counts("customer", perCustomer)}\n\n` +
            `snapshot: ${b === undefined ? "already done" : `${b.upserts} documents, ${b.rejected} dead-lettered`}; ` +
            `changes: ${l === undefined ? "none" : `${result.live!.records} records, ${l.upserts + l.deletes} applied, ${l.stale} stale, ${l.skipped} skipped, ${l.rejected} dead-lettered`}; ` +
            `handoff ${Version.format(result.handoff.version)} (the snapshot's version: changes at or before it are in the snapshot)\n` +
            (letters.length === 0 ? "" : `dead letters of ${orderTotals.name}:\n${letters.slice(0, 5).map((d) => `  ${d.partition}#${d.seq}: ${d.reason}`).join("\n")}\n`)
        )
      )
    }
  })

/**
 * The demo, with the command-line arguments `argv`; failures print `orderstats: <message>` on stderr.
 */
export const main = (argv: ReadonlyArray<string>) => Effect.gen(function*() {
  const args = yield* parse(argv)
  const fresh = args.state === undefined ? mkdtempSync(join(tmpdir(), "orderstats-")) : undefined
  const stateDir = args.state ?? fresh!
  yield* program(args).pipe(
    Effect.provide(Embedded.layer({ path: join(stateDir, "orderstats.sqlite") })),
    Effect.ensuring(Effect.sync(() => fresh !== undefined && rmSync(fresh, { recursive: true, force: true })))
  )
}).pipe(
  Effect.tapError((error) => Effect.sync(() => process.stderr.write(`orderstats: ${error.message}\n`))),
  Effect.provide(Layer.succeed(Logger.LogToStderr, true))
)

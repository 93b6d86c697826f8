/**
 * The bootstrap of the orderstats pipelines: capture the handoff position P0 of the orders
 * collection, scan the collection once into every pipeline (resuming after the last committed
 * document when a previous run was killed), and record that the bootstrap is done. A second run
 * after it finished does nothing; a pipeline added since is bootstrapped on its own scan.
 */
import { Effect } from "effect"
import type { Handoff } from "../../src/Handoff.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as MongoChangeStream from "../../src/MongoDb/MongoChangeStream.ts"
import * as MongoCollection from "../../src/MongoDb/MongoCollection.ts"
import { committed } from "../../src/Source.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Version from "../../src/Version.ts"
import * as Settings from "./config.ts"
import { orderTotals, pipelines } from "./pipeline.ts"
import * as Report from "./report.ts"

/**
 * What a bootstrap run did.
 */
export interface Result {
  readonly handoff: Handoff
  /** The bootstrap had finished before this run: nothing was scanned. */
  readonly alreadyDone: boolean
  /** Documents scanned, by every run of this bootstrap (a killed run's included). */
  readonly documents: number
  /** Documents scanned by this run. */
  readonly documentsThisRun: number
  /** Documents of the scan the totals pipeline dead-lettered (every run). */
  readonly deadLetters: number
  /** Dead letters of this run, per pipeline. */
  readonly deadLettersPerPipeline: Record<string, number>
  readonly elapsedMs: number
}

/**
 * The orchestrator spec of orderTotals over the configured collection (change stream as its live source).
 */
export const spec = (
  settings: Settings.MongoSettings,
  options: { readonly stopWhenIdleMs?: number | undefined; readonly keepDocuments?: boolean | undefined } = {}
) => {
  const ns = { db: settings.db, collection: settings.collection }
  const base = MongoCollection.spec(pipelines, {
    ...ns,
    batchSize: settings.batchSize,
    snapshot: { progressInterval: "2 seconds" },
    // scan chunks are driver batches of batchSize; change-stream batches may be larger
    fold: { batchSize: Math.max(settings.batchSize, settings.streamBatchSize), keepDocuments: options.keepDocuments }
  })
  return {
    ...base,
    live: (handoff: Handoff) =>
      MongoChangeStream.make({
        ...ns,
        handoff,
        batchSize: settings.streamBatchSize,
        idleBackoff: { max: Math.max(10, settings.idlePollMs) },
        ...(options.stopWhenIdleMs === undefined ? {} : { stopWhenIdle: options.stopWhenIdleMs })
      })
  }
}

/**
 * The snapshot source's name and partition for a handoff (where its position is committed).
 */
const snapshotPosition = (settings: Settings.MongoSettings, handoff: Handoff) => {
  const ns = Mongo.formatNamespace(settings)
  return { name: `mongo-snapshot:${ns}`, partition: `mongo-snapshot:${ns}@${Version.format(handoff.version)}` }
}

/**
 * Runs (or resumes, or skips when done) the bootstrap; needs the store services.
 */
export const run = (settings: Settings.MongoSettings) =>
  Effect.gen(function*() {
    const started = Date.now()
    const keepDocuments = yield* Settings.keepDocuments
    const boot = yield* Orchestrator.bootstrap(spec(settings, { keepDocuments }))
    const position = snapshotPosition(settings, boot.handoff)
    const scanned = yield* committed(position.name, position.partition)
    const letters = yield* (yield* DeadLetters).list(orderTotals.name)
    const result: Result = {
      handoff: boot.handoff,
      alreadyDone: boot.summary === undefined,
      documents: scanned?.seq ?? 0,
      documentsThisRun: boot.summary?.records ?? 0,
      deadLettersPerPipeline: Report.deadLetters(boot.summary),
      deadLetters: letters.filter((l) => l.partition === position.partition).length,
      elapsedMs: Date.now() - started
    }
    return result
  }).pipe(Effect.provide(Mongo.layer({ uri: settings.uri })))

/**
 * What the handoff position means, in one line.
 */
export const HANDOFF_MEANING =
  "(the handoff: the collection's position captured before the scan; the live worker folds every change after it, and the ledger skips those the scan already saw)"

/**
 * The handoff position in words: the version, and the cluster time and how it was found.
 */
export const describeHandoff = (handoff: Handoff): string => {
  const live = handoff.live as { startAtOperationTime?: { t: number; i: number }; method?: string } | null
  const at = live?.startAtOperationTime
  return at === undefined
    ? Version.format(handoff.version)
    : `${Version.format(handoff.version)} (cluster time ${at.t}:${at.i}, found by ${live?.method ?? "?"})`
}

/**
 * The embedded demo of orderstats (no servers): per-customer order totals bootstrapped from a
 * snapshot file and kept exact from a change file (Debezium records as JSON Lines), on the
 * embedded store. `main.js` runs it unless `--services` is given.
 *
 *   main.js [--snapshot FILE] [--changes FILE] [--snapshot-position TS_MS:ORD] [--now INSTANT] [--state DIR] [--json]
 *
 * With no flags it folds the sample data shipped in examples/orderstats/data on a fresh store and
 * prints the tables (the totals, the counts, the per-day revenue and customers), then a summary:
 * what the snapshot and the changes did, what the handoff position means, and the first dead
 * letters with their reasons (from the store's `DeadLetters`). `--state DIR` keeps the store
 * there, so a rerun resumes (and a run killed at any moment can simply be run again). `--json`
 * prints exactly one JSON object on stdout.
 *
 * Replaying recorded data: the per-day pipelines keep 90 days and "the last 7 days" ends today,
 * both by the `Clock`. The sample was recorded in November 2023, so the demo runs on a clock set
 * back to the end of the recording (`recordedAt` in data/manifest.json; the clock then runs on at
 * the normal pace): the windows are those of that moment, as on the day it was recorded. `--now
 * INSTANT` does the same for files of one's own; without it they are folded as of the wall clock.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, isAbsolute, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Clock, Effect, Option } from "effect"
import { ConfigurationError } from "../../src/Errors.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as JsonlChanges from "../../src/Jsonl/JsonlChanges.ts"
import * as JsonlSnapshot from "../../src/Jsonl/JsonlSnapshot.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { type DeadLetter, DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Version from "../../src/Version.ts"
import { isInstant } from "./Order.ts"
import * as PerDay from "./perDay.ts"
import { ordersPerCustomer, ordersPerStatus, orderTotals, pipelines, RETENTION_DAYS, revenuePerDay } from "./pipeline.ts"
import * as Report from "./report.ts"
import * as Settings from "./config.ts"

/** The demo's flags, as `main.js` parses them. */
export interface Flags {
  readonly snapshot: Option.Option<string>
  readonly changes: Option.Option<string>
  readonly snapshotPosition: Option.Option<string>
  readonly now: Option.Option<string>
  readonly state: Option.Option<string>
  readonly json: boolean
}

/** The sample data folder, from the source tree or from dist/. */
const sampleDir = (): string => {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const candidate of [join(here, "data"), join(here, "..", "..", "..", "examples", "orderstats", "data")]) {
    if (existsSync(join(candidate, "manifest.json"))) return candidate
  }
  throw new Error("the sample data folder examples/orderstats/data was not found")
}

/** The instant the demo folds and reads as of, and why that one. */
export interface AsOf {
  readonly ms: number
  readonly why: string
}

interface Args {
  readonly snapshot: string | undefined
  readonly changes: string | undefined
  readonly position: Version.Version
  /** `undefined`: the wall clock. */
  readonly asOf: AsOf | undefined
  readonly state: string | undefined
  readonly json: boolean
}

/** What the sample's manifest says. */
interface Manifest {
  readonly snapshotPosition: string
  /** When the recording ended: the demo replays the sample as of then. */
  readonly recordedAt: string
}

const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest

/** `--now`, else the sample's recording time, else the wall clock (`undefined`). */
const asOfOf = (now: string | undefined, manifest: Manifest | undefined): AsOf | undefined => {
  if (now !== undefined) {
    if (!isInstant(now)) throw new Error(`--now must be an ISO-8601 date and time with its offset, e.g. 2026-05-01T12:00:00Z, got ${JSON.stringify(now)}`)
    return { ms: Date.parse(now), why: "--now" }
  }
  if (manifest === undefined) return undefined
  if (!isInstant(manifest.recordedAt)) throw new Error(`the sample's manifest.json has no valid recordedAt: ${JSON.stringify(manifest.recordedAt)}`)
  return { ms: Date.parse(manifest.recordedAt), why: "the end of the sample's recording (--now changes it)" }
}

/**
 * The files to fold and their snapshot position: the sample's when neither `--snapshot` nor
 * `--changes` is given.
 */
export const resolveFlags = (flags: Flags): Effect.Effect<Args, ConfigurationError> =>
  Effect.try({
    try: () => {
      const sample = Option.isNone(flags.snapshot) && Option.isNone(flags.changes)
      const dir = sample ? sampleDir() : undefined
      const manifest = dir === undefined ? undefined : readManifest(dir)
      const snapshot = dir !== undefined ? join(dir, "snapshot.jsonl") : Option.getOrUndefined(flags.snapshot)
      const changes = dir !== undefined ? join(dir, "changes.jsonl") : Option.getOrUndefined(flags.changes)
      let positionText = Option.getOrUndefined(flags.snapshotPosition)
      if (positionText === undefined && manifest !== undefined) positionText = manifest.snapshotPosition
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
        asOf: asOfOf(Option.getOrUndefined(flags.now), manifest),
        state: Option.getOrUndefined(flags.state),
        json: flags.json
      }
    },
    catch: (error: unknown) => new ConfigurationError({ detail: error instanceof Error ? error.message : String(error) })
  })

/** How many dead letters the text output lists. */
const SHOWN_DEAD_LETTERS = 5

/** Where a dead letter of the demo's files comes from: `examples/orderstats/data/changes.jsonl line 9`. */
const origin = (letter: DeadLetter): string => {
  const path = letter.partition.replace(/^(jsonl|snapshot):/, "").replace(/@\d+:\d+$/, "")
  const doc = letter.docId === undefined ? "" : ` (document ${letter.docId})`
  const inside = relative(process.cwd(), path)
  return `${inside === "" || inside.startsWith("..") || isAbsolute(inside) ? path : inside} line ${letter.seq}${doc}`
}

/**
 * The dead letters in words: how many, then the first few with their reasons.
 */
export const describeDeadLetters = (pipeline: string, letters: ReadonlyArray<DeadLetter>): string =>
  letters.length === 0
    ? `dead letters of ${pipeline}: none`
    : [
      `dead letters of ${pipeline}: ${letters.length}${letters.length > SHOWN_DEAD_LETTERS ? `, the first ${SHOWN_DEAD_LETTERS}` : ""} (records it refused, kept with the reason; never counted)`,
      ...letters.slice(0, SHOWN_DEAD_LETTERS).map((letter) => `  ${origin(letter)}: ${letter.reason}`)
    ].join("\n")

/**
 * What the demo's handoff position means, in one line.
 */
export const describeHandoff = (handoff: Version.Version): string =>
  `handoff:  ${Version.format(handoff)}, the snapshot's version: changes at or before it are already in the snapshot (skipped as stale), later ones are applied`

/**
 * The dead letters of `pipeline` that are not dead letters of the totals (same record): for the
 * per-day pipelines, the orders without a valid `created_at`.
 */
export const describeOtherDeadLetters = (
  pipeline: string,
  letters: ReadonlyArray<DeadLetter>,
  totalsLetters: ReadonlyArray<DeadLetter>
): string => {
  const ofTotals = new Set(totalsLetters.map((l) => `${l.partition}#${l.seq}`))
  const others = letters.filter((l) => !ofTotals.has(`${l.partition}#${l.seq}`))
  return others.length === 0
    ? `dead letters of ${pipeline} besides those: none`
    : [
      `dead letters of ${pipeline} besides those: ${others.length}${others.length > SHOWN_DEAD_LETTERS ? `, the first ${SHOWN_DEAD_LETTERS}` : ""}`,
      ...others.slice(0, SHOWN_DEAD_LETTERS).map((letter) => `  ${origin(letter)}: ${letter.reason}`)
    ].join("\n")
}

const summary = (result: Orchestrator.Result, letters: ReadonlyArray<DeadLetter>, dayLetters: ReadonlyArray<DeadLetter>): string => {
  const b = result.bootstrap === undefined ? undefined : Fold.of(result.bootstrap, orderTotals)
  const l = result.live === undefined ? undefined : Fold.of(result.live, orderTotals)
  return [
    `snapshot: ${b === undefined ? "already done" : `${b.upserts} documents, ${b.rejected} dead-lettered`}`,
    `changes:  ${l === undefined ? "none" : `${result.live!.records} records, ${l.upserts + l.deletes} applied, ${l.stale} stale, ${l.skipped} skipped, ${l.rejected} dead-lettered`}`,
    `per day:  ${expiredRecords(result)} records older than the ${RETENTION_DAYS}-day retention (written to no day)`,
    describeHandoff(result.handoff.version),
    describeDeadLetters(orderTotals.name, letters),
    describeOtherDeadLetters(revenuePerDay.name, dayLetters, letters)
  ].join("\n")
}

/** Records of the revenue per day whose day had expired, in both phases. */
const expiredRecords = (result: Orchestrator.Result): number =>
  [result.bootstrap, result.live].reduce((n, s) => n + (s === undefined ? 0 : Fold.of(s, revenuePerDay).expired), 0)

/** The instant of the per-day reads, in words. */
const describeAsOf = (asOf: AsOf | undefined, now: number): string =>
  `as of ${new Date(now).toISOString().replace(/\.\d+Z$/, "Z")}${asOf === undefined ? " (now)" : `, ${asOf.why}`}`

const program = (args: Args) =>
  Effect.gen(function*() {
    const { snapshot, changes } = args
    const namespace = yield* Settings.namespace
    const keepDocuments = yield* Settings.keepDocuments
    // one pass over each file feeds the six pipelines
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
    const dayLetters = yield* (yield* DeadLetters).list(revenuePerDay.name)
    const perDay = yield* PerDay.read
    const now = yield* Clock.currentTimeMillis
    const text = args.json
      ? JSON.stringify({
        totals: Object.fromEntries(totals),
        perStatus: Object.fromEntries(perStatus),
        ordersPerCustomer: Object.fromEntries(perCustomer),
        ...perDay,
        asOf: new Date(now).toISOString(),
        deadLetters: dead[orderTotals.name] ?? 0,
        deadLettersPerPipeline: dead,
        firstDeadLetters: letters.slice(0, SHOWN_DEAD_LETTERS).map(({ docId, partition, reason, seq }) => ({ partition, seq, docId, reason })),
        handoff: Version.format(result.handoff.version),
        bootstrap: result.bootstrap ?? null,
        live: result.live ?? null
      })
      : [
        Report.table(totals),
        Report.counts("status", perStatus),
        Report.counts("customer", perCustomer),
        `per UTC day of created_at, kept ${RETENTION_DAYS} days, ${describeAsOf(args.asOf, now)}:\n${Report.revenueTable(perDay)}`,
        Report.dayTable(perDay),
        summary(result, letters, dayLetters)
      ].join("\n\n")
    yield* Effect.sync(() => process.stdout.write(`${text}\n`))
  })

/**
 * The demo on the embedded store in `--state` (a fresh temporary folder, removed at the end, without it).
 */
export const demo = (flags: Flags) =>
  Effect.gen(function*() {
    const args = yield* resolveFlags(flags)
    const fresh = args.state === undefined ? mkdtempSync(join(tmpdir(), "orderstats-")) : undefined
    const stateDir = args.state ?? fresh!
    yield* program(args).pipe(
      Effect.provide(Embedded.layer({ path: join(stateDir, "orderstats.sqlite") })),
      // recorded data: the whole run (the fold's expiry, the store, the reads) on the recording's clock
      args.asOf === undefined ? (self) => self : PerDay.asOf(args.asOf.ms),
      Effect.ensuring(Effect.sync(() => fresh !== undefined && rmSync(fresh, { recursive: true, force: true })))
    )
  })

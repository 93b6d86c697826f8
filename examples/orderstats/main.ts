/**
 * orderstats: per-customer order totals, exact.
 *
 *   main.js [--snapshot FILE] [--changes FILE] [--snapshot-position TS_MS:ORD] [--now INSTANT] [--state DIR] [--json]
 *   main.js --services [--json]
 *
 * Without `--services`: the embedded demo (no servers; see files.ts). With no flags it folds the
 * sample data shipped in examples/orderstats/data on a fresh store and prints a table (the per-day
 * windows as of the end of the sample's recording, see files.ts).
 *
 * With `--services`: bootstrap, then live, in one process, on the servers the environment names
 * (MONGO_URI, LIVE_SOURCE, KAFKA_BROKERS, DDB_ENDPOINT..., see config.ts): the bootstrap (or its
 * resumption, or nothing when it is done) prints its summary on stdout, then the live worker runs
 * until SIGINT/SIGTERM (exit code 0). The mode is a flag, not the mere presence of MONGO_URI,
 * because test and CI shells export every endpoint (scripts/test.sh): a variable left in the
 * environment must not turn the demo into a long-running worker.
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { ConfigurationError } from "../../src/Errors.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as Files from "./files.ts"
import * as Live from "./live.ts"
import * as Report from "./report.ts"
import * as Scan from "./scan.ts"
import * as Stores from "./stores.ts"

const file = (name: string, description: string) => Flag.String(name).pipe(Flag.optional, Flag.withDescription(description))

const flags = {
  services: Flag.Boolean("services").pipe(
    Flag.withDefault(false),
    Flag.withDescription("bootstrap, then live, on the servers the environment names (see ENVIRONMENT), until SIGINT/SIGTERM")
  ),
  json: Cli.json,
  snapshot: file("snapshot", "the demo's snapshot: a JSON-Lines dump of the orders collection (default: the sample)"),
  changes: file("changes", "the demo's change file: Debezium records as JSON Lines (default: the sample)"),
  snapshotPosition: file("snapshot-position", "the snapshot's version TS_MS:ORD, with --snapshot: changes at or before it are already in it"),
  now: file(
    "now",
    "fold and read the per-day windows as of this instant (ISO-8601, e.g. 2026-05-01T12:00:00Z), for recorded data " +
      "(default: the end of the sample's recording for the sample, the wall clock for other files)"
  ),
  state: file("state", "keep the demo's store in this folder, so that a rerun resumes (default: a fresh temporary one)")
}

type Options = Command.Command.Config.Infer<typeof flags>

const bootThenLive = (options: {
  readonly json: boolean
  readonly mongo: Settings.MongoSettings
  readonly source: Settings.LiveSource
  readonly stopWhenIdleMs: number | undefined
}) =>
  Effect.gen(function*() {
    const boot = yield* Scan.run(options.mongo)
    yield* Effect.sync(() =>
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ bootstrap: boot })}\n`
          : `bootstrap: ${boot.alreadyDone ? "already done" : `${boot.documents} documents, ${boot.deadLetters} dead-lettered, ${Report.seconds(boot.elapsedMs)}`}; ` +
            `handoff ${Scan.describeHandoff(boot.handoff)}; now live\n${Scan.HANDOFF_MEANING}\n`
      )
    )
    const live = yield* Live.run(options)
    // reached when the change stream stopped after STOP_WHEN_IDLE_MS without a change
    if (live.summary !== undefined) {
      const summary = live.summary
      yield* Effect.sync(() =>
        process.stdout.write(options.json ? `${JSON.stringify({ live: summary })}\n` : `live: ${Report.liveLine(summary)}\n`)
      )
    }
  })

const services = (json: boolean) =>
  Effect.gen(function*() {
    const mongo = yield* Settings.mongo
    const source = yield* Settings.liveSource
    const stopWhenIdleMs = yield* Settings.stopWhenIdleMs
    yield* bootThenLive({ json, mongo, source, stopWhenIdleMs }).pipe(Effect.provide(Stores.layer))
  })

/** The demo's flags given with `--services`, which ignores them. */
const demoFlagsOf = (options: Options): ReadonlyArray<string> =>
  ([
    ["--snapshot", options.snapshot],
    ["--changes", options.changes],
    ["--snapshot-position", options.snapshotPosition],
    ["--now", options.now],
    ["--state", options.state]
  ] as const)
    .filter(([, value]) => Option.isSome(value))
    .map(([name]) => name)

const program = (options: Options) => {
  if (!options.services) return Files.demo(options)
  const extra = demoFlagsOf(options)
  return extra.length === 0
    ? services(options.json)
    : Effect.fail(new ConfigurationError({ detail: `${extra.join(", ")}: flags of the embedded demo, not of --services` }))
}

const withServices = (section: Settings.Section): Settings.Section => ({ ...section, title: `${section.title}, with --services` })

const command = Command.make("main.js", flags, program).pipe(
  Cli.describe(
    "orderstats: per-customer order totals and per-day revenue, exact. Without --services, the embedded demo (no servers): it folds a snapshot " +
      "and a change file (the sample in examples/orderstats/data when neither is given) into a fresh embedded store and prints the totals, " +
      "the revenue per customer and day, the distinct and top customers per day, the dead letters with their reasons and the handoff position. " +
      "With --services: the bootstrap, then the live worker, in one process.",
    [
      { title: "the orders collection", variables: [Settings.MONGO_DB, Settings.MONGO_COLLECTION] },
      Settings.sections.fold,
      Settings.sections.logging,
      withServices({ title: "MongoDB", variables: Settings.sections.mongo.variables.filter((v) => v !== Settings.MONGO_DB && v !== Settings.MONGO_COLLECTION) }),
      withServices({ title: "the live worker", variables: [Settings.LIVE_SOURCE, Settings.STOP_WHEN_IDLE_MS] }),
      withServices(Settings.sections.kafka),
      withServices(Settings.sections.store)
    ]
  )
)

Cli.runMain("orderstats", command)

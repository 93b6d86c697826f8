/**
 * admin: the operators' commands of the orderstats pipelines, over the store the other binaries
 * write (the embedded store in `STATE_DIR`, or DynamoDB: see stores.ts) and the orders collection.
 *
 *   admin.js status [--json]
 *   admin.js dead-letters list [--pipeline NAME] [--pending] [--json]
 *   admin.js dead-letters show ID [--pipeline NAME] [--json]
 *   admin.js dead-letters replay [--pipeline NAME] [--json] [ID...]
 *   admin.js verify PIPELINE [--json]
 *
 * - `status`: per pipeline, its phase (new, bootstrapping, live), handoff, aggregates and dead
 *   letters; the committed positions of the scan and the change stream, and the lag the sources can
 *   tell: the change stream's committed resume token against the server's cluster time (when
 *   `MONGO_URI` is set), the consumer group's committed offsets against the topic's end offsets
 *   (when `LIVE_SOURCE=kafka`). A lag that cannot be read is shown with the reason.
 * - `dead-letters`: the store's dead letters, and with `LIVE_SOURCE=kafka` those the Kafka workers
 *   wrote to `KAFKA_DLQ_TOPIC` (ids are `<partition>#<seq>`); `replay` folds the
 *   current state of their documents through the ledger, exactly once (see `DeadLetterReplay`), and
 *   marks those it resolved; documents still refused stay pending (exit code 1 then).
 * - `verify`: rescans the collection with the pipeline's own schema and functions, compares with
 *   the store, prints every key that differs; exit code 1 on any difference.
 *
 * Exit codes: 0 when the command did what it says, 1 on a failure, a difference (verify) or a
 * dead letter still failing (replay).
 */
import { Data, Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as DeadLetterReplay from "../../src/Admin/DeadLetterReplay.ts"
import * as MongoAdmin from "../../src/Admin/MongoAdmin.ts"
import * as PipelineStatus from "../../src/Admin/PipelineStatus.ts"
import * as Verify from "../../src/Admin/Verify.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as MongoChangeStream from "../../src/MongoDb/MongoChangeStream.ts"
import type * as Pipeline from "../../src/Pipeline.ts"
import * as Version from "../../src/Version.ts"
import * as ValueCodec from "../../src/internal/valueCodec.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as LiveSource from "./liveSource.ts"
import { pipelines } from "./pipeline.ts"
import * as Stores from "./stores.ts"
import * as Rebootstrap from "./rebootstrap.ts"

const names = pipelines.map((p) => p.name) as unknown as readonly [typeof pipelines[number]["name"], ...Array<typeof pipelines[number]["name"]>]
/** The example's pipelines, each as the admin operations take any pipeline of changes. */
const all: ReadonlyArray<Pipeline.Pipeline<any, any, "changes">> = pipelines
const pipelineOf = (name: string) => all.find((p) => p.name === name)!

const print = (text: string) => Effect.sync(() => process.stdout.write(`${text}\n`))

/** A value as JSON (bigints, sketches and sets in the stores' tagged form). */
const jsonOf = (value: unknown): unknown => (value === undefined ? null : ValueCodec.toJson(value))
const textOf = (value: unknown): string => (value === undefined ? "(absent)" : JSON.stringify(jsonOf(value)))

const when = (ms: number | undefined): string => (ms === undefined || ms === 0 ? "-" : new Date(ms).toISOString())

const mongoLayer = Layer.unwrap(Effect.map(Settings.MONGO_URI.config, (uri) => Mongo.layer({ uri })))

/**
 * The store's services, with the dead letters operators read (`Stores.deadLetterReads`: with
 * `LIVE_SOURCE=kafka`, the dead-letter topic's too).
 */
const withStores = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(Stores.deadLetterReads), Effect.provide(Stores.layer))

// ---------------------------------------------------------------------------------------------
// status

/** The lag of a source, or why it cannot be read. */
type Lag = { readonly ms: number | undefined } | { readonly partitions: ReadonlyArray<PipelineStatus.PartitionLag> } | { readonly error: string }

const errorText = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e ? `${String((e as { _tag?: unknown })._tag ?? "Error")}: ${String(e.message)}` : String(e)

/** The change stream's lag: how long the first change after its committed token (or the handoff, before its first commit) has waited. */
const changeStreamLag = (ns: Mongo.Namespace, token: unknown, handoffLive: unknown) =>
  Effect.gen(function*() {
    const uri = yield* Settings.MONGO_URI.config.pipe(Effect.option)
    if (Option.isNone(uri)) return { error: "MONGO_URI is not set" } satisfies Lag
    const start = token === undefined ? MongoChangeStream.startOf(handoffLive) : undefined
    const lag = token !== undefined
      ? MongoAdmin.changeStreamLag(ns, token)
      : start !== undefined
      ? MongoAdmin.pendingLag(ns, start)
      : Effect.succeed(undefined)
    return yield* lag.pipe(
      Effect.map((ms): Lag => ({ ms })),
      Effect.provide(Mongo.layer({ uri: uri.value })),
      Effect.catch((e) => Effect.succeed<Lag>({ error: errorText(e) }))
    )
  })

const kafkaLag = Effect.gen(function*() {
  const kafka = yield* Settings.kafka
  return yield* PipelineStatus.kafkaLag(kafka.groupId, kafka.topic).pipe(
    Effect.map((partitions): Lag => ({ partitions })),
    Effect.provide(Stores.kafkaReader)
  )
}).pipe(Effect.catch((e) => Effect.succeed<Lag>({ error: errorText(e) })))

const status = (options: { readonly json: boolean }) =>
  Effect.gen(function*() {
    const ns = yield* Settings.namespace
    const live = yield* Settings.liveSource
    const statuses = yield* Effect.forEach(pipelines, PipelineStatus.of)
    const scan = yield* PipelineStatus.positions(`mongo-snapshot:${Mongo.formatNamespace(ns)}`)
    const changes = yield* PipelineStatus.positions(`mongo-changes:${Mongo.formatNamespace(ns)}`)
    const token = (changes[0]?.checkpoint as { token?: unknown } | undefined)?.token
    const handoff = statuses.find((s) => s.handoff !== undefined)?.handoff
    const lag = live === "kafka" ? yield* kafkaLag : handoff === undefined && token === undefined
      ? ({ error: "no bootstrap yet" } satisfies Lag)
      : yield* changeStreamLag(ns, token, handoff?.live)
    if (options.json) {
      return yield* print(JSON.stringify({ namespace: Mongo.formatNamespace(ns), liveSource: live, pipelines: statuses, positions: { scan, changes }, lag }))
    }
    const rows = statuses.map((s) =>
      `  ${s.pipeline.padEnd(22)} ${s.phase.padEnd(13)} ${String(s.aggregates).padStart(8)} ${String(s.deadLetters.pending).padStart(8)} ${String(s.deadLetters.total).padStart(6)}  ` +
      `${s.handoff === undefined ? "-" : Version.format(s.handoff.version)}  ${when(s.finishedAt)}`
    )
    const positions = [...scan.map((p) => ["scan", p] as const), ...changes.map((p) => ["change stream", p] as const)]
      .map(([what, p]) => `  ${what}: ${p.partition} at #${p.seq}`)
    const lagText = "error" in lag
      ? `unknown (${lag.error})`
      : "ms" in lag
      ? lag.ms === undefined ? "unknown (the resume token's format is not known)" : lag.ms === 0 ? "caught up" : `${(lag.ms / 1000).toFixed(0)} s (the oldest change not folded has waited that long)`
      : lag.partitions.map((p) => `${p.partition}: ${p.lag} records (committed ${p.committed ?? "none"}, end ${p.end})`).join("; ")
    yield* print([
      `orderstats on ${Mongo.formatNamespace(ns)}, live source ${live}`,
      `  ${"pipeline".padEnd(22)} ${"phase".padEnd(13)} ${"keys".padStart(8)} ${"pending".padStart(8)} ${"dead".padStart(6)}  handoff  bootstrap finished`,
      ...rows,
      "positions:",
      ...(positions.length === 0 ? ["  (none committed)"] : positions),
      `lag (${live === "kafka" ? "consumer group" : "change stream"}): ${lagText}`
    ].join("\n"))
  }).pipe(withStores)

// ---------------------------------------------------------------------------------------------
// dead letters

const pipelineFlag = Flag.Literals("pipeline", names).pipe(Flag.optional, Flag.withDescription("only this pipeline's dead letters (default: every pipeline's)"))

const chosen = (pipeline: Option.Option<string>) => Option.match(pipeline, { onNone: () => all, onSome: (name) => [pipelineOf(name)] })

const letterJson = (l: DeadLetterReplay.Letter) => ({
  pipeline: l.pipeline,
  id: l.id,
  docId: l.docId ?? null,
  reason: l.reason,
  at: l.at,
  status: l.resolution === undefined ? "pending" : "resolved",
  ...(l.resolution === undefined ? {} : { resolution: l.resolution })
})

const listLetters = (options: { readonly pipeline: Option.Option<string>; readonly pending: boolean; readonly json: boolean }) =>
  Effect.gen(function*() {
    const all = (yield* Effect.forEach(chosen(options.pipeline), (p) => DeadLetterReplay.list(p.name))).flat()
    const letters = options.pending ? all.filter((l) => l.resolution === undefined) : all
    if (options.json) return yield* print(JSON.stringify({ deadLetters: letters.map(letterJson), count: letters.length }))
    yield* print([
      ...letters.map((l) =>
        `${l.pipeline}  ${l.id}  ${l.docId ?? "-"}  ${when(l.at)}  ${l.resolution === undefined ? "pending" : `resolved (${l.resolution.outcome})`}\n    ${l.reason}`
      ),
      `${letters.length} dead letter${letters.length === 1 ? "" : "s"}${options.pending ? " pending" : ""}`
    ].join("\n"))
  }).pipe(withStores)

const showLetter = (options: { readonly id: string; readonly pipeline: Option.Option<string>; readonly json: boolean }) =>
  Effect.gen(function*() {
    const found = (yield* Effect.forEach(chosen(options.pipeline), (p) => DeadLetterReplay.list(p.name))).flat().filter((l) => l.id === options.id)
    if (found.length === 0) {
      return yield* new DeadLetterReplay.DeadLetterNotFound({ pipeline: Option.getOrElse(options.pipeline, () => "(any)"), id: options.id })
    }
    if (options.json) return yield* print(JSON.stringify({ deadLetters: found.map((l) => ({ ...letterJson(l), key: l.key ?? null, raw: l.raw })) }))
    yield* print(found.map((l) =>
      [
        `pipeline:  ${l.pipeline}`,
        `id:        ${l.id}`,
        `document:  ${l.docId ?? "-"}`,
        `when:      ${when(l.at)}`,
        `status:    ${l.resolution === undefined ? "pending" : `resolved (${l.resolution.outcome} at ${Version.format(l.resolution.version)}, ${when(l.resolution.at)})`}`,
        `reason:    ${l.reason}`,
        ...(l.key === undefined ? [] : [`key:       ${l.key}`]),
        `raw:       ${l.raw}`
      ].join("\n")
    ).join("\n\n"))
  }).pipe(withStores)

/** Some dead letters are still refused after a replay. */
class StillFailing extends Data.TaggedError("StillFailing")<{ readonly count: number }> {
  override get message(): string {
    return `${this.count} dead letter${this.count === 1 ? " is" : "s are"} still refused by the pipeline: fix the documents (or the pipeline) and replay again`
  }
}

const replay = (options: { readonly ids: ReadonlyArray<string>; readonly pipeline: Option.Option<string>; readonly json: boolean }) =>
  Effect.gen(function*() {
    yield* LiveSource.requireChangeStream(
      "dead-letters replay",
      "Write the fixed documents in MongoDB instead: their changes reach the topic, and the worker folds them."
    )
    const ns = yield* Settings.namespace
    const targets = chosen(options.pipeline)
    const letters = (yield* Effect.forEach(targets, (p) => DeadLetterReplay.list(p.name))).flat()
    const unknown = options.ids.find((id) => !letters.some((l) => l.id === id))
    if (unknown !== undefined) {
      return yield* new DeadLetterReplay.DeadLetterNotFound({ pipeline: Option.getOrElse(options.pipeline, () => "(any)"), id: unknown })
    }
    const keepDocuments = yield* Settings.keepDocuments
    const done = yield* Effect.forEach(
      targets.filter((p) => options.ids.length === 0 || letters.some((l) => l.pipeline === p.name && options.ids.includes(l.id))),
      (p) =>
        DeadLetterReplay.replay(p, {
          version: MongoAdmin.clusterTime(ns),
          lookup: MongoAdmin.lookup(ns),
          ids: options.ids.length === 0 ? undefined : options.ids.filter((id) => letters.some((l) => l.pipeline === p.name && l.id === id)),
          fold: { keepDocuments }
        })
    )
    if (options.json) yield* print(JSON.stringify({ replays: done }))
    else {
      yield* print(done.map((r) =>
        [
          `${r.pipeline}: ${r.resolved.length} resolved, ${r.stillFailing.length} still failing, ${r.notReplayable.length} not replayable, ` +
          `${r.alreadyResolved} resolved before (folded at ${Version.format(r.version)}: ${r.fold.upserts} upserts, ${r.fold.deletes} deletes, ${r.fold.stale} stale)`,
          ...r.resolved.map((x) => `  resolved ${x.id} (${x.docId}): ${x.outcome}`),
          ...r.stillFailing.map((x) => `  still failing ${x.id} (${x.docId}): ${x.reason}`),
          ...r.notReplayable.map((x) => `  not replayable ${x.id}: ${x.reason}`)
        ].join("\n")
      ).join("\n"))
    }
    const failing = done.reduce((n, r) => n + r.stillFailing.length, 0)
    if (failing > 0) return yield* new StillFailing({ count: failing })
  }).pipe(Effect.provide(mongoLayer), withStores)

// ---------------------------------------------------------------------------------------------
// verify

const verify = (options: { readonly pipeline: string; readonly json: boolean }) =>
  Effect.gen(function*() {
    const ns = yield* Settings.namespace
    const batchSize = yield* Settings.MONGO_BATCH_SIZE.config
    const report = yield* Verify.run(pipelineOf(options.pipeline), MongoAdmin.documents(ns, { batchSize }))
    const d = report.differences
    if (options.json) {
      yield* print(JSON.stringify({
        ...report,
        namespace: Mongo.formatNamespace(ns),
        differences: d.map((x) => ({ key: x.key, expected: jsonOf(x.expected), stored: jsonOf(x.stored) }))
      }))
    } else {
      const width = Math.max(3, ...d.map((x) => x.key.length))
      yield* print([
        `verify ${report.pipeline} against ${Mongo.formatNamespace(ns)}: ${report.documents} documents (${report.refused} refused by the pipeline), ` +
        `${report.expectedKeys} keys expected, ${report.storedKeys} stored`,
        d.length === 0 ? "no differences" : `${d.length} key${d.length === 1 ? "" : "s"} differ:`,
        ...(d.length === 0 ? [] : [`  ${"key".padEnd(width)}  expected  stored`]),
        ...d.map((x) => `  ${x.key.padEnd(width)}  ${textOf(x.expected)}  ${textOf(x.stored)}`)
      ].join("\n"))
    }
    yield* Verify.check(report)
    // a store that does not exist is a mistyped STATE_DIR, not a store that lost every key
  }).pipe(Effect.provide([Stores.existing, mongoLayer]))

// ---------------------------------------------------------------------------------------------
// the command line

const sections = [Settings.sections.connection, Settings.sections.store, Stores.deadLetterTopicSection, Settings.sections.logging]

const statusCommand = Command.make("status", { json: Cli.json }, status).pipe(
  Cli.describe(
    "Per pipeline: phase (new, bootstrapping, live), aggregate keys, pending and total dead letters, handoff; the committed positions of the scan " +
      "and the change stream; the lag: the change stream's resume token against the server's cluster time (MONGO_URI), or the consumer group's " +
      "offsets against the topic's end (LIVE_SOURCE=kafka).",
    [
      { title: "MongoDB (the lag; unset MONGO_URI: not shown)", variables: Settings.sections.connection.variables },
      { title: "the live source", variables: [Settings.LIVE_SOURCE] },
      Settings.sections.kafka,
      Settings.sections.store,
      Settings.sections.logging
    ]
  )
)

const listCommand = Command.make("list", {
  pipeline: pipelineFlag,
  pending: Flag.Boolean("pending").pipe(Flag.withDefault(false), Flag.withDescription("only the dead letters no replay has resolved")),
  json: Cli.json
}, listLetters).pipe(
  Cli.describe(
    "The dead letters in the store (and, with LIVE_SOURCE=kafka, on the dead-letter topic): pipeline, id (<partition>#<seq>), document, when, " +
      "status (pending or resolved), reason.",
    [Settings.sections.store, Stores.deadLetterTopicSection, Settings.sections.logging]
  )
)

const showCommand = Command.make("show", {
  id: Argument.String("id").pipe(Argument.withDescription("the dead letter's id, <partition>#<seq>, as list prints it")),
  pipeline: pipelineFlag,
  json: Cli.json
}, showLetter).pipe(
  Cli.describe("One dead letter (of every pipeline that refused that record): its reason, raw input and status.", [
    Settings.sections.store,
    Stores.deadLetterTopicSection,
    Settings.sections.logging
  ])
)

const replayCommand = Command.make("replay", {
  ids: Argument.String("id").pipe(Argument.withDescription("dead letters to replay (default: every pending one)"), Argument.variadic()),
  pipeline: pipelineFlag,
  json: Cli.json
}, replay).pipe(
  Cli.describe(
    "Folds the current state of the pending dead letters' documents (re-read from the collection) through the ledger, exactly once, and marks " +
      "those resolved; a document still refused stays pending (exit code 1). Replaying again changes nothing.",
    sections
  )
)

const deadLetters = Command.make("dead-letters").pipe(
  Command.withSubcommands([listCommand, showCommand, replayCommand]),
  Cli.describe("The dead letters: list, show, replay.", sections)
)

const verifyCommand = Command.make("verify", {
  pipeline: Argument.Literals("pipeline", names).pipe(Argument.withDescription("the pipeline to verify")),
  json: Cli.json
}, verify).pipe(
  Cli.describe(
    "Rescans the orders collection with the pipeline's own schema and functions, compares the expected aggregates with the store and prints every " +
      "key that differs (expected, stored); exit code 1 on any difference. Run it when the live worker has caught up.",
    [{ title: "MongoDB", variables: [...Settings.sections.connection.variables, Settings.MONGO_BATCH_SIZE] }, Settings.sections.store, Settings.sections.logging]
  )
)

const command = Command.make("admin.js").pipe(
  Command.withSubcommands([statusCommand, deadLetters, verifyCommand, Rebootstrap.command]),
  Cli.describe("Operator commands of the orderstats pipelines: status, dead-letters list|show|replay, verify PIPELINE, rebootstrap PIPELINE.", sections)
)

Cli.runMain("admin", command)

/**
 * Dead letters as an operator sees them, and their replay once the cause is fixed.
 *
 * A document is dead-lettered when the pipeline refuses one of its states (its schema, its event
 * time, its key or value function). Such a state contributes nothing (it retracts what the
 * document contributed before), so "fixing" a dead letter means fixing the document in the source
 * of truth (or deploying a pipeline whose schema accepts it) and folding the document's **current**
 * state through the normal path:
 *
 * 1. `version`: a version of the source taken **before** the documents are read (for MongoDB, its
 *    cluster time; see `MongoAdmin.clusterTime`);
 * 2. `lookup`: the current state of every pending dead letter's document (absent: deleted);
 * 3. documents the pipeline still refuses stay pending (reported with the current reason);
 * 4. the others are folded with `Fold.run` as upserts (deletes for the documents that are gone)
 *    just after that version (its low part plus one half: after every change at or before it,
 *    before every later one; a refused state the ledger holds at exactly `version`, when nothing
 *    was written since, is then replaced), through the contribution ledger: the ledger retracts what the document
 *    contributed and adds its current contribution. A change of the document the live worker folds
 *    later is a difference against the ledger (nothing counts twice: a change at or before the
 *    version is stale, a later one is folded as `new - ledger`), and a state the ledger already holds
 *    in a newer version is skipped;
 * 5. each resolved dead letter is marked resolved in the token store (the dead-letter sink is
 *    append-only), outside the pipeline's generations, so that a rebootstrap keeps it: `list`
 *    shows it as resolved, and the next replay leaves it alone.
 *
 * Replaying twice changes nothing the second time: nothing is pending any more, and if the marks
 * were lost (a crash between 4 and 5) the documents fold again as differences against the ledger,
 * which are zero. The replay source stages its batch and commits its position like any source
 * (`dead-letter-replay:<pipeline>`, one partition, ordinals continued from run to run), so a replay
 * killed during its write is finished by the next one without counting twice, or by the live
 * worker when it starts first (`Orchestrator.live` finishes such a batch before it folds anything).
 * A worker already running does not: on a store without transactions (memory, DynamoDB) it folds
 * the next change of a replayed document (the fix's own change event) against the ledger entry
 * the killed replay did not write, and counts the document twice. After a replay that failed
 * while the worker runs, stop the worker, replay again, then start it.
 *
 * The document states are compared by version, so `version` must be of the same kind as the
 * versions of the pipeline's sources: MongoDB cluster times for the MongoDB snapshot, the change
 * stream and Debezium records folded with `ordering: "sourceTime"` (`[ts_ms, ord]`). A pipeline
 * whose live source is ordered by position (Debezium on Kafka with the default ordering, plain
 * Kafka records with `version: "offset"`, JSON-Lines changes, a stream without versions) cannot be
 * replayed: its records' versions are `[handoff + 1, offset]`, which no version taken now can be
 * ordered against (a replay at a cluster time would make every later record of the documents
 * stale). Write such documents again at the source instead: their new records reach the worker.
 * Only `"changes"` pipelines can be replayed (a replay may have to retract). The replay and the
 * live worker are separate writers: a document that changes while its replay batch is being
 * written may be folded twice; replay when the worker is stopped, or when the documents in
 * question are not being written. One replay of a pipeline at a time: two at once number their
 * records from the same committed position, and the aggregates' marks skip one of them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as DeadLetterReplay from "effect-monoid-streams/DeadLetterReplay"
 * import * as MongoAdmin from "effect-monoid-streams/MongoAdmin"
 *
 * const ns = { db: "shop", collection: "orders" }
 * const report = DeadLetterReplay.replay(orderTotals, {
 *   version: MongoAdmin.clusterTime(ns),
 *   lookup: MongoAdmin.lookup(ns)
 * }) // provide the store services and Mongo.layer
 * ```
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { PipelineError } from "../Errors.ts"
import * as I from "../Input.ts"
import type { Input } from "../Input.ts"
import type { Pipeline } from "../Pipeline.ts"
import * as Fold from "../Runtime/Fold.ts"
import type { Aggregates } from "../Store/Aggregates.ts"
import { type DeadLetter, DeadLetters } from "../Store/DeadLetters.ts"
import type { Ledger } from "../Store/Ledger.ts"
import type { StoreError } from "../Store/StoreError.ts"
import { Tokens } from "../Store/Tokens.ts"
import * as Version from "../Version.ts"
import * as Contribution from "./internal/contribution.ts"
import * as Resolutions from "./internal/resolutions.ts"
import * as ReplaySource from "../internal/replaySource.ts"

/**
 * How a replay resolved a dead letter.
 *
 * @category models
 * @since 0.2.0
 */
export interface Resolution extends Resolutions.Resolution {}

/**
 * A dead letter with its id and, once a replay resolved it, how.
 *
 * @category models
 * @since 0.2.0
 */
export interface Letter extends DeadLetter {
  /** `<partition>#<seq>`: unique per pipeline. */
  readonly id: string
  readonly resolution: Resolution | undefined
}

/**
 * No dead letter of the pipeline has this id.
 *
 * @category errors
 * @since 0.2.0
 */
export class DeadLetterNotFound extends Data.TaggedError("DeadLetterNotFound")<{
  readonly pipeline: string
  readonly id: string
}> {
  override get message(): string {
    return `pipeline ${this.pipeline} has no dead letter ${JSON.stringify(this.id)} (ids are <partition>#<seq>, as list prints them)`
  }
}

/**
 * The id of a dead letter: `<partition>#<seq>`.
 *
 * @category getters
 * @since 0.2.0
 */
export const idOf = (letter: { readonly partition: string; readonly seq: number }): string => `${letter.partition}#${letter.seq}`

/**
 * The dead letters of a pipeline, in the sink's order, each with its resolution (one token read
 * per dead letter, two for one without a resolution: the second reads where earlier versions kept
 * them).
 *
 * @category reading
 * @since 0.2.0
 */
export const list = (pipeline: string): Effect.Effect<ReadonlyArray<Letter>, StoreError, DeadLetters | Tokens> =>
  Effect.gen(function*() {
    const tokens = yield* Tokens
    const letters = yield* (yield* DeadLetters).list(pipeline)
    const resolutionOf = (id: string) =>
      Effect.flatMap(tokens.get(Resolutions.scope, Resolutions.tokenName(pipeline, id)), (saved) =>
        Option.isSome(saved) ? Effect.succeed(saved) : tokens.get(pipeline, Resolutions.legacyTokenName(id)))
    return yield* Effect.forEach(letters, (letter) =>
      Effect.map(resolutionOf(idOf(letter)), (saved): Letter => ({
        ...letter,
        id: idOf(letter),
        resolution: Option.isSome(saved) ? Resolutions.decode(saved.value) : undefined
      })), { concurrency: 8 })
  })

/**
 * One dead letter of a pipeline by its id.
 *
 * @category reading
 * @since 0.2.0
 */
export const find = (pipeline: string, id: string): Effect.Effect<Letter, StoreError | DeadLetterNotFound, DeadLetters | Tokens> =>
  Effect.flatMap(list(pipeline), (letters) => {
    const found = letters.find((l) => l.id === id)
    return found === undefined ? Effect.fail(new DeadLetterNotFound({ pipeline, id })) : Effect.succeed(found)
  })

/**
 * @category models
 * @since 0.2.0
 */
export interface Options<E, R> {
  /** A version of the source taken before the lookup (see the module doc). */
  readonly version: Effect.Effect<Version.Version, E, R>
  /** The current state of documents, by document id, as exact JSON; a document that is gone is absent. */
  readonly lookup: (docIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, unknown>, E, R>
  /** Only these dead letters (ids as {@link idOf} gives them). Default: every pending one. */
  readonly ids?: ReadonlyArray<string> | undefined
  /**
   * The fold's options (retries). Pass the workers' `keepDocuments`: without it the replayed
   * documents' ledger entries keep no fields, and their next patches are refused.
   */
  readonly fold?: Fold.Options | undefined
}

/**
 * What a replay did.
 *
 * @category models
 * @since 0.2.0
 */
export interface Report {
  readonly pipeline: string
  /** The version the documents were folded at. */
  readonly version: Version.Version
  /** Dead letters resolved by this replay. */
  readonly resolved: ReadonlyArray<{ readonly id: string; readonly docId: string; readonly outcome: Resolution["outcome"] }>
  /** Dead letters whose document the pipeline still refuses, with the current reason: still pending. */
  readonly stillFailing: ReadonlyArray<{ readonly id: string; readonly docId: string; readonly reason: string }>
  /** Dead letters without a document id (a record that was never a document): a replay cannot fix them. */
  readonly notReplayable: ReadonlyArray<{ readonly id: string; readonly reason: string }>
  /** Dead letters left alone: resolved before. */
  readonly alreadyResolved: number
  /** What the fold did with the replayed documents (`stale`: the ledger held a newer state). */
  readonly fold: Fold.PipelineSummary
}

/**
 * Replays the pending dead letters of a pipeline (see the module doc).
 *
 * @category replaying
 * @since 0.2.0
 */
export const replay = <V, E, R>(
  pipeline: Pipeline<any, V, "changes">,
  options: Options<E, R>
): Effect.Effect<Report, E | StoreError | PipelineError | DeadLetterNotFound, R | Aggregates | Ledger | Tokens | DeadLetters> =>
  Effect.gen(function*() {
    const letters = yield* list(pipeline.name)
    const wanted = options.ids === undefined ? undefined : new Set(options.ids)
    const chosen = letters.filter((l) => wanted === undefined || wanted.has(l.id))
    const unknown = options.ids?.find((id) => !letters.some((l) => l.id === id))
    if (unknown !== undefined) return yield* new DeadLetterNotFound({ pipeline: pipeline.name, id: unknown })
    const pending = chosen.filter((l) => l.resolution === undefined)
    const notReplayable = pending.filter((l) => l.docId === undefined).map((l) => ({ id: l.id, reason: l.reason }))
    const byDoc = new Map<string, Array<Letter>>()
    for (const l of pending) if (l.docId !== undefined) byDoc.set(l.docId, [...(byDoc.get(l.docId) ?? []), l])
    // the version first: every change after it reaches the live worker, whatever the lookup sees;
    // the documents are folded just after it, so that a state the ledger holds at it is replaced
    const taken = yield* options.version
    const version = Version.make(taken[0], taken[1] + 0.5)
    const current = byDoc.size === 0 ? new Map<string, unknown>() : yield* options.lookup(Array.from(byDoc.keys()))
    const now = yield* Clock.currentTimeMillis
    const changes: Array<(position: I.Position) => Input> = []
    const outcomes = new Map<string, Resolution["outcome"]>()
    const stillFailing: Array<Report["stillFailing"][number]> = []
    for (const [docId, docLetters] of byDoc) {
      if (!current.has(docId)) {
        changes.push((position) => I.remove(docId, position, { version }))
        outcomes.set(docId, "deleted")
        continue
      }
      const doc = current.get(docId)
      const contribution = Contribution.of(pipeline, doc, now)
      if (Contribution.isRefusal(contribution)) {
        for (const l of docLetters) stillFailing.push({ id: l.id, docId, reason: contribution.reason })
        continue
      }
      changes.push((position) => I.upsert(docId, doc, position, { version }))
      outcomes.set(docId, "folded")
    }
    // run even with nothing to fold: it first finishes a batch an interrupted replay staged
    const summary = yield* Fold.run(ReplaySource.make(pipeline.name, changes), [pipeline], options.fold ?? {})
    const tokens = yield* Tokens
    const at = yield* Clock.currentTimeMillis
    const resolved: Array<Report["resolved"][number]> = []
    for (const [docId, outcome] of outcomes) {
      for (const l of byDoc.get(docId)!) {
        const resolution: Resolution = { outcome, version, at }
        yield* tokens.set(Resolutions.scope, Resolutions.tokenName(pipeline.name, l.id), resolution).pipe(Fold.retrying(options.fold?.retry))
        resolved.push({ id: l.id, docId, outcome })
      }
    }
    return {
      pipeline: pipeline.name,
      version,
      resolved,
      stillFailing,
      notReplayable,
      alreadyResolved: chosen.length - pending.length,
      fold: Fold.of(summary, pipeline)
    } satisfies Report
  }).pipe(Effect.withSpan("DeadLetterReplay.replay", { attributes: { pipeline: pipeline.name } }))

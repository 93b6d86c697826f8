/**
 * A MongoDB collection as a bootstrap source: a resumable scan in `_id` order.
 *
 * Every document becomes an upsert at the handoff version P0 (see {@link MongoHandoff}), of the
 * document as exact JSON; each pipeline the scan feeds decodes it with its own schema (a document
 * one refuses is an invalid state of that pipeline at P0: it contributes nothing, retracts what an
 * earlier state contributed, and is dead-lettered) and the scan goes on. It is an `"events"`
 * source (each document once), so any pipeline can be bootstrapped from it. Documents are read in batches of
 * `batchSize`, and each driver batch is one chunk of the stream (one fold round trip).
 *
 * Positions: the partition names the collection and P0 (`mongo-snapshot:<db>.<coll>@<hi:lo>`), so a
 * new bootstrap is a new scan whose positions never meet the high-water marks of an older one;
 * `seq` is the scan ordinal, continued from the committed one; the checkpoint is the document's
 * `_id` as canonical Extended JSON. A restarted scan queries the documents after that `_id`,
 * correctly across `_id` types: MongoDB sorts `_id`s by BSON type first (numbers, strings,
 * objects, binary, ObjectIds, booleans, dates, ...) and `$gt` only matches within one type, so the
 * resume filter is `{$or: [{_id: {$gt: last}}, {_id: {$type: <every later type>}}]}` (every branch
 * can use the `_id` index; see {@link after}).
 *
 * A scan is not repeatable (documents change while it runs), so the source is `staged`: the fold
 * saves each batch before applying it, and a crashed batch is finished from the same records.
 * Documents written during the scan are also in the change stream after P0, which the live source
 * replays: the result is exact whatever the scan saw.
 *
 * Progress (documents read, the collection's estimated count, rate, ETA) is logged every
 * `progressInterval` and kept in gauges.
 *
 * @since 0.1.0
 */
import { EJSON } from "bson"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Arr from "effect/Array"
import type { Collection, Document, Filter, FindCursor } from "mongodb"
import type { SourceError } from "../Errors.ts"
import type { Handoff } from "../Handoff.ts"
import type { Input } from "../Input.ts"
import * as I from "../Input.ts"
import type { Tokens } from "../Store/Tokens.ts"
import * as Version from "../Version.ts"
import { Client, formatNamespace, type Namespace, readDocument, sourceError, toExtendedJson } from "./Mongo.ts"
import * as Source from "../Source.ts"
import { commitToTokens, committed } from "../Source.ts"
import * as StoreRetry from "../internal/storeRetry.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Namespace {
  readonly handoff: Handoff
  /** Documents per batch (the driver's `batchSize`, and the fold's chunk). Default 1000. */
  readonly batchSize?: number
  /**
   * Only documents matching this filter are scanned. The change stream still sees every document:
   * give the pipeline a `Pipeline.filter` that agrees, so that a document leaving the filter retracts.
   */
  readonly filter?: Filter<Document>
  /** Fields to read (`_id` is always read). */
  readonly projection?: Document
  /** Source name (the token-store key of its position). Default `mongo-snapshot:<db>.<coll>`. */
  readonly name?: string
  /** How often progress is logged. Default 10 seconds. */
  readonly progressInterval?: Duration.Input
  /** Retry policy for transient errors (the cursor is reopened after the last document read). */
  readonly retry?: Schedule.Schedule<any, unknown>
}

/**
 * BSON comparison order of the types an `_id` can have, as `$type` aliases. Strings and symbols
 * are matched by `{$gte: ""}` instead (type bracketing covers both; mongo-java-server does not
 * know the deprecated `symbol` alias).
 */
const STRINGS = 3
const BRACKETS: ReadonlyArray<ReadonlyArray<string>> = [
  ["minKey"],
  ["null"],
  ["double", "int", "long", "decimal"],
  [],
  ["object"],
  ["array"],
  ["binData"],
  ["objectId"],
  ["bool"],
  ["date"],
  ["timestamp"],
  ["regex"],
  ["maxKey"]
]

const bracketOf = (value: unknown): number | undefined => {
  if (value === null) return 1
  switch (typeof value) {
    case "number":
    case "bigint":
      return 2
    case "string":
      return 3
    case "boolean":
      return 8
    case "object":
      break
    default:
      return undefined
  }
  if (value instanceof Date) return 9
  if (value instanceof RegExp) return 11
  if (Array.isArray(value)) return 5
  switch ((value as { _bsontype?: string })._bsontype) {
    case undefined:
      return 4
    case "MinKey":
      return 0
    case "Int32":
    case "Double":
    case "Long":
    case "Decimal128":
      return 2
    case "BSONSymbol":
      return 3
    case "Binary":
      return 6
    case "ObjectId":
      return 7
    case "Timestamp":
      return 10
    case "BSONRegExp":
      return 11
    case "MaxKey":
      return 12
    default:
      return undefined
  }
}

/**
 * The filter of the documents after `lastId` in `_id` order, across BSON types.
 *
 * @category constructors
 * @since 0.1.0
 */
export const after = (lastId: unknown): Document => {
  const bracket = bracketOf(lastId)
  // an exotic type (code, DBPointer): an aggregation comparison orders across types too
  if (bracket === undefined) return { $expr: { $gt: ["$_id", { $literal: lastId }] } }
  const branches: Array<Document> = [{ _id: { $gt: lastId } }]
  if (bracket < STRINGS) branches.push({ _id: { $gte: "" } })
  const later = BRACKETS.slice(bracket + 1).flat()
  if (later.length > 0) branches.push({ _id: { $type: later } })
  return branches.length === 1 ? branches[0]! : { $or: branches }
}

/** The `_id` as canonical Extended JSON (strings and ObjectIds, the common cases, without EJSON). */
const canonicalId = (id: unknown): unknown =>
  typeof id === "string"
    ? id
    : (id as { _bsontype?: string } | null)?._bsontype === "ObjectId"
    ? { $oid: (id as { toHexString(): string }).toHexString() }
    : EJSON.serialize({ id }, { relaxed: false }).id

const idOfCheckpoint = (checkpoint: unknown): { readonly found: boolean; readonly id?: unknown } => {
  if (typeof checkpoint !== "object" || checkpoint === null || !("after" in checkpoint)) return { found: false }
  return { found: true, id: EJSON.deserialize({ id: (checkpoint as { after: unknown }).after }, { relaxed: false }).id }
}

const documentsRead = Metric.gauge("monoid_snapshot_documents", {
  description: "documents the snapshot scan has read, over every run of this bootstrap"
})
const documentsEstimated = Metric.gauge("monoid_snapshot_documents_estimated", {
  description: "the collection's estimated document count at the start of the scan"
})
const documentsPerSecond = Metric.gauge("monoid_snapshot_rate", { description: "documents per second read by this run of the scan" })
const etaSeconds = Metric.gauge("monoid_snapshot_eta_seconds", { description: "estimated seconds until the scan ends" })

const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "unknown"
  if (seconds < 90) return `${Math.round(seconds)}s`
  return seconds < 5400 ? `${Math.round(seconds / 60)}min` : `${(seconds / 3600).toFixed(1)}h`
}

/**
 * A snapshot scan of one collection (see the module doc).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): Source.Source<"events", SourceError, Tokens | Client> => {
  const ns = formatNamespace(options)
  const name = options.name ?? `mongo-snapshot:${ns}`
  const version = options.handoff.version
  // a new handoff is a new scan: its positions must not meet the marks of an older one
  const partition = `mongo-snapshot:${ns}@${Version.format(version)}`
  const batchSize = Math.max(1, options.batchSize ?? 1000)
  const interval = Duration.toMillis(options.progressInterval ?? "10 seconds")
  const schedule = options.retry ?? Schedule.exponential("200 millis").pipe(Schedule.jittered, Schedule.upTo({ times: 8 }))
  const projection = options.projection === undefined ? undefined : (({ _id: _, ...rest }) => rest)(options.projection)
  const attributes = { source: name }
  const mRead = Metric.withAttributes(documentsRead, attributes)
  const mEstimated = Metric.withAttributes(documentsEstimated, attributes)
  const mRate = Metric.withAttributes(documentsPerSecond, attributes)
  const mEta = Metric.withAttributes(etaSeconds, attributes)

  const inputs = Stream.unwrap(Effect.gen(function*() {
    const { client } = yield* Client
    const collection: Collection<Document> = client.db(options.db).collection(options.collection)
    const saved = yield* StoreRetry.retrying(committed(name, partition)).pipe(
      Effect.mapError(sourceError(name, "reading the committed scan position failed"))
    )
    const resume = idOfCheckpoint(saved?.checkpoint)
    const startedAt = yield* Clock.currentTimeMillis
    const state = {
      cursor: undefined as FindCursor<Document> | undefined,
      seq: saved?.seq ?? 0,
      last: resume,
      startedAt,
      lastLog: startedAt
    }
    const firstSeq = state.seq
    const estimated = yield* Effect.tryPromise(() => collection.estimatedDocumentCount()).pipe(
      Effect.catch((error) =>
        Effect.logWarning(`estimatedDocumentCount of ${ns} failed: ${error.message}`).pipe(Effect.as(undefined))
      )
    )
    if (estimated !== undefined) yield* Metric.update(mEstimated, estimated)
    yield* Effect.logInfo(
      state.last.found
        ? `snapshot ${ns}: resuming after ${state.seq} documents (about ${estimated ?? "?"} in the collection)`
        : `snapshot ${ns}: scanning about ${estimated ?? "?"} documents at ${Version.format(version)}`
    )

    const query = (): Document => {
      const resumeFilter = state.last.found ? after(state.last.id) : undefined
      if (options.filter === undefined) return resumeFilter ?? {}
      return resumeFilter === undefined ? options.filter : { $and: [options.filter, resumeFilter] }
    }
    const closeCursor = Effect.suspend(() => {
      const cursor = state.cursor
      state.cursor = undefined
      return cursor === undefined ? Effect.void : Effect.promise(() => cursor.close().catch(() => undefined))
    })
    yield* Effect.addFinalizer(() => closeCursor)

    const readBatch = Effect.tryPromise({
      try: async () => {
        if (state.cursor === undefined) {
          state.cursor = collection.find(query() as Filter<Document>, {
            sort: { _id: 1 },
            batchSize,
            ...(projection === undefined ? {} : { projection })
          })
        }
        const cursor = state.cursor
        return (await cursor.hasNext()) ? cursor.readBufferedDocuments(batchSize) : undefined
      },
      catch: sourceError(name, `reading ${ns} failed`)
    }).pipe(
      Effect.tapError(() => closeCursor),
      Effect.retry({ schedule, while: (e) => e.retryable })
    )

    const progress = (final: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const done = state.seq
        const elapsed = Math.max(1, now - state.startedAt) / 1000
        const rate = (done - firstSeq) / elapsed
        const remaining = estimated === undefined ? Number.NaN : Math.max(0, estimated - done)
        const eta = final ? 0 : rate > 0 ? remaining / rate : Number.NaN
        yield* Metric.update(mRead, done)
        yield* Metric.update(mRate, Math.round(rate))
        if (Number.isFinite(eta)) yield* Metric.update(mEta, Math.round(eta))
        if (!final && now - state.lastLog < interval) return
        state.lastLog = now
        const pct = estimated === undefined || estimated === 0 ? "" : ` (${Math.min(100, (100 * done) / estimated).toFixed(1)}%)`
        yield* final
          ? Effect.logInfo(`snapshot ${ns}: done, ${done} documents; ${done - firstSeq} in this run, ${Math.round(rate)}/s`)
          : Effect.logInfo(
            `snapshot ${ns}: ${done}/${estimated ?? "?"} documents${pct}, ${Math.round(rate)}/s, ETA ${formatDuration(eta)}`
          )
      })

    const toInputs = (docs: ReadonlyArray<Document>): Array<Input> => {
      const out: Array<Input> = []
      for (const doc of docs) {
        const position = { partition, seq: ++state.seq, checkpoint: { after: canonicalId(doc._id) } }
        const read = readDocument(doc)
        out.push(
          read.docId === undefined
            ? I.reject(toExtendedJson(doc), "the document has no _id", position)
            : I.upsert(read.docId, read.doc, position, { version })
        )
      }
      state.last = { found: true, id: docs[docs.length - 1]!._id }
      return out
    }

    const pull = Effect.gen(function*() {
      const docs = yield* readBatch
      if (docs === undefined || docs.length === 0) {
        yield* progress(true)
        return yield* Cause.done()
      }
      const chunk = toInputs(docs)
      yield* progress(false)
      return chunk as unknown as Arr.NonEmptyReadonlyArray<Input>
    })
    // the next driver batch is read while the fold applies this one
    return Stream.fromPull(Effect.succeed(pull)).pipe(Stream.bufferArray({ capacity: 2 }))
  }))

  return Source.make({ name, kind: "events", records: inputs, commit: commitToTokens(name), staged: true })
}

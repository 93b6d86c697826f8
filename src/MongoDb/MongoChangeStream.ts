/**
 * A MongoDB change stream as a live source.
 *
 * The stream watches one collection with `fullDocument: "updateLookup"` and starts from the saved
 * position: the resume token of the last committed change (`resumeAfter`), or, before any commit,
 * the handoff's start (`startAtOperationTime` P0, inclusive: a change at P0 is already in the
 * snapshot and is skipped; later ones that the scan saw too are skipped by the ledger's version
 * guard). Changes map to records:
 *
 * - `insert`, `update`, `replace`: an upsert of the (looked-up) full document as exact JSON, id
 *   from the document's `_id` (mongo-java-server puts the update spec in `documentKey`); each
 *   pipeline decodes it with its own schema (a refused document is an invalid state: it retracts
 *   the document's contribution and is dead-lettered);
 * - an update without a looked-up document (deleted since; mongo-java-server answers `{}` or the
 *   `$set` fields then) is skipped: the delete that follows retracts;
 * - `delete`: a delete of `documentKey._id`;
 * - `drop`, `rename`, `dropDatabase`, `invalidate`: the stream ends with {@link StreamInvalidated}
 *   (after the changes before it are folded);
 * - other events (`create`, index events...): skipped, only the position advances.
 *
 * The changes of one multi-document transaction share its cluster time, so one version: they are
 * held until the transaction's last change has been read, and only each document's last change
 * of the transaction becomes a record (its state after the transaction).
 *
 * The version of a change is its `clusterTime` (`Version.fromClusterTime`). `seq` is an ordinal
 * continued from the committed one (`resumeAfter` gives exactly the next change, so ordinals are
 * the same on every replay); the checkpoint is the change's resume token, which the fold commits.
 * The documents are looked up when read, so a replay is not byte-identical: the source is `staged`.
 *
 * Errors: transient ones (network, elections, killed cursors) reopen the stream after the last
 * change read, on a `Schedule` (the driver also resumes some by itself); a position the server
 * refuses (`ChangeStreamHistoryLost`, an invalid or expired token) fails with
 * {@link PositionLost}: run the bootstrap again.
 *
 * Idle streams do not spin: the source polls with `tryNext()` and sleeps between empty polls,
 * doubling from `idleBackoff.min` to `idleBackoff.max`; on a real server each poll also waits up
 * to `maxAwaitTime` inside the server (mongo-java-server answers at once).
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
import type { ChangeStream, ChangeStreamDocument, ChangeStreamOptions, Document } from "mongodb"
import { Timestamp } from "mongodb"
import { ConfigurationError, PositionLost, SourceError, StreamInvalidated } from "../Errors.ts"
import type { Handoff } from "../Handoff.ts"
import type { Input, Position } from "../Input.ts"
import * as I from "../Input.ts"
import type { Tokens } from "../Store/Tokens.ts"
import * as Version from "../Version.ts"
import * as DocumentId from "../DocumentId.ts"
import * as MongoHandoff from "./MongoHandoff.ts"
import { Client, formatNamespace, isPositionLost, isTransient, type Namespace, readDocument, toExtendedJson } from "./Mongo.ts"
import * as Source from "../Source.ts"
import { commitToTokens, committed } from "../Source.ts"
import { errorText } from "../internal/errorText.ts"
import * as StoreRetry from "../internal/storeRetry.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Namespace {
  readonly handoff: Handoff
  /** Source name (the token-store key of its position). Default `mongo-changes:<db>.<coll>`. */
  readonly name?: string
  /** The driver's `batchSize` for the change stream's cursor. Default 1000. */
  readonly batchSize?: number
  /** How long a real server may hold an empty `getMore` (`maxAwaitTimeMS`). Default 1 second. */
  readonly maxAwaitTime?: Duration.Input
  /** Sleep between empty polls: from `min`, doubling, up to `max`. Default 10 ms to 250 ms. */
  readonly idleBackoff?: { readonly min?: Duration.Input; readonly max?: Duration.Input }
  /** Retry policy for transient errors. Default: exponential from 200 ms, capped at 10 s, for up to 5 minutes. */
  readonly retry?: Schedule.Schedule<any, unknown>
  /** End the stream (successfully) after this long without a change: catch-up runs and tests. Default: never. */
  readonly stopWhenIdle?: Duration.Input
}

/**
 * The errors of a change-stream source.
 *
 * @category models
 * @since 0.1.0
 */
export type StreamError = SourceError | PositionLost | StreamInvalidated | ConfigurationError

/**
 * Where a change stream starts: the driver's start options.
 *
 * @category models
 * @since 0.1.0
 */
export type Start =
  | { readonly resumeAfter: unknown }
  | { readonly startAfter: unknown }
  | { readonly startAtOperationTime: Timestamp }

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Where a handoff's `live` JSON says the stream starts: `{ startAtOperationTime: { t, i } }` (what
 * `MongoHandoff.capture` saves), `{ startAfter: <token> }` or `{ resumeAfter: <token> }` (tokens
 * as canonical Extended JSON).
 *
 * @category constructors
 * @since 0.1.0
 */
export const startOf = (live: unknown): Start | undefined => {
  if (!isRecord(live)) return undefined
  const at = live.startAtOperationTime
  if (isRecord(at) && typeof at.t === "number" && typeof at.i === "number" && Number.isSafeInteger(at.t) && Number.isSafeInteger(at.i)) {
    return { startAtOperationTime: new Timestamp({ t: at.t, i: at.i }) }
  }
  if (isRecord(live.startAfter)) return { startAfter: EJSON.deserialize(live.startAfter, { relaxed: false }) }
  if (isRecord(live.resumeAfter)) return { resumeAfter: EJSON.deserialize(live.resumeAfter, { relaxed: false }) }
  return undefined
}

/**
 * A start position as log and error text.
 *
 * @category codecs
 * @since 0.1.0
 */
export const describeStart = (start: Start): string =>
  "resumeAfter" in start
    ? `after token ${JSON.stringify(EJSON.serialize(start.resumeAfter as Document))}`
    : "startAfter" in start
    ? `after token ${JSON.stringify(EJSON.serialize(start.startAfter as Document))}`
    : `at cluster time ${start.startAtOperationTime.t}:${start.startAtOperationTime.i}`

/**
 * One driver batch of a change stream: waits for one event (up to the stream's `maxAwaitTimeMS`),
 * then takes the events the driver already holds, up to `batchSize`. Empty when nothing came.
 *
 * @category reading
 * @since 0.1.0
 */
export const nextEvents = async (
  stream: ChangeStream<Document, ChangeStreamDocument<Document>>,
  batchSize: number
): Promise<Array<ChangeStreamDocument<Document>>> => {
  const first = await stream.tryNext()
  if (first === null) return []
  const events = [first]
  while (events.length < batchSize && stream.bufferedCount() > 0) {
    const next = await stream.tryNext()
    if (next === null) break
    events.push(next)
  }
  return events
}

const tokenText = (stream: ChangeStream<Document, ChangeStreamDocument<Document>> | undefined): string | undefined =>
  stream?.resumeToken === undefined ? undefined : JSON.stringify(stream.resumeToken)

const INVALIDATING: ReadonlySet<string> = new Set(["invalidate", "drop", "rename", "dropDatabase"])

/** The cluster time of a change made in a multi-document transaction (`undefined` for any other). */
const transactionTime = (event: ChangeStreamDocument<Document>): string | undefined => {
  const { clusterTime, txnNumber } = event as { clusterTime?: unknown; txnNumber?: unknown }
  return txnNumber !== undefined && clusterTime instanceof Timestamp ? `${clusterTime.t}:${clusterTime.i}` : undefined
}

/**
 * The records of one transaction with only the last change of each document kept, in the order
 * of the stream. All of them carry the transaction's version, and the fold applies one change of
 * a document per version: its last one is the document's state after the transaction. Every
 * change left out comes before a kept one of the same document, so a stream resumed after any
 * kept record reads the same records after it.
 */
const lastOfEachDocument = (inputs: ReadonlyArray<Input>): Array<Input> => {
  const last = new Map<string, number>()
  inputs.forEach((input, i) => {
    const id = I.idOf(input)
    if (id !== undefined) last.set(id, i)
  })
  return inputs.filter((input, i) => {
    const id = I.idOf(input)
    return id === undefined || last.get(id) === i
  })
}

const changesRead = Metric.counter("monoid_change_stream_events", { description: "change events read from the change stream" })
const lagSeconds = Metric.gauge("monoid_change_stream_lag_seconds", {
  description: "seconds between the newest change read (or the position the server scanned to) and now; 0 once caught up"
})

/**
 * A change-stream source over one collection (see the module doc).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): Source.Source<"changes", StreamError, Tokens | Client> => {
  const ns = formatNamespace(options)
  const name = options.name ?? `mongo-changes:${ns}`
  // a new bootstrap (another P0) is a new live stream: fresh ordinals, fresh marks
  const partition = `mongo-changes:${ns}@${Version.format(options.handoff.version)}`
  const batchSize = Math.max(1, options.batchSize ?? 1000)
  const maxAwaitTimeMS = Math.max(0, Math.round(Duration.toMillis(options.maxAwaitTime ?? "1 second")))
  const minSleep = Math.max(1, Duration.toMillis(options.idleBackoff?.min ?? "10 millis"))
  const maxSleep = Math.max(minSleep, Duration.toMillis(options.idleBackoff?.max ?? "250 millis"))
  const stopWhenIdle = options.stopWhenIdle === undefined ? undefined : Duration.toMillis(options.stopWhenIdle)
  const schedule = options.retry ??
    Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("10 seconds")]).pipe(
      Schedule.jittered,
      Schedule.upTo({ duration: "5 minutes" })
    )
  const attributes = { source: name }
  const mRead = Metric.withAttributes(changesRead, attributes)
  const mLag = Metric.withAttributes(lagSeconds, attributes)

  const toInput = (event: ChangeStreamDocument<Document>, position: Position): Input => {
    const clusterTime = (event as { clusterTime?: unknown }).clusterTime
    if (!(clusterTime instanceof Timestamp)) {
      return I.reject(toExtendedJson(event), "the change event has no clusterTime (its version)", position)
    }
    const version = Version.fromClusterTime(clusterTime.t, clusterTime.i)
    // startAtOperationTime is inclusive: a change at P0 is in the snapshot already (and would be
    // dead-lettered twice if its document is refused)
    if (!Version.isNewer(version, options.handoff.version)) {
      return I.skip("a change at or before the handoff position (already in the snapshot)", position)
    }
    const keyId = (e: { documentKey?: unknown }) =>
      isRecord(e.documentKey) && "_id" in e.documentKey ? DocumentId.fromBson(e.documentKey._id) : undefined
    switch (event.operationType) {
      case "insert":
      case "update":
      case "replace": {
        const full = event.fullDocument
        if (isRecord(full) && "_id" in full) {
          // the document's own _id (documentKey may hold the update spec on mongo-java-server)
          const read = readDocument(full)
          return I.upsert(read.docId!, read.doc, position, { version })
        }
        if (event.operationType === "insert") {
          return I.reject(toExtendedJson(event), "an insert event without its document", position, keyId(event))
        }
        return I.skip("an update without a looked-up document (deleted since); its delete retracts", position)
      }
      case "delete": {
        const docId = keyId(event)
        return docId === undefined
          ? I.reject(toExtendedJson(event), "a delete event without documentKey._id", position)
          : I.remove(docId, position, { version })
      }
      default:
        return I.skip(`${event.operationType} event`, position)
    }
  }

  const inputs = Stream.unwrap(Effect.gen(function*() {
    const { client } = yield* Client
    const collection = client.db(options.db).collection(options.collection)
    const saved = yield* StoreRetry.retrying(committed(name, partition)).pipe(
      Effect.mapError((cause) =>
        new SourceError({ source: name, retryable: cause.retryable, detail: "reading the committed position failed", cause })
      )
    )
    if (saved !== undefined && !(isRecord(saved.checkpoint) && isRecord(saved.checkpoint.token))) {
      return yield* new PositionLost({ source: name, detail: `the committed position ${JSON.stringify(saved)} holds no resume token` })
    }
    const savedToken = saved === undefined ? undefined : EJSON.deserialize((saved.checkpoint as { token: Document }).token, { relaxed: false })
    const initial: Start | undefined = savedToken !== undefined ? { resumeAfter: savedToken } : startOf(options.handoff.live)
    if (initial === undefined) {
      return yield* new ConfigurationError({
        detail: `${name}: the handoff's live position ${JSON.stringify(options.handoff.live)} is not a change-stream start ` +
          `(expected { startAtOperationTime: { t, i } }, { startAfter } or { resumeAfter })`
      })
    }
    const state = {
      stream: undefined as ChangeStream<Document> | undefined,
      start: initial,
      seq: saved?.seq ?? 0,
      failure: undefined as StreamInvalidated | undefined,
      lastEvent: yield* Clock.currentTimeMillis,
      /** The stream's resume token after the latest read, as text (see the lag below). */
      scanned: undefined as string | undefined
    }
    yield* Effect.logInfo(`change stream ${ns}: starting ${describeStart(initial)}`)

    const closeStream = Effect.suspend(() => {
      const stream = state.stream
      state.stream = undefined
      return stream === undefined ? Effect.void : Effect.promise(() => stream.close().catch(() => undefined))
    })
    yield* Effect.addFinalizer(() => closeStream)

    const classify = (cause: unknown): StreamError =>
      isPositionLost(cause)
        ? new PositionLost({ source: name, detail: `${describeStart(state.start)}: ${errorText(cause)}`, cause })
        : new SourceError({
          source: name,
          retryable: isTransient(cause),
          detail: `reading the change stream of ${ns} failed`,
          cause
        })

    /** One driver batch (possibly empty). */
    const readBatch = Effect.tryPromise({
      try: async () => {
        if (state.stream === undefined) {
          const watchOptions: ChangeStreamOptions = { fullDocument: "updateLookup", batchSize, maxAwaitTimeMS, ...state.start }
          state.stream = collection.watch<Document, ChangeStreamDocument<Document>>([], watchOptions)
        }
        return nextEvents(state.stream, batchSize)
      },
      catch: classify
    }).pipe(
      Effect.tapError(() => closeStream),
      Effect.retry({ schedule, while: (e) => e._tag === "SourceError" && e.retryable })
    )

    /** The changes of the transaction read last, not yet given, and its cluster time. */
    const held = { inputs: [] as Array<Input>, time: undefined as string | undefined }
    /**
     * The records of `events`. The changes of one transaction share one cluster time, so one
     * version: they are held until the transaction's last one has been read (a change at another
     * time, or nothing more to read when `idle`), and then only each document's last change of
     * the transaction is given (see {@link lastOfEachDocument}).
     */
    const toChunk = (events: ReadonlyArray<ChangeStreamDocument<Document>>, idle: boolean): Array<Input> => {
      const out: Array<Input> = []
      const release = () => {
        if (held.inputs.length > 0) out.push(...lastOfEachDocument(held.inputs))
        held.inputs = []
        held.time = undefined
      }
      for (const event of events) {
        if (INVALIDATING.has(event.operationType)) {
          release()
          state.failure = new StreamInvalidated({ source: name, detail: `${event.operationType} event on ${ns}` })
          break
        }
        const token = EJSON.serialize({ token: event._id }, { relaxed: false }).token
        const position: Position = { partition, seq: ++state.seq, checkpoint: { token } }
        const input = toInput(event, position)
        state.start = { resumeAfter: event._id }
        const time = transactionTime(event)
        if (time !== held.time) release()
        if (time === undefined) out.push(input)
        else {
          held.inputs.push(input)
          held.time = time
        }
      }
      if (idle) release()
      return out
    }

    const pull = Effect.gen(function*() {
      let sleep = minSleep
      while (true) {
        if (state.failure !== undefined) {
          yield* closeStream
          return yield* state.failure
        }
        const events = yield* readBatch
        const now = yield* Clock.currentTimeMillis
        if (events.length === 0 && held.inputs.length > 0) return toChunk(events, true) as unknown as Arr.NonEmptyReadonlyArray<Input>
        if (events.length > 0) {
          state.lastEvent = now
          yield* Metric.update(mRead, events.length)
          const newest = (events[events.length - 1] as { clusterTime?: unknown }).clusterTime
          if (newest instanceof Timestamp) yield* Metric.update(mLag, Math.max(0, now / 1000 - newest.t))
          state.scanned = tokenText(state.stream)
          const chunk = toChunk(events, false)
          if (chunk.length > 0) return chunk as unknown as Arr.NonEmptyReadonlyArray<Input>
          continue
        }
        // Nothing read. A server still scanning other collections' entries answers an empty batch
        // too, but moves the stream's position on (its post-batch resume token): the lag is then
        // that position's. A position that did not move is a stream caught up with the server.
        const scanned = tokenText(state.stream)
        if (scanned === state.scanned) yield* Metric.update(mLag, 0)
        else {
          const at = MongoHandoff.tokenTime(state.stream?.resumeToken)
          if (at !== undefined) yield* Metric.update(mLag, Math.max(0, now / 1000 - at.t))
          state.scanned = scanned
        }
        if (stopWhenIdle !== undefined && now - state.lastEvent >= stopWhenIdle) {
          yield* closeStream
          return yield* Cause.done()
        }
        yield* Effect.sleep(Duration.millis(sleep))
        sleep = Math.min(maxSleep, sleep * 2)
      }
    })
    return Stream.fromPull(Effect.succeed(pull))
  }))

  return Source.make({ name, kind: "changes", records: inputs, commit: commitToTokens(name), staged: true })
}

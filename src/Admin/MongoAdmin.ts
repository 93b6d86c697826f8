/**
 * The MongoDB side of the admin operations: a collection as the source of truth that `Verify`
 * rescans and `DeadLetterReplay` looks documents up in, the cluster time a replay folds at, and
 * how far a change-stream position is behind the server.
 *
 * Documents are read as the sources read them (`Mongo.readDocument`: exact JSON, ids as the ledger
 * keys them), so the pipeline decodes the very same values it folds.
 *
 * @example
 * ```ts
 * import * as MongoAdmin from "effect-monoid-streams/MongoAdmin"
 * import * as Verify from "effect-monoid-streams/Verify"
 *
 * const ns = { db: "shop", collection: "orders" }
 * const report = Verify.run(orderTotals, MongoAdmin.documents(ns)) // needs Mongo.Client and the store
 * ```
 *
 * @since 0.2.0
 */
import { EJSON } from "bson"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Document } from "mongodb"
import { Timestamp } from "mongodb"
import type { SourceError } from "../Errors.ts"
import * as Mongo from "../MongoDb/Mongo.ts"
import * as MongoChangeStream from "../MongoDb/MongoChangeStream.ts"
import * as MongoHandoff from "../MongoDb/MongoHandoff.ts"
import type { Version } from "../Version.ts"

const sourceOf = (ns: Mongo.Namespace): string => `mongodb:${Mongo.formatNamespace(ns)}`

/**
 * Every document of a collection, in `_id` order, as exact JSON (`Mongo.readDocument`).
 *
 * @category reading
 * @since 0.2.0
 */
export const documents = (
  ns: Mongo.Namespace,
  options: { readonly batchSize?: number | undefined } = {}
): Stream.Stream<unknown, SourceError, Mongo.Client> =>
  Stream.unwrap(Effect.map(Mongo.Client, ({ client }) =>
    Stream.fromAsyncIterable<Document, SourceError>(
      client.db(ns.db).collection(ns.collection).find({}, { sort: { _id: 1 }, batchSize: options.batchSize ?? 1000 }),
      Mongo.sourceError(sourceOf(ns), "rescanning the collection failed")
    ).pipe(Stream.map((doc): unknown => Mongo.readDocument(doc).doc))))

/**
 * The `_id` a document id stands for (the inverse of `DocumentId.fromBson`), or `undefined` when
 * the text is not one.
 *
 * @category codecs
 * @since 0.2.0
 */
export const idOf = (docId: string): unknown => {
  try {
    return EJSON.parse(docId, { relaxed: false })
  } catch {
    return undefined
  }
}

/**
 * The current state of documents by document id, as exact JSON; a document that is gone (or an id
 * that is not one) is absent.
 *
 * @category reading
 * @since 0.2.0
 */
export const lookup = (ns: Mongo.Namespace) =>
(docIds: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, unknown>, SourceError, Mongo.Client> =>
  Effect.gen(function*() {
    const { client } = yield* Mongo.Client
    const ids: Array<any> = docIds.map(idOf).filter((id) => id !== undefined)
    const found = yield* Effect.tryPromise({
      try: () => client.db(ns.db).collection(ns.collection).find({ _id: { $in: ids } }).toArray(),
      catch: Mongo.sourceError(sourceOf(ns), "looking documents up failed")
    })
    const out = new Map<string, unknown>()
    for (const doc of found) {
      const read = Mongo.readDocument(doc)
      if (read.docId !== undefined) out.set(read.docId, read.doc)
    }
    return out
  })

/**
 * The server's current cluster time as a version (`Version.fromClusterTime`), found as the
 * bootstrap's handoff is (`MongoHandoff.capture`): every change after it has a newer version.
 *
 * @category positions
 * @since 0.2.0
 */
export const clusterTime = (ns: Mongo.Namespace): Effect.Effect<Version, MongoHandoff.HandoffUnavailable | SourceError, Mongo.Client> =>
  Effect.map(MongoHandoff.capture(ns), (handoff) => handoff.version)

/** What a look at a change stream found: its first change, nothing pending, or how far it scanned. */
type Pending = { readonly change: unknown } | { readonly caughtUp: true } | { readonly scannedTo: unknown }

const isAfter = (change: unknown, time: Timestamp): boolean => {
  const at = (change as { clusterTime?: unknown }).clusterTime
  return at instanceof Timestamp && (at.t > time.t || (at.t === time.t && at.i > time.i))
}

/**
 * How long the oldest change not yet folded has waited: now (`Clock`) minus the cluster time of
 * the first change after `start` (a committed position, or the handoff before the first commit),
 * in milliseconds, as exact as this machine's clock is with the server's; 0 when no change is
 * pending. A server that answers empty batches while it scans other collections' entries moves
 * the stream's position on: the look goes on until a change comes or the position stops moving
 * (caught up); after 20 reads it gives the time since the position it reached.
 *
 * @category positions
 * @since 0.2.0
 */
export const pendingLag = (
  ns: Mongo.Namespace,
  start: MongoChangeStream.Start
): Effect.Effect<number, MongoHandoff.HandoffUnavailable | SourceError, Mongo.Client> =>
  Effect.gen(function*() {
    const { client } = yield* Mongo.Client
    const first = yield* Effect.acquireUseRelease(
      Effect.sync(() => client.db(ns.db).collection(ns.collection).watch([], { maxAwaitTimeMS: 200, batchSize: 1, ...start })),
      (stream) =>
        Effect.tryPromise({
          try: async (): Promise<Pending> => {
            // a start at an operation time includes the changes at it, which the handoff's scan holds
            const after = "startAtOperationTime" in start ? start.startAtOperationTime : undefined
            // A server still scanning other collections' entries answers empty batches but moves the
            // stream's position on (its post-batch resume token): read until a change comes, or the
            // position stops moving (caught up), or for at most 20 reads (then: that position).
            let scanned: string | undefined = undefined
            for (let read = 0; read < 20; read++) {
              const next = await stream.tryNext()
              if (next !== null) {
                if (after === undefined || isAfter(next, after)) return { change: next }
                continue
              }
              const now = JSON.stringify(stream.resumeToken)
              if (now === scanned) return { caughtUp: true }
              scanned = now
            }
            return { scannedTo: stream.resumeToken }
          },
          catch: Mongo.sourceError(sourceOf(ns), "reading the change stream's next change failed")
        }),
      (stream) => Effect.promise(() => stream.close().catch(() => undefined))
    )
    if ("caughtUp" in first) return 0
    const time = "change" in first
      ? (first.change as { clusterTime?: unknown }).clusterTime
      : MongoHandoff.tokenTime(first.scannedTo)
    if (time === undefined || typeof (time as { t?: unknown }).t !== "number") return 0
    // this clock, not the server's cluster time, which an idle server may not move on
    const now = yield* Clock.currentTimeMillis
    return Math.max(0, now - (time as { t: number }).t * 1000)
  })

/**
 * How far a change stream's committed resume token is behind: {@link pendingLag} after the token
 * (0 when caught up, however long the collection has been idle; `undefined` when the token's
 * format is unknown).
 *
 * @category positions
 * @since 0.2.0
 */
export const changeStreamLag = (
  ns: Mongo.Namespace,
  resumeToken: unknown
): Effect.Effect<number | undefined, MongoHandoff.HandoffUnavailable | SourceError, Mongo.Client> =>
  MongoHandoff.tokenTime(resumeToken) === undefined
    ? Effect.succeed(undefined)
    : pendingLag(ns, { resumeAfter: EJSON.deserialize(resumeToken as Document, { relaxed: false }) })

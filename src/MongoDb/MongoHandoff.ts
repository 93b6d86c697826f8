/**
 * Capturing the handoff position P0 of a MongoDB collection, before its snapshot scan starts.
 *
 * P0 is a cluster time `(t, i)`: snapshot rows carry `Version.fromClusterTime(t, i)`, and the
 * change stream starts there with `startAtOperationTime` (inclusive; a change at exactly P0 is
 * already in the snapshot and the ledger skips it, every later one applies). How P0 is found, in
 * order:
 *
 * 1. open a change stream on the collection (the driver opens it lazily: `tryNext()` sends the
 *    `aggregate`). This also proves the server has change streams: a standalone server or a server
 *    without them refuses here, and the capture fails with {@link HandoffUnavailable} instead of
 *    silently "starting from now";
 * 2. the first event if one arrived at once (`event`), else the stream's resume token when the
 *    server gave one (a replica set's post-batch resume token, whose leading bytes are its cluster
 *    time: `resumeToken`);
 * 3. the cluster time of an `isMaster` reply (`operationTime`, `$clusterTime`, `lastWrite`:
 *    `clusterTime`);
 * 4. the newest `ts` of `local.oplog.rs` (`oplog`: mongo-java-server, which has no resume token
 *    before the first event and no cluster times in replies);
 * 5. the server's clock (`isMaster.localTime`, rounded down to the second: `serverClock`). Changes
 *    a little older than P0 are then replayed too, which the ledger makes harmless.
 *
 * @since 0.1.0
 */
import { EJSON } from "bson"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { ChangeStream, Document, MongoClient } from "mongodb"
import { MongoServerError, Timestamp } from "mongodb"
import type { SourceError } from "../Errors.ts"
import type { Handoff } from "../Handoff.ts"
import * as Version from "../Version.ts"
import { Client, formatNamespace, isTransient, type Namespace, sourceError } from "./Mongo.ts"

/**
 * The server cannot give a change-stream start position: it has no change streams (a standalone
 * `mongod`, a server or proxy without `$changeStream`), or it answered without any cluster time,
 * oplog or clock. Running the bootstrap anyway would lose the changes made during the scan, so the
 * run stops here; point the source at a replica set (a single-node replica set is enough).
 *
 * @category errors
 * @since 0.1.0
 */
export class HandoffUnavailable extends Data.TaggedError("HandoffUnavailable")<{
  readonly source: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const cause = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `source ${this.source}: no live start position can be captured (${this.detail})${cause}`
  }
}

/**
 * How P0 was found (see the module doc).
 *
 * @category models
 * @since 0.1.0
 */
export type Method = "event" | "resumeToken" | "clusterTime" | "oplog" | "serverClock"

/**
 * The `live` part of a MongoDB handoff: where the change stream starts.
 *
 * @category models
 * @since 0.1.0
 */
export interface LiveStart {
  readonly startAtOperationTime: { readonly t: number; readonly i: number }
  readonly method: Method
  /** The change stream's resume token at capture (canonical Extended JSON), when it had one. */
  readonly resumeToken?: unknown
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Retry policy for transient errors (network, elections). Default: exponential from 200 ms, 6 attempts. */
  readonly retry?: Schedule.Schedule<any, unknown>
}

interface Time {
  readonly t: number
  readonly i: number
}

const isTime = (t: number, i: number): boolean => Number.isSafeInteger(t) && t > 0 && Number.isSafeInteger(i) && i >= 0

const fromTimestamp = (value: unknown): Time | undefined => {
  if (!(value instanceof Timestamp)) return undefined
  return isTime(value.t, value.i) ? { t: value.t, i: value.i } : undefined
}

/**
 * The cluster time a resume token starts with, when its format is known: MongoDB 4.2+ tokens
 * (`_data` hex of a KeyString whose first element is the cluster time: `82` then 4 bytes of
 * seconds and 4 of increment) and mongo-java-server tokens (`_data` = 16 hex digits of the oplog
 * timestamp).
 *
 * @category codecs
 * @since 0.1.0
 */
export const tokenTime = (token: unknown): Time | undefined => {
  const data = typeof token === "object" && token !== null ? (token as { _data?: unknown })._data : undefined
  if (typeof data !== "string") return undefined
  const hex = /^[0-9a-fA-F]{16}$/.test(data) ? data : /^82[0-9a-fA-F]{16}/.test(data) ? data.slice(2, 18) : undefined
  if (hex === undefined) return undefined
  const t = Number.parseInt(hex.slice(0, 8), 16)
  const i = Number.parseInt(hex.slice(8, 16), 16)
  return isTime(t, i) ? { t, i } : undefined
}

const openProbe = (client: MongoClient, ns: Namespace) =>
  Effect.acquireUseRelease(
    Effect.sync(() => client.db(ns.db).collection(ns.collection).watch([], { maxAwaitTimeMS: 200, batchSize: 1 })),
    (stream: ChangeStream) =>
      Effect.tryPromise({
        try: async () => {
          const first = await stream.tryNext()
          return { first, token: stream.resumeToken as unknown }
        },
        catch: (cause) => cause
      }),
    (stream) => Effect.promise(() => stream.close().catch(() => undefined))
  )

const serverTimes = (client: MongoClient) =>
  Effect.tryPromise({
    try: () => client.db("admin").command({ isMaster: 1 }),
    catch: (cause) => cause
  }).pipe(
    Effect.map((reply: Document) => {
      const clusterTime = fromTimestamp(reply.operationTime) ??
        fromTimestamp(reply.$clusterTime?.clusterTime) ??
        fromTimestamp(reply.lastWrite?.opTime?.ts)
      const local = reply.localTime instanceof Date ? reply.localTime.getTime() : undefined
      return { clusterTime, local }
    })
  )

const newestOplogTime = (client: MongoClient) =>
  Effect.tryPromise({
    try: () =>
      client.db("local").collection("oplog.rs").find({}, { sort: { $natural: -1 }, limit: 1, projection: { ts: 1 } }).toArray(),
    catch: (cause) => cause
  }).pipe(
    Effect.map((docs) => fromTimestamp(docs[0]?.ts)),
    // not readable (no privilege, no oplog): the next method
    Effect.catch(() => Effect.succeed(undefined))
  )

const defaultRetry: Schedule.Schedule<any, unknown> = Schedule.exponential("200 millis").pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 5 })
)

/**
 * Captures the handoff of a collection (see the module doc): its `version` is the cluster time
 * P0, its `live` a {@link LiveStart}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const capture = (
  ns: Namespace,
  options: Options = {}
): Effect.Effect<Handoff, HandoffUnavailable | SourceError, Client> => {
  const source = `mongodb:${formatNamespace(ns)}`
  const attempt = Effect.gen(function*() {
    const { client } = yield* Client
    const probe = yield* openProbe(client, ns).pipe(
      Effect.mapError((cause) =>
        cause instanceof MongoServerError && !isTransient(cause)
          ? new HandoffUnavailable({
            source,
            detail: `the server refused to open a change stream on ${formatNamespace(ns)}: change streams need a replica set ` +
              `or a sharded cluster (a standalone mongod has none) and the changeStream and find privileges`,
            cause
          })
          : sourceError(source, "opening a change stream to capture the handoff position failed")(cause)
      )
    )
    const capturedAt = yield* Clock.currentTimeMillis
    const resumeToken = probe.token === null || probe.token === undefined ? undefined : EJSON.serialize(probe.token, { relaxed: false })
    const found = (time: Time, method: Method): Handoff => ({
      version: Version.fromClusterTime(time.t, time.i),
      live: resumeToken === undefined
        ? { startAtOperationTime: time, method } satisfies LiveStart
        : { startAtOperationTime: time, method, resumeToken } satisfies LiveStart,
      capturedAt
    })
    const fromEvent = fromTimestamp(probe.first?.clusterTime)
    if (fromEvent !== undefined) return found(fromEvent, "event")
    const fromToken = tokenTime(probe.token)
    if (fromToken !== undefined) return found(fromToken, "resumeToken")
    const times = yield* serverTimes(client).pipe(Effect.mapError(sourceError(source, "reading the server's cluster time failed")))
    if (times.clusterTime !== undefined) return found(times.clusterTime, "clusterTime")
    const fromOplog = yield* newestOplogTime(client)
    if (fromOplog !== undefined) return found(fromOplog, "oplog")
    if (times.local !== undefined) return found({ t: Math.floor(times.local / 1000), i: 0 }, "serverClock")
    return yield* new HandoffUnavailable({
      source,
      detail: "the server gave no resume token, no cluster time, no readable oplog and no clock"
    })
  })
  return attempt.pipe(
    Effect.retry({
      schedule: options.retry ?? defaultRetry,
      while: (e) => e._tag === "SourceError" && e.retryable
    }),
    Effect.tap((handoff) =>
      Effect.logInfo(
        `handoff of ${formatNamespace(ns)} captured at ${Version.format(handoff.version)} (${(handoff.live as LiveStart).method})`
      )
    ),
    Effect.withSpan("MongoHandoff.capture", { attributes: { namespace: formatNamespace(ns) } })
  )
}


/**
 * The CDC relay: a collection's change stream published to a Kafka topic as Debezium MongoDB
 * envelopes (see `envelope.ts`), keyed by document id, so that the Kafka path of the example can
 * run without Kafka Connect and Debezium. For development and tests.
 *
 * Position. The relay keeps its own position in the token store (pipeline `cdc-relay`, name
 * `<db>.<collection>-><topic>`): the resume token of the last change it published, saved after the
 * broker acknowledged the batch (`acks = all`). A restart resumes after it; a crash between the
 * publish and the save republishes that batch, which the workers' ledger makes harmless (each
 * record keeps its version).
 *
 * First start. Without a saved position the relay captures the collection's current position S
 * (`MongoHandoff.capture`), and starts at the bootstrap's handoff P0 instead when a bootstrap of the
 * pipeline exists and P0 is older than S (the topic must hold every change after P0). Start the
 * relay before the bootstrap, as one starts Debezium before relying on its topic: a relay first
 * started after a bootstrap begins at that bootstrap's P0.
 *
 * Records of one document go to one partition (the key) in change-stream order; batches are sent
 * one at a time, so a partition never sees a later change before an earlier one.
 */
import { EJSON } from "bson"
import { Duration, Effect, Option, Schedule } from "effect"
import { type ChangeStream, type ChangeStreamDocument, type ChangeStreamOptions, type Document, Timestamp } from "mongodb"
import { type ConfigurationError, PositionLost, SourceError, StreamInvalidated } from "../../src/Errors.ts"
import * as Port from "../../src/Kafka/KafkaPort.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import { Client, formatNamespace, isPositionLost, isTransient, type Namespace } from "../../src/MongoDb/Mongo.ts"
import * as MongoChangeStream from "../../src/MongoDb/MongoChangeStream.ts"
import * as MongoHandoff from "../../src/MongoDb/MongoHandoff.ts"
import type { StoreError } from "../../src/Store/StoreError.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import * as Version from "../../src/Version.ts"
import * as Envelope from "./envelope.ts"

/**
 * The token-store pipeline under which relays keep their positions.
 */
export const TOKEN_PIPELINE = "cdc-relay"

/**
 * The token-store name of a relay's position.
 */
export const tokenName = (ns: Namespace, topic: string): string => `${formatNamespace(ns)}->${topic}`

export interface Options {
  readonly ns: Namespace
  readonly topic: string
  /** The pipeline whose bootstrap handoff bounds the first start. */
  readonly pipeline: string
  /** Change events per published batch. Default 1000. */
  readonly batchSize?: number
  /** Longest pause between two polls of an idle stream, in ms. Default 250. */
  readonly idlePollMs?: number
  /** A progress line this often while records flow. Default 5 seconds. */
  readonly progressInterval?: Duration.Input
}

export interface Counts {
  published: number
  c: number
  u: number
  d: number
  skipped: number
  batches: number
}

type Start = { readonly resumeAfter: unknown } | { readonly startAtOperationTime: Timestamp }

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const timeOf = (u: unknown): { readonly t: number; readonly i: number } | undefined => {
  const at = isRecord(u) ? u.startAtOperationTime : undefined
  return isRecord(at) && typeof at.t === "number" && typeof at.i === "number" ? { t: at.t, i: at.i } : undefined
}

const retrying = Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")]).pipe(
  Schedule.jittered,
  Schedule.upTo({ duration: "2 minutes" })
)

/** Where the relay starts: its saved position, else the older of now and the bootstrap's P0. */
const startOf = (options: Options) =>
  Effect.gen(function*() {
    const tokens = yield* Tokens
    const name = tokenName(options.ns, options.topic)
    const saved = yield* tokens.get(TOKEN_PIPELINE, name)
    if (Option.isSome(saved) && isRecord(saved.value)) {
      if (isRecord(saved.value.token)) {
        return { resumeAfter: EJSON.deserialize(saved.value.token, { relaxed: false }) } as Start
      }
      const at = timeOf({ startAtOperationTime: saved.value.start })
      if (at !== undefined) return { startAtOperationTime: new Timestamp(at) } as Start
    }
    const now = yield* MongoHandoff.capture(options.ns)
    let at = timeOf(now.live)!
    let from = `the collection's position now (${(now.live as MongoHandoff.LiveStart).method})`
    const boot = yield* Orchestrator.state(options.pipeline)
    if (Option.isSome(boot)) {
      const p0 = timeOf(boot.value.handoff.live)
      if (p0 !== undefined && Version.compare(Version.fromClusterTime(p0.t, p0.i), now.version) < 0) {
        at = p0
        from = `the handoff P0 of the bootstrap of ${options.pipeline}`
      }
    }
    yield* tokens.set(TOKEN_PIPELINE, name, { start: at })
    yield* Effect.logInfo(`relay ${name}: first start, at ${from}`)
    return { startAtOperationTime: new Timestamp(at) } as Start
  })

/**
 * Runs the relay until it is interrupted (or the collection is dropped or renamed:
 * `StreamInvalidated`). `counts` is updated as it goes.
 */
export const run = (
  options: Options,
  counts: Counts = { published: 0, c: 0, u: 0, d: 0, skipped: 0, batches: 0 }
): Effect.Effect<never, SourceError | PositionLost | StreamInvalidated | StoreError | MongoHandoff.HandoffUnavailable | ConfigurationError, Client | Port.KafkaClient | Tokens> =>
  Effect.scoped(Effect.gen(function*() {
    const { client } = yield* Client
    const kafka = yield* Port.KafkaClient
    const tokens = yield* Tokens
    const name = tokenName(options.ns, options.topic)
    const source = `relay ${name}`
    const collection = client.db(options.ns.db).collection(options.ns.collection)
    const batchSize = Math.max(1, options.batchSize ?? 1000)
    const progressMs = Duration.toMillis(options.progressInterval ?? "5 seconds")
    const maxSleep = Math.max(10, options.idlePollMs ?? 250)
    const producer = yield* kafka.producer().pipe(
      Effect.mapError((e) => new SourceError({ source, retryable: e.retryable, detail: "connecting the producer failed", cause: e }))
    )
    const state = {
      start: yield* startOf(options),
      stream: undefined as ChangeStream<Document> | undefined,
      lastProgress: Date.now(),
      reported: 0
    }
    yield* Effect.logInfo(`${source}: starting ${MongoChangeStream.describeStart(state.start)}`)

    const closeStream = Effect.suspend(() => {
      const stream = state.stream
      state.stream = undefined
      return stream === undefined ? Effect.void : Effect.promise(() => stream.close().catch(() => undefined))
    })
    yield* Effect.addFinalizer(() => closeStream)

    const readBatch = Effect.tryPromise({
      try: async () => {
        if (state.stream === undefined) {
          const watchOptions: ChangeStreamOptions = { fullDocument: "updateLookup", batchSize, maxAwaitTimeMS: 1000, ...state.start }
          state.stream = collection.watch<Document, ChangeStreamDocument<Document>>([], watchOptions)
        }
        return MongoChangeStream.nextEvents(state.stream, batchSize)
      },
      catch: (cause): SourceError | PositionLost =>
        isPositionLost(cause)
          ? new PositionLost({ source, detail: `${MongoChangeStream.describeStart(state.start)}: ${cause instanceof Error ? cause.message : String(cause)}`, cause })
          : new SourceError({ source, retryable: isTransient(cause), detail: "reading the change stream failed", cause })
    }).pipe(
      Effect.tapError(() => closeStream),
      Effect.retry({ schedule: retrying, while: (e) => e._tag === "SourceError" && e.retryable })
    )

    const publish = (records: ReadonlyArray<Port.ProducerRecord>) =>
      producer.send(options.topic, records).pipe(
        Effect.retry({ schedule: retrying, while: (e) => e.retryable }),
        Effect.mapError((e) => new SourceError({ source, retryable: e.retryable, detail: `publishing to ${options.topic} failed`, cause: e }))
      )

    const save = (token: unknown) =>
      tokens.set(TOKEN_PIPELINE, name, { token: EJSON.serialize({ token }, { relaxed: false }).token }).pipe(
        Effect.retry({ schedule: retrying, while: (e) => e.retryable })
      )

    const progress = Effect.suspend(() => {
      if (counts.published === state.reported || Date.now() - state.lastProgress < progressMs) return Effect.void
      state.lastProgress = Date.now()
      state.reported = counts.published
      return Effect.logInfo(
        `${source}: ${counts.published} records published (c ${counts.c}, u ${counts.u}, d ${counts.d}), ${counts.skipped} events skipped`
      )
    })

    let sleep = 10
    while (true) {
      const events = yield* readBatch
      if (events.length === 0) {
        yield* progress
        yield* Effect.sleep(Duration.millis(sleep))
        sleep = Math.min(maxSleep, sleep * 2)
        continue
      }
      const records: Array<Port.ProducerRecord> = []
      const ops = { c: 0, u: 0, d: 0 }
      let skipped = 0
      let last: unknown = undefined
      let end: string | undefined
      for (const event of events) {
        const envelope = Envelope.fromChange(event, options.ns)
        if (envelope._tag === "End") {
          end = envelope.reason
          break
        }
        if (envelope._tag === "Record") {
          records.push({ key: envelope.key, value: envelope.value })
          ops[envelope.op]++
        } else {
          skipped++
        }
        last = event._id
      }
      if (records.length > 0) yield* publish(records)
      if (last !== undefined) {
        yield* save(last)
        state.start = { resumeAfter: last }
      }
      counts.published += records.length
      counts.c += ops.c
      counts.u += ops.u
      counts.d += ops.d
      counts.skipped += skipped
      counts.batches++
      yield* progress
      if (end !== undefined) {
        yield* closeStream
        return yield* new StreamInvalidated({ source, detail: end })
      }
      // a full batch: more is waiting, read on at once; a partial one: the stream has caught up, and
      // changes trickling in are gathered for a while (the same backoff as an empty poll) instead of
      // one poll each (on mongo-java-server every poll scans its whole in-memory oplog)
      if (events.length >= batchSize) {
        sleep = 10
      } else {
        yield* Effect.sleep(Duration.millis(sleep))
        sleep = Math.min(maxSleep, sleep * 2)
      }
    }
  }))

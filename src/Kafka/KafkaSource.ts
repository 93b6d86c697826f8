/**
 * A Kafka topic read by a consumer group as a live source: Debezium MongoDB change envelopes (or
 * plain documents on an append-only topic) folded by several workers that share the partitions.
 *
 * - Records: the partition of a record is `"<topic>/<partition>"`, its `seq` the offset. Every
 *   record becomes an input: decoded changes, tombstones (null values) as the Debezium decoder
 *   reads them (a delete of the document the key names, or a skip: see `Debezium.decoder`; plain
 *   decoding skips them), and everything that does not decode as a reject that keeps the raw value
 *   text and the raw key (dead-letter topics keep both).
 * - Backpressure: batches wait in a bounded buffer (`bufferSize` batches). When it is full the
 *   consumer stops fetching (its `onBatch` suspends, and it keeps heartbeating); a partition with
 *   `pauseAfter` batches waiting is paused until the fold has taken them. The fold receives
 *   everything buffered in one chunk per round trip.
 * - Commits: offsets are committed after the fold applied the records (offset + 1 of the last
 *   record of each partition in the batch), never by the client on its own, and only for
 *   partitions this member owns in the generation the records were fetched in. A commit refused
 *   because of a rebalance is logged and ignored: the next owner reads the records again, and the
 *   store's high-water marks and the ledger make the replay harmless.
 * - Rebalances: when partitions are revoked, buffered batches of the old generation are dropped
 *   (never folded, never committed); a partition assigned again starts at its committed offset,
 *   or at the beginning of the topic when the group has none (the ledger's version guard skips
 *   what is older than the documents it knows).
 * - Failures: a consumer that fails with a retryable error (a broker unreachable) is rebuilt on the
 *   `reconnect` schedule; then the stream fails with a `SourceError`.
 * - Lag: the gauge `monoid_kafka_consumer_lag` (attributes `group`, `topic`, `partition`) holds,
 *   for every partition of the topic, its end offset minus the group's committed offset (its first
 *   offset when the group has committed none): the records the group has not committed yet. It is
 *   read from the broker every `lagIntervalMs`, and soon after a commit.
 * - Shutdown: interrupting the fold closes the stream's scope: the consumer stops fetching,
 *   leaves the group and disconnects. What the fold applied was committed batch by batch; a batch
 *   interrupted half-way is read again by the next owner.
 *
 * The source is not staged: a topic is an immutable log, so a replay from a committed offset
 * gives the very same records.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Arr from "effect/Array"
import { ConfigurationError, SourceError } from "../Errors.ts"
import type { Input, Position } from "../Input.ts"
import * as I from "../Input.ts"
import * as Committer from "./internal/committer.ts"
import * as Port from "./KafkaPort.ts"
import type { Version } from "../Version.ts"
import * as DocumentId from "../DocumentId.ts"
import * as Debezium from "./Debezium.ts"
import * as Source from "../Source.ts"

/**
 * How record values are decoded.
 *
 * - `"debezium"` (default): Debezium MongoDB change envelopes; the version of a change is
 *   `[handoff + 1, offset]` (`ordering: "position"`, the default: the topic orders a document's
 *   records) or its `[source.ts_ms, source.ord]` (`ordering: "sourceTime"`).
 * - `{ _tag: "plain", version }`: every record is a flat document inserted (append-only topics).
 *   Its version is `[handoff + 1, offset]` (`"offset"`: the topic alone orders the documents) or
 *   `[timestamp in ms, offset]` (`"timestamp"`: comparable with a snapshot's handoff version).
 *
 * @category models
 * @since 0.1.0
 */
export type Decoding = "debezium" | Plain

/**
 * @category models
 * @since 0.1.0
 */
export interface Plain {
  readonly _tag: "plain"
  readonly version: "offset" | "timestamp"
  /**
   * What identifies a record's document. `"_id"` (default): the document's `_id`, and a record
   * without one is dead-lettered; a document written twice (at two offsets) is one document to the
   * pipelines that keep a ledger. `"position"`: the record's place (`<topic>/<partition>@<offset>`),
   * for events that carry no id (page views, clicks): each record is a document of its own, and a
   * redelivered record (same offset) is still folded once.
   */
  readonly id?: "_id" | "position" | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Omit<Port.ConsumerConfig, "topics"> {
  readonly topic: string
  /**
   * Debezium records: how the changes of one document are ordered (`Debezium.Ordering`). Default
   * `"position"`: by offset in the partition, the only order that holds for every Debezium version
   * (see the `Debezium` module doc).
   */
  readonly ordering?: Debezium.Ordering | undefined
  /**
   * Debezium records: the database and collection to fold; records of other collections on the
   * topic (a database-wide capture routed into one topic) are skipped, counted and logged once per
   * collection. Default: every record. Set, it also keeps tombstones skipped (a tombstone names no
   * collection): leave it unset on a compacted topic of one collection, where a tombstone may be
   * all that is left of a delete (see `Debezium.decoder`).
   */
  readonly namespace?: { readonly db: string; readonly collection: string } | undefined
  /** The source's name (metrics, logs). Default `kafka:<topic>`. */
  readonly name?: string | undefined
  /**
   * Records whose value is larger than this many bytes are not decoded: they are dead-lettered
   * (with their raw value and a reason that gives the size). Default: no limit of the worker's own
   * (the broker's `message.max.bytes` and the topic's `max.message.bytes` still apply). A change
   * dead-lettered so is not read, so its document keeps its contribution from before until its next
   * change that is read: keep the limit above the largest record the topic can carry.
   */
  readonly maxRecordBytes?: number | undefined
  /** Batches buffered between the consumer and the fold. Default 8. */
  readonly bufferSize?: number | undefined
  /** A partition with this many batches waiting in the buffer is paused until they are taken. Default: half of `bufferSize`. */
  readonly pauseAfter?: number | undefined
  /**
   * Rebuilds a consumer that failed with a retryable error. Default: exponential from 500 ms,
   * capped at 10 s, jittered, for up to 2 minutes; then the stream fails.
   */
  readonly reconnect?: Schedule.Schedule<unknown, SourceError | ConfigurationError> | undefined
  /** Retries a commit that failed with a retryable error (not a refusal). Default: as `reconnect`, for up to 30 s. */
  readonly commitRetry?: Schedule.Schedule<unknown, Port.KafkaError> | undefined
  /**
   * How often the consumer lag gauge is read from the broker; after a commit it is read again
   * within a fifth of this (at most once a second). Default 10 000 ms; `0` turns the gauge off.
   */
  readonly lagIntervalMs?: number | undefined
}

/**
 * The default `reconnect` schedule.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultReconnect: Schedule.Schedule<unknown, unknown> = Schedule.min([
  Schedule.exponential("500 millis"),
  Schedule.spaced("10 seconds")
]).pipe(Schedule.jittered, Schedule.upTo({ duration: "2 minutes" }))

const defaultCommitRetry: Schedule.Schedule<unknown, unknown> = Schedule.min([
  Schedule.exponential("200 millis"),
  Schedule.spaced("5 seconds")
]).pipe(Schedule.jittered, Schedule.upTo({ duration: "30 seconds" }))

/**
 * Counters of every Kafka source, with `source` and `topic` attributes.
 *
 * @category metrics
 * @since 0.1.0
 */
export const metrics = {
  records: Metric.counter("monoid_kafka_records", { description: "records received from Kafka" }),
  dropped: Metric.counter("monoid_kafka_batches_dropped", { description: "buffered batches dropped because their partition was revoked" }),
  commits: Metric.counter("monoid_kafka_commits", { description: "partition offsets committed" }),
  refused: Metric.counter("monoid_kafka_commits_refused", { description: "partition offsets not committed (revoked, rebalance, stopping)" }),
  assignments: Metric.counter("monoid_kafka_assignments", { description: "assignments received (one per rebalance this member took part in)" }),
  pauses: Metric.counter("monoid_kafka_pauses", { description: "partitions paused because the fold is behind" }),
  /** With `group`, `topic` and `partition` attributes (not `source`): the group's lag, as the broker reports it. */
  lag: Metric.gauge("monoid_kafka_consumer_lag", {
    description: "records of the partition not committed by the group yet: its end offset minus the group's committed offset"
  })
} as const

/**
 * Reads the end offsets of `topic` and the committed offsets of `groupId` from the broker and sets
 * the lag gauge of every partition.
 *
 * @category metrics
 * @since 0.1.0
 */
export const updateLag = (groupId: string, topic: string): Effect.Effect<void, Port.KafkaError, Port.KafkaClient> =>
  Effect.gen(function*() {
    const client = yield* Port.KafkaClient
    const [ends, committed] = yield* Effect.all([client.topicOffsets(topic), client.groupOffsets(groupId, topic)], { concurrency: 2 })
    const byPartition = new Map(committed.map((c) => [c.partition, c.offset]))
    for (const end of ends) {
      const from = byPartition.get(end.partition) ?? end.low
      const lag = BigInt(end.high) - BigInt(from)
      yield* Metric.update(
        Metric.withAttributes(metrics.lag, { group: groupId, topic, partition: String(end.partition) }),
        Number(lag > 0n ? lag : 0n)
      )
    }
  })

/** One batch of one partition, decoded, waiting in the buffer. */
interface Delivery {
  readonly name: string
  readonly tp: Port.TopicPartition
  readonly generation: number
  readonly inputs: ReadonlyArray<Input>
}

/** Why a partition whose log now ends before what was read cannot be folded on. */
const recreated = (name: string, partition: string, logEnd: number, read: number) =>
  `${name}: ${partition} now ends at offset ${logEnd}, but offset ${read} was read from it: the topic was deleted and ` +
  "recreated, or its log truncated, and its offsets are being used again for other records, which the aggregates' " +
  "high-water marks and the ledger would take for records already folded; bootstrap into a new store and consumer group"

/** The state of one run of the stream. */
class RunState {
  /** partition name -> generation it is owned in */
  readonly owned = new Map<string, number>()
  /** partition name -> batches waiting in the buffer */
  readonly waiting = new Map<string, number>()
  readonly paused = new Map<string, Port.TopicPartition>()
  /** partition name -> last seq handed to the fold, and its generation */
  readonly emitted = new Map<string, { readonly generation: number; readonly seq: number }>()
  /** partition name -> the highest offset read, whatever the consumer or generation */
  readonly read = new Map<string, number>()

  assign(a: Port.Assignment): void {
    for (const tp of a.partitions) this.owned.set(Port.partitionName(tp), a.generation)
  }

  revoke(a: Port.Assignment): void {
    for (const tp of a.partitions) {
      const name = Port.partitionName(tp)
      if (this.owned.get(name) === a.generation) this.owned.delete(name)
    }
  }

  revokeAll(): void {
    this.owned.clear()
  }
}

/** A decoded record, or why the records cannot be folded at all (a configuration error). */
type Decode = (record: Port.ConsumerRecord, position: Position) => Input | { readonly _tag: "Unsupported"; readonly reason: string }

/** Skip reasons to log once (another collection, heartbeats, transaction metadata). */
const onceOf = new WeakMap<object, string>()

const keyText = (record: Port.ConsumerRecord): string | undefined =>
  record.key === null ? undefined : Port.text(record.key) ?? Port.base64Text(record.key)

/** Decodes the value as UTF-8 text, then with `decode`; keeps the raw text and key on rejects. */
const decoderFor = (options: Options & { readonly decoding?: Decoding | undefined }): Decode => {
  const decoding = options.decoding ?? "debezium"
  const maxRecordBytes = options.maxRecordBytes
  const debezium = decoding === "debezium" ? Debezium.decoder({ ordering: options.ordering, namespace: options.namespace }) : undefined
  const plain = decoding === "debezium" ? undefined : Debezium.plainDecoder()
  const byTimestamp = decoding !== "debezium" && decoding.version === "timestamp"
  const byPosition = decoding !== "debezium" && decoding.id === "position"
  return (record, position) => {
    const key = keyText(record)
    if (record.value === null) {
      if (debezium === undefined) return I.skip("tombstone", position)
      // a delete of the document the key names (or a skip): the value's text is "null"
      const decoded = debezium(key ?? null, null)
      return decoded._tag === "Unsupported" ? decoded : Debezium.toInput(decoded, "null", position, key)
    }
    const value = Port.text(record.value)
    if (value === undefined) {
      return I.reject(Port.base64Text(record.value), Port.notUtf8Reason, position, undefined, key)
    }
    if (maxRecordBytes !== undefined && record.value.byteLength > maxRecordBytes) {
      return I.reject(
        value,
        `the record value has ${record.value.byteLength} bytes, more than the limit of ${maxRecordBytes} (maxRecordBytes)`,
        position,
        undefined,
        key
      )
    }
    let decoded: Debezium.Decoded
    if (debezium !== undefined) decoded = debezium(key ?? null, value)
    else {
      const ts = Number(record.timestamp)
      if (byTimestamp && !(Number.isSafeInteger(ts) && ts >= 0)) {
        return I.reject(value, `the record timestamp ${JSON.stringify(record.timestamp)} is not a version`, position, undefined, key)
      }
      // "offset": no version, ordered by position
      const version: Version | undefined = byTimestamp ? [ts, position.seq] : undefined
      decoded = plain!(value, version, byPosition ? DocumentId.fromJson(`${position.partition}@${position.seq}`) : undefined)
    }
    if (decoded._tag === "Unsupported") return decoded
    const input = Debezium.toInput(decoded, value, position, key)
    if (decoded._tag === "Skip" && decoded.once !== undefined) onceOf.set(input, decoded.once)
    return input
  }
}

const sourceError = (name: string, detail: string) => (cause: Port.KafkaError): SourceError =>
  new SourceError({ source: name, retryable: cause.retryable, detail: `${detail}: ${cause.detail}`, cause })

const describe = (partitions: ReadonlyArray<Port.TopicPartition>): string =>
  partitions.length === 0 ? "none" : partitions.map(Port.partitionName).join(", ")

/**
 * A consumer-group source over `topic`. Needs the {@link Port.KafkaClient} service (e.g.
 * `KafkaJs.layer`). Debezium envelopes carry updates and deletes: a `"changes"` source, which
 * feeds only `"changes"` pipelines; plain documents (`decoding: { _tag: "plain", ... }`) make an
 * `"events"` source, which feeds any pipeline.
 *
 * Run one stream of a source value at a time (the source keeps its consumer for `commit`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: {
  (options: Options & { readonly decoding?: "debezium" | undefined }): Source.Source<"changes", SourceError | ConfigurationError, Port.KafkaClient>
  (options: Options & { readonly decoding: Plain }): Source.Source<"events", SourceError | ConfigurationError, Port.KafkaClient>
} = (options: Options & { readonly decoding?: Decoding | undefined }): Source.Source<any, SourceError | ConfigurationError, Port.KafkaClient> => {
  const name = options.name ?? `kafka:${options.topic}`
  const decode = decoderFor(options)
  const logged = new Set<string>()
  const bufferSize = Math.max(1, options.bufferSize ?? 8)
  const pauseAfter = Math.max(1, options.pauseAfter ?? Math.ceil(bufferSize / 2))
  const attributes = { source: name, topic: options.topic }
  const m = {
    records: Metric.withAttributes(metrics.records, attributes),
    dropped: Metric.withAttributes(metrics.dropped, attributes),
    commits: Metric.withAttributes(metrics.commits, attributes),
    refused: Metric.withAttributes(metrics.refused, attributes),
    assignments: Metric.withAttributes(metrics.assignments, attributes),
    pauses: Metric.withAttributes(metrics.pauses, attributes)
  }
  const consumerConfig: Port.ConsumerConfig = {
    groupId: options.groupId,
    topics: [options.topic],
    fromBeginning: options.fromBeginning ?? true,
    sessionTimeoutMs: options.sessionTimeoutMs,
    rebalanceTimeoutMs: options.rebalanceTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    maxWaitTimeMs: options.maxWaitTimeMs,
    maxBytesPerPartition: options.maxBytesPerPartition
  }
  const reconnect = (options.reconnect ?? defaultReconnect).pipe(
    Schedule.setInputType<SourceError | ConfigurationError>(),
    Schedule.while(({ input }) => input._tag === "SourceError" && input.retryable)
  )
  const commitRetry = (options.commitRetry ?? defaultCommitRetry).pipe(
    Schedule.setInputType<Port.KafkaError>(),
    Schedule.while(({ input }) => input.retryable)
  )

  const lagIntervalMs = Math.max(0, options.lagIntervalMs ?? 10_000)
  /** A commit landed since the lag was last read. */
  let lagStale = true
  /** Reads the lag every `lagIntervalMs`, and within a fifth of it (at least a second apart) after a commit. */
  const lagLoop = Effect.gen(function*() {
    const soon = Math.min(lagIntervalMs, Math.max(1_000, lagIntervalMs / 5))
    let last = Number.NEGATIVE_INFINITY
    while (true) {
      const now = yield* Clock.currentTimeMillis
      if (now - last >= lagIntervalMs || (lagStale && now - last >= soon)) {
        lagStale = false
        last = now
        yield* updateLag(options.groupId, options.topic).pipe(
          Effect.catch((e) => Effect.logDebug(`${name}: reading the consumer lag failed: ${e.message}`))
        )
      }
      yield* Effect.sleep(Math.min(250, lagIntervalMs))
    }
  })

  /** The consumer of the running stream, for `commit`. */
  let current: Port.Consumer | undefined
  /** The running stream's pipelined committer. */
  let committer: Committer.Committer | undefined

  const inputs = Stream.unwrap(Effect.gen(function*() {
    const client = yield* Port.KafkaClient
    const run = new RunState()
    const commits = yield* Committer.make(commitNow)
    committer = commits
    if (lagIntervalMs > 0) yield* Effect.forkScoped(lagLoop.pipe(Effect.provideService(Port.KafkaClient, client)))

    const session = Stream.callback<Delivery, SourceError | ConfigurationError>((queue) =>
      Effect.gen(function*() {
        const context = yield* Effect.context<never>()
        const log = (effect: Effect.Effect<void>) => void Effect.runForkWith(context)(effect)
        const consumer = yield* client.consumer(consumerConfig).pipe(Effect.mapError(sourceError(name, "joining the group failed")))
        current = consumer
        // a new consumer pauses nothing, and the buffer of a failed one is gone
        run.waiting.clear()
        run.paused.clear()
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            if (current === consumer) current = undefined
            run.revokeAll()
          })
        )
        // runs first (finalizers run in reverse): the last commit lands before the member leaves
        yield* Effect.addFinalizer(() => commits.flush)
        const onBatch = (batch: Port.Batch): Effect.Effect<void> =>
          Effect.gen(function*() {
            const tp = { topic: batch.topic, partition: batch.partition }
            const partition = Port.partitionName(tp)
            const read = run.read.get(partition)
            if (read !== undefined && batch.logEnd !== undefined && batch.logEnd >= 0 && batch.logEnd <= read) {
              yield* Queue.fail(queue, new ConfigurationError({ detail: recreated(name, partition, batch.logEnd, read) }))
              return
            }
            const last = batch.records[batch.records.length - 1]
            if (last !== undefined) run.read.set(partition, Math.max(read ?? -1, Number(last.offset)))
            const inputs: Array<Input> = []
            for (const record of batch.records) {
              const seq = Number(record.offset)
              if (!Number.isSafeInteger(seq) || seq < 0) {
                yield* Queue.fail(queue, new SourceError({ source: name, retryable: false, detail: `offset ${record.offset} of ${partition} is not a safe integer` }))
                return
              }
              const input = decode(record, { partition, seq, checkpoint: batch.generation })
              if (input._tag === "Unsupported") {
                yield* Queue.fail(queue, new ConfigurationError({ detail: `${name}: ${partition} offset ${seq}: ${input.reason}` }))
                return
              }
              const once = onceOf.get(input)
              if (once !== undefined && !logged.has(once)) {
                logged.add(once)
                log(Effect.logInfo(`${name}: ${once}`))
              }
              inputs.push(input)
            }
            if (!(yield* Queue.offer(queue, { name: partition, tp, generation: batch.generation, inputs }))) return
            yield* Metric.update(m.records, inputs.length)
            const waiting = (run.waiting.get(partition) ?? 0) + 1
            run.waiting.set(partition, waiting)
            if (waiting >= pauseAfter && !run.paused.has(partition)) {
              run.paused.set(partition, tp)
              yield* consumer.pause([tp])
              yield* Metric.update(m.pauses, 1)
            }
          })
        return yield* consumer.consume({
          onBatch,
          onAssigned: (a) => {
            run.assign(a)
            log(Effect.gen(function*() {
              yield* Metric.update(m.assignments, 1)
              yield* Effect.logInfo(`${name}: assigned generation ${a.generation}: ${describe(a.partitions)}`)
              // a partition paused before a revocation stays paused in the client: resume drained ones
              const drained = Array.from(run.paused).filter(([p]) => (run.waiting.get(p) ?? 0) === 0)
              for (const [p] of drained) run.paused.delete(p)
              yield* consumer.resume(drained.map(([, tp]) => tp))
            }))
          },
          onRevoked: (a) => {
            run.revoke(a)
            log(Effect.logInfo(`${name}: revoked generation ${a.generation}: ${describe(a.partitions)}`))
          }
        }).pipe(
          Effect.mapError(sourceError(name, "consuming failed")),
          Effect.tapError((e) => Effect.logWarning(`${name}: ${e.message}`))
        )
      }), { bufferSize })

    /** What the fold takes: the buffered batches of partitions still owned, nothing it already has. */
    const select = (deliveries: Arr.NonEmptyReadonlyArray<Delivery>) =>
      Effect.gen(function*() {
        const out: Array<Input> = []
        let dropped = 0
        for (const d of deliveries) {
          run.waiting.set(d.name, Math.max(0, (run.waiting.get(d.name) ?? 0) - 1))
          if (run.owned.get(d.name) !== d.generation) {
            dropped++
            continue
          }
          const last = run.emitted.get(d.name)
          // within one generation a partition is read forward; a batch the client delivered again
          // (after an interrupted hand-over) is cut to what the fold has not seen
          const from = last !== undefined && last.generation === d.generation ? last.seq : -1
          let seq = from
          for (const input of d.inputs) {
            if (input.seq > seq) {
              out.push(input)
              seq = input.seq
            }
          }
          if (seq > from) run.emitted.set(d.name, { generation: d.generation, seq })
        }
        if (dropped > 0) yield* Metric.update(m.dropped, dropped)
        const drained: Array<Port.TopicPartition> = []
        for (const [p, tp] of run.paused) {
          if ((run.waiting.get(p) ?? 0) === 0) {
            run.paused.delete(p)
            drained.push(tp)
          }
        }
        if (drained.length > 0 && current !== undefined) yield* current.resume(drained)
        return [out as ReadonlyArray<Input>] as const
      })

    return session.pipe(
      Stream.retry(reconnect),
      Stream.interruptWhen(commits.failed),
      Stream.mapArrayEffect(select),
      Stream.filter((chunk: ReadonlyArray<Input>): chunk is Arr.NonEmptyReadonlyArray<Input> => chunk.length > 0),
      Stream.flattenArray
    )
  }))

  const commitNow = (consumer: Port.Consumer, offsets: ReadonlyArray<Port.CommitOffset>): Effect.Effect<void, SourceError> =>
    Effect.gen(function*() {
      const result = yield* consumer.commit(offsets).pipe(
        Effect.retry(commitRetry),
        Effect.mapError(sourceError(name, "committing offsets failed"))
      )
      if (result.committed.length > 0) {
        lagStale = true
        yield* Metric.update(m.commits, result.committed.length)
      }
      if (result.refused.length > 0) {
        yield* Metric.update(m.refused, result.refused.length)
        yield* Effect.logInfo(
          `${name}: ${result.refused.length} offsets not committed (${
            result.refused.map((r) => `${r.offset.topic}/${r.offset.partition}@${r.offset.offset}: ${r.reason}`).join(", ")
          }); whoever owns those partitions reads the records again`
        )
      }
    })

  /** Offsets of the applied records, handed to the background committer (see Kafka/internal/committer.ts). */
  const commit = (last: ReadonlyMap<string, Input>): Effect.Effect<void, SourceError> =>
    Effect.gen(function*() {
      if (last.size === 0) return
      const offsets: Array<Port.CommitOffset> = []
      for (const [partition, record] of last) {
        const tp = Port.parsePartitionName(partition)
        if (tp === undefined) continue
        offsets.push({ ...tp, offset: String(record.seq + 1), generation: typeof record.checkpoint === "number" ? record.checkpoint : -1 })
      }
      const consumer = current
      if (consumer === undefined || committer === undefined) {
        yield* Metric.update(m.refused, offsets.length)
        yield* Effect.logInfo(`${name}: no consumer to commit ${offsets.length} offsets; the next owner reads them again`)
        return
      }
      yield* committer.submit(consumer, offsets)
    })

  return Source.make({
    name,
    kind: options.decoding === undefined || options.decoding === "debezium" ? "changes" : "events",
    records: inputs,
    commit,
    // a record's checkpoint is the generation it was fetched in: a partition fetched in a new
    // generation may have been folded by another member in between
    continues: (previous, next) => previous.checkpoint === next.checkpoint
  })
}

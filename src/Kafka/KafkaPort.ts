/**
 * The Kafka port: the small consumer/producer interface the library needs, independent of any
 * client library. `KafkaJs` is the adapter over kafkajs, `KafkaPlatformatic` the one over
 * `@platformatic/kafka`; another client (node-rdkafka, `@confluentinc/kafka-javascript`) plugs in
 * by providing the same {@link KafkaClient} service.
 *
 * A consumer is a member of a consumer group. It delivers record batches to one handler, in
 * offset order per partition, and tells the handler about its assignment. Each assignment has a
 * `generation` number, unique within one {@link KafkaClient}: a batch carries the generation it
 * was fetched in, and an offset commit names the generation its records came from. The consumer
 * commits only for partitions it owns in that very generation, so a member never commits for a
 * partition the group gave to someone else, and never moves an offset it did not read.
 *
 * The contract for adapters:
 *
 * - `onBatch` may suspend (the sink is behind): the adapter stops fetching meanwhile and keeps
 *   the group membership alive (heartbeats). When it completes, the batch is taken and the adapter
 *   fetches on from after its last record. When the consumer stops or the group rebalances while
 *   it suspends, the adapter interrupts it, and does not move past the batch: whoever owns the
 *   partition next reads it again from the committed offset.
 * - A new generation starts every partition at its committed offset (or at the beginning, or the
 *   end, as configured, when the group has none).
 * - `onRevoked` is called as soon as the adapter learns that its partitions may be taken away (a
 *   rebalance starts, the consumer leaves or crashes); `onAssigned` with the new generation when
 *   the group has given it partitions again.
 * - Auto-commit is off. `commit` commits exactly the offsets given, for the partitions still owned
 *   in the named generation; a commit the group refuses because of a rebalance is a
 *   {@link Refusal}, not an error.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"

/**
 * @category models
 * @since 0.1.0
 */
export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/**
 * A record header. Kafka allows repeated keys, so headers are a list.
 *
 * @category models
 * @since 0.1.0
 */
export interface Header {
  readonly key: string
  readonly value: Uint8Array | null
}

/**
 * A record read from a topic.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConsumerRecord extends TopicPartition {
  /** The offset, as decimal text (Kafka offsets are 64-bit). */
  readonly offset: string
  readonly key: Uint8Array | null
  /** `null` for a tombstone. */
  readonly value: Uint8Array | null
  readonly headers: ReadonlyArray<Header>
  /** Milliseconds since the epoch, as decimal text (create time or log-append time). */
  readonly timestamp: string
}

/**
 * Records of one partition, fetched in one round trip, in offset order.
 *
 * @category models
 * @since 0.1.0
 */
export interface Batch extends TopicPartition {
  /** The generation of the assignment the batch was fetched in. */
  readonly generation: number
  readonly records: ReadonlyArray<ConsumerRecord>
  /**
   * The partition's log end (high watermark) when the batch was fetched, when the client gives it:
   * a log that ends at or before an offset already read was deleted and recreated, or truncated.
   */
  readonly logEnd?: number | undefined
}

/**
 * The partitions a consumer owns in one generation.
 *
 * @category models
 * @since 0.1.0
 */
export interface Assignment {
  readonly generation: number
  readonly partitions: ReadonlyArray<TopicPartition>
}

/**
 * What a consumer calls while it runs.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handlers {
  /** Takes one batch; may suspend (backpressure). See the module documentation. */
  readonly onBatch: (batch: Batch) => Effect.Effect<void>
  /** The group gave this member partitions (possibly none) in a new generation. */
  readonly onAssigned: (assignment: Assignment) => void
  /** The partitions of `generation` may be taken away: stop using them (commits are refused). */
  readonly onRevoked: (assignment: Assignment) => void
}

/**
 * An offset to commit: `offset` is the next offset to read (the last applied record's offset + 1).
 *
 * @category models
 * @since 0.1.0
 */
export interface CommitOffset extends TopicPartition {
  readonly offset: string
  /** The generation the applied records were fetched in. */
  readonly generation: number
}

/**
 * Why an offset was not committed.
 *
 * - `"not-owner"`: the partition is not assigned to this member in that generation (it was
 *   revoked, or the generation is over); nothing was sent.
 * - `"rebalance"`: the group refused the commit (rebalance in progress, illegal generation,
 *   unknown member, coordinator moved).
 * - `"stopped"`: the consumer is stopping or stopped.
 *
 * The records stay uncommitted: the next owner of the partition reads them again, and the
 * aggregate store's high-water marks make that harmless.
 *
 * @category models
 * @since 0.1.0
 */
export interface Refusal {
  readonly offset: CommitOffset
  readonly reason: "not-owner" | "rebalance" | "stopped"
  readonly detail: string
}

/**
 * @category models
 * @since 0.1.0
 */
export interface CommitResult {
  readonly committed: ReadonlyArray<CommitOffset>
  readonly refused: ReadonlyArray<Refusal>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ConsumerConfig {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  /** Where a partition without a committed offset starts. Default `true` (its first offset). */
  readonly fromBeginning?: boolean | undefined
  /** The group drops a member it has not heard from for this long. Default 30 000 ms. */
  readonly sessionTimeoutMs?: number | undefined
  /** How long the group waits for members to rejoin during a rebalance. Default 60 000 ms. */
  readonly rebalanceTimeoutMs?: number | undefined
  /** Default 3 000 ms; keep it well under a third of the session timeout. */
  readonly heartbeatIntervalMs?: number | undefined
  /**
   * How long a fetch waits for new records. Default 1 000 ms: kafkajs sleeps this long when every
   * assigned partition is paused, and a member leaving the group waits for the fetch in flight.
   */
  readonly maxWaitTimeMs?: number | undefined
  /** Largest batch of one partition per fetch, in bytes. Default 1 MiB. */
  readonly maxBytesPerPartition?: number | undefined
}

/**
 * A consumer-group member, connected; the scope it was acquired in leaves the group and
 * disconnects it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Consumer {
  /**
   * Joins the group and delivers batches to `handlers` until interrupted. Fails when the client
   * gives up (a broker unreachable for longer than the client retries, a fatal protocol error).
   * Interrupting it stops fetching and leaves the group; pending `onBatch` calls are interrupted.
   */
  readonly consume: (handlers: Handlers) => Effect.Effect<never, KafkaError>
  /** Commits offsets for the partitions owned in their generation; see {@link Refusal}. */
  readonly commit: (offsets: ReadonlyArray<CommitOffset>) => Effect.Effect<CommitResult, KafkaError>
  /** Stops fetching these partitions until resumed (records already fetched are still delivered). */
  readonly pause: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void>
  readonly resume: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void>
  /** The current assignment (empty with generation `-1` before the first join and after a revocation). */
  readonly assignment: Effect.Effect<Assignment>
}

/**
 * A record to write.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProducerRecord {
  readonly key: Uint8Array | string | null
  readonly value: Uint8Array | string | null
  readonly headers?: ReadonlyArray<Header> | undefined
  /** A partition; without one, the client's partitioner chooses by key. */
  readonly partition?: number | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ProducerConfig {
  /** Use the idempotent producer (no duplicates from the client's own retries). Default `false`. */
  readonly idempotent?: boolean | undefined
}

/**
 * A connected producer; the scope it was acquired in disconnects it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Producer {
  /** Writes records and waits until every in-sync replica has them (`acks = all`). */
  readonly send: (topic: string, records: ReadonlyArray<ProducerRecord>) => Effect.Effect<void, KafkaError>
}

/**
 * The offsets of one partition: `low` is its first offset still in the log, `high` the offset
 * after its last record (the high-water mark). `low === high` for an empty partition.
 *
 * @category models
 * @since 0.1.0
 */
export interface PartitionOffsets {
  readonly partition: number
  readonly low: string
  readonly high: string
}

/**
 * The offset a consumer group has committed for one partition: the next offset it will read, or
 * `undefined` when the group has committed none for it.
 *
 * @category models
 * @since 0.1.0
 */
export interface GroupOffset {
  readonly partition: number
  readonly offset: string | undefined
}

/**
 * The Kafka client service: makes consumers and producers, and answers the two admin questions
 * the library asks (the offsets of a topic, for the dead letters and the consumer lag; a group's
 * committed offsets, for the consumer lag).
 *
 * @category services
 * @since 0.1.0
 */
export class KafkaClient extends Context.Service<KafkaClient, {
  readonly consumer: (config: ConsumerConfig) => Effect.Effect<Consumer, KafkaError, Scope.Scope>
  readonly producer: (config?: ProducerConfig) => Effect.Effect<Producer, KafkaError, Scope.Scope>
  /** The first and next offsets of every partition of `topic`. */
  readonly topicOffsets: (topic: string) => Effect.Effect<ReadonlyArray<PartitionOffsets>, KafkaError>
  /** The offsets `groupId` has committed for every partition of `topic`, by partition. */
  readonly groupOffsets: (groupId: string, topic: string) => Effect.Effect<ReadonlyArray<GroupOffset>, KafkaError>
}>()("effect-monoid-streams/KafkaClient") {}

/**
 * A failure of the Kafka client. `retryable` failures (a broker unreachable, a timeout, a leader
 * moving) may succeed later.
 *
 * @category errors
 * @since 0.1.0
 */
export class KafkaError extends Data.TaggedError("KafkaError")<{
  readonly operation: string
  readonly retryable: boolean
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const cause = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `kafka ${this.operation}: ${this.detail}${cause}`
  }
}

/**
 * The library's name of a topic-partition: `"<topic>/<partition>"`. Topic names cannot contain
 * `/`, so the last `/` separates the two.
 *
 * @category codecs
 * @since 0.1.0
 */
export const partitionName = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`

/**
 * Parses a {@link partitionName}; `undefined` for anything else.
 *
 * @category codecs
 * @since 0.1.0
 */
export const parsePartitionName = (name: string): TopicPartition | undefined => {
  const slash = name.lastIndexOf("/")
  if (slash <= 0) return undefined
  const partition = Number(name.slice(slash + 1))
  return Number.isSafeInteger(partition) && partition >= 0 && name.slice(slash + 1) === String(partition)
    ? { topic: name.slice(0, slash), partition }
    : undefined
}

const utf8 = new TextDecoder("utf-8", { fatal: true })
const encoder = new TextEncoder()

/**
 * Decodes UTF-8 bytes; `undefined` when they are not valid UTF-8.
 *
 * @category codecs
 * @since 0.1.0
 */
export const text = (bytes: Uint8Array): string | undefined => {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * The value of the last header named `key`, as text (`undefined` when absent or not UTF-8).
 *
 * @category codecs
 * @since 0.1.0
 */
export const header = (headers: ReadonlyArray<Header>, key: string): string | undefined => {
  for (let i = headers.length - 1; i >= 0; i--) {
    const h = headers[i]!
    if (h.key === key) return h.value === null ? undefined : text(h.value)
  }
  return undefined
}

/**
 * A text header.
 *
 * @category codecs
 * @since 0.1.0
 */
export const textHeader = (key: string, value: string): Header => ({ key, value: encoder.encode(value) })

/**
 * The reason a source gives a record whose value is not UTF-8 text. Its dead letter's `raw` is
 * `"base64:"` followed by the value in base64, and a dead-letter topic writes the original bytes
 * back.
 *
 * @category codecs
 * @since 0.1.0
 */
export const notUtf8Reason = "the record value is not UTF-8 text (raw holds it as base64)"

/**
 * `"base64:"` + the bytes in base64.
 *
 * @category codecs
 * @since 0.1.0
 */
export const base64Text = (bytes: Uint8Array): string =>
  `base64:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}`

/**
 * SASL credentials of a connection.
 *
 * @category models
 * @since 0.2.0
 */
export interface Sasl {
  readonly mechanism: "plain" | "scram-sha-256" | "scram-sha-512"
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * How an adapter reaches the brokers: the options every adapter takes.
 *
 * @category models
 * @since 0.2.0
 */
export interface ConnectionOptions {
  readonly brokers: ReadonlyArray<string>
  readonly clientId?: string | undefined
  /** TLS to the brokers. Default off. */
  readonly ssl?: boolean | undefined
  readonly sasl?: Sasl | undefined
  readonly connectionTimeoutMs?: number | undefined
  readonly requestTimeoutMs?: number | undefined
  /** The client's own retries of one request. Default 5. */
  readonly retries?: number | undefined
}

/**
 * A dead-letter topic as the {@link DeadLetters} service.
 *
 * Each dead letter is written to the topic with the original record key and value (the raw text
 * the source kept; a value that was not UTF-8 is written back as its original bytes) and headers
 * that say why and where from (see {@link headers}). Writes wait for `acks = all`, and the fold
 * commits the source offsets only after `write` succeeded, so a dead letter is never lost.
 *
 * A replayed batch (after a crash or a rebalance) writes its dead letters again: Kafka cannot
 * refuse a duplicate, so the topic may hold a record twice. `list` reads the topic back and keeps
 * the first copy per (pipeline, source partition, offset), which is what the other stores keep.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Port from "./KafkaPort.ts"
import { type DeadLetter, DeadLetters } from "../Store/DeadLetters.ts"
import { StoreError } from "../Store/StoreError.ts"

/**
 * The headers of a dead-letter record.
 *
 * @category constants
 * @since 0.1.0
 */
export const headers = {
  /** Why the record could not be applied. */
  reason: "dlq-reason",
  pipeline: "dlq-pipeline",
  /** The source position's partition name (`<topic>/<partition>` for Kafka sources). */
  sourcePartition: "dlq-source-partition",
  /** The source topic, partition and offset (for Kafka sources). */
  topic: "dlq-topic",
  partition: "dlq-partition",
  offset: "dlq-offset",
  docId: "dlq-doc-id",
  /** Milliseconds since the epoch, when it was dead-lettered. */
  at: "dlq-at"
} as const

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The dead-letter topic (created beforehand, like every topic the library uses). */
  readonly topic: string
  readonly producer?: Port.ProducerConfig | undefined
  /** `list` gives up reading the topic back after this long. Default 60 000 ms. */
  readonly listTimeoutMs?: number | undefined
}

const STORE = "kafka-dead-letters"

const storeError = (operation: string) => (cause: Port.KafkaError): StoreError =>
  new StoreError({ store: STORE, operation, retryable: cause.retryable, cause, detail: cause.detail })

/**
 * The dead-letter record for `letter`.
 *
 * @category codecs
 * @since 0.1.0
 */
export const toRecord = (letter: DeadLetter): Port.ProducerRecord => {
  const source = Port.parsePartitionName(letter.partition)
  const h: Array<Port.Header> = [
    Port.textHeader(headers.reason, letter.reason),
    Port.textHeader(headers.pipeline, letter.pipeline),
    Port.textHeader(headers.sourcePartition, letter.partition),
    Port.textHeader(headers.offset, String(letter.seq)),
    Port.textHeader(headers.at, String(letter.at))
  ]
  if (source !== undefined) {
    h.push(Port.textHeader(headers.topic, source.topic), Port.textHeader(headers.partition, String(source.partition)))
  }
  if (letter.docId !== undefined) h.push(Port.textHeader(headers.docId, letter.docId))
  const binary = letter.reason === Port.notUtf8Reason && letter.raw.startsWith("base64:")
  return {
    key: letter.key ?? null,
    value: binary ? Buffer.from(letter.raw.slice("base64:".length), "base64") : letter.raw,
    headers: h
  }
}

/**
 * Reads a dead-letter record back; `undefined` when it lacks the headers of {@link toRecord}.
 *
 * @category codecs
 * @since 0.1.0
 */
export const fromRecord = (record: Port.ConsumerRecord): DeadLetter | undefined => {
  const h = record.headers
  const pipeline = Port.header(h, headers.pipeline)
  const partition = Port.header(h, headers.sourcePartition)
  const seq = Number(Port.header(h, headers.offset))
  const reason = Port.header(h, headers.reason)
  if (pipeline === undefined || partition === undefined || reason === undefined || !Number.isSafeInteger(seq)) return undefined
  const value = record.value === null ? "" : Port.text(record.value) ?? Port.base64Text(record.value)
  const key = record.key === null ? undefined : Port.text(record.key) ?? Port.base64Text(record.key)
  return {
    pipeline,
    partition,
    seq,
    docId: Port.header(h, headers.docId),
    key,
    raw: value,
    reason,
    at: Number(Port.header(h, headers.at) ?? 0)
  }
}

/**
 * Reads every record of `topic` that is there now (up to the high-water marks read first) with a
 * throw-away consumer group that commits nothing.
 *
 * @category reading
 * @since 0.1.0
 */
export const readAll = (
  topic: string,
  timeoutMs = 60_000
): Effect.Effect<ReadonlyArray<Port.ConsumerRecord>, Port.KafkaError, Port.KafkaClient> =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Port.KafkaClient
    const offsets = yield* client.topicOffsets(topic)
    const remaining = new Map<number, bigint>()
    for (const o of offsets) if (BigInt(o.high) > BigInt(o.low)) remaining.set(o.partition, BigInt(o.high))
    if (remaining.size === 0) return []
    const records: Array<Port.ConsumerRecord> = []
    const done = yield* Deferred.make<void>()
    const consumer = yield* client.consumer({
      groupId: `${topic}.reader.${randomUUID()}`,
      topics: [topic],
      fromBeginning: true,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxWaitTimeMs: 500
    })
    const consume = consumer.consume({
      onBatch: (batch) =>
        Effect.gen(function*() {
          const high = remaining.get(batch.partition)
          if (high === undefined) return
          for (const r of batch.records) if (BigInt(r.offset) < high) records.push(r)
          const last = batch.records[batch.records.length - 1]
          if (last !== undefined && BigInt(last.offset) + 1n >= high) {
            remaining.delete(batch.partition)
            if (remaining.size === 0) yield* Deferred.succeed(done, undefined)
          }
        }),
      onAssigned: () => undefined,
      onRevoked: () => undefined
    })
    yield* Effect.raceFirst(consume, Deferred.await(done)).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () =>
          Effect.fail(
            new Port.KafkaError({
              operation: `read ${topic}`,
              retryable: true,
              detail: `${remaining.size} partitions not read to their end within ${timeoutMs} ms`
            })
          )
      })
    )
    // a batch of a partition may come again after a rebalance of the reader: keep one copy
    const seen = new Set<string>()
    return records.filter((r) => {
      const id = `${r.partition}/${r.offset}`
      if (seen.has(id)) return false
      seen.add(id)
      return true
    }).sort((a, b) => (a.partition - b.partition) || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1))
  }))

/**
 * The {@link DeadLetters} service over a dead-letter topic. Needs the {@link Port.KafkaClient}
 * service; the producer is connected for the life of the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<DeadLetters, StoreError, Port.KafkaClient> =>
  Layer.effect(
    DeadLetters,
    Effect.gen(function*() {
      const client = yield* Port.KafkaClient
      const producer = yield* client.producer(options.producer).pipe(Effect.mapError(storeError("connect")))
      return DeadLetters.of({
        write: (records) =>
          records.length === 0
            ? Effect.void
            : producer.send(options.topic, records.map(toRecord)).pipe(Effect.mapError(storeError("write"))),
        list: (pipeline) =>
          readAll(options.topic, options.listTimeoutMs).pipe(
            Effect.provideService(Port.KafkaClient, client),
            Effect.mapError(storeError("list")),
            Effect.map((records) => {
              const seen = new Set<string>()
              const out: Array<DeadLetter> = []
              for (const r of records) {
                const letter = fromRecord(r)
                if (letter === undefined || letter.pipeline !== pipeline) continue
                const id = `${letter.partition}\u0000${letter.seq}`
                if (seen.has(id)) continue
                seen.add(id)
                out.push(letter)
              }
              return out.sort((a, b) => (a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : a.seq - b.seq))
            })
          )
      })
    })
  )

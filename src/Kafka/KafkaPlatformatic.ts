/**
 * The `@platformatic/kafka` adapter of the Kafka port: {@link layer} provides the
 * {@link Port.KafkaClient} service over `@platformatic/kafka` 2.x clients (consumers in
 * `Kafka/internal/platformaticConsumer.ts`, failures mapped in
 * `Kafka/internal/platformaticErrors.ts`). It meets the same contract as `KafkaJs` and is
 * configured from the same settings.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import * as KafkaPlatformatic from "effect-monoid-streams/KafkaPlatformatic"
 *
 * const client = KafkaPlatformatic.layer({
 *   brokers: ["broker-1:9092", "broker-2:9092"],
 *   ssl: true,
 *   sasl: { mechanism: "scram-sha-512", username: "orderstats", password: Redacted.make("...") }
 * })
 * // or from KAFKA_BROKERS, KAFKA_SASL_* ...: KafkaPlatformatic.layerConfig
 * ```
 *
 * @since 0.1.0
 */
import {
  Admin,
  type BaseOptions,
  compatibilityPartitioner,
  Consumer,
  ListOffsetTimestamps,
  type MessageToProduce,
  Producer,
  type SASLOptions
} from "@platformatic/kafka"
import type * as Config from "effect/Config"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as KafkaSettings from "./internal/kafkaSettings.ts"
import * as PlatformaticConsumer from "./internal/platformaticConsumer.ts"
import { toKafkaError } from "./internal/platformaticErrors.ts"
import * as Port from "./KafkaPort.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Port.ConnectionOptions {
  /** Between the client's own retries. Default 300 ms. */
  readonly retryDelayMs?: number | undefined
}

const mechanisms = { plain: "PLAIN", "scram-sha-256": "SCRAM-SHA-256", "scram-sha-512": "SCRAM-SHA-512" } as const

/**
 * The client options shared by the consumers, producers and admin clients of `options`.
 *
 * @category config
 * @since 0.1.0
 */
export const clientOptions = (options: Options): BaseOptions => ({
  clientId: options.clientId ?? "effect-monoid-streams",
  bootstrapBrokers: [...options.brokers],
  retries: options.retries ?? 5,
  retryDelay: options.retryDelayMs ?? 300,
  autocreateTopics: false,
  ...(options.ssl === true ? { tls: {} } : {}),
  ...(options.sasl === undefined ? {} : {
    sasl: {
      mechanism: mechanisms[options.sasl.mechanism],
      username: options.sasl.username,
      password: Redacted.value(options.sasl.password)
    } satisfies SASLOptions
  }),
  ...(options.connectionTimeoutMs === undefined ? {} : { connectTimeout: options.connectionTimeoutMs }),
  ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs, timeout: options.requestTimeoutMs })
})

const toBuffer = (u: Uint8Array | string | null): Buffer | undefined =>
  u === null ? undefined : typeof u === "string" ? Buffer.from(u, "utf8") : Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/** Headers as a map with one fresh key object per header, so repeated keys stay repeated. */
const toHeaders = (headers: ReadonlyArray<Port.Header> | undefined): Map<Buffer, Buffer> | undefined => {
  if (headers === undefined || headers.length === 0) return undefined
  const out = new Map<Buffer, Buffer>()
  for (const h of headers) if (h.value !== null) out.set(Buffer.from(h.key, "utf8"), toBuffer(h.value)!)
  return out
}

/** Runs `f` with a connected admin client, closed afterwards. */
const withAdmin = <A>(base: BaseOptions, operation: string, f: (admin: Admin) => Promise<A>): Effect.Effect<A, Port.KafkaError> =>
  Effect.tryPromise({
    try: async () => {
      const admin = new Admin(base)
      try {
        return await f(admin)
      } finally {
        await admin.close().catch(() => undefined)
      }
    },
    catch: toKafkaError(operation)
  })

const partitionsOf = async (admin: Admin, topic: string): Promise<Array<number>> => {
  const metadata = await admin.metadata({ topics: [topic] })
  const count = metadata.topics.get(topic)?.partitionsCount ?? 0
  return Array.from({ length: count }, (_, i) => i)
}

/**
 * Hooks for tests: how the adapter makes the client's consumers (wrap the real one to inject
 * faults).
 *
 * @category models
 * @since 0.1.0
 */
export interface Hooks {
  readonly consumer?: PlatformaticConsumer.MakeConsumer | undefined
}

/**
 * The adapter over `@platformatic/kafka` clients configured by `options`. Generation numbers are
 * unique per returned client.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options, hooks: Hooks = {}): Context.Service.Shape<typeof Port.KafkaClient> => {
  const base = clientOptions(options)
  const makeConsumer = hooks.consumer ?? ((o) => new Consumer(o))
  let generations = 0
  const nextGeneration = () => ++generations

  const consumer = (config: Port.ConsumerConfig): Effect.Effect<Port.Consumer, Port.KafkaError, Scope.Scope> =>
    PlatformaticConsumer.make(makeConsumer, base, config, nextGeneration)

  const producer = (config: Port.ProducerConfig = {}): Effect.Effect<Port.Producer, Port.KafkaError, Scope.Scope> =>
    Effect.map(
      Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const p = new Producer({ ...base, idempotent: config.idempotent ?? false, acks: -1, partitioner: compatibilityPartitioner })
            try {
              await p.metadata({ topics: [] })
            } catch (error) {
              await p.close().catch(() => undefined)
              throw error
            }
            return p
          },
          catch: toKafkaError("connect producer")
        }),
        (p) => Effect.promise(() => p.close().catch(() => undefined)).pipe(Effect.timeoutOption("20 seconds"))
      ),
      (p): Port.Producer => ({
        send: (topic, records) =>
          records.length === 0 ? Effect.void : Effect.tryPromise({
            try: () =>
              p.send({
                acks: -1,
                messages: records.map((r): MessageToProduce => {
                  const key = toBuffer(r.key)
                  const value = toBuffer(r.value)
                  const headers = toHeaders(r.headers)
                  return {
                    topic,
                    ...(key === undefined ? {} : { key }),
                    ...(value === undefined ? {} : { value }),
                    ...(headers === undefined ? {} : { headers }),
                    ...(r.partition === undefined ? {} : { partition: r.partition })
                  }
                })
              }),
            catch: toKafkaError(`send to ${topic}`)
          }).pipe(Effect.asVoid)
      })
    )

  const topicOffsets = (topic: string): Effect.Effect<ReadonlyArray<Port.PartitionOffsets>, Port.KafkaError> =>
    withAdmin(base, `offsets of ${topic}`, async (admin) => {
      const partitions = await partitionsOf(admin, topic)
      if (partitions.length === 0) return []
      const at = (timestamp: bigint) =>
        admin.listOffsets({ topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }] })
      const [low, high] = await Promise.all([at(ListOffsetTimestamps.EARLIEST), at(ListOffsetTimestamps.LATEST)])
      const offset = (listed: typeof low, partition: number) =>
        String(listed.find((t) => t.name === topic)?.partitions.find((p) => p.partitionIndex === partition)?.offset ?? 0n)
      return partitions.map((partition) => ({ partition, low: offset(low, partition), high: offset(high, partition) }))
    })

  const groupOffsets = (groupId: string, topic: string): Effect.Effect<ReadonlyArray<Port.GroupOffset>, Port.KafkaError> =>
    withAdmin(base, `offsets of group ${groupId} on ${topic}`, async (admin) => {
      const partitions = await partitionsOf(admin, topic)
      if (partitions.length === 0) return []
      const [g] = await admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes: partitions }] }] })
      const committed = g?.topics.find((t) => t.name === topic)?.partitions ?? []
      return partitions.map((partition) => {
        const c = committed.find((p) => p.partitionIndex === partition)?.committedOffset
        return { partition, offset: c === undefined || c < 0n ? undefined : String(c) }
      })
    })

  return { consumer, producer, topicOffsets, groupOffsets }
}

/**
 * A `@platformatic/kafka` client as the {@link Port.KafkaClient} service.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Port.KafkaClient> => Layer.sync(Port.KafkaClient, () => make(options))

/**
 * The settings of {@link layerConfig}, the same as `KafkaJs.config` but the log level:
 * `KAFKA_BROKERS` (comma-separated, required), `KAFKA_CLIENT_ID`, `KAFKA_SSL` (boolean),
 * `KAFKA_SASL_MECHANISM` (`plain`, `scram-sha-256`, `scram-sha-512`) with `KAFKA_SASL_USERNAME`
 * and `KAFKA_SASL_PASSWORD` (a secret).
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<Options> = KafkaSettings.connection

/**
 * {@link layer} configured from the environment (see {@link config}).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<Port.KafkaClient, Config.ConfigError> = Layer.unwrap(
  Effect.gen(function*() {
    return layer(yield* config)
  })
)

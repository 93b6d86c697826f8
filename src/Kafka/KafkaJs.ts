/**
 * The kafkajs adapter of the Kafka port: {@link layer} provides the {@link Port.KafkaClient}
 * service over a kafkajs 2.2 client (consumers in `Kafka/internal/kafkaJsConsumer.ts`, failures mapped in
 * `Kafka/internal/kafkaJsErrors.ts`), with kafkajs's log lines routed to Effect's logger.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import * as KafkaJs from "effect-monoid-streams/KafkaJs"
 *
 * const client = KafkaJs.layer({
 *   brokers: ["broker-1:9092", "broker-2:9092"],
 *   ssl: true,
 *   sasl: { mechanism: "scram-sha-512", username: "orderstats", password: Redacted.make("...") }
 * })
 * // or from KAFKA_BROKERS, KAFKA_SASL_* ...: KafkaJs.layerConfig
 * ```
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { type IHeaders, Kafka, type KafkaConfig, logLevel, type LogEntry, Partitioners, type SASLOptions } from "kafkajs"
import * as KafkaJsConsumer from "./internal/kafkaJsConsumer.ts"
import * as KafkaSettings from "./internal/kafkaSettings.ts"
import { toKafkaError } from "./internal/kafkaJsErrors.ts"
import * as Port from "./KafkaPort.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Port.ConnectionOptions {
  /** kafkajs log lines at or above this level are logged through Effect. Default `"warn"`. */
  readonly logLevel?: "nothing" | "error" | "warn" | "info" | "debug" | undefined
}

const levels = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG
} as const

const logTo = (context: Context.Context<never>) => () => (entry: LogEntry) => {
  const { message, timestamp: _t, logger: _l, ...extra } = entry.log as unknown as { message: string; timestamp: string; logger: string }
  const text = `kafkajs ${entry.namespace}: ${message}`
  const annotated = Object.keys(extra).length === 0 ? text : `${text} ${safeJson(extra)}`
  const effect = entry.level === logLevel.ERROR
    ? Effect.logError(annotated)
    : entry.level === logLevel.WARN
    ? Effect.logWarning(annotated)
    : entry.level === logLevel.INFO
    ? Effect.logInfo(annotated)
    : Effect.logDebug(annotated)
  Effect.runForkWith(context)(effect)
}

const safeJson = (u: unknown): string => {
  try {
    return JSON.stringify(u, (_, v) => (v instanceof Error ? v.message : v))
  } catch {
    return String(u)
  }
}

const toBuffer = (u: Uint8Array | string | null): Buffer | string | null =>
  u === null || typeof u === "string" ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength)

const toHeaders = (headers: ReadonlyArray<Port.Header> | undefined): IHeaders | undefined => {
  if (headers === undefined || headers.length === 0) return undefined
  const out: Record<string, Array<Buffer>> = Object.create(null)
  for (const h of headers) {
    if (h.value === null) continue
    ;(out[h.key] ??= []).push(toBuffer(h.value) as Buffer)
  }
  const flat: IHeaders = {}
  for (const key of Object.keys(out)) flat[key] = out[key]!.length === 1 ? out[key]![0]! : out[key]!
  return flat
}


/**
 * The adapter over a kafkajs `Kafka` instance (useful to reuse one, or to wrap its consumers in
 * tests). Generation numbers are unique per returned client.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromKafka = (kafka: Kafka): Context.Service.Shape<typeof Port.KafkaClient> => {
  let generations = 0
  const nextGeneration = () => ++generations

  const consumer = (config: Port.ConsumerConfig): Effect.Effect<Port.Consumer, Port.KafkaError, Scope.Scope> =>
    KafkaJsConsumer.make(kafka, config, nextGeneration)

  const producer = (config: Port.ProducerConfig = {}): Effect.Effect<Port.Producer, Port.KafkaError, Scope.Scope> =>
    Effect.map(
      Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const p = kafka.producer({
              createPartitioner: Partitioners.DefaultPartitioner,
              idempotent: config.idempotent ?? false,
              allowAutoTopicCreation: false
            })
            await p.connect()
            return p
          },
          catch: toKafkaError("connect producer")
        }),
        (p) => Effect.promise(() => p.disconnect().catch(() => undefined)).pipe(Effect.timeoutOption("20 seconds"))
      ),
      (p): Port.Producer => ({
        send: (topic, records) =>
          records.length === 0 ? Effect.void : Effect.tryPromise({
            try: () =>
              p.send({
                topic,
                acks: -1,
                messages: records.map((r) => {
                  const headers = toHeaders(r.headers)
                  return {
                    key: toBuffer(r.key),
                    value: toBuffer(r.value),
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
    Effect.tryPromise({
      try: async () => {
        const admin = kafka.admin()
        await admin.connect()
        try {
          const offsets = await admin.fetchTopicOffsets(topic)
          return offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
            .sort((a, b) => a.partition - b.partition)
        } finally {
          await admin.disconnect().catch(() => undefined)
        }
      },
      catch: toKafkaError(`offsets of ${topic}`)
    })

  const groupOffsets = (groupId: string, topic: string): Effect.Effect<ReadonlyArray<Port.GroupOffset>, Port.KafkaError> =>
    Effect.tryPromise({
      try: async () => {
        const admin = kafka.admin()
        await admin.connect()
        try {
          const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
          return (t?.partitions ?? []).map((p) => ({ partition: p.partition, offset: Number(p.offset) < 0 ? undefined : p.offset }))
            .sort((a, b) => a.partition - b.partition)
        } finally {
          await admin.disconnect().catch(() => undefined)
        }
      },
      catch: toKafkaError(`offsets of group ${groupId} on ${topic}`)
    })

  return { consumer, producer, topicOffsets, groupOffsets }
}

/**
 * The kafkajs configuration for `options`, with kafkajs's log lines routed to Effect's logger.
 *
 * @category config
 * @since 0.1.0
 */
export const kafkaConfig = (options: Options, context: Context.Context<never>): KafkaConfig => {
  const sasl: SASLOptions | undefined = options.sasl === undefined
    ? undefined
    : { mechanism: options.sasl.mechanism, username: options.sasl.username, password: Redacted.value(options.sasl.password) } as SASLOptions
  return {
    brokers: [...options.brokers],
    clientId: options.clientId ?? "effect-monoid-streams",
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    ...(sasl === undefined ? {} : { sasl }),
    ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeout: options.connectionTimeoutMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs }),
    retry: { retries: options.retries ?? 5 },
    logLevel: levels[options.logLevel ?? "warn"],
    logCreator: logTo(context)
  }
}

/**
 * A kafkajs client as the {@link Port.KafkaClient} service.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Port.KafkaClient> =>
  Layer.effect(
    Port.KafkaClient,
    Effect.map(Effect.context<never>(), (context) => fromKafka(new Kafka(kafkaConfig(options, context))))
  )

/**
 * The settings of {@link layerConfig}: `KAFKA_BROKERS` (comma-separated, required),
 * `KAFKA_CLIENT_ID`, `KAFKA_SSL` (boolean), `KAFKA_SASL_MECHANISM` (`plain`, `scram-sha-256`,
 * `scram-sha-512`) with `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD` (a secret), and
 * `KAFKA_LOG_LEVEL`.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<Options> = Config.all({
  connection: KafkaSettings.connection,
  logLevel: Config.Literals(["nothing", "error", "warn", "info", "debug"], "KAFKA_LOG_LEVEL").pipe(Config.withDefault("warn" as const))
}).pipe(Config.map((c): Options => ({ ...c.connection, logLevel: c.logLevel })))

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

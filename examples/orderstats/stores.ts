/**
 * The store layer of the orderstats binaries: DynamoDB or the embedded SQLite store (see
 * `config.store`), with the aggregates cached in Valkey/Redis when `REDIS_URL` is set.
 *
 * DynamoDB tables: at start every binary looks the four tables up (`DescribeTable`, which needs no
 * create permission) and creates the missing ones (`DynamoDbTables.create`: on-demand billing,
 * idempotent, waits until they are active). With `DDB_CREATE_TABLES=false` a missing table is a
 * `ConfigurationError` that names the create-tables command instead (production roles often may
 * not create tables).
 *
 * The cache: a binary that writes aggregates invalidates the cached keys of every batch it applied
 * (strict invalidation: a batch whose invalidation failed is not committed and is retried), so a
 * reader that goes through the cache never sees a total older than the last committed batch.
 *
 * The dead letters operators read ({@link deadLetterReads}: admin.js, the status page of serve.js
 * and of the worker) are the store's and, with `LIVE_SOURCE=kafka`, those on the dead-letter topic.
 */
import { createHash } from "node:crypto"
import { resolve } from "node:path"
import { type Config, Effect, Exit, Layer, Schedule } from "effect"
import { ConfigurationError } from "../../src/Errors.ts"
import * as KafkaDeadLetters from "../../src/Kafka/KafkaDeadLetters.ts"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import * as Port from "../../src/Kafka/KafkaPort.ts"
import type { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Cache from "../../src/Redis/AggregateCache.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as DynamoDbClient from "../../src/DynamoDb/DynamoDbClient.ts"
import { send } from "../../src/DynamoDb/internal/send.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as Tables from "../../src/DynamoDb/DynamoDbTables.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import type { Ledger } from "../../src/Store/Ledger.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import type { Tokens } from "../../src/Store/Tokens.ts"
import * as Settings from "./config.ts"

/**
 * The four store services every binary runs on.
 */
export type Stores = Aggregates | Ledger | Tokens | DeadLetters

type DynamoDbChoice = Extract<Settings.StoreChoice, { readonly _tag: "DynamoDb" }>

/** Retries of the start-up calls while the server is unreachable: about 20 seconds. */
const startupRetry = Schedule.exponential("200 millis").pipe(Schedule.jittered, Schedule.upTo({ duration: "20 seconds" }))

const errorName = (e: StoreError): string => String((e.cause as { name?: unknown } | undefined)?.name ?? "")

/**
 * The tables of `names` that do not exist.
 */
export const missingTables = (names: Tables.TableNames): Effect.Effect<Array<string>, StoreError, DynamoDbClient.DynamoDbClient> =>
  Effect.gen(function*() {
    const client = yield* DynamoDbClient.DynamoDbClient
    const absent: Array<string> = []
    for (const table of [names.aggregates, names.ledger, names.tokens, names.deadLetters]) {
      const found = yield* send({ operation: "tables.describe", table }, (signal) =>
        client.send("DescribeTable", { TableName: table }, signal)).pipe(
          Effect.as(true),
          Effect.catchIf((e) => errorName(e) === "ResourceNotFoundException", () => Effect.succeed(false)),
          Effect.retry({ schedule: startupRetry, while: (e) => e.retryable })
        )
      if (!found) absent.push(table)
    }
    return absent
  })

/**
 * Creates the missing tables, or fails with a `ConfigurationError` naming them when creation is off.
 */
export const ensureTables = (choice: DynamoDbChoice): Effect.Effect<void, StoreError | ConfigurationError, DynamoDbClient.DynamoDbClient> =>
  Effect.gen(function*() {
    const absent = yield* missingTables(choice.tables)
    if (absent.length === 0) return
    if (!choice.createTables) {
      return yield* new ConfigurationError({
        detail: `the DynamoDB tables ${absent.join(", ")} do not exist: create them with ` +
          "`scripts/node dist/src/DynamoDb/createTablesMain.js` (same environment), or set DDB_CREATE_TABLES=true"
      })
    }
    yield* Effect.logInfo(`creating the missing DynamoDB tables ${absent.join(", ")}`)
    yield* Tables.create(choice.tables)
  })

/**
 * A one-line description of the store, without secrets.
 */
export const describe = (choice: Settings.StoreChoice): string =>
  choice._tag === "DynamoDb"
    ? `DynamoDB at ${choice.endpoint ?? "AWS"}, tables ${choice.tables.aggregates}, ${choice.tables.ledger}, ` +
      `${choice.tables.tokens}, ${choice.tables.deadLetters}`
    : `embedded SQLite store ${choice.path}`

/**
 * The key prefix of the Valkey/Redis cache over a store: one per store (the DynamoDB endpoint and
 * tables, or the SQLite file's absolute path), so that deployments sharing a cache server never
 * read each other's values.
 */
export const cachePrefix = (choice: Settings.StoreChoice): string => {
  const identity = choice._tag === "DynamoDb" ? describe(choice) : `embedded SQLite store ${resolve(choice.path)}`
  return `ems:${createHash("sha256").update(identity).digest("hex").slice(0, 16)}`
}

const dynamoDb = (choice: DynamoDbChoice): Layer.Layer<Stores, StoreError | ConfigurationError | Config.ConfigError> =>
  Layer.mergeAll(DynamoDbStore.layer(choice.tables), Layer.effectDiscard(ensureTables(choice))).pipe(
    Layer.provide(DynamoDbClient.layerConfig)
  )

/**
 * The store services chosen by the environment (see `config.store` and `config.cacheUrl`);
 * `existing`: an embedded store must exist already (a reader, such as `admin.js verify`).
 */
const layerWith = (options: { readonly existing?: boolean }): Layer.Layer<Stores, StoreError | ConfigurationError | Config.ConfigError> =>
  Layer.unwrap(Effect.gen(function*() {
    const choice = yield* Settings.store
    const cache = yield* Settings.cacheUrl
    yield* Effect.logInfo(`store: ${describe(choice)}${cache === undefined ? "" : "; aggregates cached in Valkey/Redis (REDIS_URL)"}`)
    const base = choice._tag === "DynamoDb"
      ? dynamoDb(choice)
      : Embedded.layer({ path: choice.path, cacheMiB: choice.cacheMiB, create: options.existing !== true })
    return cache === undefined
      ? base
      : Cache.decorate(base, { prefix: cachePrefix(choice) }).pipe(Layer.provide(Cache.redisLayer({ url: cache })))
  }))

/** The store services chosen by the environment (see `config.store` and `config.cacheUrl`). */
export const layer = layerWith({})

/** {@link layer}, for a reader: an embedded store that does not exist is an error, not an empty store. */
export const existing = layerWith({ existing: true })

/**
 * The Kafka client of the operators' reads (the dead-letter topic, admin.js's consumer-group lag):
 * `KafkaJs.config`'s, retrying once: a missing topic is an answer here, not an outage to wait out.
 */
export const kafkaReader = Layer.unwrap(Effect.map(KafkaJs.config, (options) => KafkaJs.layer({ ...options, retries: 1 })))

/** The dead letters of the dead-letter topic, read once, one copy per (pipeline, partition, seq). */
const topicLetters = (topic: string) =>
  KafkaDeadLetters.readAll(topic).pipe(
    Effect.map((records) => {
      const seen = new Set<string>()
      return records.flatMap((r) => {
        const letter = KafkaDeadLetters.fromRecord(r)
        const id = letter === undefined ? "" : JSON.stringify([letter.pipeline, letter.partition, letter.seq])
        if (letter === undefined || seen.has(id)) return []
        seen.add(id)
        return [letter]
      })
    }),
    // no topic yet: no Kafka worker has written a dead letter
    Effect.catchIf((e) => /UNKNOWN_TOPIC_OR_PARTITION/.test(e.detail), () => Effect.succeed([])),
    Effect.mapError((cause) => new StoreError({ store: "kafka", operation: `deadLetters.list of ${topic}`, retryable: cause.retryable, cause }))
  )

/**
 * How long one read of the dead-letter topic answers `list`. Each read joins a throw-away consumer
 * group and reads the whole topic, so the status page (one `list` per pipeline, each refresh) must
 * not read it per call; a long-running server must still show the dead letters written since.
 */
const topicReadTtl = "10 seconds"

/**
 * The dead letters operators read: the store's (the bootstrap's, the change-stream worker's) and,
 * with `LIVE_SOURCE=kafka`, those the Kafka workers wrote to `KAFKA_DLQ_TOPIC` too. The Kafka
 * worker's fold writes its dead letters to the topic only (live.ts), never to the store, so a
 * reader of the store alone (`admin.js`, the query server's `/status` and `/v1/status`, in
 * serve.js or in the worker) would miss every one of them. `write` goes to the store.
 *
 * One read of the topic serves every pipeline and caller for {@link topicReadTtl}; a failed read
 * is not kept (the next call reads again). Provide it over {@link layer}, to what reads the dead
 * letters only: the fold writes where live.ts says.
 */
export const deadLetterReads = Layer.unwrap(Effect.gen(function*() {
  if ((yield* Settings.liveSource) !== "kafka") return Layer.empty
  const { deadLetterTopic } = yield* Settings.kafka
  return Layer.effect(DeadLetters, Effect.gen(function*() {
    const store = yield* DeadLetters
    const topic = yield* Effect.cachedWithTTL(
      Effect.provideService(topicLetters(deadLetterTopic), Port.KafkaClient, yield* Port.KafkaClient),
      (exit) => (Exit.isSuccess(exit) ? topicReadTtl : 0)
    )
    return DeadLetters.of({
      write: store.write,
      list: (pipeline) => Effect.map(Effect.all([store.list(pipeline), topic], { concurrency: 2 }), ([stored, kafka]) => [...stored, ...kafka.filter((l) => l.pipeline === pipeline)])
    })
  })).pipe(Layer.provide(kafkaReader))
}))

/** Where {@link deadLetterReads} finds the Kafka workers' dead letters, for `--help`. */
export const deadLetterTopicSection: Settings.Section = {
  title: "the Kafka workers' dead letters (read with LIVE_SOURCE=kafka)",
  variables: [Settings.LIVE_SOURCE, Settings.KAFKA_DLQ_TOPIC, ...Settings.kafkaClientVariables]
}

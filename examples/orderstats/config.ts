/**
 * The settings of the orderstats binaries, read with `Config` from the environment. Secrets
 * (`MONGO_URI`, the AWS secret key and session token, the Kafka SASL password, `REDIS_URL`) are
 * read as `Redacted` and never printed.
 *
 * | variable | default | used by |
 * |---|---|---|
 * | `MONGO_URI` | (required) | bootstrap, worker (change stream), relay, seed, main |
 * | `MONGO_DB`, `MONGO_COLLECTION` | `shop`, `orders` | same |
 * | `MONGO_BATCH_SIZE` | `1000` | documents per batch of the bootstrap's scan |
 * | `MONGO_STREAM_BATCH_SIZE` | `1000` | change events per batch of the change stream (worker, relay) |
 * | `MONGO_IDLE_POLL_MS` | `250` | longest pause between two polls of an idle change stream (worker, relay) |
 * | `LIVE_SOURCE` | `changestream` | worker, main: `changestream` or `kafka` |
 * | `STOP_WHEN_IDLE_MS` | (never) | worker, main with the change stream: stop after that long without a change |
 * | `KAFKA_BROKERS` (+ `KAFKA_SSL`, `KAFKA_SASL_*`, `KAFKA_CLIENT_ID`, `KAFKA_LOG_LEVEL`) | (required for Kafka) | worker, relay, main |
 * | `KAFKA_TOPIC` | `orders.cdc` | the change topic |
 * | `KAFKA_DLQ_TOPIC` | `orders.cdc.dlq` | the dead-letter topic of the Kafka worker |
 * | `CONSUMER_GROUP` | `order_totals_worker` | the workers' consumer group |
 * | `KAFKA_TOPIC_PARTITIONS` | `3` | partitions of topics the binaries create when missing |
 * | `KAFKA_MAX_RECORD_BYTES` | `262144` | larger record values are dead-lettered, not decoded |
 * | `KAFKA_SESSION_TIMEOUT_MS`, `KAFKA_REBALANCE_TIMEOUT_MS`, `KAFKA_HEARTBEAT_INTERVAL_MS` | 30000, 60000, 3000 | group timing |
 * | `KEEP_DOCUMENTS` | `false` | bootstrap, worker: keep the fields each pipeline reads in the ledger, so that Debezium's `capture.mode=change_streams` updates (no document) fold |
 * | `STORE` | `dynamodb` when `DDB_ENDPOINT` is set, else `embedded` | where the state lives |
 * | `STATE_DIR` | `state` | the embedded store's folder (`orderstats.sqlite`) |
 * | `DDB_ENDPOINT`, `AWS_REGION`, AWS credentials, `DDB_TABLE` (+ `DDB_LEDGER_TABLE`, ...) | see docs/dynamodb.md | the DynamoDB store |
 * | `DDB_CREATE_TABLES` | `true` | create missing tables at start (else: a clear error naming the command) |
 * | `REDIS_URL` | (off) | when set: totals are read through the Valkey cache, and writers invalidate it |
 */
import { Config, Option, Redacted } from "effect"
import * as Tables from "../../src/DynamoDb/DynamoDbTables.ts"

const optionalString = (name: string) =>
  Config.option(Config.String(name)).pipe(
    Config.map((o) => (Option.isSome(o) && o.value.trim() !== "" ? o.value.trim() : undefined))
  )

/**
 * The orders collection (`MONGO_DB`, `MONGO_COLLECTION`): the only one whose change records the
 * Kafka worker and `main.js --changes` fold, when a topic or file carries several.
 */
export const namespace = Config.all({
  db: Config.String("MONGO_DB").pipe(Config.withDefault("shop")),
  collection: Config.String("MONGO_COLLECTION").pipe(Config.withDefault("orders"))
})

/**
 * The orders collection and how to reach it.
 */
export const mongo = Config.all({
  uri: Config.Redacted("MONGO_URI"),
  db: Config.String("MONGO_DB").pipe(Config.withDefault("shop")),
  collection: Config.String("MONGO_COLLECTION").pipe(Config.withDefault("orders")),
  batchSize: Config.Int("MONGO_BATCH_SIZE").pipe(Config.withDefault(1000)),
  streamBatchSize: Config.Int("MONGO_STREAM_BATCH_SIZE").pipe(Config.withDefault(1000)),
  idlePollMs: Config.Int("MONGO_IDLE_POLL_MS").pipe(Config.withDefault(250))
})
export type MongoSettings = Config.Success<typeof mongo>

/**
 * Whether the fold keeps each document's fields in the ledger (`Fold.Options.keepDocuments`): set
 * it for a topic written by Debezium with `capture.mode=change_streams`, for the bootstrap and the
 * workers alike.
 */
export const keepDocuments = Config.Boolean("KEEP_DOCUMENTS").pipe(Config.withDefault(false))

/**
 * The change topic, the dead-letter topic and the workers' consumer group (the brokers and
 * credentials are `KafkaJs.config`'s).
 */
export const kafka = Config.all({
  topic: Config.String("KAFKA_TOPIC").pipe(Config.withDefault("orders.cdc")),
  deadLetterTopic: Config.String("KAFKA_DLQ_TOPIC").pipe(Config.withDefault("orders.cdc.dlq")),
  groupId: Config.String("CONSUMER_GROUP").pipe(Config.withDefault("order_totals_worker")),
  partitions: Config.Int("KAFKA_TOPIC_PARTITIONS").pipe(Config.withDefault(3)),
  maxRecordBytes: Config.Int("KAFKA_MAX_RECORD_BYTES").pipe(Config.withDefault(256 * 1024)),
  sessionTimeoutMs: Config.Int("KAFKA_SESSION_TIMEOUT_MS").pipe(Config.withDefault(30_000)),
  rebalanceTimeoutMs: Config.Int("KAFKA_REBALANCE_TIMEOUT_MS").pipe(Config.withDefault(60_000)),
  heartbeatIntervalMs: Config.Int("KAFKA_HEARTBEAT_INTERVAL_MS").pipe(Config.withDefault(3_000))
})
export type KafkaSettings = Config.Success<typeof kafka>

/**
 * Which live source the worker follows.
 */
export const liveSource = Config.Literals(["changestream", "kafka"], "LIVE_SOURCE").pipe(
  Config.withDefault("changestream" as const)
)
export type LiveSource = Config.Success<typeof liveSource>

/**
 * Stop the change-stream worker after this long without a change (catch-up runs, tests).
 */
export const stopWhenIdleMs = Config.option(Config.Int("STOP_WHEN_IDLE_MS")).pipe(Config.map(Option.getOrUndefined))

/**
 * Where the aggregates, the ledger, the tokens and the dead letters live.
 */
export type StoreChoice =
  | {
    readonly _tag: "DynamoDb"
    readonly endpoint: string | undefined
    readonly tables: Tables.TableNames
    readonly createTables: boolean
  }
  | { readonly _tag: "Embedded"; readonly path: string }

/**
 * `STORE` when given; otherwise DynamoDB when `DDB_ENDPOINT` is set, the embedded store in
 * `STATE_DIR` when not (real AWS has no endpoint to set: use `STORE=dynamodb` there).
 */
export const store: Config.Config<StoreChoice> = Config.all({
  store: Config.option(Config.Literals(["dynamodb", "embedded"], "STORE")),
  endpoint: optionalString("DDB_ENDPOINT"),
  stateDir: Config.String("STATE_DIR").pipe(Config.withDefault("state")),
  createTables: Config.Boolean("DDB_CREATE_TABLES").pipe(Config.withDefault(true)),
  tables: Tables.config
}).pipe(Config.map((c): StoreChoice => {
  const kind = Option.getOrElse(c.store, () => (c.endpoint !== undefined ? "dynamodb" as const : "embedded" as const))
  return kind === "dynamodb"
    ? { _tag: "DynamoDb", endpoint: c.endpoint, tables: c.tables, createTables: c.createTables }
    : { _tag: "Embedded", path: `${c.stateDir.replace(/\/+$/, "")}/orderstats.sqlite` }
}))

/**
 * The read cache's server, when one is configured.
 */
export const cacheUrl: Config.Config<Redacted.Redacted<string> | undefined> = Config.option(Config.Redacted("REDIS_URL")).pipe(
  Config.map((o) => (Option.isSome(o) && Redacted.value(o.value).trim() !== "" ? o.value : undefined))
)

/**
 * The settings of the orderstats binaries, read with `Config` from the environment, and the
 * documentation of every variable they read: each binary's `--help` lists its variables with their
 * defaults (see `cli.ts`), and a missing or malformed variable is reported with its description.
 *
 * A variable the example reads itself is declared once, as a {@link Setting}: its name, default
 * and description next to its `Config`, so the default `--help` shows is the one in use. The
 * variables the library reads (`KafkaJs.config`, `DynamoDbClient.config`, `DynamoDbTables.config`)
 * are documented here as plain {@link Variable}s with the library's defaults.
 *
 * Secrets (`MONGO_URI`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `KAFKA_SASL_PASSWORD`,
 * `REDIS_URL`) are read as `Redacted` and never printed.
 */
import { Config, Option, Redacted } from "effect"
import * as Tables from "../../src/DynamoDb/DynamoDbTables.ts"

/**
 * An environment variable, as `--help` lists it.
 */
export interface Variable {
  readonly name: string
  /** The default, or what an unset variable means: `(required)`, `(off)`. */
  readonly fallback: string
  /** What it sets, as a noun phrase ("the database of the orders collection"). */
  readonly description: string
  /** Its value is a secret: never printed, not even when it is malformed. */
  readonly secret: boolean
}

/**
 * A variable the example reads, with its reading.
 */
export interface Setting<A> extends Variable {
  readonly config: Config.Config<A>
}

const variable = (name: string, fallback: string, description: string, secret = false): Variable => ({
  name,
  fallback,
  description,
  secret
})

const withDefault = <A>(read: (name: string) => Config.Config<A>, name: string, value: A, description: string): Setting<A> => ({
  ...variable(name, String(value), description),
  config: read(name).pipe(Config.withDefault(value))
})

const required = <A>(read: (name: string) => Config.Config<A>, name: string, description: string, secret = false): Setting<A> => ({
  ...variable(name, "(required)", description, secret),
  config: read(name)
})

/** Unset or blank: `undefined`. */
const optionalString = (name: string, fallback: string, description: string): Setting<string | undefined> => ({
  ...variable(name, fallback, description),
  config: Config.option(Config.String(name)).pipe(
    Config.map((o) => (Option.isSome(o) && o.value.trim() !== "" ? o.value.trim() : undefined))
  )
})

// ---------------------------------------------------------------------------------------------
// MongoDB

export const MONGO_URI = required(
  Config.Redacted,
  "MONGO_URI",
  "the MongoDB connection string, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0 (a secret: never printed)",
  true
)
export const MONGO_DB = withDefault(Config.String, "MONGO_DB", "shop", "the database of the orders collection")
export const MONGO_COLLECTION = withDefault(Config.String, "MONGO_COLLECTION", "orders", "the orders collection")
export const MONGO_BATCH_SIZE = withDefault(Config.Int, "MONGO_BATCH_SIZE", 1000, "the documents per batch of the bootstrap's scan, an integer")
export const MONGO_STREAM_BATCH_SIZE = withDefault(
  Config.Int,
  "MONGO_STREAM_BATCH_SIZE",
  1000,
  "the change events per batch of the change stream, an integer"
)
export const MONGO_IDLE_POLL_MS = withDefault(
  Config.Int,
  "MONGO_IDLE_POLL_MS",
  250,
  "the longest pause between two polls of an idle change stream, in milliseconds"
)

/**
 * The orders collection (`MONGO_DB`, `MONGO_COLLECTION`): the only one whose change records the
 * Kafka worker and `main.js --changes` fold, when a topic or file carries several.
 */
export const namespace = Config.all({ db: MONGO_DB.config, collection: MONGO_COLLECTION.config })

/**
 * The orders collection and the connection string (the seed's settings).
 */
export const connection = Config.all({ uri: MONGO_URI.config, db: MONGO_DB.config, collection: MONGO_COLLECTION.config })

/**
 * The orders collection and how to read it.
 */
export const mongo = Config.all({
  uri: MONGO_URI.config,
  db: MONGO_DB.config,
  collection: MONGO_COLLECTION.config,
  batchSize: MONGO_BATCH_SIZE.config,
  streamBatchSize: MONGO_STREAM_BATCH_SIZE.config,
  idlePollMs: MONGO_IDLE_POLL_MS.config
})
export type MongoSettings = Config.Success<typeof mongo>

// ---------------------------------------------------------------------------------------------
// the fold and the live source

export const KEEP_DOCUMENTS = withDefault(
  Config.Boolean,
  "KEEP_DOCUMENTS",
  false,
  "true to keep the fields each pipeline reads in the ledger, so that the updates of Debezium's capture.mode=change_streams (no document) fold; else false"
)

/**
 * Whether the fold keeps each document's fields in the ledger (`Fold.Options.keepDocuments`): set
 * it for a topic written by Debezium with `capture.mode=change_streams`, for the bootstrap and the
 * workers alike.
 */
export const keepDocuments = KEEP_DOCUMENTS.config

export const LIVE_SOURCE = withDefault(
  (name) => Config.Literals(["changestream", "kafka"], name),
  "LIVE_SOURCE",
  "changestream" as "changestream" | "kafka",
  "the live source: changestream (the collection's change stream) or kafka (Debezium records on KAFKA_TOPIC)"
)

/**
 * Which live source the worker follows.
 */
export const liveSource = LIVE_SOURCE.config
export type LiveSource = Config.Success<typeof liveSource>

export const STOP_WHEN_IDLE_MS: Setting<number | undefined> = {
  ...variable(
    "STOP_WHEN_IDLE_MS",
    "(never)",
    "with the change stream: the milliseconds without a change after which the worker stops and prints what it folded"
  ),
  config: Config.option(Config.Int("STOP_WHEN_IDLE_MS")).pipe(Config.map(Option.getOrUndefined))
}

/**
 * Stop the change-stream worker after this long without a change (catch-up runs, tests).
 */
export const stopWhenIdleMs = STOP_WHEN_IDLE_MS.config

// ---------------------------------------------------------------------------------------------
// Kafka

/** Read by the library's `KafkaJs.config`. */
export const kafkaClientVariables: ReadonlyArray<Variable> = [
  variable("KAFKA_BROKERS", "(required)", "the Kafka brokers, host:port[,host:port...], e.g. 127.0.0.1:9092"),
  variable("KAFKA_SSL", "false", "true to connect with TLS, else false"),
  variable("KAFKA_SASL_MECHANISM", "(none)", "plain, scram-sha-256 or scram-sha-512 (with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)"),
  variable("KAFKA_SASL_USERNAME", "(none)", "the SASL user"),
  variable("KAFKA_SASL_PASSWORD", "(none)", "the SASL password (a secret: never printed)", true),
  variable("KAFKA_CLIENT_ID", "(kafkajs's)", "the client id the brokers see"),
  variable("KAFKA_LOG_LEVEL", "warn", "kafkajs's log level: nothing, error, warn, info or debug")
]

export const KAFKA_TOPIC = withDefault(Config.String, "KAFKA_TOPIC", "orders.cdc", "the change topic (Debezium names it <prefix>.<db>.<collection>)")
export const KAFKA_DLQ_TOPIC = withDefault(Config.String, "KAFKA_DLQ_TOPIC", "orders.cdc.dlq", "the dead-letter topic of the Kafka workers")
export const CONSUMER_GROUP = withDefault(Config.String, "CONSUMER_GROUP", "order_totals_worker", "the Kafka workers' consumer group")
export const KAFKA_TOPIC_PARTITIONS = withDefault(
  Config.Int,
  "KAFKA_TOPIC_PARTITIONS",
  3,
  "the partitions of the topics the binaries create when missing, an integer"
)
export const KAFKA_MAX_RECORD_BYTES = withDefault(
  Config.Int,
  "KAFKA_MAX_RECORD_BYTES",
  256 * 1024,
  "the largest record value the worker decodes, in bytes (larger ones are dead-lettered)"
)
export const KAFKA_SESSION_TIMEOUT_MS = withDefault(Config.Int, "KAFKA_SESSION_TIMEOUT_MS", 30_000, "the consumer group's session timeout, in milliseconds")
export const KAFKA_REBALANCE_TIMEOUT_MS = withDefault(
  Config.Int,
  "KAFKA_REBALANCE_TIMEOUT_MS",
  60_000,
  "the consumer group's rebalance timeout, in milliseconds"
)
export const KAFKA_HEARTBEAT_INTERVAL_MS = withDefault(
  Config.Int,
  "KAFKA_HEARTBEAT_INTERVAL_MS",
  3_000,
  "the consumer's heartbeat interval, in milliseconds"
)

/**
 * The change topic and the partitions of the topics the binaries create (the relay's settings).
 */
export const topic = Config.all({ topic: KAFKA_TOPIC.config, partitions: KAFKA_TOPIC_PARTITIONS.config })

/**
 * The change topic, the dead-letter topic and the workers' consumer group (the brokers and
 * credentials are `KafkaJs.config`'s).
 */
export const kafka = Config.all({
  topic: KAFKA_TOPIC.config,
  deadLetterTopic: KAFKA_DLQ_TOPIC.config,
  groupId: CONSUMER_GROUP.config,
  partitions: KAFKA_TOPIC_PARTITIONS.config,
  maxRecordBytes: KAFKA_MAX_RECORD_BYTES.config,
  sessionTimeoutMs: KAFKA_SESSION_TIMEOUT_MS.config,
  rebalanceTimeoutMs: KAFKA_REBALANCE_TIMEOUT_MS.config,
  heartbeatIntervalMs: KAFKA_HEARTBEAT_INTERVAL_MS.config
})
export type KafkaSettings = Config.Success<typeof kafka>

// ---------------------------------------------------------------------------------------------
// the store

export const STORE: Setting<Option.Option<"dynamodb" | "embedded">> = {
  ...variable("STORE", "(auto)", "where the state lives: dynamodb or embedded (SQLite); unset: dynamodb when DDB_ENDPOINT is set, else embedded"),
  config: Config.option(Config.Literals(["dynamodb", "embedded"], "STORE"))
}
export const STATE_DIR = withDefault(Config.String, "STATE_DIR", "state", "the embedded store's folder (orderstats.sqlite)")
export const STATE_CACHE_MIB = withDefault(Config.Int, "STATE_CACHE_MIB", 64, "the embedded store's SQLite page cache, in MiB, an integer")
export const DDB_ENDPOINT = optionalString("DDB_ENDPOINT", "(AWS)", "the DynamoDB endpoint URL, e.g. http://127.0.0.1:8000 (unset: AWS itself)")
export const DDB_CREATE_TABLES = withDefault(
  Config.Boolean,
  "DDB_CREATE_TABLES",
  true,
  "true to create missing DynamoDB tables at start, false to stop with an error naming the create-tables command"
)

/** Read by the library's `DynamoDbClient.config` and `DynamoDbTables.config`. */
export const dynamoDbVariables: ReadonlyArray<Variable> = [
  variable("AWS_REGION", "us-east-1", "the AWS region"),
  variable("AWS_ACCESS_KEY_ID", "(SDK chain)", "the access key id (with AWS_SECRET_ACCESS_KEY; unset: the SDK's credential chain)"),
  variable("AWS_SECRET_ACCESS_KEY", "(SDK chain)", "the secret access key (a secret: never printed)", true),
  variable("AWS_SESSION_TOKEN", "(none)", "the session token of temporary credentials (a secret: never printed)", true),
  variable("DDB_TABLE", "order_totals", "the aggregates table (the others default to <DDB_TABLE>_ledger, _tokens, _dead_letters)"),
  variable("DDB_LEDGER_TABLE", "<DDB_TABLE>_ledger", "the contribution ledger's table"),
  variable("DDB_TOKENS_TABLE", "<DDB_TABLE>_tokens", "the positions' table"),
  variable("DDB_DEAD_LETTER_TABLE", "<DDB_TABLE>_dead_letters", "the dead letters' table"),
  variable("DDB_MAX_ATTEMPTS", "3", "the attempts per DynamoDB request, an integer"),
  variable("DDB_REQUEST_TIMEOUT_MS", "10000", "the time limit of one DynamoDB request, in milliseconds"),
  variable("DDB_CONNECT_TIMEOUT_MS", "3000", "the time limit to open a connection to DynamoDB, in milliseconds"),
  variable("DDB_TRANSPORT", "http", "http (DynamoDB's JSON protocol over Node's HTTP agent) or sdk (the AWS SDK client)")
]

export const REDIS_URL: Setting<Redacted.Redacted<string> | undefined> = {
  ...variable(
    "REDIS_URL",
    "(off)",
    "the Valkey/Redis read cache of the totals, e.g. redis://127.0.0.1:6379 (a secret: never printed)",
    true
  ),
  config: Config.option(Config.Redacted("REDIS_URL")).pipe(
    Config.map((o) => (Option.isSome(o) && Redacted.value(o.value).trim() !== "" ? o.value : undefined))
  )
}

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
  | { readonly _tag: "Embedded"; readonly path: string; readonly cacheMiB: number }

/**
 * `STORE` when given; otherwise DynamoDB when `DDB_ENDPOINT` is set, the embedded store in
 * `STATE_DIR` when not (real AWS has no endpoint to set: use `STORE=dynamodb` there).
 */
export const store: Config.Config<StoreChoice> = Config.all({
  store: STORE.config,
  endpoint: DDB_ENDPOINT.config,
  stateDir: STATE_DIR.config,
  cacheMiB: STATE_CACHE_MIB.config,
  createTables: DDB_CREATE_TABLES.config,
  tables: Tables.config
}).pipe(Config.map((c): StoreChoice => {
  const kind = Option.getOrElse(c.store, () => (c.endpoint !== undefined ? "dynamodb" as const : "embedded" as const))
  return kind === "dynamodb"
    ? { _tag: "DynamoDb", endpoint: c.endpoint, tables: c.tables, createTables: c.createTables }
    : { _tag: "Embedded", path: `${c.stateDir.replace(/\/+$/, "")}/orderstats.sqlite`, cacheMiB: c.cacheMiB }
}))

/**
 * The read cache's server, when one is configured.
 */
export const cacheUrl = REDIS_URL.config

// ---------------------------------------------------------------------------------------------
// logging

export const LOG_LEVEL = withDefault(
  Config.LogLevel,
  "LOG_LEVEL",
  "Info",
  "the least severe level logged to stderr: All, Trace, Debug, Info, Warn, Error, Fatal or None"
)

// ---------------------------------------------------------------------------------------------
// what each binary reads, for --help

/**
 * A titled group of variables in `--help`.
 */
export interface Section {
  readonly title: string
  readonly variables: ReadonlyArray<Variable>
}

const section = (title: string, variables: ReadonlyArray<Variable>): Section => ({ title, variables })

/** The variables of each part, as the binaries' `--help` groups them. */
export const sections = {
  mongo: section("MongoDB", [MONGO_URI, MONGO_DB, MONGO_COLLECTION, MONGO_BATCH_SIZE, MONGO_STREAM_BATCH_SIZE, MONGO_IDLE_POLL_MS]),
  connection: section("MongoDB", [MONGO_URI, MONGO_DB, MONGO_COLLECTION]),
  namespace: section("the orders collection (change records of other collections are skipped)", [MONGO_DB, MONGO_COLLECTION]),
  fold: section("the fold", [KEEP_DOCUMENTS]),
  live: section("the live worker", [LIVE_SOURCE, STOP_WHEN_IDLE_MS, KEEP_DOCUMENTS]),
  kafka: section("Kafka (LIVE_SOURCE=kafka)", [
    ...kafkaClientVariables,
    KAFKA_TOPIC,
    KAFKA_DLQ_TOPIC,
    CONSUMER_GROUP,
    KAFKA_TOPIC_PARTITIONS,
    KAFKA_MAX_RECORD_BYTES,
    KAFKA_SESSION_TIMEOUT_MS,
    KAFKA_REBALANCE_TIMEOUT_MS,
    KAFKA_HEARTBEAT_INTERVAL_MS
  ]),
  relay: section("Kafka", [...kafkaClientVariables, KAFKA_TOPIC, KAFKA_TOPIC_PARTITIONS]),
  store: section("the store", [STORE, STATE_DIR, STATE_CACHE_MIB, DDB_ENDPOINT, ...dynamoDbVariables, DDB_CREATE_TABLES, REDIS_URL]),
  logging: section("logging", [LOG_LEVEL])
} as const

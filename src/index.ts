/**
 * effect-monoid-streams: exact streaming aggregation with monoids on Effect.
 *
 * One {@link Pipeline} definition bootstraps per-key aggregates from a source of truth and keeps
 * them exact from a live change stream, through one fold shared by both modes. Every module is
 * exported as a namespace, the way `effect` does.
 *
 * @since 0.1.0
 */

/** Monoids and groups, with the instances aggregates use. */
export * as Monoid from "./Monoid.ts"
/** The law kit: property checks for user monoids. */
export * as Laws from "./Laws.ts"
/** Deep structural equality of aggregate values. */
export * as Equal from "./Equal.ts"
/** Pipelines as immutable values. */
export * as Pipeline from "./Pipeline.ts"
/** Versions of source documents. */
export * as Version from "./Version.ts"
/** Records the fold receives: upserts, deletes, rejects, skips, with positions. */
export * as Input from "./Input.ts"
/** The bootstrap-to-live handoff position. */
export * as Handoff from "./Handoff.ts"
/** Typed failures of a run. */
export * as Errors from "./Errors.ts"

/** The pure batch planner (ledger lookups in, per-key updates out). */
export * as Plan from "./Runtime/Plan.ts"
/** The fold shared by bootstrap and live. */
export * as Fold from "./Runtime/Fold.ts"
/** Bootstrap, then live. */
export * as Orchestrator from "./Runtime/Orchestrator.ts"
/** Staged batches for sources that cannot replay byte-identically. */
export * as Staging from "./Runtime/Staging.ts"

/** The source contract. */
export * as Source from "./Source/Source.ts"
/** JSON-Lines files as sources. */
export * as Jsonl from "./Source/Jsonl.ts"
/** A JSON-Lines collection dump as the bootstrap source. */
export * as JsonlSnapshot from "./Source/JsonlSnapshot.ts"
/** A JSON-Lines dump of Debezium Kafka records as a live source. */
export * as JsonlChanges from "./Source/JsonlChanges.ts"
/** Debezium MongoDB envelope decoding. */
export * as Debezium from "./Source/Debezium.ts"
/** MongoDB documents as exact JSON. */
export * as ExtendedJson from "./Source/ExtendedJson.ts"
/** Document ids as the ledger keys them. */
export * as DocumentId from "./Source/DocumentId.ts"

/** The aggregate store service and its replay rules. */
export * as Aggregates from "./Store/Aggregates.ts"
/** The contribution ledger service. */
export * as Ledger from "./Store/Ledger.ts"
/** The token store service. */
export * as Tokens from "./Store/Tokens.ts"
/** The dead-letter sink service. */
export * as DeadLetters from "./Store/DeadLetters.ts"
/** The error of every store. */
export * as StoreError from "./Store/StoreError.ts"
/** In-memory stores. */
export * as MemoryStore from "./Store/Memory.ts"
/** The embedded SQLite store. */
export * as EmbeddedStore from "./Store/Embedded.ts"
/** JSON text for aggregate values. */
export * as ValueCodec from "./Store/ValueCodec.ts"

/** Our Kafka client port (consumer groups, producer), independent of the client library. */
export * as KafkaPort from "./Kafka/Port.ts"
/** The kafkajs adapter of the Kafka port. */
export * as KafkaJs from "./Kafka/KafkaJs.ts"
/** A Kafka topic (Debezium envelopes or plain documents) read by a consumer group as a live source. */
export * as KafkaSource from "./Source/KafkaSource.ts"
/** Dead letters on a Kafka topic, with the original key and value and reason headers. */
export * as KafkaDeadLetters from "./Store/KafkaDeadLetters.ts"

/** DynamoDB: every store service (aggregates, ledger, tokens, dead letters) on DynamoDB tables. */
export * as DynamoDbStore from "./Store/DynamoDb/Store.ts"
/** The DynamoDB client as a scoped service, configured from the environment. */
export * as DynamoDbClient from "./Store/DynamoDb/Client.ts"
/** DynamoDB table names and the create-tables helper. */
export * as DynamoDbTables from "./Store/DynamoDb/Tables.ts"
/** A Valkey/Redis read-through cache in front of the aggregate store (never the source of truth). */
export * as AggregateCache from "./Store/Cache.ts"

/** MongoDB: the client service, connection and config, document decoding. */
export * as Mongo from "./Source/Mongo.ts"
/** Capturing the handoff position P0 of a MongoDB collection. */
export * as MongoHandoff from "./Source/MongoHandoff.ts"
/** A resumable, staged scan of a MongoDB collection in `_id` order (the bootstrap source). */
export * as MongoSnapshot from "./Source/MongoSnapshot.ts"
/** A MongoDB change stream as a live source, resumable from its committed token. */
export * as MongoChangeStream from "./Source/MongoChangeStream.ts"
/** Bootstrap and live for one MongoDB collection, as an orchestrator spec. */
export * as MongoCollection from "./Source/MongoCollection.ts"

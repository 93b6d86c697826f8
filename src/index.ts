/**
 * effect-monoid-streams: exact streaming aggregation with monoids on Effect.
 *
 * One {@link Pipeline} definition bootstraps per-key aggregates from a source of truth and keeps
 * them exact from a live change stream, through one fold shared by both modes. Every public module
 * is exported as a namespace named after its file, the way `effect` does, and as a subpath of
 * the same name (`effect-monoid-streams/Pipeline`); what lives under `internal/` (and the batch
 * planner, `Runtime/Plan.ts`) is machinery, not part of the API.
 *
 * This entry point loads no client library. The modules that need one (an optional peer
 * dependency, installed by the application that uses it) are exported only as subpaths:
 *
 * - `Laws` (`fast-check`), and `effect-monoid-streams/vitest` (`@effect/vitest`, `fast-check`);
 * - `KafkaJs` (`kafkajs`);
 * - `Mongo`, `MongoHandoff`, `MongoSnapshot`, `MongoChangeStream`, `MongoCollection` (`mongodb`);
 * - `DynamoDbStore`, `DynamoDbClient`, `DynamoDbTables` (`@aws-sdk/client-dynamodb`);
 * - `AggregateCache` (`ioredis`).
 *
 * Importing one of them without its client fails with `ERR_MODULE_NOT_FOUND` naming the package
 * to install.
 *
 * @since 0.1.0
 */

/** Monoids and groups, with the instances aggregates use. */
export * as Monoid from "./Monoid.ts"
/** Deep structural equality of aggregate values. */
export * as Equal from "./Equal.ts"
/** Pipelines as immutable values. */
export * as Pipeline from "./Pipeline.ts"
/** Windowed aggregates: buckets of event time with a retention. */
export * as Window from "./Window.ts"
/** Versions of source documents. */
export * as Version from "./Version.ts"
/** Records the fold receives: upserts, deletes, rejects, skips, with positions. */
export * as Input from "./Input.ts"
/** The bootstrap-to-live handoff position. */
export * as Handoff from "./Handoff.ts"
/** Typed failures of a run. */
export * as Errors from "./Errors.ts"

/** The 64-bit hash the sketches share (xxHash64 over a stable byte form of each item). */
export * as Hash64 from "./Hash64.ts"
/** HyperLogLog distinct counts (insert-only). */
export * as HyperLogLog from "./HyperLogLog.ts"
/** Count-Min frequencies, a group: folds updates and deletes. */
export * as CountMinSketch from "./CountMinSketch.ts"
/** Bloom filter membership (insert-only). */
export * as BloomFilter from "./BloomFilter.ts"
/** Exact top-k, a group, truncated only when read. */
export * as TopK from "./TopK.ts"
/** Bounded Misra–Gries heavy hitters, lawful up to a documented bound. */
export * as MisraGries from "./MisraGries.ts"
/** Exponentially decayed sums (trending). */
export * as DecayedSum from "./DecayedSum.ts"
/** One binary codec and size check for every sketch. */
export * as Sketch from "./Sketch.ts"
/** The sketches' typed errors. */
export * as SketchError from "./SketchError.ts"

/** The fold shared by bootstrap and live. */
export * as Fold from "./Runtime/Fold.ts"
/** Bootstrap, then live. */
export * as Orchestrator from "./Runtime/Orchestrator.ts"
/** Rebuilds a pipeline's aggregates beside the live ones and swaps them in atomically. */
export * as Rebootstrap from "./Runtime/Rebootstrap.ts"

/** The source contract. */
export * as Source from "./Source.ts"
/** JSON-Lines files as sources. */
export * as Jsonl from "./Jsonl/Jsonl.ts"
/** A JSON-Lines collection dump as the bootstrap source. */
export * as JsonlSnapshot from "./Jsonl/JsonlSnapshot.ts"
/** A JSON-Lines dump of Debezium Kafka records as a live source. */
export * as JsonlChanges from "./Jsonl/JsonlChanges.ts"
/** Debezium MongoDB envelope decoding. */
export * as Debezium from "./Kafka/Debezium.ts"
/** MongoDB documents as exact JSON. */
export * as ExtendedJson from "./ExtendedJson.ts"
/** Document ids as the ledger keys them. */
export * as DocumentId from "./DocumentId.ts"
/** MongoDB `updateDescription`s applied to a kept document. */
export * as UpdateDescription from "./UpdateDescription.ts"

/** The aggregate store service and its replay rules. */
export * as Aggregates from "./Store/Aggregates.ts"
/** The contribution ledger service. */
export * as Ledger from "./Store/Ledger.ts"
/** The token store service. */
export * as Tokens from "./Store/Tokens.ts"
/** The dead-letter sink service. */
export * as DeadLetters from "./Store/DeadLetters.ts"
/** Store transactions: a batch's writes as one atomic unit, where a store can. */
export * as Transactions from "./Store/Transactions.ts"
/** The error of every store. */
export * as StoreError from "./Store/StoreError.ts"
/** Generations of a pipeline's aggregates and the pointer readers follow. */
export * as Generations from "./Store/Generations.ts"
/** In-memory stores. */
export * as MemoryStore from "./Store/Memory.ts"
/** The embedded SQLite store. */
export * as EmbeddedStore from "./Store/Embedded.ts"

/** Our Kafka client port (consumer groups, producer), independent of the client library. */
export * as KafkaPort from "./Kafka/KafkaPort.ts"
/** A Kafka topic (Debezium envelopes or plain documents) read by a consumer group as a live source. */
export * as KafkaSource from "./Kafka/KafkaSource.ts"
/** Dead letters on a Kafka topic, with the original key and value and reason headers. */
export * as KafkaDeadLetters from "./Kafka/KafkaDeadLetters.ts"

/** Reconciliation: a pipeline's aggregates recomputed from the source of truth, compared with the store. */
export * as Verify from "./Admin/Verify.ts"
/** Dead letters with their resolution, and their replay once the documents are fixed, exactly once. */
export * as DeadLetterReplay from "./Admin/DeadLetterReplay.ts"
/** A pipeline's phase, aggregates, dead letters, positions and consumer lag, from the store. */
export * as PipelineStatus from "./Admin/PipelineStatus.ts"

/**
 * Kafka records exactly as a Debezium MongoDB source connector writes them through Kafka Connect's
 * `JsonConverter`: data change events (snapshot reads, inserts, updates, replaces, deletes and their
 * tombstones), transaction metadata (BEGIN/END) and heartbeats. NOTES.md gives the field-by-field
 * account and the Debezium files and tags each rule comes from.
 *
 * Documents are `bson` values (see `Bson.ts`), so an `_id` of any BSON type can be used.
 */
import { Binary, UUID } from "bson"
import type { Document } from "./Bson.ts"
import { documentGet, int64Of, isDocument } from "./Bson.ts"
import * as C from "./Connect.ts"
import type { JavaJsonOptions } from "./JavaJson.ts"
import { writeDocument, writeValue } from "./JavaJson.ts"
import type { DebeziumVersion, Features } from "./Versions.ts"
import { features } from "./Versions.ts"

/** `capture.mode` (MongoDbConnectorConfig.CaptureMode); Debezium's default is `change_streams_update_full`. */
export type CaptureMode =
  | "change_streams"
  | "change_streams_update_full"
  | "change_streams_with_pre_image"
  | "change_streams_update_full_with_pre_image"

/** `json.serialization.mode` (MongoDbConnectorConfig.JsonSerializationMode, 3.7+); before 3.7 always "legacy". */
export type SerializationMode = "legacy" | "strict" | "extended" | "relaxed"

/** The change: `replace` is a change stream `replace` event, which Debezium writes with op `u`. */
export type ChangeOp = "r" | "c" | "u" | "replace" | "d"

/** A change event's `clusterTime` (a BSON Timestamp: seconds `t`, increment `i`). */
export interface ClusterTime {
  readonly t: number
  readonly i: number
}

/** A change stream `updateDescription`, as MongoDB gives it. */
export interface UpdateDescription {
  readonly updatedFields: Document
  readonly removedFields?: ReadonlyArray<string>
  readonly truncatedArrays?: ReadonlyArray<{ readonly field: string; readonly newSize: number }>
}

/** A multi-document transaction the change belongs to (the change event's `lsid` and `txnNumber`). */
export interface Transaction {
  /** The session id document; defaults to {@link DEFAULT_LSID}. */
  readonly lsid?: Document
  readonly txnNumber: number | bigint
  /** `transaction.total_order` (1-based position of the event in its transaction). Default 1. */
  readonly totalOrder?: number
  /** `transaction.data_collection_order` (1-based position among the transaction's events on this collection). Default 1. */
  readonly dataCollectionOrder?: number
}

/** One Kafka record: key and value are the converter's text (null for a tombstone's value). */
export interface KafkaRecord {
  readonly topic: string
  readonly partition?: number
  readonly key: string | null
  readonly value: string | null
  readonly headers?: Readonly<Record<string, string>>
}

/** Connector settings that shape records (Debezium defaults unless noted). */
export interface ConnectorSettings {
  readonly version: DebeziumVersion
  /** `topic.prefix`; default "dbserver1". */
  readonly topicPrefix?: string
  /** `capture.mode`; default "change_streams_update_full". */
  readonly capture?: CaptureMode
  /** `json.serialization.mode`; default "legacy"; other values need version "3.7". */
  readonly serialization?: SerializationMode
  /**
   * `key.converter.schemas.enable` / `value.converter.schemas.enable` of `JsonConverter`
   * (Kafka's default: true). A boolean sets both.
   */
  readonly schemasEnable?: boolean | { readonly key: boolean; readonly value: boolean }
  /** `tombstones.on.delete`; default true. */
  readonly tombstonesOnDelete?: boolean
  /** `provide.transaction.metadata`; default false. */
  readonly provideTransactionMetadata?: boolean
  /** `extended.headers.enabled` (3.2+); default true. */
  readonly extendedHeaders?: boolean
  /** The task's run id (a UUID) in the 3.4+ `__debezium.context.runId` header; default {@link DEFAULT_RUN_ID}. */
  readonly runId?: string
  /** `source.version`; default the release of `version` (e.g. "3.6.1.Final"). */
  readonly release?: string
  /** The topic after a router SMT (e.g. RegexRouter, see {@link routeTopic}); schema names keep the original topic. */
  readonly topic?: string
}

/** A data change, as the database had it, and what the connector saw. */
export interface ChangeEvent extends ConnectorSettings {
  readonly op: ChangeOp
  readonly db: string
  readonly collection: string
  /** The document's `_id`; default `after._id`, else `before._id`. */
  readonly id?: unknown
  /** The document before the change (the pre-image); used only by the `*_with_pre_image` capture modes. */
  readonly before?: Document | null
  /** The document after the change: inserted, replacement, updated (post-image) or snapshot-read document. */
  readonly after?: Document | null
  /**
   * What an `*_update_full` update carries as `after`: the document the connector looked up (or the
   * post-image). Default `after`; `null` for a document deleted before the lookup.
   */
  readonly lookup?: Document | null
  /** Whether the collection has `changeStreamPreAndPostImages` enabled (pre-images available); default true. */
  readonly preImages?: boolean
  /** Required for op "u". */
  readonly update?: UpdateDescription
  /**
   * The change event's cluster time (required for c, u, replace, d). For op "r", the connector's
   * position when the record was made: absent for an initial snapshot that began from a resume
   * token (the usual case), the last streamed event's time for an incremental snapshot.
   */
  readonly clusterTime?: ClusterTime
  /** The change event's `wallTime` in ms (MongoDB 6.0+); absent on older servers and for snapshot reads. */
  readonly wallTimeMs?: number
  /**
   * The connector's clock when it made the record (the envelope `ts_ms`). Default: 1000 ms after
   * the change (wall time, else cluster time), or 1_700_000_000_000 for a snapshot read.
   */
  readonly processedAtMs?: number
  /**
   * For op "r": the connector's clock in ns when it made the `source` block (3.1+ uses it as
   * `source.ts_*` when the position has no cluster time). Default `processedAtMs` in ns.
   */
  readonly snapshotNowNs?: bigint
  /** For op "r": "true" (default), "last" (the snapshot's last record) or "incremental". */
  readonly snapshot?: "true" | "last" | "incremental"
  /**
   * For op "r" in 3.5+ with `snapshot.max.threads` > 1: a collection snapshotted by a thread other
   * than the first gets a copied offset whose position is the zero timestamp (ts_ms 0, ord 0).
   */
  readonly snapshotCopiedOffset?: boolean
  readonly txn?: Transaction
}

/** A session id as MongoDB writes it in change events: a UUID and the user's SHA-256 digest. */
export const DEFAULT_LSID: Document = {
  id: new UUID("4f1a6d7e-2b3c-4d5e-8f90-a1b2c3d4e5f6"),
  uid: new Binary(Buffer.from("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "base64"), 0)
}

export const DEFAULT_RUN_ID = "00000000-0000-4000-8000-000000000000"

const SNAPSHOT_DEFAULT_NOW_MS = 1_700_000_000_000

// ---------------------------------------------------------------------------------------------
// names

const isTopicChar = (c: string): boolean => /[A-Za-z0-9._-]/.test(c)

/**
 * `DefaultTopicNamingStrategy.dataChangeTopic` (debezium-connector-common, schema/): prefix, db and
 * collection joined by "." (`topic.delimiter`), characters other than `[A-Za-z0-9._-]` replaced by `_`.
 */
export const dataChangeTopic = (topicPrefix: string, db: string, collection: string): string => {
  const name = [topicPrefix, db, collection].filter((p) => p.trim() !== "").join(".")
  const sanitized = [...name].map((c) => (isTopicChar(c) ? c : "_")).join("").slice(0, 249)
  return sanitized === "." ? "_" : sanitized === ".." ? "__" : sanitized
}

/** `AbstractTopicNamingStrategy.transactionTopic`: `<topic.prefix>.transaction`. */
export const transactionTopic = (topicPrefix: string): string => `${topicPrefix}.transaction`

/** `AbstractTopicNamingStrategy.heartbeatTopic`: `__debezium-heartbeat.<topic.prefix>` by default. */
export const heartbeatTopic = (topicPrefix: string, heartbeatPrefix = "__debezium-heartbeat"): string =>
  `${heartbeatPrefix}.${topicPrefix}`

/**
 * Kafka's `org.apache.kafka.connect.transforms.RegexRouter`: when `regex` matches the whole topic,
 * the topic becomes `replacement` with `$1`... groups filled in (keys, values and schema names are
 * left alone).
 */
export const routeTopic = (record: KafkaRecord, regex: string, replacement: string): KafkaRecord => {
  const m = new RegExp(`^(?:${regex})$`).exec(record.topic)
  if (m === null) return record
  const topic = replacement.replace(/\$(\d)/g, (_, g: string) => m[Number(g)] ?? "")
  return { ...record, topic }
}

// ---------------------------------------------------------------------------------------------
// schemas (MongoDbSchema.schemaFor, MongoDbSourceInfoStructMaker, SchemaFactory, MongoDbSchemaFactory)

const JSON_FIELD: C.ConnectSchema = { type: "string", optional: true, name: "io.debezium.data.Json", version: 1 }

const sourceSchema = (f: Features): C.ConnectSchema =>
  C.struct(
    [
      C.field("version", C.string(false)),
      C.field("connector", C.string(false)),
      C.field("name", C.string(false)),
      C.field("ts_ms", C.int64(false)),
      C.field("snapshot", {
        type: "string",
        optional: true,
        name: "io.debezium.data.Enum",
        version: 1,
        parameters: [["allowed", f.snapshotAllowed]],
        default: "false"
      }),
      C.field("db", C.string(false)),
      C.field("sequence", C.string(true)),
      C.field("ts_us", C.int64(true)),
      C.field("ts_ns", C.int64(true)),
      C.field("collection", C.string(false)),
      C.field("ord", C.int32(false)),
      C.field("lsid", C.string(true)),
      C.field("txnNumber", C.int64(true)),
      C.field("wallTime", C.int64(true))
    ],
    { optional: false, name: "io.debezium.connector.mongo.Source", version: f.sourceSchemaVersioned ? 1 : undefined }
  )

const TRUNCATED_ARRAY = C.struct([C.field("field", C.string(false)), C.field("size", C.int32(false))], {
  optional: false,
  name: "io.debezium.connector.mongodb.changestream.truncatedarray",
  version: 1
})

const UPDATE_DESCRIPTION = C.struct(
  [
    C.field("removedFields", C.arrayOf(C.string(false), true)),
    C.field("updatedFields", JSON_FIELD),
    C.field("truncatedArrays", C.arrayOf(TRUNCATED_ARRAY, true))
  ],
  { optional: true, name: "io.debezium.connector.mongodb.changestream.updatedescription", version: 1 }
)

const TRANSACTION_BLOCK = C.struct(
  [C.field("id", C.string(false)), C.field("total_order", C.int64(false)), C.field("data_collection_order", C.int64(false))],
  { optional: true, name: "event.block", version: 1 }
)

/** The record key's schema: struct `<topic>.Key` with one string field `id`. */
export const keySchema = (topic: string): C.ConnectSchema =>
  C.struct([C.field("id", C.string(false))], { optional: false, name: `${topic}.Key` })

/** The topic (and schema-name stem) of a collection's records before any router SMT. */
export const schemaTopicOf = (e: { readonly topicPrefix?: string; readonly db: string; readonly collection: string }): string =>
  dataChangeTopic(e.topicPrefix ?? "dbserver1", e.db, e.collection)

/** The record value's schema: struct `<topic>.Envelope` (no schema version). */
export const valueSchema = (topic: string, f: Features): C.ConnectSchema =>
  C.struct(
    [
      C.field("before", JSON_FIELD),
      C.field("after", JSON_FIELD),
      C.field("updateDescription", UPDATE_DESCRIPTION),
      C.field("source", sourceSchema(f)),
      C.field("op", C.string(true)),
      C.field("ts_ms", C.int64(true)),
      C.field("transaction", TRANSACTION_BLOCK)
    ],
    { optional: false, name: `${topic}.Envelope` }
  )

// ---------------------------------------------------------------------------------------------
// JSON writer settings (JsonSerialization)

/** The settings Debezium writes `after`/`before` with, per serialization mode. */
export const documentJsonOptions = (mode: SerializationMode, f: Features): JavaJsonOptions => ({
  mode: mode === "legacy" || mode === "strict" ? "strict" : mode,
  layout: "compact",
  exponentPlus: f.exponentPlus
})

/** The settings of `updateDescription.updatedFields`: legacy is `BsonDocument.toJson()` (relaxed, default layout). */
export const updatedFieldsJsonOptions = (mode: SerializationMode, f: Features): JavaJsonOptions =>
  mode === "legacy"
    ? { mode: "relaxed", layout: "default", exponentPlus: f.exponentPlus }
    : documentJsonOptions(mode, f)

/** The record key's `id` text: `JsonSerialization.getDocumentId`, relaxed mode, compact layout, in every version and mode. */
export const keyIdText = (id: unknown, f: Features): string =>
  writeValue(id, { mode: "relaxed", layout: "compact", exponentPlus: f.exponentPlus })

/** `source.lsid`: the session id document in strict mode, compact layout (MongoUtils.getChangeStreamSessionTransactionId). */
export const lsidText = (lsid: Document, f: Features): string =>
  writeDocument(lsid, { mode: "strict", layout: "compact", exponentPlus: f.exponentPlus })

/** The transaction id Debezium uses (MongoDbEventMetadataProvider.getTransactionId): `<lsid>:<txnNumber>`. */
export const transactionId = (txn: Transaction, version: DebeziumVersion): string =>
  `${lsidText(txn.lsid ?? DEFAULT_LSID, features(version))}:${int64Of(txn.txnNumber).toString()}`

// ---------------------------------------------------------------------------------------------
// the event

interface Resolved {
  readonly f: Features
  readonly prefix: string
  readonly schemaTopic: string
  readonly topic: string
  readonly capture: CaptureMode
  readonly serialization: SerializationMode
  readonly keySchemas: boolean
  readonly valueSchemas: boolean
  readonly headers: Readonly<Record<string, string>> | undefined
}

const resolveSettings = (s: ConnectorSettings & { readonly db?: string; readonly collection?: string }): Resolved => {
  const f = features(s.version)
  const serialization = s.serialization ?? "legacy"
  if (serialization !== "legacy" && !f.jsonSerializationModeOption) {
    throw new Error(`json.serialization.mode=${serialization} needs Debezium 3.7 (version ${f.line} has only the legacy behaviour)`)
  }
  const prefix = s.topicPrefix ?? "dbserver1"
  const schemaTopic = s.db === undefined || s.collection === undefined ? prefix : dataChangeTopic(prefix, s.db, s.collection)
  const se = s.schemasEnable ?? true
  const headersOn = f.extendedHeaders && s.extendedHeaders !== false
  const headers: Record<string, string> | undefined = headersOn
    ? {
      "__debezium.context.connectorLogicalName": prefix,
      "__debezium.context.taskId": "0",
      "__debezium.context.connectorName": "mongodb",
      ...(f.runIdHeader ? { "__debezium.context.runId": s.runId ?? DEFAULT_RUN_ID } : {})
    }
    : undefined
  return {
    f,
    prefix,
    schemaTopic,
    topic: s.topic ?? schemaTopic,
    capture: s.capture ?? "change_streams_update_full",
    serialization,
    keySchemas: typeof se === "boolean" ? se : se.key,
    valueSchemas: typeof se === "boolean" ? se : se.value,
    headers
  }
}

const withPreImage = (c: CaptureMode): boolean => c === "change_streams_with_pre_image" || c === "change_streams_update_full_with_pre_image"
const updateFull = (c: CaptureMode): boolean => c === "change_streams_update_full" || c === "change_streams_update_full_with_pre_image"

/** What the connector puts in `before`, `after` and `updateDescription` for the event (MongoDbCollectionSchema). */
export interface EnvelopeDocuments {
  readonly before: Document | null
  readonly after: Document | null
  readonly update: UpdateDescription | null
}

/**
 * `MongoDbCollectionSchema.valueFromDocumentSnapshot` / `valueFromDocumentChangeStream`, with what
 * the change stream carries per capture mode (MongoDbStreamingChangeEventSource.initChangeStream):
 * - r, c: `after`;
 * - u: `updateDescription` always; `after` only in `*_update_full` (the looked-up document, or null);
 *   `before` only in `*_with_pre_image` (null when the collection keeps no pre-images);
 * - replace: `after` (a replace event always has its full document); `before` as for u; no
 *   `updateDescription`;
 * - d: `before` as for u; nothing else.
 */
export const envelopeDocuments = (e: ChangeEvent): EnvelopeDocuments => {
  const capture = e.capture ?? "change_streams_update_full"
  const preImage = withPreImage(capture) && e.preImages !== false ? (e.before ?? null) : null
  switch (e.op) {
    case "r":
    case "c":
      if (e.after === undefined || e.after === null) throw new Error(`op ${e.op} needs "after"`)
      return { before: null, after: e.after, update: null }
    case "u": {
      if (e.update === undefined) throw new Error(`op u needs "update" (the change stream's updateDescription)`)
      const looked = e.lookup !== undefined ? e.lookup : (e.after ?? null)
      return { before: preImage, after: updateFull(capture) ? looked : null, update: e.update }
    }
    case "replace":
      if (e.after === undefined || e.after === null) throw new Error(`op replace needs "after" (the replacement document)`)
      return { before: preImage, after: e.after, update: null }
    case "d":
      return { before: preImage, after: null, update: null }
  }
}

/** The document id of the event: `id`, else `after._id`, else `before._id`. */
export const idOf = (e: ChangeEvent): unknown => {
  if (e.id !== undefined) return e.id
  for (const doc of [e.after, e.before, e.lookup]) {
    if (doc !== undefined && doc !== null && isDocument(doc)) {
      const id = documentGet(doc, "_id")
      if (id !== undefined) return id
    }
  }
  throw new Error("no id: give `id`, or an `after`/`before` with an _id")
}

interface SourceTimes {
  readonly ms: bigint
  readonly ns: bigint
  readonly ord: number
  readonly wallTime: number | null
}

/**
 * `SourceInfo.timestamp()`/`position()` and `MongoDbSourceInfoStructMaker.struct`:
 * - streaming: cluster time seconds (3.4+: the event's wallTime when present); ord = increment;
 *   wallTime = the event's wallTime;
 * - snapshot read: `readEvent` clears wallTime; a position without cluster time (an initial
 *   snapshot started from a resume token) gives ord -1 and ts 0 (2.7, 3.0) or the connector's clock
 *   (3.1+); a copied offset (3.5+, other snapshot threads) has the zero timestamp.
 */
const sourceTimes = (e: ChangeEvent, f: Features): SourceTimes => {
  if (e.op === "r") {
    if (e.snapshotCopiedOffset === true) {
      if (!(f.line >= "3.5")) throw new Error("copied snapshot offsets exist from 3.5 on (dbz#1531)")
      return { ms: 0n, ns: 0n, ord: 0, wallTime: null }
    }
    if (e.clusterTime !== undefined) {
      const t = BigInt(e.clusterTime.t)
      return { ms: t * 1000n, ns: t * 1_000_000_000n, ord: e.clusterTime.i, wallTime: null }
    }
    if (!f.snapshotTsIsNow) return { ms: 0n, ns: 0n, ord: -1, wallTime: null }
    const ns = e.snapshotNowNs ?? BigInt(e.processedAtMs ?? SNAPSHOT_DEFAULT_NOW_MS) * 1_000_000n
    return { ms: ns / 1_000_000n, ns, ord: -1, wallTime: null }
  }
  if (e.clusterTime === undefined) throw new Error(`op ${e.op} needs "clusterTime"`)
  const wall = e.wallTimeMs !== undefined && e.wallTimeMs !== 0 ? e.wallTimeMs : null
  const t = BigInt(e.clusterTime.t)
  if (f.tsMsPrefersWallTime && wall !== null) {
    return { ms: BigInt(wall), ns: BigInt(wall) * 1_000_000n, ord: e.clusterTime.i, wallTime: wall }
  }
  return { ms: t * 1000n, ns: t * 1_000_000_000n, ord: e.clusterTime.i, wallTime: wall }
}

const defaultProcessedAt = (e: ChangeEvent): number => {
  if (e.processedAtMs !== undefined) return e.processedAtMs
  if (e.op === "r") return SNAPSHOT_DEFAULT_NOW_MS
  if (e.wallTimeMs !== undefined) return e.wallTimeMs + 1000
  return (e.clusterTime?.t ?? 0) * 1000 + 1000
}

/** The `source` struct value. */
const sourceValue = (e: ChangeEvent, r: Resolved): C.ConnectStruct => {
  const times = sourceTimes(e, r.f)
  const snapshot = e.op === "r" ? (e.snapshot ?? "true") : null
  return {
    version: e.release ?? r.f.release,
    connector: "mongodb",
    name: r.prefix,
    ts_ms: times.ms,
    snapshot,
    db: e.db,
    sequence: null,
    ts_us: times.ns / 1000n,
    ts_ns: times.ns,
    collection: e.collection,
    ord: times.ord,
    lsid: e.txn === undefined ? null : lsidText(e.txn.lsid ?? DEFAULT_LSID, r.f),
    txnNumber: e.txn === undefined ? null : int64Of(e.txn.txnNumber),
    wallTime: times.wallTime === null ? null : BigInt(times.wallTime)
  }
}

const OP_CODE: Record<ChangeOp, string> = { r: "r", c: "c", u: "u", replace: "u", d: "d" }

const updateDescriptionValue = (u: UpdateDescription | null, r: Resolved): C.ConnectStruct | null => {
  if (u === null) return null
  const removed = u.removedFields ?? []
  const truncated = u.truncatedArrays ?? []
  return {
    removedFields: removed.length === 0 ? null : [...removed],
    updatedFields: writeDocument(u.updatedFields, updatedFieldsJsonOptions(r.serialization, r.f)),
    truncatedArrays: truncated.length === 0 ? null : truncated.map((t) => ({ field: t.field, size: t.newSize }))
  }
}

/** The envelope struct value (the record value before conversion). */
export const envelopeValue = (e: ChangeEvent): C.ConnectStruct => {
  const r = resolveSettings(e)
  const docs = envelopeDocuments(e)
  const docOptions = documentJsonOptions(r.serialization, r.f)
  const txBlock = e.provideTransactionMetadata === true && e.txn !== undefined
    ? {
      id: transactionId(e.txn, e.version),
      total_order: BigInt(e.txn.totalOrder ?? 1),
      data_collection_order: BigInt(e.txn.dataCollectionOrder ?? 1)
    }
    : null
  return {
    before: docs.before === null ? null : writeDocument(docs.before, docOptions),
    after: docs.after === null ? null : writeDocument(docs.after, docOptions),
    updateDescription: updateDescriptionValue(docs.update, r),
    source: sourceValue(e, r),
    op: OP_CODE[e.op],
    ts_ms: BigInt(defaultProcessedAt(e)),
    transaction: txBlock
  }
}

const withHeaders = (rec: Omit<KafkaRecord, "headers">, headers: Readonly<Record<string, string>> | undefined): KafkaRecord =>
  headers === undefined ? rec : { ...rec, headers }

/**
 * The record key text: `{"id": "<relaxed Extended JSON of _id>"}` (with its schema when key schemas
 * are on). Follows `MongoDbSchema.schemaFor` (key schema) and `JsonSerialization.getDocumentId`
 * (v2.7.0.Final … aad5519902, unchanged since 2.5, DBZ-7157).
 */
export const keyJson = (e: ChangeEvent): string => {
  const r = resolveSettings(e)
  return C.converterJson(keySchema(r.schemaTopic), { id: keyIdText(idOf(e), r.f) }, r.keySchemas)
}

/**
 * The data change record (no tombstone). Follows `MongoDbChangeRecordEmitter.createAndEmitChangeRecord`
 * (c, u, d) and `MongoDbSnapshotRecordEmitter.emitReadRecord` (r), debezium-connector-mongodb
 * `recordemitter/`, v2.7.0.Final through aad5519902 (3.7.0-SNAPSHOT).
 */
export const record = (e: ChangeEvent): KafkaRecord => {
  const r = resolveSettings(e)
  const value = C.converterJson(valueSchema(r.schemaTopic, r.f), envelopeValue(e), r.valueSchemas)
  return withHeaders({ topic: r.topic, key: keyJson(e), value }, r.headers)
}

/**
 * The tombstone that follows a delete when `tombstones.on.delete` is true (the default): same topic,
 * key and headers, null value. Follows `EventDispatcher.StreamingChangeRecordReceiver.changeRecord`
 * (debezium-core `pipeline/EventDispatcher.java` at v2.7.0.Final and v3.4.0.Final,
 * debezium-connector-common from 3.5, same code through aad5519902).
 */
export const tombstone = (e: ChangeEvent): KafkaRecord => {
  const r = resolveSettings(e)
  return withHeaders({ topic: r.topic, key: keyJson(e), value: null }, r.headers)
}

/** The records one change produces: the data record, and for a delete its tombstone (unless `tombstonesOnDelete` is false). */
export const records = (e: ChangeEvent): ReadonlyArray<KafkaRecord> =>
  e.op === "d" && e.tombstonesOnDelete !== false ? [record(e), tombstone(e)] : [record(e)]

// ---------------------------------------------------------------------------------------------
// transaction metadata topic (TransactionMonitor, AbstractTransactionStructMaker, SchemaFactory)

const TX_KEY = C.struct([C.field("id", C.string(false))], { optional: false, name: "io.debezium.connector.common.TransactionMetadataKey", version: 1 })

const TX_VALUE = C.struct(
  [
    C.field("status", C.string(false)),
    C.field("id", C.string(false)),
    C.field("event_count", C.int64(true)),
    C.field(
      "data_collections",
      C.arrayOf(
        C.struct([C.field("data_collection", C.string(false)), C.field("event_count", C.int64(false))], {
          optional: true,
          name: "event.collection",
          version: 1
        }),
        true
      )
    ),
    C.field("ts_ms", C.int64(false))
  ],
  { optional: false, name: "io.debezium.connector.common.TransactionMetadataValue", version: 1 }
)

export interface TransactionMarker extends Omit<ConnectorSettings, "topic" | "release" | "capture" | "serialization"> {
  /** The transaction's events: its id is `<lsid>:<txnNumber>`. */
  readonly txn: Transaction
  /** BEGIN: the first event's `source.ts_ms`; END: the `source.ts_ms` of the event that closed it (see NOTES.md). */
  readonly tsMs: number
}

/**
 * A BEGIN record on `<topic.prefix>.transaction`: emitted just before the first event of a
 * transaction; key `{"id": txId}`, value status/id/ts_ms with null counts; no headers, no partition.
 * Follows `TransactionMonitor.dataEvent`/`beginTransaction` and
 * `AbstractTransactionStructMaker.buildBeginTransactionValue` (`pipeline/txmetadata/`, debezium-core
 * v2.7.0.Final … v3.4.0.Final, debezium-connector-common v3.5.0.Final … aad5519902) with the id from
 * `MongoDbEventMetadataProvider.getTransactionId`.
 */
export const transactionBegin = (m: TransactionMarker): KafkaRecord => {
  const r = resolveSettings(m)
  const id = transactionId(m.txn, m.version)
  return {
    topic: transactionTopic(r.prefix),
    key: C.converterJson(TX_KEY, { id }, r.keySchemas),
    value: C.converterJson(TX_VALUE, { status: "BEGIN", id, event_count: null, data_collections: null, ts_ms: BigInt(m.tsMs) }, r.valueSchemas)
  }
}

/**
 * An END record (`TransactionMonitor.endTransaction`, `AbstractTransactionStructMaker.buildEndTransactionValue`,
 * same files and tags as {@link transactionBegin}). The MongoDB connector learns a transaction ended
 * only when the next event arrives (one without a transaction, or of another transaction): END is
 * written just before that event, with that event's `source.ts_ms`. Up to 3.4 every later
 * non-transactional event wrote the same END again (fixed in 3.5, 7031c3fb09).
 */
export const transactionEnd = (
  m: TransactionMarker & {
    readonly eventCount: number
    /** `db.collection` and the number of the transaction's events on it, in first-seen order. */
    readonly dataCollections: ReadonlyArray<{ readonly dataCollection: string; readonly eventCount: number }>
  }
): KafkaRecord => {
  const r = resolveSettings(m)
  const id = transactionId(m.txn, m.version)
  return {
    topic: transactionTopic(r.prefix),
    key: C.converterJson(TX_KEY, { id }, r.keySchemas),
    value: C.converterJson(
      TX_VALUE,
      {
        status: "END",
        id,
        event_count: BigInt(m.eventCount),
        data_collections: m.dataCollections.map((d) => ({ data_collection: d.dataCollection, event_count: BigInt(d.eventCount) })),
        ts_ms: BigInt(m.tsMs)
      },
      r.valueSchemas
    )
  }
}

// ---------------------------------------------------------------------------------------------
// heartbeats (HeartbeatImpl, SchemaFactory.heartbeatKeySchema/heartbeatValueSchema)

const HB_KEY = C.struct([C.field("serverName", C.string(false))], { optional: false, name: "io.debezium.connector.common.ServerNameKey", version: 1 })
const HB_VALUE = C.struct([C.field("ts_ms", C.int64(false))], { optional: false, name: "io.debezium.connector.common.Heartbeat", version: 1 })

/**
 * A heartbeat (`HeartbeatImpl.emit`, debezium-connector-common `heartbeat/`, same shape 2.7-3.7):
 * topic `__debezium-heartbeat.<topic.prefix>`, partition 0, key `{"serverName": <topic.prefix>}`,
 * value `{"ts_ms": <the connector's clock>}`. Sent every `heartbeat.interval.ms` (0, off, by default).
 */
export const heartbeat = (h: {
  readonly topicPrefix?: string
  readonly tsMs: number
  readonly schemasEnable?: boolean | { readonly key: boolean; readonly value: boolean }
  /** `topic.heartbeat.prefix`; default "__debezium-heartbeat". */
  readonly heartbeatPrefix?: string
}): KafkaRecord => {
  const prefix = h.topicPrefix ?? "dbserver1"
  const se = h.schemasEnable ?? true
  return {
    topic: heartbeatTopic(prefix, h.heartbeatPrefix),
    partition: 0,
    key: C.converterJson(HB_KEY, { serverName: prefix }, typeof se === "boolean" ? se : se.key),
    value: C.converterJson(HB_VALUE, { ts_ms: BigInt(h.tsMs) }, typeof se === "boolean" ? se : se.value)
  }
}

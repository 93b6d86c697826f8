/**
 * Decoding Debezium MongoDB change events (and the seed's flat documents) into changes, from the
 * records exactly as Debezium writes them, for every connector setting a user can run (the field
 * by field account, with the Debezium sources it follows, is test/support/debezium/NOTES.md; the
 * table of settings is in docs/kafka.md).
 *
 * A record's value is an envelope `{ before, after, updateDescription, source, op, ts_ms,
 * transaction }`, possibly wrapped as `{ schema, payload }` by Kafka Connect's JSON converter:
 *
 * - `op` `r` (snapshot read, initial or incremental), `c` (insert): an upsert of `after`;
 * - `op` `u` (update, and replace): the new state is `before` patched by `updateDescription` when
 *   the record has both (capture modes `*_with_pre_image`: exact for this change), else `after`
 *   (capture modes `*_update_full`: the document Debezium looked up, which may be newer than this
 *   change). An update with only its `updateDescription` (capture mode `change_streams`, or a
 *   document deleted before the lookup) becomes a patch (`Input.Patch`): the fold applies it to the
 *   document's fields kept in its ledger when it runs with `keepDocuments`, and dead-letters it
 *   with a reason naming that option and the capture modes to use otherwise. An update with none
 *   of the three is dead-lettered the same way, never skipped silently;
 * - `op` `d`: a delete; the id comes from the record key (`{"id": "<relaxed Extended JSON of
 *   _id>"}`), or from `before`;
 * - `after`, `before` and `updatedFields` are read in every serialization Debezium writes (the
 *   default `legacy` v1 strict forms, `strict`, `extended` and `relaxed`; see `ExtendedJson`);
 * - a tombstone (a null value, which Debezium writes after each delete with the delete's key) is a
 *   delete of the document its key names, ordered by position: on a compacted topic
 *   (`cleanup.policy=compact`) it may be all that is left of a document's delete. It stays a skip
 *   (with the reason) when its key names no document, under `ordering: "sourceTime"` (it carries
 *   no source time) and when the decoder is given a namespace (it names no collection, so on a
 *   topic of several it could delete another collection's document with the same `_id`);
 * - heartbeats and transaction metadata records are skipped; records of another collection (a topic
 *   routed from several) are skipped when the decoder is given a namespace;
 * - records flattened by Debezium's `ExtractNewDocumentState` are refused (`Unsupported`): the
 *   transform turns ObjectId `_id`s into plain strings and drops the change's position, so they
 *   cannot be folded exactly; the source fails with a message saying what to change.
 *
 * Versions. By default (`ordering: "position"`) the changes of one document are ordered by the
 * record's place in its partition (Debezium keys records by `_id`, so one document's changes are in
 * one partition, in order): the records carry no version, and the fold gives each `[P + 1, seq]`,
 * where `P` is the `hi` of the pipeline's handoff version, so every record read is newer than the
 * snapshot's rows (see `Input`). That holds
 * for every Debezium version: `source.ts_ms` is the cluster time in 2.x but the event's wall clock
 * from 3.4 on (MongoDB 6+), every event of a transaction shares one `ts_ms` and `ord`, and snapshot
 * records carry `ord: -1` (2.3+) and `ts_ms` 0 (to 3.0) or the connector's clock (3.1+).
 * `ordering: "sourceTime"` keeps `[source.ts_ms, source.ord]`: only sound where `ts_ms` is the
 * cluster time and no transaction changes a document twice; records it cannot order (snapshot reads,
 * wall-clock times) are rejected with the reason.
 *
 * The records are raw: each pipeline decodes the document with its own schema in the fold, where a
 * document it refuses is the document's new, invalid state (it retracts what the document
 * contributed and is dead-lettered). Everything that cannot be read at all (not JSON, unknown `op`,
 * no id, no version) is rejected here with a reason, and goes to the dead-letter sink with the raw
 * record.
 *
 * @since 0.1.0
 */
import type { Input, Position } from "../Input.ts"
import * as I from "../Input.ts"
import type { Version } from "../Version.ts"
import * as DocumentId from "../DocumentId.ts"
import * as ExtendedJson from "../ExtendedJson.ts"
import * as UpdateDescription from "../UpdateDescription.ts"
import { errorText } from "../internal/errorText.ts"

/**
 * The outcome of decoding one record.
 *
 * @category models
 * @since 0.1.0
 */
export type Decoded =
  /** `version` undefined: ordered by position (see `Input`). */
  | { readonly _tag: "Upsert"; readonly docId: string; readonly version: Version | undefined; readonly doc: unknown }
  /** An update as a patch of the previous state (capture mode `change_streams`: no document). */
  | { readonly _tag: "Patch"; readonly docId: string; readonly version: Version | undefined; readonly description: UpdateDescription.Description }
  | { readonly _tag: "Delete"; readonly docId: string; readonly version: Version | undefined }
  /** `once`: what the source logs once, however many records it skips for that reason. */
  | { readonly _tag: "Skip"; readonly reason: string; readonly once?: string | undefined }
  | { readonly _tag: "Reject"; readonly reason: string; readonly docId?: string | undefined }
  /** The records are not change events this decoder can fold exactly: a configuration error. */
  | { readonly _tag: "Unsupported"; readonly reason: string }

/**
 * A decoded record that is a change, a skip or a reject (not `Unsupported`).
 *
 * @since 0.2.0
 * @category models
 */
export type Change = Exclude<Decoded, { readonly _tag: "Unsupported" }>

const reject = (reason: string, docId?: string): Change => ({ _tag: "Reject", reason, docId })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Kafka Connect's JSON converter wraps as `{ schema, payload }`. */
const unwrap = (u: unknown): unknown => (isRecord(u) && "payload" in u && "schema" in u ? u.payload : u)

const parseJson = (text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string } => {
  try {
    return { ok: true, value: ExtendedJson.parse(text) }
  } catch (error) {
    return { ok: false, reason: `not JSON: ${errorText(error)}` }
  }
}

/** The record key as a value, unwrapped (`undefined` for text that is not JSON). */
const keyValue = (key: unknown): unknown => {
  if (typeof key !== "string") return unwrap(key)
  const parsed = parseJson(key)
  return parsed.ok ? unwrap(parsed.value) : undefined
}

const idFromKey = (key: unknown): string | undefined => {
  const k = keyValue(key)
  if (isRecord(k) && typeof k.id === "string") return isCutKeyId(k.id) ? undefined : DocumentId.fromDebeziumKeyId(k.id)
  if (isRecord(k) && "_id" in k) return DocumentId.fromJson(ExtendedJson.normalize(k._id))
  return undefined
}

/**
 * Debezium 2.3.0 to 2.4.1 cut the key's id out of the change's `documentKey` text by position
 * (`substring(8, length - 1)`, as if it were `{"_id": <id>}`); on a sharded collection
 * `documentKey` holds the shard key first, and the cut text names no document (DBZ-7157, fixed in
 * 2.5.0): `er_id": "c1", "_id": 42`.
 */
const isCutKeyId = (text: string): boolean => {
  if (!/"_id"\s*:/.test(text)) return false
  try {
    ExtendedJson.parse(text)
    return false
  } catch {
    return true
  }
}

const cutKeyReason = "the record key's id is cut (Debezium 2.3.0 to 2.4.1 on a sharded collection write the change's " +
  "documentKey less its first 8 characters, DBZ-7157): it names no document. Upgrade the connector to 2.5 or later"

/** Why the key names no document: a cut key, or `otherwise`. */
const noKeyId = (key: unknown, otherwise: string): string => {
  const k = keyValue(key)
  return isRecord(k) && typeof k.id === "string" && isCutKeyId(k.id) ? cutKeyReason : otherwise
}

const idFromDocument = (doc: unknown): string | undefined =>
  isRecord(doc) && "_id" in doc ? DocumentId.fromJson(doc._id) : undefined


/**
 * How the versions of decoded changes are formed (see the module doc).
 *
 * @since 0.2.0
 * @category models
 */
export type Ordering = "position" | "sourceTime"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Default `"position"`. */
  readonly ordering?: Ordering | undefined
  /** Fold only the records of this database and collection; others are skipped. Default: every record. */
  readonly namespace?: { readonly db: string; readonly collection: string } | undefined
}

const captureModeAdvice =
  "set the connector's capture.mode to change_streams_update_full (Debezium's default) or change_streams_with_pre_image " +
  "(with changeStreamPreAndPostImages enabled on the collection)"

const flattened = (reason: string): Decoded => ({
  _tag: "Unsupported",
  reason: `${reason}: the records look flattened by Debezium's ExtractNewDocumentState (or another transform), ` +
    "which turns ObjectId _ids into plain strings and drops the change's position, so they cannot be folded exactly; " +
    "consume the connector's topic without the transform (the change event envelopes)"
})

const skipOnce = (reason: string, once: string): Change => ({ _tag: "Skip", reason, once })

/** The record's `updateDescription`, if it has one. */
const descriptionOf = (envelope: Record<string, unknown>): UpdateDescription.Description | undefined => {
  const description = envelope.updateDescription
  if (!isRecord(description) || description.updatedFields == null) return undefined
  const updated = ExtendedJson.normalize(description.updatedFields)
  if (!isRecord(updated)) throw new TypeError("\"updateDescription.updatedFields\" is not a document")
  const removed = Array.isArray(description.removedFields) ? description.removedFields.filter((f) => typeof f === "string") : []
  const truncated = Array.isArray(description.truncatedArrays)
    ? description.truncatedArrays.flatMap((t) =>
      isRecord(t) && typeof t.field === "string" && typeof (t.size ?? t.newSize) === "number" ? [{ field: t.field, size: (t.size ?? t.newSize) as number }] : []
    )
    : []
  return { updatedFields: updated, removedFields: removed, truncatedArrays: truncated }
}

/**
 * The new state of an update: `before` patched by `updateDescription`, or `after`, or the
 * description alone (a patch for the fold), or nothing.
 */
const updateState = (
  envelope: Record<string, unknown>,
  after: unknown
): { readonly doc: unknown } | { readonly patch: UpdateDescription.Description } | undefined => {
  const description = descriptionOf(envelope)
  if (envelope.before !== null && envelope.before !== undefined && description !== undefined) {
    const before = ExtendedJson.normalize(envelope.before)
    if (!isRecord(before)) throw new TypeError("\"before\" is not a document")
    return { doc: UpdateDescription.apply(before, description) }
  }
  if (after !== null) return { doc: after }
  return description === undefined ? undefined : { patch: description }
}

/**
 * A decoder of Debezium MongoDB change events into raw records (each pipeline decodes the
 * document with its own schema in the fold). `key` and `value` are the Kafka record's key and
 * value, as text or already parsed JSON. A `null`/`undefined` value (or a `{ schema, payload }`
 * wrapping of `null`) is a tombstone: a `Delete` of the document its key names, ordered by
 * position (`version` undefined), or a `Skip` with the reason when its key names no document, under
 * `ordering: "sourceTime"`, or when `namespace` is given (see the module doc).
 *
 * @category codecs
 * @since 0.1.0
 */
export const decoder = (options: Options = {}) => {
  const byPosition = (options.ordering ?? "position") === "position"
  const ns = options.namespace
  /**
   * Debezium writes a tombstone (same key, null value) after each delete, so that compaction can
   * drop the document's records; compaction may then have dropped the delete and left only it.
   */
  const tombstone = (key: unknown): Change => {
    if (!byPosition) return { _tag: "Skip", reason: "tombstone: it carries no source time to order it by (ordering \"sourceTime\")" }
    if (ns !== undefined) {
      return { _tag: "Skip", reason: "tombstone: it names no collection, so with a namespace it could be another collection's delete" }
    }
    let docId: string | undefined
    try {
      docId = idFromKey(key)
    } catch {
      docId = undefined
    }
    if (docId === undefined) return { _tag: "Skip", reason: "tombstone without a document id in its key" }
    return { _tag: "Delete", docId, version: undefined }
  }
  return (key: unknown, value: unknown): Decoded => {
    if (value === null || value === undefined) return tombstone(key)
    let envelope: unknown = value
    if (typeof value === "string") {
      const parsed = parseJson(value)
      if (!parsed.ok) return reject(parsed.reason)
      envelope = parsed.value
    }
    envelope = unwrap(envelope)
    if (envelope === null) return tombstone(key)
    if (!isRecord(envelope)) return reject("the value is not a JSON object")
    const op = envelope.op
    if (op === undefined && !("source" in envelope)) {
      if (typeof envelope.status === "string" && typeof envelope.id === "string" && "event_count" in envelope) {
        return skipOnce(`transaction ${envelope.status}`, "Debezium transaction metadata records (BEGIN/END) are skipped")
      }
      const keys = Object.keys(envelope)
      if (keys.length === 1 && keys[0] === "ts_ms") return skipOnce("heartbeat", "Debezium heartbeat records are skipped")
      if (keys.some((k) => k === "__deleted" || k.startsWith("__op") || k.startsWith("__source_") || k === "__ts_ms")) {
        return flattened("a record with __op/__deleted/__source_* fields")
      }
      if ("_id" in envelope) return flattened("a flat document without a change event envelope")
    }
    if (op !== "c" && op !== "r" && op !== "u" && op !== "d") {
      return reject(`unknown or missing op ${JSON.stringify(op) ?? "undefined"} (expected c, r, u or d)`)
    }
    const source = isRecord(envelope.source) ? envelope.source : undefined
    if (source === undefined) return reject("no source block (every Debezium change event has one)")
    if (ns !== undefined && typeof source.db === "string" && typeof source.collection === "string" &&
      (source.db !== ns.db || source.collection !== ns.collection)) {
      const other = `${source.db}.${source.collection}`
      return skipOnce(`a record of ${other}`, `records of ${other} are skipped (this source folds ${ns.db}.${ns.collection})`)
    }
    // every Debezium change event has them (a snapshot read: ord -1, ts_ms 0 up to 3.0)
    const tsMs = source.ts_ms
    const ord = source.ord ?? 0
    if (typeof tsMs !== "number" || !Number.isSafeInteger(tsMs) || tsMs < 0) {
      return reject("missing or invalid source.ts_ms: not a Debezium change event")
    }
    if (typeof ord !== "number" || !Number.isSafeInteger(ord)) return reject("invalid source.ord: not a Debezium change event")
    let version: Version | undefined = undefined
    if (!byPosition) {
      if (ord < 0 || op === "r") {
        return reject("a snapshot record carries no database position (source.ord -1): fold Debezium topics with ordering \"position\"")
      }
      if (tsMs % 1000 !== 0 || typeof source.wallTime === "number") {
        return reject("source.ts_ms is a wall-clock time (Debezium 3.4+ on MongoDB 6+), not the cluster time: fold with ordering \"position\"")
      }
      version = [tsMs, ord]
    }
    let after: unknown
    try {
      after = envelope.after === undefined || envelope.after === null ? null : ExtendedJson.normalize(envelope.after)
    } catch (error) {
      return reject(`"after" is not Extended JSON: ${errorText(error)}`)
    }
    if (op === "d") {
      let before: unknown = null
      try {
        before = envelope.before === undefined || envelope.before === null ? null : ExtendedJson.normalize(envelope.before)
      } catch {
        before = null
      }
      const docId = idFromKey(key) ?? idFromDocument(before)
      if (docId === undefined) return reject(noKeyId(key, "a delete without a document id (no record key id, no before)"))
      return { _tag: "Delete", docId, version }
    }
    let state: unknown = after
    if (op === "u") {
      let update: ReturnType<typeof updateState>
      try {
        update = updateState(envelope, after)
      } catch (error) {
        return reject(`the update's "before" or "updateDescription" cannot be read: ${errorText(error)}`, idFromKey(key))
      }
      if (update === undefined) {
        return reject(
          `an update without "after", "before" or "updateDescription": its new state cannot be computed. With capture.mode ` +
            `change_streams_update_full the document was deleted before Debezium looked it up (the delete that follows ` +
            `retracts it): ${captureModeAdvice}`,
          idFromKey(key)
        )
      }
      if ("patch" in update) {
        const docId = idFromKey(key)
        if (docId === undefined) return reject(noKeyId(key, "an update given as a patch without a document id in the record key"))
        return { _tag: "Patch", docId, version, description: update.patch }
      }
      state = update.doc
    }
    if (state === null) return reject(`op ${op} without "after"`, idFromKey(key))
    if (!isRecord(state)) return reject(`"after" is not a document`, idFromKey(key))
    const docId = idFromDocument(state) ?? idFromKey(key)
    if (docId === undefined) return reject(`"after" has no _id and the record key no id`)
    return { _tag: "Upsert", docId, version, doc: state }
  }
}


/**
 * A decoder of flat documents (the seed example's plain `Order` JSON on an append-only topic, a
 * collection dump): every record is an upsert of the document, at `version` when given (a
 * snapshot's handoff version), else ordered by position. The document's id is its `_id`, or `id`
 * when given (a document id in `DocumentId` form, such as the record's position).
 *
 * @category codecs
 * @since 0.1.0
 */
export const plainDecoder = () => (value: unknown, version?: Version, id?: string): Change => {
  if (value === null || value === undefined) return { _tag: "Skip", reason: "tombstone" }
  let doc: unknown = value
  if (typeof value === "string") {
    const parsed = parseJson(value)
    if (!parsed.ok) return reject(parsed.reason)
    doc = parsed.value
  }
  const docId = id ?? idFromDocument(doc)
  if (docId === undefined) return reject("the document has no _id")
  return { _tag: "Upsert", docId, version, doc }
}

/**
 * Turns one decoded record into an input at `position` (`raw`, and the record's `key` when it has
 * one, are kept for dead letters).
 *
 * @category codecs
 * @since 0.1.0
 */
export const toInput = (d: Change, raw: string, position: Position, key?: string): Input => {
  switch (d._tag) {
    case "Upsert":
      return I.upsert(d.docId, d.doc, position, { version: d.version, raw, key })
    case "Patch":
      return I.patch(d.docId, d.description, position, { version: d.version, raw, key })
    case "Delete":
      return I.remove(d.docId, position, { version: d.version, raw, key })
    case "Skip":
      return I.skip(d.reason, position)
    case "Reject":
      return I.reject(raw, d.reason, position, d.docId, key)
  }
}

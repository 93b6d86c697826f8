/**
 * Decoding Debezium MongoDB change envelopes (and the seed's flat documents) into changes.
 *
 * An envelope is `{ op, after, source: { ts_ms, ord, ... }, ... }`, possibly wrapped as
 * `{ schema, payload }` by Kafka Connect's JSON converter:
 * - `op` `c` (insert), `r` (snapshot read), `u` (update): an upsert of `after`, which is
 *   Extended-JSON text (canonical or relaxed) or an object. Debezium looks `after` up when it
 *   reads the change, so it may be newer than the change; the ledger's version guard keeps that
 *   harmless. An update whose `after` is null (the document was deleted before the look-up) carries
 *   no state and is skipped: the delete that follows retracts;
 * - `op` `d`: a delete; the id comes from the record key (`{"id": "<Extended JSON of _id>"}`),
 *   or from `before`/`filter` when present;
 * - a `null` value is a Kafka tombstone: skipped;
 * - the version is `[source.ts_ms, source.ord]`.
 *
 * A document the pipeline's schema refuses is the document's new, invalid state: it retracts what
 * the document contributed and is dead-lettered (`Invalid`). Everything else that cannot be read
 * (not JSON, unknown `op`, no id, no version) is rejected with a reason, and goes to the
 * dead-letter sink with the raw record.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Input, Position } from "../Input.ts"
import * as I from "../Input.ts"
import type { Version } from "../Version.ts"
import * as DocumentId from "./DocumentId.ts"
import * as ExtendedJson from "./ExtendedJson.ts"

/**
 * The outcome of decoding one record.
 *
 * @since 0.1.0
 */
export type Decoded<In> =
  | { readonly _tag: "Upsert"; readonly docId: string; readonly version: Version; readonly doc: In }
  | { readonly _tag: "Delete"; readonly docId: string; readonly version: Version }
  | { readonly _tag: "Invalid"; readonly docId: string; readonly version: Version; readonly reason: string }
  | { readonly _tag: "Skip"; readonly reason: string }
  | { readonly _tag: "Reject"; readonly reason: string; readonly docId?: string | undefined }

const reject = (reason: string, docId?: string): Decoded<never> => ({ _tag: "Reject", reason, docId })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Kafka Connect's JSON converter wraps as `{ schema, payload }`. */
const unwrap = (u: unknown): unknown => (isRecord(u) && "payload" in u && "schema" in u ? u.payload : u)

const parseJson = (text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string } => {
  try {
    return { ok: true, value: ExtendedJson.parse(text) }
  } catch (error) {
    return { ok: false, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` }
  }
}

const idFromKey = (key: unknown): string | undefined => {
  let k = key
  if (typeof k === "string") {
    const parsed = parseJson(k)
    if (!parsed.ok) return undefined
    k = parsed.value
  }
  k = unwrap(k)
  if (isRecord(k) && typeof k.id === "string") return DocumentId.fromDebeziumKeyId(k.id)
  if (isRecord(k) && "_id" in k) return DocumentId.fromJson(ExtendedJson.normalize(k._id))
  return undefined
}

const idFromDocument = (doc: unknown): string | undefined =>
  isRecord(doc) && "_id" in doc ? DocumentId.fromJson(doc._id) : undefined

const firstLine = (message: string): string => {
  const i = message.indexOf("\n")
  return i < 0 ? message : `${message.slice(0, i)} ${message.slice(i + 1).replace(/\s+/g, " ").trim()}`
}

/**
 * A decoder of Debezium MongoDB envelopes for a pipeline's schema. `key` and `value` are the Kafka
 * record's key and value, as text or already parsed JSON; a `null`/`undefined` value is a tombstone.
 *
 * @since 0.1.0
 */
export const decoder = <In>(schema: Schema.Codec<In, any>) => {
  const decodeDoc = Schema.decodeUnknownResult(schema)
  return (key: unknown, value: unknown): Decoded<In> => {
    if (value === null || value === undefined) return { _tag: "Skip", reason: "tombstone" }
    let envelope: unknown = value
    if (typeof value === "string") {
      const parsed = parseJson(value)
      if (!parsed.ok) return reject(parsed.reason)
      envelope = parsed.value
    }
    envelope = unwrap(envelope)
    if (envelope === null) return { _tag: "Skip", reason: "tombstone" }
    if (!isRecord(envelope)) return reject("the value is not a JSON object")
    const op = envelope.op
    if (op !== "c" && op !== "r" && op !== "u" && op !== "d") {
      return reject(`unknown or missing op ${JSON.stringify(op) ?? "undefined"} (expected c, r, u or d)`)
    }
    const source = envelope.source
    const tsMs = isRecord(source) ? source.ts_ms : undefined
    const ord = isRecord(source) ? (source.ord ?? 0) : undefined
    if (typeof tsMs !== "number" || !Number.isSafeInteger(tsMs) || tsMs < 0) {
      return reject("missing or invalid source.ts_ms (the change's version)")
    }
    if (typeof ord !== "number" || !Number.isSafeInteger(ord) || ord < 0) return reject("invalid source.ord")
    const version: Version = [tsMs, ord]
    let after: unknown
    try {
      after = envelope.after === undefined || envelope.after === null ? null : ExtendedJson.normalize(envelope.after)
    } catch (error) {
      return reject(`"after" is not Extended JSON: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (op === "d") {
      let before: unknown = null
      try {
        before = envelope.before === undefined || envelope.before === null ? null : ExtendedJson.normalize(envelope.before)
      } catch {
        before = null
      }
      const filter = typeof envelope.filter === "string" || isRecord(envelope.filter)
        ? (() => {
          try {
            return ExtendedJson.normalize(envelope.filter)
          } catch {
            return null
          }
        })()
        : null
      const docId = idFromKey(key) ?? idFromDocument(before) ?? idFromDocument(filter)
      if (docId === undefined) return reject("a delete without a document id (no record key id, before or filter)")
      return { _tag: "Delete", docId, version }
    }
    if (after === null) {
      if (op === "u") return { _tag: "Skip", reason: "update without a looked-up document (deleted since); its delete retracts" }
      return reject(`op ${op} without "after"`, idFromKey(key))
    }
    if (!isRecord(after)) return reject(`"after" is not a document`, idFromKey(key))
    const docId = idFromDocument(after) ?? idFromKey(key)
    if (docId === undefined) return reject(`"after" has no _id and the record key no id`)
    const result = decodeDoc(after)
    return result._tag === "Success"
      ? { _tag: "Upsert", docId, version, doc: result.success }
      : { _tag: "Invalid", docId, version, reason: schemaReason(result.failure.message) }
  }
}

const schemaReason = (message: string): string => `the document does not match the pipeline's schema: ${firstLine(message)}`

/**
 * A decoder of flat documents (the seed example's plain `Order` JSON on an append-only topic):
 * every record is an insert of the document at the given version.
 *
 * @since 0.1.0
 */
export const plainDecoder = <In>(schema: Schema.Codec<In, any>) => {
  const decodeDoc = Schema.decodeUnknownResult(schema)
  return (value: unknown, version: Version): Decoded<In> => {
    if (value === null || value === undefined) return { _tag: "Skip", reason: "tombstone" }
    let doc: unknown = value
    if (typeof value === "string") {
      const parsed = parseJson(value)
      if (!parsed.ok) return reject(parsed.reason)
      doc = parsed.value
    }
    const docId = idFromDocument(doc)
    if (docId === undefined) return reject("the document has no _id")
    const result = decodeDoc(doc)
    return result._tag === "Success"
      ? { _tag: "Upsert", docId, version, doc: result.success }
      : { _tag: "Invalid", docId, version, reason: schemaReason(result.failure.message) }
  }
}

/**
 * Turns one decoded record into an input at `position` (`raw`, and the record's `key` when it has
 * one, are kept for dead letters).
 *
 * @since 0.1.0
 */
export const toInput = <In>(d: Decoded<In>, raw: string, position: Position, key?: string): Input<In> => {
  switch (d._tag) {
    case "Upsert":
      return I.upsert(d.docId, d.version, d.doc, position)
    case "Delete":
      return I.remove(d.docId, d.version, position)
    case "Invalid":
      return I.invalid(d.docId, d.version, raw, d.reason, position, key)
    case "Skip":
      return I.skip(d.reason, position)
    case "Reject":
      return I.reject(raw, d.reason, position, d.docId, key)
  }
}

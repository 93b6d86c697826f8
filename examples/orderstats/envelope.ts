/**
 * A MongoDB change event as the Kafka record the Debezium MongoDB connector would publish for it:
 * the shape the relay writes and `KafkaSource`'s Debezium decoder reads.
 *
 * - key: `{"id": "<relaxed Extended JSON of _id>"}` (the connector's default key, unwrapped);
 * - value: `{ op, after, before: null, updateDescription: null, source, ts_ms, transaction: null }`
 *   with `op` `c` (insert), `u` (update, replace), `d` (delete); `after` is the looked-up document
 *   as relaxed Extended-JSON text (`null` for deletes and for updates whose document is gone);
 *   `source.ts_ms = clusterTime.t * 1000` and `source.ord = clusterTime.i`, the version the
 *   change stream and the snapshot use too.
 *
 * Where the real connector differs is described in docs/orderstats.md.
 */
import type { ChangeStreamDocument, Document } from "mongodb"
import * as ExtendedJson from "../../src/ExtendedJson.ts"
import type { Namespace } from "../../src/MongoDb/Mongo.ts"

/**
 * The Kafka record of one change, or why the change has none.
 */
export type Envelope =
  | { readonly _tag: "Record"; readonly op: "c" | "u" | "d"; readonly key: string; readonly value: string }
  | { readonly _tag: "Skip"; readonly reason: string }
  | { readonly _tag: "End"; readonly reason: string }

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Events after which the collection's stream is over (the relay stops). */
const ENDING: ReadonlySet<string> = new Set(["invalidate", "drop", "rename", "dropDatabase"])

/**
 * The record key of a document id: `{"id": "<relaxed Extended JSON of _id>"}`, with an Int64
 * written as its exact integer literal, as the connector's Java writer does.
 */
export const keyOf = (id: unknown): string => JSON.stringify({ id: ExtendedJson.stringifyRelaxed(id) })

/** A BSON Timestamp's seconds and increment (by its BSON type, whichever copy of the bson package made it). */
const timestampOf = (u: unknown): { readonly t: number; readonly i: number } | undefined =>
  isRecord(u) && (u as { _bsontype?: unknown })._bsontype === "Timestamp" ? { t: Number(u.t), i: Number(u.i) } : undefined

/**
 * The envelope of one change event (with `fullDocument: "updateLookup"`).
 */
export const fromChange = (event: ChangeStreamDocument<Document>, ns: Namespace, now: number = Date.now()): Envelope => {
  if (ENDING.has(event.operationType)) return { _tag: "End", reason: `${event.operationType} event on ${ns.db}.${ns.collection}` }
  const clusterTime = timestampOf((event as { clusterTime?: unknown }).clusterTime)
  if (clusterTime === undefined) return { _tag: "Skip", reason: `a ${event.operationType} event without clusterTime` }
  const source = {
    version: "orderstats-relay",
    connector: "mongodb",
    name: "orderstats-relay",
    ts_ms: clusterTime.t * 1000,
    snapshot: "false",
    db: ns.db,
    collection: ns.collection,
    ord: clusterTime.i
  }
  const envelope = (op: "c" | "u" | "d", id: unknown, after: string | null): Envelope => ({
    _tag: "Record",
    op,
    key: keyOf(id),
    value: JSON.stringify({ before: null, after, updateDescription: null, source, op, ts_ms: now, transaction: null })
  })
  const documentKeyId = (e: { documentKey?: unknown }): { readonly id: unknown } | undefined =>
    isRecord(e.documentKey) && "_id" in e.documentKey ? { id: e.documentKey._id } : undefined
  switch (event.operationType) {
    case "insert":
    case "update":
    case "replace": {
      const full = event.fullDocument
      if (isRecord(full) && "_id" in full) {
        return envelope(event.operationType === "insert" ? "c" : "u", full._id, ExtendedJson.stringifyRelaxed(full))
      }
      // the document is gone since (the lookup found nothing): like the connector, an update
      // without "after"; mongo-java-server puts the update spec in documentKey, so no id there
      const keyId = documentKeyId(event)
      return keyId === undefined
        ? { _tag: "Skip", reason: `a ${event.operationType} event without its document or document key` }
        : envelope("u", keyId.id, null)
    }
    case "delete": {
      const keyId = documentKeyId(event)
      return keyId === undefined ? { _tag: "Skip", reason: "a delete event without documentKey._id" } : envelope("d", keyId.id, null)
    }
    default:
      return { _tag: "Skip", reason: `${event.operationType} event` }
  }
}

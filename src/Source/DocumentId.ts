/**
 * Document ids as the ledger keys them.
 *
 * A document's id is the JSON text of its `_id` in exact JSON (see `ExtendedJson`): `"o1"` for a
 * string id, `{"$oid":"..."}` for an ObjectId, `42` for a number. The same document gets the same
 * id whether it arrives from a snapshot row, a change stream, or a Debezium record key
 * (`{"id": "<Extended JSON of _id>"}`), so the ledger recognises it in every mode. Key order
 * inside a compound `_id` is kept: MongoDB tells `{a: 1, b: 2}` and `{b: 2, a: 1}` apart too.
 *
 * @since 0.1.0
 */
import * as ExtendedJson from "./ExtendedJson.ts"

/**
 * The id of a document whose `_id` (in exact JSON) is `id`.
 *
 * @since 0.1.0
 */
export const fromJson = (id: unknown): string => JSON.stringify(id)

/**
 * The id of a BSON `_id` value read by the MongoDB driver.
 *
 * @since 0.1.0
 */
export const fromBson = (id: unknown): string => fromJson(ExtendedJson.fromBson(id))

/**
 * The id carried by a Debezium MongoDB record key's `id` field: Extended-JSON text of the `_id`
 * (`"{\"$oid\": \"...\"}"`, `"\"o1\""`, `"42"`), or, from some connector versions, the bare string.
 *
 * @since 0.1.0
 */
export const fromDebeziumKeyId = (text: string): string => {
  try {
    return fromJson(ExtendedJson.parse(text))
  } catch {
    return fromJson(text)
  }
}

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
 * @category codecs
 * @since 0.1.0
 */
export const fromJson = (id: unknown): string =>
  typeof id === "string" ? JSON.stringify(id) : JSON.stringify(canonical(id))

const INT64_MIN = -(2 ** 63)
const INT64_MAX = 2 ** 63

const canonicalLong = (digits: string): unknown => {
  let exact: bigint
  try {
    exact = BigInt(digits)
  } catch {
    return { $numberLong: digits }
  }
  const n = Number(exact)
  return Number.isSafeInteger(n) ? n : { $numberLong: exact.toString() }
}

/** Numbers keyed by value (see the module doc); everything else as it is. */
const canonical = (value: unknown): unknown => {
  if (typeof value === "number") {
    // a Double holding an integer past 2^53 equals the Int64 of that value
    return Number.isInteger(value) && !Number.isSafeInteger(value) && value >= INT64_MIN && value < INT64_MAX
      ? { $numberLong: BigInt(value).toString() }
      : Object.is(value, -0) ? 0 : value
  }
  if (value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map(canonical)
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length === 1 && keys[0] === "$numberLong" && typeof record.$numberLong === "string") {
    return canonicalLong(record.$numberLong)
  }
  if (keys.length === 1 && keys[0]!.charCodeAt(0) === 36 /* $ */) return value
  const out: Record<string, unknown> = Object.create(null)
  for (const key of keys) out[key] = canonical(record[key])
  return out
}

/**
 * The id of a BSON `_id` value read by the MongoDB driver.
 *
 * @category codecs
 * @since 0.1.0
 */
export const fromBson = (id: unknown): string => fromJson(ExtendedJson.fromBson(id))

/**
 * The id carried by a Debezium MongoDB record key's `id` field: Extended-JSON text of the `_id`
 * (`"{\"$oid\": \"...\"}"`, `"\"o1\""`, `"42"`), or, from some connector versions, the bare string.
 *
 * @category codecs
 * @since 0.1.0
 */
export const fromDebeziumKeyId = (text: string): string => {
  try {
    return fromJson(ExtendedJson.parse(text))
  } catch {
    return fromJson(text)
  }
}

/**
 * The BSON value model of the fixtures: documents are `bson` package values, so an `_id` (or any
 * field) can be of every BSON type.
 *
 * - a document is a plain object or a `Map<string, unknown>` (use a Map when field order matters
 *   and a name looks like an array index: JavaScript objects list such keys first);
 * - a JavaScript `number` is what the `bson` package serializes it as: Int32 when it is an integer
 *   in the int32 range (and not -0), Double otherwise; `bigint` is Int64; wrap with `Int32`,
 *   `Double`, `Long` to be explicit;
 * - `Date` is a BSON DateTime; `undefined` is refused (bson would write null or drop the field, say
 *   which you mean).
 */
import type { Binary, BSONRegExp, Code, Decimal128, Double, Int32, Long, ObjectId, Timestamp } from "bson"

export type Document = { readonly [field: string]: unknown } | ReadonlyMap<string, unknown>

export type BsonTyped =
  | { readonly type: "null" }
  | { readonly type: "boolean"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "int32"; readonly value: number }
  | { readonly type: "int64"; readonly value: bigint }
  | { readonly type: "double"; readonly value: number }
  | { readonly type: "decimal128"; readonly value: string }
  | { readonly type: "objectId"; readonly value: string }
  | { readonly type: "date"; readonly value: number }
  | { readonly type: "binary"; readonly bytes: Uint8Array; readonly subType: number }
  | { readonly type: "regex"; readonly pattern: string; readonly options: string }
  | { readonly type: "timestamp"; readonly t: number; readonly i: number }
  | { readonly type: "javascript"; readonly code: string }
  | { readonly type: "javascriptWithScope"; readonly code: string; readonly scope: Document }
  | { readonly type: "symbol"; readonly value: string }
  | { readonly type: "minKey" }
  | { readonly type: "maxKey" }
  | { readonly type: "undefined" }
  | { readonly type: "array"; readonly items: ReadonlyArray<unknown> }
  | { readonly type: "document"; readonly doc: Document }

const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

export const isDocument = (v: unknown): v is Document =>
  v instanceof Map ||
  (typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date) &&
    !(v instanceof Uint8Array) && (v as { _bsontype?: unknown })._bsontype === undefined)

/** The fields of a document in order. */
export const documentEntries = (doc: Document): ReadonlyArray<readonly [string, unknown]> =>
  doc instanceof Map ? [...(doc as ReadonlyMap<string, unknown>).entries()] : Object.entries(doc)

/** A document's field, or undefined. */
export const documentGet = (doc: Document, field: string): unknown =>
  doc instanceof Map ? (doc as ReadonlyMap<string, unknown>).get(field) : (doc as Record<string, unknown>)[field]

/** An Int64 value (`Long`, bigint or integral number) as a bigint. */
export const int64Of = (v: unknown): bigint => {
  if (typeof v === "bigint") return v
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v)
  const long = v as { _bsontype?: string; toString(): string }
  if (long?._bsontype === "Long") return BigInt(long.toString())
  throw new TypeError(`not an Int64: ${String(v)}`)
}

/** The BSON type of a fixture value, and its parts. */
export const bsonTypeOf = (v: unknown): BsonTyped => {
  if (v === null) return { type: "null" }
  if (v === undefined) throw new TypeError("undefined is not a BSON value in these fixtures (use null, or leave the field out)")
  if (typeof v === "boolean") return { type: "boolean", value: v }
  if (typeof v === "string") return { type: "string", value: v }
  if (typeof v === "bigint") return { type: "int64", value: v }
  if (typeof v === "number") {
    return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX && !Object.is(v, -0)
      ? { type: "int32", value: v }
      : { type: "double", value: v }
  }
  if (v instanceof Date) return { type: "date", value: v.getTime() }
  if (Array.isArray(v)) return { type: "array", items: v }
  if (v instanceof Map) return { type: "document", doc: v as ReadonlyMap<string, unknown> }
  const tag = (v as { _bsontype?: unknown })._bsontype
  switch (tag) {
    case undefined:
      if (v instanceof Uint8Array) throw new TypeError("wrap bytes in bson's Binary to say the subtype")
      return { type: "document", doc: v as Document }
    case "Int32":
      return { type: "int32", value: (v as Int32).value }
    case "Double":
      return { type: "double", value: (v as Double).value }
    case "Long":
      return { type: "int64", value: BigInt((v as Long).toString()) }
    case "Decimal128":
      return { type: "decimal128", value: (v as Decimal128).toString() }
    case "ObjectId":
      return { type: "objectId", value: (v as ObjectId).toHexString() }
    case "Binary": {
      const b = v as Binary
      return { type: "binary", bytes: b.value(), subType: b.sub_type }
    }
    case "BSONRegExp": {
      const r = v as BSONRegExp
      // Java's BsonRegularExpression sorts the option letters, as bson's BSONRegExp does
      return { type: "regex", pattern: r.pattern, options: [...r.options].sort().join("") }
    }
    case "Timestamp": {
      const ts = v as Timestamp
      return { type: "timestamp", t: ts.t, i: ts.i }
    }
    case "Code": {
      const c = v as Code
      return c.scope === null || c.scope === undefined
        ? { type: "javascript", code: c.code }
        : { type: "javascriptWithScope", code: c.code, scope: c.scope as Document }
    }
    case "BSONSymbol":
      return { type: "symbol", value: (v as { value: string }).value }
    case "MinKey":
      return { type: "minKey" }
    case "MaxKey":
      return { type: "maxKey" }
    default:
      throw new TypeError(`BSON type ${String(tag)} is not modelled by these fixtures`)
  }
}

/**
 * MongoDB documents as the JSON values pipelines decode.
 *
 * Sources hand documents to the pipeline's Schema as plain JSON: numbers that JavaScript holds
 * exactly become numbers (`Int32`, `Double`, `Long` within ±2^53), and everything else keeps its
 * canonical Extended-JSON form (`{"$oid": ...}`, a `Long` past 2^53 as `{"$numberLong": "..."}`,
 * `{"$numberDecimal": ...}`, `{"$date": ...}`), so no value is ever rounded on the way: a schema
 * that wants a number rejects such a value instead of folding a wrong one.
 *
 * @since 0.1.0
 */
import { EJSON } from "bson"

const BSON_TYPE = Symbol.for("@@mdb.bson.version")

const convert = (value: unknown): unknown => {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return { $numberDouble: String(value) }
    if (typeof value === "bigint") {
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : { $numberLong: value.toString() }
    }
    return value
  }
  if (Array.isArray(value)) return value.map(convert)
  const bsontype = (value as { _bsontype?: string })._bsontype
  if (bsontype !== undefined || BSON_TYPE in value) {
    switch (bsontype) {
      case "ObjectId":
        // the most common _id: its canonical form without going through EJSON
        return { $oid: (value as { toHexString(): string }).toHexString() }
      case "Int32":
        return (value as { value: number }).value
      case "Double": {
        const n = (value as { value: number }).value
        return Number.isFinite(n) ? n : { $numberDouble: String(n) }
      }
      case "Long": {
        const long = value as { toString(): string; toNumber(): number }
        const n = long.toNumber()
        return Number.isSafeInteger(n) ? n : { $numberLong: long.toString() }
      }
      default:
        return EJSON.serialize(value, { relaxed: false })
    }
  }
  if (value instanceof Date) return EJSON.serialize(value, { relaxed: false })
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = convert((value as Record<string, unknown>)[key])
  return out
}

/**
 * A BSON value (a document read by the driver, or parsed Extended JSON) as exact JSON.
 *
 * @since 0.1.0
 */
export const fromBson = (value: unknown): unknown => convert(value)

/**
 * Parses Extended JSON text (canonical or relaxed) into exact JSON (see the module doc).
 * Throws a `SyntaxError` for text that is not JSON.
 *
 * @since 0.1.0
 */
export const parse = (text: string): unknown => {
  const value = JSON.parse(text)
  // no "$": plain JSON, nothing to revive (JSON.parse turns an integer past 2^53 into an unsafe
  // number, which integer schemas reject)
  if (!text.includes("\"$")) return value
  // the common wrappers read in place; anything else goes through EJSON, whose result is the same
  const exact = revive(value)
  return exact === viaEjson ? convert(EJSON.parse(text, { relaxed: false })) : exact
}

/** Returned by {@link revive} for a value only EJSON can read exactly. */
const viaEjson: unique symbol = Symbol("viaEjson")

const hex24 = /^[0-9a-fA-F]{24}$/
const int9 = /^-?[0-9]{1,9}$/
// the canonical forms Long accepts (no leading zeros, no "-0"), short enough to be safe integers
const long15 = /^(0|-?[1-9][0-9]{0,14})$/

/**
 * What `convert(EJSON.parse(...))` gives for a freshly parsed JSON value, rewriting it in place,
 * for the forms a change feed is made of: plain JSON, `{"$oid"}`, and `{"$numberInt"}` /
 * `{"$numberLong"}` short enough to be exact as numbers. Anything else (other wrappers, an
 * integer past 2^53, a field name with a NUL byte, which EJSON refuses, or `__proto__`, which an
 * assignment cannot write) returns `viaEjson`.
 * (`+ 0` turns "-0" into 0, as Int32 does.)
 */
const revive = (value: unknown): unknown => {
  if (typeof value === "number") return Number.isInteger(value) && !Number.isSafeInteger(value) ? viaEjson : value
  if (value === null || typeof value !== "object") return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = revive(value[i])
      if (v === viaEjson) return viaEjson
      value[i] = v
    }
    return value
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!
    if (key.charCodeAt(0) === 36 /* $ */) {
      if (keys.length !== 1) return viaEjson
      const inner = record[key]
      if (typeof inner !== "string") return viaEjson
      if (key === "$oid" && hex24.test(inner)) return { $oid: inner.toLowerCase() }
      if (key === "$numberInt" && int9.test(inner)) return Number(inner) + 0
      if (key === "$numberLong" && long15.test(inner)) return Number(inner)
      return viaEjson
    }
    if (key.includes("\u0000") || key === "__proto__") return viaEjson
  }
  for (let k = 0; k < keys.length; k++) {
    const v = revive(record[keys[k]!])
    if (v === viaEjson) return viaEjson
    record[keys[k]!] = v
  }
  return value
}

/**
 * A value that may be Extended-JSON text or an already parsed object, as exact JSON.
 *
 * @since 0.1.0
 */
export const normalize = (value: unknown): unknown => {
  if (typeof value === "string") return parse(value)
  if (value === null || typeof value !== "object") return value
  return JSON.stringify(value).includes("\"$") ? convert(EJSON.deserialize(value as Record<string, unknown>, { relaxed: false })) : value
}

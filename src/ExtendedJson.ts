/**
 * MongoDB documents as the JSON values pipelines decode.
 *
 * Sources hand documents to the pipeline's Schema as plain JSON: numbers that JavaScript holds
 * exactly become numbers (`Int32`, `Double`, `Long` within ±2^53), and everything else keeps its
 * canonical Extended-JSON form (`{"$oid": ...}`, a `Long` past 2^53 as `{"$numberLong": "..."}`,
 * `{"$numberDecimal": ...}`, `{"$date": ...}`), so no value is ever rounded on the way: a schema
 * that wants a number rejects such a value instead of folding a wrong one.
 *
 * Relaxed Extended JSON (what Debezium and MongoDB's tools write by default) spells an `Int64` as
 * a bare integer literal, `9007199254740993`, which `JSON.parse` alone would round to
 * `9007199254740992`. Every parser here reads such a literal from its source text: an integer
 * literal beyond ±2^53 within the `Int64` range becomes `{"$numberLong": "<digits>"}`, exactly.
 *
 * @since 0.1.0
 */
import { EJSON } from "bson"
import { setOwn } from "./internal/ownField.ts"

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
  for (const key of Object.keys(value)) setOwn(out, key, convert((value as Record<string, unknown>)[key]))
  return out
}

/**
 * A BSON value (a document read by the driver, or parsed Extended JSON) as exact JSON.
 *
 * @category codecs
 * @since 0.1.0
 */
export const fromBson = (value: unknown): unknown => convert(value)

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
/** A run of 16 digits: the shortest integer literal that can lie beyond 2^53. */
const longDigits = /[0-9]{16}/

const isDigit = (c: number): boolean => c >= 48 && c <= 57

/**
 * `text` with every bare integer literal beyond ±2^53 that fits an `Int64` written as
 * `{"$numberLong":"<digits>"}` (the text itself when there is none). Strings are skipped whole
 * (`indexOf` to their closing quote); only the text between them is read character by character.
 * Malformed text comes back as it is, for `JSON.parse` to refuse.
 */
const exactIntegers = (text: string): string => {
  let out = ""
  let copied = 0
  const n = text.length
  for (let pos = 0; pos < n;) {
    const quote = text.indexOf("\"", pos)
    const end = quote < 0 ? n : quote
    // the number literals between two strings (a 16-digit literal needs 16 characters)
    for (let i = pos; end - pos >= 16 && i < end;) {
      const c = text.charCodeAt(i)
      if (c !== 45 && !isDigit(c)) {
        i++
        continue
      }
      const start = i
      if (c === 45) i++
      while (i < end && isDigit(text.charCodeAt(i))) i++
      let integer = true
      while (i < end) {
        const d = text.charCodeAt(i)
        if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45 || isDigit(d)) {
          integer = false
          i++
        } else break
      }
      if (!integer || i - start < 16) continue
      const literal = text.slice(start, i)
      if (Number.isSafeInteger(Number(literal))) continue
      const exact = BigInt(literal)
      if (exact < INT64_MIN || exact > INT64_MAX) continue
      out += text.slice(copied, start) + `{"$numberLong":"${exact.toString()}"}`
      copied = i
    }
    if (quote < 0) break
    // past the string: its closing quote is the first one not escaped by an odd run of backslashes
    let close = quote + 1
    for (;;) {
      close = text.indexOf("\"", close)
      if (close < 0) return text
      let slashes = 0
      while (text.charCodeAt(close - 1 - slashes) === 92) slashes++
      if (slashes % 2 === 0) break
      close++
    }
    pos = close + 1
  }
  return copied === 0 ? text : out + text.slice(copied)
}

/**
 * Parses JSON text without rounding any integer: an integer literal beyond ±2^53 that fits an
 * `Int64` comes back as `{"$numberLong": "<digits>"}` (other values are what `JSON.parse` gives;
 * `$` wrappers are left as they are). Throws a `SyntaxError` for text that is not JSON.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(exactIntegers(text))
  } catch (error) {
    // MongoDB's Java driver writes a non-finite Double bare in its strict (v1) mode: `NaN`, `-Infinity`
    const repaired = nonFinite.test(text) ? quoteNonFinite(text) : undefined
    if (repaired === undefined || repaired === text) throw error
    return parseJson(repaired)
  }
}

const nonFinite = /NaN|Infinity/

/** `NaN`, `Infinity` and `-Infinity` outside strings become `{"$numberDouble": "..."}`. */
const quoteNonFinite = (text: string): string => {
  let out = ""
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (inString) {
      out += c
      if (c === "\\") out += text[++i] ?? ""
      else if (c === "\"") inString = false
      continue
    }
    if (c === "\"") {
      inString = true
      out += c
      continue
    }
    const word = text.startsWith("-Infinity", i) ? "-Infinity" : text.startsWith("Infinity", i) ? "Infinity" : text.startsWith("NaN", i) ? "NaN" : undefined
    if (word !== undefined) {
      out += `{"$numberDouble": "${word}"}`
      i += word.length - 1
    } else out += c
  }
  return out
}

/**
 * Parses Extended JSON text (canonical, relaxed, or the legacy v1 forms) into exact JSON (see the
 * module doc). Throws a `SyntaxError` for text that is not JSON.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): unknown => {
  const value = parseJson(text)
  // no "$": plain JSON, nothing to revive (big integers were kept by parseJson)
  if (!text.includes("\"$")) return value
  // the common wrappers read in place; anything else goes through EJSON
  const exact = revive(value)
  if (exact !== viaEjson) return exact
  // EJSON's own parser rounds big integer literals, so a text that has them is read from the value
  // (revive rewrote part of `value` in place: read the text afresh)
  return convert(
    longDigits.test(text) || nonFinite.test(text)
      ? EJSON.deserialize(parseJson(text) as Record<string, unknown>, { relaxed: false })
      : EJSON.parse(text, { relaxed: false })
  )
}

/** Returned by {@link revive} for a value only EJSON can read exactly. */
const viaEjson: unique symbol = Symbol("viaEjson")

const hex24 = /^[0-9a-fA-F]{24}$/
const int9 = /^-?[0-9]{1,9}$/
// the canonical forms Long accepts (no leading zeros, no "-0"), short enough to be safe integers
const long15 = /^(0|-?[1-9][0-9]{0,14})$/

const base64 = /^[A-Za-z0-9+/]*={0,2}$/
const subType = /^[0-9a-fA-F]{1,2}$/
const uuid = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/

const binary = (data: string, type: string) => ({ $binary: { base64: data, subType: type.toLowerCase().padStart(2, "0") } })

/**
 * A wrapper object (its first key starts with `$`) as exact JSON, or `viaEjson`. Besides the
 * common v2 forms, this reads the v1 ("strict"/"legacy") forms Debezium writes by default and
 * EJSON refuses: `{"$binary": "<base64>", "$type": "04"}` and a `$date` of negative milliseconds;
 * and a subtype-4 binary of any length (EJSON insists on 16 bytes).
 */
const wrapper = (record: Record<string, unknown>, keys: ReadonlyArray<string>): unknown => {
  const known = knownWrapper(record, keys)
  // anything else: EJSON reads this value alone (it throws where EJSON throws)
  return known !== viaEjson ? known : convert(EJSON.deserialize({ v: record }, { relaxed: false }).v)
}

const knownWrapper = (record: Record<string, unknown>, keys: ReadonlyArray<string>): unknown => {
  if (keys.length === 2 && typeof record.$binary === "string" && typeof record.$type === "string") {
    return base64.test(record.$binary) && subType.test(record.$type) ? binary(record.$binary, record.$type) : viaEjson
  }
  if (keys.length !== 1) return viaEjson
  const key = keys[0]!
  const inner = record[key]
  if (typeof inner === "string") {
    if (key === "$oid" && hex24.test(inner)) return { $oid: inner.toLowerCase() }
    if (key === "$numberInt" && int9.test(inner)) return Number(inner) + 0
    if (key === "$numberLong" && long15.test(inner)) return Number(inner)
    if (key === "$uuid" && uuid.test(inner)) return binary(Buffer.from(inner.replace(/-/g, ""), "hex").toString("base64"), "04")
    return viaEjson
  }
  if (key === "$date" && typeof inner === "number" && Number.isSafeInteger(inner)) return { $date: { $numberLong: String(inner) } }
  if (key === "$binary" && typeof inner === "object" && inner !== null) {
    const b = inner as { base64?: unknown; subType?: unknown }
    return typeof b.base64 === "string" && base64.test(b.base64) && typeof b.subType === "string" && subType.test(b.subType) &&
        Object.keys(b).length === 2
      ? binary(b.base64, b.subType)
      : viaEjson
  }
  return viaEjson
}

/**
 * What `convert(EJSON.parse(...))` gives for a freshly parsed JSON value, rewriting it in place,
 * for the forms a change feed is made of: plain JSON, `{"$oid"}`, `{"$numberInt"}` /
 * `{"$numberLong"}` short enough to be exact as numbers, binaries and dates (see `wrapper`).
 * Anything else (other wrappers, a field name with a NUL byte, which EJSON refuses, or
 * `__proto__`, which an assignment cannot write) returns `viaEjson`.
 * (`+ 0` turns "-0" into 0, as Int32 does.)
 */
const revive = (value: unknown): unknown => {
  // an integer past 2^53 left as a number by parseJson is beyond Int64: a Double, as EJSON reads it
  if (typeof value === "number") return value
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
    if (key.charCodeAt(0) === 36 /* $ */) return wrapper(record, keys)
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
 * @category codecs
 * @since 0.1.0
 */
export const normalize = (value: unknown): unknown => {
  if (typeof value === "string") return parse(value)
  if (value === null || typeof value !== "object") return value
  return JSON.stringify(value).includes("\"$") ? convert(EJSON.deserialize(value as Record<string, unknown>, { relaxed: false })) : value
}

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const relaxed = (value: unknown): string => {
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? value.toString() : EJSON.stringify(value as any, { relaxed: true })
  }
  if ((value as { _bsontype?: unknown })._bsontype === "Long") return (value as { toString(): string }).toString()
  if (Array.isArray(value)) return `[${value.map(relaxed).join(",")}]`
  if ((value as { _bsontype?: unknown })._bsontype !== undefined || BSON_TYPE in value || !isPlainObject(value)) {
    return EJSON.stringify(value as any, { relaxed: true })
  }
  const parts: Array<string> = []
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${relaxed(v)}`)
  }
  return `{${parts.join(",")}}`
}

/**
 * Relaxed Extended-JSON text of a BSON value (a document read by the driver), as MongoDB's Java
 * driver, and so Debezium, writes it: an `Int64` is its exact integer literal. (`EJSON.stringify`
 * with `relaxed: true` turns an `Int64` into a JavaScript number first, which rounds it past
 * 2^53.) A `bigint` is written the same way. {@link parse} reads the text back exactly.
 *
 * @since 0.2.0
 * @category printing
 */
export const stringifyRelaxed = (value: unknown): string => relaxed(value)

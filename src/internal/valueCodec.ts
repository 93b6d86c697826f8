/**
 * Encodes aggregate values and ledger contributions as JSON text for stores that keep text
 * (the embedded SQLite store, DynamoDB string attributes, the token store's staged batches).
 *
 * Values may be built from JSON values and `bigint`, `Set`, `Map`, effect `Option`, `undefined`,
 * non-finite numbers and `-0`, and sketches with a binary encoding (HyperLogLog, Count-Min, Bloom filter, as
 * base64 under `$sketch`); those are written as one-key tagged objects (`{"$bigint": "12"}`), and
 * a plain object that looks like a tag is wrapped so it round-trips unchanged. Anything else
 * (class instances, functions, symbols) is refused with an error rather than stored wrongly.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { setOwn } from "./ownField.ts"
import { decodeStored, encodeStored } from "./sketch.ts"

const TAGS = new Set(["$bigint", "$set", "$map", "$some", "$none", "$undefined", "$number", "$object", "$sketch"])

const encodeValue = (value: unknown): unknown => {
  switch (typeof value) {
    case "number":
      // JSON has no -0 (it reads back as 0)
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: Object.is(value, -0) ? "-0" : String(value) }
    case "string":
    case "boolean":
      return value
    case "bigint":
      return { $bigint: value.toString() }
    case "undefined":
      return { $undefined: 1 }
    case "object": {
      if (value === null) return null
      if (Array.isArray(value)) return value.map(encodeValue)
      if (value instanceof Set) return { $set: Array.from(value, encodeValue) }
      if (value instanceof Map) return { $map: Array.from(value, ([k, v]) => [encodeValue(k), encodeValue(v)]) }
      if (Option.isOption(value)) return Option.isSome(value) ? { $some: encodeValue(value.value) } : { $none: 1 }
      const sketch = encodeStored(value)
      if (sketch !== undefined) return { $sketch: Buffer.from(sketch).toString("base64") }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`ValueCodec: cannot encode an instance of ${proto?.constructor?.name ?? "an unknown class"}`)
      }
      const out: Record<string, unknown> = {}
      const keys = Object.keys(value)
      for (const k of keys) setOwn(out, k, encodeValue((value as Record<string, unknown>)[k]))
      return keys.length === 1 && TAGS.has(keys[0]!) ? { $object: out } : out
    }
    default:
      throw new TypeError(`ValueCodec: cannot encode a ${typeof value}`)
  }
}

const decodeValue = (value: unknown): unknown => {
  if (value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map(decodeValue)
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length === 1) {
    const tag = keys[0]!
    const inner = record[tag]
    switch (tag) {
      case "$bigint":
        return BigInt(inner as string)
      case "$set":
        return new Set((inner as Array<unknown>).map(decodeValue))
      case "$map":
        return new Map((inner as Array<[unknown, unknown]>).map(([k, v]) => [decodeValue(k), decodeValue(v)]))
      case "$some":
        return Option.some(decodeValue(inner))
      case "$none":
        return Option.none()
      case "$undefined":
        return undefined
      case "$number":
        return Number(inner)
      case "$sketch":
        return Result.getOrThrow(decodeStored(new Uint8Array(Buffer.from(inner as string, "base64"))))
      case "$object": {
        const plain = inner as Record<string, unknown>
        const out: Record<string, unknown> = {}
        for (const k of Object.keys(plain)) setOwn(out, k, decodeValue(plain[k]))
        return out
      }
    }
  }
  const out: Record<string, unknown> = {}
  for (const k of keys) setOwn(out, k, decodeValue(record[k]))
  return out
}

/**
 * The JSON form of a value (see the module doc). Throws a `TypeError` for values it cannot encode.
 *
 * @since 0.1.0
 */
export const toJson = (value: unknown): unknown => encodeValue(value)

/**
 * The value of a JSON form made by {@link toJson}.
 *
 * @since 0.1.0
 */
export const fromJson = (json: unknown): unknown => decodeValue(json)

/**
 * Encodes a value as JSON text. Throws a `TypeError` for values it cannot encode.
 *
 * @since 0.1.0
 */
export const encode = (value: unknown): string =>
  typeof value === "number" && Number.isFinite(value) && !Object.is(value, -0) ? String(value) : JSON.stringify(encodeValue(value))

/**
 * Decodes JSON text written by {@link encode}.
 *
 * @since 0.1.0
 */
export const decode = <V>(text: string): V => {
  const c = text.charCodeAt(0)
  // a plain number or string needs no reviving
  return (c === 123 /* { */ || c === 91 /* [ */ ? decodeValue(JSON.parse(text)) : JSON.parse(text)) as V
}

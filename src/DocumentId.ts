/**
 * Document ids as the ledger keys them.
 *
 * A document's id is the JSON text of its `_id` in exact JSON (see `ExtendedJson`): `"o1"` for a
 * string id, `{"$oid":"..."}` for an ObjectId, `42` for a number. The same document gets the same
 * id whether it arrives from a snapshot row, a change stream, or a Debezium record key
 * (`{"id": "<Extended JSON of _id>"}`), so the ledger recognises it in every mode. Numbers are
 * keyed by value, as MongoDB's `_id` index compares them (`1`, `NumberLong(1)`, `1.0` and
 * `NumberDecimal("1.00")` are one document; so are `2.5` and `NumberDecimal("2.50")`). Key order inside a compound `_id` is kept: MongoDB
 * tells `{a: 1, b: 2}` and `{b: 2, a: 1}` apart too. Except for field names that look like
 * integers (`"5"`): JavaScript objects list them first, so `{b: 1, "5": 1}` and `{"5": 1, b: 1}`
 * get one id (docs/mongodb.md, "Known limits of `_id`s").
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

/** A decimal's text: sign, digits, fraction digits, exponent (`Infinity`, `NaN` and the like do not match). */
const decimalText = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/

/**
 * A `Decimal128` keyed by value, as MongoDB compares numbers across types: one that holds an
 * integer of the `Int64` range is keyed as that integer (`NumberDecimal("1.00")`, `1` and
 * `NumberLong(1)` are one `_id`); any other keeps its wrapper with its digits in one form
 * (`"1.50"` and `"15E-1"` are one value: `{"$numberDecimal": "15E-1"}`).
 */
const canonicalDecimal = (text: string, value: unknown): unknown => {
  const m = decimalText.exec(text)
  if (m === null || (m[2] === "" && (m[3] ?? "") === "")) return value
  const sign = m[1] === "-" ? "-" : ""
  const fraction = m[3] ?? ""
  const all = (m[2]! + fraction).replace(/^0+/, "")
  const digits = all.replace(/0+$/, "")
  if (digits === "") return 0
  // the value is digits * 10^exponent
  const exponent = Number(m[4] ?? "0") - fraction.length + (all.length - digits.length)
  if (exponent >= 0 && digits.length + exponent <= 19) {
    const integer = BigInt(`${sign}${digits}${"0".repeat(exponent)}`)
    if (integer >= INT64_MIN_BIG && integer <= INT64_MAX_BIG) return canonicalLong(integer.toString())
  }
  return { $numberDecimal: `${sign}${digits}E${exponent}` }
}

const INT64_MIN_BIG = -(2n ** 63n)
const INT64_MAX_BIG = 2n ** 63n - 1n

/** The bits of a double, for {@link canonicalDouble}. */
const doubleView = new DataView(new ArrayBuffer(8))

/**
 * A finite Double that is not an integer of the `Int64` range, keyed as the `Decimal128` of its
 * exact value when one holds it (34 significant digits): 2.5 and `NumberDecimal("2.5")`, or 1e20
 * and `NumberDecimal("1E20")`, are one `_id` to MongoDB, which lets a replacement change one into
 * the other. A Double no decimal holds exactly (0.1 is 0.1000000000000000055511151231257827...)
 * equals no decimal, and is keyed as it is.
 */
const canonicalDouble = (value: number): unknown => {
  doubleView.setFloat64(0, value)
  const bits = doubleView.getBigUint64(0)
  const biased = Number((bits >> 52n) & 0x7ffn)
  const fraction = bits & 0xfffffffffffffn
  // value = ±mantissa * 2^power
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n)
  const power = biased === 0 ? -1074 : biased - 1075
  // as digits * 10^exponent: m * 2^-k = m * 5^k * 10^-k
  const all = (power >= 0 ? mantissa << BigInt(power) : mantissa * 5n ** BigInt(-power)).toString()
  const digits = all.replace(/0+$/, "")
  if (digits.length > 34) return value
  const exponent = Math.min(power, 0) + all.length - digits.length
  return { $numberDecimal: `${value < 0 ? "-" : ""}${digits}E${exponent}` }
}

/** Numbers keyed by value (see the module doc); everything else as it is. */
const canonical = (value: unknown): unknown => {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return Object.is(value, -0) ? 0 : value
    // a Double holding an integer past 2^53 equals the Int64 of that value
    if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_MAX) return { $numberLong: BigInt(value).toString() }
    // NaN and the infinities as Extended JSON writes them (JSON has no such number: it would print null)
    return Number.isFinite(value) ? canonicalDouble(value) : { $numberDouble: String(value) }
  }
  if (value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map(canonical)
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length === 1 && keys[0] === "$numberLong" && typeof record.$numberLong === "string") {
    return canonicalLong(record.$numberLong)
  }
  if (keys.length === 1 && keys[0] === "$numberDecimal" && typeof record.$numberDecimal === "string") {
    return canonicalDecimal(record.$numberDecimal, value)
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

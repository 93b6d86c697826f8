/**
 * How aggregate values are kept on DynamoDB items: sums as DynamoDB numbers (`v`, written with
 * `ADD`), every other value as `ValueCodec` text (`e`, written by compare-and-set). The functions
 * here throw a non-retryable `StoreError` for a value DynamoDB cannot hold exactly (the aggregate
 * store turns the throw into a failure).
 *
 * @since 0.1.0
 */
import type * as Monoid from "../../Monoid.ts"
import * as ValueCodec from "../../internal/valueCodec.ts"
import * as Keys from "./keys.ts"
import { invalid, type Target } from "./send.ts"

/**
 * Which JavaScript number type a sum uses.
 *
 * @since 0.1.0
 */
export type Numeric = "number" | "bigint"

/**
 * DynamoDB's number precision, in decimal digits.
 *
 * @since 0.1.0
 */
export const MAX_DIGITS = 38

/**
 * The sums DynamoDB can `ADD` (the built-in sum, count and bigint sum), or `undefined` for a
 * monoid stored by compare-and-set.
 *
 * @since 0.1.0
 */
export const numericOf = (monoid: Monoid.Monoid<unknown>): Numeric | undefined => {
  if (monoid.kind !== "sum" && monoid.kind !== "count" && monoid.kind !== "sumBigInt") return undefined
  return typeof monoid.empty === "bigint" ? "bigint" : typeof monoid.empty === "number" ? "number" : undefined
}

const quoted = (key: string): string => JSON.stringify(key).slice(0, 200)

/**
 * The DynamoDB number text of a delta.
 *
 * @since 0.1.0
 */
export const toNumber = (target: Target, numeric: Numeric, value: unknown, key: string): string => {
  if (numeric === "bigint") {
    const text = (value as bigint).toString()
    if (text.replace("-", "").length > MAX_DIGITS) {
      throw invalid(target, `the delta of key ${quoted(key)} has more than ${MAX_DIGITS} digits (DynamoDB's number precision)`)
    }
    return text
  }
  const n = value as number
  // as Monoid.sum refuses it: an ADD would store a fraction, or a sum no read could return exactly
  if (!Number.isSafeInteger(n)) throw invalid(target, `the delta of key ${quoted(key)} is not a safe integer: ${n}`)
  return String(n)
}

/**
 * The value of a stored sum; checks that it is exact in JavaScript.
 *
 * @since 0.1.0
 */
export const fromNumber = (target: Target, numeric: Numeric, text: string, key: string): unknown => {
  if (numeric === "bigint") {
    const big = Keys.parseInteger(text)
    if (big.toString().replace("-", "").length > MAX_DIGITS) {
      throw invalid(target, `the sum of key ${quoted(key)} exceeds DynamoDB's ${MAX_DIGITS} digits`)
    }
    return big
  }
  const n = Number(text)
  if (/^[-+]?\d+$/.test(text) && !Number.isSafeInteger(n)) {
    throw invalid(target, `the sum of key ${quoted(key)} is ${text}, beyond the safe integer range: use Monoid.sumBigInt`)
  }
  return n
}

/**
 * The value held by an aggregate item.
 *
 * @since 0.1.0
 */
export const read = (target: Target, numeric: Numeric | undefined, item: Keys.Item, key: string): unknown => {
  if (numeric !== undefined) {
    const n = item["v"]?.N
    if (n === undefined) throw invalid(target, `the item of key ${quoted(key)} has no number "v"`)
    return fromNumber(target, numeric, n, key)
  }
  const e = item["e"]?.S
  if (e === undefined) throw invalid(target, `the item of key ${quoted(key)} has no encoded value "e"`)
  return ValueCodec.decode(e)
}

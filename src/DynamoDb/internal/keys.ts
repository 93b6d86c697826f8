/**
 * How the DynamoDB stores turn names chosen by users and data (pipelines, aggregate keys, document
 * ids, source partitions) into DynamoDB keys and attribute names, so that no two of them collide
 * and none can change an expression:
 *
 * - An item's identity is the JSON text of its parts (`["order_totals","c-1"]`). JSON text of an
 *   array of strings and numbers is injective (two different part lists never give the same text)
 *   and always well-formed UTF-16: control characters and lone surrogates are escaped, so nothing
 *   is lost in the UTF-8 DynamoDB stores.
 * - When that text is longer than DynamoDB allows for a key (2048 bytes for a partition key, 1024
 *   for a sort key), the key is `#` followed by the SHA-256 of the text (base64url), and the item
 *   keeps the full text in its `id` attribute; readers check it, and writers make their condition
 *   require it, so even a hash collision could not mix two items up. JSON text starts with `[`, so
 *   a hashed key never equals a plain one.
 * - Source partitions become attribute names `hw:<partition>` with the partition JSON-escaped
 *   (same reasons). Attribute names and values only ever reach DynamoDB through
 *   `ExpressionAttributeNames` and `ExpressionAttributeValues`, never inside expression text.
 *
 * @since 0.1.0
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import { createHash } from "node:crypto"
import { isWellFormed as wellFormed } from "../../internal/wellFormed.ts"

/**
 * An item as the SDK sends it.
 *
 * @since 0.1.0
 */
export type Item = Record<string, AttributeValue>

/**
 * DynamoDB's limit for a partition key value, in UTF-8 bytes.
 *
 * @since 0.1.0
 */
export const MAX_PARTITION_KEY_BYTES = 2048

/**
 * DynamoDB's limit for a sort key value, in UTF-8 bytes.
 *
 * @since 0.1.0
 */
export const MAX_SORT_KEY_BYTES = 1024

/**
 * DynamoDB's item size limit (names and values, in bytes).
 *
 * @since 0.1.0
 */
export const MAX_ITEM_BYTES = 400 * 1024

/** The aggregate items' TTL attribute (seconds since the epoch; `DynamoDbTables.TTL_ATTRIBUTE`). */
export const TTL_ATTRIBUTE = "expiresAt"

/**
 * The identity text of a list of parts.
 *
 * @since 0.1.0
 */
export const identity = (parts: ReadonlyArray<string | number>): string => JSON.stringify(parts)

const fit = (id: string, limit: number): string =>
  Buffer.byteLength(id, "utf8") <= limit ? id : `#${createHash("sha256").update(id, "utf8").digest("base64url")}`

/**
 * The partition key value of an identity text: the text itself, or its hash when it is too long.
 *
 * @since 0.1.0
 */
export const partitionKey = (id: string): string => fit(id, MAX_PARTITION_KEY_BYTES)

/**
 * The sort key value of an identity text: the text itself, or its hash when it is too long.
 *
 * @since 0.1.0
 */
export const sortKey = (id: string): string => fit(id, MAX_SORT_KEY_BYTES)

/**
 * Whether a key value is a hash (the item keeps its identity text in `id`).
 *
 * @since 0.1.0
 */
export const isHashed = (key: string): boolean => key.startsWith("#")

/**
 * The parts of an identity text.
 *
 * @since 0.1.0
 */
export const parts = (id: string): Array<unknown> => {
  const parsed: unknown = JSON.parse(id)
  if (!Array.isArray(parsed)) throw new TypeError(`not an identity text: ${id.slice(0, 80)}`)
  return parsed
}

/**
 * Whether a string is well-formed UTF-16 (no lone surrogates), so that DynamoDB's UTF-8 strings
 * can keep it as it is. Data that may not be is stored JSON-escaped instead.
 *
 * @since 0.1.0
 */
export const isWellFormed: (s: string) => boolean = wellFormed

const MARK_PREFIX = "hw:"

/**
 * The attribute name of a source partition's high-water mark.
 *
 * @since 0.1.0
 */
export const markAttribute = (partition: string): string => MARK_PREFIX + JSON.stringify(partition).slice(1, -1)

/**
 * The source partition of a mark attribute name, or `undefined` for other attributes.
 *
 * @since 0.1.0
 */
export const markPartition = (attribute: string): string | undefined =>
  attribute.startsWith(MARK_PREFIX) ? (JSON.parse(`"${attribute.slice(MARK_PREFIX.length)}"`) as string) : undefined

/**
 * The high-water marks stored on an item (null prototype: partitions are data).
 *
 * @since 0.1.0
 */
export const readMarks = (item: Item | undefined): Record<string, number> => {
  const out: Record<string, number> = Object.create(null)
  if (item === undefined) return out
  for (const name of Object.keys(item)) {
    const partition = markPartition(name)
    const n = item[name]?.N
    if (partition !== undefined && n !== undefined) out[partition] = Number(n)
  }
  return out
}

const valueBytes = (value: AttributeValue): number => {
  if (value.S !== undefined) return Buffer.byteLength(value.S, "utf8")
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^[-+]|[.eE].*$/g, "").length / 2) + 1
  if (value.B !== undefined) return value.B.byteLength
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1
  if (value.L !== undefined) return 3 + value.L.reduce((n, v) => n + 1 + valueBytes(v), 0)
  if (value.M !== undefined) return 3 + itemBytes(value.M)
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + Buffer.byteLength(s, "utf8"), 0)
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0)
  if (value.BS !== undefined) return value.BS.reduce((n, b) => n + b.byteLength, 0)
  return 1
}

/**
 * The size DynamoDB counts for an item (attribute names plus values; numbers approximately).
 *
 * @since 0.1.0
 */
export const itemBytes = (item: Item): number => {
  let n = 0
  for (const name of Object.keys(item)) n += Buffer.byteLength(name, "utf8") + valueBytes(item[name]!)
  return n
}

/**
 * Parses an integer DynamoDB number (`"12"`, `"-3"`, `"1.2E+3"`) exactly. Throws on a fraction.
 *
 * @since 0.1.0
 */
export const parseInteger = (text: string): bigint => {
  const m = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(text.trim())
  if (m === null) throw new TypeError(`not a number: ${text}`)
  const sign = m[1] === "-" ? -1n : 1n
  let digits = (m[2] ?? "") + (m[3] ?? "")
  let exponent = Number(m[4] ?? "0") - (m[3] ?? "").length
  while (exponent < 0 && digits.endsWith("0")) {
    digits = digits.slice(0, -1)
    exponent++
  }
  if (exponent < 0) throw new TypeError(`not an integer: ${text}`)
  if (digits === "") return 0n
  return sign * BigInt(digits) * 10n ** BigInt(exponent)
}

/**
 * The order documents of the `orders` collection: `_id`, `customer_id`, `amount` in integer cents,
 * a `status`, and `created_at`, when the order was placed (ISO-8601 text, UTC, e.g.
 * `2026-05-01T12:00:00Z`). Each pipeline reads what it needs, so a document can be valid for one
 * and not for another (an order with an amount as text still counts as an order of its customer;
 * an older order without `created_at` still counts in the totals, and only the per-day pipelines
 * dead-letter it).
 */
import { Schema } from "effect"

/** What the totals read: a customer and an amount of cents. */
export const Order = Schema.Struct({
  /** The document id, as exact JSON (a string, or `{"$oid": ...}`); sources key the ledger by it. */
  _id: Schema.Unknown,
  customer_id: Schema.String.check(Schema.isNonEmpty()),
  /** Integer cents (a safe integer: amounts are never floats). */
  amount: Schema.Int
})
export type Order = typeof Order.Type

/** What the count per customer reads: a customer. */
export const OrderOfCustomer = Schema.Struct({ _id: Schema.Unknown, customer_id: Schema.String.check(Schema.isNonEmpty()) })

/** What the count per status reads: a status, which older orders lack ("none"). */
export const OrderStatus = Schema.Struct({ _id: Schema.Unknown, status: Schema.optionalKey(Schema.String) })

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/

/**
 * `true` for an ISO-8601 date and time with its offset (`Z` for UTC) that names a real instant:
 * `2026-05-01T12:00:00Z`, `2026-05-01T14:00:00.250+02:00`; not `2026-05-01` (no time), not
 * `2026-05-01T12:00:00` (no offset: local to whom?), not `2026-02-30T00:00:00Z`.
 */
export const isInstant = (text: string): boolean => {
  if (!ISO_8601.test(text)) return false
  const ms = Date.parse(text)
  if (!Number.isFinite(ms)) return false
  // Date.parse rolls 2026-02-30 over to March 2nd: the calendar date must be the one written
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(text)
  const shift = offset === null ? 0 : (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) * 60_000
  return new Date(ms + shift).toISOString().slice(0, 10) === text.slice(0, 10)
}

/** When the order was placed: an ISO-8601 instant (see {@link isInstant}). */
export const CreatedAt = Schema.String.check(
  Schema.makeFilter((text: string) => isInstant(text) || "created_at must be an ISO-8601 date and time with its offset, e.g. 2026-05-01T12:00:00Z")
)

/** What the revenue per day and the top customers per day read: a customer, cents, when. */
export const DatedOrder = Schema.Struct({
  _id: Schema.Unknown,
  customer_id: Schema.String.check(Schema.isNonEmpty()),
  amount: Schema.Int,
  created_at: CreatedAt
})
export type DatedOrder = typeof DatedOrder.Type

/** What the distinct customers per day read: a customer and when (any amount, even an invalid one). */
export const DatedOrderOfCustomer = Schema.Struct({
  _id: Schema.Unknown,
  customer_id: Schema.String.check(Schema.isNonEmpty()),
  created_at: CreatedAt
})

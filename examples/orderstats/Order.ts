/**
 * The order documents of the `orders` collection: `_id`, `customer_id`, `amount` in integer cents,
 * and a `status`. Each pipeline reads what it needs, so a document can be valid for one and not
 * for another (an order with an amount as text still counts as an order of its customer).
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

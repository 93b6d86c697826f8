/**
 * The order documents of the `orders` collection: `_id`, `customer_id`, and `amount` in integer
 * cents. Other fields are ignored.
 */
import { Schema } from "effect"

export const Order = Schema.Struct({
  /** The document id, as exact JSON (a string, or `{"$oid": ...}`); sources key the ledger by it. */
  _id: Schema.Unknown,
  customer_id: Schema.String.check(Schema.isNonEmpty()),
  /** Integer cents (a safe integer: amounts are never floats). */
  amount: Schema.Int
})
export type Order = typeof Order.Type

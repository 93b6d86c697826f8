/**
 * Per-customer order totals: key = customer, value = amount, monoid = integer sum (a group, so
 * updates, customer moves and deletes retract exactly). Shared by every orderstats binary.
 */
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import { Order } from "./Order.ts"

export const orderTotals = Pipeline.make("order_totals", {
  schema: Order,
  key: (order) => order.customer_id,
  value: (order) => order.amount,
  monoid: Monoid.sum
})

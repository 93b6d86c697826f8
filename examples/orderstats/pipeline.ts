/**
 * The orderstats pipelines, folded from one source in one pass (one scan, one change stream or
 * consumer group): per-customer order totals (a sum of cents), orders per status and orders per
 * customer (counts). All are groups, so updates, customer moves, status changes and deletes
 * retract exactly. Shared by every orderstats binary.
 */
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import { Order, OrderOfCustomer, OrderStatus } from "./Order.ts"

export const orderTotals = Pipeline.make("order_totals", {
  schema: Order,
  key: (order) => order.customer_id,
  value: (order) => order.amount,
  monoid: Monoid.sum
})

export const ordersPerStatus = Pipeline.make("orders_per_status", {
  schema: OrderStatus,
  key: (order) => order.status ?? "none",
  value: () => 1,
  monoid: Monoid.count
})

export const ordersPerCustomer = Pipeline.make("orders_per_customer", {
  schema: OrderOfCustomer,
  key: (order) => order.customer_id,
  value: () => 1,
  monoid: Monoid.count
})

/** Every pipeline of the example, the totals first. */
export const pipelines = [orderTotals, ordersPerStatus, ordersPerCustomer] as const

/**
 * The orderstats pipelines, folded from one source in one pass (one scan, one change stream or
 * consumer group):
 *
 * - per-customer order totals (a sum of cents), orders per status and orders per customer (counts);
 * - per UTC day of `created_at`, kept for 90 days: the revenue of each customer (a sum of cents),
 *   the customers who ordered (an exact multiset: distinct customers are its keys) and the
 *   customers weighted by revenue (an exact `TopK`: the top 10 is read from it).
 *
 * All are groups, so updates, customer moves, moves between days, status changes and deletes
 * retract exactly. That is also why the distinct customers are not a HyperLogLog: the source is a
 * source of changes, and a HyperLogLog has no inverse (the types refuse it there; see
 * docs/orderstats.md). Shared by every orderstats binary.
 */
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as TopK from "../../src/TopK.ts"
import type * as Window from "../../src/Window.ts"
import { DatedOrder, DatedOrderOfCustomer, Order, OrderOfCustomer, OrderStatus } from "./Order.ts"

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

/** How long a day's aggregates are kept after the day ends. */
export const RETENTION_DAYS = 90

/**
 * The window of the per-day pipelines: UTC days of `created_at`, kept for {@link RETENTION_DAYS}
 * days. (A function for the input type: `Pipeline.windowed` takes the window of exactly its input.)
 */
export const daily = <In extends { readonly created_at: string }>(): Window.Options<In> => ({
  time: (order) => order.created_at,
  granularity: "day",
  timeZone: "UTC",
  retention: `${RETENTION_DAYS} days`
})

/** The key of the per-day pipelines that hold one aggregate per day (not per customer). */
export const ALL = "all"

/** Revenue per customer per UTC day: aggregate key `"<customer>|<day>"`, cents. */
export const revenuePerDay = Pipeline.make("revenue_per_day", {
  schema: DatedOrder,
  key: (order) => order.customer_id,
  value: (order) => order.amount,
  monoid: Monoid.sum
}).pipe(Pipeline.windowed(daily()))

/**
 * The customers who ordered, per UTC day: aggregate key `"all|<day>"`, the exact number of orders
 * of each customer that day (a `TopK` counted by orders). Its size is the number of distinct
 * customers of the day. An order counts here whatever its amount, as in `orders_per_customer`.
 */
export const customersPerDay = Pipeline.make("customers_per_day", {
  schema: DatedOrderOfCustomer,
  key: () => ALL,
  value: (order) => TopK.of(order.customer_id),
  monoid: TopK.group
}).pipe(Pipeline.windowed(daily()))

/**
 * The customers weighted by revenue, per UTC day: aggregate key `"all|<day>"`, each customer's
 * exact cents that day (a `TopK` whose counts are amounts); `TopK.top(value, 10)` is the day's top 10.
 */
export const topCustomersPerDay = Pipeline.make("top_customers_per_day", {
  schema: DatedOrder,
  key: () => ALL,
  value: (order) => TopK.of(order.customer_id, order.amount),
  monoid: TopK.group
}).pipe(Pipeline.windowed(daily()))

/** Every pipeline of the example, the totals first. */
export const pipelines = [orderTotals, ordersPerStatus, ordersPerCustomer, revenuePerDay, customersPerDay, topCustomersPerDay] as const

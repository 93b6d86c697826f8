/** The benchmarks' pipelines: the orderstats shape (key customer, value amount, integer sum), and two counts for the fan-out scenarios. */
import { Schema } from "effect"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"

export const BenchOrder = Schema.Struct({ customer_id: Schema.String, amount: Schema.Int })

export const benchPipeline = Pipeline.make("bench_totals", {
  schema: BenchOrder,
  key: (o) => o.customer_id,
  value: (o) => o.amount,
  monoid: Monoid.sum
})

/** Orders per customer (reads the customer only). */
export const ordersPerCustomer = Pipeline.make("bench_orders_per_customer", {
  schema: Schema.Struct({ customer_id: Schema.String }),
  key: (o) => o.customer_id,
  value: () => 1,
  monoid: Monoid.count
})

/** Orders per band of 100.00 of amount (reads the amount only). */
export const ordersPerAmountBand = Pipeline.make("bench_orders_per_band", {
  schema: Schema.Struct({ amount: Schema.Int }),
  key: (o) => String(Math.floor(o.amount / 10_000)),
  value: () => 1,
  monoid: Monoid.count
})

/** The three pipelines the fan-out scenarios fold from one source. */
export const fanoutPipelines = [benchPipeline, ordersPerCustomer, ordersPerAmountBand] as const

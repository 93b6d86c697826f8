/** The benchmarks' pipeline: the orderstats shape (key customer, value amount, integer sum). */
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

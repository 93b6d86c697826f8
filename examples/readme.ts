/**
 * The code of README.md's first section, with relative imports, so that `tsc` checks it: if the
 * README's example stops compiling, the build fails.
 */
import { Effect, Schema, Stream } from "effect"
import * as Handoff from "../src/Handoff.ts"
import * as Monoid from "../src/Monoid.ts"
import * as Pipeline from "../src/Pipeline.ts"
import * as Fold from "../src/Runtime/Fold.ts"
import * as Orchestrator from "../src/Runtime/Orchestrator.ts"
import * as JsonlChanges from "../src/Jsonl/JsonlChanges.ts"
import * as JsonlSnapshot from "../src/Jsonl/JsonlSnapshot.ts"
import * as Source from "../src/Source.ts"
import * as EmbeddedStore from "../src/Store/Embedded.ts"
import * as MemoryStore from "../src/Store/Memory.ts"
import * as Version from "../src/Version.ts"

const Order = Schema.Struct({ _id: Schema.Unknown, customer_id: Schema.String, amount: Schema.Int })
const OrderStatus = Schema.Struct({ _id: Schema.Unknown, status: Schema.String })

export const orderTotals = Pipeline.make("order_totals", {
  schema: Order,
  key: (order) => order.customer_id,
  value: (order) => order.amount,
  monoid: Monoid.sum
})

export const ordersPerStatus = Pipeline.make("orders_per_status", {
  schema: OrderStatus,
  key: (order) => order.status,
  value: () => 1,
  monoid: Monoid.count
})

const orders = Source.fromStream("orders", Stream.make(
  Source.upsert("o1", { _id: "o1", customer_id: "c1", amount: 1250, status: "new" }),
  Source.upsert("o1", { _id: "o1", customer_id: "c2", amount: 1250, status: "paid" }),
  Source.remove("o1")
))

export const folded = orders.pipe(Fold.run([orderTotals, ordersPerStatus]), Effect.provide(MemoryStore.layer()))

export const program = Orchestrator.run({
  pipelines: [orderTotals, ordersPerStatus],
  handoff: Handoff.at(Version.make(1700000000000, 5)),
  bootstrap: (handoff) => JsonlSnapshot.make({ path: "snapshot.jsonl", handoff }),
  live: () => JsonlChanges.make({ path: "changes.jsonl" })
}).pipe(Effect.provide(EmbeddedStore.layer({ path: "state/orderstats.sqlite" })))

// the types say which pipelines take changes
const _changes: Pipeline.Pipeline<typeof Order.Type, number, "changes"> = orderTotals
void _changes

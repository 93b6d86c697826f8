/**
 * The code of README.md's first section, with relative imports, so that `tsc` checks it: if the
 * README's example stops compiling, the build fails.
 */
import { Effect, Schema } from "effect"
import * as EmbeddedStore from "../src/Store/Embedded.ts"
import * as Handoff from "../src/Handoff.ts"
import * as JsonlChanges from "../src/Source/JsonlChanges.ts"
import * as JsonlSnapshot from "../src/Source/JsonlSnapshot.ts"
import * as Monoid from "../src/Monoid.ts"
import * as Orchestrator from "../src/Runtime/Orchestrator.ts"
import * as Pipeline from "../src/Pipeline.ts"
import * as Version from "../src/Version.ts"

const Order = Schema.Struct({ _id: Schema.Unknown, customer_id: Schema.String, amount: Schema.Int })

export const orderTotals = Pipeline.make("order_totals", {
  schema: Order,
  key: (order) => order.customer_id,
  value: (order) => order.amount,
  monoid: Monoid.sum
})

export const program = Orchestrator.run({
  pipeline: orderTotals,
  handoff: Effect.sync(() => Handoff.atVersion(Version.make(1700000000000, 5))),
  bootstrap: (handoff) => JsonlSnapshot.make(orderTotals, { path: "snapshot.jsonl", handoff }),
  live: (handoff) => JsonlChanges.make(orderTotals, { path: "changes.jsonl", after: handoff.version })
}).pipe(Effect.provide(EmbeddedStore.layer({ path: "state/orderstats.sqlite" })))

// the types say which pipelines take changes
const _changes: Pipeline.Pipeline<typeof Order.Type, number, "changes"> = orderTotals
void _changes

/**
 * totals: the per-customer totals in the store.
 *
 *   totals.js [--json] [CUSTOMER...]
 *
 * Without customers: every non-zero total (a full read of the store; for reports). With customers:
 * just theirs, read through the Valkey/Redis cache when `REDIS_URL` is set (misses are filled from
 * the store; the writers invalidate what they change). `--json` prints one JSON object:
 * `{ totals: { customer: cents }, customers, sum }`.
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import { orderTotals } from "./pipeline.ts"
import * as Report from "./report.ts"
import * as Stores from "./stores.ts"

const program = (options: { readonly json: boolean; readonly customers: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const aggregates = yield* Aggregates
    const read = options.customers.length === 0 ? yield* aggregates.all(orderTotals) : yield* aggregates.get(orderTotals, options.customers)
    const totals = Report.nonZero(read)
    const sum = totals.reduce((acc, [, cents]) => acc + cents, 0)
    yield* Effect.sync(() =>
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ totals: Object.fromEntries(totals), customers: totals.length, sum })}\n`
          : `${Report.table(totals)}\n\n${totals.length} customers, ${Report.money(sum)} in all\n`
      )
    )
  }).pipe(Effect.provide(Stores.layer))

const customers = Argument.String("customer").pipe(
  Argument.withDescription("customers to read (through the cache when REDIS_URL is set); none: every non-zero total"),
  Argument.variadic()
)

const command = Command.make("totals.js", { json: Cli.json, customers }, program).pipe(
  Cli.describe(
    "The per-customer totals in the store, in cents and as money: every non-zero total (a full read of the store), or the named customers'. " +
      "--json prints { totals: { customer: cents }, customers, sum }.",
    [Settings.sections.store, Settings.sections.logging]
  )
)

Cli.runMain("totals", command)

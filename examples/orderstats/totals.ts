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
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Cli from "./cli.ts"
import { orderTotals } from "./pipeline.ts"
import * as Report from "./report.ts"
import * as Stores from "./stores.ts"

const USAGE = "usage: totals.js [--json] [CUSTOMER...]"

const program = Effect.gen(function*() {
  const { values, positionals } = yield* Cli.flags(USAGE, { json: { type: "boolean", default: false } }, process.argv.slice(2), true)
  const aggregates = yield* Aggregates
  const read = positionals.length === 0 ? yield* aggregates.all(orderTotals) : yield* aggregates.get(orderTotals, positionals)
  const totals = Report.nonZero(read)
  const sum = totals.reduce((acc, [, cents]) => acc + cents, 0)
  yield* Effect.sync(() =>
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ totals: Object.fromEntries(totals), customers: totals.length, sum })}\n`
        : `${Report.table(totals)}\n\n${totals.length} customers, ${Report.money(sum)} in all\n`
    )
  )
}).pipe(Effect.provide(Stores.layer))

Cli.runMain("totals", program)

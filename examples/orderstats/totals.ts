/**
 * totals: the per-customer totals in the store, or their revenue over the last N days.
 *
 *   totals.js [--json] [--days N] [CUSTOMER...]
 *
 * Without customers: every non-zero total (a full read of the store; for reports). With customers:
 * just theirs, read through the Valkey/Redis cache when `REDIS_URL` is set (misses are filled from
 * the store; the writers invalidate what they change). With `--days N`: the revenue of the last N
 * UTC days of `created_at` up to now (today included), from the `revenue_per_day` pipeline
 * (`Window.last`: one read of every customer's N days; without customers, every customer's); N is
 * at most the retention, 90. `--json` prints one JSON object:
 * `{ totals: { customer: cents }, customers, sum }`, with `days` when `--days` is given.
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as PerDay from "./perDay.ts"
import { orderTotals, RETENTION_DAYS } from "./pipeline.ts"
import * as Report from "./report.ts"
import * as Stores from "./stores.ts"

interface Options {
  readonly json: boolean
  readonly days: Option.Option<number>
  readonly customers: ReadonlyArray<string>
}

/** The all-time totals: every customer's (a full read), or the named ones'. */
const allTime = (customers: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const aggregates = yield* Aggregates
    return customers.length === 0 ? yield* aggregates.all(orderTotals) : yield* aggregates.get(orderTotals, customers)
  })

/** The last `days` days of the named customers, or of every customer with revenue in a retained day. */
const lastDays = (customers: ReadonlyArray<string>, days: number) =>
  Effect.gen(function*() {
    const who = customers.length > 0 ? customers : Object.keys(yield* PerDay.readRevenuePerDay)
    return new Map(Object.entries(yield* PerDay.readRevenueLastDays(who, days)))
  })

const program = (options: Options) =>
  Effect.gen(function*() {
    const days = Option.getOrUndefined(options.days)
    const totals = Report.nonZero(days === undefined ? yield* allTime(options.customers) : yield* lastDays(options.customers, days))
    const sum = totals.reduce((acc, [, cents]) => acc + cents, 0)
    const over = days === undefined ? "" : `, over the last ${days} UTC day${days === 1 ? "" : "s"} (today included)`
    yield* Effect.sync(() =>
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ totals: Object.fromEntries(totals), customers: totals.length, sum, ...(days === undefined ? {} : { days }) })}\n`
          : `${Report.table(totals)}\n\n${totals.length} customers, ${Report.money(sum)} in all${over}\n`
      )
    )
  }).pipe(Effect.provide(Stores.layer))

const customers = Argument.String("customer").pipe(
  Argument.withDescription("customers to read (through the cache when REDIS_URL is set); none: every non-zero total"),
  Argument.variadic()
)

const days = Flag.Int("days").pipe(
  Flag.filter((n: number) => n >= 1 && n <= RETENTION_DAYS, () => `a number of days from 1 to ${RETENTION_DAYS} (the retention)`),
  Flag.optional,
  Flag.withDescription(`the revenue of the last N UTC days of created_at up to now, today included (1 to ${RETENTION_DAYS}), instead of the totals`)
)

const command = Command.make("totals.js", { json: Cli.json, days, customers }, program).pipe(
  Cli.describe(
    "The per-customer totals in the store, in cents and as money: every non-zero total (a full read of the store), or the named customers'. " +
      "With --days N, their revenue over the last N days instead. --json prints { totals: { customer: cents }, customers, sum } (and days).",
    [Settings.sections.store, Settings.sections.logging]
  )
)

Cli.runMain("totals", command)

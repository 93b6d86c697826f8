/**
 * The per-day reads of orderstats (UTC days of `created_at`, see pipeline.ts): the revenue of each
 * customer per day, each customer's revenue over the last N days (`Window.last`), the number of
 * distinct customers per day and the top customers by revenue per day. Days past the retention
 * are never returned (every store drops them). "Now" is the `Clock`'s: the wall clock on real
 * services, and the recording's end when the demo replays recorded files ({@link asOf}).
 */
import { Clock, Effect } from "effect"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import type { StoreError } from "../../src/Store/StoreError.ts"
import * as TopK from "../../src/TopK.ts"
import * as Window from "../../src/Window.ts"
import { customersPerDay, revenuePerDay, topCustomersPerDay } from "./pipeline.ts"

/** Customer -> day -> cents (non-zero only). */
export type RevenuePerDay = Record<string, Record<string, number>>

/** Day -> the top customers, largest revenue first: `[customer, cents]`. */
export type TopPerDay = Record<string, ReadonlyArray<readonly [string, number]>>

/** What `main.js --json` prints of the per-day pipelines. */
export interface PerDay {
  readonly revenuePerDay: RevenuePerDay
  /** Customer -> cents of the last {@link LAST_DAYS} days, today included (non-zero only). */
  readonly revenueLast7Days: Record<string, number>
  readonly distinctCustomersPerDay: Record<string, number>
  readonly top10PerDay: TopPerDay
}

/** The "last N days" of the demo's output. */
export const LAST_DAYS = 7

/** The "top N" of the demo's output. */
export const TOP = 10

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The aggregates of a windowed pipeline as `[key, day, value]`, sorted by key then day.
 */
export const buckets = <V>(all: ReadonlyMap<string, V>): Array<readonly [string, string, V]> => {
  const out: Array<readonly [string, string, V]> = []
  for (const [aggregateKey, value] of all) {
    const split = Window.splitKey(aggregateKey)
    if (split !== undefined) out.push([split[0], split[1], value])
  }
  return out.sort((x, y) => byText(x[0], y[0]) || byText(x[1], y[1]))
}

/**
 * The revenue of every customer per day (a full read of `revenue_per_day`).
 */
export const readRevenuePerDay: Effect.Effect<RevenuePerDay, StoreError, Aggregates> = Effect.gen(function*() {
  const out: RevenuePerDay = {}
  for (const [customer, day, cents] of buckets(yield* (yield* Aggregates).all(revenuePerDay))) {
    if (cents !== 0) (out[customer] ??= {})[day] = cents
  }
  return out
})

/**
 * Each customer's revenue over the last `days` days up to now, today included (one store call
 * for every customer and day: `Window.last`); customers with none are absent.
 */
export const readRevenueLastDays = (
  customers: ReadonlyArray<string>,
  days: number
): Effect.Effect<Record<string, number>, StoreError, Aggregates> =>
  Effect.map(Window.last(revenuePerDay, customers, days), (found) =>
    Object.fromEntries(Array.from(found).filter(([, cents]) => cents !== 0).sort(([a], [b]) => byText(a, b))))

/**
 * The number of distinct customers who ordered, per day (the customers with a positive count in
 * the day's `customers_per_day` multiset).
 */
export const readDistinctCustomersPerDay: Effect.Effect<Record<string, number>, StoreError, Aggregates> = Effect.gen(function*() {
  const out: Record<string, number> = {}
  for (const [, day, customers] of buckets(yield* (yield* Aggregates).all(customersPerDay))) {
    const n = Array.from(customers.values()).filter((count) => count > 0).length
    if (n > 0) out[day] = n
  }
  return out
})

/**
 * The `k` customers with the largest positive revenue per day, largest first (ties by customer).
 */
export const readTopPerDay = (k: number): Effect.Effect<TopPerDay, StoreError, Aggregates> =>
  Effect.gen(function*() {
    const out: Record<string, ReadonlyArray<readonly [string, number]>> = {}
    for (const [, day, revenue] of buckets(yield* (yield* Aggregates).all(topCustomersPerDay))) {
      const top = TopK.top(revenue, k)
      if (top.length > 0) out[day] = top
    }
    return out
  })

/**
 * Everything `main.js` prints of the per-day pipelines, as of the `Clock`'s now.
 */
export const read: Effect.Effect<PerDay, StoreError, Aggregates> = Effect.gen(function*() {
  const perDay = yield* readRevenuePerDay
  return {
    revenuePerDay: perDay,
    revenueLast7Days: yield* readRevenueLastDays(Object.keys(perDay), LAST_DAYS),
    distinctCustomersPerDay: yield* readDistinctCustomersPerDay,
    top10PerDay: yield* readTopPerDay(TOP)
  }
})

/**
 * `clock` moved by `offsetMs`: the wall-clock readings shift, the monotonic time and sleeps do
 * not (elapsed times and timeouts stay real).
 */
export const shiftedClock = (clock: Clock.Clock, offsetMs: number): Clock.Clock => {
  const offsetNanos = BigInt(Math.round(offsetMs)) * 1_000_000n
  return {
    currentTimeMillisUnsafe: () => clock.currentTimeMillisUnsafe() + offsetMs,
    currentTimeMillis: Effect.map(clock.currentTimeMillis, (ms) => ms + offsetMs),
    currentTimeNanosUnsafe: () => clock.currentTimeNanosUnsafe() + offsetNanos,
    currentTimeNanos: Effect.map(clock.currentTimeNanos, (nanos) => nanos + offsetNanos),
    monotonicTimeNanosUnsafe: () => clock.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: clock.monotonicTimeNanos,
    sleep: (duration) => clock.sleep(duration)
  }
}

/**
 * Runs `self` with the `Clock` set back (or forward) so that it reads `now` (ms) when `self`
 * starts and then runs on at the normal pace: replaying recorded data as of the time it was
 * recorded, so that the retention and "the last 7 days" are those of the recording. Everything
 * that reads the `Clock` sees it (the fold's expiry, the stores' reads, the handoff's stamp, the
 * logs' timestamps); durations and sleeps are unchanged.
 */
export const asOf = (now: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Clock.clockWith((clock) => Effect.provideService(self, Clock.Clock, shiftedClock(clock, now - clock.currentTimeMillisUnsafe())))

/**
 * The day of an instant, `YYYY-MM-DD` in UTC (the per-day pipelines' bucket id).
 */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

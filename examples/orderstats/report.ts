/**
 * What the binaries print: per-customer totals as a table of money, the counts of the other
 * pipelines, the per-day revenue and customers, and one-line summaries.
 */
import * as Fold from "../../src/Runtime/Fold.ts"
import type * as PerDay from "./perDay.ts"
import { orderTotals } from "./pipeline.ts"

/**
 * Cents as money text: `12345` -> `123.45`.
 */
export const money = (cents: number): string =>
  `${cents < 0 ? "-" : ""}${Math.floor(Math.abs(cents) / 100)}.${String(Math.abs(cents) % 100).padStart(2, "0")}`

/**
 * The non-zero totals, sorted by customer.
 */
export const nonZero = (all: ReadonlyMap<string, number>): Array<readonly [string, number]> =>
  Array.from(all).filter(([, cents]) => cents !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * A table: customer, total, cents.
 */
export const table = (totals: ReadonlyArray<readonly [string, number]>): string => {
  const width = Math.max("customer".length, ...totals.map(([c]) => c.length))
  const rows = totals.map(([c, cents]) => `${c.padEnd(width)}  ${money(cents).padStart(14)}  ${String(cents).padStart(14)}`)
  return [`${"customer".padEnd(width)}  ${"total".padStart(14)}  ${"cents".padStart(14)}`, ...rows].join("\n")
}

/**
 * Counts as a table: key, count.
 */
export const counts = (title: string, all: ReadonlyArray<readonly [string, number]>): string => {
  const width = Math.max(title.length, ...all.map(([k]) => k.length))
  return [`${title.padEnd(width)}  ${"orders".padStart(8)}`, ...all.map(([k, n]) => `${k.padEnd(width)}  ${String(n).padStart(8)}`)].join("\n")
}

/** How many days the text tables show (the most recent ones). */
export const SHOWN_DAYS = 7

/** How many of a day's top customers the text table shows (the JSON has ten). */
export const SHOWN_TOP = 3

const lastDays = (days: Iterable<string>): Array<string> => Array.from(new Set(days)).sort().slice(-SHOWN_DAYS)

/**
 * The revenue per customer and day as money, one column per day (the most recent
 * {@link SHOWN_DAYS} days that have any), then the customer's last 7 days.
 */
export const revenueTable = (perDay: PerDay.PerDay): string => {
  const customers = Array.from(new Set([...Object.keys(perDay.revenuePerDay), ...Object.keys(perDay.revenueLast7Days)])).sort()
  if (customers.length === 0) return "(no revenue in the retained days)"
  const days = lastDays(Object.values(perDay.revenuePerDay).flatMap((byDay) => Object.keys(byDay)))
  const width = Math.max("customer".length, ...customers.map((c) => c.length))
  const cell = (cents: number | undefined) => (cents === undefined ? "" : money(cents)).padStart(12)
  const header = `${"customer".padEnd(width)}${days.map((d) => d.padStart(12)).join("")}${"last 7 days".padStart(14)}`
  const rows = customers.map((c) =>
    `${c.padEnd(width)}${days.map((d) => cell(perDay.revenuePerDay[c]?.[d])).join("")}${cell(perDay.revenueLast7Days[c]).padStart(14)}`
  )
  return [header, ...rows].join("\n")
}

/**
 * Per day (the most recent {@link SHOWN_DAYS}): the distinct customers and the top customers by revenue.
 */
export const dayTable = (perDay: PerDay.PerDay): string => {
  const days = lastDays([...Object.keys(perDay.distinctCustomersPerDay), ...Object.keys(perDay.top10PerDay)])
  const top = (day: string) =>
    (perDay.top10PerDay[day] ?? []).slice(0, SHOWN_TOP).map(([customer, cents]) => `${customer} ${money(cents)}`).join(", ") || "-"
  return [
    `${"day".padEnd(10)}  ${"customers".padStart(9)}  top customers by revenue`,
    ...days.map((d) => `${d.padEnd(10)}  ${String(perDay.distinctCustomersPerDay[d] ?? 0).padStart(9)}  ${top(d)}`)
  ].join("\n")
}

/**
 * A fold summary in words: the source's records, and what the totals pipeline did with them.
 */
export const liveLine = (s: Fold.Summary): string => {
  const t = Fold.of(s, orderTotals)
  return `${s.records} records, ${t.upserts + t.deletes} applied, ${t.stale} stale, ${t.skipped} skipped, ${t.rejected} dead-lettered`
}

/**
 * Dead letters per pipeline of a summary.
 */
export const deadLetters = (...summaries: ReadonlyArray<Fold.Summary | undefined>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const s of summaries) {
    if (s === undefined) continue
    for (const [name, p] of Object.entries(s.pipelines)) out[name] = (out[name] ?? 0) + p.rejected
  }
  return out
}

/**
 * Milliseconds as seconds text.
 */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

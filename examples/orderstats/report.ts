/**
 * What the binaries print: per-customer totals as a table of money, the counts of the other
 * pipelines, and one-line summaries.
 */
import * as Fold from "../../src/Runtime/Fold.ts"
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

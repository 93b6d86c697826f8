/**
 * What the binaries print: per-customer totals as a table of money, and one-line summaries.
 */
import type * as Fold from "../../src/Runtime/Fold.ts"

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
 * A fold summary in words (live runs).
 */
export const liveLine = (s: Fold.Summary): string =>
  `${s.records} records, ${s.upserts + s.deletes} applied, ${s.stale} stale, ${s.skipped} skipped, ${s.rejected} dead-lettered`

/**
 * Milliseconds as seconds text.
 */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

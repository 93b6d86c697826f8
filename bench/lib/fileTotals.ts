/**
 * The per-customer sums a scenario's prepare step wrote beside its input file, and the check of a
 * run's totals against them (events-1m-process: the Node programs and the Go one).
 */
import { readFileSync } from "node:fs"

/** Why `totals` (after `records` records) are not the sums in `path`, or `undefined` when they are. */
export const mismatch = (path: string, records: number, totals: ReadonlyMap<string, unknown>): string | undefined => {
  const expected = JSON.parse(readFileSync(path, "utf8")) as { records: number; totals: Record<string, number> }
  let wrong = Object.keys(expected.totals).length === totals.size ? 0 : 1
  for (const [key, value] of totals) if (expected.totals[key] !== value) wrong++
  return wrong > 0 || records !== expected.records
    ? `${wrong} totals differ from the file's sums (${records} records folded, ${expected.records} in the file)`
    : undefined
}

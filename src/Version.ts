/**
 * Versions order the states of one source document.
 *
 * A version is a pair `[hi, lo]` compared lexicographically. Every source maps its native
 * ordering onto it so that versions from the snapshot and from the live stream compare:
 * MongoDB's cluster time `(t, i)` and Debezium's `source.ts_ms` / `source.ord` both become
 * `[seconds * 1000, increment]`.
 *
 * The contribution ledger applies a change only when its version is strictly newer than the
 * version it holds for that document: redelivered and out-of-date changes are skipped.
 *
 * @example
 * ```ts
 * import * as Version from "effect-monoid-streams/Version"
 * Version.compare(Version.make(1_700_000_000_000, 2), Version.make(1_700_000_000_000, 1)) // 1
 * Version.format(Version.make(5, 1)) // "5:1"
 * ```
 *
 * @since 0.1.0
 */

/**
 * A totally ordered version: `[hi, lo]`, both non-negative safe integers as sources give them. A
 * dead-letter replay folds just after a source's version: its `lo` is the source's plus one half.
 *
 * @category models
 * @since 0.1.0
 */
export type Version = readonly [hi: number, lo: number]

/**
 * The version before every other one.
 *
 * @category constants
 * @since 0.1.0
 */
export const zero: Version = [0, 0]

/**
 * Builds a version.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (hi: number, lo: number): Version => [hi, lo]

/**
 * Compares two versions: negative, zero or positive.
 *
 * @category ordering
 * @since 0.1.0
 */
export const compare = (a: Version, b: Version): number => (a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1])

/**
 * `true` when `a` is strictly newer than `b`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isNewer = (a: Version, b: Version): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])

/**
 * Renders a version as `"hi:lo"`, the form the command line and the token store use.
 *
 * @category codecs
 * @since 0.1.0
 */
export const format = (v: Version): string => `${v[0]}:${v[1]}`

/**
 * Parses `"hi:lo"` (or a plain `"hi"`, read as `"hi:0"`). Returns `undefined` for anything else.
 *
 * @category codecs
 * @since 0.1.0
 */
export const parse = (text: string): Version | undefined => {
  const m = /^(\d{1,16})(?::(\d{1,16}))?$/.exec(text.trim())
  if (m === null) return undefined
  const hi = Number(m[1])
  const lo = m[2] === undefined ? 0 : Number(m[2])
  return Number.isSafeInteger(hi) && Number.isSafeInteger(lo) ? [hi, lo] : undefined
}

/**
 * A MongoDB cluster time (`Timestamp { t: seconds, i: increment }`) as a version.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromClusterTime = (seconds: number, increment: number): Version => [seconds * 1000, increment]

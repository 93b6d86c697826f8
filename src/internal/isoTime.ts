/**
 * A strict reader of ISO-8601 / RFC 3339 date and time texts: `2026-12-04`,
 * `2026-12-04T23:30`, `2026-12-04T23:30:05.123456Z`, `2026-12-04 23:30:05+01:00`. Unlike
 * `Date.parse`, it accepts no other layout, refuses dates that do not exist (`2026-02-30`), and
 * leaves a text without an offset to its caller (`offsetMs` undefined) instead of reading it in
 * the host's time zone.
 */

/** The fields of an ISO-8601 text, checked. */
export interface IsoTime {
  readonly y: number
  readonly m: number // 1-12
  readonly d: number
  readonly h: number
  readonly mi: number
  readonly s: number
  readonly ms: number
  /** East of UTC, in ms; `undefined` when the text has no offset (a wall-clock time). */
  readonly offsetMs: number | undefined
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/

const daysIn = (y: number, m: number): number =>
  m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31

/** The fields of `text`, or `undefined` when it is not an ISO-8601 date (and time) that exists. */
export const parse = (text: string): IsoTime | undefined => {
  const match = ISO.exec(text)
  if (match === null) return undefined
  const [, year, month, day, hour, minute, second, fraction, z, sign, offsetH, offsetM] = match
  const y = Number(year), m = Number(month), d = Number(day)
  const h = Number(hour ?? 0), mi = Number(minute ?? 0), s = Number(second ?? 0)
  if (m < 1 || m > 12 || d < 1 || d > daysIn(y, m) || h > 23 || mi > 59 || s > 59) return undefined
  const ms = fraction === undefined ? 0 : Number(`${fraction}00`.slice(0, 3))
  let offsetMs: number | undefined = undefined
  if (z !== undefined) offsetMs = 0
  else if (sign !== undefined) {
    const oh = Number(offsetH), om = Number(offsetM ?? 0)
    if (oh > 23 || om > 59) return undefined
    offsetMs = (sign === "-" ? -1 : 1) * (oh * 60 + om) * 60_000
  }
  return { y, m, d, h, mi, s, ms, offsetMs }
}

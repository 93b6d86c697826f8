/**
 * Windowed aggregates: each contribution goes to the bucket of its event time (its minute, hour,
 * day, ISO week or month, in UTC or a time zone), and buckets older than a retention expire.
 *
 * The bucket is part of the aggregate key (`"<key>|<bucket>"`, {@link key}), so a windowed
 * pipeline is an ordinary pipeline to the fold and to every store, and it is exact under changes
 * for the same reason: the ledger keeps each document's keys, buckets included, so an update that
 * changes an order's date retracts its contribution from the old bucket and adds it to the new
 * one, and a delete retracts it from its bucket.
 *
 * **Retention.** A bucket expires when its end plus the retention is past (by the `Clock`): its
 * aggregates carry that instant (`KeyUpdate.expiresAt`) and every store drops them (DynamoDB by
 * its TTL attribute, the embedded and memory stores by deleting them; reads never return an
 * expired bucket). A record whose bucket has already expired contributes nothing: it is counted
 * (`expired` in the fold's summary) and logged, never dead-lettered and never written.
 *
 * **Reads** ({@link get}, {@link range}, {@link last}) read the buckets of many keys in one store
 * call and merge them with the pipeline's monoid. One read spans at most 100,000 buckets.
 *
 * Bucket ids sort in time order: `2026-12-05T14:05` (minute), `2026-12-05T14` (hour),
 * `2026-12-05` (day), `2026-W49` (ISO week, of its ISO week-year), `2026-12` (month), all in the
 * window's time zone. One exception: a minute the clocks repeat when they are set back is a bucket
 * of its own the second time, whose id carries the offset then (`2026-11-01T01:04-05:00`); an hour
 * or a day they repeat is one longer bucket.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Monoid, Pipeline } from "effect-monoid-streams"
 *
 * const revenuePerDay = Pipeline.make("revenue_per_day", {
 *   schema: Schema.Struct({ customer_id: Schema.String, amount: Schema.Int, created_at: Schema.String }),
 *   key: (o) => o.customer_id,
 *   value: (o) => o.amount,
 *   monoid: Monoid.sum
 * }).pipe(Pipeline.windowed({ time: (o) => o.created_at, granularity: "day", timeZone: "Europe/Paris", retention: "90 days" }))
 * ```
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as IsoTime from "./internal/isoTime.ts"
import type * as Monoid from "./Monoid.ts"
import { Aggregates } from "./Store/Aggregates.ts"
import type { StoreError } from "./Store/StoreError.ts"

/**
 * @category models
 * @since 0.2.0
 */
export type Granularity = "minute" | "hour" | "day" | "week" | "month"

/**
 * An event time: a `Date`, milliseconds since the epoch, an ISO-8601 text, or a BSON date as
 * MongoDB's Extended JSON writes it (`{ "$date": { "$numberLong": "1764849600000" } }`, or with a
 * number or an ISO-8601 text under `$date`), which is how documents from MongoDB and Debezium
 * carry their dates.
 *
 * A text is read strictly: `2026-12-04`, `2026-12-04T23:30`, `2026-12-04T23:30:05.123Z`,
 * `2026-12-04 23:30:05+01:00` (a fraction past milliseconds is cut), and no other layout; a date
 * that does not exist (`2026-02-30`) is refused. A text without an offset is a wall-clock time in
 * the window's time zone (never the host's): its first occurrence when the clocks are set back,
 * the end of the gap when they are set forward over it. Event times must lie in the years
 * 0000-9999 of the window's zone. An input whose event time is none of these is dead-lettered with
 * the reason.
 *
 * @category models
 * @since 0.2.0
 */
export type Time = Date | number | string | { readonly $date: number | string | { readonly $numberLong: string } }

/**
 * How a pipeline's inputs are bucketed.
 *
 * @category models
 * @since 0.2.0
 */
export interface Options<In> {
  /** The event time of an input (see {@link Time}). */
  readonly time: (input: In) => Time
  readonly granularity: Granularity
  /** An IANA time zone (`"Europe/Paris"`); default `"UTC"`. */
  readonly timeZone?: string | undefined
  /** How long a bucket is kept after its end; default forever. */
  readonly retention?: Duration.Input | undefined
}

/**
 * A window as a pipeline holds it (see {@link make}).
 *
 * @category models
 * @since 0.2.0
 */
export interface Window<In> {
  readonly time: (input: In) => Time
  readonly granularity: Granularity
  readonly timeZone: string
  /** Milliseconds, or `undefined` for no expiry. */
  readonly retentionMs: number | undefined
}

/**
 * One bucket: its id and the instants (ms) it starts and ends at.
 *
 * @category models
 * @since 0.2.0
 */
export interface Bucket {
  readonly id: string
  readonly start: number
  readonly end: number
}

/**
 * Checks the options (the time zone, the retention): throws a `RangeError` for bad ones.
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = <In>(options: Options<In>): Window<In> => {
  const timeZone = options.timeZone ?? "UTC"
  if (timeZone !== "UTC") {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone })
    } catch {
      throw new RangeError(`Window: unknown time zone ${JSON.stringify(timeZone)}`)
    }
  }
  if (!["minute", "hour", "day", "week", "month"].includes(options.granularity)) {
    throw new RangeError(`Window: unknown granularity ${JSON.stringify(options.granularity)}`)
  }
  let retentionMs: number | undefined = undefined
  if (options.retention !== undefined) {
    const d = Duration.fromInput(options.retention)
    if (d._tag === "None" || !Duration.isFinite(d.value) || Duration.toMillis(d.value) < 0) {
      throw new RangeError(`Window: the retention must be a finite, non-negative duration`)
    }
    retentionMs = Duration.toMillis(d.value)
  }
  return { time: options.time, granularity: options.granularity, timeZone, retentionMs }
}

// ---------------------------------------------------------------------------------------------
// local time in a zone

interface Local {
  readonly y: number
  readonly m: number // 1-12
  readonly d: number
  readonly h: number
  readonly mi: number
}

const formats = new Map<string, Intl.DateTimeFormat>()

const formatOf = (timeZone: string): Intl.DateTimeFormat => {
  let f = formats.get(timeZone)
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric"
    })
    formats.set(timeZone, f)
  }
  return f
}

/** The wall-clock time of an instant in a zone. */
const localOf = (ms: number, timeZone: string): Local => {
  if (timeZone === "UTC") {
    const t = new Date(ms)
    return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes() }
  }
  const parts: Record<string, number> = {}
  let bc = false
  for (const p of formatOf(timeZone).formatToParts(ms)) {
    if (p.type === "era") bc = p.value === "BC"
    else if (p.type !== "literal") parts[p.type] = Number(p.value)
  }
  // the year of an era: 1 BC is the year 0, 2 BC the year -1
  const y = bc ? 1 - parts["year"]! : parts["year"]!
  return { y, m: parts["month"]!, d: parts["day"]!, h: parts["hour"]!, mi: parts["minute"]! }
}

/** `Date.UTC`, also for the years 0-99 (which `Date.UTC` reads as 1900-1999). */
const utc = (y: number, m0: number, d: number, h = 0, mi = 0): number => {
  if (y >= 100) return Date.UTC(y, m0, d, h, mi)
  const t = new Date(0)
  t.setUTCFullYear(y, m0, d)
  return t.setUTCHours(h, mi, 0, 0)
}

const asUtc = (l: Local): number => utc(l.y, l.m - 1, l.d, l.h, l.mi)

const MINUTE = 60_000
const DAY = 86_400_000

/** The wall-clock time of an instant as if it were UTC, minus the instant: the zone's offset then. */
const offsetAt = (ms: number, timeZone: string): number => asUtc(localOf(ms, timeZone)) - ms

/** Instants of wall-clock times, per zone (bounded: cleared when full). */
const instants = new Map<string, Map<number, number>>()

/**
 * The instant a wall-clock time (normalised: `d = 32` is the next month's first) starts in a zone:
 * the first instant whose wall-clock time is that one or later. A wall-clock time that happens
 * twice (clocks set back) starts at its first occurrence; one skipped (clocks set forward, also at
 * midnight in some zones) starts when the gap ends.
 */
const instantOf = (l: Local, timeZone: string): number => {
  const wall = asUtc(l)
  if (timeZone === "UTC") return wall
  let known = instants.get(timeZone)
  if (known === undefined) instants.set(timeZone, known = new Map())
  let instant = known.get(wall)
  if (instant === undefined) {
    if (known.size >= 4096) known.clear()
    instant = firstInstant(wall, timeZone)
    known.set(wall, instant)
  }
  return instant
}

const firstInstant = (wall: number, timeZone: string): number => {
  // the zone's offsets a day either side: every instant of that wall-clock time has one of them
  const offsets = [offsetAt(wall - DAY, timeZone), offsetAt(wall, timeZone), offsetAt(wall + DAY, timeZone)]
  let first: number | undefined = undefined
  for (const offset of offsets) {
    const t = wall - offset
    if (asUtc(localOf(t, timeZone)) === wall && (first === undefined || t < first)) first = t
  }
  if (first !== undefined) return first
  // in a gap: the first minute whose wall-clock time is later (the wall clock rises with the instant there)
  let before = wall - Math.max(...offsets)
  let after = wall - Math.min(...offsets)
  while (after - before > MINUTE) {
    const mid = before + Math.max(1, Math.floor((after - before) / 2 / MINUTE)) * MINUTE
    if (mid >= after) break
    if (asUtc(localOf(mid, timeZone)) >= wall) after = mid
    else before = mid
  }
  return after
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0")

/** ISO weekday (Monday = 1) of a calendar date. */
const weekday = (y: number, m: number, d: number): number => ((new Date(utc(y, m - 1, d)).getUTCDay() + 6) % 7) + 1

/** The ISO week-year and week of a calendar date. */
const isoWeek = (y: number, m: number, d: number): readonly [number, number] => {
  const date = new Date(utc(y, m - 1, d))
  date.setUTCDate(date.getUTCDate() + 4 - weekday(y, m, d)) // the Thursday of its week
  const year = date.getUTCFullYear()
  const week = Math.floor((date.getTime() - utc(year, 0, 1)) / 86_400_000 / 7) + 1
  return [year, week]
}

/** The wall-clock start of the bucket holding `l`, and the wall-clock start of the next one. */
const startOf = (granularity: Granularity, l: Local): readonly [Local, Local] => {
  switch (granularity) {
    case "minute":
      return [l, { ...l, mi: l.mi + 1 }]
    case "hour":
      return [{ ...l, mi: 0 }, { ...l, h: l.h + 1, mi: 0 }]
    case "day":
      return [{ ...l, h: 0, mi: 0 }, { ...l, d: l.d + 1, h: 0, mi: 0 }]
    case "week": {
      const monday = l.d - (weekday(l.y, l.m, l.d) - 1)
      return [{ ...l, d: monday, h: 0, mi: 0 }, { ...l, d: monday + 7, h: 0, mi: 0 }]
    }
    case "month":
      return [{ ...l, d: 1, h: 0, mi: 0 }, { ...l, m: l.m + 1, d: 1, h: 0, mi: 0 }]
  }
}

/** Normalises a wall-clock time whose fields overflow (`d = 32`). */
const normal = (l: Local): Local => {
  const t = new Date(asUtc(l))
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes() }
}

const idOf = (granularity: Granularity, s: Local): string => {
  const day = `${pad(s.y, 4)}-${pad(s.m)}-${pad(s.d)}`
  switch (granularity) {
    case "minute":
      return `${day}T${pad(s.h)}:${pad(s.mi)}`
    case "hour":
      return `${day}T${pad(s.h)}`
    case "day":
      return day
    case "week": {
      const [year, week] = isoWeek(s.y, s.m, s.d)
      return `${pad(year, 4)}-W${pad(week)}`
    }
    case "month":
      return `${pad(s.y, 4)}-${pad(s.m)}`
  }
}

/** `±HH:MM` of an offset east of UTC in ms (whole minutes). */
const offsetText = (offsetMs: number): string => {
  const minutes = Math.abs(offsetMs) / MINUTE
  return `${offsetMs < 0 ? "-" : "+"}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
}

/**
 * The minute bucket of an instant. A minute is always 60 seconds long. When the clocks are set
 * back, the minutes they repeat happen twice: the first time they are the buckets of their
 * wall-clock ids, the second time buckets of their own, whose ids carry the offset then
 * (`2026-11-01T01:04-05:00`), so that each bucket is one span of time.
 */
const minuteAt = (ms: number, l: Local, timeZone: string): Bucket => {
  const id = idOf("minute", l)
  const first = instantOf(l, timeZone)
  if (ms < first + MINUTE) return { id, start: first, end: first + MINUTE }
  const start = Math.floor(ms / MINUTE) * MINUTE
  return { id: `${id}${offsetText(asUtc(l) - start)}`, start, end: start + MINUTE }
}

/**
 * The bucket of an instant (milliseconds since the epoch).
 *
 * @category buckets
 * @since 0.2.0
 */
export const bucketAt = <In>(window: Window<In>, ms: number): Bucket => {
  const local = localOf(ms, window.timeZone)
  if (window.granularity === "minute") return minuteAt(ms, local, window.timeZone)
  const [start, next] = startOf(window.granularity, local)
  const s = normal(start)
  return { id: idOf(window.granularity, s), start: instantOf(s, window.timeZone), end: instantOf(normal(next), window.timeZone) }
}

const ID = /^(\d{4})-(?:W(\d{2})|(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})([+-]\d{2}:\d{2})?)?)?)?)$/

/**
 * The bucket of an id made by this window, or `undefined` when the text is not one.
 *
 * @category buckets
 * @since 0.2.0
 */
export const bucketOfId = <In>(window: Window<In>, id: string): Bucket | undefined => {
  const m = ID.exec(id)
  if (m === null) return undefined
  const y = Number(m[1])
  let local: Local
  if (m[2] !== undefined) {
    // the Monday of ISO week w: the week of January 4th is week 1
    const jan4 = weekday(y, 1, 4)
    local = { y, m: 1, d: 4 - (jan4 - 1) + (Number(m[2]) - 1) * 7, h: 0, mi: 0 }
  } else {
    local = { y, m: Number(m[3]), d: Number(m[4] ?? 1), h: Number(m[5] ?? 0), mi: Number(m[6] ?? 0) }
  }
  const offset = m[7]
  const instant = offset === undefined
    ? instantOf(normal(local), window.timeZone)
    : asUtc(local) - (offset[0] === "-" ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4))) * MINUTE
  const bucket = bucketAt(window, instant)
  return bucket.id === id ? bucket : undefined
}

/** The instant of an ISO-8601 text (one without an offset is a wall-clock time in `timeZone`). */
const instantOfText = (text: string, timeZone: string): number | undefined => {
  const t = IsoTime.parse(text)
  if (t === undefined) return undefined
  const wall: Local = { y: t.y, m: t.m, d: t.d, h: t.h, mi: t.mi }
  const minute = t.offsetMs === undefined ? instantOf(wall, timeZone) : asUtc(wall) - t.offsetMs
  return minute + t.s * 1000 + t.ms
}

const millisOf = (t: unknown, timeZone: string): number | undefined => {
  if (t instanceof Date) return t.getTime()
  if (typeof t === "number") return t
  if (typeof t === "string") return instantOfText(t, timeZone)
  if (typeof t !== "object" || t === null || !("$date" in t)) return undefined
  const date = t.$date
  if (typeof date === "number") return date
  if (typeof date === "string") return instantOfText(date, timeZone)
  const long = typeof date === "object" && date !== null && "$numberLong" in date ? date.$numberLong : undefined
  return typeof long === "string" && /^-?\d{1,19}$/.test(long) ? Number(long) : undefined
}

const shown = (t: unknown): string => {
  try {
    return (typeof t === "object" && t !== null && !(t instanceof Date) ? JSON.stringify(t) : JSON.stringify(String(t))).slice(0, 80)
  } catch {
    return String(t).slice(0, 80)
  }
}

/**
 * The event time of an input in milliseconds, or a reason it has none (see {@link Time}).
 *
 * @category buckets
 * @since 0.2.0
 */
export const timeOf = <In>(window: Window<In>, input: In): number | string => {
  const t = window.time(input)
  const ms = millisOf(t, window.timeZone)
  return ms !== undefined && Math.abs(ms) <= 8.64e15 ? ms : `the window's event time is not a date: ${shown(t)}`
}

/**
 * The bucket of an input's event time, or a reason it has none: it is not a date, or its bucket
 * cannot be named (outside the years 0000-9999 of the window's zone).
 *
 * @category buckets
 * @since 0.2.0
 */
export const bucketOf = <In>(window: Window<In>, input: In): Bucket | string => {
  const ms = timeOf(window, input)
  if (typeof ms === "string") return ms
  return bucketOfInstant(window, ms) ??
    `the window's event time ${new Date(ms).toISOString()} has no ${window.granularity} bucket in ${window.timeZone} (years 0000-9999)`
}

/**
 * When a bucket's aggregates expire (its end plus the retention), or `undefined` when they never do.
 *
 * @category retention
 * @since 0.2.0
 */
export const expiresAt = <In>(window: Window<In>, bucket: Bucket): number | undefined =>
  window.retentionMs === undefined ? undefined : bucket.end + window.retentionMs

// ---------------------------------------------------------------------------------------------
// keys

const SEPARATOR = "|"

/**
 * The aggregate key of a key in a bucket: `"<key>|<bucket id>"`.
 *
 * @category keys
 * @since 0.2.0
 */
export const key = (key: string, bucketId: string): string => `${key}${SEPARATOR}${bucketId}`

/**
 * The key and bucket id of an aggregate key made by {@link key}.
 *
 * @category keys
 * @since 0.2.0
 */
export const splitKey = (aggregateKey: string): readonly [key: string, bucketId: string] | undefined => {
  const i = aggregateKey.lastIndexOf(SEPARATOR)
  return i < 0 ? undefined : [aggregateKey.slice(0, i), aggregateKey.slice(i + 1)]
}

// ---------------------------------------------------------------------------------------------
// reads

/**
 * What a windowed read needs of a pipeline.
 *
 * @category models
 * @since 0.2.0
 */
export interface Windowed<V> {
  readonly name: string
  readonly monoid: Monoid.Monoid<V>
  readonly window: Window<any> | undefined
}

const windowOf = <V>(pipeline: Windowed<V>): Window<any> => {
  if (pipeline.window === undefined) throw new TypeError(`pipeline ${pipeline.name} is not windowed`)
  return pipeline.window
}

/** The most buckets one read spans. */
const MAX_BUCKETS = 100_000

/**
 * The bucket of an instant, or `undefined` when it is not an instant a `Date` holds (NaN, an
 * infinity, more than 8.64e15 ms from the epoch, not a number) or its bucket cannot be named (its
 * bounds past that range, its year outside 0000-9999).
 */
const bucketOfInstant = <In>(window: Window<In>, ms: number): Bucket | undefined => {
  if (typeof ms !== "number" || !(Math.abs(ms) <= 8.64e15)) return undefined
  try {
    const bucket = bucketAt(window, ms)
    return Number.isFinite(bucket.start) && Number.isFinite(bucket.end) && ID.test(bucket.id) ? bucket : undefined
  } catch {
    return undefined // Intl refuses the instants past the range of Date that a zone's bucket bounds need
  }
}

const notAnInstant = (name: string, ms: number) =>
  new RangeError(`Window: ${name} must be an instant (ms since the epoch) whose bucket lies within the range of Date, got ${String(ms)}`)

/** The wall-clock length of a bucket (of the shortest month, for months). */
const SLOT: Record<Granularity, number> = { minute: MINUTE, hour: 60 * MINUTE, day: DAY, week: 7 * DAY, month: 28 * DAY }

/** The wall-clock start of the bucket holding an instant. */
const wallStartOf = <In>(window: Window<In>, ms: number): Local =>
  normal(startOf(window.granularity, localOf(ms, window.timeZone))[0])

/**
 * The buckets the wall clock of the window's zone shows from the one holding `from` to the one
 * holding `to`, both included, counted without building them: a bucket the clocks set forward over
 * is counted though it does not exist, and one they set back in is counted once (a repeated minute
 * is two buckets, so this can be fewer than the buckets between them by the minutes repeated). In
 * UTC it is their number.
 */
const wallBucketsBetween = <In>(window: Window<In>, from: number, to: number): number => {
  const a = wallStartOf(window, from)
  const b = wallStartOf(window, to)
  return window.granularity === "month"
    ? (b.y - a.y) * 12 + (b.m - a.m) + 1
    : (asUtc(b) - asUtc(a)) / SLOT[window.granularity] + 1
}

/**
 * The most wall-clock buckets the clocks of a zone skip in a span of about {@link MAX_BUCKETS}
 * buckets: they skip a few hours a year at most, and a whole day once (Kwajalein 1993, Kiribati
 * 1995, Samoa 2011), so 3 days of wall-clock time; none in UTC.
 */
const skippable = <In>(window: Window<In>): number =>
  window.timeZone === "UTC" ? 0 : Math.ceil((3 * DAY) / SLOT[window.granularity])

/** The buckets from the one holding `from` to the one holding `to`, or why they cannot be read. */
const between = <In>(window: Window<In>, from: number, to: number): ReadonlyArray<Bucket> | RangeError => {
  const first = bucketOfInstant(window, from)
  if (first === undefined) return notAnInstant("from", from)
  if (bucketOfInstant(window, to) === undefined) return notAnInstant("to", to)
  if (from > to) return []
  const tooMany = () =>
    new RangeError(
      `Window: more than ${MAX_BUCKETS.toLocaleString("en-US")} buckets in one read ` +
        `(${window.granularity} buckets from ${new Date(from).toISOString()} to ${new Date(to).toISOString()})`
    )
  // counted first, so that a span far too wide fails before a bucket is built
  if (wallBucketsBetween(window, from, to) > MAX_BUCKETS + skippable(window)) return tooMany()
  const out: Array<Bucket> = [first]
  while (out[out.length - 1]!.end <= to) {
    if (out.length === MAX_BUCKETS) return tooMany()
    out.push(bucketAt(window, out[out.length - 1]!.end))
  }
  return out
}

/**
 * The buckets from the one holding `from` to the one holding `to` (inclusive), oldest first, and
 * none when `from` is after `to`. Throws a `RangeError`, before building any bucket, when `from` or
 * `to` is not an instant whose bucket lies within the range of `Date` (NaN, an infinity, a number
 * past that range) or when the span holds more than 100,000 buckets.
 *
 * @category buckets
 * @since 0.2.0
 */
export const bucketsBetween = <In>(window: Window<In>, from: number, to: number): ReadonlyArray<Bucket> => {
  const buckets = between(window, from, to)
  if (buckets instanceof RangeError) throw buckets
  return buckets
}

/**
 * For each key, the merge of its buckets among `buckets` that have not expired (keys without any
 * are absent): one store call for every key and bucket.
 *
 * @category reads
 * @since 0.2.0
 */
export const read = <V>(
  pipeline: Windowed<V>,
  keys: ReadonlyArray<string>,
  buckets: ReadonlyArray<Bucket>
): Effect.Effect<ReadonlyMap<string, V>, StoreError, Aggregates> =>
  Effect.gen(function*() {
    const window = windowOf(pipeline)
    const now = yield* Clock.currentTimeMillis
    const live = buckets.filter((b) => (expiresAt(window, b) ?? Number.POSITIVE_INFINITY) > now)
    const wanted = keys.flatMap((k) => live.map((b) => key(k, b.id)))
    const found = yield* (yield* Aggregates).get(pipeline, wanted)
    const out = new Map<string, V>()
    for (const k of keys) {
      let acc: V | undefined = undefined
      for (const b of live) {
        const v = found.get(key(k, b.id))
        if (v !== undefined) acc = acc === undefined ? v : pipeline.monoid.combine(acc, v)
      }
      if (acc !== undefined) out.set(k, acc)
    }
    return out
  })

/**
 * One key's value in the bucket holding instant `at` (ms), if any. Fails with a `RangeError`,
 * without reading, when `at` is not an instant whose bucket lies within the range of `Date` (NaN,
 * an infinity, a number past that range).
 *
 * @category reads
 * @since 0.2.0
 */
export const get = <V>(
  pipeline: Windowed<V>,
  aggregateKey: string,
  at: number
): Effect.Effect<V | undefined, StoreError | RangeError, Aggregates> =>
  Effect.suspend(() => {
    const bucket = bucketOfInstant(windowOf(pipeline), at)
    if (bucket === undefined) return Effect.fail(notAnInstant("at", at))
    return Effect.map(read(pipeline, [aggregateKey], [bucket]), (m) => m.get(aggregateKey))
  })

/**
 * Each key's buckets from the one holding `from` to the one holding `to` (instants in ms), merged.
 * When `from` is after `to` it reads no bucket: every key is absent. Fails with a `RangeError`,
 * before building a bucket or reading, when `from` or `to` is not an instant whose bucket lies
 * within the range of `Date` (NaN, an infinity such as an open end `to = Infinity`, a number past
 * that range) or when the span holds more than 100,000 buckets.
 *
 * @category reads
 * @since 0.2.0
 */
export const range = <V>(
  pipeline: Windowed<V>,
  keys: ReadonlyArray<string>,
  from: number,
  to: number
): Effect.Effect<ReadonlyMap<string, V>, StoreError | RangeError, Aggregates> =>
  Effect.suspend(() => {
    const buckets = between(windowOf(pipeline), from, to)
    return buckets instanceof RangeError ? Effect.fail(buckets) : read(pipeline, keys, buckets)
  })

/**
 * Each key's last `n` buckets up to now (the current one included), merged: "the last 7 days".
 * With `n` below 1 it reads no bucket: every key is absent. An `n` that is not an integer (NaN,
 * 1.5, an infinity) or is above 100,000 (the most buckets one read spans) is a mistake of the
 * caller, not a failure of the read: the effect dies with a `RangeError`, without reading.
 *
 * @category reads
 * @since 0.2.0
 */
export const last = <V>(
  pipeline: Windowed<V>,
  keys: ReadonlyArray<string>,
  n: number
): Effect.Effect<ReadonlyMap<string, V>, StoreError, Aggregates> =>
  Effect.suspend(() => {
    const window = windowOf(pipeline)
    if (!Number.isSafeInteger(n) || n > MAX_BUCKETS) {
      return Effect.die(
        new RangeError(
          `Window: the number of buckets n must be an integer of at most ${MAX_BUCKETS.toLocaleString("en-US")}, got ${String(n)}`
        )
      )
    }
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const buckets: Array<Bucket> = []
      while (buckets.length < n) buckets.push(bucketAt(window, buckets.length === 0 ? now : buckets[buckets.length - 1]!.start - 1))
      return read(pipeline, keys, buckets.reverse())
    })
  })

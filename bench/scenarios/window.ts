/**
 * Retention keeps a windowed store flat (issue 18, item 3): order events whose event time runs
 * through a year of days, folded by a windowed events pipeline (a sum per customer per UTC day,
 * 7-day retention) into the embedded store on a file, with the `Clock` following the event time
 * (the time of the latest event the source has emitted). The aggregate rows in the store and its
 * pages in use are sampled at 10%, 50% and 100% of the run, the rows and the files on disk every
 * tenth batch too: the rows must stay under (retention + 2 days) × customers whatever the number
 * of days folded (the 8 live days, and the day that expired since the last write until the next
 * write deletes it), or the run fails.
 *
 * Ceiling: the same sums per customer and day written by hand into a plain table (key, value,
 * expiry), one transaction per batch (delete what has expired, then an upsert per key and day).
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Clock, Effect, Layer, References, Schema, Stream } from "effect"
import * as Seeded from "../../examples/orderstats/random.ts"
import * as I from "../../src/Input.ts"
import type { Input } from "../../src/Input.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { commitToTokens } from "../../src/Source.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { peakRssMiB, type Sample } from "../lib/measure.ts"
import type { WorkloadOptions } from "../lib/workload.ts"

const DAY = 86_400_000
const RETENTION_DAYS = 7
/** The first event's time. */
const START = Date.UTC(2026, 0, 1)

const TimedOrder = Schema.Struct({ customer_id: Schema.String, amount: Schema.Int, at: Schema.Number })
type TimedOrder = typeof TimedOrder.Type

export const revenuePerDay = Pipeline.make("bench_revenue_per_day", {
  schema: TimedOrder,
  key: (o) => o.customer_id,
  value: (o) => o.amount,
  monoid: Monoid.sum
}).pipe(Pipeline.events, Pipeline.windowed({ time: (o) => o.at, granularity: "day", retention: `${RETENTION_DAYS} days` }))

/**
 * `changes` order events (uniform customers) whose times run evenly from `START` through
 * `days` days, each up to an hour late (so some land in the previous day), `chunk` at a time.
 */
function* timedEvents(w: WorkloadOptions): Generator<Array<Input>> {
  const random = Seeded.random(w.seed ?? 42).next
  const customers = Array.from({ length: w.customers }, (_, i) => `customer-${i}`)
  const step = ((w.days ?? 365) * DAY) / w.changes
  const chunk = w.chunk ?? 2000
  let out: Array<Input> = []
  for (let n = 0; n < w.changes; n++) {
    const at = Math.max(START, Math.floor(START + n * step - random() * 3_600_000))
    const doc: TimedOrder = { customer_id: customers[Math.floor(random() * w.customers)]!, amount: Math.floor(random() * 100_000), at }
    out.push(I.event(`ev${n}`, doc, { partition: "bench/0", seq: n }))
    if (out.length === chunk) {
      yield out
      out = []
    }
  }
  if (out.length > 0) yield out
}

/**
 * The most rows the store may hold: the live days (today and the retention's 7) and the day that
 * expired since the last write (deleted by the next), × customers.
 */
const bound = (w: WorkloadOptions) => (RETENTION_DAYS + 2) * w.customers

/** What the store holds at one moment: its aggregate rows, and its pages in use in KiB. */
interface Size {
  readonly rows: number
  readonly kib: number
}

/**
 * The events of `w` with the event-time clock (`now()`: the latest time emitted), and the store's
 * size (`size()`) at 10%, 50% and 100% (`finish`) and every tenth chunk, with the files' size on
 * disk (the database and its write-ahead log).
 */
const observed = (w: WorkloadOptions, path: string, size: () => Size) => {
  let now = START
  let seen = 0
  let chunks = 0
  let rowsMax = 0
  let diskMax = 0
  const at = new Map<string, Size>()
  const sample = (label?: string) => {
    const s = size()
    rowsMax = Math.max(rowsMax, s.rows)
    diskMax = Math.max(diskMax, fileBytes(path) + fileBytes(`${path}-wal`))
    if (label !== undefined) at.set(label, s)
  }
  function* gen() {
    for (const chunk of timedEvents(w)) {
      for (const r of chunk) now = Math.max(now, ((r as I.Event).doc as TimedOrder).at)
      yield chunk
      seen += chunk.length
      if (seen === w.changes / 10) sample("10pct")
      else if (seen === w.changes / 2) sample("50pct")
      else if (++chunks % 10 === 0) sample()
    }
  }
  const finish = (records: number, seconds: number): Sample => {
    sample("100pct")
    const extra: Record<string, number> = { days: w.days ?? 365, rowsBound: bound(w), rowsMax }
    for (const [label, s] of at) extra[`rowsAt${label}`] = s.rows
    for (const [label, s] of at) extra[`storeKiBAt${label}`] = s.kib
    extra["diskKiBMax"] = Math.round(diskMax / 1024)
    if (rowsMax > bound(w)) {
      throw new Error(`window: the store grows with time: ${rowsMax} aggregate rows, above the bound of ${bound(w)} (${JSON.stringify(extra)})`)
    }
    return { records, seconds, roundTrips: 0, writes: 0, peakRssMiB: peakRssMiB(), extra }
  }
  return { gen, now: () => now, finish }
}

const fileBytes = (path: string) => existsSync(path) ? statSync(path).size : 0

/**
 * The rows `count` counts and the pages in use (all pages but the free ones: what the database
 * holds, whether its latest pages are still in the log or already in the file), read through a
 * connection of its own.
 */
const sizer = (path: string, count: string, ...params: Array<string>) => (): Size => {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    const pragma = (name: string) => (db.prepare(`PRAGMA ${name}`).get() as Record<string, number>)[name]!
    const rows = (db.prepare(count).get(...params) as { n: number }).n
    return { rows, kib: Math.round(((pragma("page_count") - pragma("freelist_count")) * pragma("page_size")) / 1024) }
  } finally {
    db.close()
  }
}

/** The real clock but for the current time, which is `now()`. */
const eventClock = (real: Clock.Clock, now: () => number): Clock.Clock => ({
  currentTimeMillisUnsafe: now,
  currentTimeMillis: Effect.sync(now),
  currentTimeNanosUnsafe: () => BigInt(now()) * 1_000_000n,
  currentTimeNanos: Effect.sync(() => BigInt(now()) * 1_000_000n),
  monotonicTimeNanosUnsafe: () => real.monotonicTimeNanosUnsafe(),
  monotonicTimeNanos: real.monotonicTimeNanos,
  sleep: (duration) => real.sleep(duration)
})

const inTemp = async <A>(f: (path: string) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "bench-window-"))
  try {
    return await f(join(dir, "window.sqlite"))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const library = (w: WorkloadOptions): Promise<Sample> =>
  inTemp(async (path) => {
    const s = observed(w, path, sizer(path, "SELECT count(*) AS n FROM aggregates WHERE pipeline = ?", revenuePerDay.name))
    const source = Source.make({
      name: "bench-window",
      kind: "events",
      records: Stream.fromIterable(s.gen(), { chunkSize: 1 }).pipe(
        Stream.filter((chunk): chunk is [Input, ...Array<Input>] => chunk.length > 0),
        Stream.flattenArray
      ),
      commit: (last) => Effect.orDie(commitToTokens("bench-window")(last))
    })
    const start = process.hrtime.bigint()
    const summary = await Effect.runPromise(Effect.gen(function*() {
      const real = yield* Clock.Clock
      return yield* Fold.run(source, [revenuePerDay], { batchSize: w.chunk ?? 2000 }).pipe(
        Effect.provide(Embedded.layer({ path, durability: "normal" })),
        Effect.provideService(Clock.Clock, eventClock(real, s.now))
      )
    }).pipe(Effect.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))))
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const expired = Fold.of(summary, revenuePerDay).expired
    if (expired > 0) throw new Error(`window: ${expired} events dropped as expired: the clock ran ahead of the event time`)
    return s.finish(summary.records, seconds)
  })

export const ceiling = (w: WorkloadOptions): Promise<Sample> =>
  inTemp(async (path) => {
    const db = new DatabaseSync(path)
    db.exec("PRAGMA journal_mode = WAL")
    db.exec("PRAGMA synchronous = NORMAL")
    db.exec("CREATE TABLE sums (key TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID")
    db.exec("CREATE INDEX sums_expiry ON sums (expires_at)")
    const sweep = db.prepare("DELETE FROM sums WHERE expires_at <= ?")
    const upsert = db.prepare("INSERT INTO sums (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value")
    const s = observed(w, path, sizer(path, "SELECT count(*) AS n FROM sums"))
    const start = process.hrtime.bigint()
    let records = 0
    for (const chunk of s.gen()) {
      const sums = new Map<string, { value: number; expiresAt: number }>()
      for (const r of chunk) {
        records++
        const o = (r as I.Event).doc as TimedOrder
        const day = Math.floor(o.at / DAY) * DAY
        const key = `${o.customer_id}|${new Date(day).toISOString().slice(0, 10)}`
        const cur = sums.get(key)
        if (cur === undefined) sums.set(key, { value: o.amount, expiresAt: day + DAY + RETENTION_DAYS * DAY })
        else cur.value += o.amount
      }
      db.exec("BEGIN IMMEDIATE")
      sweep.run(s.now())
      for (const [key, { value, expiresAt }] of sums) upsert.run(key, value, expiresAt)
      db.exec("COMMIT")
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    db.close() // as the library's store is at the end: the log checkpointed into the file
    return s.finish(records, seconds)
  })

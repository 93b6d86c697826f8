/**
 * Windows: bucket arithmetic against independent references (ISO dates, `Intl` date formats, a
 * table of ISO weeks), then windowed pipelines folded from generated histories whose updates move
 * orders between days, with deletes, invalid dates, events older than the retention and crashes:
 * every store equals a group-by over the final documents by (customer, local day) without the
 * expired days. Then retention (expired buckets leave the stores and are never read) and reads
 * (one bucket, a range, the last N days).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { ScanCommand } from "@aws-sdk/client-dynamodb"
import { Effect, Exit, Layer, Redacted, References, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as Cache from "../../src/Redis/AggregateCache.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Window from "../../src/Window.ts"
import { dynamoDbSuite } from "../dynamodb/support.ts"
import { Crash, crashing, type Services } from "../support/faults.ts"
import * as Rand from "../support/random.ts"
import { redisUrl, requireService } from "../support/services.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")
const DAY = 86_400_000

describe("buckets", () => {
  const utc = (granularity: Window.Granularity) => Window.make({ time: (x: number) => x, granularity })

  it("UTC minute, hour, day and month ids and bounds agree with ISO-8601 dates", () => {
    fc.assert(fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) }), (t) => {
      const iso = new Date(t).toISOString()
      const expect_ = { minute: iso.slice(0, 16), hour: iso.slice(0, 13), day: iso.slice(0, 10), month: iso.slice(0, 7) }
      for (const g of ["minute", "hour", "day", "month"] as const) {
        const b = Window.bucketAt(utc(g), t)
        expect(b.id).toBe(expect_[g])
        expect(b.start <= t && t < b.end).toBe(true)
        expect(new Date(b.start).toISOString().startsWith(b.id)).toBe(true)
      }
    }))
  })

  it("ISO weeks, including the weeks that belong to the neighbouring year", () => {
    const week = utc("week")
    const table: Array<[string, string]> = [
      ["2021-01-03", "2020-W53"],
      ["2021-01-04", "2021-W01"],
      ["2024-12-30", "2025-W01"],
      ["2026-12-05", "2026-W49"],
      ["2027-01-01", "2026-W53"],
      ["2015-12-31", "2015-W53"],
      ["2008-12-29", "2009-W01"]
    ]
    for (const [date, id] of table) {
      const b = Window.bucketAt(week, Date.parse(`${date}T12:00:00Z`))
      expect(b.id, date).toBe(id)
      expect(new Date(b.start).getUTCDay()).toBe(1)
      expect(b.end - b.start).toBe(7 * DAY)
      expect(Window.bucketOfId(week, id)).toEqual(b)
    }
  })

  it("days in time zones follow the local calendar, across DST changes and odd offsets", () => {
    const local = (timeZone: string) => new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    for (const timeZone of ["Europe/Paris", "America/New_York", "Asia/Kathmandu", "America/St_Johns", "Australia/Lord_Howe"]) {
      const w = Window.make({ time: (x: number) => x, granularity: "day", timeZone })
      fc.assert(fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }), (t) => {
        const b = Window.bucketAt(w, t)
        expect(b.id).toBe(local(timeZone).format(t))
        expect(b.start <= t && t < b.end).toBe(true)
        expect(local(timeZone).format(b.start)).toBe(b.id)
        expect(local(timeZone).format(b.start - 1)).not.toBe(b.id)
        expect(Window.bucketOfId(w, b.id)).toEqual(b)
      }), { numRuns: 300 })
    }
    const paris = Window.make({ time: (x: number) => x, granularity: "day", timeZone: "Europe/Paris" })
    const spring = Window.bucketAt(paris, Date.parse("2026-03-29T12:00:00Z"))
    const autumn = Window.bucketAt(paris, Date.parse("2026-10-25T12:00:00Z"))
    expect([(spring.end - spring.start) / 3_600_000, (autumn.end - autumn.start) / 3_600_000]).toEqual([23, 25])
  })

  it("ids that are not buckets of the window, and bad options, are refused", () => {
    expect(Window.bucketOfId(utc("day"), "2026-02-30")).toBeUndefined()
    expect(Window.bucketOfId(utc("day"), "2026-12")).toBeUndefined()
    expect(Window.bucketOfId(utc("week"), "2026-W54")).toBeUndefined()
    expect(() => Window.make({ time: () => 0, granularity: "day", timeZone: "Mars/Olympus" })).toThrow(/time zone/)
    expect(() => Window.make({ time: () => 0, granularity: "fortnight" as never })).toThrow(/granularity/)
    expect(Window.splitKey(Window.key("a|b", "2026-12-05"))).toEqual(["a|b", "2026-12-05"])
  })

  it("event times: strict ISO-8601 texts (without an offset: the window's zone, not the host's) and BSON dates; anything else is dead-lettered", async () => {
    const Doc = Schema.Struct({ c: Schema.String, t: Schema.Unknown })
    const p = Pipeline.make("event_times", { schema: Doc, key: (o) => o.c, value: () => 1, monoid: Monoid.sum }).pipe(
      Pipeline.windowed({ time: (o) => o.t as Window.Time, granularity: "day", timeZone: "America/New_York" })
    )
    // each document's expected local day in New York, worked out by hand; "refused" for no event time
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      ["2026-12-04T23:30:00", "2026-12-04"], // New York wall-clock time (Date.parse reads it in the host's zone)
      ["2026-12-04", "2026-12-04"], // its midnight in New York (Date.parse: UTC midnight, 12-03 in New York)
      ["2026-12-05T03:30:00Z", "2026-12-04"],
      ["2026-12-05 03:30:00.123456+00:00", "2026-12-04"],
      ["2026-12-04T23:30:00-0500", "2026-12-04"],
      // BSON dates as MongoDB Extended JSON writes them, canonical then relaxed and legacy forms
      // (https://www.mongodb.com/docs/manual/reference/mongodb-extended-json/, "Date")
      [{ $date: { $numberLong: String(Date.UTC(2026, 11, 5, 3, 30)) } }, "2026-12-04"],
      [{ $date: Date.UTC(2026, 11, 5, 6) }, "2026-12-05"],
      [{ $date: "2026-12-05T06:00:00Z" }, "2026-12-05"],
      ["0050-06-01T12:00:00Z", "0050-06-01"], // not 1950 (Date.UTC reads years 0-99 as 1900-1999)
      ["0000-06-01T12:00:00Z", "0000-06-01"], // 1 BC: Intl gives the year of its era, 1
      ["Dec 4 2026", "refused"],
      ["42", "refused"],
      ["2026-02-30T12:00:00Z", "refused"],
      ["2026-12-04T24:00:00Z", "refused"],
      [1e16, "refused"], // past the range of Date
      [8.64e15, "refused"], // a Date, but its day ends past the range
      [Date.UTC(10000, 0, 5), "refused"], // a five-digit year names no bucket
      [{ $date: { $numberLong: "9223372036854775807" } }, "refused"], // Long.MAX_VALUE, a "never" sentinel
      [{ $date: {} }, "refused"],
      [null, "refused"]
    ]
    const docs = cases.map(([t], i) => Source.upsert(`d${i}`, { c: "c", t }))
    const out = await Effect.runPromise(Effect.gen(function*() {
      yield* Fold.run(Source.fromStream("times", Stream.fromIterable(docs)), [p])
      const all = yield* Aggregates.use((a) => a.all(p))
      const dead = yield* DeadLetters.use((d) => d.list(p.name))
      return { all: [...all].sort(), dead: dead.map((l) => l.docId).sort() }
    }).pipe(Effect.provide(Memory.layer()), Effect.provide(quiet)))
    const expected = new Map<string, number>()
    const refused: Array<string> = []
    cases.forEach(([, day], i) => {
      if (day === "refused") refused.push(JSON.stringify(`d${i}`))
      else expected.set(`c|${day}`, (expected.get(`c|${day}`) ?? 0) + 1)
    })
    expect(out.all).toEqual([...expected].sort())
    expect(out.dead).toEqual(refused.sort())
  })
})

// ---------------------------------------------------------------------------------------------

const NOW = Date.parse("2026-12-05T10:30:00Z")
const RETENTION_DAYS = 5
const TZ = "Europe/Paris"

const Order = Schema.Struct({ customer: Schema.String, amount: Schema.Int, created_at: Schema.String })
type Order = typeof Order.Type

const perDay = Pipeline.make("revenue_per_day", {
  schema: Order,
  key: (o) => o.customer,
  value: (o) => o.amount,
  monoid: Monoid.sum
}).pipe(Pipeline.windowed({ time: (o) => o.created_at, granularity: "day", timeZone: TZ, retention: `${RETENTION_DAYS} days` }))

const localDay = (t: number) => new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(t)

/** A day has expired when it ended at least RETENTION before NOW: it is before the local day of NOW - RETENTION. */
const cutoff = localDay(NOW - RETENTION_DAYS * DAY)

interface History {
  readonly changes: ReadonlyArray<Source.Change>
  readonly final: ReadonlyMap<string, unknown>
}

/** Orders created over the last 15 days, updated (amount, customer, date: a move to another day), deleted, some with dates that are not dates. */
const generate = (seed: number, ops = 150): History => {
  const r = Rand.make(seed)
  const docs = new Map<string, unknown>()
  const changes: Array<Source.Change> = []
  const date = () => r.chance(0.05) ? "not a date" : new Date(NOW - r.int(0, 15 * 24) * 3_600_000 - r.int(0, 3_599_999)).toISOString()
  for (let n = 0; n < ops; n++) {
    const id = `o${r.int(0, 40)}`
    const before = docs.get(id) as Order | undefined
    if (before !== undefined && r.chance(0.12)) {
      docs.delete(id)
      changes.push(Source.remove(id))
      continue
    }
    const doc = before === undefined || r.chance(0.3)
      ? { customer: `c${r.int(0, 5)}`, amount: r.int(1, 1000), created_at: date() }
      : r.pick([
        { ...before, amount: r.int(1, 1000) },
        { ...before, created_at: date() },
        { ...before, customer: `c${r.int(0, 5)}` }
      ])
    docs.set(id, doc)
    changes.push(Source.upsert(id, doc))
  }
  return { changes, final: docs }
}

/** The group-by over the final documents by customer and local day, without the expired days. */
const reference = (final: ReadonlyMap<string, unknown>): Array<[string, number]> => {
  const out = new Map<string, number>()
  for (const doc of final.values()) {
    const o = doc as Order
    const t = Date.parse(o.created_at)
    if (!Number.isFinite(t)) continue
    const day = localDay(t)
    if (day < cutoff) continue
    const k = `${o.customer}|${day}`
    out.set(k, (out.get(k) ?? 0) + o.amount)
  }
  return sortedNonZero(out)
}

const sortedNonZero = (m: ReadonlyMap<string, number>) => [...m].filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1))

/** Folds a history at NOW (TestClock), with crashes and restarts; returns the totals read back and the records counted as expired. */
const foldWindowed = (h: History, p: { seed: number; maxChunk: number; crashes: number }, store: () => Layer.Layer<Services, any>) =>
  Effect.runPromise(Effect.gen(function*() {
    yield* TestClock.setTime(NOW)
    const r = Rand.make(p.seed)
    const calls = { n: 0 }
    let expired = 0
    for (let attempt = 0;; attempt++) {
      const plan = attempt < p.crashes ? { at: calls.n + r.int(1, 25), mode: r.pick(["before", "after", "partial"] as const) } : undefined
      const source = Source.fromStream("orders", Stream.fromIterable(h.changes).pipe(Stream.rechunk(r.int(1, p.maxChunk))))
      const exit = yield* Effect.exit(Fold.run(source, [perDay], { batchSize: p.maxChunk }).pipe(Effect.provide(crashing(store(), plan, calls))))
      if (Exit.isSuccess(exit)) {
        expired += Fold.of(exit.value, perDay).expired
        break
      }
      if (!exit.cause.reasons.some((x) => x._tag === "Die" && x.defect instanceof Crash)) return yield* Effect.failCause(exit.cause)
    }
    const totals = yield* Aggregates.use((a) => a.all(perDay)).pipe(Effect.provide(store()))
    return { totals: sortedNonZero(totals as ReadonlyMap<string, number>), expired }
  }).pipe(Effect.provide(TestClock.layer()), Effect.provide(quiet), Effect.scoped))

const params = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  maxChunk: fc.integer({ min: 1, max: 30 }),
  crashes: fc.integer({ min: 0, max: 4 })
})

describe("windowed pipelines over generated histories", () => {
  it("memory: updates move orders between days, deletes retract, expired days are neither written nor read", async () => {
    let expired = 0
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        const h = generate(p.seed)
        const state = Memory.makeState()
        const result = await foldWindowed(h, p, () => Memory.layer(state))
        expected(result.totals, h)
        expired += result.expired
        // nothing of an expired day was ever written
        for (const key of state.aggregates.get(perDay.name)?.keys() ?? []) expect(Window.splitKey(key)![1] >= cutoff).toBe(true)
      }),
      { numRuns: 80 }
    )
    expect(expired).toBeGreaterThan(0)
  })

  it("embedded SQLite store, with crashes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "window-"))
    let run = 0
    try {
      await fc.assert(
        fc.asyncProperty(params, async (p) => {
          const h = generate(p.seed, 80)
          const path = join(dir, `w${run++}.sqlite`)
          expected((await foldWindowed(h, p, () => Embedded.layer({ path, durability: "normal" }))).totals, h)
        }),
        { numRuns: 25 }
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("the check can fail: the same histories read without the window disagree", () => {
    const h = generate(3)
    const wrong = new Map<string, number>()
    for (const doc of h.final.values()) {
      const o = doc as Order
      if (Number.isFinite(Date.parse(o.created_at))) wrong.set(`${o.customer}|${o.created_at.slice(0, 10)}`, (wrong.get(`${o.customer}|${o.created_at.slice(0, 10)}`) ?? 0) + o.amount)
    }
    expect(sortedNonZero(wrong)).not.toEqual(reference(h.final))
  })
})

const expected = (totals: Array<[string, number]>, h: History) => expect(totals).toEqual(reference(h.final))

// ---------------------------------------------------------------------------------------------

const orders = (docs: ReadonlyArray<Order>, name = "orders") => Source.fromIterable(name, docs.map((o, i) => ({ ...o, _id: `${name}-${i}` })), { id: (o) => o._id })

const at = (iso: string) => Date.parse(iso)

const threeDays: ReadonlyArray<Order> = [
  { customer: "a", amount: 1, created_at: "2026-12-03T09:00:00Z" },
  { customer: "a", amount: 10, created_at: "2026-12-04T09:00:00Z" },
  { customer: "a", amount: 100, created_at: "2026-12-05T09:00:00Z" },
  { customer: "b", amount: 5, created_at: "2026-12-05T09:30:00Z" },
  { customer: "b", amount: 7, created_at: "2026-11-20T09:30:00Z" } // 15 days ago: expired
]

describe("retention and reads", () => {
  it("reads: one bucket, a range, the last N days; expired buckets leave the memory and embedded stores", async () => {
    const dir = mkdtempSync(join(tmpdir(), "window-reads-"))
    try {
      const state = Memory.makeState()
      const path = join(dir, "reads.sqlite")
      const rows = {
        memory: () => state.aggregates.get(perDay.name)?.size ?? 0,
        embedded: () => {
          const db = new DatabaseSync(path)
          try {
            return (db.prepare("SELECT count(*) AS n FROM aggregates").get() as { n: number }).n
          } finally {
            db.close()
          }
        }
      }
      for (const [name, store] of [["memory", () => Memory.layer(state)], ["embedded", () => Embedded.layer({ path })]] as const) {
        const out = await Effect.runPromise(Effect.gen(function*() {
          yield* TestClock.setTime(NOW)
          const summary = yield* Fold.run(orders(threeDays), [perDay]).pipe(Effect.provide(store()))
          const reads = Effect.gen(function*() {
            return {
              one: yield* Window.get(perDay, "a", at("2026-12-04T20:00:00Z")),
              range: yield* Window.range(perDay, ["a", "b", "z"], at("2026-12-04T00:00:00Z"), NOW),
              last2: yield* Window.last(perDay, ["a"], 2),
              all: yield* Aggregates.use((a) => a.all(perDay))
            }
          }).pipe(Effect.provide(store()))
          const before = yield* reads
          // six days later 2026-12-03..05 have expired (end + 5 days <= now)
          yield* TestClock.setTime(at("2026-12-11T12:00:00Z"))
          const after = yield* reads
          // the next write sweeps them out of the store
          yield* Fold.run(orders([{ customer: "c", amount: 3, created_at: "2026-12-11T08:00:00Z" }], "later"), [perDay]).pipe(
            Effect.provide(store())
          )
          const left = yield* Aggregates.use((a) => a.all(perDay)).pipe(Effect.provide(store()))
          return { summary, before, after, left }
        }).pipe(Effect.provide(TestClock.layer()), Effect.provide(quiet), Effect.scoped))
        expect(Fold.of(out.summary, perDay).expired).toBe(1)
        expect(out.before.one).toBe(10)
        expect([...out.before.range]).toEqual([["a", 110], ["b", 5]])
        expect([...out.before.last2]).toEqual([["a", 110]])
        expect([...out.before.all].sort()).toEqual([["a|2026-12-03", 1], ["a|2026-12-04", 10], ["a|2026-12-05", 100], ["b|2026-12-05", 5]])
        expect(out.after.one).toBeUndefined()
        expect(out.after.all.size).toBe(0)
        expect([...out.left]).toEqual([["c|2026-12-11", 3]])
        // swept: the store holds only the live bucket
        expect(rows[name](), name).toBe(1)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  describe("DynamoDB (dynalite)", () => {
    const ddb = dynamoDbSuite()

    it("through the Valkey cache: a move to another day is read at once (invalidation), expired days never", async () => {
      await requireService("redis")
      const tables = await ddb.tables("window-cache")
      const url = new URL(redisUrl())
      url.pathname = "/7"
      const cached = () =>
        Cache.decorate(DynamoDbStore.layerFrom(ddb.client(), tables), { prefix: `window-${tables.aggregates}`, ttl: "1 hour" }).pipe(
          Layer.provide(Cache.redisLayer({ url: Redacted.make(url.toString()) }))
        )
      const read = Window.range(perDay, ["a", "b"], at("2026-12-03T00:00:00Z"), at("2026-12-05T23:00:00Z"))
      const days = Effect.gen(function*() {
        const out: Array<[string, number | undefined]> = []
        for (const day of ["2026-12-03", "2026-12-04", "2026-12-05"]) {
          // a day whose orders all moved away holds 0 (a sum's key stays): read as nothing
          const v = yield* Window.get(perDay, "a", at(`${day}T12:00:00Z`))
          out.push([day, v === 0 ? undefined : v])
        }
        return out
      })
      const out = await Effect.runPromise(Effect.gen(function*() {
        yield* TestClock.setTime(NOW)
        const source = (docs: ReadonlyArray<Source.Change>) => Source.fromStream("moves", Stream.fromIterable(docs))
        const first = [Source.upsert("x", threeDays[0]), Source.upsert("y", threeDays[2])]
        yield* Fold.run(source(first), [perDay])
        const before = { range: yield* read, days: yield* days, again: yield* days } // read twice: the second is filled from the cache
        // order x moves from the 3rd to the 4th, order y is deleted
        yield* Fold.run(source([...first, Source.upsert("x", { ...threeDays[0]!, created_at: "2026-12-04T18:00:00Z" }), Source.remove("y")]), [perDay])
        const after = { range: yield* read, days: yield* days }
        yield* TestClock.setTime(at("2026-12-10T12:00:00Z"))
        const expired = yield* days
        return { before, after, expired }
      }).pipe(Effect.provide(cached()), Effect.provide(TestClock.layer()), Effect.provide(quiet), Effect.scoped))
      expect([...out.before.range]).toEqual([["a", 101]])
      expect(out.before.days).toEqual([["2026-12-03", 1], ["2026-12-04", undefined], ["2026-12-05", 100]])
      expect(out.before.again).toEqual(out.before.days)
      expect([...out.after.range]).toEqual([["a", 1]])
      expect(out.after.days).toEqual([["2026-12-03", undefined], ["2026-12-04", 1], ["2026-12-05", undefined]])
      // the 4th ended on the 5th at 00:00 in Paris, +5 days: gone on the 10th at noon, cached or not
      expect(out.expired).toEqual([["2026-12-03", undefined], ["2026-12-04", undefined], ["2026-12-05", undefined]])
    })

    it("bucket items carry the TTL attribute; reads skip expired items before DynamoDB deletes them", async () => {
      const tables = await ddb.tables("window")
      const out = await Effect.runPromise(Effect.gen(function*() {
        yield* TestClock.setTime(NOW)
        yield* Fold.run(orders(threeDays), [perDay]).pipe(Effect.provide(DynamoDbStore.layerFrom(ddb.client(), tables)))
        const before = yield* Aggregates.use((a) => a.all(perDay)).pipe(Effect.provide(DynamoDbStore.layerFrom(ddb.client(), tables)))
        yield* TestClock.setTime(at("2026-12-10T12:00:00Z"))
        const after = yield* Window.range(perDay, ["a", "b"], at("2026-12-01T00:00:00Z"), at("2026-12-10T12:00:00Z")).pipe(
          Effect.provide(DynamoDbStore.layerFrom(ddb.client(), tables))
        )
        return { before, after }
      }).pipe(Effect.provide(TestClock.layer()), Effect.provide(quiet), Effect.scoped))
      expect([...out.before].sort()).toEqual([["a|2026-12-03", 1], ["a|2026-12-04", 10], ["a|2026-12-05", 100], ["b|2026-12-05", 5]])
      // 2026-12-03 and 04 (Paris) ended before 2026-12-05 00:00 +01:00, + 5 days: gone by the 10th at noon; the 5th stays
      expect([...out.after]).toEqual([["a", 100], ["b", 5]])
      const items = (await ddb.client().send(new ScanCommand({ TableName: tables.aggregates }))).Items ?? []
      const ttl = items.map((i) => Number(i["expiresAt"]?.N)).sort()
      const dayEnd = (d: string) => Window.bucketOfId(perDay.window!, d)!.end
      expect(ttl).toEqual(["2026-12-03", "2026-12-04", "2026-12-05", "2026-12-05"].map((d) => Math.ceil((dayEnd(d) + 5 * DAY) / 1000)).sort())
    })
  })
})

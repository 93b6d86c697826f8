/**
 * Buckets across daylight-saving changes. A wall-clock hour or day that happens twice (clocks set
 * back) is one bucket from its first occurrence, a minute two buckets; one that is skipped (clocks set forward, at midnight in
 * some zones: Beirut, Cairo, Santiago) starts when the gap ends. Bucket reads (`Window.range`,
 * `Window.last`) merge each bucket once, and a retraction from a day that has expired writes
 * nothing, whatever the zone. No server needed.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, References, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import { afterAll, describe, expect, it } from "vitest"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Window from "../../src/Window.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Error")
const dir = mkdtempSync(join(tmpdir(), "window-dst-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const Order = Schema.Struct({ customer: Schema.String, amount: Schema.Int, created_at: Schema.String })
const revenue = (name: string, granularity: Window.Granularity, timeZone: string, retention?: "1 day") =>
  Pipeline.make(name, { schema: Order, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum }).pipe(
    Pipeline.windowed({ time: (o) => o.created_at, granularity, timeZone, retention })
  )

const at = <A, E>(now: string, effect: Effect.Effect<A, E, never>): Promise<A> =>
  Effect.runPromise(Effect.gen(function*() {
    yield* TestClock.setTime(Date.parse(now))
    return yield* effect
  }).pipe(Effect.provide(TestClock.layer()), Effect.provide(quiet)))

const orders = (docs: ReadonlyArray<typeof Order.Type>) =>
  Source.fromStream("orders", Stream.fromIterable(docs.map((d, i) => Source.upsert(`o${i}`, d))))

/** Every `step` ms of 2024 and the first days of 2025. */
const instants = (step: number): Array<number> => {
  const out: Array<number> = []
  for (let t = Date.parse("2024-01-01T00:00:00Z"); t < Date.parse("2025-01-10T00:00:00Z"); t += step) out.push(t)
  return out
}

describe("windows across daylight-saving changes", () => {
  it("every instant lies in its bucket, and every bucket's id reads back, in zones that change at any hour", () => {
    const zones = ["Europe/Paris", "Asia/Beirut", "Africa/Cairo", "America/Santiago", "Australia/Lord_Howe", "America/New_York", "Asia/Tehran"]
    const granularities: ReadonlyArray<Window.Granularity> = ["hour", "day", "week", "month"]
    const times = instants(97 * 60_000)
    for (const timeZone of zones) {
      for (const granularity of granularities) {
        const window = Window.make({ time: () => 0, granularity, timeZone })
        for (const t of times) {
          const bucket = Window.bucketAt(window, t)
          if (!(bucket.start <= t && t < bucket.end)) throw new Error(`${timeZone} ${granularity} ${new Date(t).toISOString()}: ${JSON.stringify(bucket)}`)
          const again = Window.bucketOfId(window, bucket.id)
          if (again === undefined || again.start !== bucket.start || again.end !== bucket.end) {
            throw new Error(`${timeZone} ${granularity} ${bucket.id} reads back as ${JSON.stringify(again)}`)
          }
        }
      }
    }
  })

  it("minutes the clocks repeat are buckets of their own the second time (New York's hour, Lord Howe's half hour)", () => {
    const spans = [
      ["America/New_York", "2026-11-01T04:30:00Z", "2026-11-01T07:30:00Z", 60], // 01:00-01:59 twice
      ["Australia/Lord_Howe", "2026-04-04T14:00:00Z", "2026-04-04T16:30:00Z", 30] // 01:30-01:59 twice
    ] as const
    for (const [timeZone, from, to, repeated] of spans) {
      const window = Window.make({ time: () => 0, granularity: "minute", timeZone })
      const starts = new Map<string, number>()
      for (let t = Date.parse(from); t < Date.parse(to); t += 7_919) {
        const bucket = Window.bucketAt(window, t)
        if (!(bucket.start <= t && t < bucket.end && bucket.end - bucket.start === 60_000)) {
          throw new Error(`${timeZone} ${new Date(t).toISOString()}: ${JSON.stringify(bucket)}`)
        }
        expect(Window.bucketOfId(window, bucket.id)).toEqual(bucket)
        expect(starts.get(bucket.id) ?? bucket.start).toBe(bucket.start)
        starts.set(bucket.id, bucket.start)
      }
      // one bucket for every minute of the span, and those of the second time carry the offset
      expect(starts.size).toBe((Date.parse(to) - Date.parse(from)) / 60_000)
      expect([...starts.keys()].filter((id) => /[+-]\d{2}:\d{2}$/.test(id)).length).toBe(repeated)
      const again = Window.bucketsBetween(window, Date.parse(from), Date.parse(to) - 1)
      expect(again.map((b) => b.id)).toEqual([...starts].sort((a, b) => a[1] - b[1]).map(([id]) => id))
    }
  })

  it("New York, minutes, 30 minutes' retention: the repeated hour's second time is neither expired nor read with the first", async () => {
    const p = Pipeline.make("dst_ny_minutes", { schema: Order, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum }).pipe(
      Pipeline.windowed({ time: (o) => o.created_at, granularity: "minute", timeZone: "America/New_York", retention: "30 minutes" })
    )
    const state = Memory.makeState()
    const events = [["05:04:30", 1], ["06:04:30", 10], ["06:30:10", 100], ["07:04:30", 1000]] as const
    // after each order: its fold's expired count, its minute, and 01:00-01:10 the second time
    // (EST: 06:00-06:10Z), which holds only the 06:04:30Z order until it expires at 06:35Z
    const seen: Array<unknown> = []
    for (const [i, [time, amount]] of events.entries()) {
      const created = `2026-11-01T${time}Z`
      seen.push(await at(new Date(Date.parse(created) + 1_000).toISOString(), Effect.gen(function*() {
        const docs = [Source.upsert(`o${i}`, { customer: "c", amount, created_at: created }, [1, i + 1])]
        const summary = yield* Fold.run(Source.fromStream(`orders-${i}`, Stream.fromIterable(docs)), [p])
        const secondTime = yield* Window.range(p, ["c"], Date.parse("2026-11-01T06:00:00Z"), Date.parse("2026-11-01T06:10:00Z"))
        return [Fold.of(summary, p).expired, yield* Window.get(p, "c", Date.parse(created)), secondTime.get("c")]
      }).pipe(Effect.provide(Memory.layer(state)))))
    }
    expect(seen).toEqual([[0, 1, undefined], [0, 10, 10], [0, 100, 10], [0, 1000, undefined]])
  })

  it("Paris, hourly, clocks set back: the hour that happens twice is one bucket, read once", async () => {
    const p = revenue("dst_paris_back", "hour", "Europe/Paris")
    const docs = [
      { customer: "c", amount: 100, created_at: "2024-10-26T23:30:00Z" }, // 01:30 CEST
      { customer: "c", amount: 1, created_at: "2024-10-27T00:30:00Z" }, // 02:30 CEST
      { customer: "c", amount: 10, created_at: "2024-10-27T01:30:00Z" } // 02:30 CET, the second 02:30
    ]
    const out = await at("2024-10-27T01:45:00Z", Effect.gen(function*() {
      yield* Fold.run(orders(docs), [p])
      return {
        all: [...(yield* Aggregates.use((a) => a.all(p)))].sort(),
        last: (yield* Window.last(p, ["c"], 2)).get("c"),
        range: (yield* Window.range(p, ["c"], Date.parse("2024-10-26T23:00:00Z"), Date.parse("2024-10-27T01:45:00Z"))).get("c")
      }
    }).pipe(Effect.provide(Memory.layer())))
    expect(out.all).toEqual([["c|2024-10-27T01", 100], ["c|2024-10-27T02", 11]])
    expect(out.last).toBe(111)
    expect(out.range).toBe(111)
  })

  it("Paris hourly and Beirut daily, clocks set forward: a range across the gap reads every bucket once", async () => {
    const paris = revenue("dst_paris_forward", "hour", "Europe/Paris")
    const beirut = revenue("dst_beirut_forward", "day", "Asia/Beirut")
    const docs = [
      { customer: "c", amount: 1, created_at: "2024-03-30T12:00:00Z" },
      { customer: "c", amount: 10, created_at: "2024-03-31T00:30:00Z" }, // 01:30 CET in Paris; 03:30 in Beirut, its clocks set forward at midnight
      { customer: "c", amount: 100, created_at: "2024-03-31T01:30:00Z" }, // 03:30 CEST in Paris
      { customer: "c", amount: 1000, created_at: "2024-04-01T12:00:00Z" }
    ]
    const out = await at("2024-04-02T12:00:00Z", Effect.gen(function*() {
      yield* Fold.run(orders(docs), [paris, beirut])
      const from = Date.parse("2024-03-30T00:00:00Z")
      const to = Date.parse("2024-04-02T12:00:00Z")
      return {
        paris: (yield* Window.range(paris, ["c"], from, to)).get("c"),
        parisNight: (yield* Window.range(paris, ["c"], Date.parse("2024-03-31T00:00:00Z"), Date.parse("2024-03-31T02:00:00Z"))).get("c"),
        beirut: (yield* Window.range(beirut, ["c"], from, to)).get("c"),
        beirutLast: (yield* Window.last(beirut, ["c"], 4)).get("c")
      }
    }).pipe(Effect.provide(Memory.layer())))
    expect(out).toEqual({ paris: 1111, parisNight: 110, beirut: 1111, beirutLast: 1111 })
  })

  for (const store of ["memory", "embedded"] as const) {
    it(`${store}: a delete after the day it was in expired writes nothing (Beirut, whose clocks change at midnight)`, async () => {
      const p = revenue(`dst_beirut_retention_${store}`, "day", "Asia/Beirut", "1 day")
      const state = Memory.makeState()
      const layer = store === "memory" ? Memory.layer(state) : Embedded.layer({ path: join(dir, "retention.sqlite") })
      const first = await at("2024-03-31T12:00:00Z", Effect.gen(function*() {
        yield* Fold.run(Source.fromStream("o", Stream.make(Source.upsert("o1", { customer: "c", amount: 100, created_at: "2024-03-31T05:00:00Z" }, [1000, 1]))), [p])
        return [...(yield* Aggregates.use((a) => a.all(p)))]
      }).pipe(Effect.provide(layer)))
      expect(first).toEqual([["c|2024-03-31", 100]])
      const after = await at("2024-04-10T12:00:00Z", Effect.gen(function*() {
        yield* Fold.run(Source.fromStream("o-live", Stream.make(Source.remove("o1", [2000, 1]))), [p])
        return [...(yield* Aggregates.use((a) => a.all(p)))]
      }).pipe(Effect.provide(layer)))
      // no document is left, and its day has expired
      expect(after).toEqual([])
    })
  }
})

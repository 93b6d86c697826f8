/**
 * Window reads given degenerate arguments, against a store that records what each read asks for:
 *
 * - `Window.last` with `n` below 1 reads no bucket; an `n` that is not an integer, or above
 *   100,000, is a defect (`RangeError`) and nothing is read. Its error channel stays `StoreError`.
 * - `Window.range` with `from` after `to` reads no bucket, whether both fall in one bucket or not. A
 *   bound that is not an instant (NaN, an infinity, past the range of `Date`) or a span of more
 *   than 100,000 buckets is a typed `RangeError`, before a bucket is built or anything is read.
 *   `Window.bucketsBetween` throws the same errors.
 * - `Window.get` with an instant that is not one fails the same way.
 * - None of them throws when called, even for a pipeline that is not windowed: that is a defect of
 *   the effect.
 *
 * No server needed.
 */
import { Effect, Exit, Layer } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, expectTypeOf, it } from "vitest"
import * as Monoid from "../../src/Monoid.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import type { StoreError } from "../../src/Store/StoreError.ts"
import * as Window from "../../src/Window.ts"

const NOW = Date.parse("2026-12-05T12:00:00Z")
const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000

/** Not commutative, so a merge shows its order: oldest bucket first. */
const concat = Monoid.make<string>({ empty: "", combine: (a, b) => a + b })

const windowed = (granularity: Window.Granularity, timeZone?: string): Window.Windowed<string> => ({
  name: `per_${granularity}`,
  monoid: concat,
  window: Window.make({ time: (t: number) => t, granularity, timeZone })
})

const perDay = windowed("day")

/** What the store holds: one key's last three days. */
const stored = new Map([["c|2026-12-03", "3"], ["c|2026-12-04", "4"], ["c|2026-12-05", "5"]])

/** How a read ended: its value, its typed failure or its defect. */
type Outcome =
  | { readonly value: unknown }
  | { readonly fail: unknown }
  | { readonly die: unknown }

/** Runs a read at `NOW`: how it ended, and the aggregate keys of each store call it made. */
const run = async <A, E>(read: Effect.Effect<A, E, Aggregates>) => {
  const asked: Array<ReadonlyArray<string>> = []
  const store = Layer.succeed(Aggregates)({
    apply: () => Effect.die("not used"),
    get: (_target, keys) =>
      Effect.sync(() => {
        asked.push(keys)
        return new Map(keys.flatMap((k) => stored.has(k) ? [[k, stored.get(k)!] as const] : [])) as ReadonlyMap<string, any>
      }),
    all: () => Effect.die("not used")
  })
  const exit = await Effect.runPromise(Effect.exit(Effect.gen(function*() {
    yield* TestClock.setTime(NOW)
    return yield* read
  }).pipe(Effect.provide(store), Effect.provide(TestClock.layer()))))
  let outcome: Outcome
  if (Exit.isSuccess(exit)) {
    outcome = { value: exit.value instanceof Map ? Object.fromEntries(exit.value) : exit.value }
  } else {
    const [reason] = exit.cause.reasons
    outcome = reason?._tag === "Fail" ? { fail: reason.error } : reason?._tag === "Die" ? { die: reason.defect } : { die: exit.cause }
  }
  return { outcome, asked: asked.flat() }
}

/** A `RangeError` whose message matches `message`. */
const rangeError = (message: RegExp) => expect.objectContaining({ constructor: RangeError, message: expect.stringMatching(message) })

/** A window that counts how often its granularity is read: `bucketAt` reads it for every bucket it builds. */
const counted = (granularity: Window.Granularity, timeZone?: string) => {
  const window = Window.make({ time: (t: number) => t, granularity, timeZone })
  const count = { reads: 0 }
  const watched: Window.Window<number> = {
    ...window,
    get granularity() {
      count.reads++
      return window.granularity
    }
  }
  return { window: watched, pipeline: { name: "watched", monoid: concat, window: watched }, count }
}

describe("Window.last", () => {
  it("counts back from the current bucket and merges oldest first", async () => {
    expect(await run(Window.last(perDay, ["c"], 1))).toEqual({ outcome: { value: { c: "5" } }, asked: ["c|2026-12-05"] })
    expect(await run(Window.last(perDay, ["c"], 3))).toEqual({
      outcome: { value: { c: "345" } },
      asked: ["c|2026-12-03", "c|2026-12-04", "c|2026-12-05"]
    })
  })

  it("n below 1 reads no bucket: every key is absent", async () => {
    for (const n of [0, -0, -1, -3, Number.MIN_SAFE_INTEGER]) {
      expect(await run(Window.last(perDay, ["c"], n)), `n = ${n}`).toEqual({ outcome: { value: {} }, asked: [] })
    }
  })

  it("an n that is not an integer is a defect (RangeError), and nothing is read", async () => {
    for (const n of [Number.NaN, 1.5, 0.5, -0.5, "2" as unknown as number]) {
      expect(await run(Window.last(perDay, ["c"], n)), `n = ${n}`).toEqual({
        outcome: { die: rangeError(/^Window: the number of buckets n must be an integer of at most 100,000, got /) },
        asked: []
      })
    }
  })

  it("an n above 100,000, the most buckets one read spans, is a defect (RangeError), before a bucket is built", async () => {
    // before, Infinity (and any n past the range of Date) built buckets without end
    const { count, pipeline } = counted("minute", "Europe/Paris")
    for (const n of [100_001, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      expect(await run(Window.last(pipeline, ["c"], n)), `n = ${n}`).toEqual({
        outcome: { die: rangeError(/n must be an integer of at most 100,000, got /) },
        asked: []
      })
    }
    expect(count.reads).toBe(0)
  })

  it("its error channel is the store's alone", () => {
    expectTypeOf(Window.last(perDay, ["c"], 1)).toEqualTypeOf<Effect.Effect<ReadonlyMap<string, string>, StoreError, Aggregates>>()
  })
})

describe("Window.range", () => {
  it("from after to reads no bucket, whether both fall in one bucket or not", async () => {
    for (const [from, to] of [[NOW, NOW - HOUR], [NOW, NOW - 2 * DAY], [NOW + 1, NOW]]) {
      expect(await run(Window.range(perDay, ["c"], from!, to!)), `${from} to ${to}`).toEqual({ outcome: { value: {} }, asked: [] })
      expect(Window.bucketsBetween(perDay.window!, from!, to!)).toEqual([])
    }
  })

  it("from up to to reads every bucket from the one holding from to the one holding to, oldest first", async () => {
    expect(await run(Window.range(perDay, ["c"], NOW, NOW))).toEqual({ outcome: { value: { c: "5" } }, asked: ["c|2026-12-05"] })
    expect(await run(Window.range(perDay, ["c"], NOW - HOUR, NOW))).toEqual({ outcome: { value: { c: "5" } }, asked: ["c|2026-12-05"] })
    expect(await run(Window.range(perDay, ["c"], NOW - 2 * DAY, NOW))).toEqual({
      outcome: { value: { c: "345" } },
      asked: ["c|2026-12-03", "c|2026-12-04", "c|2026-12-05"]
    })
  })

  it("a bound that is not an instant is a typed RangeError, before anything is read", async () => {
    const cases: ReadonlyArray<readonly [number, number, RegExp]> = [
      [Number.NaN, NOW, /^Window: from must be an instant .*, got NaN$/],
      [NOW, Number.NaN, /^Window: to must be an instant .*, got NaN$/],
      [NOW, Number.POSITIVE_INFINITY, /^Window: to must be an instant .*, got Infinity$/],
      [Number.NEGATIVE_INFINITY, NOW, /^Window: from must be an instant .*, got -Infinity$/],
      [NOW, Number.MAX_SAFE_INTEGER, /^Window: to must be an instant .*, got 9007199254740991$/],
      [-8.64e15 - 1, NOW, /^Window: from must be an instant .*, got -8640000000000001$/],
      ["2026-12-05" as unknown as number, NOW, /^Window: from must be an instant .*, got 2026-12-05$/]
    ]
    for (const [from, to, message] of cases) {
      expect(await run(Window.range(perDay, ["c"], from, to)), `${from} to ${to}`).toEqual({ outcome: { fail: rangeError(message) }, asked: [] })
      expect(() => Window.bucketsBetween(perDay.window!, from, to)).toThrow(message)
    }
  })

  it("a span of more than 100,000 buckets is a typed RangeError, before a bucket is built", async () => {
    // before, to = Infinity died with an untyped RangeError after building 100,001 buckets (3 s in a zone)
    const spans: ReadonlyArray<readonly [Window.Granularity, string, number, number]> = [
      ["day", "UTC", 0, 100_000 * DAY], // 100,001 days
      ["minute", "Europe/Paris", NOW - 365 * DAY, NOW],
      ["hour", "Asia/Tokyo", Date.UTC(1990, 0, 1), NOW],
      ["month", "America/New_York", Date.parse("0200-01-01T00:00:00Z"), Date.parse("9999-12-31T00:00:00Z")]
    ]
    for (const [granularity, timeZone, from, to] of spans) {
      const { window, pipeline, count } = counted(granularity, timeZone)
      const tooMany = rangeError(new RegExp(`^Window: more than 100,000 buckets in one read \\(${granularity} buckets from `))
      expect(await run(Window.range(pipeline, ["c"], from, to)), `${granularity} ${timeZone}`).toEqual({ outcome: { fail: tooMany }, asked: [] })
      expect(() => Window.bucketsBetween(window, from, to)).toThrow(/^Window: more than 100,000 buckets in one read/)
      // the window is consulted a few times by each call, not once for every bucket
      expect(count.reads, `${granularity} ${timeZone}`).toBeLessThan(50)
    }
  })

  it("a span of exactly 100,000 buckets is read", async () => {
    const from = Date.UTC(2026, 0, 1)
    expect(Window.bucketsBetween(perDay.window!, from, from + 99_999 * DAY)).toHaveLength(100_000)
    const { outcome, asked } = await run(Window.range(perDay, ["c"], from, from + 99_999 * DAY + DAY - 1))
    expect(outcome).toEqual({ value: { c: "345" } })
    expect(asked).toHaveLength(100_000)
  })

  it("the limit counts buckets, not wall-clock time: Samoa skipped 30 December 2011", { timeout: 60_000 }, () => {
    // 100,000 minutes from 1 December 2011 are 100,000 minute buckets in Apia, though its wall
    // clock moves 101,440 minutes over them (it went from the 29th at 23:59 to the 31st at 00:00)
    const apia = Window.make({ time: (t: number) => t, granularity: "minute", timeZone: "Pacific/Apia" })
    const from = Date.parse("2011-12-01T00:00:00Z")
    const buckets = Window.bucketsBetween(apia, from, from + 99_999 * MINUTE)
    expect(buckets).toHaveLength(100_000)
    const lastOf29th = buckets.findIndex((b) => b.id === "2011-12-29T23:59")
    expect(buckets[lastOf29th + 1]!.id).toBe("2011-12-31T00:00")
    expect(() => Window.bucketsBetween(apia, from, from + 100_000 * MINUTE)).toThrow(/^Window: more than 100,000 buckets in one read/)
  })

  it("its error channel holds the store's failure and the RangeError", () => {
    expectTypeOf(Window.range(perDay, ["c"], 0, 1)).toEqualTypeOf<
      Effect.Effect<ReadonlyMap<string, string>, StoreError | RangeError, Aggregates>
    >()
  })
})

describe("Window.get", () => {
  it("reads the bucket holding the instant; an instant that is not one is a typed RangeError, before anything is read", async () => {
    expect(await run(Window.get(perDay, "c", NOW - DAY))).toEqual({ outcome: { value: "4" }, asked: ["c|2026-12-04"] })
    for (const at of [Number.NaN, Number.POSITIVE_INFINITY, -9e15]) {
      expect(await run(Window.get(perDay, "c", at)), `at = ${at}`).toEqual({
        outcome: { fail: rangeError(/^Window: at must be an instant .*, got /) },
        asked: []
      })
    }
  })
})

describe("a pipeline that is not windowed", () => {
  it("get, range and last throw nothing when called: their effects die with a TypeError", async () => {
    const plain: Window.Windowed<string> = { name: "totals", monoid: concat, window: undefined }
    const reads: ReadonlyArray<() => Effect.Effect<unknown, unknown, Aggregates>> = [
      () => Window.get(plain, "c", NOW),
      () => Window.range(plain, ["c"], NOW - DAY, NOW),
      () => Window.last(plain, ["c"], 2)
    ]
    for (const read of reads) {
      expect(read).not.toThrow()
      expect(await run(read())).toEqual({
        outcome: { die: expect.objectContaining({ constructor: TypeError, message: "pipeline totals is not windowed" }) },
        asked: []
      })
    }
  })
})

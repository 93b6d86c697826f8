/**
 * The window routes over real HTTP, against a memory store, the embedded SQLite store and DynamoDB
 * (the test server) into
 * which 400 orders spread over 13 days were folded by a windowed pipeline (per Paris day, 10 days
 * of retention). The server's `Clock` is a settable one, so "now" is a fixed instant in the week of
 * the spring DST change, and moving it shows the last-N window sliding and old buckets expiring.
 * Every answer is checked against a reference computed here from the orders, with the Paris dates
 * taken from `Intl` (not from the library). Every bad request is a 4xx problem, never a 500.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, layer } from "@effect/vitest"
import { Cause, Clock, Context, Effect, Exit, Layer, Schema } from "effect"
import { FetchHttpClient, HttpServer } from "effect/http"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as QueryApi from "../../src/Serve/QueryApi.ts"
import * as QueryServer from "../../src/Serve/QueryServer.ts"
import * as Source from "../../src/Source.ts"
import type { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as MemoryStore from "../../src/Store/Memory.ts"
import { dynamoDbSuite } from "../dynamodb/support.ts"
import { PROBLEM } from "./support.ts"

const Order = Schema.Struct({ id: Schema.String, customer: Schema.String, amount: Schema.Int, created_at: Schema.String })
type Order = typeof Order.Type

const ZONE = "Europe/Paris"
const perDay = Pipeline.make("spend_per_day", { schema: Order, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })
  .pipe(Pipeline.windowed({ time: (o: Order) => o.created_at, granularity: "day", timeZone: ZONE, retention: "10 days" }))
const totals = Pipeline.make("spend", { schema: Order, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })
const pipelines = [perDay, totals] as const

/** Noon UTC on the Sunday Paris moves to summer time (2026-03-29). */
const NOW = Date.UTC(2026, 2, 29, 12, 0)
const DAY = 86_400_000
const CUSTOMERS = ["c0", "c1", "c2", "c3", "c4"]

/** 400 orders, one every 47 minutes back from NOW (13 days). */
const orders: ReadonlyArray<Order> = Array.from({ length: 400 }, (_, i) => ({
  id: `o${i}`,
  customer: CUSTOMERS[i % 5]!,
  amount: 1 + i,
  created_at: new Date(NOW - i * 47 * 60_000).toISOString()
}))

// ---------------------------------------------------------------------------------------------
// the reference

const parisDate = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" })
/** The Paris calendar date of an instant, `YYYY-MM-DD`. */
const dayOf = (ms: number): string => parisDate.format(ms)
/** The calendar date `n` days after `day`. */
const plusDays = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10)

/**
 * A bucket is kept while its end plus 10 days is after now: the days from the one holding
 * `now - 10 days` on.
 */
const live = (day: string, now: number): boolean => day >= dayOf(now - 10 * DAY)

/** The sum of `customer`'s orders on the days `days` accepts, among the live ones; `undefined` when none. */
const reference = (customer: string, now: number, days: (day: string) => boolean): number | undefined => {
  let sum: number | undefined = undefined
  for (const o of orders) {
    const day = dayOf(Date.parse(o.created_at))
    if (o.customer === customer && days(day) && live(day, now)) sum = (sum ?? 0) + o.amount
  }
  return sum
}

const expected = (customer: string, now: number, days: (day: string) => boolean) => {
  const sum = reference(customer, now, days)
  return { key: customer, found: sum !== undefined, value: sum ?? 0 }
}

// ---------------------------------------------------------------------------------------------
// the server

/** The server's clock: the real one but for the time, which the tests set. */
const clock = { now: NOW }
const settableClock = Layer.effect(
  Clock.Clock,
  Effect.map(Clock.clockWith(Effect.succeed), (base): Clock.Clock => ({
    currentTimeMillisUnsafe: () => clock.now,
    currentTimeMillis: Effect.sync(() => clock.now),
    currentTimeNanosUnsafe: () => BigInt(clock.now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(clock.now) * 1_000_000n),
    monotonicTimeNanosUnsafe: () => base.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: base.monotonicTimeNanos,
    sleep: (d) => base.sleep(d)
  }))
)

class Base extends Context.Service<Base, string>()("test/serve/window/Base") {}

const MAX_BUCKETS = 50
const MAX_READS = 100

const server = (store: Layer.Layer<Aggregates | any, any>) => {
  const fold = Source.fromIterable("orders", orders, { id: (o) => o.id }).pipe(Fold.run(pipelines))
  const base = Layer.effect(
    Base,
    Effect.gen(function*() {
      const address = (yield* HttpServer.HttpServer).address
      if (address._tag === "UnixPathAddress") return yield* Effect.die(new Error("not TCP"))
      return `http://127.0.0.1:${address.port}`
    })
  )
  return base.pipe(
    Layer.provideMerge(QueryServer.layer({ pipelines, port: 0, host: "127.0.0.1", maxBuckets: MAX_BUCKETS, maxWindowReads: MAX_READS })),
    Layer.provide(Layer.merge(store, Layer.effectDiscard(Effect.orDie(Effect.provide(fold, store))))),
    Layer.provide(settableClock),
    Layer.orDie
  )
}

const get = (path: string) =>
  Effect.gen(function*() {
    const base = yield* Base
    return yield* Effect.promise(async () => {
      const response = await fetch(base + path)
      return { status: response.status, type: response.headers.get("content-type") ?? "", json: await response.json() as any }
    })
  })

const enc = encodeURIComponent

const expectProblem = (reply: { status: number; type: string; json: any }, status: number, type: string, parameter?: string) => {
  expect(reply.status, JSON.stringify(reply.json)).toBe(status)
  expect(reply.type).toContain("application/problem+json")
  expect(reply.json.type).toBe(type === "about:blank" ? type : `${PROBLEM}${type}`)
  if (parameter !== undefined) expect(reply.json.parameter).toBe(parameter)
}

const withNow = <A, E, R>(now: number, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(Effect.sync(() => (clock.now = now)), () => effect, () => Effect.sync(() => (clock.now = NOW)))

const today = dayOf(NOW)

const suite = (name: string, store: () => Layer.Layer<Aggregates | any, any>) =>
  layer(server(store()), { timeout: 60_000, excludeTestServices: true })(name, (it) => {
    it.effect("one bucket, for one key and for many", () =>
      Effect.gen(function*() {
        expect(today).toBe("2026-03-29")
        for (const day of [today, plusDays(today, -1), plusDays(today, -5), plusDays(today, -10), plusDays(today, -12)]) {
          for (const customer of ["c1", "c4"]) {
            const reply = yield* get(`/v1/pipelines/spend_per_day/keys/${customer}/buckets/${day}`)
            expect(reply.status).toBe(200)
            expect(reply.json).toEqual({
              pipeline: "spend_per_day",
              window: { granularity: "day", timeZone: ZONE, from: day, to: day, buckets: 1 },
              ...expected(customer, NOW, (d) => d === day)
            })
          }
        }
        // expired: 12 days ago ended more than 10 days before now
        expect(reference("c1", NOW, (d) => d === plusDays(today, -12))).toBeUndefined()
        const day = plusDays(today, -3)
        const many = yield* get(`/v1/pipelines/spend_per_day/buckets/${day}?key=c3&key=nobody&key=c0&key=c3`)
        expect(many.json).toEqual({
          pipeline: "spend_per_day",
          window: { granularity: "day", timeZone: ZONE, from: day, to: day, buckets: 1 },
          values: ["c3", "nobody", "c0"].map((c) => expected(c, NOW, (d) => d === day))
        })
      }))

    it.effect("a range of buckets, merged with the monoid", () =>
      Effect.gen(function*() {
        const from = plusDays(today, -6)
        const to = plusDays(today, -2)
        const one = yield* get(`/v1/pipelines/spend_per_day/keys/c2/range?from=${from}&to=${to}`)
        expect(one.json).toEqual({
          pipeline: "spend_per_day",
          window: { granularity: "day", timeZone: ZONE, from, to, buckets: 5 },
          ...expected("c2", NOW, (d) => d >= from && d <= to)
        })
        // a range reaching into expired buckets counts only the live ones
        const wide = yield* get(`/v1/pipelines/spend_per_day/range?key=c0&key=c1&key=c2&key=c3&key=c4&from=${plusDays(today, -15)}&to=${today}`)
        expect(wide.json.window).toMatchObject({ buckets: 16 })
        expect(wide.json.values).toEqual(CUSTOMERS.map((c) => expected(c, NOW, () => true)))
        // the sum over every live day is the sum of the live orders
        const liveTotal = orders.filter((o) => live(dayOf(Date.parse(o.created_at)), NOW)).reduce((s, o) => s + o.amount, 0)
        expect(wide.json.values.reduce((s: number, v: any) => s + v.value, 0)).toBe(liveTotal)
        // from = to is one bucket
        const single = yield* get(`/v1/pipelines/spend_per_day/keys/c2/range?from=${from}&to=${from}`)
        expect(single.json).toMatchObject({ window: { buckets: 1 }, ...expected("c2", NOW, (d) => d === from) })
      }))

    it.effect("the last n buckets up to now, sliding with the clock", () =>
      Effect.gen(function*() {
        const lastDays = (now: number, n: number) => {
          const end = dayOf(now)
          return (d: string) => d > plusDays(end, -n) && d <= end
        }
        const three = yield* get("/v1/pipelines/spend_per_day/keys/c1/last?n=3")
        expect(three.json).toEqual({
          pipeline: "spend_per_day",
          window: { granularity: "day", timeZone: ZONE, from: plusDays(today, -2), to: today, buckets: 3 },
          ...expected("c1", NOW, lastDays(NOW, 3))
        })
        expect(three.json.found).toBe(true)
        // one day later: today is empty, the window drops the oldest day
        const later = NOW + DAY
        const slid = yield* withNow(later, get("/v1/pipelines/spend_per_day/last?key=c1&key=c2&n=3"))
        expect(slid.json.window).toMatchObject({ from: plusDays(today, -1), to: plusDays(today, 1), buckets: 3 })
        expect(slid.json.values).toEqual(["c1", "c2"].map((c) => expected(c, later, lastDays(later, 3))))
        expect(slid.json.values[0].value).toBeLessThan(three.json.value)
        // five days later, the buckets that were live at the edge of the retention have expired
        const much = NOW + 5 * DAY
        const all = yield* withNow(much, get(`/v1/pipelines/spend_per_day/keys/c4/last?n=${MAX_BUCKETS}`))
        expect(all.json).toMatchObject(expected("c4", much, () => true))
        const before = yield* get(`/v1/pipelines/spend_per_day/keys/c4/last?n=${MAX_BUCKETS}`)
        expect(all.json.value).toBeLessThan(before.json.value)
        expect(before.json).toMatchObject(expected("c4", NOW, () => true))
      }))

    it.effect("bad window reads are 4xx problems, never 500", () =>
      Effect.gen(function*() {
        expectProblem(yield* get("/v1/pipelines/spend/keys/c1/last?n=3"), 400, "not-windowed")
        expectProblem(yield* get("/v1/pipelines/spend/range?key=c1&from=2026-03-01&to=2026-03-02"), 400, "not-windowed")
        expectProblem(yield* get("/v1/pipelines/nope/keys/c1/buckets/2026-03-01"), 404, "unknown-pipeline")
        for (const bucket of ["2026-13-01", "2026-02-30", "2026-W13", "2026-03", "2026-03-29T10", "yesterday", "%20"]) {
          expectProblem(yield* get(`/v1/pipelines/spend_per_day/keys/c1/buckets/${enc(bucket)}`), 400, "invalid-argument", "bucket")
        }
        expectProblem(yield* get("/v1/pipelines/spend_per_day/keys/c1/range?from=2026-03-20&to=2026-03-19"), 400, "invalid-argument", "to")
        expectProblem(yield* get("/v1/pipelines/spend_per_day/keys/c1/range?from=2026-3-20&to=2026-03-21"), 400, "invalid-argument", "from")
        expectProblem(yield* get("/v1/pipelines/spend_per_day/keys/c1/range?from=2024-01-01&to=2026-03-21"), 400, "invalid-argument", "to")
        expectProblem(yield* get("/v1/pipelines/spend_per_day/keys/c1/range?from=2026-03-20"), 400, "about:blank")
        for (const n of ["0", "-1", String(MAX_BUCKETS + 1), "1000000000000"]) {
          expectProblem(yield* get(`/v1/pipelines/spend_per_day/keys/c1/last?n=${n}`), 400, "invalid-argument", "n")
        }
        for (const n of ["1.5", "abc", ""]) expectProblem(yield* get(`/v1/pipelines/spend_per_day/keys/c1/last?n=${n}`), 400, "about:blank")
        // keys × buckets over the read limit
        const keys = CUSTOMERS.map((c) => `key=${c}`).join("&")
        expectProblem(yield* get(`/v1/pipelines/spend_per_day/last?${keys}&n=${MAX_READS / 5 + 1}`), 400, "invalid-argument", "key")
        expect((yield* get(`/v1/pipelines/spend_per_day/last?${keys}&n=${MAX_READS / 5}`)).status).toBe(200)
        expectProblem(yield* get("/v1/pipelines/spend_per_day/last?n=3"), 400, "about:blank") // no key at all: does not decode
        // the window routes take the plain key: an empty one is refused
        // the empty key is a key: read, not refused
        expect((yield* get("/v1/pipelines/spend_per_day/range?key=&from=2026-03-20&to=2026-03-21")).status).toBe(200)
      }))

    it.effect("the typed client reads windows and fails with the declared problems", () =>
      Effect.gen(function*() {
        const client = yield* QueryApi.makeClient({ baseUrl: yield* Base })
        const from = plusDays(today, -4)
        const range = yield* client.windows.rangeMany({ params: { pipeline: "spend_per_day" }, query: { key: ["c0", "c3"], from, to: today } })
        expect(range.values).toEqual(["c0", "c3"].map((c) => expected(c, NOW, (d) => d >= from)))
        const last = yield* client.windows.last({ params: { pipeline: "spend_per_day", key: "c2" }, query: { n: 2 } })
        expect(last).toMatchObject(expected("c2", NOW, (d) => d >= plusDays(today, -1)))
        const bucket = yield* client.windows.bucket({ params: { pipeline: "spend_per_day", key: "c2", bucket: today } })
        expect(bucket).toMatchObject(expected("c2", NOW, (d) => d === today))
        const refused = yield* Effect.exit(client.windows.last({ params: { pipeline: "spend", key: "c2" }, query: { n: 2 } }))
        expect(Exit.isFailure(refused) && Cause.squash(refused.cause)).toBeInstanceOf(QueryApi.NotWindowed)
        const bad = yield* Effect.exit(client.windows.bucket({ params: { pipeline: "spend_per_day", key: "c2", bucket: "2026-W13" } }))
        expect(Exit.isFailure(bad) && Cause.squash(bad.cause)).toBeInstanceOf(QueryApi.InvalidArgument)
      }).pipe(Effect.provide(FetchHttpClient.layer)))
  })

describe("QueryServer window routes", () => {
  suite("over a memory store", () => MemoryStore.layer(MemoryStore.makeState()))
  suite("over the embedded SQLite store", () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "serve-window-"))
    return Embedded.layer({ path: Path.join(dir, "state.sqlite") })
  })
  describe("DynamoDB", () => {
    const ddb = dynamoDbSuite()
    suite("over DynamoDB (the test server)", () => {
      // one set of tables for the fold and the server, made once the suite's client exists
      let tables: Promise<Awaited<ReturnType<typeof ddb.tables>>> | undefined
      return Layer.unwrap(Effect.promise(() => (tables ??= ddb.tables("window"))).pipe(
        Effect.map((names) => DynamoDbStore.layerFrom(ddb.client(), names))
      ))
    })
  })
})

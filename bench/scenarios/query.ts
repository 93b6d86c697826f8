/**
 * Query throughput: how many aggregate keys a second the query server (`QueryServer`, the real
 * HTTP server, in-process on a free port of 127.0.0.1) reads for `GET .../keys/:key` (one key a
 * request) and `POST .../keys` (`chunk` keys a request), over the embedded store and through the
 * Valkey/Redis cache (`AggregateCache`), against the store's raw read rate.
 *
 * `prepare` (in the parent, once per scenario) fills an embedded SQLite file with `customers` keys
 * of the bench sum pipeline through the store's own `Aggregates.apply`; key `k<i>` holds
 * {@link expected}(i), so every answer can be checked without the library. Each run then:
 *
 * - library: starts `QueryServer.layer` over that file (decorated by the cache for the cached
 *   variants), warms it with one untimed pass over every key (this fills the cache), and sends
 *   `changes` keys' worth of requests, `CONCURRENCY` in flight, keys drawn uniformly or Zipf from
 *   the filled ones; every answer is checked against {@link expected};
 * - ceiling: the same key draws, the same concurrency and key count a call, straight to the store
 *   with no HTTP: `Aggregates.get` of the embedded store, or, for the cached variants, raw ioredis
 *   `MGET` of the cache's own keys after the same warming pass (values decoded and checked too).
 *
 * Records are keys read; `extra` gives the requests a second of the library side. The HTTP client
 * runs in the server's process (both share one event loop), which the ceiling does not pay.
 */
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer, Redacted } from "effect"
import { HttpServer } from "effect/http"
import { Redis } from "ioredis"
import * as Seeded from "../../examples/orderstats/random.ts"
import * as AggregateCache from "../../src/Redis/AggregateCache.ts"
import * as QueryServer from "../../src/Serve/QueryServer.ts"
import { Aggregates, type KeyUpdate } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as ValueCodec from "../../src/internal/valueCodec.ts"
import { time, type Sample } from "../lib/measure.ts"
import { benchPipeline } from "../lib/pipeline.ts"
import { required } from "../lib/services.ts"
import { customerSampler, type WorkloadOptions } from "../lib/workload.ts"

/** Requests (library) or store calls (ceiling) in flight. */
export const CONCURRENCY = 32

/** How many keys `prepare` writes per `apply`. */
const FILL_BATCH = 2000

const keyOf = (i: number) => `k${i}`
/** The value `prepare` stores under key `k<i>` (a sum of integers, so any integer is reachable). */
export const expected = (i: number): number => ((i * 7919) % 1_000_003) - 500_000
const indexOf = (key: string) => Number(key.slice(1))

const target = benchPipeline

// ---------------------------------------------------------------------------------------------
// prepare and cleanup (parent)

/** Fills a fresh embedded store file with `w.customers` keys; the children read its path (and the cache prefix). */
export const prepare = async (w: WorkloadOptions): Promise<Record<string, string>> => {
  const dir = mkdtempSync(join(tmpdir(), "bench-query-"))
  const path = join(dir, "store.db")
  const fill = Effect.gen(function*() {
    const aggregates = yield* Aggregates
    for (let from = 0, seq = 0; from < w.customers; from += FILL_BATCH) {
      const updates: Array<KeyUpdate<number>> = []
      const first = seq
      for (let i = from; i < Math.min(from + FILL_BATCH, w.customers); i++) {
        updates.push({ key: keyOf(i), delta: expected(i), marks: [{ partition: "bench/0", first, last: seq }], contributions: [] })
        seq++
      }
      const stats = yield* aggregates.apply(target, updates)
      if (stats.written !== updates.length) return yield* Effect.die(new Error(`prepare wrote ${stats.written} of ${updates.length} keys`))
    }
  })
  await Effect.runPromise(Effect.provide(fill, Embedded.layer({ path, durability: "normal" })))
  return { BENCH_QUERY_DIR: dir, BENCH_QUERY_DB: path, BENCH_QUERY_PREFIX: `bench-query-${randomUUID().slice(0, 8)}` }
}

/** Removes the store file and, when `cached`, the cache's keys of this scenario. */
export const cleanup = (cached: boolean) => async (env: Record<string, string>): Promise<void> => {
  if (env["BENCH_QUERY_DIR"] !== undefined) rmSync(env["BENCH_QUERY_DIR"], { recursive: true, force: true })
  const prefix = env["BENCH_QUERY_PREFIX"]
  if (!cached || prefix === undefined) return
  const redis = new Redis(required("REDIS_URL"), { lazyConnect: true })
  try {
    await redis.connect()
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 5000)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== "0")
  } finally {
    redis.disconnect()
  }
}

// ---------------------------------------------------------------------------------------------
// the workload: which keys each request reads

/**
 * `w.changes` key draws in requests of `w.chunk` distinct keys (the server answers a key asked
 * twice once; a repeat within a request is drawn again), the same on both sides, from the seed.
 */
const requestsOf = (w: WorkloadOptions): Array<Array<string>> => {
  const draw = customerSampler(w.customers, w.skew, Seeded.random(w.seed ?? 42).next)
  const size = w.chunk ?? 1
  const out: Array<Array<string>> = []
  for (let n = 0; n < w.changes; n += size) {
    const keys = new Set<string>()
    while (keys.size < Math.min(size, w.changes - n)) keys.add(keyOf(draw()))
    out.push(Array.from(keys))
  }
  return out
}

/** Every filled key, in requests of `size` (the warming pass). */
const everyKey = (w: WorkloadOptions, size: number): Array<Array<string>> => {
  const out: Array<Array<string>> = []
  for (let from = 0; from < w.customers; from += size) {
    out.push(Array.from({ length: Math.min(size, w.customers - from) }, (_, j) => keyOf(from + j)))
  }
  return out
}

/** Runs `f` over `items` with at most `concurrency` in flight. */
const pool = async <A>(items: ReadonlyArray<A>, concurrency: number, f: (a: A) => Promise<void>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < items.length) await f(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

const check = (key: string, found: boolean, value: unknown) => {
  if (!found || value !== expected(indexOf(key))) {
    throw new Error(`wrong answer for ${key}: found=${found} value=${JSON.stringify(value)}, expected ${expected(indexOf(key))}`)
  }
}

// ---------------------------------------------------------------------------------------------
// library: the query server

interface One {
  readonly key: string
  readonly found: boolean
  readonly value: unknown
}

/** Reads `keys` through the server: `GET .../keys/:key` for one, `POST .../keys` for more; checks every answer. */
const request = (base: string) => async (keys: ReadonlyArray<string>): Promise<void> => {
  const url = `${base}/v1/pipelines/${target.name}/keys`
  const response = keys.length === 1 && keys[0] !== undefined
    ? await fetch(`${url}/${encodeURIComponent(keys[0])}`)
    : await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ keys }) })
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  const body = await response.json() as One | { readonly values: ReadonlyArray<One> }
  const answers = "values" in body ? body.values : [body]
  if (answers.length !== keys.length) throw new Error(`asked ${keys.length} keys, got ${answers.length}`)
  answers.forEach((a, i) => {
    if (a.key !== keys[i]) throw new Error(`answer ${i} is for ${a.key}, not ${keys[i]}`)
    check(a.key, a.found, a.value)
  })
}

const storeLayer = () => Embedded.layer({ path: required("BENCH_QUERY_DB"), durability: "normal" })

const cacheSettings = () => ({ url: Redacted.make(required("REDIS_URL")) })
const cacheOptions = () => ({ prefix: required("BENCH_QUERY_PREFIX"), ttl: "1 hour" as const })

/** The library side: the query server over the embedded store, through the cache when `cached`. */
export const library = (cached: boolean) => (w: WorkloadOptions): Promise<Sample> => {
  const store = cached
    ? AggregateCache.decorate(storeLayer(), cacheOptions()).pipe(Layer.provide(AggregateCache.redisLayer(cacheSettings())))
    : storeLayer()
  const server = QueryServer.layer({ pipelines: [benchPipeline], port: 0, host: "127.0.0.1", docs: false }).pipe(Layer.provide(store))
  const requests = requestsOf(w)
  const program = Effect.gen(function*() {
    const context = yield* Layer.build(server)
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag === "UnixPathAddress") return yield* Effect.die(new Error("the server does not listen on TCP"))
    const send = request(`http://127.0.0.1:${address.port}`)
    return yield* Effect.promise(async () => {
      await pool(everyKey(w, 100), CONCURRENCY, send)
      const sample = await time(async () => {
        await pool(requests, CONCURRENCY, send)
        return { records: w.changes, roundTrips: requests.length }
      })
      return { ...sample, extra: { keysPerRequest: w.chunk ?? 1, concurrency: CONCURRENCY } }
    })
  })
  return Effect.runPromise(Effect.scoped(program))
}

// ---------------------------------------------------------------------------------------------
// ceilings: the store's raw reads, no HTTP

/** `Aggregates.get` on the embedded store, `CONCURRENCY` calls in flight, every value checked. */
const embeddedCeiling = (w: WorkloadOptions): Promise<Sample> => {
  const requests = requestsOf(w)
  const program = Effect.gen(function*() {
    const aggregates = yield* Aggregates
    const read = (keys: ReadonlyArray<string>) =>
      Effect.map(aggregates.get(target, keys), (values) => {
        for (const key of keys) check(key, values.has(key), values.get(key))
      })
    const all = (batches: ReadonlyArray<ReadonlyArray<string>>) => Effect.forEach(batches, read, { concurrency: CONCURRENCY, discard: true })
    yield* all(everyKey(w, 100))
    return yield* Effect.promise(() =>
      time(async () => {
        await Effect.runPromise(all(requests))
        return { records: w.changes, roundTrips: requests.length }
      })
    )
  })
  return Effect.runPromise(Effect.provide(program, storeLayer()))
}

/** Raw `MGET` of the cache's own keys after the same warming pass through the cache, every value decoded and checked. */
const cacheCeiling = (w: WorkloadOptions): Promise<Sample> => {
  const requests = requestsOf(w)
  const prefix = required("BENCH_QUERY_PREFIX")
  const cacheKey = (key: string) => `${prefix}:${JSON.stringify([target.name, key])}`
  const warm = Effect.gen(function*() {
    const aggregates = yield* Aggregates
    yield* Effect.forEach(everyKey(w, 100), (keys) => aggregates.get(target, keys), { concurrency: CONCURRENCY, discard: true })
  }).pipe(
    Effect.provide(AggregateCache.decorate(storeLayer(), cacheOptions()).pipe(Layer.provide(AggregateCache.redisLayer(cacheSettings()))))
  )
  return Effect.runPromise(warm).then(async () => {
    const redis = new Redis(required("REDIS_URL"), { lazyConnect: true })
    await redis.connect()
    try {
      const batches = requests.map((keys) => ({ keys, cacheKeys: keys.map(cacheKey) }))
      return await time(async () => {
        await pool(batches, CONCURRENCY, async ({ cacheKeys, keys }) => {
          const texts = await redis.mget(...cacheKeys)
          texts.forEach((text, i) => {
            const hit = text !== null && text.startsWith("v")
            check(keys[i]!, hit, hit ? ValueCodec.decode(text.slice(1)) : undefined)
          })
        })
        return { records: w.changes, roundTrips: requests.length }
      })
    } finally {
      redis.disconnect()
    }
  })
}

/** The ceiling: the embedded store's reads, or the cache server's when `cached`. */
export const ceiling = (cached: boolean) => (w: WorkloadOptions): Promise<Sample> => cached ? cacheCeiling(w) : embeddedCeiling(w)

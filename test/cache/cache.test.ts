/**
 * The Valkey/Redis read cache over the DynamoDB aggregate store, against the real servers: reads
 * are answered by the cache after a miss filled it, an applied batch invalidates its keys, a fill
 * that raced a write is dropped (lease), and losing the cache (FLUSHALL, the server unreachable)
 * loses nothing. The unreachable server is simulated by a TCP proxy in front of the real one that
 * the test closes and reopens. The suite works in database 7 of the test server, so that its
 * FLUSHDB (FLUSHALL's effect on our keys) leaves other suites' keys alone.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as Net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Exit, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import * as Monoid from "../../src/Monoid.ts"
import { Aggregates, type KeyUpdate } from "../../src/Store/Aggregates.ts"
import * as Cache from "../../src/Redis/AggregateCache.ts"
import * as DynamoAggregates from "../../src/DynamoDb/internal/aggregates.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import type { TableNames } from "../../src/DynamoDb/DynamoDbTables.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import { Transactions } from "../../src/Store/Transactions.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { redisUrl, requireService, uniqueName } from "../support/services.ts"
import { dropTables, freshTables, testClient } from "../dynamodb/support.ts"

type Shape = Context.Service.Shape<typeof Aggregates>

const update = (key: string, delta: number, seq: number): KeyUpdate<number> => ({
  key,
  delta,
  marks: [{ partition: "p", first: seq, last: seq }],
  contributions: [{ partition: "p", seq, delta }]
})

/** Counts the reads that reach the store. */
const counting = (inner: Shape) => {
  const calls: Array<ReadonlyArray<string>> = []
  const shape: Shape = {
    apply: inner.apply,
    all: inner.all,
    get: (target, keys) => Effect.suspend(() => {
      calls.push([...keys])
      return inner.get(target, keys)
    })
  }
  return { shape, calls }
}

/** The test server's URL, in database 7. */
const cacheUrl = (base = redisUrl()): string => {
  const url = new URL(base)
  url.pathname = "/7"
  return url.toString()
}

/** A TCP proxy in front of the real Redis that can be cut and restored. */
const proxy = async (target: URL) => {
  const sockets = new Set<Net.Socket>()
  let server: Net.Server | undefined
  let port = 0
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = Net.createServer((client) => {
        const upstream = Net.connect({ host: target.hostname, port: Number(target.port) })
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on("close", () => sockets.delete(s))
          s.on("error", () => undefined)
        }
        client.pipe(upstream).pipe(client)
        client.on("close", () => upstream.destroy())
        upstream.on("close", () => client.destroy())
      })
      server.once("error", reject)
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as Net.AddressInfo).port
        resolve()
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      if (server === undefined) resolve()
      else server.close(() => resolve())
    })
  await start()
  return { url: () => cacheUrl(`redis://127.0.0.1:${port}`), start, stop }
}

describe("Valkey/Redis read cache", () => {
  let client: DynamoDBClient
  let tables: TableNames
  let admin: Redis
  const prefix = uniqueName("cache")

  beforeAll(async () => {
    await requireService("redis")
    await requireService("dynamodb")
    client = testClient()
    tables = await freshTables(client, "cache")
    admin = new Redis(cacheUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 })
    await admin.connect()
  })

  afterAll(async () => {
    if (admin !== undefined) {
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
      await admin.quit()
    }
    if (tables !== undefined) await dropTables(client, tables)
    client?.destroy()
  })

  /** A cached store over the real DynamoDB aggregates and a real Redis connection (closed with the scope). */
  const cached = (url: string, options: Cache.Options = {}) =>
    Effect.gen(function*() {
      const redis = yield* Cache.connect({ url: Redacted.make(url), commandTimeoutMs: 500 })
      yield* Effect.promise(() => waitReady(redis))
      const inner = counting(DynamoAggregates.make(client, tables.aggregates))
      return { store: Cache.make(redis, inner.shape, { prefix, ...options }), calls: inner.calls, redis }
    })

  const waitReady = async (redis: Redis, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs
    while (redis.status !== "ready" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  }

  it("a miss fills the cache, the next read is a hit, an applied batch invalidates", async () => {
    const target = { name: uniqueName("p"), monoid: Monoid.sum }
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const { calls, store } = yield* cached(cacheUrl(), { ttl: "1 minute" })
      yield* store.apply(target, [update("a", 100, 1), update("b#:.\u0000", 7, 1)])
      const first = yield* store.get(target, ["a", "b#:.\u0000", "absent"])
      expect(first).toEqual(new Map([["a", 100], ["b#:.\u0000", 7]]))
      expect(calls).toEqual([["a", "b#:.\u0000", "absent"]])
      // filled, with the TTL
      const key = `${prefix}:${JSON.stringify([target.name, "a"])}`
      expect(yield* Effect.promise(() => admin.get(key))).toBe("v100")
      const ttl = yield* Effect.promise(() => admin.pttl(key))
      expect(ttl).toBeGreaterThan(50_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
      // hits (the absent key is read from the store again: absence is not cached)
      expect(yield* store.get(target, ["a", "b#:.\u0000", "absent"])).toEqual(first)
      expect(calls.slice(1)).toEqual([["absent"]])
      // an applied batch removes its keys; the next read sees the new value
      yield* store.apply(target, [update("a", 5, 2)])
      expect(yield* Effect.promise(() => admin.exists(key))).toBe(0)
      expect(yield* store.get(target, ["a", "b#:.\u0000"])).toEqual(new Map([["a", 105], ["b#:.\u0000", 7]]))
      expect(calls.slice(2)).toEqual([["a"]])
      // keys are namespaced by pipeline
      const other = { name: `${target.name}-other`, monoid: Monoid.sum }
      yield* store.apply(other, [update("a", 1, 1)])
      expect(yield* store.get(other, ["a"])).toEqual(new Map([["a", 1]]))
      expect(yield* store.get(target, ["a"])).toEqual(new Map([["a", 105]]))
      // `all` goes to the store
      expect(yield* store.all(target)).toEqual(new Map([["a", 105], ["b#:.\u0000", 7]]))
    })))
  })

  it("flush removes one pipeline's cached values and leases, and no other's (names with glob characters too)", async () => {
    const target = { name: `${uniqueName("p")}*[x]?`, monoid: Monoid.sum }
    const sibling = { name: `${target.name}y`, monoid: Monoid.sum }
    const other = { name: uniqueName("p"), monoid: Monoid.sum }
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const { store, redis, calls } = yield* cached(cacheUrl(), { ttl: "1 minute" })
      const keys = Array.from({ length: 1200 }, (_, i) => `k${i}`)
      for (const t of [target, sibling, other]) {
        yield* store.apply(t, keys.map((k) => update(k, 1, 1)))
        yield* store.get(t, keys)
      }
      const lease = `${prefix}:${JSON.stringify([target.name, "leased"])}`
      yield* Effect.promise(() => admin.set(lease, "lease-of-a-reader", "PX", 60_000))
      const removed = yield* Cache.flush(target.name, { prefix }).pipe(Effect.provideService(Cache.RedisClient, redis))
      expect(removed).toBe(1201)
      expect(yield* Effect.promise(() => admin.exists(lease))).toBe(0)
      const count = async (name: string) => (await admin.keys(`${prefix}:*`)).filter((k) => k.startsWith(`${prefix}:${JSON.stringify([name]).slice(0, -1)},`)).length
      expect(yield* Effect.promise(() => count(target.name))).toBe(0)
      expect(yield* Effect.promise(() => count(sibling.name))).toBe(1200)
      expect(yield* Effect.promise(() => count(other.name))).toBe(1200)
      // the flushed pipeline reads from the store again
      const before = calls.length
      yield* store.get(target, ["k1"])
      expect(calls.slice(before)).toEqual([["k1"]])
    })))
  })

  it("a fill that raced a write is dropped (the write's DEL removes the reader's lease)", async () => {
    const target = { name: uniqueName("race"), monoid: Monoid.sum }
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const redis = yield* Cache.connect({ url: Redacted.make(cacheUrl()) })
      yield* Effect.promise(() => waitReady(redis))
      const real = DynamoAggregates.make(client, tables.aggregates)
      let writer: Shape | undefined
      let raced = false
      // a store read during which a writer applies and invalidates: the reader holds the OLD value
      const slow: Shape = {
        ...real,
        get: (t, keys) =>
          Effect.gen(function*() {
            const old = yield* real.get(t, keys)
            if (!raced) {
              raced = true
              yield* writer!.apply({ name: t.name, monoid: Monoid.sum }, [update("k", 50, 2)])
            }
            return old
          })
      }
      const store = Cache.make(redis, slow, { prefix })
      writer = store
      yield* real.apply(target, [update("k", 10, 1)])
      expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 10]])) // the racing read returns what it read
      // but it did not cache it: the next read is a miss and sees the write
      expect(yield* Effect.promise(() => admin.get(`${prefix}:${JSON.stringify([target.name, "k"])}`))).toBeNull()
      expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 60]]))
      expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 60]]))
    })))
  })

  it("a store apply that fails after writing still drops the batch's cached keys", async () => {
    const target = { name: uniqueName("failing"), monoid: Monoid.sum }
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const redis = yield* Cache.connect({ url: Redacted.make(cacheUrl()) })
      const real = DynamoAggregates.make(client, tables.aggregates)
      // the store writes, then the call fails (an answer lost after the write, say)
      const failing: Shape = {
        ...real,
        apply: (t, updates) =>
          real.apply(t, updates).pipe(
            Effect.andThen(Effect.fail(new StoreError({ store: "dynamodb", operation: "aggregates.apply", retryable: true })))
          )
      }
      const store = Cache.make(redis, failing, { prefix })
      yield* real.apply(target, [update("k", 1, 1)])
      expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 1]]))
      expect(Exit.isFailure(yield* Effect.exit(store.apply(target, [update("k", 2, 2)])))).toBe(true)
      expect(yield* Effect.promise(() => admin.get(`${prefix}:${JSON.stringify([target.name, "k"])}`))).toBeNull()
      expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 3]]))
    })))
  })

  it("flushing the cache loses nothing: reads fall through to the store and fill again", async () => {
    const target = { name: uniqueName("flush"), monoid: Monoid.sum }
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const { calls, store } = yield* cached(cacheUrl())
      yield* store.apply(target, [update("x", 3, 1), update("y", 4, 1)])
      yield* store.get(target, ["x", "y"])
      yield* Effect.promise(() => admin.flushdb())
      expect(yield* store.get(target, ["x", "y"])).toEqual(new Map([["x", 3], ["y", 4]]))
      expect(calls.length).toBe(2)
      expect(yield* store.get(target, ["x", "y"])).toEqual(new Map([["x", 3], ["y", 4]]))
      expect(calls.length).toBe(2)
    })))
  })

  it("an unreachable cache: reads use the store; a strict invalidation fails the batch (retryable) until it can be done", async () => {
    const target = { name: uniqueName("dead"), monoid: Monoid.sum }
    const cut = await proxy(new URL(redisUrl()))
    try {
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const { redis, store } = yield* cached(cut.url())
        yield* store.apply(target, [update("k", 10, 1)])
        expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 10]])) // cached now

        yield* Effect.promise(() => cut.stop())
        // reads fall back to the store
        expect(yield* store.get(target, ["k", "absent"])).toEqual(new Map([["k", 10]]))
        // the store takes the batch, the invalidation cannot be done: a retryable StoreError
        const exit = yield* Effect.exit(store.apply(target, [update("k", 5, 2)]))
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
        expect(error).toBeInstanceOf(StoreError)
        expect((error as StoreError).store).toBe("cache")
        expect((error as StoreError).retryable).toBe(true)
        expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 15]])) // nothing lost: the store has it

        // the cache comes back holding the old value; the fold retries the batch: the store skips
        // it (already applied) and the DEL goes through
        yield* Effect.promise(() => cut.start())
        yield* Effect.promise(() => waitReady(redis))
        const retried = yield* store.apply(target, [update("k", 5, 2)])
        expect(retried.skipped).toBe(1)
        expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 15]]))
      })))
    } finally {
      await cut.stop()
    }
  })

  it("a cache server that is never reachable: reads and the fold's retries go on without it", async () => {
    const target = { name: uniqueName("never"), monoid: Monoid.sum }
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const redis = yield* Cache.connect({ url: Redacted.make("redis://127.0.0.1:1/7"), connectTimeoutMs: 200 })
      const real = DynamoAggregates.make(client, tables.aggregates)
      const store = Cache.make(redis, real, { prefix })
      yield* real.apply(target, [update("k", 4, 1)])
      expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 4]]))
      const strict = yield* Effect.exit(store.apply(target, [update("k", 1, 2)]))
      expect(Exit.isFailure(strict)).toBe(true)
      const relaxed = Cache.make(redis, real, { prefix, invalidation: "bestEffort" })
      expect((yield* relaxed.apply(target, [update("k", 1, 2)])).skipped).toBe(1)
      expect(yield* relaxed.get(target, ["k"])).toEqual(new Map([["k", 5]]))
    })))
  })

  it("best-effort invalidation keeps the batch going; staleness is bounded by the TTL", async () => {
    const target = { name: uniqueName("besteffort"), monoid: Monoid.sum }
    const cut = await proxy(new URL(redisUrl()))
    try {
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const { redis, store } = yield* cached(cut.url(), { invalidation: "bestEffort", ttl: "400 millis" })
        yield* store.apply(target, [update("k", 10, 1)])
        yield* store.get(target, ["k"])
        yield* Effect.promise(() => cut.stop())
        const stats = yield* store.apply(target, [update("k", 5, 2)])
        expect(stats.written).toBe(1)
        yield* Effect.promise(() => cut.start())
        yield* Effect.promise(() => waitReady(redis))
        const read = yield* store.get(target, ["k"])
        expect([10, 15]).toContain(read.get("k")) // possibly stale, for at most the TTL
        yield* Effect.sleep("500 millis")
        expect(yield* store.get(target, ["k"])).toEqual(new Map([["k", 15]]))
      })))
    } finally {
      await cut.stop()
    }
  })

  it("Cache.decorate caches the aggregates of a store layer and passes its other services through", async () => {
    const target = { name: uniqueName("layer"), monoid: Monoid.sum }
    const layer = Cache.decorate(DynamoDbStore.layerFrom(client, tables), { prefix }).pipe(
      Layer.provide(Cache.redisLayer({ url: Redacted.make(cacheUrl()) }))
    )
    await Effect.runPromise(Effect.gen(function*() {
      const aggregates = yield* Aggregates
      const ledger = yield* Ledger
      yield* aggregates.apply(target, [update("z", 9, 1)])
      expect(yield* aggregates.get(target, ["z"])).toEqual(new Map([["z", 9]]))
      expect(yield* Effect.promise(() => admin.get(`${prefix}:${JSON.stringify([target.name, "z"])}`))).toBe("v9")
      yield* ledger.put(target, new Map([["doc", { keys: ["z"], value: 9, version: [1, 1] }]]))
      expect(yield* ledger.get(target, ["doc", "other"])).toEqual([{ keys: ["z"], value: 9, version: [1, 1] }, undefined])
    }).pipe(Effect.provide(layer)))
  })

  it("over a store with transactions, a batch's keys are invalidated after its commit, not before", async () => {
    // the worker and the query server: two connections to one SQLite file, each through the cache
    const dir = mkdtempSync(join(tmpdir(), "cache-tx-"))
    const target = { name: uniqueName("tx"), monoid: Monoid.sum }
    const cachedEmbedded = () =>
      Cache.decorate(Embedded.layer({ path: join(dir, "store.sqlite") }), { prefix }).pipe(
        Layer.provide(Cache.redisLayer({ url: Redacted.make(cacheUrl()) }))
      )
    try {
      const seen = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const worker = yield* Layer.build(cachedEmbedded())
        const server = yield* Layer.build(cachedEmbedded())
        const write = Context.get(worker, Aggregates)
        const read = Context.get(server, Aggregates)
        yield* write.apply(target, [update("c1", 100, 1)])
        const before = (yield* read.get(target, ["c1"])).get("c1")
        let during: number | undefined
        yield* Context.get(worker, Transactions).withTransaction(Effect.gen(function*() {
          yield* write.apply(target, [update("c1", 5, 2)])
          // the server misses (or not) and reads the value committed before the batch
          during = (yield* read.get(target, ["c1"])).get("c1")
        }))
        const after = (yield* read.get(target, ["c1"])).get("c1")
        return { before, during, after }
      })))
      expect(seen).toEqual({ before: 100, during: 100, after: 105 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("over a store with transactions, a DEL lost after the commit leaves no stale value (the keys were marked before the write)", async () => {
    // the worker reaches the cache through a proxy that is cut before its commit: its DEL after
    // the commit fails, as when it dies right after committing (its restart would not repeat the
    // batch: the ledger entries committed with the aggregates)
    const dir = mkdtempSync(join(tmpdir(), "cache-tx-lost-"))
    const target = { name: uniqueName("txlost"), monoid: Monoid.sum }
    const link = await proxy(new URL(redisUrl()))
    const cachedEmbedded = (url: string) =>
      Cache.decorate(Embedded.layer({ path: join(dir, "store.sqlite") }), { prefix }).pipe(
        Layer.provide(Cache.redisLayer({ url: Redacted.make(url), commandTimeoutMs: 500 }))
      )
    try {
      const seen = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const worker = yield* Layer.build(cachedEmbedded(link.url()))
        const server = yield* Layer.build(cachedEmbedded(cacheUrl()))
        const write = Context.get(worker, Aggregates)
        const read = Context.get(server, Aggregates)
        yield* write.apply(target, [update("c1", 100, 1)])
        const before = (yield* read.get(target, ["c1"])).get("c1")
        const batch = yield* Effect.exit(Context.get(worker, Transactions).withTransaction(Effect.gen(function*() {
          yield* write.apply(target, [update("c1", 5, 2)])
          // a reader during the transaction reads the value from before the batch
          yield* read.get(target, ["c1"])
          yield* Effect.promise(() => link.stop())
        })))
        const after = (yield* read.get(target, ["c1"])).get("c1")
        const again = (yield* read.get(target, ["c1"])).get("c1")
        return { before, committedButNotInvalidated: Exit.isFailure(batch), after, again }
      })))
      expect(seen).toEqual({ before: 100, committedButNotInvalidated: true, after: 105, again: 105 })
    } finally {
      await link.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

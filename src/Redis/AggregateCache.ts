/**
 * A Valkey/Redis read-through cache over the aggregate store, for the query side. It decorates the
 * `Aggregates` service: `get` answers from the cache (`MGET`) and fills misses from the store
 * (`SET` with a TTL), `all` always goes to the store, and `apply` invalidates (`DEL`) every key of
 * the batch after the store applied it (and, best effort, after a failed apply, which may have
 * written some keys). The cache is never the source of truth: losing it
 * (`FLUSHALL`, a restart, a dead server) loses nothing, and a cache error on a read falls back to
 * the store.
 *
 * Keys are `<prefix>:` followed by the JSON text of `[pipeline, key]` (injective and well-formed,
 * whatever the key holds); values are `ValueCodec` text.
 *
 * **Fill races.** A reader that misses, reads the store, and then writes what it read could put a
 * value back that a writer has just invalidated. Fills therefore go through a lease: on a miss the
 * reader first sets a short-lived lease (`SET key lease NX PX`), reads the store (consistently),
 * and replaces the lease by the value only if the lease is still there (a small Lua script). A
 * writer's `DEL` after its apply removes the lease, so a fill that raced a write is dropped.
 *
 * **Invalidation failures** (the server is unreachable when a batch was applied):
 * - `"strict"` (default): `apply` fails with a retryable `StoreError` (`store: "cache"`) after the
 *   store applied the batch, so the fold does not commit the batch's position and retries it; the
 *   store skips what it holds already and the `DEL` is sent again. No reader ever sees a value
 *   older than the last applied batch once the batch is committed. While the cache server is down,
 *   the pipeline waits (the fold's retry schedule), but nothing is lost.
 * - `"bestEffort"`: the failure is logged and the batch goes on; a cached value may then be stale
 *   until its TTL runs out (use a short TTL).
 *
 * A worker that dies between a store write and its `DEL` repeats both when it restarts (the batch
 * was not committed); the TTL bounds staleness if it never restarts.
 *
 * **Expiring buckets** (windowed pipelines): the cache does not know when a bucket expires. A
 * bucket read by its aggregate key (`"<key>|<bucket id>"`) may still be answered from the cache for
 * up to the TTL after its retention ended; the `Window` reads and the query API's window routes
 * leave expired buckets out themselves.
 *
 * **Store transactions** (the embedded store's `Transactions`, through which the fold writes a
 * batch): the store's other connections see a transaction's writes only when it commits, so a
 * `DEL` sent inside it would let a reader miss, read the value from before the batch and cache
 * it. {@link decorate} and {@link layer} wrap the store's `Transactions` too. An `apply` inside a
 * transaction first replaces each of its keys' cached values by a write mark (which lives as long
 * as a cached value): a reader that finds a mark reads the store and caches nothing. Once the
 * transaction has committed, the keys are deleted (as above: a failure in `"strict"` mode fails
 * the transaction's effect, retryable, after the commit; a mark that cannot be set fails it before
 * anything is written). A worker that dies between the commit and the `DEL` does not repeat the
 * batch (its ledger entries were committed with it), and its marks keep readers on the store until
 * they expire.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { Aggregates, type Target } from "../Store/Aggregates.ts"
import { StoreError } from "../Store/StoreError.ts"
import { Transactions } from "../Store/Transactions.ts"
import * as ValueCodec from "../internal/valueCodec.ts"

/**
 * The Redis/Valkey connection the cache uses.
 *
 * @category services
 * @since 0.1.0
 */
export class RedisClient extends Context.Service<RedisClient, Redis>()("effect-monoid-streams/RedisClient") {}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** How long a cached value lives. Default 5 minutes. */
  readonly ttl?: Duration.Input | undefined
  /**
   * Namespace of the cache's keys. Default `"ems"`. Give every store its own: two stores cached
   * under one prefix on one server read each other's values (their pipelines' keys look alike).
   */
  readonly prefix?: string | undefined
  /** How long a fill lease lives (longer than a store read). Default 10 seconds. */
  readonly leaseTtl?: Duration.Input | undefined
  /** What a failed invalidation does (see the module doc). Default `"strict"`. */
  readonly invalidation?: "strict" | "bestEffort" | undefined
}

/**
 * How to connect.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionSettings {
  /** `redis://[user:password@]host:port[/db]`; redacted because it may hold a password. */
  readonly url: Redacted.Redacted<string>
  /** Time limit of one command; a slower cache counts as a failed one. Default 1000 ms. */
  readonly commandTimeoutMs?: number | undefined
  /** How long opening waits for the server before going on without it. Default 2000 ms. */
  readonly connectTimeoutMs?: number | undefined
}

const hits = Metric.counter("monoid_cache_hits", { description: "aggregate reads answered by the cache" })
const misses = Metric.counter("monoid_cache_misses", { description: "aggregate reads that went to the store" })
const failures = Metric.counter("monoid_cache_errors", { description: "cache commands that failed (reads fell back to the store)" })

const VALUE = "v"
const LEASE = "l"
/** Held by a key while a store transaction that writes it is open (see the module doc). */
const WRITING = "w"

/** Replaces our lease by the value (ARGV[2] non-empty) or drops it; does nothing if the lease is gone. */
const FILL = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 0`

const DEL_CHUNK = 500

/**
 * Inside a store transaction opened through a cache's `Transactions`: the invalidations its
 * applies leave for after the commit.
 */
const AfterCommit = Context.Reference<Array<Effect.Effect<void, StoreError>> | undefined>(
  "effect-monoid-streams/AggregateCache/AfterCommit",
  { defaultValue: () => undefined }
)

/**
 * The cached aggregate store over `inner`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  redis: Redis,
  inner: Context.Service.Shape<typeof Aggregates>,
  options: Options = {}
): Context.Service.Shape<typeof Aggregates> => {
  const prefix = options.prefix ?? "ems"
  const ttlMs = Math.max(1, Math.round(Duration.toMillis(options.ttl ?? Duration.minutes(5))))
  const leaseMs = Math.max(1, Math.round(Duration.toMillis(options.leaseTtl ?? Duration.seconds(10))))
  const strict = (options.invalidation ?? "strict") === "strict"
  const cacheKey = (pipeline: string, key: string) => `${prefix}:${JSON.stringify([pipeline, key])}`

  const redisCall = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (cause) => cause })

  const get = <V>(target: Target<V>, keys: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const unique = Array.from(new Set(keys))
      if (unique.length === 0) return new Map<string, V>() as ReadonlyMap<string, V>
      const cacheKeys = unique.map((k) => cacheKey(target.name, k))
      const cached = yield* Effect.result(redisCall(() => redis.mget(...cacheKeys)))
      if (cached._tag === "Failure") {
        yield* Metric.update(failures, 1)
        yield* Effect.logDebug("cache read failed; reading the store", cached.failure)
        return yield* inner.get(target, unique)
      }
      const out = new Map<string, V>()
      const missed: Array<number> = []
      cached.success.forEach((text, i) => {
        if (text !== null && text.startsWith(VALUE)) {
          try {
            out.set(unique[i]!, ValueCodec.decode(text.slice(VALUE.length)))
            return
          } catch {
            // unreadable (another version's encoding?): read the store
          }
        }
        missed.push(i)
      })
      yield* Metric.update(hits, out.size)
      if (missed.length === 0) return out as ReadonlyMap<string, V>
      yield* Metric.update(misses, missed.length)
      // leases for the misses nobody else is filling
      const lease = `${LEASE}${randomUUID()}`
      const leased = yield* redisCall(() => {
        const p = redis.pipeline()
        for (const i of missed) p.set(cacheKeys[i]!, lease, "PX", leaseMs, "NX")
        return p.exec()
      }).pipe(
        Effect.map((results) => missed.filter((_, j) => results?.[j]?.[0] === null && results[j]?.[1] === "OK")),
        Effect.catch(() => Metric.update(failures, 1).pipe(Effect.as([] as Array<number>)))
      )
      const stored = yield* inner.get(target, missed.map((i) => unique[i]!))
      for (const [k, v] of stored) out.set(k, v)
      if (leased.length > 0) {
        yield* redisCall(() => {
          const p = redis.pipeline()
          for (const i of leased) {
            const value = stored.get(unique[i]!)
            let text = ""
            if (value !== undefined) {
              try {
                text = VALUE + ValueCodec.encode(value)
              } catch {
                text = ""
              }
            }
            p.eval(FILL, 1, cacheKeys[i]!, lease, text, String(ttlMs))
          }
          return p.exec()
        }).pipe(Effect.catch(() => Metric.update(failures, 1)))
      }
      return out as ReadonlyMap<string, V>
    })

  const remove = (pipeline: string, keys: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const cacheKeys = Array.from(new Set(keys), (k) => cacheKey(pipeline, k))
      for (let i = 0; i < cacheKeys.length; i += DEL_CHUNK) {
        const chunk = cacheKeys.slice(i, i + DEL_CHUNK)
        yield* redisCall(() => redis.del(...chunk))
      }
    })

  /** Replaces the cached values of `keys` by write marks, before a transaction writes them. */
  const mark = (pipeline: string, keys: ReadonlyArray<string>) =>
    redisCall(() => {
      const p = redis.pipeline()
      for (const k of new Set(keys)) p.set(cacheKey(pipeline, k), WRITING, "PX", ttlMs)
      return p.exec()
    }).pipe(Effect.flatMap((results) => {
      const failed = results === null ? "no reply" : results.find(([error]) => error !== null)?.[0]
      return failed === undefined ? Effect.void : Effect.fail(failed)
    }))

  const failing = (pipeline: string, keys: ReadonlyArray<string>, effect: Effect.Effect<void, unknown>, when: string) =>
    effect.pipe(
      Effect.catch((cause) =>
        Metric.update(failures, 1).pipe(Effect.andThen(
          strict
            ? Effect.fail(new StoreError({
              store: "cache",
              operation: "aggregates.apply",
              retryable: true,
              detail: `${when}, ${keys.length} cached keys of ${pipeline} could not be invalidated; the batch will be retried`,
              cause
            }))
            : Effect.logWarning(`cache invalidation of ${keys.length} keys failed; cached values may be stale for up to ${ttlMs} ms`, cause)
        ))
      )
    )

  const invalidate = (pipeline: string, keys: ReadonlyArray<string>) =>
    failing(pipeline, keys, remove(pipeline, keys), "the batch was applied to the store, but")

  return {
    apply: (target, updates) =>
      Effect.gen(function*() {
        const keys = updates.map((u) => u.key)
        const afterCommit = yield* AfterCommit
        // in a transaction, other readers see the write only once it commits: mark the keys first
        if (afterCommit !== undefined) yield* failing(target.name, keys, mark(target.name, keys), "before the batch was written")
        // a failed apply may have written some keys: drop them too (best effort; the fold retries
        // the batch, and its successful apply invalidates again)
        const stats = yield* inner.apply(target, updates).pipe(
          Effect.onError(() => Effect.ignore(remove(target.name, keys)))
        )
        if (afterCommit !== undefined) afterCommit.push(invalidate(target.name, keys))
        else yield* invalidate(target.name, keys)
        return stats
      }),
    get,
    all: (target) => inner.all(target),
    itemLimit: inner.itemLimit
  }
}

/**
 * The store's transactions, with the invalidations of the cached applies made inside one sent
 * once it has committed (see the module doc). A transaction inside another is part of it.
 *
 * @category constructors
 * @since 0.2.0
 */
export const transactions = (inner: Context.Service.Shape<typeof Transactions>): Context.Service.Shape<typeof Transactions> => ({
  withTransaction: (effect) =>
    Effect.gen(function*() {
      if ((yield* AfterCommit) !== undefined) return yield* inner.withTransaction(effect)
      const afterCommit: Array<Effect.Effect<void, StoreError>> = []
      const result = yield* inner.withTransaction(Effect.provideService(effect, AfterCommit, afterCommit))
      for (const invalidation of afterCommit) yield* invalidation
      return result
    })
})

/**
 * Removes every cached value (and fill lease) of `pipeline`: run it right after a rebuilt
 * generation is swapped in (`Rebootstrap.run`), so that readers through the cache move to the new
 * aggregates at once rather than key by key as the TTL runs out (a fill that raced the flush is
 * dropped, as one that raced a write). Returns the number of keys removed. `prefix` is the
 * cache's (default `"ems"`).
 *
 * @category maintenance
 * @since 0.2.0
 */
export const flush = (pipeline: string, options: { readonly prefix?: string | undefined } = {}) =>
  Effect.gen(function*() {
    const redis = yield* RedisClient
    // the cache keys of the pipeline start with `<prefix>:["<pipeline>",`; glob characters escaped
    const head = `${options.prefix ?? "ems"}:${JSON.stringify([pipeline]).slice(0, -1)},`
    const pattern = `${head.replace(/[\\*?[\]]/g, (c) => `\\${c}`)}*`
    let cursor = "0"
    let removed = 0
    do {
      const [next, keys] = yield* Effect.tryPromise({
        try: () => redis.scan(cursor, "MATCH", pattern, "COUNT", 1000),
        catch: (cause) => new StoreError({ store: "cache", operation: "flush", retryable: true, cause })
      })
      cursor = next
      const mine = keys.filter((k) => k.startsWith(head))
      for (let i = 0; i < mine.length; i += DEL_CHUNK) {
        const chunk = mine.slice(i, i + DEL_CHUNK)
        removed += yield* Effect.tryPromise({
          try: () => redis.del(...chunk),
          catch: (cause) => new StoreError({ store: "cache", operation: "flush", retryable: true, cause })
        })
      }
    } while (cursor !== "0")
    return removed
  })

/**
 * A connection for `settings`, closed when the scope ends. Opening waits up to
 * `connectTimeoutMs` for the server and then goes on without it: while it is unreachable, cache
 * commands fail at once (no offline queue), reads use the store, and the client keeps
 * reconnecting in the background.
 *
 * @category constructors
 * @since 0.1.0
 */
export const connect = (settings: ConnectionSettings) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const redis = new Redis(Redacted.value(settings.url), {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: settings.commandTimeoutMs ?? 1_000,
        retryStrategy: (times) => Math.min(times * 200, 2_000)
      })
      // errors surface on the commands; keep the client from reporting them as unhandled
      redis.on("error", () => undefined)
      redis.connect().catch(() => undefined)
      yield* Effect.callback<void>((resume) => {
        const done = () => {
          clearTimeout(timer)
          redis.off("ready", done)
          resume(Effect.void)
        }
        const timer = setTimeout(done, settings.connectTimeoutMs ?? 2_000)
        redis.once("ready", done)
        return Effect.sync(() => {
          clearTimeout(timer)
          redis.off("ready", done)
        })
      })
      if (redis.status !== "ready") yield* Effect.logWarning("the cache server is not reachable yet; reads use the store meanwhile")
      return redis
    }),
    (redis) => Effect.sync(() => redis.disconnect())
  )

/**
 * The connection service for `settings`.
 *
 * @category layers
 * @since 0.1.0
 */
export const redisLayer = (settings: ConnectionSettings): Layer.Layer<RedisClient> => Layer.effect(RedisClient, connect(settings))

/**
 * The connection service from the environment: `REDIS_URL` (default `redis://127.0.0.1:6379`).
 *
 * @category layers
 * @since 0.1.0
 */
export const redisLayerConfig: Layer.Layer<RedisClient, Config.ConfigError> = Layer.unwrap(
  Effect.map(
    Config.option(Config.Redacted("REDIS_URL")),
    (url) => redisLayer({ url: Option.getOrElse(url, () => Redacted.make("redis://127.0.0.1:6379")) })
  )
)

/**
 * The cached `Aggregates` over the `Aggregates` and `RedisClient` services it is given, and, when
 * the store has `Transactions`, those transactions wrapped (see {@link transactions}).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<Aggregates, never, Aggregates | RedisClient> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const inner = yield* Aggregates
      const redis = yield* RedisClient
      const cached = Context.make(Aggregates, make(redis, inner, options))
      const tx = yield* Effect.serviceOption(Transactions)
      return tx._tag === "Some" ? Context.add(cached, Transactions, transactions(tx.value)) : cached
    })
  ) as Layer.Layer<Aggregates, never, Aggregates | RedisClient>

/**
 * A store layer whose `Aggregates` is cached; its other services pass through.
 *
 * ```ts
 * Cache.decorate(DynamoDbStore.layerConfig(), { ttl: "1 minute" }).pipe(Layer.provide(Cache.redisLayerConfig))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const decorate = <ROut, E, RIn>(
  base: Layer.Layer<ROut | Aggregates, E, RIn>,
  options: Options = {}
): Layer.Layer<ROut | Aggregates, E, RIn | RedisClient> => layer(options).pipe(Layer.provideMerge(base))

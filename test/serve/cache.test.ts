/**
 * The query server reading through the Valkey/Redis cache (`AggregateCache.decorate` over a memory
 * store), against the test server: the first read of a key fills the cache, the second is a hit,
 * both answer the folded value, and a fold that changes the key invalidates it so the server
 * answers the new value. The suite uses database 9 and a prefix of its own.
 */
import { beforeAll, describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Cache from "../../src/Redis/AggregateCache.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import * as MemoryStore from "../../src/Store/Memory.ts"
import { redisUrl, requireService, uniqueName } from "../support/services.ts"
import * as Prometheus from "./prometheus.ts"
import { call, orders, pipelines, server } from "./support.ts"

beforeAll(async () => {
  await requireService("redis")
})

const url = (): string => {
  const u = new URL(redisUrl())
  u.pathname = "/9"
  return u.toString()
}

const state = MemoryStore.makeState()
const prefix = uniqueName("serve")
const cached = Layer.unwrap(Effect.sync(() =>
  Cache.decorate(MemoryStore.layer(state), { prefix, ttl: "1 minute" }).pipe(
    Layer.provide(Cache.redisLayer({ url: Redacted.make(url()) }))
  )
))

/** The cache's hit counter, as `/metrics` shows it. */
const hitCount = Effect.map(call("/metrics"), (reply) => Prometheus.valueOf(Prometheus.parse(reply.text), "monoid_cache_hits") ?? 0)

describe("QueryServer through AggregateCache", () => {
  layer(server(cached, {}), { timeout: 30_000, excludeTestServices: true })("a memory store cached in Valkey/Redis", (it) => {
    it.effect("reads fill the cache, then hit it; a fold invalidates what it changes", () =>
      Effect.gen(function*() {
        const expected = orders.filter((o) => o.customer === "c5").reduce((sum, o) => sum + o.amount, 0)
        const first = yield* call("/v1/pipelines/totals/keys/c5")
        expect(first.json).toMatchObject({ found: true, value: expected })
        const before = yield* hitCount
        const second = yield* call("/v1/pipelines/totals/keys/c5")
        expect(second.json).toMatchObject({ found: true, value: expected })
        expect(yield* hitCount).toBe(before + 1)

        // a new order of c5, folded through the cached store: its key is invalidated
        yield* Source.fromIterable("more_orders", [{ ...orders[5]!, id: "extra", amount: 1 }], { id: (o) => o.id }).pipe(
          Fold.run(pipelines),
          Effect.provide(cached)
        )
        const third = yield* call("/v1/pipelines/totals/keys/c5")
        expect(third.json).toMatchObject({ found: true, value: expected + 1 })
      }))

    it.effect("window reads go through the cache too", () =>
      Effect.gen(function*() {
        const expected = orders.filter((o) => o.customer === "c4").reduce((sum, o) => sum + o.amount, 0)
        const first = yield* call("/v1/pipelines/per_day/keys/c4/last?n=1")
        expect(first.json).toMatchObject({ found: true, value: expected })
        const before = yield* hitCount
        const second = yield* call("/v1/pipelines/per_day/keys/c4/last?n=1")
        expect(second.json).toMatchObject({ found: true, value: expected })
        expect(yield* hitCount).toBe(before + 1)
      }))
  })
})

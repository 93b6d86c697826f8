/**
 * The orderstats binaries' cache prefix: one per store, so that two deployments sharing a
 * Valkey/Redis server (staging and production, two collections) never read each other's cached
 * totals. Before, every deployment used the library's default prefix: `totals.js cust-000` of one
 * answered the other's value.
 */
import { ConfigProvider, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import * as Memory from "../../src/Store/Memory.ts"
import * as LiveSource from "../../examples/orderstats/liveSource.ts"
import { pipelines } from "../../examples/orderstats/pipeline.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Source from "../../src/Source.ts"
import * as Tables from "../../src/DynamoDb/DynamoDbTables.ts"
import * as Stores from "../../examples/orderstats/stores.ts"

const embedded = (path: string) => ({ _tag: "Embedded" as const, path, cacheMiB: 64 })
const dynamodb = (base: string, endpoint?: string) => ({ _tag: "DynamoDb" as const, endpoint, tables: Tables.fromBase(base), createTables: false })

describe("the orderstats cache prefix", () => {
  it("differs between stores and is the same for one store, however its path is written", () => {
    const prefixes = [
      Stores.cachePrefix(embedded("/srv/a/orderstats.sqlite")),
      Stores.cachePrefix(embedded("/srv/b/orderstats.sqlite")),
      Stores.cachePrefix(dynamodb("orders_prod")),
      Stores.cachePrefix(dynamodb("orders_staging")),
      Stores.cachePrefix(dynamodb("orders_prod", "http://127.0.0.1:8000"))
    ]
    expect(new Set(prefixes).size).toBe(prefixes.length)
    expect(Stores.cachePrefix(embedded("/srv/a/../a/orderstats.sqlite"))).toBe(prefixes[0])
    expect(Stores.cachePrefix(dynamodb("orders_prod"))).toBe(prefixes[2])
  })
})

/** Every orderstats pipeline bootstrapped (from no documents). */
const bootstrapped = Orchestrator.bootstrap({
  pipelines,
  handoff: Handoff.at([1, 0]),
  bootstrap: () => Source.fromIterable("none", [] as ReadonlyArray<{ readonly _id: string }>, { id: (d) => d._id })
})

describe("the live source recorded in the store", () => {
  const run = <A, E>(state: Memory.State, effect: Effect.Effect<A, E, any>) =>
    Effect.runPromiseExit(effect.pipe(Effect.provide(Memory.layer(state))) as Effect.Effect<A, E>)

  it("is claimed by the first live run, and a worker of the other source is refused", async () => {
    const state = Memory.makeState()
    // before the bootstrap has finished nothing is recorded (the live run refuses to start then)
    expect(Exit.isSuccess(await run(state, LiveSource.claim("changestream")))).toBe(true)
    expect(Exit.isSuccess(await run(state, LiveSource.recorded.pipe(Effect.map((r) => expect(r).toBeUndefined()))))).toBe(true)
    await run(state, bootstrapped)
    expect(Exit.isSuccess(await run(state, LiveSource.claim("kafka")))).toBe(true)
    expect(Exit.isSuccess(await run(state, LiveSource.claim("kafka")))).toBe(true)
    const other = await run(state, LiveSource.claim("changestream"))
    expect(Exit.isFailure(other) && JSON.stringify(other.cause)).toContain("bootstrap into a new store")
  })

  it("makes the commands that fold at cluster times refuse a store the Kafka worker folds, whatever LIVE_SOURCE says", async () => {
    const state = Memory.makeState()
    await run(state, bootstrapped)
    const refuse = LiveSource.requireChangeStream("dead-letters replay", "instead")
    const changeStream = ConfigProvider.layer(ConfigProvider.fromUnknown({ LIVE_SOURCE: "changestream" }))
    expect(Exit.isSuccess(await run(state, refuse.pipe(Effect.provide(changeStream))))).toBe(true)
    await run(state, LiveSource.claim("kafka"))
    const refused = await run(state, refuse.pipe(Effect.provide(changeStream)))
    expect(Exit.isFailure(refused) && JSON.stringify(refused.cause)).toContain("recorded in the store")
  })
})

/**
 * `Rebootstrap.run` under a concurrent writer, on the memory and embedded stores: a live worker
 * folds a MongoDB change stream into generation 0 while a rebuild fills generation 1 beside it
 * (first interrupted midway, then run again), swaps it in and drops the old one. A reader polls
 * the aggregates all along and checks every answer: the writer only moves amounts between
 * customers, so every complete state sums to the seeded total, and a half-built or mixed state
 * does not. A second reader looks at the generation being built, to show that the check does see
 * partial states when it is given one. DynamoDB writes a batch key by key, so there the check allows one batch of slack. At the end the live worker (now on generation 1) has folded
 * everything, and the store equals a group-by-sum over the final documents.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, ManagedRuntime, Option } from "effect"
import type { Document, MongoClient } from "mongodb"
import { ordersPerCustomer, orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as MongoCollection from "../../src/MongoDb/MongoCollection.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Rebootstrap from "../../src/Runtime/Rebootstrap.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { Generations, isMoved } from "../../src/Store/Generations.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import { dynamoDbSuite } from "../dynamodb/support.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { connectClient, groupByCount, groupBySum, nonZero, orderSpec, quiet, sleep } from "../mongo/support.ts"
import { eventually, seedOrders, startReader, startWriter, sumOf, totals } from "./support.ts"

let client: MongoClient
let dir = ""
/** Tables made on demand (the memory and embedded cases need no DynamoDB), dropped at the end. */
const ddb = dynamoDbSuite("dynamodb", { onDemand: true })

beforeAll(async () => {
  await requireService("mongo")
  client = await connectClient()
  dir = mkdtempSync(join(tmpdir(), "rebootstrap-"))
})
afterAll(async () => {
  await client?.close()
  rmSync(dir, { recursive: true, force: true })
})

type StoreLayer = Layer.Layer<any, any>

/**
 * The stores: a factory of store layers over one shared state (each actor builds its own, as one
 * process would), whether the worker folds a second pipeline from the same change stream (the
 * other keeps its position, so the swap must wait until the rebuild has what the worker
 * committed), and the slack of the sum check: DynamoDB writes a batch key by key and `all` is a
 * scan, so even without any rebuild a reader can see a batch's moves half applied (at most one
 * batch of 50 moves of at most 100 000 each); a partial generation misses far more.
 */
type Case = readonly [name: string, make: () => Promise<() => StoreLayer>, twoPipelines: boolean, slack: number]

const memory = async () => {
  const state = Memory.makeState()
  return () => Memory.layer(state)
}
const embedded = async () => {
  const path = join(dir, `${uniqueName("store")}.sqlite`)
  return () => Embedded.layer({ path, durability: "normal" })
}
const dynamodb = async () => {
  const tables = await ddb.tables("rb")
  return () => DynamoDbStore.layerFrom(ddb.client(), tables)
}
const stores: ReadonlyArray<Case> = [
  ["memory", memory, false, 0],
  ["embedded", embedded, false, 0],
  ["memory (two pipelines)", memory, true, 0],
  ["embedded (two pipelines)", embedded, true, 0],
  ["dynamodb", dynamodb, false, 50 * 100_000],
  ["dynamodb (two pipelines)", dynamodb, true, 50 * 100_000]
]

describe.each(stores)("rebootstrap on the %s store", (_name, makeStore, twoPipelines, slack) => {
  it("swaps in a rebuilt generation under a concurrent writer; readers only ever see complete states", async () => {
    const ns = { db: uniqueName("rebootstrap"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    const { ids, sum } = await seedOrders(orders, 3000, 5)
    const storeLayer = await makeStore()
    // one runtime (one store layer, as one process would have) per actor
    const runtime = () => ManagedRuntime.make(Layer.mergeAll(storeLayer(), Mongo.layerClient(client), quiet))
    const worker = runtime()
    const rebuilder = runtime()
    const readerRt = runtime()
    const controlRt = runtime()
    const spec = twoPipelines
      ? MongoCollection.spec([orderTotals, ordersPerCustomer], { ...ns, batchSize: 50 })
      : orderSpec(ns, { batchSize: 50 })

    await worker.runPromise(Orchestrator.bootstrap(spec))
    let restarts = 0
    const live = worker.runFork(
      Rebootstrap.following(Orchestrator.live(spec).pipe(Effect.tapError((e) => Effect.sync(() => isMoved(e) && restarts++))))
    )
    const writer = startWriter(orders, ids, 9)
    const reader = startReader(readerRt, sum, slack)
    await sleep(300)
    // a reader of the pipeline's bootstrap state (as a status page is) follows the pointer too
    const stateBefore = await readerRt.runPromise(Orchestrator.state(orderTotals.name))

    // the control reader: what a reader of the generation being built would see
    let partialSeen = 0
    let controlRunning = true
    const control = (async () => {
      while (controlRunning) {
        const seen = await controlRt.runPromise(Effect.gen(function*() {
          const generations = yield* Generations
          const status = yield* generations.status(orderTotals.name)
          if (status.building === undefined) return undefined
          const ctx = generations.services(orderTotals.name, status.building)
          return yield* Aggregates.use((a) => a.all(orderTotals)).pipe(Effect.provide(ctx))
        }))
        if (seen !== undefined && seen.size > 0 && Math.abs(sumOf(seen) - sum) > slack) partialSeen++
        await sleep(2)
      }
    })()

    // a rebuild that crashes midway (interrupted once the control reader has seen its partial state)
    const crashed = rebuilder.runFork(Rebootstrap.run(spec, orderTotals.name, { idle: "1 second" }))
    await eventually(async () => partialSeen, (n) => n > 0, 20_000)
    await rebuilder.runPromise(Fiber.interrupt(crashed))
    const afterCrash = await rebuilder.runPromise(Rebootstrap.status(orderTotals.name))
    expect(afterCrash).toEqual({ pipeline: orderTotals.name, current: 0, building: 1 })
    const readsBeforeRerun = reader.reads()
    await sleep(200)

    // run again: it resumes generation 1, catches up, swaps and drops generation 0
    const result = await rebuilder.runPromise(Rebootstrap.run(spec, orderTotals.name, { idle: "1 second" }))
    const readsAtSwap = reader.reads()
    expect(result.from).toBe(0)
    expect(result.to).toBe(1)
    expect(await rebuilder.runPromise(Rebootstrap.status(orderTotals.name))).toEqual({ pipeline: orderTotals.name, current: 1, building: undefined })

    const stateAfter = await readerRt.runPromise(Orchestrator.state(orderTotals.name))
    expect(Option.getOrUndefined(stateAfter)?.handoff).toEqual(result.handoff)
    expect(Option.getOrUndefined(stateBefore)?.handoff.version).not.toEqual(result.handoff.version)

    // the live worker goes on (on generation 1) while the writer keeps writing
    await sleep(1500)
    const changes = await writer.stop()
    const reference = await groupBySum(orders)
    const final = await eventually(() => totals(readerRt), (t) => JSON.stringify(t) === JSON.stringify(reference.totals), 60_000)
    const readsAtEnd = reader.reads()
    // the second pipeline's writes of a batch follow the first's: it is waited for the same way
    const countReference = twoPipelines ? (await groupByCount(orders)).perCustomer : undefined
    const perCustomer = twoPipelines
      ? await eventually(
        () => readerRt.runPromise(Aggregates.use((a) => a.all(ordersPerCustomer))).then((m) => nonZero(m as ReadonlyMap<string, number>)),
        (t) => JSON.stringify(t) === JSON.stringify(countReference),
        60_000
      )
      : undefined
    controlRunning = false
    await control
    await reader.stop()
    const oldGeneration = await rebuilder.runPromise(Effect.gen(function*() {
      const generations = yield* Generations
      return yield* Aggregates.use((a) => a.all(orderTotals)).pipe(Effect.provide(generations.services(orderTotals.name, 0)))
    }))
    const liveExit = live.pollUnsafe()
    await worker.runPromise(Fiber.interrupt(live))
    await Promise.all([worker, rebuilder, readerRt, controlRt].map((rt) => rt.dispose()))

    console.log(
      `${_name}: 3000 orders, ${changes} changes; rebuild ${result.bootstrap?.records ?? "resumed"} scanned, ` +
        `${result.catchUp?.records} caught up; reader ${readsBeforeRerun} reads before the rerun, ${readsAtSwap} at the swap, ` +
        `${readsAtEnd} in all, ${reader.bad.length} bad; control reader saw ${partialSeen} partial states; ` +
        `live worker restarted ${restarts} time(s)`
    )
    expect(reader.bad).toEqual([])
    expect(partialSeen).toBeGreaterThan(0)
    expect(readsAtSwap).toBeGreaterThan(readsBeforeRerun)
    expect(readsAtEnd).toBeGreaterThan(readsAtSwap)
    expect(changes).toBeGreaterThan(100)
    expect(restarts).toBeGreaterThanOrEqual(1)
    expect(liveExit).toBeUndefined()
    expect(final).toEqual(reference.totals)
    expect(oldGeneration.size).toBe(0)
    if (twoPipelines) expect(perCustomer).toEqual(countReference)
  }, 120_000)
})

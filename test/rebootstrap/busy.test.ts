/**
 * `Rebootstrap.run` against a live worker that never stops moving: writers change orders with no
 * pause (four; two on DynamoDB, which keep its worker as busy), so by the time a catch-up to the
 * head it saw has ended, the live worker has folded newer changes and a plain swap is refused.
 * With two swaps allowed (four on DynamoDB), the rebuild must seal the live generation for the
 * later ones (`Generations.seal`), catch up to where it stopped and swap. Before the seal existed
 * the rebuild chased the live worker and failed with `GenerationBehind` (5 runs in 6 here). At the
 * end the live worker (on the new generation) has folded everything, and the totals equal a
 * group-by-sum over the final documents.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, ManagedRuntime } from "effect"
import type { Document, MongoClient } from "mongodb"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Rebootstrap from "../../src/Runtime/Rebootstrap.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { isMoved } from "../../src/Store/Generations.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { dynamoDbSuite } from "../dynamodb/support.ts"
import { connectClient, groupBySum, orderSpec, quiet, sleep } from "../mongo/support.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { eventually, seedOrders, startWriter, totals } from "./support.ts"

let client: MongoClient
let dir = ""
/** Tables made on demand (the memory and embedded cases need no DynamoDB), dropped at the end. */
const ddb = dynamoDbSuite("dynamodb", { onDemand: true })

beforeAll(async () => {
  await requireService("mongo")
  client = await connectClient()
  dir = mkdtempSync(join(tmpdir(), "busy-"))
})
afterAll(async () => {
  await client?.close()
  rmSync(dir, { recursive: true, force: true })
})

type Case = readonly [name: string, make: () => Promise<() => Layer.Layer<any, any>>, attempts: number, writers: number]
const cases: ReadonlyArray<Case> = [
  ["memory", async () => {
    const state = Memory.makeState()
    return () => Memory.layer(state)
  }, 2, 4],
  ["embedded", async () => {
    const path = join(dir, `${uniqueName("busy")}.sqlite`)
    return () => Embedded.layer({ path, durability: "normal" })
  }, 2, 4],
  // DynamoDB fences only the live worker's commits: a batch it had under way may still write
  // ledger entries after the seal, which one more sealed catch-up takes in. Two writers are
  // enough to keep a worker on dynalite busy
  ["dynamodb", async () => {
    const tables = await ddb.tables("busy")
    return () => DynamoDbStore.layerFrom(ddb.client(), tables)
  }, 4, 2]
]

describe.each(cases)("rebootstrap on the %s store beside a worker that never pauses", (_name, makeStore, attempts, writerCount) => {
  it("seals the live generation to catch up to it, swaps, and stays exact", async () => {
    const ns = { db: uniqueName("busy"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    const { ids } = await seedOrders(orders, 1000, 11)
    const storeLayer = await makeStore()
    const runtime = () => ManagedRuntime.make(Layer.mergeAll(storeLayer(), Mongo.layerClient(client), quiet))
    const worker = runtime()
    const rebuilder = runtime()
    const reader = runtime()
    const spec = orderSpec(ns, { batchSize: 20 })

    await worker.runPromise(Orchestrator.bootstrap(spec))
    let restarts = 0
    const live = worker.runFork(
      Rebootstrap.following(Orchestrator.live(spec).pipe(Effect.tapError((e) => Effect.sync(() => isMoved(e) && restarts++))))
    )
    const writers = [21, 22, 23, 24].slice(0, writerCount).map((seed) => startWriter(orders, ids, seed))
    await sleep(500)

    const result = await rebuilder.runPromise(Rebootstrap.run(spec, "order_totals", { idle: "500 millis", attempts }))
    expect(result.to).toBe(1)
    expect(await rebuilder.runPromise(Rebootstrap.status("order_totals"))).toEqual({ pipeline: "order_totals", current: 1, building: undefined })

    await sleep(500)
    const changes = (await Promise.all(writers.map((w) => w.stop()))).reduce((a, b) => a + b, 0)
    const reference = await groupBySum(orders)
    const final = await eventually(() => totals(reader), (t) => JSON.stringify(t) === JSON.stringify(reference.totals), 60_000)
    const liveExit = live.pollUnsafe()
    await worker.runPromise(Fiber.interrupt(live))
    await Promise.all([worker, rebuilder, reader].map((rt) => rt.dispose()))

    console.log(`${_name}: ${changes} changes; rebuild caught up ${result.catchUp?.records} records; live worker restarted ${restarts} time(s)`)
    expect(changes).toBeGreaterThan(200)
    expect(liveExit).toBeUndefined()
    expect(restarts).toBeGreaterThanOrEqual(1)
    expect(final).toEqual(reference.totals)
  }, 120_000)
})

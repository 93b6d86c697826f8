/**
 * The orderstats `rebootstrap` command as a process, over the embedded store the bootstrap binary
 * wrote: it swaps in generation 1 of the pipeline, whose totals equal a group-by-sum over the
 * collection; a second run (`admin.js rebootstrap`) swaps in generation 2 while the example's
 * live worker runs, and the worker folds the changes made after the swap into generation 2 and
 * stops cleanly; an unknown pipeline is refused with exit code 1 and a one-line reason. Then the
 * same over DynamoDB.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Redis } from "ioredis"
import type { Document, MongoClient } from "mongodb"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { Generations } from "../../src/Store/Generations.ts"
import { root, run } from "../support/cli.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as Tables from "../../src/DynamoDb/DynamoDbTables.ts"
import { dropTables, testClient } from "../dynamodb/support.ts"
import { ddbEndpoint, mongoUri, redisUrl, requireService, uniqueName } from "../support/services.ts"
import { connectClient, groupBySum, nonZero } from "../mongo/support.ts"
import { seedOrders } from "./support.ts"
import * as Stores from "../../examples/orderstats/stores.ts"

let client: MongoClient
let dir = ""

beforeAll(async () => {
  await requireService("mongo")
  await requireService("dynamodb")
  await requireService("redis")
  client = await connectClient()
  dir = mkdtempSync(join(tmpdir(), "rebootstrap-cli-"))
})
afterAll(async () => {
  await client?.close()
  rmSync(dir, { recursive: true, force: true })
})

const script = (name: string) => join(root, "examples", "orderstats", name)

describe("rebootstrap command", () => {
  it("swaps in a rebuilt generation of the pipeline (embedded, then DynamoDB); refuses an unknown pipeline", async () => {
    const db = uniqueName("rbcli")
    const orders = client.db(db).collection<Document>("orders")
    await seedOrders(orders, 800, 3)
    const env = { MONGO_URI: mongoUri(), MONGO_DB: db, MONGO_COLLECTION: "orders", STORE: "embedded", STATE_DIR: dir, LOG_LEVEL: "Warn", REDIS_URL: "" }
    const boot = await run(script("bootstrap.ts"), ["--json"], { env, killAfterMs: 30_000 })
    expect(boot.code, boot.stderr).toBe(0)

    const first = await run(script("rebootstrapMain.ts"), ["order_totals", "--json", "--idle-ms", "300"], { env, killAfterMs: 30_000 })
    expect(first.code, first.stderr).toBe(0)
    const printed = JSON.parse(first.stdout)
    expect(printed).toMatchObject({ pipeline: "order_totals", from: 0, to: 1, scanned: 800 })

    // the example's live worker runs through the second rebuild (admin.js): it moves to generation
    // 2 at the swap and folds what changes after it there
    const worker = spawn(process.execPath, [script("worker.ts")], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] })
    let workerErr = ""
    worker.stderr.on("data", (d) => (workerErr += d))
    const exited = new Promise<number | null>((resolve) => worker.on("close", (code) => resolve(code)))
    try {
      await orders.updateOne({ _id: "o-000001" as any }, { $set: { customer_id: "cust-moved" } })
      // with the cache configured, the swap drops the pipeline's cached values (a stale one is planted here)
      const redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 })
      await redis.connect()
      // the binaries cache under their store's own prefix (another store's keys are left alone)
      const prefix = Stores.cachePrefix({ _tag: "Embedded", path: join(dir, "orderstats.sqlite"), cacheMiB: 64 })
      const planted = `${prefix}:${JSON.stringify(["order_totals", "cust-00"])}`
      const kept = `${prefix}:${JSON.stringify(["orders_per_status", "paid"])}`
      const otherStore = `ems:${JSON.stringify(["order_totals", "cust-00"])}`
      await redis.set(otherStore, "v1", "PX", 60_000)
      await redis.set(planted, "v1", "PX", 60_000)
      await redis.set(kept, "v1", "PX", 60_000)
      const second = await run(script("admin.ts"), ["rebootstrap", "order_totals", "--idle-ms", "300"], {
        env: { ...env, REDIS_URL: redisUrl() },
        killAfterMs: 30_000
      })
      expect(second.code, second.stderr).toBe(0)
      expect(await redis.exists(planted)).toBe(0)
      expect(await redis.exists(kept)).toBe(1)
      expect(await redis.exists(otherStore)).toBe(1)
      await redis.del(kept, otherStore)
      await redis.quit()
      expect(second.stdout).toMatch(/^rebootstrap of order_totals: generation 2 is live \(generation 1 dropped\); 800 documents scanned/)
      await orders.updateOne({ _id: "o-000002" as any }, { $set: { customer_id: "cust-after-swap" } })
      await orders.deleteOne({ _id: "o-000003" as any })
      const expected = (await groupBySum(orders)).totals
      const deadline = Date.now() + 20_000
      let seen: Record<string, number> = {}
      while (Date.now() < deadline) {
        seen = await Effect.runPromise(Effect.gen(function*() {
          return nonZero((yield* (yield* Aggregates).all(orderTotals)) as ReadonlyMap<string, number>)
        }).pipe(Effect.provide(Embedded.layer({ path: join(dir, "orderstats.sqlite") }))))
        if (Object.keys(expected).length === Object.keys(seen).length && Object.entries(expected).every(([k, v]) => seen[k] === v)) break
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      expect(seen).toEqual(expected)
      expect(seen["cust-after-swap"]).toBeGreaterThan(0)
    } finally {
      worker.kill("SIGTERM")
    }
    expect(await exited, workerErr).toBe(0)

    const store = Embedded.layer({ path: join(dir, "orderstats.sqlite") })
    const { totals, status } = await Effect.runPromise(Effect.gen(function*() {
      const all = yield* (yield* Aggregates).all(orderTotals)
      return { totals: nonZero(all as ReadonlyMap<string, number>), status: yield* (yield* Generations).status(orderTotals.name) }
    }).pipe(Effect.provide(store)))
    expect(status).toEqual({ pipeline: "order_totals", current: 2, building: undefined })
    expect(totals).toEqual((await groupBySum(orders)).totals)
    expect(totals["cust-moved"]).toBeGreaterThan(0)

    const unknown = await run(script("rebootstrapMain.ts"), ["no_such_pipeline"], { env, killAfterMs: 30_000 })
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("no pipeline no_such_pipeline")
    // a Kafka worker orders records by offset: a catch-up at cluster times would freeze documents
    const kafkaWorker = await run(script("rebootstrapMain.ts"), ["order_totals"], { env: { ...env, LIVE_SOURCE: "kafka" }, killAfterMs: 30_000 })
    expect(kafkaWorker.code).not.toBe(0)
    expect(kafkaWorker.stderr).toContain("rebootstrap cannot run on a store the Kafka worker folds (LIVE_SOURCE=kafka)")

    // the same on DynamoDB (the bootstrap binary creates the tables)
    const table = uniqueName("rbcli")
    const ddbEnv = { ...env, STORE: "dynamodb", DDB_ENDPOINT: ddbEndpoint(), DDB_TABLE: table }
    const ddbBoot = await run(script("bootstrap.ts"), ["--json"], { env: ddbEnv, killAfterMs: 60_000 })
    expect(ddbBoot.code, ddbBoot.stderr).toBe(0)
    const ddbRun = await run(script("rebootstrapMain.ts"), ["order_totals", "--json", "--idle-ms", "300"], { env: ddbEnv, killAfterMs: 60_000 })
    expect(ddbRun.code, ddbRun.stderr).toBe(0)
    // 799: one order was deleted while the worker ran above
    expect(JSON.parse(ddbRun.stdout)).toMatchObject({ pipeline: "order_totals", from: 0, to: 1, scanned: 799 })
    const ddb = testClient()
    try {
      const onDynamo = await Effect.runPromise(Effect.gen(function*() {
        const all = yield* (yield* Aggregates).all(orderTotals)
        return { totals: nonZero(all as ReadonlyMap<string, number>), status: yield* (yield* Generations).status(orderTotals.name) }
      }).pipe(Effect.provide(DynamoDbStore.layerFrom(ddb, Tables.fromBase(table)))))
      expect(onDynamo.status).toEqual({ pipeline: "order_totals", current: 1, building: undefined })
      expect(onDynamo.totals).toEqual((await groupBySum(orders)).totals)
    } finally {
      // dynalite's DeleteTable reads every key it holds: leave it small for the suites after this one
      await dropTables(ddb, Tables.fromBase(table))
      ddb.destroy()
    }
  }, 120_000)
})

/**
 * The fold's central property on the DynamoDB stores (dynalite): for generated histories (inserts,
 * amount updates, customer moves, deletes, re-inserts, redeliveries, out-of-date records,
 * tombstones, malformed records), random batch boundaries, random partition counts and simulated
 * crashes before, after or half-way through any store call (restarts over the same tables), the
 * aggregates of the example's three pipelines, folded from one source in one pass, read back from
 * DynamoDB equal plain group-bys over the final documents, and exactly the malformed records are
 * dead-lettered; ledger-free events pipelines over generated event logs write no ledger item and
 * stay exact. The random histories go through the default transport (DynamoDB's JSON protocol over
 * Node's HTTP agent), the larger ones through the SDK client. The same property also runs, fewer times, on moto (another
 * implementation of the DynamoDB API, with other gaps than dynalite's).
 */
import { ScanCommand } from "@aws-sdk/client-dynamodb"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { ordersPerCustomer, ordersPerStatus, orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import { foldHistory } from "../support/foldHarness.ts"
import * as DebeziumHistory from "../support/debeziumHistory.ts"
import { expectExact, foldEvents, generateEvents } from "../support/events.ts"
import { deadLetterProblems, exactProblems, generate, nonZero, reference } from "../support/history.ts"
import { dynamoDbSuite } from "./support.ts"

/** The example's three pipelines, folded from one source in one pass. */
const three = [orderTotals, ordersPerStatus, ordersPerCustomer]

const params = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  partitions: fc.integer({ min: 1, max: 4 }),
  maxChunk: fc.integer({ min: 1, max: 40 }),
  crashes: fc.integer({ min: 0, max: 6 })
})

describe("fold over generated histories on DynamoDB", () => {
  const ddb = dynamoDbSuite()

  it("exact totals and dead letters under random batching, partitions and crashes", async () => {
    const started = Date.now()
    let runs = 0
    let restarts = 0
    let calls = 0
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        const history = generate(p.seed, { docs: 15, ops: 60 })
        const tables = await ddb.tables("fold")
        // the default transport (the JSON protocol over Node's HTTP agent); the larger histories below go through the SDK client
        const result = await foldHistory(history, { ...p, pipelines: three, store: () => DynamoDbStore.layerFrom(ddb.http(), tables) })
        runs++
        restarts += result.restarts
        calls += result.calls
        expect(exactProblems(history, result.pipelines)).toEqual([])
        expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
        expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
        await ddb.drop(tables)
      }),
      { numRuns: 50 }
    )
    console.log(`DynamoDB fold: ${runs} runs, ${restarts} crashes/restarts, ${calls} store calls, ${Date.now() - started} ms`)
    // the crash injection really happened
    expect(restarts).toBeGreaterThan(25)
    // 50 histories against dynalite: about 30 s on a 2-core VM, so the default 60 s left too little room on a slower one
  }, 180_000)

  it("larger histories with crashes and four partitions", async () => {
    const started = Date.now()
    let restarts = 0
    for (const seed of [7, 8, 9]) {
      const history = generate(seed, { docs: 80, ops: 500, customers: 12 })
      const tables = await ddb.tables("fold-large")
      const result = await foldHistory(history, {
        seed,
        partitions: 4,
        maxChunk: 16,
        crashes: 12,
        crashWindow: 60,
        pipelines: three,
        store: () => DynamoDbStore.layerFrom(ddb.client(), tables)
      })
      restarts += result.restarts
      expect(exactProblems(history, result.pipelines)).toEqual([])
      expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
      expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
      await ddb.drop(tables)
    }
    console.log(`DynamoDB fold (large): 3 histories of 500 changes, ${restarts} restarts, ${Date.now() - started} ms`)
    expect(restarts).toBeGreaterThan(0)
  })

  it("events pipelines: no ledger item written, exact under redelivery and crashes", async () => {
    let restarts = 0
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        const log = generateEvents(p.seed, 60, p.partitions)
        const tables = await ddb.tables("fold-events")
        const result = await foldEvents(log, p, () => DynamoDbStore.layerFrom(ddb.client(), tables))
        restarts += result.restarts
        expectExact(log, result)
        const ledger = await ddb.client().send(new ScanCommand({ TableName: tables.ledger, Select: "COUNT" }))
        expect(ledger.Count).toBe(0)
        await ddb.drop(tables)
      }),
      { numRuns: 15 }
    )
    expect(restarts).toBeGreaterThan(5)
  })

  it("Debezium's change_streams capture mode with keepDocuments: patches of the fields kept in the ledger items, exact", async () => {
    const setting: DebeziumHistory.Setting = {
      version: "3.6",
      capture: "change_streams",
      schemasEnable: true,
      wallTime: false,
      transactions: true,
      mixed: false,
      bootstrap: "ours",
      keepDocuments: true
    }
    let restarts = 0
    for (const seed of [11, 12, 13, 14]) {
      const history = DebeziumHistory.generate(seed, setting)
      const tables = await ddb.tables("fold-patch")
      const result = await foldHistory(history, {
        seed,
        partitions: 2,
        maxChunk: 12,
        crashes: 4,
        pipelines: [DebeziumHistory.byRegion],
        namespace: { db: DebeziumHistory.DB, collection: DebeziumHistory.COLLECTION },
        keepDocuments: true,
        store: () => DynamoDbStore.layerFrom(ddb.client(), tables)
      })
      restarts += result.restarts
      expect(nonZero(result.totals)).toEqual(nonZero(DebeziumHistory.reference(history.final)))
      expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
      await ddb.drop(tables)
    }
    expect(restarts).toBeGreaterThan(0)
  })
})

describe("fold over generated histories on moto", () => {
  const ddb = dynamoDbSuite("dynamodb-tx")

  it("exact totals and dead letters under random batching, partitions and crashes", async () => {
    const started = Date.now()
    let restarts = 0
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        const history = generate(p.seed, { docs: 15, ops: 60 })
        const tables = await ddb.tables("fold-moto")
        const result = await foldHistory(history, { ...p, store: () => DynamoDbStore.layerFrom(ddb.client(), tables) })
        restarts += result.restarts
        expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
        expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
        await ddb.drop(tables)
      }),
      { numRuns: 5 }
    )
    console.log(`moto fold: 5 runs, ${restarts} crashes/restarts, ${Date.now() - started} ms`)
  })
})

/**
 * Faults injected inside the real SDK client (below its retry loop; the requests go to the real
 * server): a request that fails before it reaches DynamoDB, and one that DynamoDB applies but
 * whose answer is lost (the timed-out `ADD` Murmur double counts). Totals stay exact, retries stay
 * bounded, and a store that stays down fails the run with a typed, retryable `StoreError` without
 * losing anything: a later run finishes the job exactly.
 */
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, type Layer, Schedule } from "effect"
import fc from "fast-check"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import type { KeyUpdate } from "../../src/Store/Aggregates.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as DynamoAggregates from "../../src/DynamoDb/internal/aggregates.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import type { TableNames } from "../../src/DynamoDb/DynamoDbTables.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import * as ArraySource from "../support/arraySource.ts"
import type { Services } from "../support/faults.ts"
import { foldHistory } from "../support/foldHarness.ts"
import { deadLetterProblems, generate, type History, nonZero, reference } from "../support/history.ts"
import * as Rand from "../support/random.ts"
import { requireService } from "../support/services.ts"
import { dropTables, type Fault, freshTables, injectFaults, quiet, testClient } from "./support.ts"

const sum = (key: string, delta: number, partition: string, seqs: ReadonlyArray<number>, last?: number): KeyUpdate<number> => ({
  key,
  delta,
  marks: [{ partition, first: seqs[0]!, last: last ?? seqs[seqs.length - 1]! }],
  contributions: seqs.map((seq, i) => ({ partition, seq, delta: i === 0 ? delta - (seqs.length - 1) : 1 }))
})

const target = { name: "faults", monoid: orderTotals.monoid }

/** The StoreError a run failed with (test sources turn a failed commit into a defect: look there too). */
const failureOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (!Exit.isFailure(exit)) return undefined
  for (const reason of exit.cause.reasons) {
    if (reason._tag === "Fail") return reason.error
    if (reason._tag === "Die") return reason.defect
  }
  return undefined
}

describe("DynamoDB stores under injected faults", () => {
  const clients: Array<DynamoDBClient> = []
  const created: Array<readonly [DynamoDBClient, TableNames]> = []
  const client = (maxAttempts = 3) => {
    const c = testClient({ maxAttempts })
    clients.push(c)
    return c
  }
  const tablesFor = async (c: DynamoDBClient, prefix: string) => {
    const names = await freshTables(c, prefix)
    created.push([c, names])
    return names
  }

  beforeAll(async () => {
    await requireService("dynamodb")
  })

  afterAll(async () => {
    for (const [c, names] of created) await dropTables(c, names)
    for (const c of clients) c.destroy()
  })

  it("an ADD applied by DynamoDB whose answer is lost is not counted twice when the SDK retries it", async () => {
    const c = client(3)
    const tables = await tablesFor(c, "lost")
    // the first attempt of every UpdateItem reaches the server and is applied, then its answer is lost
    const faults = injectFaults(c, (command, attempt) => (command === "UpdateItemCommand" && attempt === 1 ? "after" : undefined))
    const store = DynamoAggregates.make(c, tables.aggregates)
    const stats = await Effect.runPromise(store.apply(target, [sum("c-1", 500, "p0", [1, 2, 3])]))
    expect(faults.injected.after).toBe(1)
    expect(faults.byCommand["UpdateItemCommand"]).toBe(2)
    faults.setDecide(() => undefined)
    // the SDK's retry found its own marks (condition failed), read the item, and added nothing
    expect(stats).toEqual({ written: 0, skipped: 1, partial: 0 })
    expect(await Effect.runPromise(store.get(target, ["c-1"]))).toEqual(new Map([["c-1", 500]]))

    // the next batch, and a replay of it with other boundaries: only what lies above the marks counts
    await Effect.runPromise(store.apply(target, [sum("c-1", 30, "p0", [4, 5, 6])]))
    const replay = await Effect.runPromise(store.apply(target, [sum("c-1", 12, "p0", [5, 6, 7, 8, 9])]))
    expect(replay.partial).toBe(1)
    // 500 + 30 + (contributions 7, 8, 9 of the replay: 1 each)
    expect(await Effect.runPromise(store.get(target, ["c-1"]))).toEqual(new Map([["c-1", 533]]))
  })

  it("when no retry is left, the lost answer is a retryable StoreError and the fold's retry adds nothing", async () => {
    const c = client(1)
    const tables = await tablesFor(c, "lost1")
    injectFaults(c, (command, attempt) => (command === "UpdateItemCommand" && attempt === 1 ? "after" : undefined))
    const store = DynamoAggregates.make(c, tables.aggregates)
    const exit = await Effect.runPromiseExit(store.apply(target, [sum("c-2", 700, "p0", [1])]))
    const error = failureOf(exit)
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).retryable).toBe(true)
    // it was applied nevertheless; the retry (as the fold would do) finds the mark
    const again = await Effect.runPromise(store.apply(target, [sum("c-2", 700, "p0", [1])]))
    expect(again.skipped).toBe(1)
    expect(await Effect.runPromise(store.get(target, ["c-2"]))).toEqual(new Map([["c-2", 700]]))
  })

  it("control: a plain ADD without the high-water condition double counts under the same fault", async () => {
    const c = client(3)
    const tables = await tablesFor(c, "naive")
    injectFaults(c, (command, attempt) => (command === "UpdateItemCommand" && attempt === 1 ? "after" : undefined))
    const Key = { pk: { S: "naive" }, sk: { S: "@" } }
    await c.send(new UpdateItemCommand({
      TableName: tables.aggregates,
      Key,
      UpdateExpression: "ADD #v :d",
      ExpressionAttributeNames: { "#v": "v" },
      ExpressionAttributeValues: { ":d": { N: "500" } }
    }))
    const item = await c.send(new GetItemCommand({ TableName: tables.aggregates, Key, ConsistentRead: true }))
    expect(item.Item?.["v"]?.N).toBe("1000")
  })

  it("the fold stays exact with requests failing before the server and answers lost after it", async () => {
    const started = Date.now()
    let runs = 0
    const totals = { requests: 0, attempts: 0, before: 0, after: 0, maxAttempts: 0 }
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          partitions: fc.integer({ min: 1, max: 3 }),
          maxChunk: fc.integer({ min: 1, max: 30 }),
          crashes: fc.integer({ min: 0, max: 3 })
        }),
        async (p) => {
          const c = client(3)
          const tables = await tablesFor(c, "faulty")
          const r = Rand.make(p.seed)
          const faults = injectFaults(c, (command, attempt) => {
            // The SDK's last attempt is spared for the token reads and writes the orchestrator and
            // the test sources make outside the fold's retry (a failure there ends the run with a
            // retryable StoreError: see the tests below). Aggregate writes and ledger reads may
            // fail on every attempt: the fold retries them on its schedule.
            if (attempt >= 3 && command !== "UpdateItemCommand" && command !== "BatchGetItemCommand") return undefined
            const x = r.next()
            return x < 0.12 ? "before" : x < 0.24 ? "after" : undefined
          })
          const history = generate(p.seed, { docs: 12, ops: 50 })
          const result = await foldHistory(history, { ...p, store: () => DynamoDbStore.layerFrom(c, tables) })
          faults.setDecide(() => undefined)
          expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
          expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
          // the SDK never tries one request more than its maxAttempts
          expect(faults.maxAttemptsPerRequest).toBeLessThanOrEqual(3)
          runs++
          totals.requests += faults.requests
          totals.attempts += faults.attempts
          totals.before += faults.injected.before
          totals.after += faults.injected.after
          totals.maxAttempts = Math.max(totals.maxAttempts, faults.maxAttemptsPerRequest)
        }
      ),
      { numRuns: 12 }
    )
    console.log(
      `DynamoDB faults: ${runs} runs, ${totals.requests} requests, ${totals.attempts} attempts, ` +
        `${totals.before} failed before the server, ${totals.after} answers lost after it, ` +
        `at most ${totals.maxAttempts} attempts per request, ${Date.now() - started} ms`
    )
    expect(totals.after).toBeGreaterThan(50)
    expect(totals.before).toBeGreaterThan(50)
  })

  const orchestrate = (history: History, layer: Layer.Layer<Services>, retry: Schedule.Schedule<any, unknown>, seed: number) => {
    const r = Rand.make(seed)
    return Effect.runPromiseExit(
      Orchestrator.run({
        pipelines: [orderTotals],
        handoff: Effect.sync(() => Handoff.atVersion(history.p0)),
        bootstrap: (handoff) =>
          ArraySource.snapshotScan([history.snapshot], handoff, { random: r, maxChunk: 10, staged: true, attempt: () => 0 }),
        live: (handoff) => ArraySource.changeLog(history.log, { partitions: 2, random: r, maxChunk: 10 }),
        options: { batchSize: 10, retry }
      }).pipe(Effect.provide(layer), Effect.provide(quiet))
    )
  }

  const readTotals = (layer: Layer.Layer<Services>) =>
    Effect.runPromise(Effect.gen(function*() {
      return (yield* (yield* Aggregates).all(orderTotals)) as ReadonlyMap<string, number>
    }).pipe(Effect.provide(layer)))

  it("a store that is down fails the run with a retryable StoreError after bounded retries", async () => {
    const c = client(3)
    const tables = await tablesFor(c, "down")
    const faults = injectFaults(c, () => "before")
    const history = generate(11, { docs: 10, ops: 40 })
    const layer = DynamoDbStore.layerFrom(c, tables)
    const retry = Schedule.recurs(3).pipe(Schedule.addDelay(() => Effect.succeed("5 millis")))
    const down = await orchestrate(history, layer, retry, 11)
    const error = failureOf(down)
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).retryable).toBe(true)
    expect((error as StoreError).store).toBe("dynamodb")
    // the orchestrator's first token read, retried 3 times on the run's schedule, each with the
    // SDK's 3 attempts: bounded, then the typed error
    expect(faults.requests).toBe(4)
    expect(faults.attempts).toBe(12)

    // now only the aggregate writes are down: the fold retries them 3 times, each with 3 attempts
    faults.setDecide((command) => (command === "UpdateItemCommand" ? "before" : undefined))
    const before = faults.byCommand["UpdateItemCommand"] ?? 0
    const writesDown = await orchestrate(history, layer, retry, 11)
    expect(failureOf(writesDown)).toBeInstanceOf(StoreError)
    expect((failureOf(writesDown) as StoreError).operation).toBe("aggregates.apply")
    const updateAttempts = (faults.byCommand["UpdateItemCommand"] ?? 0) - before
    // 4 fold attempts of one batch, each with 3 SDK attempts per key; the keys of a batch are
    // written concurrently (the first failure interrupts and aborts the others)
    expect(updateAttempts).toBeLessThanOrEqual(4 * 3 * 16)
    expect(updateAttempts).toBeGreaterThanOrEqual(4 * 3)

    faults.setDecide(() => undefined)
    const healed = await orchestrate(history, layer, Schedule.recurs(3), 11)
    expect(Exit.isSuccess(healed)).toBe(true)
    expect(nonZero(await readTotals(layer))).toEqual(nonZero(reference(history.final)))
  })

  it("a store that goes down in the middle of a run loses nothing: the next run finishes exactly", async () => {
    for (const downAfter of [15, 60, 140]) {
      const c = client(3)
      const tables = await tablesFor(c, "middown")
      let seen = 0
      const faults = injectFaults(c, (): Fault | undefined => (++seen > downAfter ? "before" : undefined))
      const history = generate(downAfter, { docs: 15, ops: 80 })
      const layer = DynamoDbStore.layerFrom(c, tables)
      const exit = await orchestrate(history, layer, Schedule.recurs(2), downAfter)
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(StoreError)
      expect((error as StoreError).retryable).toBe(true)
      // bounded: 3 fold attempts x 3 SDK attempts for each request in flight (16 at most at once)
      expect(faults.attempts - downAfter).toBeLessThanOrEqual(3 * 3 * 16)
      faults.setDecide(() => undefined)
      const healed = await orchestrate(history, layer, Schedule.recurs(3), downAfter + 1)
      expect(Exit.isSuccess(healed)).toBe(true)
      expect(nonZero(await readTotals(layer))).toEqual(nonZero(reference(history.final)))
    }
  })
})

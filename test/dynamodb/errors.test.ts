/**
 * Errors of the DynamoDB stores: throttling (injected inside the real SDK client) is retried, by
 * the SDK and then by the fold; non-retryable errors fail at once; DynamoDB's limits (missing
 * tables, item size, number precision) give clear, non-retryable StoreErrors instead of truncated
 * or wrong values.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schedule } from "effect"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import { Aggregates, type KeyUpdate } from "../../src/Store/Aggregates.ts"
import * as DynamoAggregates from "../../src/DynamoDb/internal/aggregates.ts"
import * as DynamoLedger from "../../src/DynamoDb/internal/ledger.ts"
import { isRetryable } from "../../src/DynamoDb/internal/send.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import type { TableNames } from "../../src/DynamoDb/DynamoDbTables.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import * as ArraySource from "../support/arraySource.ts"
import { generate, nonZero, reference } from "../support/history.ts"
import * as Rand from "../support/random.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { dropTables, freshTables, injectFaults, quiet, testClient } from "./support.ts"

const update = <V>(key: string, delta: V, seq = 1): KeyUpdate<V> => ({
  key,
  delta,
  marks: [{ partition: "p", first: seq, last: seq }],
  contributions: [{ partition: "p", seq, delta }]
})

const errorOf = <A>(exit: Exit.Exit<A, unknown>): StoreError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || !(reason.error instanceof StoreError)) throw new Error(`expected a StoreError, got ${String(exit.cause)}`)
  return reason.error
}

describe("DynamoDB store errors", () => {
  const clients: Array<DynamoDBClient> = []
  const created: Array<readonly [DynamoDBClient, TableNames]> = []
  const setup = async (prefix: string, maxAttempts = 3) => {
    const client = testClient({ maxAttempts })
    clients.push(client)
    const tables = await freshTables(client, prefix)
    created.push([client, tables])
    return { client, tables }
  }

  beforeAll(async () => {
    await requireService("dynamodb")
  })

  afterAll(async () => {
    for (const [c, names] of created) await dropTables(c, names)
    for (const c of clients) c.destroy()
  })

  it("classifies errors: throttling, 5xx, timeouts and network errors are retryable; the rest is not", () => {
    const named = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } })
    expect(isRetryable(named("ProvisionedThroughputExceededException", 400))).toBe(true)
    expect(isRetryable(named("ThrottlingException", 400))).toBe(true)
    expect(isRetryable(named("RequestLimitExceeded", 400))).toBe(true)
    expect(isRetryable(named("InternalServerError", 500))).toBe(true)
    expect(isRetryable(named("SomethingNew", 503))).toBe(true)
    expect(isRetryable(named("SomethingNew", 429))).toBe(true)
    expect(isRetryable(named("TimeoutError"))).toBe(true)
    expect(isRetryable(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(true)
    expect(isRetryable(Object.assign(new Error("x"), { cause: Object.assign(new Error("y"), { code: "ECONNREFUSED" }) }))).toBe(true)
    expect(isRetryable(named("ValidationException", 400))).toBe(false)
    expect(isRetryable(named("ResourceNotFoundException", 400))).toBe(false)
    expect(isRetryable(named("AccessDeniedException", 400))).toBe(false)
    expect(isRetryable(named("UnrecognizedClientException", 400))).toBe(false)
    expect(isRetryable(named("ConditionalCheckFailedException", 400))).toBe(false)
    expect(isRetryable(new TypeError("cannot serialize"))).toBe(false)
  })

  it("throttling is retried by the SDK within its attempts", async () => {
    const { client, tables } = await setup("throttle")
    const faults = injectFaults(client, (command, attempt) => (command === "UpdateItemCommand" && attempt <= 2 ? "throttle" : undefined))
    const store = DynamoAggregates.make(client, tables.aggregates)
    const target = { name: "t", monoid: Monoid.sum }
    await Effect.runPromise(store.apply(target, [update("k", 42)]))
    expect(faults.injected.throttle).toBe(2)
    expect(faults.byCommand["UpdateItemCommand"]).toBe(3)
    expect(await Effect.runPromise(store.get(target, ["k"]))).toEqual(new Map([["k", 42]]))
  })

  it("throttling that outlasts the SDK's attempts is a retryable StoreError, retried by the fold until it passes", async () => {
    const { client, tables } = await setup("throttle-fold")
    let throttled = 0
    // the first 5 aggregate writes are throttled on every attempt (15 refusals)
    const faults = injectFaults(client, (command) => (command === "UpdateItemCommand" && throttled++ < 15 ? "throttle" : undefined))
    const history = generate(21, { docs: 10, ops: 40 })
    const r = Rand.make(21)
    const layer = DynamoDbStore.layerFrom(client, tables)
    const exit = await Effect.runPromiseExit(Orchestrator.run({
      pipelines: [orderTotals],
      handoff: Effect.sync(() => Handoff.atVersion(history.p0)),
      bootstrap: (h) => ArraySource.snapshotScan([history.snapshot], h, { random: r, maxChunk: 8, staged: true, attempt: () => 0 }),
      live: (h) => ArraySource.changeLog(history.log, { partitions: 2, random: r, maxChunk: 8 }),
      options: { batchSize: 8, retry: Schedule.max([Schedule.spaced("5 millis"), Schedule.recurs(20)]) }
    }).pipe(Effect.provide(layer), Effect.provide(quiet)))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(faults.injected.throttle).toBe(15)
    const totals = await Effect.runPromise(Effect.gen(function*() {
      return yield* (yield* Aggregates).all(orderTotals)
    }).pipe(Effect.provide(layer)))
    expect(nonZero(totals as ReadonlyMap<string, number>)).toEqual(nonZero(reference(history.final)))
  })

  it("a non-retryable error fails at once: one attempt, no retry by the fold", async () => {
    const { client, tables } = await setup("fatal")
    const faults = injectFaults(client, (command) => (command === "UpdateItemCommand" ? "fatal" : undefined))
    const store = DynamoAggregates.make(client, tables.aggregates)
    const error = errorOf(await Effect.runPromiseExit(store.apply({ name: "t", monoid: Monoid.sum }, [update("k", 1)])))
    expect(error.retryable).toBe(false)
    expect(faults.byCommand["UpdateItemCommand"]).toBe(1)

    const history = generate(22, { docs: 8, ops: 30 })
    const r = Rand.make(22)
    const started = Date.now()
    const exit = await Effect.runPromiseExit(Orchestrator.run({
      pipelines: [orderTotals],
      handoff: Effect.sync(() => Handoff.atVersion(history.p0)),
      bootstrap: (h) => ArraySource.snapshotScan([history.snapshot], h, { random: r, maxChunk: 8, staged: true, attempt: () => 0 }),
      live: (h) => ArraySource.changeLog(history.log, { partitions: 1, random: r, maxChunk: 8 }),
      options: { batchSize: 8 } // the default schedule: retries retryable errors for 2 minutes
    }).pipe(Effect.provide(DynamoDbStore.layerFrom(client, tables)), Effect.provide(quiet)))
    const failed = errorOf(exit)
    expect(failed.retryable).toBe(false)
    expect(failed.operation).toBe("aggregates.apply")
    expect(Date.now() - started).toBeLessThan(5_000)
    // one batch's keys, each tried once
    expect(faults.byCommand["UpdateItemCommand"]! - 1).toBeLessThanOrEqual(8)
  })

  it("a missing table is a non-retryable StoreError that says what to do", async () => {
    const client = testClient()
    clients.push(client)
    const store = DynamoAggregates.make(client, uniqueName("no-such-table"))
    const error = errorOf(await Effect.runPromiseExit(store.apply({ name: "t", monoid: Monoid.sum }, [update("k", 1)])))
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(/does not exist/)
    expect(error.message).toMatch(/create/)
    const layer = DynamoDbStore.layerFrom(client, { aggregates: "missing-a", ledger: "missing-l", tokens: "missing-t", deadLetters: "missing-d" })
    const run = await Effect.runPromiseExit(Orchestrator.run({
      pipelines: [orderTotals],
      handoff: Effect.sync(() => Handoff.atVersion([0, 0]))
    }).pipe(Effect.provide(Layer.merge(layer, quiet))))
    expect(errorOf(run).retryable).toBe(false)
  })

  it("a value too large for an item fails with a clear non-retryable error and writes nothing", async () => {
    const { client, tables } = await setup("large")
    const store = DynamoAggregates.make(client, tables.aggregates)
    const target = { name: "t", monoid: Monoid.union<string>() }
    const big = new Set(Array.from({ length: 40_000 }, (_, i) => `member-${i}`))
    const error = errorOf(await Effect.runPromiseExit(store.apply(target, [update("k", big as ReadonlySet<string>), update("small", new Set(["a"]) as ReadonlySet<string>)])))
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(/limited to 409600 bytes/)
    expect((await Effect.runPromise(store.get(target, ["k"]))).has("k")).toBe(false)

    const ledger = DynamoLedger.make(client, tables.ledger)
    const ledgerError = errorOf(await Effect.runPromiseExit(
      ledger.put(target, new Map([["doc", { keys: ["k"], value: big as ReadonlySet<string>, version: [1, 1] }]]))
    ))
    expect(ledgerError.retryable).toBe(false)
    expect(ledgerError.message).toMatch(/limited to 409600 bytes/)
  })

  it("numbers beyond DynamoDB's 38 digits and sums beyond the safe integer range are refused, before anything is written", async () => {
    const { client, tables } = await setup("digits")
    const store = DynamoAggregates.make(client, tables.aggregates)
    const big = { name: "big", monoid: Monoid.sumBigInt }
    const tooLong = errorOf(await Effect.runPromiseExit(store.apply(big, [update("k", 10n ** 38n)])))
    expect(tooLong.retryable).toBe(false)
    expect(tooLong.message).toMatch(/38 digits/)
    await Effect.runPromise(store.apply(big, [update("k", 10n ** 37n)]))
    expect(await Effect.runPromise(store.get(big, ["k"]))).toEqual(new Map([["k", 10n ** 37n]]))

    const sum = { name: "sum", monoid: Monoid.sum }
    await Effect.runPromise(store.apply(sum, [update("k", Number.MAX_SAFE_INTEGER - 1, 1)]))
    const overflow = errorOf(await Effect.runPromiseExit(store.apply(sum, [update("k", 10, 2)])))
    expect(overflow.retryable).toBe(false)
    expect(overflow.message).toMatch(/sumBigInt/)
    // nothing was written (as on the other stores): the sum is what it was, and the write fails again
    expect(await Effect.runPromise(store.get(sum, ["k"]))).toEqual(new Map([["k", Number.MAX_SAFE_INTEGER - 1]]))
    expect(errorOf(await Effect.runPromiseExit(store.apply(sum, [update("k", 10, 2)]))).message).toMatch(/sumBigInt/)
    await Effect.runPromise(store.apply(sum, [update("n", -Number.MAX_SAFE_INTEGER, 1)]))
    expect(errorOf(await Effect.runPromiseExit(store.apply(sum, [update("n", -1, 2)]))).message).toMatch(/sumBigInt/)
    expect(await Effect.runPromise(store.get(sum, ["n"]))).toEqual(new Map([["n", -Number.MAX_SAFE_INTEGER]]))
    // a delta that keeps it in range is written
    await Effect.runPromise(store.apply(sum, [update("k", 1, 3)]))
    expect(await Effect.runPromise(store.get(sum, ["k"]))).toEqual(new Map([["k", Number.MAX_SAFE_INTEGER]]))
    // a delta Monoid.sum would refuse is refused as it is: never added (5.5), never past 2^53 unchecked
    await Effect.runPromise(store.apply(sum, [update("f", 5, 1)]))
    for (const delta of [0.5, 2 ** 60]) {
      const refused = errorOf(await Effect.runPromiseExit(store.apply(sum, [update("f", delta, 2)])))
      expect(refused.retryable).toBe(false)
      expect(refused.message).toMatch(/not a safe integer/)
    }
    expect(await Effect.runPromise(store.get(sum, ["f"]))).toEqual(new Map([["f", 5]]))
    // a key's first value written by compare-and-set is checked as combine would check it
    const pairs = { name: "pairs", monoid: Monoid.struct({ n: Monoid.sum }) }
    const first = await Effect.runPromiseExit(store.apply(pairs, [update("p", { n: 0.5 })]))
    expect(first._tag).toBe("Failure")
    expect(await Effect.runPromise(store.get(pairs, ["p"]))).toEqual(new Map())
  })
})

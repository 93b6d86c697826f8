/**
 * A sink failure: the store is down for a while (a fault wrapper around the real in-memory store
 * services fails every call with a retryable StoreError). While it is down, records keep arriving,
 * the fold retries, and the group's committed offsets (read with the admin client) must not move;
 * the worker stays in the group (heartbeats while the fold is behind). When the store is back the
 * records are applied, everything is committed, and the totals are exact.
 */
import { Context, Effect, Fiber, Layer, Metric, References, Schedule } from "effect"
import { describe, expect, it } from "vitest"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as KafkaSource from "../../src/Kafka/KafkaSource.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as KafkaDeadLetters from "../../src/Kafka/KafkaDeadLetters.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import { generate, nonZero, reference } from "../support/history.ts"
import { uniqueName } from "../support/services.ts"
import { sleep } from "./processes.ts"
import { adapters, committedOffsets, createTopic, endOffsets, members, produce, quiescent, readTopic, useKafka } from "./support.ts"

const { k, admin, producer } = useKafka()

interface Outage {
  down: boolean
  failures: number
}

/** The real store services, failing with a retryable StoreError while `outage.down`. */
const failing = (state: Memory.State, outage: Outage) =>
  Layer.effectContext(Effect.gen(function*() {
    const agg = yield* Aggregates
    const led = yield* Ledger
    const tok = yield* Tokens
    const guard = <A>(operation: string, effect: Effect.Effect<A, StoreError>): Effect.Effect<A, StoreError> =>
      Effect.suspend(() => {
        if (!outage.down) return effect
        outage.failures++
        return Effect.fail(new StoreError({ store: "memory", operation, retryable: true, detail: "the store is down (injected)" }))
      })
    return Context.make(Aggregates, {
      apply: (t, u) => guard("aggregates.apply", agg.apply(t, u)),
      get: (t, keys) => guard("aggregates.get", agg.get(t, keys)),
      all: (t) => agg.all(t)
    }).pipe(
      Context.add(Ledger, { get: (t, ids) => guard("ledger.get", led.get(t, ids)), put: (t, e) => guard("ledger.put", led.put(t, e)) }),
      Context.add(Tokens, { get: (p, n) => guard("tokens.get", tok.get(p, n)), set: (p, n, v) => guard("tokens.set", tok.set(p, n, v)) })
    )
  })).pipe(Layer.provide(Memory.layer(state)))

describe.each(adapters)("a sink failure (real broker, $name)", (adapter) => {
  it("commits nothing while the store is down, applies everything after it recovers, exactly", async () => {
    const partitions = 4
    const history = generate(777, { docs: 1000, ops: 4000, customers: 10 })
    const half = Math.floor(history.log.length / 2)
    const topic = uniqueName("orders")
    const dlq = uniqueName("orders-dlq")
    const groupId = uniqueName("orderstats")
    await createTopic(admin, topic, partitions)
    await createTopic(admin, dlq, 1)
    const next = Array.from({ length: partitions }, () => -1)
    const placed = await produce(producer, topic, partitions, history.log.slice(0, half), next)

    const state = Memory.makeState()
    const outage: Outage = { down: false, failures: 0 }
    const name = "kafka:outage"
    const source = KafkaSource.make({
      topic,
      groupId,
      name,
      // shorter than the outage: the member stays only because it keeps heartbeating
      sessionTimeoutMs: 4_000,
      heartbeatIntervalMs: 500,
      maxWaitTimeMs: 200,
      maxBytesPerPartition: 16 * 1024,
      bufferSize: 4
    })
    const fiber = Effect.runFork(
      Fold.run(source, [orderTotals], { retry: Schedule.spaced("200 millis").pipe(Schedule.upTo({ duration: "2 minutes" })) }).pipe(
        Effect.provide(KafkaDeadLetters.layer({ topic: dlq })),
        Effect.provide(failing(state, outage)),
        Effect.provide(adapter.layer(uniqueName("worker"))),
        Effect.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
      )
    )
    const before = await quiescent(admin, groupId, topic)

    // the store goes down; the second half arrives
    outage.down = true
    const downAt = Date.now()
    placed.push(...await produce(producer, topic, partitions, history.log.slice(half), next))
    const after = await endOffsets(admin, topic)
    expect(after.reduce((a, b) => a + b, 0)).toBe(history.log.length)
    let polls = 0
    while (Date.now() - downAt < 8_000) {
      await sleep(400)
      expect(await committedOffsets(admin, groupId, topic)).toEqual(before)
      const g = await members(admin, groupId)
      expect(g.members).toBe(1)
      polls++
    }
    const failuresWhileDown = outage.failures
    expect(failuresWhileDown).toBeGreaterThan(0)
    const pauses = await Effect.runPromise(Metric.value(Metric.withAttributes(KafkaSource.metrics.pauses, { source: name, topic })))

    // back up: the records are applied and committed
    outage.down = false
    const upAt = Date.now()
    const end = await quiescent(admin, groupId, topic)
    const recoveredMs = Date.now() - upAt
    expect(end).toEqual(after)
    await Effect.runPromise(Fiber.interrupt(fiber))

    const totals = await Effect.runPromise(Aggregates.use((a) => a.all(orderTotals)).pipe(Effect.provide(Memory.layer(state))))
    expect(nonZero(totals as ReadonlyMap<string, number>)).toEqual(nonZero(reference(history.final)))
    const letters = await readTopic(k, admin, dlq)
    const malformed = placed.filter((p) => p.record.deadLetter)
    expect(letters.map((l) => `${l.headers["dlq-partition"]}/${l.headers["dlq-offset"]} ${l.value}`).sort()).toEqual(
      malformed.map((p) => `${p.partition}/${p.offset} ${p.record.value}`).sort()
    )
    console.log(
      `sink failure (${adapter.name}): ${history.log.length} records on ${partitions} partitions (${history.final.size} documents left, ${reference(history.final).size} customers); store down ${upAt - downAt} ms ` +
        `(${failuresWhileDown} failed store calls, ${polls} checks of the committed offsets: unchanged at ${before.join("/")} while the ends were ${
          after.join("/")
        }; member kept with a 4 s session; ${pauses.count} partition pauses); recovered and committed everything ${recoveredMs} ms after the store came back`
    )
  }, 120_000)
})

/**
 * The consumer lag gauge `monoid_kafka_consumer_lag{group, topic, partition}` against the broker's
 * own numbers, on each adapter. A worker folds a topic of plain events into the in-memory store
 * behind a fault wrapper; once the group has committed everything, the store goes down and a known
 * number of records is produced to each partition. The worker fetches them but cannot apply them,
 * so nothing more is committed: at that quiesced point the gauge of every partition must equal
 * both the number of records produced to it since and the broker's end offset minus the group's
 * committed offset (read with the kafkajs admin client), in Effect's metric values and in the
 * Prometheus text. When the store is back the records are committed and the gauge returns to 0.
 */
import { Context, Effect, Fiber, Layer, Metric, References, Schedule, Schema } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { describe, expect, it } from "vitest"
import * as KafkaSource from "../../src/Kafka/KafkaSource.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import { eventually, uniqueName } from "../support/services.ts"
import { adapters, committedOffsets, createTopic, endOffsets, quiescent, useKafka } from "./support.ts"

const { admin, producer } = useKafka()

const Event = Schema.Struct({ _id: Schema.String, customer_id: Schema.String, amount: Schema.Int })
const totals = Pipeline.make("lag_totals", { schema: Event, key: (e) => e.customer_id, value: (e) => e.amount, monoid: Monoid.sum })

/** The real in-memory store services, failing with a retryable StoreError while `gate.down`. */
const gated = (state: Memory.State, gate: { down: boolean }) =>
  Layer.effectContext(Effect.gen(function*() {
    const agg = yield* Aggregates
    const led = yield* Ledger
    const tok = yield* Tokens
    const guard = <A>(operation: string, effect: Effect.Effect<A, StoreError>): Effect.Effect<A, StoreError> =>
      Effect.suspend(() =>
        gate.down ? Effect.fail(new StoreError({ store: "memory", operation, retryable: true, detail: "the store is down (injected)" })) : effect
      )
    return Context.make(Aggregates, {
      apply: (t, u) => guard("aggregates.apply", agg.apply(t, u)),
      get: (t, keys) => guard("aggregates.get", agg.get(t, keys)),
      all: (t) => agg.all(t)
    }).pipe(
      Context.add(Ledger, { get: (t, ids) => guard("ledger.get", led.get(t, ids)), put: (t, e) => guard("ledger.put", led.put(t, e)) }),
      Context.add(Tokens, { get: (p, n) => guard("tokens.get", tok.get(p, n)), set: (p, n, v) => guard("tokens.set", tok.set(p, n, v)) })
    )
  })).pipe(Layer.provide(Memory.layer(state)))

/** Produces `counts[p]` events to each partition `p`. */
const produceCounts = async (topic: string, counts: ReadonlyArray<number>, tag: string) => {
  for (const [partition, n] of counts.entries()) {
    if (n === 0) continue
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, i) => ({
        key: `${tag}-${partition}-${i}`,
        value: JSON.stringify({ _id: `${tag}-${partition}-${i}`, customer_id: `c${i % 3}`, amount: 1 }),
        partition
      }))
    })
  }
}

const gaugeOf = (group: string, topic: string, partition: number) =>
  Effect.runPromise(Metric.value(Metric.withAttributes(KafkaSource.metrics.lag, { group, topic, partition: String(partition) }))).then((s) => s.value)

/** The lag lines of the Prometheus text for `group`, as partition -> value. */
const scraped = async (group: string, topic: string): Promise<Map<number, number>> => {
  const text = await Effect.runPromise(PrometheusMetrics.format())
  const out = new Map<number, number>()
  for (const line of text.split("\n")) {
    const m = /^monoid_kafka_consumer_lag\{([^}]*)\} (\S+)$/.exec(line)
    if (m === null) continue
    const labels = Object.fromEntries(Array.from(m[1]!.matchAll(/(\w+)="([^"]*)"/g), (l) => [l[1], l[2]]))
    if (labels.group === group && labels.topic === topic) out.set(Number(labels.partition), Number(m[2]))
  }
  return out
}

describe.each(adapters)("consumer lag gauge (real broker, $name)", (adapter) => {
  it("equals the broker's end offset minus the group's committed offset, per partition", async () => {
    const partitions = 3
    const topic = uniqueName("lag")
    const group = uniqueName("lag-group")
    await createTopic(admin, topic, partitions)
    const first = [40, 25, 10]
    await produceCounts(topic, first, "a")
    const gate = { down: false }
    const state = Memory.makeState()
    const source = KafkaSource.make({
      topic,
      groupId: group,
      decoding: { _tag: "plain", version: "offset" },
      maxWaitTimeMs: 200,
      heartbeatIntervalMs: 500,
      lagIntervalMs: 300
    })
    const fiber = Effect.runFork(
      Fold.run(source, [totals], { retry: Schedule.spaced("100 millis").pipe(Schedule.upTo({ duration: "2 minutes" })) }).pipe(
        Effect.provide(gated(state, gate)),
        // the dead letters (none here) in the same store, not gated
        Effect.provide(Memory.layer(state)),
        Effect.provide(adapter.layer(uniqueName("lag-worker"))),
        Effect.provide(Layer.succeed(References.MinimumLogLevel, "Error"))
      )
    )
    try {
      const gauges = () => Promise.all(Array.from({ length: partitions }, (_, p) => gaugeOf(group, topic, p)))
      // everything committed: no lag
      expect(await quiescent(admin, group, topic)).toEqual(first)
      await eventually("the gauge at 0", async () => ((await gauges()).every((g) => g === 0) ? true : undefined), 20_000, 100)

      // the store goes down; a known number of records arrives that the worker cannot apply
      gate.down = true
      const second = [7, 0, 13]
      await produceCounts(topic, second, "b")
      const broker = async () => {
        const [end, committed] = await Promise.all([endOffsets(admin, topic), committedOffsets(admin, group, topic)])
        return end.map((e, p) => e - committed[p]!)
      }
      const seen = await eventually("the gauge to show the records produced while the store is down", async () => {
        const g = await gauges()
        return g.every((v, p) => v === second[p]) ? g : undefined
      }, 20_000, 100)
      // the broker's own numbers at this quiesced point (nothing can be committed while the store is down)
      expect(await broker()).toEqual(second)
      expect(seen).toEqual(await broker())
      const text = await scraped(group, topic)
      expect([0, 1, 2].map((p) => text.get(p))).toEqual(second)

      // back up: committed, lag 0 again
      gate.down = false
      await quiescent(admin, group, topic)
      expect(await broker()).toEqual([0, 0, 0])
      await eventually("the gauge back at 0", async () => ((await gauges()).every((g) => g === 0) ? true : undefined), 20_000, 100)
    } finally {
      await Effect.runPromise(Fiber.interrupt(fiber))
    }
  }, 90_000)
})

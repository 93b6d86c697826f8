/**
 * A real Prometheus server (Debian's `prometheus`) scraping the query server's `/metrics` every
 * second: the test starts it with a configuration of its own (a temporary directory for its
 * database, a free port on 127.0.0.1), waits for its scrapes, and reads what it stored through its
 * HTTP API (`/api/v1/query`):
 *
 * - the fold counters: records in and keys written, per pipeline, equal to what the test folded
 *   (five runs of known records, the keys of each run counted here);
 * - the Kafka consumer lag per partition of a worker folding a topic with a known backlog (its
 *   store made unavailable by a fault wrapper, so that nothing more is committed), equal to the
 *   broker's own numbers: end offsets minus the group's committed offsets, read with the admin
 *   client.
 *
 * Skipped, with the reason printed, only when the `prometheus` binary is not installed.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, References, Schedule, Schema, Scope } from "effect"
import { HttpServer } from "effect/http"
import { type Admin, Kafka, logLevel, Partitioners, type Producer } from "kafkajs"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import * as KafkaSource from "../../src/Kafka/KafkaSource.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as QueryServer from "../../src/Serve/QueryServer.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import { eventually, kafkaBrokers, requireService, uniqueName } from "../support/services.ts"

const PROMETHEUS = "/usr/bin/prometheus"
const installed = Fs.existsSync(PROMETHEUS)
if (!installed) console.log(`test/serve/scrape.test.ts skipped: ${PROMETHEUS} is not installed (Debian package prometheus)`)

const Order = Schema.Struct({ _id: Schema.String, customer: Schema.String, amount: Schema.Int })
const name = uniqueName("scraped_totals").replace(/-/g, "_")
const totals = Pipeline.make(name, { schema: Order, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const state = Memory.makeState()
const scope = Effect.runSync(Scope.make())
let prometheus: ChildProcess | undefined
let prometheusLog = ""
let api = ""
let dir = ""
let base = ""

/** Prometheus' answer to an instant query, as `labels -> value`. */
const query = async (promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>> => {
  const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`)
  const body = await response.json() as any
  if (body.status !== "success") throw new Error(`prometheus: ${JSON.stringify(body)}`)
  return body.data.result.map((r: any) => ({ metric: r.metric, value: Number(r.value[1]) }))
}

beforeAll(async () => {
  if (!installed) return
  const context = await Effect.runPromise(
    Layer.buildWithScope(QueryServer.layer({ pipelines: [totals], port: 0, host: "127.0.0.1" }).pipe(Layer.provide(Memory.layer(state))), scope)
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag === "UnixPathAddress") throw new Error("not TCP")
  base = `http://127.0.0.1:${address.port}`
  dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "prometheus-"))
  const config = Path.join(dir, "prometheus.yml")
  Fs.writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: worker",
      "    metrics_path: /metrics",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${address.port}"]`,
      ""
    ].join("\n")
  )
  const port = await freePort()
  api = `http://127.0.0.1:${port}`
  prometheus = spawn(PROMETHEUS, [
    `--config.file=${config}`,
    `--storage.tsdb.path=${Path.join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn"
  ], { stdio: ["ignore", "pipe", "pipe"] })
  prometheus.stdout?.on("data", (d) => (prometheusLog += d))
  prometheus.stderr?.on("data", (d) => (prometheusLog += d))
  // the server is scraped, and up
  await eventually("prometheus to scrape the server", async () => {
    const up = await query(`up{job="worker"}`).catch(() => [])
    return up.length === 1 && up[0]!.value === 1 ? true : undefined
  }, 30_000, 250).catch((e) => {
    throw new Error(`${e.message}\n${prometheusLog}`)
  })
}, 60_000)

afterAll(async () => {
  if (prometheus !== undefined && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once("exit", resolve))
    prometheus.kill("SIGTERM")
    await exited
  }
  await Effect.runPromise(Scope.close(scope, Exit.void))
  if (dir !== "") Fs.rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!installed)("a real Prometheus server scraping /metrics", () => {
  it("stores the fold counters the test folded", async () => {
    // five runs, run k of 100 orders by k + 3 customers: one batch each
    let keys = 0
    for (let k = 0; k < 5; k++) {
      const orders = Array.from({ length: 100 }, (_, i) => ({ _id: `r${k}-${i}`, customer: `c${i % (k + 3)}`, amount: i }))
      keys += new Set(orders.map((o) => o.customer)).size
      await Effect.runPromise(
        Source.fromIterable(`scrape-orders-${k}`, orders, { id: (o) => o._id }).pipe(
          Fold.run([totals], { batchSize: 1000 }),
          Effect.provide(Memory.layer(state))
        )
      )
    }
    expect(keys).toBe(25)
    const scraped = await eventually("the counters in prometheus", async () => {
      const [records, written] = await Promise.all([
        query(`sum(monoid_records_in{job="worker",pipeline="${name}"})`),
        query(`sum(monoid_keys_written{job="worker",pipeline="${name}"})`)
      ])
      const r = records[0]?.value
      const w = written[0]?.value
      return r === 500 && w === keys ? { r, w } : undefined
    }, 30_000, 250)
    expect(scraped).toEqual({ r: 500, w: 25 })
    // one series per source, each with its run's records
    const perSource = await query(`monoid_records_in{job="worker",pipeline="${name}"}`)
    expect(perSource.map((s) => [s.metric["source"], s.value]).sort()).toEqual(
      [0, 1, 2, 3, 4].map((k) => [`scrape-orders-${k}`, 100])
    )
  }, 60_000)

  describe("with a Kafka-sourced worker", () => {
    const kafka = new Kafka({ clientId: uniqueName("scrape"), brokers: kafkaBrokers(), logLevel: logLevel.NOTHING })
    let admin: Admin
    let producer: Producer
    beforeAll(async () => {
      await requireService("kafka")
      admin = kafka.admin()
      producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
      await admin.connect()
      await producer.connect()
    })
    afterAll(async () => {
      await producer?.disconnect()
      await admin?.disconnect()
    })

    const produceCounts = async (topic: string, counts: ReadonlyArray<number>, tag: string) => {
      for (const [partition, n] of counts.entries()) {
        if (n === 0) continue
        await producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: n }, (_, i) => ({
            key: `${tag}-${partition}-${i}`,
            value: JSON.stringify({ _id: `${tag}-${partition}-${i}`, customer: `k${i % 3}`, amount: 1 }),
            partition
          }))
        })
      }
    }
    /** The broker's numbers: end offset minus the group's committed offset, per partition. */
    const brokerLag = async (group: string, topic: string) => {
      const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })])
      const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
      return ends.slice().sort((a, b) => a.partition - b.partition).map((e) => Number(e.high) - (byPartition.get(e.partition) ?? 0))
    }

    it("stores the consumer lag per partition, equal to the broker's end offsets minus the committed ones", async () => {
      const topic = uniqueName("scrape")
      const group = uniqueName("scrape-group")
      await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })
      await produceCounts(topic, [30, 20, 10], "a")
      const gate = { down: false }
      const kafkaTotals = Pipeline.make(`${name}_kafka`, { schema: Order, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })
      const fiber = Effect.runFork(
        Fold.run(
          KafkaSource.make({ topic, groupId: group, decoding: { _tag: "plain", version: "offset" }, maxWaitTimeMs: 200, lagIntervalMs: 300 }),
          [kafkaTotals],
          { retry: Schedule.spaced("100 millis").pipe(Schedule.upTo({ duration: "2 minutes" })) }
        ).pipe(
          Effect.provide(gated(gate)),
          Effect.provide(KafkaJs.layer({ brokers: kafkaBrokers(), clientId: uniqueName("scrape-worker"), logLevel: "error" })),
          Effect.provide(Layer.succeed(References.MinimumLogLevel, "Error"))
        )
      )
      try {
        await eventually("the group to commit the first records", async () => {
          if (fiber.pollUnsafe() !== undefined) throw new Error(`the worker stopped: ${JSON.stringify(fiber.pollUnsafe())}`)
          const lag = await brokerLag(group, topic)
          return lag.every((l) => l === 0) ? true : undefined
        }, 60_000, 200)
        // the store goes down: a known backlog arrives that the worker cannot commit
        gate.down = true
        const backlog = [7, 0, 13]
        await produceCounts(topic, backlog, "b")
        const series = `monoid_kafka_consumer_lag{job="worker",group="${group}",topic="${topic}"}`
        const scraped = await eventually("prometheus to store the backlog", async () => {
          const result = await query(series)
          const byPartition = result.map((r) => [Number(r.metric["partition"]), r.value] as const).sort((a, b) => a[0] - b[0])
          const values = byPartition.map(([, v]) => v)
          return values.length === 3 && values.every((v, p) => v === backlog[p]) ? values : undefined
        }, 30_000, 250)
        // the broker's own numbers, at this quiesced point (nothing can be committed while the store is down)
        expect(await brokerLag(group, topic)).toEqual(scraped)
        expect(scraped).toEqual(backlog)
        // the status (JSON of the status page) shows the same lag
        const status = await (await fetch(`${base}/v1/status`)).json() as any
        const shown = status.kafkaLag.filter((l: any) => l.group === group && l.topic === topic)
          .sort((a: any, b: any) => Number(a.partition) - Number(b.partition)).map((l: any) => l.lag)
        expect(shown).toEqual(backlog)

        // the store back: everything committed, and prometheus sees the lag fall to 0
        gate.down = false
        await eventually("prometheus to store a lag of 0", async () => {
          const values = (await query(series)).map((r) => r.value)
          return values.length === 3 && values.every((v) => v === 0) ? true : undefined
        }, 60_000, 250)
        expect(await brokerLag(group, topic)).toEqual([0, 0, 0])
      } finally {
        await Effect.runPromise(Fiber.interrupt(fiber))
      }
    }, 120_000)
  })
})

/** The memory store's services (the server's state), failing with a retryable StoreError while `gate.down`. */
const gated = (gate: { down: boolean }) =>
  Layer.effectContext(Effect.gen(function*() {
    const aggregates = yield* Aggregates
    const ledger = yield* Ledger
    const tokens = yield* Tokens
    const deadLetters = yield* DeadLetters
    const guard = <A>(operation: string, effect: Effect.Effect<A, StoreError>): Effect.Effect<A, StoreError> =>
      Effect.suspend(() =>
        gate.down ? Effect.fail(new StoreError({ store: "memory", operation, retryable: true, detail: "the store is down (injected)" })) : effect
      )
    return Context.make(Aggregates, {
      apply: (t, u) => guard("aggregates.apply", aggregates.apply(t, u)),
      get: (t, keys) => guard("aggregates.get", aggregates.get(t, keys)),
      all: (t) => aggregates.all(t)
    }).pipe(
      Context.add(Ledger, { get: (t, ids) => guard("ledger.get", ledger.get(t, ids)), put: (t, e) => guard("ledger.put", ledger.put(t, e)) }),
      Context.add(Tokens, { get: (p, n) => guard("tokens.get", tokens.get(p, n)), set: (p, n, v) => guard("tokens.set", tokens.set(p, n, v)) }),
      Context.add(DeadLetters, deadLetters)
    )
  })).pipe(Layer.provide(Memory.layer(state)))

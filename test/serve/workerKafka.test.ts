/**
 * The query server of the orderstats worker (`examples/orderstats/worker.ts` with `SERVE_PORT`)
 * and of `serve.ts` with `LIVE_SOURCE=kafka`, as child processes over a real MongoDB collection,
 * real Kafka and the embedded store of a `STATE_DIR`: the Kafka worker's fold writes its dead
 * letters to `KAFKA_DLQ_TOPIC`, never to the store, so `/v1/status` and `/status` must list the
 * topic's dead letters next to the store's (the bootstrap's), as `admin.js dead-letters list`
 * does: one the test wrote to the topic before the worker started, and one the worker itself
 * wrote for a record of the change topic that is not JSON. Sources run with Node's type
 * stripping (no build).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { MongoClient } from "mongodb"
import * as KafkaDeadLetters from "../../src/Kafka/KafkaDeadLetters.ts"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import { createTopic, useKafka } from "../kafka/support.ts"
import { orderstatsEnv, root, run } from "../support/cli.ts"
import { eventually, kafkaBrokers, mongoUri, requireService, uniqueName } from "../support/services.ts"

const workerScript = join(root, "examples", "orderstats", "worker.ts")
const serveScript = join(root, "examples", "orderstats", "serve.ts")
const bootstrapScript = join(root, "examples", "orderstats", "bootstrap.ts")

const { admin, producer } = useKafka()
const dir = mkdtempSync(join(tmpdir(), "orderstats-worker-kafka-"))
const db = uniqueName("worker_kafka")
const topic = uniqueName("worker_kafka_cdc").replace(/[^A-Za-z0-9_.]/g, "_")
const dlq = `${topic}.dlq`
const children: Array<ChildProcess> = []
let mongo: MongoClient

const now = new Date().toISOString()
const snapshot = [
  ...Array.from({ length: 10 }, (_, i) => ({ _id: `s${i}`, customer_id: `c${i % 3}`, amount: 100 + i, status: "paid", created_at: now })),
  { _id: "s-bad", customer_id: "c1", amount: "twelve", status: "paid", created_at: now }
]

/** A dead letter of a Kafka worker that ran before this one (written to the topic, not the store). */
const earlier = {
  pipeline: "order_totals",
  partition: `${topic}/0`,
  seq: 7,
  docId: JSON.stringify("kafka-bad"),
  raw: "{}",
  reason: "refused by an earlier worker",
  at: Date.now()
}

beforeAll(async () => {
  await requireService("mongo")
  mongo = new MongoClient(mongoUri())
  await mongo.db(db).collection("orders").insertMany(snapshot as Array<any>)
  await createTopic(admin, topic, 1)
  await createTopic(admin, dlq, 1)
  await Effect.runPromise(
    Effect.flatMap(DeadLetters, (d) => d.write([earlier])).pipe(
      Effect.provide(KafkaDeadLetters.layer({ topic: dlq })),
      Effect.provide(KafkaJs.layer({ brokers: kafkaBrokers(), logLevel: "nothing" }))
    )
  )
})

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
  await admin.deleteTopics({ topics: [topic, dlq] }).catch(() => undefined)
  await mongo?.db(db).dropDatabase()
  await mongo?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The binaries' environment: this collection, these topics, the embedded store in `dir`. */
const env = (): NodeJS.ProcessEnv =>
  orderstatsEnv(mongoUri(), db, dir, {
    LIVE_SOURCE: "kafka",
    KAFKA_BROKERS: kafkaBrokers().join(","),
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: dlq,
    CONSUMER_GROUP: `${topic}_group`,
    KAFKA_TOPIC_PARTITIONS: "1",
    KAFKA_LOG_LEVEL: "nothing"
  })

/** Starts `script`; resolves with the child and its base URL once it logs where it listens. */
const start = async (script: string) => {
  const child = spawn(process.execPath, [script], { env: env(), stdio: ["ignore", "ignore", "pipe"] })
  children.push(child)
  const out = { stderr: "" }
  child.stderr!.on("data", (chunk) => (out.stderr += chunk))
  const base = await eventually("the server to listen", () => /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out.stderr)?.[1], 30_000, 50)
    .catch((e) => {
      throw new Error(`${e.message}\n${out.stderr}`)
    })
  return { child, base, out }
}

/** The status of pipeline order_totals at `base`. */
const totalsStatus = async (base: string) => {
  const response = await fetch(`${base}/v1/status`)
  expect(response.status).toBe(200)
  return ((await response.json()) as any).pipelines.find((p: any) => p.name === "order_totals")
}

const stop = async (child: ChildProcess) => {
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  child.kill("SIGTERM")
  return exit
}

describe("the orderstats query server with LIVE_SOURCE=kafka", () => {
  it("lists the dead letters on the dead-letter topic with the store's, in the worker and in serve.ts", async () => {
    const boot = await run(bootstrapScript, ["--json"], { env: env() })
    expect(boot.code, boot.stderr).toBe(0)

    const worker = await start(workerScript)
    // the worker's fold dead-letters a record that is not JSON: to the topic, not to the store
    await producer.send({ topic, acks: -1, messages: [{ key: JSON.stringify({ id: JSON.stringify("not-json") }), value: "{\"op\": \"c\", \"after\": ", partition: 0 }] })

    const status = await eventually("the worker's status to list the topic's dead letters", async () => {
      const s = await totalsStatus(worker.base)
      return s.deadLetters.count === 3 ? s : undefined
    }, 45_000, 500).catch(async (e) => {
      throw new Error(`${e.message}\nlast status: ${JSON.stringify((await totalsStatus(worker.base)).deadLetters)}\n${worker.out.stderr}`)
    })
    const recent: ReadonlyArray<{ docId: string | null; reason: string; partition: string }> = status.deadLetters.recent
    expect(recent.find((l) => l.docId === JSON.stringify("s-bad"))?.reason).toContain("amount") // the bootstrap's, in the store
    expect(recent.find((l) => l.docId === earlier.docId)).toMatchObject({ reason: earlier.reason, partition: earlier.partition, seq: earlier.seq })
    expect(recent.filter((l) => l.partition === `${topic}/0` && /not JSON/.test(l.reason))).toHaveLength(1) // the worker's own
    const page = await (await fetch(`${worker.base}/status`)).text()
    expect(page).toContain("refused by an earlier worker")

    // serve.js over the same store and topic shows the same three
    const serve = await start(serveScript)
    const served = await totalsStatus(serve.base)
    expect(served.deadLetters.count).toBe(3)
    expect(served.deadLetters.recent.map((l: any) => l.reason).sort()).toEqual(recent.map((l) => l.reason).sort())
    expect(await stop(serve.child)).toBe(0)

    expect(await stop(worker.child)).toBe(0)
  }, 120_000)
})

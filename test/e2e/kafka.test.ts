/**
 * orderstats end to end through the CDC relay and Kafka, on the real servers (mongo-java-server,
 * Kafka 4.1, dynalite), with the binaries as child processes:
 *
 * 1. relay started first; seed; bootstrap while a writer keeps changing the collection; two Kafka
 *    workers in one group; more writes; at quiescence (a marker order applied, the group committed
 *    to the end of the topic) the totals in DynamoDB equal a group-by-sum over the collection, to
 *    the cent, and the per-day pipelines equal group-bys by customer and UTC day; the invalid orders are on the dead-letter topic; SIGTERM stops everything with exit
 *    code 0 and the group is left empty.
 * 2. the same with faults: the bootstrap SIGKILLed in the middle of its scan and rerun, the relay
 *    SIGKILLed and restarted twice (it republishes what it had not saved), workers SIGKILLed at
 *    random moments and restarted, a third worker added to the group.
 */
import type { Document } from "mongodb"
import { describe, expect, it } from "vitest"
import { members, readTopic, useKafka } from "../kafka/support.ts"
import { deadLetterProblems, groupBySum } from "../mongo/support.ts"
import * as Rand from "../support/random.ts"
import {
  assignments,
  type BootstrapSummary,
  bootstrapWithKills,
  countDifferences,
  differences,
  perDayDifferences,
  type Proc,
  quiesce,
  runToEnd,
  scenario,
  type Scenario,
  sleep,
  start,
  stop,
  stopWriter,
  storedDeadLetters,
  storedTotals,
  useServers,
  waitFor
} from "./support.ts"

const client = useServers(["mongo", "kafka", "dynamodb"])
const { k, admin } = useKafka()

/** Kafka settings of the scenarios: 4 partitions, short sessions so that a SIGKILLed member's partitions move soon. */
const kafkaScenario = (prefix: string): Scenario =>
  scenario(prefix, {
    extra: {
      LIVE_SOURCE: "kafka",
      KAFKA_TOPIC_PARTITIONS: "4",
      KAFKA_SESSION_TIMEOUT_MS: "4000",
      KAFKA_REBALANCE_TIMEOUT_MS: "10000",
      KAFKA_HEARTBEAT_INTERVAL_MS: "500"
    }
  })

/** The distinct dead letters on the topic (replays may write one twice), by the document id header. */
const deadLetterTopic = async (s: Scenario) => {
  const records = await readTopic(k, admin, s.dlq)
  const byPosition = new Map<string, (typeof records)[number]>()
  for (const r of records) byPosition.set(`${r.headers["dlq-partition"]}/${r.headers["dlq-offset"]}`, r)
  return { records: records.length, distinct: Array.from(byPosition.values()) }
}

/** The dead letters of both paths: the scan's in the store, the workers' on the dead-letter topic. */
const allLetters = async (s: Scenario) => [
  ...(await storedDeadLetters(s.table)),
  ...(await deadLetterTopic(s)).distinct.map((r) => ({ raw: r.value ?? "" }))
]

describe("orderstats end to end: relay + Kafka -> DynamoDB", () => {
  it("bootstrap under a concurrent writer, two workers in a group: exact to the cent", async () => {
    const started = Date.now()
    const s = kafkaScenario("e2ek")
    const orders = client.db(s.db).collection<Document>(s.collection)
    const relay = start("relay", s.env)
    await waitFor(relay, /relay \S+: starting/)
    const ORDERS = 1500
    const INVALID = 2
    await runToEnd("seed", s.env, ["--count", String(ORDERS), "--invalid", String(INVALID), "--customers", "40", "--seed", "31"])
    const writer = start("seed", s.env, ["--writer", "--rate", "60", "--customers", "40", "--seed", "32"], "writer")
    await waitFor(writer, /writing to/)
    const boot = JSON.parse(await runToEnd("bootstrap", s.env, ["--json"])) as BootstrapSummary
    // the seed's invalid orders, and those the writer made invalid before the scan read them
    expect(boot.deadLetters).toBeGreaterThanOrEqual(INVALID)

    const workers = [start("worker", s.env, [], "worker-1"), start("worker", s.env, [], "worker-2")]
    for (const w of workers) await waitFor(w, /assigned generation/)
    await sleep(3_000)
    const counts = await stopWriter(writer)
    await quiesce(orders, s.table, { kafka: { admin, group: s.group, topic: s.topic } })

    const reference = await groupBySum(orders)
    expect(differences(await storedTotals(s.table), reference.totals)).toEqual([])
    expect(await countDifferences(s.table, orders)).toEqual([])
    expect(await perDayDifferences(s.table, orders)).toEqual([])
    // the scan dead-lettered invalid orders in the store; the workers every invalid state the relay published
    expect(counts.invalidations).toBeGreaterThan(0)
    expect(await deadLetterProblems(orders, await allLetters(s))).toEqual([])
    const dlq = await deadLetterTopic(s)
    // invalid orders, and updates whose order was deleted before the relay looked it up
    for (const r of dlq.distinct) expect(r.headers["dlq-reason"]).toMatch(/schema|deleted before Debezium looked it up/)

    for (const w of workers) expect(w.alive(), w.stderr()).toBe(true)
    for (const w of workers) expect((await stop(w)).code, w.stderr()).toBe(0)
    expect((await stop(relay)).code, relay.stderr()).toBe(0)
    expect((await members(admin, s.group)).members).toBe(0)
    const published = Number(/(\d+) records published/.exec(relay.stderr().split("\n").filter((l) => l.includes("relay stopped")).pop() ?? "")?.[1] ?? -1)
    console.log(
      `e2e relay + Kafka: ${ORDERS} orders + ${INVALID} invalid, ${counts.changes} concurrent changes ${JSON.stringify(counts)}, ` +
        `bootstrap ${boot.documents} documents in ${boot.elapsedMs} ms, relay published ${published} records on 4 partitions, ` +
        `2 workers, ${reference.documents} final documents, ${dlq.distinct.length} dead letters on the topic, exact; ${Date.now() - started} ms`
    )
  }, 150_000)

  it("SIGKILLed bootstrap, relay and workers, a third worker joining: exact to the cent", async () => {
    const started = Date.now()
    const r = Rand.make(4711)
    const s = kafkaScenario("e2ekk")
    const orders = client.db(s.db).collection<Document>(s.collection)
    let relay = start("relay", s.env, [], "relay-0")
    await waitFor(relay, /relay \S+: starting/)
    const ORDERS = 2000
    const INVALID = 2
    await runToEnd("seed", s.env, ["--count", String(ORDERS), "--invalid", String(INVALID), "--customers", "40", "--seed", "41"])
    const writer = start("seed", s.env, ["--writer", "--rate", "60", "--customers", "40", "--seed", "42"], "writer")
    await waitFor(writer, /writing to/)

    let relayRestarts = 0
    const restartRelay = async () => {
      relay.child.kill("SIGKILL")
      await relay.exited
      relayRestarts++
      relay = start("relay", s.env, [], `relay-${relayRestarts}`)
      await waitFor(relay, /relay \S+: starting/)
    }

    await sleep(r.int(200, 1200))
    await restartRelay()
    const boot = await bootstrapWithKills(s, 2, () => r.int(0, 600))
    expect(boot.kills).toBeGreaterThanOrEqual(2)
    expect(boot.resumes).toBeGreaterThanOrEqual(2)
    expect(boot.summary.deadLetters).toBeGreaterThanOrEqual(INVALID)

    const workers: Array<Proc> = [start("worker", s.env, [], "worker-1"), start("worker", s.env, [], "worker-2")]
    for (const w of workers) await waitFor(w, /assigned generation/)
    let workerKills = 0
    for (let i = 0; i < 3; i++) {
      await sleep(r.int(1_000, 3_000))
      const victim = r.int(0, workers.length - 1)
      const w = workers[victim]!
      expect(w.alive(), w.stderr()).toBe(true)
      w.child.kill("SIGKILL")
      await w.exited
      workerKills++
      workers[victim] = start("worker", s.env, [], `${w.name}'`)
      if (i === 0) workers.push(start("worker", s.env, [], "worker-3"))
      if (i === 1) await restartRelay()
    }
    await sleep(2_000)
    const counts = await stopWriter(writer)
    await quiesce(orders, s.table, { kafka: { admin, group: s.group, topic: s.topic }, timeoutMs: 120_000 })

    const reference = await groupBySum(orders)
    expect(differences(await storedTotals(s.table), reference.totals)).toEqual([])
    expect(await countDifferences(s.table, orders)).toEqual([])
    expect(await perDayDifferences(s.table, orders)).toEqual([])
    expect(await deadLetterProblems(orders, await allLetters(s))).toEqual([])
    const dlq = await deadLetterTopic(s)

    const rebalances = workers.reduce((n, w) => n + assignments(w), 0)
    for (const w of workers) expect(w.alive(), w.stderr()).toBe(true)
    for (const w of workers) expect((await stop(w)).code, w.stderr()).toBe(0)
    expect((await stop(relay)).code, relay.stderr()).toBe(0)
    console.log(
      `e2e relay + Kafka with faults: ${ORDERS} orders, ${counts.changes} concurrent changes, bootstrap SIGKILLed ${boot.kills} times ` +
        `(${boot.resumes} resumed scans), relay SIGKILLed ${relayRestarts} times, workers SIGKILLed ${workerKills} times, ` +
        `3 workers at the end (${rebalances} assignments seen by them), ${dlq.records} dead-letter records (${dlq.distinct.length} distinct), ` +
        `${reference.documents} final documents, exact; ${Date.now() - started} ms`
    )
  }, 200_000)
})

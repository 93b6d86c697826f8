/**
 * Bad input on the change topic, end to end (real Kafka, mongo-java-server, dynalite; the binaries
 * as child processes): records that are not JSON, have wrong types, an unknown `op`, a fractional
 * amount, no version, an `after` that is no document, bytes that are not UTF-8, and one record of
 * 400 KB (over the workers' 256 KiB `KAFKA_MAX_RECORD_BYTES`, under the broker's 1 MB limit; it is
 * otherwise a valid order that would change the totals if it were applied), injected between the
 * relay's records while a writer runs; invalid orders written to MongoDB go through the relay too.
 * Every bad record ends up on the dead-letter topic with its original key and value and a reason;
 * the tombstone is skipped, not dead-lettered; the workers keep running; the totals are exact.
 */
import type { Document } from "mongodb"
import { describe, expect, it } from "vitest"
import { readTopic, useKafka } from "../kafka/support.ts"
import { deadLetterProblems, groupBySum } from "../mongo/support.ts"
import {
  type BootstrapSummary,
  differences,
  perDayDifferences,
  quiesce,
  runToEnd,
  scenario,
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
const { k, admin, producer } = useKafka()

interface Bad {
  readonly what: string
  readonly key: string | null
  readonly value: Buffer | string | null
  /** `undefined`: must not be dead-lettered (a tombstone). */
  readonly reason: RegExp | undefined
}

/** The scenario's collection: the workers fold only records of MONGO_DB.MONGO_COLLECTION. */
let ns = { db: "shop", collection: "orders" }
const source = (tsMs: number, ord: number) => ({ connector: "mongodb", name: "bad", db: ns.db, collection: ns.collection, ts_ms: tsMs, ord })
const key = (id: string) => JSON.stringify({ id: JSON.stringify(id) })
const envelope = (op: string, after: unknown, src: unknown = source(Date.now() + 3_600_000, 1)) =>
  JSON.stringify({ op, source: src, ts_ms: Date.now(), after: typeof after === "string" ? after : JSON.stringify(after) })

const badRecords = (): Array<Bad> => [
  { what: "invalid JSON", key: key("bad-json"), value: "{\"op\": \"c\", \"after\": ", reason: /not JSON/ },
  {
    what: "wrong types",
    key: key("bad-types"),
    value: envelope("c", { _id: "bad-types", customer_id: 42, amount: "12" }),
    reason: /schema/
  },
  { what: "unknown op", key: key("bad-op"), value: envelope("x", { _id: "bad-op", customer_id: "cust-001", amount: 100 }), reason: /unknown or missing op/ },
  {
    what: "fractional amount",
    key: key("bad-float"),
    value: envelope("u", { _id: "bad-float", customer_id: "cust-001", amount: 1234.5 }),
    reason: /schema/
  },
  {
    what: "no version",
    key: key("bad-version"),
    value: envelope("c", { _id: "bad-version", customer_id: "cust-001", amount: 100 }, { connector: "mongodb" }),
    reason: /ts_ms/
  },
  { what: "after is no document", key: key("bad-after"), value: envelope("c", "[1, 2, 3]"), reason: /not a document/ },
  { what: "not UTF-8", key: key("bad-bytes"), value: Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0x7d]), reason: /not UTF-8/ },
  {
    what: "oversized (400 KB, else a valid order)",
    key: key("bad-big"),
    value: envelope("c", { _id: "bad-big", customer_id: "cust-001", amount: 100_000, note: "x".repeat(400_000) }),
    reason: /bytes, more than the limit of 262144/
  },
  { what: "tombstone", key: key("some-deleted-order"), value: null, reason: undefined }
]

describe("orderstats end to end: bad input on the topic", () => {
  it("goes to the dead-letter topic with reasons; the workers keep running; totals exact", async () => {
    const started = Date.now()
    const s = scenario("e2ebad", {
      extra: { LIVE_SOURCE: "kafka", KAFKA_TOPIC_PARTITIONS: "3", KAFKA_SESSION_TIMEOUT_MS: "6000", KAFKA_HEARTBEAT_INTERVAL_MS: "500" }
    })
    const orders = client.db(s.db).collection<Document>(s.collection)
    ns = { db: s.db, collection: s.collection }
    const relay = start("relay", s.env)
    await waitFor(relay, /relay \S+: starting/)
    await runToEnd("seed", s.env, ["--count", "1000", "--invalid", "2", "--customers", "30", "--seed", "51"])
    const writer = start("seed", s.env, ["--writer", "--rate", "40", "--customers", "30", "--seed", "52"], "writer")
    await waitFor(writer, /writing to/)
    const boot = JSON.parse(await runToEnd("bootstrap", s.env, ["--json"])) as BootstrapSummary
    expect(boot.deadLetters).toBeGreaterThanOrEqual(2)
    const workers = [start("worker", s.env, [], "worker-1"), start("worker", s.env, [], "worker-2")]
    for (const w of workers) await waitFor(w, /assigned generation/)

    // bad records between the relay's, one at a time (so each one's offset is known)
    const injected: Array<Bad & { readonly partition: number; readonly offset: number }> = []
    for (const bad of badRecords()) {
      const [meta] = await producer.send({ topic: s.topic, acks: -1, messages: [{ key: bad.key, value: bad.value }] })
      injected.push({ ...bad, partition: meta!.partition, offset: Number(meta!.baseOffset) })
      await sleep(150)
    }
    // invalid orders written while live: the relay publishes them, the workers dead-letter them
    await orders.insertMany([
      { _id: "bad-live-1" as any, customer_id: "cust-002", amount: 99.99, invalid: true },
      { _id: "bad-live-2" as any, amount: 5000, invalid: true }
    ])
    await sleep(2_000)
    const counts = await stopWriter(writer)
    await quiesce(orders, s.table, { kafka: { admin, group: s.group, topic: s.topic } })

    const reference = await groupBySum(orders)
    expect(differences(await storedTotals(s.table), reference.totals)).toEqual([])
    expect(await perDayDifferences(s.table, orders)).toEqual([])
    for (const w of workers) expect(w.alive(), w.stderr()).toBe(true)

    const dlq = await readTopic(k, admin, s.dlq)
    const at = new Map(dlq.map((r) => [`${r.headers["dlq-partition"]}/${r.headers["dlq-offset"]}`, r]))
    const reasons: Array<string> = []
    for (const bad of injected) {
      const letter = at.get(`${bad.partition}/${bad.offset}`)
      if (bad.reason === undefined) {
        expect(letter, `${bad.what} was dead-lettered`).toBeUndefined()
        continue
      }
      expect(letter, `${bad.what} is not on the dead-letter topic`).toBeDefined()
      expect(letter!.headers["dlq-reason"], bad.what).toMatch(bad.reason)
      expect(letter!.headers["dlq-topic"]).toBe(s.topic)
      expect(letter!.key).toBe(bad.key)
      expect(Buffer.compare(letter!.valueBytes!, Buffer.isBuffer(bad.value) ? bad.value : Buffer.from(bad.value!, "utf8")), bad.what).toBe(0)
      reasons.push(`${bad.what}: ${letter!.headers["dlq-reason"]!.slice(0, 90)}`)
    }
    // the other dead letters are the invalid orders of the collection (published by the relay), nothing else
    const injectedAt = new Set(injected.map((b) => `${b.partition}/${b.offset}`))
    const others = Array.from(at.entries()).filter(([p]) => !injectedAt.has(p)).map(([, r]) => r.headers["dlq-doc-id"])
    const invalid = (await orders.find({ invalid: true }).toArray()).map((d) => JSON.stringify(d._id))
    expect(invalid).toHaveLength(4)
    for (const id of invalid) expect(others).toContain(id)
    // the rest are states the writer made invalid: every invalid state is a dead letter, nothing else is
    const letters = [...(await storedDeadLetters(s.table)), ...dlq.filter((r) => !injectedAt.has(`${r.headers["dlq-partition"]}/${r.headers["dlq-offset"]}`)).map((r) => ({ raw: r.value ?? "" }))]
    expect(await deadLetterProblems(orders, letters)).toEqual([])

    for (const w of workers) expect((await stop(w)).code, w.stderr()).toBe(0)
    expect((await stop(relay)).code, relay.stderr()).toBe(0)
    console.log(
      `e2e bad input: ${injected.length} bad records injected (${injected.length - 1} dead-lettered, the tombstone skipped), ` +
        `${invalid.length} invalid orders through the relay, ${dlq.length} dead-letter records (${at.size} distinct), ` +
        `${counts.changes} concurrent changes, 2 workers kept running, ${reference.documents} final documents, exact; ` +
        `${Date.now() - started} ms\n  ${reasons.join("\n  ")}`
    )
  }, 150_000)
})

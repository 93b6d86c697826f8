/**
 * A DynamoDB outage in the middle of the live run, end to end: the Kafka worker (a child process)
 * reaches dynalite through a TCP proxy in this process; the proxy is cut for 6.5 s (open connections
 * destroyed, new ones accepted and closed at once) while the writer and the relay keep going, then
 * restored. During the outage the worker keeps trying (the proxy counts its connection attempts),
 * the group's committed offsets do not move although the topic grows (nothing is committed that was
 * not applied), and the member keeps its partitions (no rebalance, although the outage is longer
 * than the 4 s session timeout). After it, the worker catches up by itself: the totals are exact.
 */
import * as Net from "node:net"
import type { Document } from "mongodb"
import { describe, expect, it } from "vitest"
import { committedOffsets, endOffsets, members, useKafka } from "../kafka/support.ts"
import { groupBySum } from "../mongo/support.ts"
import { ddbEndpoint, eventually } from "../support/services.ts"
import {
  assignments,
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
  storedTotals,
  useServers,
  waitFor
} from "./support.ts"

const client = useServers(["mongo", "kafka", "dynamodb"])
const { admin } = useKafka()

/** A TCP proxy in front of the real DynamoDB server that can be cut (connections refused by closing them) and restored. */
const proxy = async (target: URL) => {
  const sockets = new Set<Net.Socket>()
  const state = { down: false, refused: 0 }
  const server = Net.createServer((client) => {
    client.on("error", () => undefined)
    if (state.down) {
      state.refused++
      client.destroy()
      return
    }
    const upstream = Net.connect({ host: target.hostname, port: Number(target.port) })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
      s.on("error", () => undefined)
    }
    client.pipe(upstream).pipe(client)
    client.on("close", () => upstream.destroy())
    upstream.on("close", () => client.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const port = (server.address() as Net.AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    cut: () => {
      state.down = true
      for (const s of sockets) s.destroy()
    },
    restore: () => {
      state.down = false
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + Math.max(0, b), 0)

describe("orderstats end to end: a DynamoDB outage", () => {
  it("the worker retries, commits nothing it did not apply, keeps its partitions and catches up: exact", async () => {
    const started = Date.now()
    const s = scenario("e2eout", {
      extra: {
        LIVE_SOURCE: "kafka",
        KAFKA_TOPIC_PARTITIONS: "3",
        KAFKA_SESSION_TIMEOUT_MS: "4000",
        KAFKA_REBALANCE_TIMEOUT_MS: "10000",
        KAFKA_HEARTBEAT_INTERVAL_MS: "500"
      }
    })
    const orders = client.db(s.db).collection<Document>(s.collection)
    const cut = await proxy(new URL(ddbEndpoint()))
    try {
      const relay = start("relay", s.env)
      await waitFor(relay, /relay \S+: starting/)
      await runToEnd("seed", s.env, ["--count", "1000", "--customers", "30", "--seed", "61"])
      const writer = start("seed", s.env, ["--writer", "--rate", "40", "--customers", "30", "--seed", "62"], "writer")
      await waitFor(writer, /writing to/)
      const boot = JSON.parse(await runToEnd("bootstrap", s.env, ["--json"])) as BootstrapSummary
      const worker = start("worker", { ...s.env, DDB_ENDPOINT: cut.url }, [], "worker")
      await waitFor(worker, /assigned generation/)
      // the worker has applied and committed the snapshot-era records of every partition
      await eventually("first commits", async () => {
        const c = await committedOffsets(admin, s.group, s.topic)
        return c.length === 3 && c.every((o) => o > 0) ? c : undefined
      }, 60_000, 200)
      expect(assignments(worker)).toBe(1)

      cut.cut()
      const cutAt = Date.now()
      // a batch applied just before the cut may still get its (pipelined) commit, and a batch with
      // nothing for the store (only skips) commits without it: look after 2.5 s
      await sleep(2_500)
      const during1 = await committedOffsets(admin, s.group, s.topic)
      await sleep(4_000)
      const during2 = await committedOffsets(admin, s.group, s.topic)
      const endDuring = await endOffsets(admin, s.topic)
      const group = await members(admin, s.group)
      const refused = cut.state.refused
      cut.restore()
      const outageMs = Date.now() - cutAt

      expect(during2).toEqual(during1)
      expect(sum(endDuring)).toBeGreaterThan(sum(during2))
      expect(refused).toBeGreaterThan(0)
      expect(group.members).toBe(1)
      expect(worker.alive(), worker.stderr()).toBe(true)

      await sleep(2_000)
      const counts = await stopWriter(writer)
      await quiesce(orders, s.table, { kafka: { admin, group: s.group, topic: s.topic } })
      const reference = await groupBySum(orders)
      expect(differences(await storedTotals(s.table), reference.totals)).toEqual([])
      expect(await perDayDifferences(s.table, orders)).toEqual([])
      // the same member all along: no rebalance, no restart
      expect(assignments(worker)).toBe(1)
      expect(worker.alive()).toBe(true)
      expect((await stop(worker)).code, worker.stderr()).toBe(0)
      expect((await stop(relay)).code, relay.stderr()).toBe(0)
      console.log(
        `e2e DynamoDB outage: ${boot.documents} orders bootstrapped, ${counts.changes} concurrent changes, outage ${outageMs} ms ` +
          `(${refused} connection attempts refused, committed offsets held at ${sum(during2)} while the topic reached ${sum(endDuring)}), ` +
          `1 assignment, ${reference.documents} final documents, exact; ${Date.now() - started} ms`
      )
    } finally {
      await cut.close()
    }
  }, 150_000)
})

/**
 * Several worker processes in one consumer group, sharing one embedded SQLite store, while a
 * generated history is being produced: two workers start, one is killed with SIGKILL mid-run and
 * restarted, a third joins, one stops with SIGTERM mid-run (rebalances each time). When the group
 * has committed everything the workers are stopped with SIGTERM (they leave the group at once), and
 * the totals in the store must equal the group-by-sum of the final documents; the dead-letter topic
 * must hold every malformed record (a replay after the kill may write a dead letter twice: Kafka
 * cannot refuse duplicates).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, References } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { generate, nonZero, reference } from "../support/history.ts"
import * as Rand from "../support/random.ts"
import { eventually, uniqueName } from "../support/services.ts"
import { assignments, sleep, startWorker, type WorkerProcess } from "./processes.ts"
import { adapters, createTopic, members, type Placed, produce, quiescent, readTopic, useKafka } from "./support.ts"

const { k, admin, producer } = useKafka()
let dir = ""
const workers: Array<WorkerProcess> = []

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kafka-group-"))
})

afterAll(() => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL")
  if (dir !== "") rmSync(dir, { recursive: true, force: true })
})

const report = (w: WorkerProcess) => `${w.name}: ${w.lines.map((l) => l.message).join(" | ")}\n${w.stderr()}`

describe.each(adapters)("a consumer group of worker processes (real broker, SIGKILL, rebalances, $name)", (adapter) => {
  it("keeps the totals exact through a SIGKILL, a restart, a member joining and one leaving", async () => {
    const seed = 4242
    const r = Rand.make(seed)
    const started = Date.now()
    const partitions = 6
    const history = generate(seed, { docs: 3000, ops: 12_000, customers: 15 })
    const topic = uniqueName("orders")
    const dlq = uniqueName("orders-dlq")
    const groupId = uniqueName("orderstats")
    const db = join(dir, `orderstats-${adapter.name}.sqlite`)
    await createTopic(admin, topic, partitions)
    await createTopic(admin, dlq, 2)
    const settings = { topic, groupId, dlq, db, sessionTimeoutMs: 6_000, adapter: adapter.name }
    const spawnWorker = (name: string) => {
      const w = startWorker(name, settings)
      workers.push(w)
      return w
    }

    const a = spawnWorker("A")
    const b = spawnWorker("B")
    await eventually("A and B to share the partitions", async () => {
      if (assignments(a).length === 0 || assignments(b).length === 0) return undefined
      const g = await members(admin, groupId)
      return g.state === "Stable" && g.members === 2 ? true : undefined
    }, 60_000, 100)

    // produce the history in slices in the background while the group works
    const slices = 200
    const per = Math.ceil(history.log.length / slices)
    const next = Array.from({ length: partitions }, () => -1)
    const placed: Array<Placed> = []
    let sent = 0
    const producing = (async () => {
      for (let i = 0; i < slices; i++) {
        placed.push(...await produce(producer, topic, partitions, history.log.slice(i * per, (i + 1) * per), next))
        sent = Math.min(history.log.length, (i + 1) * per)
        await sleep(80)
      }
    })()
    /** A stable group of `n` members in which `w` holds an assignment. */
    const stable = (n: number, w: WorkerProcess) =>
      eventually(`a stable group of ${n} with ${w.name} assigned`, async () => {
        if (assignments(w).length === 0) return undefined
        const g = await members(admin, groupId)
        return g.state === "Stable" && g.members === n ? true : undefined
      }, 60_000, 100)

    // SIGKILL A mid-run (after it folded and committed some batches), then restart it
    await sleep(r.int(1500, 3000))
    expect(assignments(a).length).toBeGreaterThan(0)
    a.child.kill("SIGKILL")
    const killedAfter = Date.now() - started
    const sentAtKill = sent
    const killed = await a.exited
    expect(killed.signal).toBe("SIGKILL")
    await sleep(r.int(200, 800))
    const a2 = spawnWorker("A2")
    await stable(2, a2) // B and A2, once A's session has expired
    // a third worker joins: another rebalance
    await sleep(r.int(500, 1500))
    const c = spawnWorker("C")
    await stable(3, c)
    const sentAtJoin = sent
    // B stops gracefully mid-run: it leaves the group, the others take over without a session timeout
    await sleep(r.int(300, 1000))
    // counted before B leaves: the others may be assigned again before B's process has exited
    const assignedBefore = assignments(c).length
    const leaving = Date.now()
    b.child.kill("SIGTERM")
    expect((await b.exited).code, report(b)).toBe(130)
    await eventually("the partitions of B to move", async () => {
      if (assignments(c).length === assignedBefore) return undefined
      const g = await members(admin, groupId)
      return g.state === "Stable" && g.members === 2 ? true : undefined
    }, 20_000, 50).catch(async (error) => {
      throw new Error(`${String(error)} (group ${JSON.stringify(await members(admin, groupId))})\n${workers.map(report).join("\n")}`)
    })
    const movedMs = Date.now() - leaving
    const sentAtLeave = sent
    await producing

    let end: Array<number>
    try {
      end = await quiescent(admin, groupId, topic, 120_000)
    } catch (error) {
      throw new Error(`${String(error)}\n${workers.map(report).join("\n")}`)
    }
    const elapsed = Date.now() - started
    expect(end.reduce((x, y) => x + y, 0)).toBe(history.log.length)
    const live = [a2, c]
    expect((await members(admin, groupId)).members).toBe(2)

    // graceful shutdown of every worker: interrupted, they leave the group
    const stopping = Date.now()
    for (const w of live) w.child.kill("SIGTERM")
    const exits = await Promise.all(live.map((w) => w.exited))
    const stopMs = Date.now() - stopping
    for (const [i, e] of exits.entries()) expect(e.code, report(live[i]!)).toBe(130)
    const refused = [a, b, a2, c].flatMap((w) => w.lines).filter((l) => l.message.includes("offsets not committed")).length
    expect((await members(admin, groupId)).members).toBe(0)

    const totals = await Effect.runPromise(
      Aggregates.use((agg) => agg.all(orderTotals)).pipe(
        Effect.provide(Embedded.layer({ path: db })),
        Effect.provide(Layer.succeed(References.MinimumLogLevel, "Warn"))
      )
    )
    expect(nonZero(totals as ReadonlyMap<string, number>)).toEqual(nonZero(reference(history.final)))

    const letters = await readTopic(k, admin, dlq)
    const malformed = placed.filter((p) => p.record.deadLetter)
    const byPosition = new Map<string, Placed>(placed.map((p) => [`${p.partition}/${p.offset}`, p]))
    for (const l of letters) {
      const origin = byPosition.get(`${l.headers["dlq-partition"]}/${l.headers["dlq-offset"]}`)
      expect(origin?.record.deadLetter).toBe(true)
      expect([l.key, l.value]).toEqual([origin?.record.key, origin?.record.value])
    }
    const distinct = new Set(letters.map((l) => `${l.headers["dlq-partition"]}/${l.headers["dlq-offset"]}`))
    expect([...distinct].sort()).toEqual(malformed.map((p) => `${p.partition}/${p.offset}`).sort())

    const rebalances = [a, b, a2, c].map((w) => `${w.name} ${assignments(w).length}`).join(", ")
    console.log(
      `consumer group (${adapter.name}): ${history.log.length} records on ${partitions} partitions (${history.final.size} documents left, ${reference(history.final).size} customers), 4 worker processes (A killed with SIGKILL at ${killedAfter} ms after ${sentAtKill} records were sent, ` +
        `restarted as A2, C joined after ${sentAtJoin}, B stopped with SIGTERM after ${sentAtLeave}: its partitions moved in ${movedMs} ms), ` +
        `assignments per worker: ${rebalances}; ${refused} commits refused after revocations; ${malformed.length} malformed records, ` +
        `${letters.length} dead-letter records (${letters.length - distinct.size} duplicates from replays); quiescent after ${elapsed} ms; ` +
        `SIGTERM to exit for the last 2 workers: ${stopMs} ms`
    )
  }, 240_000)
})

/**
 * orderstats end to end through the MongoDB change stream, on the real servers (mongo-java-server,
 * dynalite, Valkey/Redis), with the binaries as child processes:
 *
 * 1. seed, bootstrap while a writer keeps inserting, updating amounts, moving orders between
 *    customers and between days, replacing, deleting and re-inserting; the live worker; more
 *    writes; at quiescence the totals in DynamoDB equal a group-by-sum over the collection, to the
 *    cent, and the per-day pipelines of the same pass equal group-bys by customer and UTC day
 *    (revenue to the cent, distinct customers and top 10 exactly); totals and the last 7 days read
 *    through the cache, before and after a customer move and a day move (the worker invalidates);
 *    SIGTERM stops the worker with exit code 0.
 * 2. the same with SIGKILLs: the bootstrap in the middle of its scan (rerun: it resumes), the
 *    worker at random moments (rerun: it resumes from its token, finishing a staged batch).
 */
import type { Collection, Document } from "mongodb"
import { describe, expect, it } from "vitest"
import { deadLetterProblems, groupBySum } from "../mongo/support.ts"
import * as Rand from "../support/random.ts"
import {
  type BootstrapSummary,
  bootstrapWithKills,
  countDifferences,
  differences,
  lastDays,
  MARKER_CUSTOMER,
  perDayDifferences,
  perDayReference,
  phases,
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

const client = useServers(["mongo", "dynamodb", "redis"])

const pick = (totals: Record<string, number>, keys: ReadonlyArray<string>) =>
  Object.fromEntries(keys.filter((k) => totals[k] !== undefined).map((k) => [k, totals[k]!]))

/**
 * `totals.js --json --days 7` of `customers` (through the cache), checked against the last 7 UTC
 * days of a group-by over the collection; with a reference on each side of the read, so that a
 * run across midnight (UTC) compares with the week the binary saw.
 */
const lastWeek = async (env: Record<string, string>, customers: ReadonlyArray<string>, orders: Collection<Document>): Promise<Record<string, number>> => {
  const before = pick(lastDays(await perDayReference(orders), 7), customers)
  const read = JSON.parse(await runToEnd("totals", env, ["--json", "--days", "7", ...customers])) as { totals: Record<string, number>; days: number }
  const after = pick(lastDays(await perDayReference(orders), 7), customers)
  expect(read.days).toBe(7)
  expect([before, after]).toContainEqual(read.totals)
  return read.totals
}

describe("orderstats end to end: change stream -> DynamoDB", () => {
  it("bootstrap under a concurrent writer, then live: exact to the cent", async () => {
    const started = Date.now()
    const s = scenario("e2ecs", { cache: true })
    const orders = client.db(s.db).collection<Document>(s.collection)
    const ORDERS = 1500
    const INVALID = 3
    await runToEnd("seed", s.env, ["--count", String(ORDERS), "--invalid", String(INVALID), "--customers", "40", "--seed", "11"])
    const writer = start("seed", s.env, ["--writer", "--rate", "60", "--customers", "40", "--seed", "12"], "writer")
    await waitFor(writer, /writing to/)

    const boot = JSON.parse(await runToEnd("bootstrap", s.env, ["--json"])) as BootstrapSummary
    expect(boot.alreadyDone).toBe(false)
    expect(boot.documents).toBeGreaterThanOrEqual(ORDERS + INVALID - 400)
    // the seed's invalid orders, and those the writer made invalid before the scan read them
    expect(boot.deadLetters).toBeGreaterThanOrEqual(INVALID)

    const worker = start("worker", s.env)
    await waitFor(worker, /change stream \S+: starting at cluster time/)
    await sleep(3_000)
    const counts = await stopWriter(writer)
    await quiesce(orders, s.table)

    const reference = await groupBySum(orders)
    const stored = await storedTotals(s.table)
    expect(differences(stored, reference.totals)).toEqual([])
    // the other five pipelines of the same pass: the counts, and the per-day ones
    expect(await countDifferences(s.table, orders)).toEqual([])
    expect(await perDayDifferences(s.table, orders)).toEqual([])
    const perDay = await perDayReference(orders)
    // orders of the last 5 days (seed.ts), and more than the top 10 customers on each day
    expect(Object.keys(perDay.distinct).length).toBeGreaterThanOrEqual(5)
    expect(Object.values(perDay.distinct).filter((n) => n > 10).length).toBeGreaterThanOrEqual(5)
    expect(Object.keys(stored).length).toBeGreaterThan(30)
    expect(counts.redates).toBeGreaterThan(0)

    // the query side through the cache: fill it, change two customers, read again
    const [a, b] = Object.keys(reference.totals).filter((c) => c !== MARKER_CUSTOMER)
    const who = [a!, b!, MARKER_CUSTOMER]
    const cached1 = JSON.parse(await runToEnd("totals", s.env, ["--json", ...who])).totals
    expect(cached1).toEqual(pick(reference.totals, who))
    const week1 = await lastWeek(s.env, who, orders)
    // a customer move, and a move of another order of the same customer to a day 10 days ago (out of the last 7)
    const valid = { amount: { $gt: 0 }, invalid: { $exists: false }, madeInvalid: { $exists: false } }
    const moved = await orders.findOne({ customer_id: a!, ...valid })
    await orders.updateOne({ _id: moved!._id }, { $set: { customer_id: b!, rev: -1 } })
    const redated = await orders.findOne({ customer_id: a!, _id: { $ne: moved!._id }, created_at: { $gte: new Date(Date.now() - 3 * 86_400_000).toISOString() }, ...valid })
    await orders.updateOne({ _id: redated!._id }, { $set: { created_at: new Date(Date.now() - 10 * 86_400_000).toISOString(), rev: -2 } })
    await quiesce(orders, s.table)
    const after = await groupBySum(orders)
    expect(after.totals[a!]).not.toBe(reference.totals[a!])
    const cached2 = JSON.parse(await runToEnd("totals", s.env, ["--json", ...who])).totals
    expect(cached2).toEqual(pick(after.totals, who))
    expect(differences(await storedTotals(s.table), after.totals)).toEqual([])
    const week2 = await lastWeek(s.env, who, orders)
    expect(week2[a!]).toBe((week1[a!] ?? 0) - moved!.amount - redated!.amount)
    expect(await perDayDifferences(s.table, orders)).toEqual([])

    // the writer made orders invalid and valid again: every invalid state is a dead letter, nothing else is
    expect(counts.invalidations).toBeGreaterThan(0)
    const letters = await storedDeadLetters(s.table)
    expect(letters.length).toBeGreaterThanOrEqual(INVALID)
    for (const l of letters) expect(l.reason).toMatch(/schema/)
    expect(await deadLetterProblems(orders, letters)).toEqual([])

    expect(worker.alive()).toBe(true)
    const exit = await stop(worker)
    expect(exit.code, worker.stderr()).toBe(0)
    console.log(
      `e2e change stream: ${ORDERS} orders + ${INVALID} invalid, ${counts.changes} concurrent changes ${JSON.stringify(counts)}, ` +
        `bootstrap ${boot.documents} documents in ${boot.elapsedMs} ms, ${after.documents} final documents, ` +
        `${Object.keys(after.totals).length} customers, ${Object.keys(perDay.revenue).length} customer-days over ` +
        `${Object.keys(perDay.distinct).length} days, ${letters.length} dead letters, exact; ${Date.now() - started} ms`
    )
  }, 150_000)

  it("SIGKILL in the middle of the scan and of the live stream: exact to the cent", async () => {
    const t = phases()
    const r = Rand.make(7071)
    const s = scenario("e2ecsk")
    const orders = client.db(s.db).collection<Document>(s.collection)
    const ORDERS = 2000
    const INVALID = 2
    await runToEnd("seed", s.env, ["--count", String(ORDERS), "--invalid", String(INVALID), "--customers", "40", "--seed", "21"])
    const writer = start("seed", s.env, ["--writer", "--rate", "60", "--customers", "40", "--seed", "22"], "writer")
    await waitFor(writer, /writing to/)
    t.mark("seed")

    const boot = await bootstrapWithKills(s, 2, () => r.int(0, 600))
    t.mark("bootstrap")
    expect(boot.kills).toBeGreaterThanOrEqual(2)
    expect(boot.resumes).toBeGreaterThanOrEqual(2)
    expect(boot.summary.deadLetters).toBeGreaterThanOrEqual(INVALID)

    let workerKills = 0
    let staged = 0
    for (let i = 0; i < 3; i++) {
      const worker = start("worker", s.env, [], `worker-${i}`)
      await waitFor(worker, /change stream \S+: starting/)
      await sleep(r.int(300, 2500))
      expect(worker.alive(), worker.stderr()).toBe(true)
      worker.child.kill("SIGKILL")
      await worker.exited
      workerKills++
      if (/finishing a staged batch/.test(worker.stderr())) staged++
    }
    t.mark("killed workers")
    const counts = await stopWriter(writer)
    // the last run catches up and stops once the stream has been idle for 2 s
    const last = start("worker", { ...s.env, STOP_WHEN_IDLE_MS: "2000" }, ["--json"], "worker-last")
    const exit = await last.exited
    expect(exit.code, last.stderr()).toBe(0)
    if (/finishing a staged batch/.test(last.stderr())) staged++
    const live = JSON.parse(last.stdout().trim()).live as { records: number }
    t.mark("last worker")

    const reference = await groupBySum(orders)
    expect(differences(await storedTotals(s.table), reference.totals)).toEqual([])
    expect(await perDayDifferences(s.table, orders)).toEqual([])
    expect(await deadLetterProblems(orders, await storedDeadLetters(s.table))).toEqual([])
    console.log(
      `e2e change stream with kills: ${ORDERS} orders, ${counts.changes} concurrent changes, bootstrap SIGKILLed ${boot.kills} times ` +
        `(${boot.resumes} resumed scans, ${boot.summary.documents} documents), worker SIGKILLed ${workerKills} times ` +
        `(${staged} staged batches finished), last run ${live.records} records, ${reference.documents} final documents, exact; ${t}`
    )
  }, 180_000)
})

/**
 * The orderstats command line, run as a child process: the sample data, resuming with --state,
 * user files, bad flags, and SIGKILL at random moments followed by reruns until it completes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as DebeziumHistory from "../support/debeziumHistory.ts"
import { generate, nonZero, perCustomer, perStatus, reference } from "../support/history.ts"
import * as Rand from "../support/random.ts"
import { ensureBuilt, run } from "../support/cli.ts"

let main = ""
let dir = ""

beforeAll(() => {
  main = ensureBuilt("main.js")
  dir = mkdtempSync(join(tmpdir(), "orderstats-cli-"))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// o5 (cust-d, 750 in the snapshot) is updated to an amount of "7.50": an invalid final state, so
// cust-d's total is what a bootstrap of the final documents gives, 0 (and it is dead-lettered)
const SAMPLE_TOTALS = { "cust-a": 12000, "cust-c": 9699 }
// the other two pipelines of the same pass: every final order counts (o5's and o6's amounts are invalid)
const SAMPLE_PER_STATUS = { cancelled: 1, new: 3, paid: 1, shipped: 1 }
const SAMPLE_PER_CUSTOMER = { "cust-a": 1, "cust-b": 1, "cust-c": 3, "cust-d": 1 }
// the per-day pipelines, as of the recording's end (2023-11-14T22:13:30Z), over the final orders:
// o1 cust-a 12000, moved by its update from 2023-11-12T23:50Z to 2023-11-13T00:10Z (2023-11-12 is
// left empty); o3 cust-c 2500 has no created_at (in the totals, in no day); o4 cust-c 2999 on
// 2023-11-02 (12 days before: not in the last 7 days); o7 cust-c 4200 on 2023-11-14; o5 cust-d
// (amount "7.50") and o6 cust-b (12.5) count as customers of their days, with no revenue; o2 and o8
// (2023-11-14) are deleted
const SAMPLE_REVENUE_PER_DAY = { "cust-a": { "2023-11-13": 12000 }, "cust-c": { "2023-11-02": 2999, "2023-11-14": 4200 } }
const SAMPLE_LAST_7_DAYS = { "cust-a": 12000, "cust-c": 4200 }
const SAMPLE_DISTINCT_PER_DAY = { "2023-11-02": 1, "2023-11-11": 1, "2023-11-13": 1, "2023-11-14": 2 }
const SAMPLE_TOP_PER_DAY = { "2023-11-02": [["cust-c", 2999]], "2023-11-13": [["cust-a", 12000]], "2023-11-14": [["cust-c", 4200]] }

interface Output {
  readonly totals: Record<string, number>
  readonly perStatus: Record<string, number>
  readonly ordersPerCustomer: Record<string, number>
  readonly revenuePerDay: Record<string, Record<string, number>>
  readonly revenueLast7Days: Record<string, number>
  readonly distinctCustomersPerDay: Record<string, number>
  readonly top10PerDay: Record<string, ReadonlyArray<readonly [string, number]>>
  readonly asOf: string
  readonly bootstrap: { readonly pipelines: Record<string, { readonly expired: number }> } | null
  readonly live: { readonly pipelines: Record<string, { readonly expired: number }> } | null
  readonly deadLettersPerPipeline: Record<string, number>
  readonly deadLetters: number
  readonly handoff: string
}

const parse = (stdout: string): Output => {
  const lines = stdout.trim().split("\n")
  expect(lines).toHaveLength(1)
  return JSON.parse(lines[0]!) as Output
}

describe("orderstats main.js", () => {
  it("folds the shipped sample (updates, a move, deletes, a redelivery, an order turned invalid, malformed lines) exactly", async () => {
    const r = await run(main, ["--json"])
    expect(r.code).toBe(0)
    const out = parse(r.stdout)
    expect(out.totals).toEqual(SAMPLE_TOTALS)
    expect(out.perStatus).toEqual(SAMPLE_PER_STATUS)
    expect(out.ordersPerCustomer).toEqual(SAMPLE_PER_CUSTOMER)
    expect(out.deadLetters).toBe(4)
    // the records without a document state are dead letters of every pipeline; the invalid amounts
    // of the totals and of the per-day revenue and top customers; o3's three states (snapshot,
    // move, redelivered move) of every per-day pipeline: it has no created_at
    expect(out.deadLettersPerPipeline).toEqual({
      order_totals: 4,
      orders_per_status: 2,
      orders_per_customer: 2,
      revenue_per_day: 7,
      customers_per_day: 5,
      top_customers_per_day: 7
    })
    expect(out.handoff).toBe("1700000000000:5")
  })

  it("folds the sample's per-day windows in the same pass, as of the end of its recording", async () => {
    const r = await run(main, ["--json"])
    expect(r.code, r.stderr).toBe(0)
    const out = parse(r.stdout)
    expect(out.revenuePerDay).toEqual(SAMPLE_REVENUE_PER_DAY)
    expect(out.revenueLast7Days).toEqual(SAMPLE_LAST_7_DAYS)
    expect(out.distinctCustomersPerDay).toEqual(SAMPLE_DISTINCT_PER_DAY)
    expect(out.top10PerDay).toEqual(SAMPLE_TOP_PER_DAY)
    // the clock is set back to the recording's end, and runs on from there
    const asOf = Date.parse(out.asOf)
    expect(asOf).toBeGreaterThanOrEqual(Date.parse("2023-11-14T22:13:30Z"))
    expect(asOf).toBeLessThan(Date.parse("2023-11-14T22:15:00Z"))
  })

  it("--now: the same files as of another instant (the last 7 days move; a day past the retention is gone)", async () => {
    // 2023-11-20: the last 7 days are 11-14..11-20, so only o7's 11-14 counts
    const week = parse((await run(main, ["--json", "--now", "2023-11-20T12:00:00Z"])).stdout)
    expect(week.revenuePerDay).toEqual(SAMPLE_REVENUE_PER_DAY)
    expect(week.revenueLast7Days).toEqual({ "cust-c": 4200 })
    expect(Date.parse(week.asOf)).toBeGreaterThanOrEqual(Date.parse("2023-11-20T12:00:00Z"))
    // 2024-02-01: 2023-11-02 ended (2023-11-03T00:00Z) 90 days before, its retention is over: o4
    // is in no day (its snapshot row and its update counted as expired, never written); the totals
    // are unchanged
    const later = parse((await run(main, ["--json", "--now", "2024-02-01T00:00:00Z"])).stdout)
    expect(later.totals).toEqual(SAMPLE_TOTALS)
    expect(later.revenuePerDay).toEqual({ "cust-a": { "2023-11-13": 12000 }, "cust-c": { "2023-11-14": 4200 } })
    expect(later.distinctCustomersPerDay).toEqual({ "2023-11-11": 1, "2023-11-13": 1, "2023-11-14": 2 })
    expect(later.revenueLast7Days).toEqual({})
    expect([later.bootstrap?.pipelines["revenue_per_day"]?.expired, later.live?.pipelines["revenue_per_day"]?.expired]).toEqual([1, 1])
    const bad = await run(main, ["--now", "yesterday"])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/--now must be an ISO-8601 date and time with its offset/)
  })

  it("prints a readable table without --json", async () => {
    const r = await run(main, [])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/cust-a\s+120\.00\s+12000/)
    expect(r.stdout).toMatch(/cust-c\s+96\.99\s+9699/)
    // the totals table (before the counts): cust-b's only order is invalid, so it has no total
    expect(r.stdout.split("\n\n")[0]).not.toMatch(/cust-b/)
    expect(r.stdout).toMatch(/new\s+3/)
    // the per-day tables: a column per day, the last 7 days; the distinct and top customers per day
    expect(r.stdout).toMatch(/^per UTC day of created_at, kept 90 days, as of 2023-11-14T22:1\d:\d\dZ, the end of the sample's recording/m)
    expect(r.stdout).toMatch(/^customer\s+2023-11-02\s+2023-11-13\s+2023-11-14\s+last 7 days$/m)
    expect(r.stdout).toMatch(/^cust-c\s+29\.99\s+42\.00\s+42\.00$/m)
    expect(r.stdout).toMatch(/^2023-11-14\s+2\s+cust-c 42\.00$/m)
    expect(r.stdout).toMatch(/^dead letters of revenue_per_day besides those: 3$/m)
    expect(r.stdout).toMatch(/snapshot\.jsonl line 3 \(document "o3"\): .*Missing key at \["created_at"\]$/m)
    expect(r.stdout).toMatch(/changes\.jsonl line 4 \(document "o3"\): .*Missing key at \["created_at"\]$/m)
  })

  it("with --state, a second run resumes: same totals, nothing folded twice", async () => {
    const state = join(dir, "resume")
    const first = parse((await run(main, ["--json", "--state", state])).stdout)
    const second = await run(main, ["--json", "--state", state])
    expect(second.code).toBe(0)
    const out = parse(second.stdout)
    expect(first.totals).toEqual(SAMPLE_TOTALS)
    expect(out.totals).toEqual(SAMPLE_TOTALS)
    expect(out.revenuePerDay).toEqual(SAMPLE_REVENUE_PER_DAY)
    expect(out.distinctCustomersPerDay).toEqual(SAMPLE_DISTINCT_PER_DAY)
    expect(out.top10PerDay).toEqual(SAMPLE_TOP_PER_DAY)
    expect(out.deadLetters).toBe(0)
  })

  it("rejects bad flags with a message and a non-zero exit", async () => {
    const noPosition = await run(main, ["--snapshot", join(dir, "x.jsonl")])
    expect(noPosition.code).not.toBe(0)
    const badPosition = await run(main, ["--changes", join(dir, "x.jsonl"), "--snapshot-position", "yesterday"])
    expect(badPosition.code).not.toBe(0)
    expect(badPosition.stderr).toMatch(/TS_MS:ORD|no such file/)
    const unknown = await run(main, ["--frobnicate"])
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr).toMatch(/usage/)
  })

  it("Debezium records of capture.mode=change_streams (updates without the document): exact with KEEP_DOCUMENTS=true", async () => {
    const history = DebeziumHistory.generate(5, {
      version: "3.6",
      capture: "change_streams",
      schemasEnable: false,
      wallTime: false,
      transactions: false,
      mixed: false,
      bootstrap: "ours",
      keepDocuments: true
    })
    expect(history.stateless).toBe(0)
    const snapshot = join(dir, "dbz-snapshot.jsonl")
    const changes = join(dir, "dbz-changes.jsonl")
    writeFileSync(snapshot, history.snapshot.map((row) => row.text).join("\n") + "\n")
    writeFileSync(changes, history.log.map((r) => JSON.stringify({ key: r.key, value: r.value })).join("\n") + "\n")
    const args = ["--json", "--snapshot", snapshot, "--changes", changes, "--snapshot-position", `${history.p0[0]}:${history.p0[1]}`]
    const kept = await run(main, [...args, "--state", join(dir, "dbz-kept")], { env: { KEEP_DOCUMENTS: "true" } })
    expect(kept.code, kept.stderr).toBe(0)
    expect(parse(kept.stdout).totals).toEqual(Object.fromEntries(DebeziumHistory.referenceByCustomer(history.final)))
    // without it every update is refused with the reason: the totals miss them
    const refused = await run(main, [...args, "--state", join(dir, "dbz-refused")])
    expect(refused.code, refused.stderr).toBe(0)
    const out = parse(refused.stdout)
    // updates (not replaces, which carry the document)
    const updates = history.log.filter((r) => r.value !== null && JSON.parse(r.value).op === "u" && JSON.parse(r.value).after === null).length
    expect(updates).toBeGreaterThan(0)
    expect(out.deadLetters).toBeGreaterThanOrEqual(updates)
    expect(out.totals).not.toEqual(Object.fromEntries(DebeziumHistory.referenceByCustomer(history.final)))
  })

  describe("a generated history in files, killed with SIGKILL at random moments", () => {
    const history = generate(20261130, { docs: 4000, ops: 40000, customers: 40 })
    const expected = nonZero(reference(history.final))
    let snapshot = ""
    let changes = ""
    let position = ""

    beforeAll(() => {
      snapshot = join(dir, "snapshot.jsonl")
      changes = join(dir, "changes.jsonl")
      position = `${history.p0[0]}:${history.p0[1]}`
      writeFileSync(snapshot, history.snapshot.map((row) => row.text).join("\n") + "\n")
      writeFileSync(changes, history.log.map((r) => JSON.stringify({ key: r.key, value: r.value })).join("\n") + "\n")
    })

    it("an uninterrupted run is exact", async () => {
      const r = await run(main, ["--json", "--snapshot", snapshot, "--changes", changes, "--snapshot-position", position, "--state", join(dir, "clean")])
      expect(r.code).toBe(0)
      const out = parse(r.stdout)
      expect(out.totals).toEqual(expected)
      expect(out.perStatus).toEqual(nonZero(perStatus(history.final)))
      expect(out.ordersPerCustomer).toEqual(nonZero(perCustomer(history.final)))
      // the change records without a valid state, and the snapshot's invalid documents
      expect(out.deadLetters).toBe(history.malformed + history.snapshot.filter((row) => !row.valid).length)
      // these orders predate created_at: the per-day pipelines dead-letter every state, and hold nothing
      expect(out.revenuePerDay).toEqual({})
      expect(out.distinctCustomersPerDay).toEqual({})
      expect(out.deadLettersPerPipeline["revenue_per_day"]).toBeGreaterThan(out.deadLetters)
    })

    it("killed and rerun with the same --state until it completes: exact", async () => {
      const random = Rand.make(7)
      const state = join(dir, "killed")
      const args = ["--json", "--snapshot", snapshot, "--changes", changes, "--snapshot-position", position, "--state", state]
      let kills = 0
      let last = await run(main, args, { killAfterMs: random.int(120, 700) })
      while (last.signal === "SIGKILL" && kills < 40) {
        kills++
        last = await run(main, args, kills < 12 ? { killAfterMs: random.int(120, 700) } : {})
      }
      expect(last.code).toBe(0)
      expect(kills).toBeGreaterThan(0)
      expect(parse(last.stdout).totals).toEqual(expected)
      console.log(`orderstats: ${history.snapshot.length} snapshot documents, ${history.log.length} change records, ${kills} SIGKILLs, exact`)
    })
  })
})

/**
 * The per-day pipelines of orderstats (revenue per customer and UTC day, distinct customers per
 * day, top 10 customers by revenue per day; 90-day retention), run by `main.js` on generated files
 * and compared with plain computations over the final documents: every day's sums to the cent,
 * the last 7 days, the distinct counts and the top lists exactly (all three are exact structures).
 * The history moves orders between customers and between days (`created_at` updates, some across
 * a UTC midnight written with another offset), changes amounts, deletes, re-inserts, redelivers,
 * and gives orders a `created_at` the per-day pipelines refuse (text that is no instant, a date
 * alone, a time without offset, a number, null, none at all) and days past the retention. The
 * totals of the same pass count every order with a customer and an amount, `created_at` or not.
 * Plus the `created_at` rule itself, in process.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Exit, Schema } from "effect"
import { DatedOrder, isInstant } from "../../examples/orderstats/Order.ts"
import { ensureBuilt, run } from "../support/cli.ts"
import * as Rand from "../support/random.ts"

const DAY = 86_400_000
/** The instant the files are folded as of (`--now`): mid-afternoon, far from any day's end. */
const NOW = Date.parse("2026-03-10T15:00:00Z")
const RETENTION_DAYS = 90
const CUSTOMERS = Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, "0")}`)

/** A document and the instant its `created_at` names, by the generator's own account (undefined: none valid). */
interface State {
  readonly doc: Record<string, unknown>
  readonly at: number | undefined
}

/** `ms` as ISO-8601 text with the given offset in minutes (`Z` for 0). */
const isoAt = (ms: number, offsetMinutes: number): string => {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19)
  if (offsetMinutes === 0) return `${local}Z`
  const sign = offsetMinutes < 0 ? "-" : "+"
  const abs = Math.abs(offsetMinutes)
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`
}

/** A `created_at` (or none), and the instant it names when it names one. */
const createdAt = (r: Rand.Random): { readonly value: unknown; readonly at: number | undefined } | undefined => {
  const roll = r.next()
  if (roll < 0.6) {
    const at = NOW - r.int(0, 12 * 24 * 60) * 60_000
    return { value: isoAt(at, 0), at }
  }
  if (roll < 0.75) {
    // near a UTC midnight, written in another offset: the local date is not the UTC day
    const midnight = Math.floor((NOW - r.int(1, 10) * DAY) / DAY) * DAY
    const at = midnight + r.int(-90, 89) * 60_000
    return { value: isoAt(at, r.pick([120, -300, 330])), at }
  }
  if (roll < 0.85) {
    // around the end of the retention: the day 90 days back is kept, the one before has expired
    const at = NOW - r.int(RETENTION_DAYS - 1, RETENTION_DAYS + 2) * DAY - r.int(0, 12 * 60) * 60_000
    return { value: isoAt(at, 0), at }
  }
  const invalid: Array<unknown> = ["yesterday", "2026-03-09", "2026-03-09T10:00:00", 1_773_000_000_000, null, "2026-02-30T10:00:00Z"]
  return roll < 0.95 ? { value: r.pick(invalid), at: undefined } : undefined
}

/** A new state of an order: mostly valid; now and then an amount or a customer the totals refuse. */
const newState = (r: Rand.Random, id: string): State => {
  const time = createdAt(r)
  const roll = r.next()
  const amount = roll < 0.04 ? "12.50" : roll < 0.07 ? r.int(1, 50_000) + 0.5 : r.int(-500, 50_000)
  const doc: Record<string, unknown> = { _id: id, customer_id: r.next() < 0.04 ? "" : r.pick(CUSTOMERS), amount }
  if (time !== undefined) doc["created_at"] = time.value
  return { doc, at: time?.at }
}

/** The generated files, and the final documents. */
interface Files {
  readonly snapshot: ReadonlyArray<string>
  readonly changes: ReadonlyArray<string>
  readonly final: ReadonlyMap<string, State>
  readonly p0: number
}

const envelope = (id: string, ts: number, state: State | undefined, op: "c" | "u" | "d") =>
  JSON.stringify({
    key: { id: JSON.stringify(id) },
    value: {
      op,
      source: { connector: "mongodb", name: "gen", db: "shop", collection: "orders", ts_ms: ts, ord: 1 },
      ts_ms: ts + 7,
      after: state === undefined ? null : JSON.stringify(state.doc)
    }
  })

const generate = (seed: number, docs: number, ops: number): Files => {
  const r = Rand.make(seed)
  const p0 = 1_770_000_000_000
  const current = new Map<string, State>()
  const snapshot: Array<string> = []
  for (let i = 0; i < docs; i++) {
    const state = newState(r, `d${i}`)
    current.set(`d${i}`, state)
    snapshot.push(JSON.stringify(state.doc))
  }
  const changes: Array<string> = []
  const last = new Map<string, string>()
  const deleted: Array<string> = []
  let next = docs
  for (let i = 0; i < ops; i++) {
    const ts = p0 + 1000 * (i + 1)
    const ids = Array.from(current.keys())
    const id = r.pick(ids)
    const before = current.get(id)!
    const roll = r.next()
    let line: string
    if (roll < 0.2) {
      // to another day (or to an invalid or missing created_at, or back to a valid one)
      const time = createdAt(r)
      const doc = { ...before.doc }
      if (time === undefined) delete doc["created_at"]
      else doc["created_at"] = time.value
      const state = { doc, at: time?.at }
      current.set(id, state)
      line = envelope(id, ts, state, "u")
    } else if (roll < 0.35) {
      const state = { doc: { ...before.doc, customer_id: r.pick(CUSTOMERS) }, at: before.at }
      current.set(id, state)
      line = envelope(id, ts, state, "u")
    } else if (roll < 0.5) {
      const state = { doc: { ...before.doc, amount: r.int(-500, 50_000) }, at: before.at }
      current.set(id, state)
      line = envelope(id, ts, state, "u")
    } else if (roll < 0.6) {
      const state = newState(r, id)
      current.set(id, state)
      line = envelope(id, ts, state, "u")
    } else if (roll < 0.7 && ids.length > docs / 2) {
      current.delete(id)
      deleted.push(id)
      line = envelope(id, ts, undefined, "d")
    } else if (roll < 0.8) {
      // a new order, or a deleted one again
      const fresh = deleted.length > 0 && r.next() < 0.5 ? deleted.splice(r.int(0, deleted.length - 1), 1)[0]! : `d${next++}`
      const state = newState(r, fresh)
      current.set(fresh, state)
      line = envelope(fresh, ts, state, "c")
    } else if (last.has(id)) {
      // the document's last record again (a redelivery: its state is the current one)
      line = last.get(id)!
    } else {
      continue
    }
    changes.push(line)
    last.set(JSON.parse(line).key.id.slice(1, -1), line)
  }
  return { snapshot, changes, final: current, p0 }
}

// ---------------------------------------------------------------------------------------------
// the reference: plain computations over the final documents, with this file's own rules

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
const retained = (day: string): boolean => Date.parse(`${day}T00:00:00Z`) + DAY + RETENTION_DAYS * DAY > NOW
const validCustomer = (c: unknown): c is string => typeof c === "string" && c.length > 0
const validAmount = (a: unknown): a is number => typeof a === "number" && Number.isSafeInteger(a)

interface Reference {
  readonly totals: Record<string, number>
  readonly revenuePerDay: Record<string, Record<string, number>>
  readonly revenueLast7Days: Record<string, number>
  readonly distinctCustomersPerDay: Record<string, number>
  readonly top10PerDay: Record<string, Array<[string, number]>>
}

const sortedObject = <V>(entries: Iterable<readonly [string, V]>): Record<string, V> =>
  Object.fromEntries(Array.from(entries).sort(([a], [b]) => (a < b ? -1 : 1)))

const reference = (final: ReadonlyMap<string, State>): Reference => {
  const totals = new Map<string, number>()
  const perDay = new Map<string, Map<string, number>>() // day -> customer -> cents
  const customers = new Map<string, Set<string>>() // day -> customers
  for (const { doc, at } of final.values()) {
    const c = doc["customer_id"]
    const a = doc["amount"]
    if (validCustomer(c) && validAmount(a)) totals.set(c, (totals.get(c) ?? 0) + a)
    if (!validCustomer(c) || at === undefined || !retained(dayOf(at))) continue
    const day = dayOf(at)
    if (!customers.has(day)) customers.set(day, new Set())
    customers.get(day)!.add(c)
    if (!validAmount(a)) continue
    if (!perDay.has(day)) perDay.set(day, new Map())
    perDay.get(day)!.set(c, (perDay.get(day)!.get(c) ?? 0) + a)
  }
  const revenuePerDay: Record<string, Record<string, number>> = {}
  for (const [day, byCustomer] of Array.from(perDay).sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const [c, cents] of byCustomer) if (cents !== 0) (revenuePerDay[c] ??= {})[day] = cents
  }
  const week = new Set(Array.from({ length: 7 }, (_, i) => dayOf(NOW - i * DAY)))
  const last7 = new Map<string, number>()
  for (const [day, byCustomer] of perDay) {
    if (!week.has(day)) continue
    for (const [c, cents] of byCustomer) last7.set(c, (last7.get(c) ?? 0) + cents)
  }
  const top = (byCustomer: ReadonlyMap<string, number>) =>
    Array.from(byCustomer).filter(([, cents]) => cents > 0).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).slice(0, 10)
  return {
    totals: sortedObject(Array.from(totals).filter(([, v]) => v !== 0)),
    revenuePerDay: sortedObject(Object.entries(revenuePerDay)),
    revenueLast7Days: sortedObject(Array.from(last7).filter(([, v]) => v !== 0)),
    distinctCustomersPerDay: sortedObject(Array.from(customers).map(([day, set]) => [day, set.size] as const)),
    top10PerDay: sortedObject(Array.from(perDay).map(([day, byCustomer]) => [day, top(byCustomer)] as const).filter(([, t]) => t.length > 0))
  }
}

// ---------------------------------------------------------------------------------------------

let main = ""
let dir = ""

beforeAll(() => {
  main = ensureBuilt("main.js")
  dir = mkdtempSync(join(tmpdir(), "orderstats-perday-"))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("orderstats per day: generated files against group-bys over the final documents", () => {
  it("revenue per customer and day to the cent, the last 7 days, distinct customers and top 10 per day exactly", async () => {
    const files = generate(20260310, 400, 3000)
    const expected = reference(files.final)
    // the history exercises what it should
    const days = Object.keys(expected.distinctCustomersPerDay)
    expect(days.length).toBeGreaterThan(8)
    expect(Object.values(expected.top10PerDay).some((t) => t.length === 10)).toBe(true)
    expect(Math.max(...Object.values(expected.distinctCustomersPerDay))).toBeGreaterThan(10)
    const finals = Array.from(files.final.values())
    expect(finals.filter((s) => s.at === undefined).length).toBeGreaterThan(10)
    expect(finals.filter((s) => s.at !== undefined && !retained(dayOf(s.at))).length).toBeGreaterThan(5)
    expect(days).toContain(dayOf(NOW - RETENTION_DAYS * DAY))
    expect(Object.keys(expected.revenueLast7Days).length).toBeGreaterThan(10)

    const snapshot = join(dir, "snapshot.jsonl")
    const changes = join(dir, "changes.jsonl")
    writeFileSync(snapshot, files.snapshot.join("\n") + "\n")
    writeFileSync(changes, files.changes.join("\n") + "\n")
    const r = await run(main, [
      "--json",
      "--snapshot", snapshot,
      "--changes", changes,
      "--snapshot-position", `${files.p0}:0`,
      "--now", new Date(NOW).toISOString()
    ])
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as Reference & {
      readonly deadLettersPerPipeline: Record<string, number>
      readonly live: { readonly pipelines: Record<string, { readonly expired: number }> }
    }
    // the totals of the same pass count the orders without a valid created_at too
    expect(out.totals).toEqual(expected.totals)
    expect(out.revenuePerDay).toEqual(expected.revenuePerDay)
    expect(out.revenueLast7Days).toEqual(expected.revenueLast7Days)
    expect(out.distinctCustomersPerDay).toEqual(expected.distinctCustomersPerDay)
    expect(out.top10PerDay).toEqual(expected.top10PerDay)
    // orders without a valid created_at are dead letters of the per-day pipelines; past the retention, not written
    expect(out.deadLettersPerPipeline["revenue_per_day"]).toBeGreaterThan(out.deadLettersPerPipeline["order_totals"]!)
    expect(out.live.pipelines["revenue_per_day"]!.expired).toBeGreaterThan(0)
    console.log(
      `orderstats per day: ${files.snapshot.length} snapshot documents, ${files.changes.length} change records, ${files.final.size} final ` +
        `documents, ${days.length} days, ${Object.keys(expected.revenuePerDay).length} customers with revenue, ` +
        `${out.deadLettersPerPipeline["revenue_per_day"]} dead letters of revenue_per_day, exact`
    )
  }, 60_000)
})

describe("created_at", () => {
  it("is an ISO-8601 instant with its offset; anything else is refused with a reason that says so", () => {
    for (const ok of ["2026-05-01T12:00:00Z", "2026-05-01T12:00Z", "2026-05-01T12:00:00.250Z", "2026-05-01T14:00:00+02:00", "2024-02-29T00:00:00Z"]) {
      expect(isInstant(ok), ok).toBe(true)
    }
    for (const bad of ["yesterday", "2026-05-01", "2026-05-01T12:00:00", "2026-02-30T00:00:00Z", "2026-05-01T24:00:00Z", "2026-13-01T00:00:00Z", " 2026-05-01T12:00:00Z"]) {
      expect(isInstant(bad), bad).toBe(false)
    }
    const decode = Schema.decodeUnknownExit(DatedOrder)
    expect(Exit.isSuccess(decode({ _id: "o1", customer_id: "c", amount: 1, created_at: "2026-05-01T12:00:00Z" }))).toBe(true)
    const refused = decode({ _id: "o1", customer_id: "c", amount: 1, created_at: "yesterday" })
    expect(Exit.isFailure(refused)).toBe(true)
    expect(String(refused)).toMatch(/created_at must be an ISO-8601 date and time with its offset/)
    expect(Exit.isFailure(decode({ _id: "o1", customer_id: "c", amount: 1 }))).toBe(true)
  })
})

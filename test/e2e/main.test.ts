/**
 * The orderstats binaries' edges, on the real servers: a live worker started before the bootstrap
 * (both sources) refuses with a clear message and exit code 1; `main.js --services` runs bootstrap
 * then live in one process, here on the embedded store (no DynamoDB configured), and is exact (the
 * totals, and the revenue of the last 7 days through `totals.js --days 7`); a
 * MongoDB password in `MONGO_URI` never reaches the output, even when the connection fails.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Document } from "mongodb"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { groupBySum } from "../mongo/support.ts"
import { lastDays, perDayReference, runToEnd, scenario, sleep, start, stopWriter, useServers, waitFor } from "./support.ts"

const client = useServers(["mongo", "kafka", "dynamodb"])
let dir = ""

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "orderstats-e2e-"))
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe("orderstats binaries", () => {
  it("a live worker started before the bootstrap stops with a message saying so (exit 1), on both sources", async () => {
    const s = scenario("e2enoboot")
    for (const source of ["changestream", "kafka"]) {
      const worker = start("worker", { ...s.env, LIVE_SOURCE: source }, [], `worker-${source}`)
      const exit = await worker.exited
      expect(exit.code, worker.stderr()).toBe(1)
      expect(worker.stderr()).toMatch(
        /worker: ConfigurationError: pipeline order_totals, orders_per_status, orders_per_customer, revenue_per_day, customers_per_day, top_customers_per_day: the bootstrap has not finished; run it before the live worker/
      )
    }
  }, 60_000)

  it("main.js --services: bootstrap then live in one process, on the embedded store, exact", async () => {
    const s = scenario("e2emain")
    // no DynamoDB configured: the embedded store in STATE_DIR
    const env: Record<string, string> = { ...s.env, STATE_DIR: join(dir, "state"), STOP_WHEN_IDLE_MS: "2500" }
    delete env.DDB_ENDPOINT
    const orders = client.db(s.db).collection<Document>(s.collection)
    await runToEnd("seed", env, ["--count", "800", "--invalid", "1", "--customers", "20", "--seed", "71"])
    const writer = start("seed", env, ["--writer", "--rate", "40", "--customers", "20", "--seed", "72"], "writer")
    await waitFor(writer, /writing to/)
    const main = start("main", env, ["--services", "--json"])
    await waitFor(main, /change stream \S+: starting/, 60_000)
    await sleep(2_000)
    const counts = await stopWriter(writer)
    const exit = await main.exited
    expect(exit.code, main.stderr()).toBe(0)
    expect(main.stderr()).toMatch(/store: embedded SQLite store .*orderstats\.sqlite/)
    const [bootLine, liveLine] = main.stdout().trim().split("\n")
    const boot = JSON.parse(bootLine!).bootstrap as { documents: number; deadLetters: number }
    const live = JSON.parse(liveLine!).live as { records: number }
    expect(boot.deadLetters).toBeGreaterThanOrEqual(1)
    const totals = JSON.parse(await runToEnd("totals", env, ["--json"])).totals as Record<string, number>
    const reference = await groupBySum(orders)
    expect(totals).toEqual(reference.totals)
    // the per-day revenue of the same pass: the last 7 days of every customer (Window.last on the embedded store)
    const before = lastDays(await perDayReference(orders), 7)
    const week = JSON.parse(await runToEnd("totals", env, ["--json", "--days", "7"])) as { totals: Record<string, number>; days: number }
    expect(week.days).toBe(7)
    expect([before, lastDays(await perDayReference(orders), 7)]).toContainEqual(week.totals)
    expect(Object.keys(week.totals).length).toBeGreaterThan(10)
    console.log(
      `e2e main --services (embedded store): ${boot.documents} documents bootstrapped, ${counts.changes} concurrent changes, ` +
        `${live.records} change records folded live, ${reference.documents} final documents, exact`
    )
  }, 120_000)

  it("a password in MONGO_URI is never printed, even when the connection fails", async () => {
    const s = scenario("e2esecret")
    const secret = "s3cret-Pa55word"
    // the test server has no users: the driver's authentication fails at once
    const uri = s.env.MONGO_URI!.replace(/^mongodb:\/\//, `mongodb://orderstats:${secret}@`)
    expect(uri).toContain(secret)
    const bootstrap = start("bootstrap", { ...s.env, MONGO_URI: uri })
    const exit = await bootstrap.exited
    expect(exit.code).toBe(1)
    expect(bootstrap.stderr()).toMatch(/bootstrap: SourceError: source mongodb: connecting to <redacted> failed/)
    expect(bootstrap.stderr() + bootstrap.stdout()).not.toContain(secret)
  }, 60_000)
})

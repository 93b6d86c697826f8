/**
 * The orderstats worker (`examples/orderstats/worker.ts`) serving its query server (`SERVE_PORT`
 * set), as a child process over a real MongoDB collection and the embedded store of a
 * `STATE_DIR`, after `bootstrap.ts` scanned the collection (one malformed order among them):
 * `/health/ready` answers 200 (the probe the docker-compose file uses), `/v1/status` shows every
 * pipeline live with the bootstrap's dead letter and its reason, then the changes the worker
 * folds (records, change-stream lag); the API reads the totals and the last-7-days window equal to
 * the sums computed here; SIGTERM stops it with exit code 0. Sources run with Node's type
 * stripping (no build).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { MongoClient } from "mongodb"
import { orderstatsEnv, root, run } from "../support/cli.ts"
import { eventually, mongoUri, requireService, uniqueName } from "../support/services.ts"

const workerScript = join(root, "examples", "orderstats", "worker.ts")
const bootstrapScript = join(root, "examples", "orderstats", "bootstrap.ts")

const dir = mkdtempSync(join(tmpdir(), "orderstats-worker-serve-"))
const db = uniqueName("worker_serve")
const children: Array<ChildProcess> = []
let mongo: MongoClient

const now = new Date().toISOString()
const snapshot = [
  ...Array.from({ length: 40 }, (_, i) => ({ _id: `s${i}`, customer_id: `c${i % 4}`, amount: 100 + i, status: "paid", created_at: now })),
  { _id: "s-bad", customer_id: "c1", amount: "twelve", status: "paid", created_at: now }
]
const changes = Array.from({ length: 6 }, (_, i) => ({ _id: `l${i}`, customer_id: "c1", amount: 1000 + i, status: "new", created_at: now }))
const sumOf = (customer: string, docs: ReadonlyArray<{ customer_id: string; amount: unknown }>) =>
  docs.filter((d) => d.customer_id === customer && typeof d.amount === "number").reduce((s, d) => s + (d.amount as number), 0)

beforeAll(async () => {
  await requireService("mongo")
  mongo = new MongoClient(mongoUri())
  await mongo.db(db).collection("orders").insertMany(snapshot as Array<any>)
})

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
  await mongo?.db(db).dropDatabase()
  await mongo?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The binaries' environment: this collection, the embedded store in `dir`, none of the other servers. */
const env = (): NodeJS.ProcessEnv => orderstatsEnv(mongoUri(), db, dir, { LIVE_SOURCE: "changestream", MONGO_IDLE_POLL_MS: "50" })

/** The docker-compose health check of the orderstats services (node's one-liner), aimed at `base`. */
const composeProbe = (base: string) => {
  const compose = readFileSync(join(root, "docker-compose.yml"), "utf8")
  const script = /- "(fetch\('http:\/\/127\.0\.0\.1:8080\/health\/ready'\)[^"]*)"/.exec(compose)?.[1]
  if (script === undefined) throw new Error("docker-compose.yml has no /health/ready probe")
  return new Promise<number | null>((resolve) => {
    const probe = spawn(process.execPath, ["-e", script.replace("http://127.0.0.1:8080", base)], { stdio: "ignore" })
    probe.once("exit", resolve)
  })
}

const get = async (url: string) => {
  const response = await fetch(url)
  return { status: response.status, json: (await response.json()) as any }
}

describe("the orderstats worker with SERVE_PORT", () => {
  it("serves readiness, the status and the aggregates while it folds", async () => {
    const boot = await run(bootstrapScript, ["--json"], { env: env() })
    expect(boot.code, boot.stderr).toBe(0)

    const child = spawn(process.execPath, [workerScript], { env: env(), stdio: ["ignore", "ignore", "pipe"] })
    children.push(child)
    let stderr = ""
    child.stderr!.on("data", (chunk) => (stderr += chunk))
    const base = await eventually("the worker to listen", () => /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1], 30_000, 50)

    expect((await get(`${base}/health/ready`)).status).toBe(200)
    expect(await composeProbe(base)).toBe(0)
    const first = (await get(`${base}/v1/status`)).json
    const totals = () => first.pipelines.find((p: any) => p.name === "order_totals")
    expect(first.pipelines.map((p: any) => p.phase)).toEqual(first.pipelines.map(() => "live"))
    expect(totals().deadLetters.count).toBe(1)
    expect(totals().deadLetters.recent[0]).toMatchObject({ docId: JSON.stringify("s-bad") })
    expect(totals().deadLetters.recent[0].reason).toContain("amount")

    await mongo.db(db).collection("orders").insertMany(changes as Array<any>)
    const status = await eventually("the worker to fold the changes", async () => {
      const s = (await get(`${base}/v1/status`)).json.pipelines.find((p: any) => p.name === "order_totals")
      return s.records >= changes.length && s.changeStreamLagSeconds !== null ? s : undefined
    }, 30_000, 100).catch((e) => {
      throw new Error(`${e.message}\n${stderr}`)
    })
    expect(status.sources).toEqual([`mongo-changes:${db}.orders`])
    expect(status.progress).toBeNull() // the scan ran in bootstrap.ts, not here

    const expected = sumOf("c1", [...snapshot, ...changes])
    await eventually("the total to include the changes", async () => {
      const r = await get(`${base}/v1/pipelines/order_totals/keys/c1`)
      return r.json.value === expected ? true : undefined
    }, 30_000, 100)
    // caught up and idle: a read that finds nothing more sets the lag to 0 (it kept the figure of
    // the last change read, for good)
    await eventually("the change stream's lag to be 0 once caught up", async () => {
      const s = (await get(`${base}/v1/status`)).json.pipelines.find((p: any) => p.name === "order_totals")
      return s.changeStreamLagSeconds === 0 ? true : undefined
    }, 30_000, 100)
    const week = await get(`${base}/v1/pipelines/revenue_per_day/keys/c1/last?n=7`)
    expect(week.status).toBe(200)
    expect(week.json).toMatchObject({ found: true, value: expected, window: { granularity: "day", buckets: 7 } })
    const page = await fetch(`${base}/status`)
    expect(await page.text()).toContain(`data-doc-id="${JSON.stringify("s-bad").replace(/"/g, "&quot;")}"`)

    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    child.kill("SIGTERM")
    expect(await exit).toBe(0)
    expect(await composeProbe(base)).toBe(1) // nothing answers
  }, 90_000)

  it("exits before serving when the bootstrap has not run (compose starts it after the bootstrap)", async () => {
    const child = spawn(process.execPath, [workerScript], {
      env: { ...env(), STATE_DIR: mkdtempSync(join(dir, "fresh-")), STOP_WHEN_IDLE_MS: undefined },
      stdio: ["ignore", "ignore", "pipe"]
    })
    children.push(child)
    let stderr = ""
    child.stderr!.on("data", (chunk) => (stderr += chunk))
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    // the worker refuses to start its live run before a bootstrap: it exits non-zero, having served nothing ready
    expect(await exit).not.toBe(0)
    expect(stderr).toContain("the bootstrap has not finished")
  }, 30_000)
})

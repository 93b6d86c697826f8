/**
 * SIGKILL at random moments of the scan and of the live stream, with a writer changing the
 * collection all along; every rerun resumes (the scan after its last committed `_id`, the stream
 * after its last committed resume token, a staged batch from its saved records), and the final
 * totals equal a group-by-sum over the collection, to the cent. The worker is a real child process
 * (test/mongo/worker.ts) on the embedded store, against the real server.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Document, MongoClient } from "mongodb"
import * as Rand from "../support/random.ts"
import { mongoUri, projectRoot, requireService, uniqueName } from "../support/services.ts"
import { connectClient, deadLetterProblems, groupBySum, seed, sleep, startWriter, totalChanges } from "./support.ts"

const WORKER = join(projectRoot, "test", "mongo", "worker.ts")

let client: MongoClient
let dir = ""

beforeAll(async () => {
  await requireService("mongo")
  client = await connectClient()
  dir = mkdtempSync(join(tmpdir(), "mongo-kill-"))
})
afterAll(async () => {
  await client?.close()
  rmSync(dir, { recursive: true, force: true })
})

interface Worker {
  readonly child: ChildProcess
  readonly stderr: () => string
  readonly stdout: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const startWorker = (args: ReadonlyArray<string>): Worker => {
  const child = spawn(process.execPath, ["--no-warnings", WORKER, ...args], {
    env: { ...process.env, MONGO_URI: mongoUri() },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stderr = ""
  let stdout = ""
  child.stderr!.on("data", (d) => (stderr += d))
  child.stdout!.on("data", (d) => (stdout += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal }))
  })
  return { child, stderr: () => stderr, stdout: () => stdout, exited }
}

const waitFor = async (worker: Worker, pattern: RegExp, timeoutMs = 30_000): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (pattern.test(worker.stderr())) return true
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) return pattern.test(worker.stderr())
    await sleep(10)
  }
  throw new Error(`the worker did not log ${pattern} within ${timeoutMs} ms:\n${worker.stderr()}`)
}

describe("MongoDB worker killed with SIGKILL", () => {
  it("is exact after kills in the middle of the scan and of the live stream, with a concurrent writer", async () => {
    const ns = { db: uniqueName("kill"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    const ORDERS = 8000
    const started = Date.now()
    const ids = await seed(orders, ORDERS, 31)
    const state = join(dir, "kill.sqlite")
    const args = ["--db", ns.db, "--collection", ns.collection, "--state", state, "--batch", "40"]
    const r = Rand.make(4242)
    const writer = startWriter(orders, ids, { seed: 32, pauseMs: 3 })

    const kills = { scan: 0, live: 0 }
    let resumedScans = 0
    let stagedRecoveries = 0
    let runs = 0
    try {
      // kill at least 3 times in the scan (while the bootstrap is not done), then at least 3 times in live
      while ((kills.scan < 3 || kills.live < 3) && runs < 16) {
        const worker = startWorker(args)
        runs++
        await waitFor(worker, /snapshot \S+: (scanning|resuming)|change stream \S+: starting/)
        // in the scan: short waits until three kills have landed there (how far one run gets varies
        // several-fold with start-up and JIT), then long ones so that the scan can finish
        const live = /change stream \S+: starting/.test(worker.stderr())
        await sleep(live ? r.int(50, 1500) : kills.scan < 3 ? r.int(20, 150) : r.int(300, 1500))
        const log = worker.stderr()
        // a run after the bootstrap finished does not scan at all
        const inScan = /snapshot \S+: (scanning|resuming)/.test(log) && !/bootstrap of order_totals done/.test(log)
        worker.child.kill("SIGKILL")
        const exit = await worker.exited
        expect(exit.signal, `the worker ended by itself:\n${log}`).toBe("SIGKILL")
        if (inScan) kills.scan++
        else kills.live++
        if (/resuming after [1-9]\d* documents/.test(log)) resumedScans++
        if (/finishing a staged batch/.test(log)) stagedRecoveries++
      }
    } finally {
      await writer.stop()
    }
    // quiescence: the last run follows the stream until it has been idle for 2 s, then reports
    const last = startWorker([...args, "--stop-when-idle", "2000"])
    runs++
    const exit = await last.exited
    expect(exit.code, last.stderr()).toBe(0)
    if (/finishing a staged batch/.test(last.stderr())) stagedRecoveries++
    const out = JSON.parse(last.stdout().trim()) as {
      totals: Record<string, number>
      deadLetters: number
      letters: ReadonlyArray<{ raw: string }>
    }
    const reference = await groupBySum(orders)
    console.log(
      `kill: ${ORDERS} orders, ${totalChanges(writer.counts)} concurrent changes (${JSON.stringify(writer.counts)}), ` +
        `${runs} runs, SIGKILL ${kills.scan} in the scan and ${kills.live} in live, ${resumedScans} scan resumptions, ` +
        `${stagedRecoveries} staged batches finished, ${reference.documents} final documents, ${Date.now() - started} ms`
    )
    expect(kills.scan).toBeGreaterThanOrEqual(3)
    expect(kills.live).toBeGreaterThanOrEqual(3)
    expect(resumedScans).toBeGreaterThanOrEqual(1)
    expect(out.totals).toEqual(reference.totals)
    // the writer made orders invalid and valid again: exactly the invalid states are dead letters
    expect(writer.counts.invalidations).toBeGreaterThan(0)
    expect(await deadLetterProblems(orders, out.letters)).toEqual([])
  }, 240_000)
})

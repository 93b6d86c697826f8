/**
 * The status page in headless Chromium (Debian's, driven by playwright-core), against a query
 * server in this process over a running bootstrap-then-live orchestration of a real MongoDB
 * collection into a memory store:
 *
 * - while the snapshot scan is held after its first batches (a gate around the real source), the
 *   page shows the pipeline bootstrapping, with the scan's progress out of the collection's size;
 * - once released, it shows it live, every document scanned, the records folded (the documents
 *   plus the changes made since), a throughput, a change-stream lag, and the dead letters the store
 *   holds, with their documents and reasons (the malformed documents planted here);
 * - a key typed in the search box shows the value the store holds, which is the sum computed here.
 *
 * `GET /v1/status` answers the same as the page shows.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Layer, Metric, Schema, Scope, Stream } from "effect"
import { HttpServer } from "effect/http"
import { MongoClient } from "mongodb"
import { type Browser, chromium } from "playwright-core"
import * as Fs from "node:fs"
import * as Monoid from "../../src/Monoid.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as MongoCollection from "../../src/MongoDb/MongoCollection.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as QueryServer from "../../src/Serve/QueryServer.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as MemoryStore from "../../src/Store/Memory.ts"
import { eventually, mongoUri, requireService, uniqueName } from "../support/services.ts"

const CHROMIUM = "/usr/bin/chromium"
const N = 2000
const BATCH = 100
const HELD_AFTER = 2 * BATCH
const MALFORMED = ["bad-0007", "bad-0500", "bad-1200", "bad-1999"]

const Order = Schema.Struct({ customer: Schema.String, amount: Schema.Int })
const name = uniqueName("status_totals")
const totals = Pipeline.make(name, { schema: Order, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })

const db = uniqueName("status")
const collection = "orders"
/** The documents: N orders of 7 customers, four of them malformed (an amount that is not an integer). */
const documents = Array.from({ length: N }, (_, i) => {
  const id = `o-${String(i).padStart(4, "0")}`
  const bad = MALFORMED.find((m) => m.endsWith(id.slice(2)))
  return bad === undefined
    ? { _id: id, customer: `c${i % 7}`, amount: 1 + (i % 100) }
    : { _id: bad, customer: `c${i % 7}`, amount: "not a number" }
})
const LIVE = [
  { _id: "live-1", customer: "c3", amount: 1000 },
  { _id: "live-2", customer: "c3", amount: 2000 },
  { _id: "bad-live", customer: "c3", amount: 1.5 },
  // markup in a document id is shown as text, never as markup
  { _id: "<b id=injected>x</b>", customer: "c3", amount: "y" }
]
const reference = (customer: string) =>
  [...documents, ...LIVE].filter((d) => d.customer === customer && Number.isInteger(d.amount)).reduce(
    (s, d) => s + (d.amount as number),
    0
  )

let browser: Browser | undefined
let mongo: MongoClient
let base = ""
const scope = Effect.runSync(Scope.make())
const gate = Effect.runSync(Deferred.make<void>())
const state = MemoryStore.makeState()
const store = MemoryStore.layer(state)
const run = <A, E>(effect: Effect.Effect<A, E, Aggregates | DeadLetters>) => Effect.runPromise(Effect.provide(effect, store))

/** The real snapshot source, held before its record number `after + 1` until `gate` opens. */
const held = <K extends Source.Kind, E, R>(source: Source.Source<K, E, R>, after: number) => {
  let seen = 0
  return Source.make({
    name: source.name,
    kind: source.kind,
    records: source.records.pipe(Stream.tap(() => (++seen === after + 1 ? Deferred.await(gate) : Effect.void))),
    commit: source.commit,
    staged: source.staged
  })
}

const gaugeValue = async (id: string) => {
  const snapshot = await Effect.runPromise(Metric.snapshot)
  const found = snapshot.find((s) => s.id === id && (s.attributes?.["source"] ?? "").includes(`${db}.${collection}`))
  return found === undefined ? undefined : Number((found.state as { value: number }).value)
}

/** The fold's `monoid_records_in` for the pipeline, over its sources. */
const recordsIn = async () => {
  const snapshot = await Effect.runPromise(Metric.snapshot)
  return snapshot.filter((s) => s.id === "monoid_records_in" && s.attributes?.["pipeline"] === name)
    .reduce((sum, s) => sum + Number((s.state as { count: number }).count), 0)
}

beforeAll(async () => {
  await requireService("mongo")
  mongo = new MongoClient(mongoUri())
  await mongo.db(db).collection(collection).insertMany(documents as Array<any>)
  const spec = MongoCollection.spec([totals], { db, collection, batchSize: BATCH })
  const services = Layer.mergeAll(store, Mongo.layer({ uri: mongoUri() }))
  const server = QueryServer.layer({ pipelines: [totals], port: 0, host: "127.0.0.1", statusSampleEvery: "1 second" }).pipe(
    Layer.provide(store)
  )
  const context = await Effect.runPromise(Layer.buildWithScope(Layer.merge(services, server), scope))
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag === "UnixPathAddress") throw new Error("not TCP")
  base = `http://127.0.0.1:${address.port}`
  const orchestration = Orchestrator.run({ ...spec, bootstrap: (handoff) => held(spec.bootstrap!(handoff), HELD_AFTER) })
  Effect.runFork(Effect.forkIn(Effect.provideContext(orchestration, context), scope))
  if (Fs.existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await mongo?.db(db).dropDatabase()
  await mongo?.close()
})

/** What the page shows of the pipeline. */
const readPage = async (page: import("playwright-core").Page) => {
  await page.goto(`${base}/status`)
  const row = page.locator(`tr[data-pipeline="${name}"]`)
  const progress = row.locator("[data-field=progress]")
  return {
    phase: await row.locator("[data-field=phase]").textContent(),
    scanned: await progress.getAttribute("data-scanned"),
    estimated: await progress.getAttribute("data-estimated"),
    records: await row.locator("[data-field=records]").textContent(),
    lag: await row.locator("[data-field=lag]").textContent(),
    rate: await row.locator("[data-field=throughput] [data-span='60']").getAttribute("data-rate"),
    deadLetterCount: await row.locator("[data-field=dead-letters]").textContent(),
    deadLetters: await page.locator(`section[data-dead-letters="${name}"] li[data-dead-letter]`).evaluateAll((items) =>
      items.map((li) => ({ docId: li.getAttribute("data-doc-id"), reason: li.querySelector("[data-field=reason]")?.textContent }))
    )
  }
}

describe("the status page in Chromium", () => {
  it("shows the phase, progress, records, lag and dead letters of a running worker; the search box reads the store", async (ctx) => {
    if (browser === undefined) {
      console.log(`skipped: ${CHROMIUM} is not installed`)
      ctx.skip()
      return
    }
    const page = await browser.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (e) => errors.push(String(e)))
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()))

    // held mid-scan: bootstrapping, with the scan's progress
    const during = await eventually("the scan to be held", async () => {
      const shown = await readPage(page)
      return shown.phase === "bootstrapping" && shown.scanned !== null ? shown : undefined
    }, 30_000, 200)
    expect(Number(during.estimated)).toBe(N)
    expect(Number(during.scanned)).toBeGreaterThanOrEqual(HELD_AFTER)
    expect(Number(during.scanned)).toBeLessThan(N)
    expect(Number(during.scanned)).toBe(await gaugeValue("monoid_snapshot_documents"))

    // released: live, every document scanned; then a few changes
    await Effect.runPromise(Deferred.succeed(gate, undefined))
    await eventually("the pipeline to go live", async () => ((await readPage(page)).phase === "live" ? true : undefined), 60_000, 200)
    await mongo.db(db).collection(collection).insertMany(LIVE as Array<any>)
    let last: unknown
    const after = await eventually("the changes to be folded", async () => {
      const shown = await readPage(page)
      last = shown
      return Number(shown.records!.replace(/,/g, "")) >= N + LIVE.length && shown.deadLetters.length === MALFORMED.length + 2
        ? shown
        : undefined
    }, 30_000, 200).catch((e) => {
      throw new Error(`${e.message}; the page showed ${JSON.stringify(last)}`)
    })
    expect(Number(after.scanned)).toBe(N)
    expect(Number(after.estimated)).toBe(N)
    expect(after.lag).toMatch(/^\d+(\.\d)? s$/)
    expect(Number(after.rate)).toBeGreaterThan(0)

    // the dead letters: the store's, most recent first, which are the malformed documents
    const letters = await run(Effect.gen(function*() {
      return yield* (yield* DeadLetters).list(name)
    }))
    expect(after.deadLetterCount).toBe(String(letters.length))
    const recent = [...letters].sort((a, b) => b.at - a.at || b.seq - a.seq)
    expect(after.deadLetters).toEqual(recent.map((l) => ({ docId: l.docId ?? "", reason: l.reason })))
    // (document ids are shown in the library's form: a string id as its JSON text)
    expect(new Set(after.deadLetters.map((l) => l.docId))).toEqual(
      new Set([...MALFORMED, "bad-live", "<b id=injected>x</b>"].map((id) => JSON.stringify(id)))
    )
    expect(after.deadLetters.slice(0, 2).map((l) => l.docId).sort()).toEqual(
      ["bad-live", "<b id=injected>x</b>"].map((id) => JSON.stringify(id)).sort()
    )
    expect(await page.locator("#injected").count()).toBe(0)
    // the records: every document scanned and every change event read since the handoff (the one
    // at the handoff itself is read and skipped), as the fold counted them
    const counted = await recordsIn()
    expect(after.records).toBe(counted.toLocaleString("en-US"))
    expect(counted).toBeGreaterThanOrEqual(N + LIVE.length)
    expect(counted).toBeLessThanOrEqual(N + LIVE.length + 1)
    for (const l of after.deadLetters) expect(l.reason.length).toBeGreaterThan(0)

    // the JSON status says the same
    const json = await (await fetch(`${base}/v1/status`)).json() as any
    const status = json.pipelines.find((p: any) => p.name === name)
    expect(status).toMatchObject({ phase: "live", progress: { scanned: N, estimated: N }, records: counted })
    expect(status.deadLetters.count).toBe(letters.length)

    // the search box
    const stored = await run(Effect.gen(function*() {
      return yield* (yield* Aggregates).get(totals, ["c3", "c5"])
    }))
    for (const customer of ["c3", "c5"]) {
      await page.selectOption("#pipeline", name)
      await page.fill("#key", customer)
      await page.click("button[type=submit]")
      await page.waitForSelector("#result[data-state=found]")
      const shown = JSON.parse((await page.textContent("#result"))!)
      expect(shown).toBe(stored.get(customer))
      expect(shown).toBe(reference(customer))
      await page.fill("#key", "")
      await page.evaluate("document.getElementById('result').dataset.state = 'idle'")
    }
    await page.fill("#key", "nobody")
    await page.click("button[type=submit]")
    await page.waitForSelector("#result[data-state=missing]")
    expect(await page.textContent("#result")).toBe("0")
    expect(errors).toEqual([])
  }, 120_000)
})

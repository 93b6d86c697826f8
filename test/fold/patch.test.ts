/**
 * Updates given as patches of the previous state (`Input.Patch`: Debezium's `change_streams`
 * capture mode sends an update's `updateDescription` and no document), folded with
 * `keepDocuments`: the ledger keeps the fields each pipeline reads, a patch is applied to them,
 * and a patch with nothing to apply to is refused (retracted and dead-lettered), never skipped.
 * Also: which fields a schema reads (the projection kept), and the SQLite store keeping them
 * across a reopen and adding its column to a database made before.
 *
 * No server needed.
 */
import { DatabaseSync } from "node:sqlite"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { ordersPerCustomer, orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as I from "../../src/Input.ts"
import * as Projection from "../../src/internal/projection.ts"
import * as Plan from "../../src/Runtime/Plan.ts"
import * as Staging from "../../src/internal/staging.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { type Entry, Ledger } from "../../src/Store/Ledger.ts"

const at = (seq: number) => ({ partition: "topic/0", seq })
const set = (fields: Record<string, unknown>) => ({ updatedFields: fields, removedFields: [], truncatedArrays: [] })

/** Plans `batch` over `ledger` and returns the plan with the non-zero totals its updates give from zero. */
const planned = (batch: ReadonlyArray<I.Input>, ledger: ReadonlyMap<string, Entry<number>> = new Map(), keepDocuments = true) => {
  const plan = Plan.plan(orderTotals, batch, ledger, { keepDocuments })
  const totals: Record<string, number> = {}
  for (const u of plan.updates) totals[u.key] = (totals[u.key] ?? 0) + u.delta
  for (const key of Object.keys(totals)) if (totals[key] === 0) delete totals[key]
  return { plan, totals }
}

describe("patches over kept documents", () => {
  it("an insert then patches of amount and customer: each patch applied to the state before it", () => {
    const { plan, totals } = planned([
      I.upsert("o1", { _id: "o1", customer_id: "c1", amount: 100, note: "not read by the pipeline" }, at(1)),
      I.patch("o1", set({ amount: 250 }), at(2)),
      I.patch("o1", set({ customer_id: "c2" }), at(3))
    ])
    expect(totals).toEqual({ c2: 250 })
    // the ledger keeps only what the schema reads
    expect(plan.ledger.get("o1")?.doc).toEqual({ _id: "o1", customer_id: "c2", amount: 250 })
    expect(plan.rejects).toEqual([])
  })

  it("a patch into an invalid state retracts; the next patch that repairs it adds again", () => {
    const entry: Entry<number> = { keys: ["c1"], value: 100, version: [1, 1], doc: { _id: "o1", customer_id: "c1", amount: 100 } }
    const { plan, totals } = planned([I.patch("o1", set({ amount: "100" }), at(5))], new Map([["o1", entry]]))
    expect(totals).toEqual({ c1: -100 })
    expect(plan.rejects.map((r) => r.reason)).toEqual([expect.stringMatching(/schema/)])
    // the invalid state's fields are kept, so a later patch can repair it
    const next = planned([I.patch("o1", set({ amount: 70 }), at(6))], plan.ledger)
    expect(next.totals).toEqual({ c1: 70 })
  })

  it("a patch of a document the ledger holds no fields of is refused with the reason, until a full state", () => {
    // an entry from before keepDocuments was set: a contribution, no fields
    const old: Entry<number> = { keys: ["c1"], value: 100, version: [1, 1] }
    const { plan, totals } = planned([
      I.patch("o1", set({ amount: 5 }), at(5)),
      I.patch("o1", set({ amount: 6 }), at(6)),
      I.upsert("o1", { _id: "o1", customer_id: "c3", amount: 7 }, at(7)),
      I.patch("o1", set({ amount: 8 }), at(8))
    ], new Map([["o1", old]]))
    expect(totals).toEqual({ c1: -100, c3: 8 })
    expect(plan.rejects).toHaveLength(2)
    for (const r of plan.rejects) {
      expect(r.reason).toMatch(/ledger does not hold/)
      expect(r.docId).toBe("o1")
      expect(JSON.parse(r.raw)).toMatchObject({ patch: "o1", updateDescription: { updatedFields: { amount: expect.any(Number) } } })
    }
  })

  it("a patch after a delete is refused; a redelivered patch is stale, not applied twice", () => {
    const entry: Entry<number> = { keys: ["c1"], value: 100, version: [1, 1], doc: { _id: "o1", customer_id: "c1", amount: 100 } }
    const redelivered = planned([I.patch("o1", set({ amount: 300 }), at(4))], new Map([["o1", { ...entry, version: [1, 9] }]]))
    expect(redelivered.plan.updates).toEqual([])
    expect(redelivered.plan.counts.stale).toBe(1)
    const { plan, totals } = planned([I.remove("o1", at(5)), I.patch("o1", set({ amount: 5 }), at(6))], new Map([["o1", entry]]))
    expect(totals).toEqual({ c1: -100 })
    expect(plan.rejects.map((r) => r.reason)).toEqual([expect.stringMatching(/ledger does not hold/)])
  })

  it("without keepDocuments a patch is refused with a reason naming the option and the capture modes", () => {
    const entry: Entry<number> = { keys: ["c1"], value: 100, version: [1, 1] }
    const { plan, totals } = planned([I.patch("o1", set({ amount: 5 }), at(5))], new Map([["o1", entry]]), false)
    expect(totals).toEqual({ c1: -100 })
    expect(plan.rejects[0]?.reason).toMatch(/keepDocuments.*capture\.mode to change_streams_update_full/)
    // and the ledger entry keeps no fields
    expect(plan.ledger.get("o1")).not.toHaveProperty("doc")
  })
})

describe("a staged batch with a patch", () => {
  it("comes back as the same patch (a crashed batch is finished from it)", () => {
    const description = { updatedFields: { "meta.region": "eu", amount: { $numberLong: "9007199254740993" } }, removedFields: ["note"], truncatedArrays: [{ field: "tags", size: 1 }] }
    const batch = [I.patch("o1", description, { partition: "topic/0", seq: 7, checkpoint: { offset: 8 } }, { version: [3, 4], raw: "{}", key: "k" })]
    expect(Staging.decode(JSON.parse(JSON.stringify(Staging.encode(batch))))).toEqual(batch)
  })
})

describe("the fields a schema reads", () => {
  it("a struct: its fields; renamed keys in their encoded spelling; unions: every member's", () => {
    expect(Projection.fieldsOf(orderTotals.schema)).toEqual(["_id", "customer_id", "amount"])
    const renamed = Schema.Struct({ customer: Schema.String, cents: Schema.Int }).pipe(Schema.encodeKeys({ customer: "customer_id" }))
    expect(Projection.fieldsOf(renamed)).toEqual(["customer_id", "cents"])
    const union = Schema.Union([Schema.Struct({ a: Schema.Number }), Schema.Struct({ b: Schema.String }), Schema.Null])
    expect(Projection.fieldsOf(union)).toEqual(["a", "b"])
  })

  it("schemas that may read any field keep the whole document", () => {
    expect(Projection.fieldsOf(Schema.Unknown)).toBeUndefined()
    expect(Projection.fieldsOf(Schema.Record(Schema.String, Schema.Number))).toBeUndefined()
    // a union with a member that takes any value may read any field
    for (const any of [Schema.Unknown, Schema.Any, Schema.ObjectKeyword]) {
      expect(Projection.fieldsOf(Schema.Union([Schema.Struct({ amount: Schema.Int }), any]))).toBeUndefined()
    }
    // and one whose other members take no document reads the struct's fields only
    expect(Projection.fieldsOf(Schema.Union([Schema.Struct({ amount: Schema.Int }), Schema.String, Schema.Literal(1), Schema.Array(Schema.Number)]))).toEqual(["amount"])
    const doc = { _id: 1, x: { y: 2 } }
    expect(Projection.project(doc, undefined)).toBe(doc)
    expect(Projection.project(doc, ["x", "missing"])).toEqual({ x: { y: 2 } })
  })
})

describe("the SQLite store keeps the fields", () => {
  const dir = mkdtempSync(join(tmpdir(), "patch-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const put = (path: string, entries: ReadonlyMap<string, Entry<number>>) =>
    Effect.runPromise(Effect.scoped(Ledger.use((l) => l.put(ordersPerCustomer, entries)).pipe(Effect.provide(Embedded.layer({ path })))))
  const get = (path: string, ids: ReadonlyArray<string>) =>
    Effect.runPromise(Effect.scoped(Ledger.use((l) => l.get<number>(ordersPerCustomer, ids)).pipe(Effect.provide(Embedded.layer({ path })))))

  it("across a reopen, and with no fields when none were kept", async () => {
    const path = join(dir, "kept.sqlite")
    const big = { $numberLong: "9007199254740993" }
    await put(path, new Map<string, Entry<number>>([
      ["o1", { keys: ["c1"], value: 1, version: [1, 2], doc: { _id: big, customer_id: "c1" } }],
      ["o2", { keys: ["c2"], value: 1, version: [1, 3] }]
    ]))
    const read = await get(path, ["o1", "o2"])
    expect(read[0]?.doc).toEqual({ _id: big, customer_id: "c1" })
    expect(read[1]).not.toHaveProperty("doc")
  })

  it("a database made before the ledger kept fields gets the column, and its entries read as before", async () => {
    const path = join(dir, "old.sqlite")
    const db = new DatabaseSync(path)
    db.exec(
      "CREATE TABLE ledger (pipeline TEXT NOT NULL, doc_id TEXT NOT NULL, keys TEXT NOT NULL, value TEXT NOT NULL, " +
        "v_hi INTEGER NOT NULL, v_lo INTEGER NOT NULL, PRIMARY KEY (pipeline, doc_id)) WITHOUT ROWID"
    )
    db.prepare("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?)").run(ordersPerCustomer.name, "o1", "[\"c1\"]", "1", 1, 1)
    db.close()
    const before = await get(path, ["o1"])
    expect(before).toEqual([{ keys: ["c1"], value: 1, version: [1, 1] }])
    await put(path, new Map<string, Entry<number>>([["o1", { keys: ["c1"], value: 1, version: [2, 1], doc: { customer_id: "c1" } }]]))
    expect((await get(path, ["o1"]))[0]?.doc).toEqual({ customer_id: "c1" })
  })
})

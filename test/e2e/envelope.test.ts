/**
 * The relay's Debezium envelopes (examples/orderstats/envelope.ts) read back by the library's
 * Debezium decoder: every kind of change keeps its document id (the same ledger id the snapshot
 * and the change stream give, for ObjectId, string, int, long and compound `_id`s), its version
 * (the cluster time), and its document; deletes take the id from the key; what has no record is
 * said so. No server needed.
 */
import { type ChangeStreamDocument, type Document, Int32, Long, ObjectId, Timestamp } from "mongodb"
import { describe, expect, it } from "vitest"
import * as Envelope from "../../examples/orderstats/envelope.ts"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Plan from "../../src/Runtime/Plan.ts"
import * as Debezium from "../../src/Kafka/Debezium.ts"
import * as DocumentId from "../../src/DocumentId.ts"
import * as Version from "../../src/Version.ts"

const ns = { db: "shop", collection: "orders" }
// the relay writes Debezium 2.x's cluster-time source.ts_ms/ord, which "sourceTime" reads as the version
const decodeWith = Debezium.decoder({ ordering: "sourceTime" })
const decode = (key: string, value: string) => decodeWith(key, value)
const at = new Timestamp({ t: 1_796_000_000, i: 42 })
const event = (e: Record<string, unknown>) => ({ _id: { _data: "x" }, clusterTime: at, ...e }) as unknown as ChangeStreamDocument<Document>

const ids: Array<[string, unknown]> = [
  ["ObjectId", new ObjectId("65a1b2c3d4e5f60718293a4b")],
  ["string", "o-000017"],
  ["int", new Int32(1_000_000_017)],
  ["plain number", 17],
  ["long", Long.fromNumber(9_007_199_254)],
  ["compound", { region: "eu", n: 3 }]
]

describe("relay envelopes", () => {
  for (const [kind, id] of ids) {
    it(`an insert, an update and a delete of a document with a ${kind} _id decode to the snapshot's document id`, () => {
      const doc = { _id: id, customer_id: "cust-007", amount: 12_345 }
      const expectedId = DocumentId.fromBson(id)
      const expectedVersion = Version.fromClusterTime(at.t, at.i)
      for (const op of ["insert", "update", "replace"] as const) {
        const e = Envelope.fromChange(event({ operationType: op, fullDocument: doc, documentKey: { _id: id } }), ns)
        expect(e._tag).toBe("Record")
        if (e._tag !== "Record") return
        expect(e.op).toBe(op === "insert" ? "c" : "u")
        const decoded = decode(e.key, e.value)
        expect(decoded).toEqual({
          _tag: "Upsert",
          docId: expectedId,
          version: expectedVersion,
          doc: { _id: JSON.parse(expectedId), customer_id: "cust-007", amount: 12_345 }
        })
      }
      const d = Envelope.fromChange(event({ operationType: "delete", documentKey: { _id: id } }), ns)
      expect(d._tag).toBe("Record")
      if (d._tag !== "Record") return
      expect(JSON.parse(d.value).after).toBeNull()
      expect(decode(d.key, d.value)).toEqual({ _tag: "Delete", docId: expectedId, version: expectedVersion })
    })
  }

  it("carries the envelope fields the decoder and Debezium consumers expect", () => {
    const e = Envelope.fromChange(event({ operationType: "insert", fullDocument: { _id: "o1", customer_id: "c", amount: 1 } }), ns, 1234)
    if (e._tag !== "Record") throw new Error(e.reason)
    expect(JSON.parse(e.key)).toEqual({ id: "\"o1\"" })
    const value = JSON.parse(e.value)
    expect(value).toMatchObject({ op: "c", ts_ms: 1234, before: null, source: { connector: "mongodb", db: "shop", collection: "orders", ts_ms: at.t * 1000, ord: at.i } })
    expect(typeof value.after).toBe("string")
  })

  it("an invalid document is published as it is (each pipeline decides: the totals dead-letter it with the schema's reason)", () => {
    const e = Envelope.fromChange(event({ operationType: "insert", fullDocument: { _id: "bad", customer_id: "c", amount: 12.5 } }), ns)
    if (e._tag !== "Record") throw new Error(e.reason)
    const decoded = decode(e.key, e.value)
    expect(decoded).toMatchObject({ _tag: "Upsert", docId: "\"bad\"", doc: { _id: "bad", customer_id: "c", amount: 12.5 } })
    if (decoded._tag !== "Upsert") return
    // the document's new state, refused by the totals: it retracts and is dead-lettered
    const plan = Plan.plan(orderTotals, [Debezium.toInput(decoded, e.value, { partition: "t/0", seq: 1 })], new Map())
    expect(plan.rejects.map((r) => r.reason)).toEqual([expect.stringMatching(/schema/)])
  })

  it("an update whose document is gone: `u` without after when the key is known (dead-lettered with the reason), nothing otherwise", () => {
    const known = Envelope.fromChange(event({ operationType: "update", fullDocument: null, documentKey: { _id: "o1" } }), ns)
    if (known._tag !== "Record") throw new Error("expected a record")
    expect(JSON.parse(known.value).after).toBeNull()
    const decoded = decode(known.key, known.value)
    expect(decoded._tag).toBe("Reject")
    expect(decoded._tag === "Reject" && decoded.reason).toMatch(/deleted before Debezium looked it up/)
    // mongo-java-server: documentKey holds the update spec, the lookup of a deleted document gives {}
    const unknown = Envelope.fromChange(event({ operationType: "update", fullDocument: {}, documentKey: { $set: { amount: 1 } } }), ns)
    expect(unknown._tag).toBe("Skip")
  })

  it("drop, rename, dropDatabase and invalidate end the relay; other events and events without clusterTime are skipped", () => {
    for (const op of ["drop", "rename", "dropDatabase", "invalidate"]) {
      expect(Envelope.fromChange(event({ operationType: op }), ns)._tag).toBe("End")
    }
    expect(Envelope.fromChange(event({ operationType: "createIndexes" }), ns)._tag).toBe("Skip")
    expect(Envelope.fromChange(event({ operationType: "insert", clusterTime: undefined, fullDocument: { _id: 1 } }), ns)._tag).toBe("Skip")
  })
})

/**
 * Changes made in one multi-document transaction all carry the transaction's cluster time
 * (MongoDB's manual, change events: "all have the same clusterTime value: the time when the
 * transaction was committed"), so one version, and they come one after another on the stream.
 * mongo-java-server has no transactions: its writes here are real, and the change stream read
 * from it is real, but a wrapper around the driver's stream gives each group of consecutive
 * changes the first one's cluster time and a `txnNumber`, as a real server writes a transaction's
 * events (their resume tokens stay distinct, as they are there). The totals must equal a
 * group-by-sum over the collection, also when the fold commits and restarts inside a transaction.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { type ChangeStream, type ChangeStreamDocument, type Document, Long, type MongoClient, Timestamp } from "mongodb"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { connectClient, groupBySum, orderSpec, quiet, totalsOf } from "./support.ts"

let client: MongoClient
let dir = ""

beforeAll(async () => {
  await requireService("mongo")
  client = await connectClient()
  dir = mkdtempSync(join(tmpdir(), "mongo-txn-"))
})
afterAll(async () => {
  await client?.close()
  rmSync(dir, { recursive: true, force: true })
})

/**
 * Transactions on a server without them: the sizes in `sizes` (taken in turn, once armed) group
 * consecutive changes; each group gets its first change's cluster time and one `txnNumber`. A
 * change keeps what it was given when it is read again (a resumed stream), as on a real server.
 * The read numbered `failAt` (from 1, over every stream, once armed) fails once, as a lost
 * connection would.
 */
const transactionsOn = () => {
  const sizes: Array<number> = []
  const given = new Map<string, { readonly clusterTime: Timestamp; readonly txnNumber: Long }>()
  let group: { readonly clusterTime: Timestamp; readonly txnNumber: Long; left: number } | undefined
  let txnNumber = 0
  let read = 0
  let failAt = 0
  const wrapStream = (stream: ChangeStream<Document>): ChangeStream<Document> => {
    const tryNext = stream.tryNext.bind(stream)
    stream.tryNext = async () => {
      const event = (await tryNext()) as (ChangeStreamDocument<Document> & Document) | null
      if (event === null || !(event.clusterTime instanceof Timestamp)) return event
      if (++read === failAt) {
        failAt = 0
        throw new Error("the connection was cut (injected)")
      }
      const real = `${event.clusterTime.t}:${event.clusterTime.i}`
      if (!given.has(real)) {
        if (group === undefined && sizes.length > 0) {
          group = { clusterTime: event.clusterTime, txnNumber: Long.fromNumber(++txnNumber), left: sizes.shift()! }
        }
        if (group !== undefined) {
          given.set(real, { clusterTime: group.clusterTime, txnNumber: group.txnNumber })
          if (--group.left === 0) group = undefined
        }
      }
      const txn = given.get(real)
      if (txn !== undefined) Object.assign(event, { clusterTime: txn.clusterTime, txnNumber: txn.txnNumber, lsid: { id: "test-session" } })
      return event
    }
    return stream
  }
  const wrap = (real: MongoClient): MongoClient =>
    new Proxy(real, {
      get: (target, property, receiver) =>
        property !== "db" ? Reflect.get(target, property, receiver) : (name: string) =>
          new Proxy(target.db(name), {
            get: (db, p, r) =>
              p !== "collection" ? Reflect.get(db, p, r) : (collection: string) => {
                const c = db.collection(collection)
                return new Proxy(c, {
                  get: (cc, cp, cr) =>
                    cp !== "watch" ? Reflect.get(cc, cp, cr) : (...args: Parameters<typeof c.watch>) => wrapStream(c.watch(...args))
                })
              }
          })
    })
  return {
    wrap,
    arm: (groups: ReadonlyArray<number>, options: { readonly failAt?: number } = {}) => {
      sizes.push(...groups)
      read = 0
      failAt = options.failAt ?? 0
    },
    pending: () => sizes.length + (group === undefined ? 0 : 1)
  }
}

describe("MongoDB change stream: transactions", () => {
  it("folds each document's last change of a transaction, also when the stream fails inside one", async () => {
    const ns = { db: uniqueName("txn"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    await orders.insertMany([
      { _id: "Y", customer_id: "B", amount: 7 },
      { _id: "W", customer_id: "A", amount: 1 },
      { _id: "V", customer_id: "A", amount: 2 }
    ] as Array<Document>)
    const transactions = transactionsOn()
    const store = join(dir, "txn.sqlite")
    // batches of one record: a commit after every record
    const spec = orderSpec(ns, { batchSize: 1, stopWhenIdle: 1000 })
    const run = () =>
      Effect.runPromiseExit(
        Orchestrator.run(spec).pipe(
          Effect.provide([Embedded.layer({ path: store }), Mongo.layerClient(transactions.wrap(client)), quiet])
        )
      )
    expect(Exit.isSuccess(await run())).toBe(true)
    expect(await Effect.runPromise(totalsOf(store))).toEqual((await groupBySum(orders)).totals)

    // the stream fails at the third change of the fourth transaction (the 9th change): the run
    // stops with the first changes of that transaction read but not folded
    transactions.arm([2, 2, 2, 4, 3], { failAt: 9 })
    // an insert, then an update of it
    await orders.insertOne({ _id: "X", customer_id: "A", amount: 100 } as Document)
    await orders.updateOne({ _id: "X" } as Document, { $inc: { amount: 50 } })
    // a delete, then a re-insert of the same _id for another customer
    await orders.deleteOne({ _id: "Y" } as Document)
    await orders.insertOne({ _id: "Y", customer_id: "C", amount: 9 } as Document)
    // an insert, then its delete
    await orders.insertOne({ _id: "Z", customer_id: "A", amount: 1000 } as Document)
    await orders.deleteOne({ _id: "Z" } as Document)
    // two documents interleaved: a replace, moves, a delete
    await orders.replaceOne({ _id: "W" } as Document, { customer_id: "B", amount: 10 })
    await orders.updateOne({ _id: "V" } as Document, { $set: { customer_id: "C" } })
    await orders.updateOne({ _id: "W" } as Document, { $set: { customer_id: "D" }, $inc: { amount: 5 } })
    await orders.deleteOne({ _id: "V" } as Document)
    // one that changes a document once among others
    await orders.insertOne({ _id: "U", customer_id: "E", amount: 3 } as Document)
    await orders.updateOne({ _id: "X" } as Document, { $inc: { amount: 1 } })
    await orders.updateOne({ _id: "U" } as Document, { $inc: { amount: 4 } })

    const reference = await groupBySum(orders)
    expect(reference.totals).toEqual({ A: 151, C: 9, D: 15, E: 7 })
    const failed = await run()
    expect(Exit.isFailure(failed)).toBe(true)
    expect(String(Exit.isFailure(failed) ? failed.cause : "")).toContain("injected")
    // the next run reads that transaction again, whole, and then the rest
    expect(Exit.isSuccess(await run())).toBe(true)
    expect(transactions.pending()).toBe(0)
    expect(await Effect.runPromise(totalsOf(store))).toEqual(reference.totals)
  })
})

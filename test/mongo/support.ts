/**
 * Helpers of the MongoDB source tests: order documents with mixed `_id` types, a concurrent writer
 * (inserts, amount updates, customer moves, replacements, deletes, re-inserts) that uses only the
 * operations mongo-java-server writes to its oplog, the plain group-by-sum reference over the
 * collection's final documents, and the MongoDB wiring of the orderTotals pipeline.
 */
import { Layer, References } from "effect"
import { type Collection, type Document, MongoClient, ObjectId } from "mongodb"
import type * as Orders from "../../examples/orderstats/orders.ts"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import type * as Mongo from "../../src/Source/Mongo.ts"
import * as MongoCollection from "../../src/Source/MongoCollection.ts"
import * as Rand from "../support/random.ts"
import { mongoUri } from "../support/services.ts"

export const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

/** A client of the test server, not yet connected. */
export const mongoClient = (options: { readonly monitorCommands?: boolean } = {}): MongoClient =>
  new MongoClient(mongoUri(), { serverSelectionTimeoutMS: 5_000, ...options })

export const connectClient = async (options: { readonly monitorCommands?: boolean } = {}): Promise<MongoClient> => {
  const client = mongoClient(options)
  await client.connect()
  return client
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const CUSTOMERS = Array.from({ length: 12 }, (_, i) => `cust-${String(i).padStart(2, "0")}`)

/** An `_id` of one of three BSON types (string, int, ObjectId), so resumed scans cross type brackets. */
export const mixedId = (n: number): unknown => {
  switch (n % 3) {
    case 0:
      return `o-${String(n).padStart(6, "0")}`
    case 1:
      return 1_000_000 + n
    default:
      return new ObjectId()
  }
}

export const orderDoc = (r: Rand.Random, n: number): Document => ({
  _id: mixedId(n),
  customer_id: r.pick(CUSTOMERS),
  amount: r.int(1, 100_000),
  note: `order ${n}`
})

/** Inserts `count` valid orders; returns their ids. */
export const seed = async (collection: Collection<Document>, count: number, seedValue: number): Promise<Array<unknown>> => {
  const r = Rand.make(seedValue)
  const ids: Array<unknown> = []
  for (let from = 0; from < count; from += 1000) {
    const docs = Array.from({ length: Math.min(1000, count - from) }, (_, k) => orderDoc(r, from + k))
    await collection.insertMany(docs)
    for (const d of docs) ids.push(d._id)
  }
  return ids
}

/** The example writer's counts, without its total (see {@link totalChanges}). */
export type WriterCounts = Omit<Orders.WriterCounts, "changes">

export const totalChanges = (c: WriterCounts): number =>
  c.inserts + c.amountUpdates + c.moves + c.replaces + c.deletes + c.reinserts

export interface Writer {
  readonly counts: WriterCounts
  /** Stops after the operation in flight; resolves with the counts. */
  readonly stop: () => Promise<WriterCounts>
}

/**
 * A concurrent writer of random changes. Only insertOne/updateOne/replaceOne/deleteOne: the
 * findOneAnd* commands of mongo-java-server 1.47 leave no oplog entry (no change event).
 */
export const startWriter = (
  collection: Collection<Document>,
  ids: ReadonlyArray<unknown>,
  options: { readonly seed: number; readonly pauseMs?: number; readonly firstNew?: number }
): Writer => {
  const r = Rand.make(options.seed)
  const live = [...ids]
  const deleted: Array<unknown> = []
  let next = options.firstNew ?? 10_000_000
  const counts: WriterCounts = { inserts: 0, amountUpdates: 0, moves: 0, replaces: 0, deletes: 0, reinserts: 0 }
  let running = true
  // every update also bumps `rev`, so that no operation is a no-op (a no-op update has no change event)
  let rev = 0
  const step = async () => {
    const roll = r.next()
    rev++
    if (roll < 0.2 || live.length === 0) {
      const doc = orderDoc(r, next++)
      await collection.insertOne(doc)
      live.push(doc._id)
      counts.inserts++
    } else if (roll < 0.45) {
      const id = r.pick(live) as any
      if (r.chance(0.5)) await collection.updateOne({ _id: id }, { $inc: { amount: r.int(-500, 500) }, $set: { rev } })
      else await collection.updateOne({ _id: id }, { $set: { amount: r.int(1, 100_000), rev } })
      counts.amountUpdates++
    } else if (roll < 0.65) {
      await collection.updateOne({ _id: r.pick(live) as any }, { $set: { customer_id: r.pick(CUSTOMERS), rev } })
      counts.moves++
    } else if (roll < 0.75) {
      const id = r.pick(live) as any
      await collection.replaceOne({ _id: id }, { customer_id: r.pick(CUSTOMERS), amount: r.int(1, 100_000), rev })
      counts.replaces++
    } else if (roll < 0.92) {
      const i = r.int(0, live.length - 1)
      const id = live[i] as any
      live.splice(i, 1)
      await collection.deleteOne({ _id: id })
      deleted.push(id)
      counts.deletes++
    } else if (deleted.length > 0) {
      const i = r.int(0, deleted.length - 1)
      const id = deleted[i] as any
      deleted.splice(i, 1)
      await collection.insertOne({ _id: id, customer_id: r.pick(CUSTOMERS), amount: r.int(1, 100_000), rev })
      live.push(id)
      counts.reinserts++
    }
  }
  const loop = (async () => {
    while (running) {
      await step()
      const pause = options.pauseMs ?? 2
      if (pause > 0) await sleep(r.int(0, pause))
    }
  })()
  return {
    counts,
    stop: async () => {
      running = false
      await loop
      return counts
    }
  }
}

const isValid = (doc: Document): boolean =>
  typeof doc.customer_id === "string" && doc.customer_id.length > 0 && typeof doc.amount === "number" &&
  Number.isSafeInteger(doc.amount)

/** The reference: a plain group-by-sum of `amount` per `customer_id` over the valid documents of the collection now. */
export const groupBySum = async (
  collection: Collection<Document>
): Promise<{ readonly totals: Record<string, number>; readonly documents: number; readonly invalid: number }> => {
  const docs = await collection.find().toArray()
  const totals = new Map<string, number>()
  let invalid = 0
  for (const doc of docs) {
    if (!isValid(doc)) {
      invalid++
      continue
    }
    totals.set(doc.customer_id, (totals.get(doc.customer_id) ?? 0) + doc.amount)
  }
  return { totals: nonZero(totals), documents: docs.length, invalid }
}

/** Sorted plain object of the non-zero totals. */
export const nonZero = (totals: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries(Array.from(totals).filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)))

/** The orchestrator spec of orderTotals over one collection: handoff, snapshot scan, change stream. */
export const orderSpec = (
  ns: Mongo.Namespace,
  options: { readonly batchSize?: number; readonly stopWhenIdle?: number } = {}
) =>
  MongoCollection.spec(orderTotals, {
    ...ns,
    batchSize: options.batchSize ?? 200,
    changes: options.stopWhenIdle === undefined ? {} : { stopWhenIdle: options.stopWhenIdle }
  })

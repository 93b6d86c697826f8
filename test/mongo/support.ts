/**
 * Helpers of the MongoDB source tests: order documents with `_id`s of every BSON type, a
 * concurrent writer (inserts, amount updates, customer moves, replacements, orders made invalid
 * and valid again, deletes, re-inserts) that uses only the operations mongo-java-server writes to
 * its oplog, the plain group-by-sum reference over the collection's final documents, and the
 * MongoDB wiring of the orderTotals pipeline.
 */
import { EJSON } from "bson"
import { Effect, Layer, References } from "effect"
import { type Collection, type Document, Double, Int32, Long, MongoClient, ObjectId, UUID } from "mongodb"
import * as Orders from "../../examples/orderstats/orders.ts"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import type * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as MongoCollection from "../../src/MongoDb/MongoCollection.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
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

/**
 * A distinct `_id` for every `n`, of one of twelve BSON types (string, Int32, ObjectId, Int64 past
 * 2^53, a Double with a fraction, Date, compound documents in both field orders, binary, UUID, a
 * string with quotes and unicode, a small Int64), so resumed scans cross every type bracket.
 */
export const mixedId = (n: number): unknown => {
  switch (n % 12) {
    case 0:
      return `o-${String(n).padStart(6, "0")}`
    case 1:
      return new Int32(1_000_000 + n)
    case 2:
      return new ObjectId()
    case 3:
      return Long.fromString(`${9_007_199_254_740_000n + BigInt(n)}`)
    case 4:
      return new Double(n + 0.5)
    case 5:
      return new Date(1_600_000_000_000 + n)
    case 6:
      return { region: "eu", n: new Int32(n) }
    case 7:
      return { n: new Int32(n), region: "eu" }
    case 8:
      // binary ids of one subtype only: mongo-java-server's $gt does not cross subtypes (docs/services.md)
      return new UUID(`f${n.toString(16).padStart(31, "0")}`)
    case 9:
      return new UUID(n.toString(16).padStart(32, "0"))
    case 10:
      return `o "${n}" ñ 😀`
    default:
      return Long.fromNumber(2 ** 40 + n)
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
  c.inserts + c.amountUpdates + c.moves + c.replaces + c.deletes + c.reinserts + c.invalidations + c.repairs

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
  options: { readonly seed: number; readonly pauseMs?: number; readonly firstNew?: number; readonly invalidate?: number }
): Writer => {
  const r = Rand.make(options.seed)
  const live = [...ids]
  const invalid: Array<unknown> = []
  const deleted: Array<unknown> = []
  const invalidate = options.invalidate ?? 0.05
  let next = options.firstNew ?? 10_000_000
  const { changes: _, ...counts }: Orders.WriterCounts = Orders.noCounts()
  let running = true
  // every update also bumps `rev`, so that no operation is a no-op (a no-op update has no change event)
  let rev = 0
  const step = async () => {
    const roll = r.next()
    rev++
    if (roll < invalidate && (live.length > 0 || invalid.length > 0)) {
      // an invalid order is mostly repaired, a valid one made invalid (every way an order can be)
      if (invalid.length > 0 && (live.length === 0 || r.chance(0.5))) {
        const id = r.pick(invalid) as any
        await collection.updateOne({ _id: id }, { $set: { customer_id: r.pick(CUSTOMERS), amount: r.int(1, 100_000), rev }, $unset: { madeInvalid: "" } })
        invalid.splice(invalid.indexOf(id), 1)
        live.push(id)
        counts.repairs++
      } else {
        const id = live.splice(r.int(0, live.length - 1), 1)[0] as any
        await collection.updateOne({ _id: id }, Orders.invalidating(r, rev))
        invalid.push(id)
        counts.invalidations++
      }
    } else if (roll < 0.2 || live.length === 0) {
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
      const from = invalid.length > 0 && r.chance(0.2) ? invalid : live
      const id = from.splice(r.int(0, from.length - 1), 1)[0] as any
      await collection.deleteOne({ _id: id })
      deleted.push(id)
      counts.deletes++
    } else if (deleted.length > 0) {
      const i = r.int(0, deleted.length - 1)
      const id = Orders.sameIdOtherType(r, deleted[i]) as any
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

/**
 * Extended JSON read without rounding: relaxed Extended JSON writes an Int64 as a bare integer
 * literal, which `EJSON.parse` (through `JSON.parse`) rounds past 2^53; here such a literal is
 * read from its source text (Node's JSON.parse source access) as an Int64.
 */
const parseExact = (text: string): Document => {
  const value = JSON.parse(text, ((_key: string, v: unknown, context?: { source?: string }) =>
    typeof v === "number" && !Number.isSafeInteger(v) && context?.source !== undefined && /^-?\d+$/.test(context.source)
      ? { $numberLong: context.source }
      : v) as (key: string, value: unknown) => unknown)
  return EJSON.deserialize(value, { relaxed: false }) as Document
}

/**
 * The other two references of the example, over the collection now: orders per status ("none"
 * without a string status) and orders per customer (those with a non-empty string customer).
 */
export const groupByCount = async (collection: Collection<Document>): Promise<{ readonly perStatus: Record<string, number>; readonly perCustomer: Record<string, number> }> => {
  const perStatus = new Map<string, number>()
  const perCustomer = new Map<string, number>()
  for (const doc of await collection.find().toArray()) {
    const status = typeof doc.status === "string" ? doc.status : "none"
    perStatus.set(status, (perStatus.get(status) ?? 0) + 1)
    if (typeof doc.customer_id === "string" && doc.customer_id.length > 0) perCustomer.set(doc.customer_id, (perCustomer.get(doc.customer_id) ?? 0) + 1)
  }
  return { perStatus: nonZero(perStatus), perCustomer: nonZero(perCustomer) }
}

/** The document a dead letter holds: the raw document, or the `after` of a Debezium envelope. */
const letterDocument = (raw: string): Document | undefined => {
  try {
    const parsed = parseExact(raw)
    if (typeof parsed.op === "string" && "after" in parsed) {
      return typeof parsed.after === "string" ? parseExact(parsed.after) : undefined
    }
    return "_id" in parsed ? parsed : undefined
  } catch {
    return undefined
  }
}

const canonical = (doc: Document): string => EJSON.stringify(doc, { relaxed: false })

/** A document's top-level numbers as the driver reads them (promoteValues, promoteLongs within 2^53). */
const promoted = (doc: Document): Document =>
  Object.fromEntries(Object.entries(doc).map(([k, v]) => {
    const type = (v as { _bsontype?: string } | null)?._bsontype
    if (type === "Int32" || type === "Double") return [k, (v as { value: number }).value]
    if (type === "Long") {
      const n = (v as Long).toNumber()
      return [k, Number.isSafeInteger(n) ? n : v]
    }
    return [k, v]
  }))

/**
 * What is wrong with the dead letters of a fold over `collection` (empty when nothing is): a dead
 * letter that holds a document must hold an invalid one (by this file's own rule, not the
 * pipeline's), and every document that is invalid now must be in some dead letter (its last state
 * was read by the scan or by the change of its last write).
 */
export const deadLetterProblems = async (
  collection: Collection<Document>,
  letters: ReadonlyArray<{ readonly raw: string }>
): Promise<Array<string>> => {
  const problems: Array<string> = []
  const held = new Set<string>()
  for (const letter of letters) {
    const doc = letterDocument(letter.raw)
    if (doc === undefined) continue
    held.add(canonical(doc))
    if (isValid(promoted(doc))) problems.push(`a valid document was dead-lettered: ${letter.raw}`)
  }
  for (const doc of await collection.find().toArray()) {
    if (!isValid(doc) && !held.has(canonical(doc))) problems.push(`an invalid document has no dead letter: ${canonical(doc)}`)
  }
  return problems
}

/** Sorted plain object of the non-zero totals. */
export const nonZero = (totals: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries(Array.from(totals).filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)))

/** The orchestrator spec of orderTotals over one collection: handoff, snapshot scan, change stream. */
export const orderSpec = (
  ns: Mongo.Namespace,
  options: { readonly batchSize?: number; readonly stopWhenIdle?: number } = {}
) =>
  MongoCollection.spec([orderTotals], {
    ...ns,
    batchSize: options.batchSize ?? 200,
    changes: options.stopWhenIdle === undefined ? {} : { stopWhenIdle: options.stopWhenIdle }
  })

/** The example's order totals that the embedded store at `path` holds (zeros left out). */
export const totalsOf = (path: string) =>
  Effect.gen(function*() {
    return nonZero((yield* (yield* Aggregates).all(orderTotals)) as ReadonlyMap<string, number>)
  }).pipe(Effect.provide(Embedded.layer({ path })))

/**
 * Random orders for the walkthrough and the end-to-end tests: a seeded generator, historical
 * orders (with `_id`s of three BSON types: ObjectId, string and int, so every id path of the
 * ledger is exercised), a few invalid ones on request, and a writer that keeps changing the
 * collection the way an application would: inserts, amount updates, customer moves, replaces,
 * deletes and re-inserts of deleted ids.
 *
 * The writer uses `insertOne`/`updateOne`/`replaceOne`/`deleteOne` only (mongo-java-server writes
 * no change event for `findOneAnd*`), bumps a `rev` field on every update (an update that changes
 * nothing has no change event on a real server), never touches the invalid documents (marked
 * `invalid: true`), and never makes a valid document invalid.
 */
import { Effect } from "effect"
import { type Collection, type Document, MongoServerError, ObjectId } from "mongodb"
import { SourceError } from "../../src/Errors.ts"
import { random, type Random } from "./random.ts"

export { random, type Random } from "./random.ts"

/**
 * `cust-000` ... the customers orders belong to.
 */
export const customers = (count: number): Array<string> =>
  Array.from({ length: Math.max(1, count) }, (_, i) => `cust-${String(i).padStart(3, "0")}`)

/**
 * A fresh `_id`: mostly ObjectIds, some strings, some ints.
 */
export const newId = (r: Random, tag: string, n: number): unknown => {
  const roll = r.next()
  return roll < 0.7 ? new ObjectId() : roll < 0.85 ? `o-${tag}-${n}` : 1_000_000_000 + r.int(0, 999_999_999)
}

/**
 * A valid order: a customer and an integer amount in cents.
 */
export const order = (r: Random, id: unknown, who: ReadonlyArray<string>): Document => ({
  _id: id,
  customer_id: r.pick(who),
  amount: r.int(1, 100_000)
})

/**
 * Invalid orders the pipeline's schema refuses (dead letters): a fractional amount, an amount as
 * text, a missing customer, an empty customer.
 */
export const invalidOrder = (r: Random, id: unknown, who: ReadonlyArray<string>, n: number): Document => {
  switch (n % 4) {
    case 0:
      return { _id: id, customer_id: r.pick(who), amount: r.int(1, 100_000) + 0.5, invalid: true }
    case 1:
      return { _id: id, customer_id: r.pick(who), amount: String(r.int(1, 100_000)), invalid: true }
    case 2:
      return { _id: id, amount: r.int(1, 100_000), invalid: true }
    default:
      return { _id: id, customer_id: "", amount: r.int(1, 100_000), invalid: true }
  }
}

const failed = (detail: string) => (cause: unknown) => new SourceError({ source: "seed", retryable: false, detail, cause })

const isDuplicateKey = (e: unknown): boolean => e instanceof MongoServerError && e.code === 11000

/**
 * Inserts `count` valid and `invalid` invalid orders, in batches of 1000. Returns the counts.
 */
export const seed = (
  collection: Collection<Document>,
  options: { readonly count: number; readonly invalid: number; readonly customers: number; readonly seed: number }
) =>
  Effect.gen(function*() {
    const r = random(options.seed)
    const who = customers(options.customers)
    const tag = Math.floor(r.next() * 2 ** 31).toString(36)
    let inserted = 0
    for (let from = 0; from < options.count; from += 1000) {
      const docs = Array.from({ length: Math.min(1000, options.count - from) }, (_, k) => order(r, newId(r, tag, from + k), who))
      yield* Effect.tryPromise({ try: () => collection.insertMany(docs, { ordered: false }), catch: (e) => e }).pipe(
        // an int id drawn twice: the others of the batch are in; count what the server has
        Effect.catchIf(isDuplicateKey, () => Effect.void),
        Effect.mapError(failed("inserting orders failed"))
      )
      inserted += docs.length
    }
    const bad = Array.from({ length: options.invalid }, (_, n) => invalidOrder(r, `bad-${tag}-${n}`, who, n))
    if (bad.length > 0) {
      yield* Effect.tryPromise({ try: () => collection.insertMany(bad), catch: failed("inserting invalid orders failed") })
    }
    return { inserted, invalid: bad.length }
  })

/**
 * What the writer did.
 */
export interface WriterCounts {
  inserts: number
  amountUpdates: number
  moves: number
  replaces: number
  deletes: number
  reinserts: number
  changes: number
}

/**
 * Changes the collection at about `rate` operations a second until interrupted (or for
 * `durationMs`). `counts` is updated after every operation (an operation is never cut in half).
 */
export const write = (
  collection: Collection<Document>,
  options: { readonly rate: number; readonly customers: number; readonly seed: number; readonly durationMs?: number | undefined },
  counts: WriterCounts
) =>
  Effect.gen(function*() {
    const r = random(options.seed)
    const who = customers(options.customers)
    const tag = Math.floor(r.next() * 2 ** 31).toString(36)
    const live: Array<unknown> = yield* Effect.tryPromise({
      try: () => collection.find({ invalid: { $exists: false } }, { projection: { _id: 1 } }).toArray(),
      catch: failed("reading the order ids failed")
    }).pipe(Effect.map((docs) => docs.map((d) => d._id as unknown)))
    const deleted: Array<unknown> = []
    const interval = 1000 / Math.max(0.1, options.rate)
    const until = options.durationMs === undefined ? Infinity : Date.now() + options.durationMs
    let n = 0
    let rev = 0
    const run = (what: string, op: () => Promise<unknown>) => Effect.tryPromise({ try: op, catch: failed(what) })
    const step = Effect.gen(function*() {
      const roll = r.next()
      rev++
      if (roll < 0.2 || live.length === 0) {
        const doc = order(r, newId(r, tag, n++), who)
        const ok = yield* run("insert", () => collection.insertOne(doc)).pipe(
          Effect.as(true),
          Effect.catchIf((e) => isDuplicateKey(e.cause), () => Effect.succeed(false))
        )
        if (!ok) return
        live.push(doc._id)
        counts.inserts++
      } else if (roll < 0.45) {
        const id = r.pick(live) as any
        const update = r.next() < 0.5 ? { $inc: { amount: r.int(-500, 500) }, $set: { rev } } : { $set: { amount: r.int(1, 100_000), rev } }
        yield* run("update", () => collection.updateOne({ _id: id }, update))
        counts.amountUpdates++
      } else if (roll < 0.65) {
        yield* run("move", () => collection.updateOne({ _id: r.pick(live) as any }, { $set: { customer_id: r.pick(who), rev } }))
        counts.moves++
      } else if (roll < 0.75) {
        const id = r.pick(live) as any
        yield* run("replace", () => collection.replaceOne({ _id: id }, { customer_id: r.pick(who), amount: r.int(1, 100_000), rev }))
        counts.replaces++
      } else if (roll < 0.92) {
        const i = r.int(0, live.length - 1)
        const id = live[i] as any
        live.splice(i, 1)
        yield* run("delete", () => collection.deleteOne({ _id: id }))
        deleted.push(id)
        counts.deletes++
      } else if (deleted.length > 0) {
        const i = r.int(0, deleted.length - 1)
        const id = deleted[i] as any
        deleted.splice(i, 1)
        yield* run("re-insert", () => collection.insertOne({ _id: id, customer_id: r.pick(who), amount: r.int(1, 100_000), rev }))
        live.push(id)
        counts.reinserts++
      } else {
        return
      }
      counts.changes++
    })
    while (Date.now() < until) {
      const started = Date.now()
      yield* Effect.uninterruptible(step)
      yield* Effect.sleep(Math.max(0, interval - (Date.now() - started)))
    }
    return counts
  })

/**
 * Random orders for the walkthrough and the end-to-end tests: a seeded generator, historical
 * orders with `_id`s of every BSON type MongoDB allows (ObjectIds, strings with quotes and
 * unicode, Int32, Int64 on both sides of 2^53, Doubles with fractions, Dates, compound documents in
 * both field orders, binary and UUID), a few invalid ones on request, and a writer that keeps
 * changing the collection the way an application would: inserts, amount updates, customer moves,
 * updates of `created_at` that move an order to another day, replaces, deletes and re-inserts of
 * deleted ids (a numeric id sometimes as another numeric type of the same value, which MongoDB's
 * `_id` index treats as the same id), and, now and then, an update that makes a valid order invalid
 * (every way an order can be) or an invalid one valid again.
 *
 * Every order the seed and the writer write has a `created_at`: ISO-8601 text in UTC, within the
 * last {@link RECENT_DAYS} days of the time it is written (well inside the per-day pipelines'
 * retention). The writer never makes `created_at` invalid: a document the totals count is then
 * valid for every pipeline, and the dead letters of all pipelines are invalid orders.
 *
 * The writer uses `insertOne`/`updateOne`/`replaceOne`/`deleteOne` only (mongo-java-server writes
 * no change event for `findOneAnd*`) and bumps a `rev` field on every update (an update that
 * changes nothing has no change event on a real server). It never touches the seed's invalid
 * documents (marked `invalid: true`); the ones it makes invalid itself it marks `madeInvalid: true`
 * for as long as they are.
 */
import { Effect } from "effect"
import { type Collection, Decimal128, type Document, Double, Int32, Long, MongoServerError, ObjectId, UUID } from "mongodb"
import { SourceError } from "../../src/Errors.ts"
import { random, type Random } from "./random.ts"

export { random, type Random } from "./random.ts"

/**
 * `cust-000` ... the customers orders belong to.
 */
export const customers = (count: number): Array<string> =>
  Array.from({ length: Math.max(1, count) }, (_, i) => `cust-${String(i).padStart(3, "0")}`)

const hex = (r: Random, n: number) => Array.from({ length: n }, () => "0123456789abcdef"[r.int(0, 15)]).join("")

/**
 * A fresh `_id`: mostly ObjectIds, and every other BSON type an `_id` can have.
 */
export const newId = (r: Random, tag: string, n: number): unknown => {
  const roll = r.next()
  if (roll < 0.5) return new ObjectId()
  if (roll < 0.6) return `o-${tag}-${n}`
  if (roll < 0.63) return `o "${tag}" ñ-${n} 😀`
  if (roll < 0.7) return new Int32(r.int(1, 2 ** 31 - 1))
  if (roll < 0.74) return Long.fromNumber(2 ** 40 + r.int(0, 2 ** 30))
  // two Int64 ids past 2^53 that a double would make one
  if (roll < 0.78) return Long.fromString(`${9007199254740000n + BigInt(r.int(0, 999_999)) * 2n + 1n}`)
  if (roll < 0.8) return Long.fromString(`${9007199254740000n + BigInt(r.int(0, 999_999)) * 2n}`)
  if (roll < 0.84) return new Double(r.int(1, 2 ** 30) + 0.5)
  if (roll < 0.87) return new Date(1_600_000_000_000 + r.int(0, 2 ** 30) * 1000 + n)
  if (roll < 0.9) return { region: `r-${tag}`, seq: new Int32(n) }
  if (roll < 0.93) return { seq: new Int32(n), region: `r-${tag}` }
  // binary ids as UUIDs (subtype 4) only: mongo-java-server compares binary values of two subtypes
  // unlike MongoDB, so a resumed scan over both would skip some (docs/services.md)
  return new UUID(hex(r, 32))
}

/**
 * The same id as another BSON type of the same value, where MongoDB's `_id` index has one
 * (an Int32 as an Int64 or a Double, an Int64 as an Int32 or a Double); otherwise the id itself.
 */
export const sameIdOtherType = (r: Random, id: unknown): unknown => {
  if (id instanceof Int32) return r.next() < 0.5 ? Long.fromNumber(id.value) : new Double(id.value)
  if (typeof id === "number" && Number.isInteger(id)) return Long.fromNumber(id)
  if (id instanceof Long && id.lessThanOrEqual(Long.fromNumber(2 ** 31 - 1)) && id.greaterThanOrEqual(Long.fromNumber(-(2 ** 31)))) {
    return new Int32(id.toNumber())
  }
  return id
}

/** How far back the `created_at` of a new order goes, in days. */
export const RECENT_DAYS = 5

/**
 * A `created_at`: a random instant of the last {@link RECENT_DAYS} days before `now` (ms), as
 * ISO-8601 text in UTC, to the second (`2026-05-01T12:34:56Z`).
 */
export const createdAt = (r: Random, now: number): string =>
  new Date(now - r.int(0, RECENT_DAYS * 86_400 - 1) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")

/**
 * A valid order: a customer, an integer amount in cents (an Int32, now and then an Int64 or a
 * Double holding a whole number, all the same to the pipeline) and a recent `created_at`.
 */
export const order = (r: Random, id: unknown, who: ReadonlyArray<string>, now: number = Date.now()): Document => {
  const cents = r.int(1, 100_000)
  const roll = r.next()
  return {
    _id: id,
    customer_id: r.pick(who),
    amount: roll < 0.9 ? cents : roll < 0.95 ? Long.fromNumber(cents) : new Double(cents),
    created_at: createdAt(r, now),
    ...(r.next() < 0.9 ? { status: "new" } : {})
  }
}

/** The statuses an order moves through (older orders have none). */
export const statuses = ["new", "paid", "shipped", "cancelled"] as const

/**
 * Invalid orders the pipeline's schema refuses (dead letters): a fractional amount, an amount as
 * text, a missing customer, an empty customer.
 */
export const invalidOrder = (r: Random, id: unknown, who: ReadonlyArray<string>, n: number, now: number = Date.now()): Document => {
  const created_at = createdAt(r, now)
  switch (n % 4) {
    case 0:
      return { _id: id, customer_id: r.pick(who), amount: r.int(1, 100_000) + 0.5, created_at, invalid: true }
    case 1:
      return { _id: id, customer_id: r.pick(who), amount: String(r.int(1, 100_000)), created_at, invalid: true }
    case 2:
      return { _id: id, amount: r.int(1, 100_000), created_at, invalid: true }
    default:
      return { _id: id, customer_id: "", amount: r.int(1, 100_000), created_at, invalid: true }
  }
}

/**
 * The updates that make a valid order invalid, one for each way an order can be: the amount as
 * text, a fraction, a Decimal128, an Int64 past 2^53, null, missing; the customer missing, empty
 * or not a string. Each also marks the order `madeInvalid` and bumps `rev`.
 */
export const invalidating = (r: Random, rev: number): Document => {
  const mark = { madeInvalid: true, rev }
  switch (r.int(0, 8)) {
    case 0:
      return { $set: { amount: String(r.int(1, 100_000)), ...mark } }
    case 1:
      return { $set: { amount: r.int(1, 100_000) + 0.25, ...mark } }
    case 2:
      return { $set: { amount: Decimal128.fromString(String(r.int(1, 100_000))), ...mark } }
    case 3:
      return { $set: { amount: Long.fromString("9007199254740993"), ...mark } }
    case 4:
      return { $set: { amount: null, ...mark } }
    case 5:
      return { $unset: { amount: "" }, $set: mark }
    case 6:
      return { $unset: { customer_id: "" }, $set: mark }
    case 7:
      return { $set: { customer_id: "", ...mark } }
    default:
      return { $set: { customer_id: r.int(1, 99), ...mark } }
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
  /** Updates of `created_at` (most move the order to another day). */
  redates: number
  replaces: number
  deletes: number
  reinserts: number
  /** Valid orders made invalid (or invalid ones changed into another invalid form). */
  invalidations: number
  /** Invalid orders made valid again. */
  repairs: number
  changes: number
}

/** Counts of a writer that has done nothing yet. */
export const noCounts = (): WriterCounts => ({
  inserts: 0,
  amountUpdates: 0,
  moves: 0,
  redates: 0,
  replaces: 0,
  deletes: 0,
  reinserts: 0,
  invalidations: 0,
  repairs: 0,
  changes: 0
})

/**
 * Changes the collection at about `rate` operations a second until interrupted (or for
 * `durationMs`). `invalidate` is the share of operations that change a document's validity
 * (default 0.05). `counts` is updated after every operation (an operation is never cut in half).
 */
export const write = (
  collection: Collection<Document>,
  options: {
    readonly rate: number
    readonly customers: number
    readonly seed: number
    readonly durationMs?: number | undefined
    readonly invalidate?: number | undefined
  },
  counts: WriterCounts
) =>
  Effect.gen(function*() {
    const r = random(options.seed)
    const who = customers(options.customers)
    const tag = Math.floor(r.next() * 2 ** 31).toString(36)
    const invalidate = options.invalidate ?? 0.05
    const valid: Array<unknown> = yield* Effect.tryPromise({
      try: () => collection.find({ invalid: { $exists: false }, madeInvalid: { $exists: false } }, { projection: { _id: 1 } }).toArray(),
      catch: failed("reading the order ids failed")
    }).pipe(Effect.map((docs) => docs.map((d) => d._id as unknown)))
    const invalid: Array<unknown> = yield* Effect.tryPromise({
      try: () => collection.find({ madeInvalid: true }, { projection: { _id: 1 } }).toArray(),
      catch: failed("reading the order ids failed")
    }).pipe(Effect.map((docs) => docs.map((d) => d._id as unknown)))
    const deleted: Array<unknown> = []
    const interval = 1000 / Math.max(0.1, options.rate)
    const until = options.durationMs === undefined ? Infinity : Date.now() + options.durationMs
    let n = 0
    let rev = 0
    const run = (what: string, op: () => Promise<unknown>) => Effect.tryPromise({ try: op, catch: failed(what) })
    const take = (list: Array<unknown>) => list.splice(r.int(0, list.length - 1), 1)[0]
    const step = Effect.gen(function*() {
      const roll = r.next()
      rev++
      if (roll < invalidate && (valid.length > 0 || invalid.length > 0)) {
        // validity changes: an invalid order is mostly repaired, a valid one made invalid
        if (invalid.length > 0 && (valid.length === 0 || r.next() < 0.5)) {
          const id = r.pick(invalid) as any
          if (r.next() < 0.75) {
            yield* run("repair", () =>
              collection.updateOne({ _id: id }, { $set: { customer_id: r.pick(who), amount: r.int(1, 100_000), rev }, $unset: { madeInvalid: "" } }))
            invalid.splice(invalid.indexOf(id), 1)
            valid.push(id)
            counts.repairs++
          } else {
            yield* run("invalidate", () => collection.updateOne({ _id: id }, invalidating(r, rev)))
            counts.invalidations++
          }
        } else {
          const id = take(valid) as any
          yield* run("invalidate", () => collection.updateOne({ _id: id }, invalidating(r, rev)))
          invalid.push(id)
          counts.invalidations++
        }
      } else if (roll < 0.2 || valid.length === 0) {
        const doc = order(r, newId(r, tag, n++), who)
        const ok = yield* run("insert", () => collection.insertOne(doc)).pipe(
          Effect.as(true),
          Effect.catchIf((e) => isDuplicateKey(e.cause), () => Effect.succeed(false))
        )
        if (!ok) return
        valid.push(doc._id)
        counts.inserts++
      } else if (roll < 0.38) {
        const id = r.pick(valid) as any
        const update = r.next() < 0.5
          ? { $inc: { amount: r.int(-500, 500) }, $set: { rev } }
          : { $set: { amount: r.int(1, 100_000), status: r.pick(statuses), rev } }
        yield* run("update", () => collection.updateOne({ _id: id }, update))
        counts.amountUpdates++
      } else if (roll < 0.45) {
        // another recent instant: mostly another day (retracted from one day, added to the other)
        yield* run("redate", () => collection.updateOne({ _id: r.pick(valid) as any }, { $set: { created_at: createdAt(r, Date.now()), rev } }))
        counts.redates++
      } else if (roll < 0.65) {
        yield* run("move", () => collection.updateOne({ _id: r.pick(valid) as any }, { $set: { customer_id: r.pick(who), rev } }))
        counts.moves++
      } else if (roll < 0.75) {
        const id = r.pick(valid) as any
        yield* run("replace", () =>
          collection.replaceOne({ _id: id }, { customer_id: r.pick(who), amount: r.int(1, 100_000), created_at: createdAt(r, Date.now()), rev }))
        counts.replaces++
      } else if (roll < 0.92) {
        // valid and invalid orders alike are deleted
        const from = invalid.length > 0 && r.next() < invalid.length / (valid.length + invalid.length) ? invalid : valid
        const id = take(from) as any
        yield* run("delete", () => collection.deleteOne({ _id: id }))
        deleted.push(id)
        counts.deletes++
      } else if (deleted.length > 0) {
        const id = sameIdOtherType(r, take(deleted)) as any
        yield* run("re-insert", () =>
          collection.insertOne({ _id: id, customer_id: r.pick(who), amount: r.int(1, 100_000), created_at: createdAt(r, Date.now()), rev }))
        valid.push(id)
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

/**
 * seed: fills the orders collection, or keeps changing it.
 *
 *   seed.js [--count N] [--invalid K] [--customers C] [--seed S]
 *   seed.js --writer [--rate R] [--duration SECONDS] [--invalidate P] [--customers C] [--seed S]
 *
 * The first form inserts N historical orders (default 10000) for C customers (default 50), plus K
 * invalid ones (default 0; the pipeline dead-letters them), and prints `{"inserted","invalid"}`.
 * Each order has a `created_at` of the last 5 days (ISO-8601 text, UTC).
 * The second form keeps inserting, updating amounts, moving orders between customers, moving them
 * to another day (a new `created_at`), replacing, deleting and re-inserting, and (a share P of its
 * operations, default 0.05) making valid orders invalid and invalid ones valid again, at about R
 * operations a second (default 20), until SIGINT/SIGTERM or for SECONDS, then prints what it did
 * as one JSON object. Settings: MONGO_URI, MONGO_DB, MONGO_COLLECTION. See orders.ts.
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import type { Collection, Document } from "mongodb"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as Orders from "./orders.ts"

const atLeastZero = Flag.filter((n: number) => n >= 0, () => "a number >= 0")

const flags = {
  count: Flag.Int("count").pipe(atLeastZero, Flag.withDefault(10_000), Flag.withDescription("historical orders to insert (default 10000)")),
  invalid: Flag.Int("invalid").pipe(
    atLeastZero,
    Flag.withDefault(0),
    Flag.withDescription("invalid orders to insert besides, which the pipeline dead-letters (default 0)")
  ),
  customers: Flag.Int("customers").pipe(atLeastZero, Flag.withDefault(50), Flag.withDescription("customers the orders belong to (default 50)")),
  seed: Flag.Int("seed").pipe(atLeastZero, Flag.optional, Flag.withDescription("the random seed (default: from the clock)")),
  writer: Flag.Boolean("writer").pipe(
    Flag.withDefault(false),
    Flag.withDescription("keep changing the collection (inserts, amount updates, moves, moves to another day, replaces, deletes) instead of seeding it")
  ),
  rate: Flag.Finite("rate").pipe(atLeastZero, Flag.withDefault(20), Flag.withDescription("--writer: about this many changes a second (default 20)")),
  duration: Flag.Finite("duration").pipe(
    atLeastZero,
    Flag.optional,
    Flag.withDescription("--writer: stop after that many seconds (default: at SIGINT or SIGTERM)")
  ),
  invalidate: Flag.Finite("invalidate").pipe(
    atLeastZero,
    Flag.withDefault(0.05),
    Flag.withDescription("--writer: the share of changes that make a valid order invalid, or an invalid one valid again (default 0.05)")
  )
}

type Options = Command.Command.Config.Infer<typeof flags>

/** Inserts the historical orders and prints `{"inserted","invalid"}`. */
const seed = (options: Options, collection: Collection<Document>, seedValue: number) =>
  Effect.gen(function*() {
    const done = yield* Orders.seed(collection, { count: options.count, invalid: options.invalid, customers: options.customers, seed: seedValue })
    yield* Effect.logInfo(`seeded ${collection.dbName}.${collection.collectionName} with ${done.inserted} orders and ${done.invalid} invalid ones`)
    yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(done)}\n`))
  })

/** Keeps changing the collection; prints what it did when it stops. */
const write = (options: Options, collection: Collection<Document>, seedValue: number) =>
  Effect.gen(function*() {
    const counts = Orders.noCounts()
    const report = Effect.sync(() => process.stdout.write(`${JSON.stringify(counts)}\n`))
    yield* Effect.logInfo(`writing to ${collection.dbName}.${collection.collectionName} at about ${options.rate} changes a second`)
    yield* Orders.write(collection, {
      rate: options.rate,
      customers: options.customers,
      seed: seedValue,
      durationMs: Option.getOrUndefined(Option.map(options.duration, (s) => s * 1000)),
      invalidate: options.invalidate
    }, counts).pipe(Effect.onInterrupt(() => report), Effect.tap(() => report))
  })

const program = (options: Options) =>
  Effect.gen(function*() {
    const mongo = yield* Settings.connection
    const seedValue = Option.getOrElse(options.seed, () => Date.now() % 1_000_000_007)
    yield* Effect.gen(function*() {
      const { client } = yield* Mongo.Client
      const collection = client.db(mongo.db).collection<Document>(mongo.collection)
      return yield* options.writer ? write(options, collection, seedValue) : seed(options, collection, seedValue)
    }).pipe(Effect.provide(Mongo.layer({ uri: mongo.uri })))
  })

const command = Command.make("seed.js", flags, program).pipe(
  Cli.describe(
    "Fills the orders collection with historical orders (prints {\"inserted\",\"invalid\"}), or, with --writer, keeps changing it " +
      "at about --rate changes a second until SIGINT/SIGTERM or --duration, then prints what it did as one JSON object.",
    [Settings.sections.connection, Settings.sections.logging]
  )
)

Cli.runMain("seed", command)

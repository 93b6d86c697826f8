/**
 * seed: fills the orders collection, or keeps changing it.
 *
 *   seed.js [--count N] [--invalid K] [--customers C] [--seed S]
 *   seed.js --writer [--rate R] [--duration SECONDS] [--invalidate P] [--customers C] [--seed S]
 *
 * The first form inserts N historical orders (default 10000) for C customers (default 50), plus K
 * invalid ones (default 0; the pipeline dead-letters them), and prints `{"inserted","invalid"}`.
 * The second form keeps inserting, updating amounts, moving orders between customers, replacing,
 * deleting and re-inserting, and (a share P of its operations, default 0.05) making valid orders
 * invalid and invalid ones valid again, at about R operations a second (default 20), until
 * SIGINT/SIGTERM or for SECONDS, then prints what it did as one JSON object. Settings: MONGO_URI, MONGO_DB,
 * MONGO_COLLECTION. See orders.ts.
 */
import { Effect } from "effect"
import type { Document } from "mongodb"
import { ConfigurationError } from "../../src/Errors.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as Orders from "./orders.ts"

const USAGE =
  "usage: seed.js [--count N] [--invalid K] [--customers C] [--seed S] | seed.js --writer [--rate R] [--duration SECONDS] [--invalidate P] [--customers C] [--seed S]"

const number = (name: string, text: string | undefined, fallback: number): Effect.Effect<number, ConfigurationError> => {
  if (text === undefined) return Effect.succeed(fallback)
  const n = Number(text)
  return Number.isFinite(n) && n >= 0
    ? Effect.succeed(n)
    : Effect.fail(new ConfigurationError({ detail: `--${name} must be a number >= 0, got ${JSON.stringify(text)}\n${USAGE}` }))
}

const program = Effect.gen(function*() {
  const { values } = yield* Cli.flags(USAGE, {
    count: { type: "string" },
    invalid: { type: "string" },
    customers: { type: "string" },
    seed: { type: "string" },
    writer: { type: "boolean", default: false },
    rate: { type: "string" },
    duration: { type: "string" },
    invalidate: { type: "string" }
  })
  const mongo = yield* Settings.mongo
  const customers = yield* number("customers", values.customers, 50)
  const seed = yield* number("seed", values.seed, Date.now() % 1_000_000_007)
  const work = Effect.gen(function*() {
    const { client } = yield* Mongo.Client
    const collection = client.db(mongo.db).collection<Document>(mongo.collection)
    if (!values.writer) {
      const count = yield* number("count", values.count, 10_000)
      const invalid = yield* number("invalid", values.invalid, 0)
      const done = yield* Orders.seed(collection, { count, invalid, customers, seed })
      yield* Effect.logInfo(`seeded ${Mongo.formatNamespace(mongo)} with ${done.inserted} orders and ${done.invalid} invalid ones`)
      yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(done)}\n`))
      return
    }
    const rate = yield* number("rate", values.rate, 20)
    const duration = values.duration === undefined ? undefined : (yield* number("duration", values.duration, 0)) * 1000
    const invalidate = yield* number("invalidate", values.invalidate, 0.05)
    const counts = Orders.noCounts()
    const report = Effect.sync(() => process.stdout.write(`${JSON.stringify(counts)}\n`))
    yield* Effect.logInfo(`writing to ${Mongo.formatNamespace(mongo)} at about ${rate} changes a second`)
    yield* Orders.write(collection, { rate, customers, seed, durationMs: duration, invalidate }, counts).pipe(
      Effect.onInterrupt(() => report),
      Effect.tap(() => report)
    )
  })
  yield* work.pipe(Effect.provide(Mongo.layer({ uri: mongo.uri })))
})

Cli.runMain("seed", program)

/**
 * rebootstrap: rebuild one pipeline's aggregates afresh beside the live ones and swap them in
 * atomically, while the live worker keeps running (`Rebootstrap.run`).
 *
 *   rebootstrap PIPELINE [--fresh] [--idle-ms N] [--json]
 *
 * Captures a new handoff, scans the orders collection into a new generation of PIPELINE, follows
 * the change stream until it has caught up with the live worker, then moves the pipeline's
 * pointer in one transaction: readers (totals.js, the query API) see the old aggregates until
 * then and the new ones after, never a half-built state. The old generation is then deleted. The
 * live worker notices at its next write and goes on with the new generation (it runs under
 * `Rebootstrap.following`). Interrupted (SIGINT, a crash), it leaves the live aggregates as they
 * were; run it again to resume the rebuild, or with `--fresh` to start it over.
 *
 * Works on both stores of the example (embedded, DynamoDB). With the Valkey cache (`REDIS_URL`),
 * the pipeline's cached values are dropped right after the swap (`AggregateCache.flush`): between
 * the swap and the flush, a reader through the cache may still get a key's old value.
 * `--json` prints `{ pipeline, from, to, scanned, caughtUp, elapsedMs }`.
 */
import { Effect, Layer } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { ConfigurationError } from "../../src/Errors.ts"
import * as DynamoDbClient from "../../src/DynamoDb/DynamoDbClient.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Cache from "../../src/Redis/AggregateCache.ts"
import * as Rebootstrap from "../../src/Runtime/Rebootstrap.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as Stores from "./stores.ts"
import * as LiveSource from "./liveSource.ts"
import { pipelines } from "./pipeline.ts"
import * as Scan from "./scan.ts"

interface Options {
  readonly pipeline: string
  readonly fresh: boolean
  readonly idleMs: number
  readonly json: boolean
}

/** The store of the other binaries, with its generations (no cache: the rebuild reads and writes the store itself). */
const generationStore = Effect.map(Settings.store, (choice) =>
  choice._tag === "Embedded"
    ? Embedded.layer({ path: choice.path, cacheMiB: choice.cacheMiB })
    : DynamoDbStore.layer(choice.tables).pipe(Layer.provide(DynamoDbClient.layerConfig)))

/**
 * The rebootstrap of `options.pipeline` over the configured collection and store.
 */
export const program = (options: Options) =>
  Effect.gen(function*() {
    if (!pipelines.some((p) => p.name === options.pipeline)) {
      return yield* new ConfigurationError({
        detail: `no pipeline ${options.pipeline}: one of ${pipelines.map((p) => p.name).join(", ")}`
      })
    }
    const started = Date.now()
    const mongo = yield* Settings.mongo
    const keepDocuments = yield* Settings.keepDocuments
    const store = yield* generationStore
    const refuseKafka = LiveSource.requireChangeStream(
      "rebootstrap",
      "Stop the workers and bootstrap into a new store with a new consumer group (CONSUMER_GROUP) instead."
    )
    const result = yield* Effect.andThen(
      refuseKafka,
      Rebootstrap.run(Scan.spec(mongo, { keepDocuments }), options.pipeline, { fresh: options.fresh, idle: `${options.idleMs} millis` })
    ).pipe(Effect.provide([store, Mongo.layer({ uri: mongo.uri })]))
    // readers through the Valkey cache: drop the pipeline's cached values now rather than as their TTL runs out
    const cache = yield* Settings.cacheUrl
    if (cache !== undefined) {
      const flushed = yield* Cache.flush(options.pipeline, { prefix: Stores.cachePrefix(yield* Settings.store) }).pipe(
        Effect.provide(Cache.redisLayer({ url: cache }))
      )
      yield* Effect.logInfo(`rebootstrap of ${options.pipeline}: ${flushed} cached values dropped from Valkey/Redis`)
    }
    const scanned = Fold.of(result.bootstrap, options.pipeline).records
    const caughtUp = Fold.of(result.catchUp, options.pipeline).records
    const elapsedMs = Date.now() - started
    yield* Effect.sync(() =>
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ pipeline: result.pipeline, from: result.from, to: result.to, scanned, caughtUp, elapsedMs })}\n`
          : `rebootstrap of ${result.pipeline}: generation ${result.to} is live (generation ${result.from} dropped); ` +
            `${scanned} documents scanned, ${caughtUp} changes caught up, ${(elapsedMs / 1000).toFixed(1)} s\n`
      )
    )
  })

const pipeline = Argument.String("pipeline").pipe(
  Argument.withDescription(`the pipeline to rebuild: ${pipelines.map((p) => p.name).join(", ")}`)
)

const flags = {
  pipeline,
  fresh: Flag.Boolean("fresh").pipe(
    Flag.withDefault(false),
    Flag.withDescription("drop what an interrupted rebootstrap left and start over (default: resume it)")
  ),
  idleMs: Flag.Int("idle-ms").pipe(
    Flag.withDefault(2000),
    Flag.withDescription("the catch-up ends once the change stream has had nothing new for this long (ms)")
  ),
  json: Cli.json
}

/**
 * The `rebootstrap` command (mounted by admin.js; `rebootstrapMain.ts` runs it alone).
 */
export const command = Command.make("rebootstrap", flags, program).pipe(
  Cli.describe(
    "Rebuilds PIPELINE's aggregates from the orders collection beside the live ones and swaps them in atomically; " +
      "the live worker keeps running and moves to the new aggregates. Interrupted, it leaves the live aggregates " +
      "untouched; run it again to resume (--fresh: start over).",
    [Settings.sections.mongo, Settings.sections.fold, Settings.sections.store, Settings.sections.logging]
  )
)

/**
 * The four tables of the DynamoDB stores, their names (from `Config`), and a helper that creates
 * them (on-demand billing; the TTL attribute of the aggregate table enabled for windowed data).
 *
 * | table (variable, default) | key | items |
 * |---|---|---|
 * | aggregates (`DDB_TABLE`, `order_totals`) | `pk` (S) + `sk` (S) | one per (pipeline, key, bucket) |
 * | ledger (`DDB_LEDGER_TABLE`, `<aggregates>_ledger`) | `pk` (S) | one per (pipeline, source document) |
 * | tokens (`DDB_TOKENS_TABLE`, `<aggregates>_tokens`) | `pk` (S) | one per (pipeline, name), plus chunks of large values |
 * | dead letters (`DDB_DEAD_LETTER_TABLE`, `<aggregates>_dead_letters`) | `pk` (S) + `sk` (S) | one per (pipeline, partition, seq) |
 *
 * Several pipelines may share the tables: every key starts with the pipeline's name.
 *
 * @since 0.1.0
 */
import type { CreateTableInput } from "@aws-sdk/client-dynamodb"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { StoreError } from "../Store/StoreError.ts"
import { type Client, DynamoDbClient } from "./DynamoDbClient.ts"
import * as Keys from "./internal/keys.ts"
import { send } from "./internal/send.ts"

/**
 * The table names.
 *
 * @category models
 * @since 0.1.0
 */
export interface TableNames {
  readonly aggregates: string
  readonly ledger: string
  readonly tokens: string
  readonly deadLetters: string
}

/**
 * The table names service.
 *
 * @category services
 * @since 0.1.0
 */
export class Tables extends Context.Service<Tables, TableNames>()("effect-monoid-streams/DynamoDbTables") {}

/**
 * The attribute DynamoDB's TTL deletes expired items by (seconds since the epoch). Only windowed
 * aggregates carry it; nothing else ever expires.
 *
 * @category constants
 * @since 0.1.0
 */
export const TTL_ATTRIBUTE: string = Keys.TTL_ATTRIBUTE

/**
 * The names derived from the aggregate table's name: `<name>_ledger`, `<name>_tokens`,
 * `<name>_dead_letters`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromBase = (aggregates: string): TableNames => ({
  aggregates,
  ledger: `${aggregates}_ledger`,
  tokens: `${aggregates}_tokens`,
  deadLetters: `${aggregates}_dead_letters`
})

const optional = (name: string) => Config.option(Config.String(name)).pipe(Config.map(Option.getOrUndefined))

/**
 * The names from the environment: `DDB_TABLE` (default `order_totals`), and `DDB_LEDGER_TABLE`,
 * `DDB_TOKENS_TABLE`, `DDB_DEAD_LETTER_TABLE` (defaults derived with {@link fromBase}).
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<TableNames> = Config.all({
  base: Config.String("DDB_TABLE").pipe(Config.withDefault("order_totals")),
  ledger: optional("DDB_LEDGER_TABLE"),
  tokens: optional("DDB_TOKENS_TABLE"),
  deadLetters: optional("DDB_DEAD_LETTER_TABLE")
}).pipe(Config.map((c) => {
  const derived = fromBase(c.base)
  return {
    aggregates: derived.aggregates,
    ledger: c.ledger ?? derived.ledger,
    tokens: c.tokens ?? derived.tokens,
    deadLetters: c.deadLetters ?? derived.deadLetters
  }
}))

/**
 * The table names service for `names`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (names: TableNames): Layer.Layer<Tables> => Layer.succeed(Tables, names)

/**
 * The table names service from the environment ({@link config}).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<Tables, Config.ConfigError> = Layer.effect(Tables, config)

const S = "S" as const

/**
 * The `CreateTable` requests of the four tables (on-demand billing).
 *
 * @category tables
 * @since 0.1.0
 */
export const definitions = (names: TableNames): Array<CreateTableInput> => {
  const hashOnly = (TableName: string): CreateTableInput => ({
    TableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: S }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }]
  })
  const withSort = (TableName: string): CreateTableInput => ({
    TableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: S }, { AttributeName: "sk", AttributeType: S }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }]
  })
  return [withSort(names.aggregates), hashOnly(names.ledger), hashOnly(names.tokens), withSort(names.deadLetters)]
}

const errorName = (e: StoreError): string => String((e.cause as { name?: unknown } | undefined)?.name ?? "")

const waitActive = (client: Client, table: string) =>
  send({ operation: "tables.describe", table }, (signal) =>
    client.send("DescribeTable", { TableName: table }, signal)).pipe(
      Effect.flatMap((d) =>
        d.Table?.TableStatus === "ACTIVE"
          ? Effect.void
          : Effect.fail(new StoreError({ store: "dynamodb", operation: "tables.create", retryable: true, detail: `table "${table}" is ${d.Table?.TableStatus ?? "unknown"}` }))
      ),
      Effect.retry({
        schedule: Schedule.min([Schedule.exponential("20 millis"), Schedule.spaced("1 second")]).pipe(
          Schedule.upTo({ duration: "3 minutes" })
        ),
        while: (e) => e.retryable || errorName(e) === "ResourceNotFoundException"
      })
    )

/**
 * Creates the tables that do not exist yet and waits until all are active; enables TTL on the
 * aggregate table's {@link TTL_ATTRIBUTE}. Idempotent. A server without TTL (dynalite) gets a
 * warning, not an error.
 *
 * @category tables
 * @since 0.1.0
 */
export const create = (names: TableNames): Effect.Effect<void, StoreError, DynamoDbClient> =>
  Effect.gen(function*() {
    const client = yield* DynamoDbClient
    for (const definition of definitions(names)) {
      const table = definition.TableName!
      const created = yield* send({ operation: "tables.create", table }, (signal) =>
        client.send("CreateTable", definition, signal)).pipe(
          Effect.as(true),
          Effect.catchIf((e) => errorName(e) === "ResourceInUseException", () => Effect.succeed(false))
        )
      yield* waitActive(client, table)
      yield* Effect.logInfo(created ? `created table ${table}` : `table ${table} exists`)
    }
    yield* send({ operation: "tables.ttl", table: names.aggregates }, (signal) =>
      client.send("UpdateTimeToLive", {
        TableName: names.aggregates,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true }
      }, signal)).pipe(
        Effect.tap(() => Effect.logInfo(`TTL on ${names.aggregates}.${TTL_ATTRIBUTE} enabled`)),
        Effect.catchIf(
          (e) =>
            errorName(e) === "UnknownOperationException" ||
            (errorName(e) === "ValidationException" && /already enabled/i.test(String((e.cause as Error).message))),
          (e) =>
            errorName(e) === "UnknownOperationException"
              ? Effect.logWarning(`this DynamoDB endpoint has no TTL (UpdateTimeToLive): windowed items of ${names.aggregates} will not expire`)
              : Effect.void
        )
      )
  })

/**
 * Deletes the tables (for tests and tear-downs). Missing tables are ignored.
 *
 * @category tables
 * @since 0.1.0
 */
export const drop = (names: TableNames): Effect.Effect<void, StoreError, DynamoDbClient> =>
  Effect.gen(function*() {
    const client = yield* DynamoDbClient
    for (const table of [names.aggregates, names.ledger, names.tokens, names.deadLetters]) {
      yield* send({ operation: "tables.drop", table }, (signal) =>
        client.send("DeleteTable", { TableName: table }, signal)).pipe(
          Effect.catchIf((e) => errorName(e) === "ResourceNotFoundException", () => Effect.void)
        )
    }
  })

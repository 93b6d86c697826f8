/**
 * Every store service on DynamoDB: the aggregate store, the contribution ledger, the token store
 * and the dead-letter sink, over one client and four tables (see `DynamoDbTables`).
 *
 * ```ts
 * // from the environment: DDB_ENDPOINT, AWS_REGION, credentials, DDB_TABLE, ...
 * program.pipe(Effect.provide(DynamoDbStore.layerConfig))
 * // or explicitly
 * DynamoDbStore.layer(DynamoDbTables.fromBase("order_totals")).pipe(
 *   Layer.provide(DynamoDbClient.layer({ endpoint: "http://127.0.0.1:14567", region: "us-east-1" })))
 * ```
 *
 * The tables must exist (`DynamoDbTables.create`, or the `createTablesMain` command); a missing
 * table fails the first store call with a non-retryable `StoreError` that says so.
 *
 * @since 0.1.0
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { type Config, Context, Effect, Layer } from "effect"
import { Aggregates } from "../Store/Aggregates.ts"
import { DeadLetters } from "../Store/DeadLetters.ts"
import { Ledger } from "../Store/Ledger.ts"
import { Tokens } from "../Store/Tokens.ts"
import * as DynamoAggregates from "./internal/aggregates.ts"
import * as Client from "./DynamoDbClient.ts"
import * as DynamoDeadLetters from "./internal/deadLetters.ts"
import * as DynamoLedger from "./internal/ledger.ts"
import * as Tables from "./DynamoDbTables.ts"
import * as DynamoTokens from "./internal/tokens.ts"

/**
 * Tuning of the stores; every field has a default.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Strongly consistent aggregate reads (`get`, `all`). Default `true`. */
  readonly consistentReads?: boolean | undefined
  /** Aggregate keys written at once. Default 16. */
  readonly aggregateConcurrency?: number | undefined
  /** Ledger entries written at once. Default 16. */
  readonly ledgerConcurrency?: number | undefined
  /** Conditional writes of one aggregate lost to concurrent writers before a retryable error. Default 8. */
  readonly contentionAttempts?: number | undefined
}

/**
 * The four services over a client and table names.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (client: DynamoDBClient, tables: Tables.TableNames, options: Options = {}) => ({
  aggregates: DynamoAggregates.make(client, tables.aggregates, {
    consistentReads: options.consistentReads,
    concurrency: options.aggregateConcurrency,
    contentionAttempts: options.contentionAttempts
  }),
  ledger: DynamoLedger.make(client, tables.ledger, { concurrency: options.ledgerConcurrency }),
  tokens: DynamoTokens.make(client, tables.tokens),
  deadLetters: DynamoDeadLetters.make(client, tables.deadLetters)
})

/**
 * The four services as a context.
 *
 * @category layers
 * @since 0.1.0
 */
export const context = (client: DynamoDBClient, tables: Tables.TableNames, options: Options = {}) => {
  const s = make(client, tables, options)
  return Context.make(Aggregates, s.aggregates).pipe(
    Context.add(Ledger, s.ledger),
    Context.add(Tokens, s.tokens),
    Context.add(DeadLetters, s.deadLetters)
  )
}

/**
 * Every store service over the client service and `tables`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  tables: Tables.TableNames,
  options: Options = {}
): Layer.Layer<Aggregates | Ledger | Tokens | DeadLetters, never, Client.DynamoDbClient> =>
  Layer.effectContext(Effect.map(Client.DynamoDbClient, (client) => context(client, tables, options)))

/**
 * Every store service over a client made elsewhere (its owner destroys it).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFrom = (
  client: DynamoDBClient,
  tables: Tables.TableNames,
  options: Options = {}
): Layer.Layer<Aggregates | Ledger | Tokens | DeadLetters> => Layer.succeedContext(context(client, tables, options))

/**
 * Every store service from the environment: the client from `DynamoDbClient.config`, the table
 * names from `DynamoDbTables.config`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  options: Options = {}
): Layer.Layer<Aggregates | Ledger | Tokens | DeadLetters, Config.ConfigError> =>
  Layer.unwrap(Effect.map(Tables.config, (tables) => layer(tables, options))).pipe(Layer.provide(Client.layerConfig))

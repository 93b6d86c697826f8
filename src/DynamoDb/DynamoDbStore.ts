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
 * Generations (see `Generations`, `Rebootstrap`): each pipeline's pointer is an item of the tokens
 * table. Every `get`/`all` reads it (one consistent `GetItem` more per call), the fold reads it
 * once when it first uses a pipeline and again before each commit, whatever the source commits to
 * (one `GetItem` more per batch), and a swap is three conditional writes around a scan of the ledger table (no
 * transaction needed, so it works on dynalite too).
 *
 * @since 0.1.0
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Aggregates } from "../Store/Aggregates.ts"
import type { DeadLetters } from "../Store/DeadLetters.ts"
import { Generations } from "../Store/Generations.ts"
import type { Ledger } from "../Store/Ledger.ts"
import type { Tokens } from "../Store/Tokens.ts"
import * as DynamoAggregates from "./internal/aggregates.ts"
import * as Client from "./DynamoDbClient.ts"
import * as DynamoDeadLetters from "./internal/deadLetters.ts"
import * as DynamoGenerations from "./internal/generations.ts"
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
export const make = (sender: Client.Client | DynamoDBClient, tables: Tables.TableNames, options: Options = {}) => {
  const client = Client.toClient(sender)
  return {
    aggregates: DynamoAggregates.make(client, tables.aggregates, {
      consistentReads: options.consistentReads,
      concurrency: options.aggregateConcurrency,
      contentionAttempts: options.contentionAttempts
    }),
    ledger: DynamoLedger.make(client, tables.ledger, { concurrency: options.ledgerConcurrency }),
    tokens: DynamoTokens.make(client, tables.tokens),
    deadLetters: DynamoDeadLetters.make(client, tables.deadLetters)
  }
}

/**
 * The four services as a context, addressing each pipeline's current generation, with the
 * pipelines' `Generations` (rebuilds swapped in by `Rebootstrap`; the pointers are items of the
 * tokens table, see the module doc).
 *
 * @category layers
 * @since 0.1.0
 */
export const context = (sender: Client.Client | DynamoDBClient, tables: Tables.TableNames, options: Options = {}) => {
  const client = Client.toClient(sender)
  const g = DynamoGenerations.make(client, tables, make(client, tables, options))
  return Context.add(g.services, Generations, g.generations)
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
): Layer.Layer<Aggregates | Ledger | Tokens | DeadLetters | Generations, never, Client.DynamoDbClient> =>
  Layer.effectContext(Effect.map(Client.DynamoDbClient, (client) => context(client, tables, options)))

/**
 * Every store service over a client made elsewhere (its owner destroys it).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFrom = (
  client: Client.Client | DynamoDBClient,
  tables: Tables.TableNames,
  options: Options = {}
): Layer.Layer<Aggregates | Ledger | Tokens | DeadLetters | Generations> => Layer.effectContext(Effect.sync(() => context(client, tables, options)))

/**
 * Every store service from the environment: the client from `DynamoDbClient.config`, the table
 * names from `DynamoDbTables.config`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  options: Options = {}
): Layer.Layer<Aggregates | Ledger | Tokens | DeadLetters | Generations, Config.ConfigError> =>
  Layer.unwrap(Effect.map(Tables.config, (tables) => layer(tables, options))).pipe(Layer.provide(Client.layerConfig))

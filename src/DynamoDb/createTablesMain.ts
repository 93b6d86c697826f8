/**
 * `create-tables`: creates the DynamoDB tables of the stores (on-demand billing, TTL on the
 * aggregate table's `expiresAt` where the server supports it) and waits until they are active.
 * Idempotent: existing tables are left as they are.
 *
 *   scripts/node dist/src/DynamoDb/createTablesMain.js
 *
 * Configuration from the environment: `DDB_TABLE` (default `order_totals`), `DDB_LEDGER_TABLE`,
 * `DDB_TOKENS_TABLE`, `DDB_DEAD_LETTER_TABLE` (defaults `<DDB_TABLE>_ledger`, `_tokens`,
 * `_dead_letters`), `DDB_ENDPOINT`, `AWS_REGION`, and the AWS credentials (see `DynamoDbClient`).
 * Exit code 0 when every table is active, 1 otherwise.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Client from "./DynamoDbClient.ts"
import * as Tables from "./DynamoDbTables.ts"

const program = Effect.gen(function*() {
  const names = yield* Tables.config
  yield* Tables.create(names)
  yield* Effect.logInfo(
    `tables ready: aggregates=${names.aggregates} ledger=${names.ledger} tokens=${names.tokens} deadLetters=${names.deadLetters}`
  )
}).pipe(Effect.provide(Client.layerConfig))

NodeRuntime.runMain(program)

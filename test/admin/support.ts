/**
 * Helpers of the admin tests: a scenario (a unique database, and an embedded store in a temporary
 * folder or unique DynamoDB tables on dynalite), the built orderstats binaries run as child
 * processes with only the scenario's settings, the store opened in this process (to plant a
 * difference with the store's own API), and the references: group-bys over the final collection.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { Effect, Layer } from "effect"
import type { Collection, Document, MongoClient } from "mongodb"
import * as DynamoDbClient from "../../src/DynamoDb/DynamoDbClient.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as Tables from "../../src/DynamoDb/DynamoDbTables.ts"
import type { Aggregates } from "../../src/Store/Aggregates.ts"
import type { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import type { Ledger } from "../../src/Store/Ledger.ts"
import type { StoreError } from "../../src/Store/StoreError.ts"
import type { Tokens } from "../../src/Store/Tokens.ts"
import { mongoClient } from "../mongo/support.ts"
import { ensureBuilt, type Run } from "../support/cli.ts"
import { awsClientConfig, awsRegion, ddbEndpoint, mongoUri, uniqueName } from "../support/services.ts"

export type StoreKind = "embedded" | "dynamodb"

export interface Scenario {
  readonly kind: StoreKind
  readonly db: string
  readonly env: Record<string, string>
  readonly collection: Collection<Document>
  /** The scenario's store services, opened in this process. */
  readonly stores: Layer.Layer<Aggregates | Ledger | Tokens | DeadLetters, StoreError>
  /** Runs a built orderstats binary (`admin`, `seed`, `bootstrap`, ...) with the scenario's settings. */
  readonly run: (binary: string, args: ReadonlyArray<string>, extra?: Record<string, string>) => Promise<Run>
  /** Runs a binary and fails unless it exits 0; its stdout. */
  readonly ok: (binary: string, args: ReadonlyArray<string>, extra?: Record<string, string>) => Promise<string>
  readonly close: () => Promise<void>
}

let mongo: MongoClient | undefined
const client = (): MongoClient => (mongo ??= mongoClient())

let ddb: DynamoDBClient | undefined
const ddbClient = (): DynamoDBClient => (ddb ??= new DynamoDBClient({ ...awsClientConfig(), maxAttempts: 3 }))

export const closeClients = async (): Promise<void> => {
  await mongo?.close().catch(() => undefined)
  mongo = undefined
  ddb?.destroy()
  ddb = undefined
}

/** A fresh scenario on `kind`. */
export const scenario = (prefix: string, kind: StoreKind): Scenario => {
  const id = uniqueName(prefix).replace(/[^A-Za-z0-9_]/g, "_")
  const dir = mkdtempSync(join(tmpdir(), "admin-"))
  const table = `${id}_totals`
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "",
    MONGO_URI: mongoUri(),
    MONGO_DB: id,
    MONGO_COLLECTION: "orders",
    MONGO_BATCH_SIZE: "50",
    MONGO_IDLE_POLL_MS: "200",
    LOG_LEVEL: "Warn",
    ...(kind === "embedded"
      ? { STORE: "embedded", STATE_DIR: dir }
      : {
        STORE: "dynamodb",
        DDB_ENDPOINT: ddbEndpoint(),
        DDB_TABLE: table,
        AWS_REGION: awsRegion(),
        AWS_ACCESS_KEY_ID: awsClientConfig().credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: awsClientConfig().credentials.secretAccessKey
      })
  }
  const stores = kind === "embedded"
    ? Embedded.layer({ path: join(dir, "orderstats.sqlite") })
    : Layer.unwrap(Effect.sync(() => DynamoDbStore.layerFrom(ddbClient(), Tables.fromBase(table))))
  const runIt = (binary: string, args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
    spawnBinary(ensureBuilt(`${binary}.js`), args, { ...env, ...extra })
  return {
    kind,
    db: id,
    env,
    collection: client().db(id).collection("orders"),
    stores,
    run: runIt,
    ok: async (binary, args, extra) => {
      const r = await runIt(binary, args, extra)
      if (r.code !== 0) throw new Error(`${binary} ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`)
      return r.stdout
    },
    close: async () => {
      await client().db(id).dropDatabase().catch(() => undefined)
      if (kind === "dynamodb") {
        await Effect.runPromise(
          Tables.drop(Tables.fromBase(table)).pipe(Effect.provide(DynamoDbClient.layerFrom(ddbClient())), Effect.catch(() => Effect.void))
        )
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Runs `node script ...args` with exactly `env` (none of the test process's server settings). */
const spawnBinary = (script: string, args: ReadonlyArray<string>, env: Record<string, string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })

/** The stdout of a binary run with `--json`, parsed. */
export const json = <A = any>(stdout: string): A => JSON.parse(stdout.trim().split("\n").pop()!) as A

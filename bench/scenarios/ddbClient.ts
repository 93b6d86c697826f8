/**
 * What a DynamoDB request costs the worker's CPU: the library's default transport (DynamoDB's JSON
 * protocol over Node's HTTP agent, `DynamoDbClient`) in the library column, the SDK client
 * (`@aws-sdk/client-dynamodb`) in the ceiling column, each sending the same ledger entries as
 * conditional `PutItem`s (the ledger store's request) to dynalite, 16 in flight.
 *
 * Records are requests. `cpuUsPerRequest` is this process's user and system CPU over the timed part
 * divided by the requests; dynalite's CPU is not in it. On loopback dynalite is the bottleneck of
 * the cheaper side, so the records/s ratio understates the CPU ratio.
 */
import { randomUUID } from "node:crypto"
import type { PutItemInput } from "@aws-sdk/client-dynamodb"
import * as DynamoDbClient from "../../src/DynamoDb/DynamoDbClient.ts"
import * as DynamoDbTables from "../../src/DynamoDb/DynamoDbTables.ts"
import * as Keys from "../../src/DynamoDb/internal/keys.ts"
import { time, type Sample } from "../lib/measure.ts"
import { required } from "../lib/services.ts"
import { DYNAMODB_CONCURRENCY, type WorkloadOptions } from "../lib/workload.ts"
import * as Stores from "./stores.ts"

export const prepare = Stores.dynamoPrepare
export const cleanup = Stores.dynamoCleanup

const entries = (count: number): Array<PutItemInput> => {
  const table = DynamoDbTables.fromBase(required("BENCH_DDB_TABLE")).ledger
  const name = `bench_${randomUUID().slice(0, 8)}`
  return Array.from({ length: count }, (_, i) => ({
    TableName: table,
    Item: {
      pk: { S: Keys.partitionKey(Keys.identity([name, `order-${i}`])) },
      p: { S: name },
      keys: { S: JSON.stringify([`customer-${i % 1000}`]) },
      c: { S: String(1_000 + i) },
      vh: { N: String(1_796_000_000_000 + i) },
      vl: { N: "0" }
    },
    ConditionExpression: "attribute_not_exists(#pk) OR #vh < :hi OR (#vh = :hi AND #vl < :lo)",
    ExpressionAttributeNames: { "#pk": "pk", "#vh": "vh", "#vl": "vl" },
    ExpressionAttributeValues: { ":hi": { N: String(1_796_000_000_000 + i) }, ":lo": { N: "0" } }
  }))
}

const sendAll = (client: DynamoDbClient.Client, requests: ReadonlyArray<PutItemInput>): Promise<Sample> =>
  time(async () => {
    const cpu = process.cpuUsage()
    let next = 0
    const worker = async () => {
      while (next < requests.length) await client.send("PutItem", requests[next++]!)
    }
    await Promise.all(Array.from({ length: DYNAMODB_CONCURRENCY }, worker))
    const used = process.cpuUsage(cpu)
    return {
      records: requests.length,
      roundTrips: requests.length,
      extra: { cpuUsPerRequest: Math.round((used.user + used.system) / requests.length) }
    }
  })

export const library = async (w: WorkloadOptions): Promise<Sample> => {
  const requests = entries(w.changes)
  const http = Stores.httpClient({ sent: 0 })
  try {
    return await sendAll(http.client, requests)
  } finally {
    http.close()
  }
}

export const ceiling = async (w: WorkloadOptions): Promise<Sample> => {
  const requests = entries(w.changes)
  const sdk = Stores.sdkClient({ sent: 0 })
  try {
    return await sendAll(DynamoDbClient.fromSdk(sdk), requests)
  } finally {
    sdk.destroy()
  }
}

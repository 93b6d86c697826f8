/**
 * Smoke test of the DynamoDB test servers through @aws-sdk/client-dynamodb:
 * - DDB_ENDPOINT (dynalite locally): a conditional UpdateItem that ADDs to a total and moves a
 *   high-water mark, only if the mark is absent or lower; the identical call then fails with
 *   ConditionalCheckFailedException and changes nothing.
 * - DDB_TX_ENDPOINT (moto locally): TransactWriteItems, applied atomically, and cancelled whole when
 *   one condition fails.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type UpdateItemCommandInput,
  UpdateItemCommand,
  waitUntilTableExists
} from "@aws-sdk/client-dynamodb"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { awsClientConfig, ddbEndpoint, ddbTxEndpoint, requireService, uniqueName } from "../support/services.ts"

const createTable = async (client: DynamoDBClient, table: string) => {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST"
    })
  )
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: table })
}

const readItem = async (client: DynamoDBClient, table: string, pk: string) =>
  (await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item

/** ADD delta to total and set the partition's high-water mark to `position`, if the mark is below it. */
const applyDelta = (table: string, pk: string, delta: number, position: number): UpdateItemCommandInput => ({
  TableName: table,
  Key: { pk: { S: pk } },
  UpdateExpression: "ADD #total :d SET #hw = :p",
  ConditionExpression: "attribute_not_exists(#hw) OR #hw < :p",
  ExpressionAttributeNames: { "#total": "total", "#hw": "hw_p0" },
  ExpressionAttributeValues: { ":d": { N: String(delta) }, ":p": { N: String(position) } },
  ReturnValues: "ALL_NEW"
})

describe("DynamoDB conditional writes (smoke, DDB_ENDPOINT)", () => {
  let client: DynamoDBClient
  const table = uniqueName("smoke-aggregates")

  beforeAll(async () => {
    await requireService("dynamodb")
    client = new DynamoDBClient(awsClientConfig(ddbEndpoint()))
    await createTable(client, table)
  })

  afterAll(async () => {
    await client?.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined)
    client?.destroy()
  })

  it("ADDs under a high-water-mark condition and refuses the replay", async () => {
    const first = await client.send(new UpdateItemCommand(applyDelta(table, "customer#c-1", 1250, 7)))
    expect(first.Attributes).toEqual({ pk: { S: "customer#c-1" }, total: { N: "1250" }, hw_p0: { N: "7" } })

    // the same batch again (a replay after a crash): the condition fails, nothing changes
    const replay = client.send(new UpdateItemCommand(applyDelta(table, "customer#c-1", 1250, 7)))
    await expect(replay).rejects.toBeInstanceOf(ConditionalCheckFailedException)
    await expect(replay).rejects.toMatchObject({ name: "ConditionalCheckFailedException" })
    expect(await readItem(client, table, "customer#c-1")).toEqual({
      pk: { S: "customer#c-1" },
      total: { N: "1250" },
      hw_p0: { N: "7" }
    })

    // an older position is refused too; a newer one applies
    await expect(client.send(new UpdateItemCommand(applyDelta(table, "customer#c-1", 5, 6)))).rejects.toBeInstanceOf(
      ConditionalCheckFailedException
    )
    const next = await client.send(new UpdateItemCommand(applyDelta(table, "customer#c-1", -250, 8)))
    expect(next.Attributes?.["total"]).toEqual({ N: "1000" })
    expect(next.Attributes?.["hw_p0"]).toEqual({ N: "8" })
  })
})

describe("DynamoDB TransactWriteItems (smoke, DDB_TX_ENDPOINT)", () => {
  let client: DynamoDBClient
  const table = uniqueName("smoke-tx")

  beforeAll(async () => {
    await requireService("dynamodb-tx")
    client = new DynamoDBClient(awsClientConfig(ddbTxEndpoint()))
    await createTable(client, table)
  })

  afterAll(async () => {
    await client?.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined)
    client?.destroy()
  })

  /** Records event `eventId` once (the ledger item's condition) and adds `amount` to the total. */
  const transaction = (eventId: string, amount: number) =>
    new TransactWriteItemsCommand({
      TransactItems: [
        {
          Put: {
            TableName: table,
            Item: { pk: { S: `event#${eventId}` }, amount: { N: String(amount) } },
            ConditionExpression: "attribute_not_exists(pk)"
          }
        },
        {
          Update: {
            TableName: table,
            Key: { pk: { S: "customer#c-1" } },
            UpdateExpression: "ADD #total :d",
            ExpressionAttributeNames: { "#total": "total" },
            ExpressionAttributeValues: { ":d": { N: String(amount) } }
          }
        }
      ]
    })

  it("applies both writes, and cancels both when one condition fails", async () => {
    await client.send(transaction("e-1", 400))
    expect(await readItem(client, table, "event#e-1")).toEqual({ pk: { S: "event#e-1" }, amount: { N: "400" } })
    expect(await readItem(client, table, "customer#c-1")).toEqual({ pk: { S: "customer#c-1" }, total: { N: "400" } })

    const duplicate = client.send(transaction("e-1", 400))
    await expect(duplicate).rejects.toBeInstanceOf(TransactionCanceledException)
    const error = (await duplicate.catch((e: unknown) => e)) as TransactionCanceledException
    expect(error.CancellationReasons?.map((r) => r.Code)).toEqual(["ConditionalCheckFailed", "None"])
    expect(await readItem(client, table, "customer#c-1")).toEqual({ pk: { S: "customer#c-1" }, total: { N: "400" } })

    await client.send(transaction("e-2", 35))
    expect(await readItem(client, table, "customer#c-1")).toEqual({ pk: { S: "customer#c-1" }, total: { N: "435" } })
  })
})

/**
 * The ledger, token store and dead-letter sink on DynamoDB (dynalite): batching past the 100-key
 * `BatchGetItem` limit, the version guard, token values larger than an item (chunks, never seen
 * half-written, kept when the SDK resends a head whose answer was lost), and dead letters larger
 * than an item (compressed or split, never truncated).
 */
import { type DynamoDBClient, ScanCommand, type ScanCommandOutput } from "@aws-sdk/client-dynamodb"
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as Monoid from "../../src/Monoid.ts"
import * as DynamoDeadLetters from "../../src/DynamoDb/internal/deadLetters.ts"
import * as DynamoLedger from "../../src/DynamoDb/internal/ledger.ts"
import { type Client as DynamoClient, toClient } from "../../src/DynamoDb/DynamoDbClient.ts"
import type { TableNames } from "../../src/DynamoDb/DynamoDbTables.ts"
import * as DynamoTokens from "../../src/DynamoDb/internal/tokens.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { dropTables, freshTables, injectFaults, testClient } from "./support.ts"

describe("DynamoDB ledger, tokens and dead letters", () => {
  let client: DynamoDBClient
  let tables: TableNames
  const others: Array<DynamoDBClient> = []

  beforeAll(async () => {
    await requireService("dynamodb")
    client = testClient()
    tables = await freshTables(client, "stores")
  })

  afterAll(async () => {
    if (tables !== undefined) await dropTables(client, tables)
    client?.destroy()
    for (const c of others) c.destroy()
  })

  const count = async (table: string) => {
    let n = 0
    let start: ScanCommandOutput["LastEvaluatedKey"] = undefined
    do {
      const page: ScanCommandOutput = await client.send(
        new ScanCommand({ TableName: table, Select: "COUNT", ...(start === undefined ? {} : { ExclusiveStartKey: start }) })
      )
      n += page.Count ?? 0
      start = page.LastEvaluatedKey
    } while (start !== undefined)
    return n
  }

  it("ledger: 250 entries through batched reads; writes guarded by version", async () => {
    const ledger = DynamoLedger.make(client, tables.ledger)
    const target = { name: uniqueName("ledger"), monoid: Monoid.sum }
    const ids = Array.from({ length: 250 }, (_, i) => `{"$oid":"${i.toString(16).padStart(24, "0")}"}`)
    await Effect.runPromise(ledger.put(target, new Map(ids.map((id, i) => [id, { keys: [`c-${i % 7}`], value: i * 100, version: [1000, 1] as const }]))))
    // the entries in the order asked for (BatchGetItem answers in any order), none where there is none
    const asked = [...ids].reverse().concat(['{"$oid":"absent"}'])
    const all = await Effect.runPromise(ledger.get(target, asked))
    expect(all).toHaveLength(251)
    expect(all.slice(0, 250)).toEqual(asked.slice(0, 250).map((id) => ({ keys: [`c-${ids.indexOf(id) % 7}`], value: ids.indexOf(id) * 100, version: [1000, 1] })))
    expect(all[250]).toBeUndefined()

    const id = ids[0]!
    // older and equal versions do not move the entry back; a newer one replaces it; a delete keeps the version
    await Effect.runPromise(ledger.put(target, new Map([[id, { keys: ["old"], value: 1, version: [999, 9] }]])))
    await Effect.runPromise(ledger.put(target, new Map([[id, { keys: ["same"], value: 2, version: [1000, 1] }]])))
    expect((await Effect.runPromise(ledger.get(target, [id])))[0]).toEqual({ keys: ["c-0"], value: 0, version: [1000, 1] })
    await Effect.runPromise(ledger.put(target, new Map([[id, { keys: ["new"], value: 3, version: [1000, 2] }]])))
    expect((await Effect.runPromise(ledger.get(target, [id])))[0]).toEqual({ keys: ["new"], value: 3, version: [1000, 2] })
    await Effect.runPromise(ledger.put(target, new Map([[id, { keys: [], value: undefined as unknown as number, version: [2000, 0] }]])))
    expect((await Effect.runPromise(ledger.get(target, [id])))[0]).toEqual({ keys: [], value: undefined, version: [2000, 0] })
  })

  it("tokens: values larger than an item are chunked, replaced and removed without leftovers", async () => {
    const tokens = DynamoTokens.make(client, tables.tokens)
    const pipeline = uniqueName("tok")
    const before = await count(tables.tokens)
    const big = { rows: Array.from({ length: 9_000 }, (_, i) => ({ i, text: `row ${i} ${"é".repeat(60)}` })) }
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(1_000_000)
    await Effect.runPromise(tokens.set(pipeline, "staged:scan", big))
    expect(await Effect.runPromise(tokens.get(pipeline, "staged:scan"))).toEqual(Option.some(big))
    const chunked = await count(tables.tokens)
    expect(chunked - before).toBeGreaterThanOrEqual(1 + 4) // head + at least 4 chunks of 300 KB

    const bigger = { rows: [...big.rows, ...big.rows] }
    await Effect.runPromise(tokens.set(pipeline, "staged:scan", bigger))
    expect(await Effect.runPromise(tokens.get(pipeline, "staged:scan"))).toEqual(Option.some(bigger))
    await Effect.runPromise(tokens.set(pipeline, "staged:scan", { small: true }))
    expect(await Effect.runPromise(tokens.get(pipeline, "staged:scan"))).toEqual(Option.some({ small: true }))
    expect(await count(tables.tokens)).toBe(before + 1)
    await Effect.runPromise(tokens.set(pipeline, "staged:scan", big))
    await Effect.runPromise(tokens.set(pipeline, "staged:scan", undefined))
    expect(await Effect.runPromise(tokens.get(pipeline, "staged:scan"))).toEqual(Option.none())
    // what is left is the head as a tombstone (it keeps the write number), no chunk
    expect(await count(tables.tokens)).toBe(before + 1)
  })

  it("tokens: a write the network held and delivers late cannot replace a newer value or bring a removed one back", async () => {
    const real = toClient(client)
    const puts: Array<Parameters<typeof real.send<"PutItem">>[1]> = []
    // records each head it sends, as the network would hold a copy of it
    const recording: DynamoClient = {
      send: (operation, input, signal) => {
        if (operation === "PutItem") puts.push(structuredClone(input as never))
        return real.send(operation, input, signal)
      }
    }
    const tokens = DynamoTokens.make(recording, tables.tokens)
    const pipeline = uniqueName("late")
    await Effect.runPromise(tokens.set(pipeline, "position:s", { p: { seq: 12 } }))
    await Effect.runPromise(tokens.set(pipeline, "position:s", { p: { seq: 40 } }))
    await Effect.runPromise(tokens.set(pipeline, "staged:s", { batch: [1, 2, 3] }))
    await Effect.runPromise(tokens.set(pipeline, "staged:s", undefined))
    // the held copies land now: the first commit, and the staging of the batch since cleared
    for (const late of [puts[0]!, puts[2]!]) {
      await expect(real.send("PutItem", late)).rejects.toMatchObject({ name: "ConditionalCheckFailedException" })
    }
    expect(await Effect.runPromise(tokens.get(pipeline, "position:s"))).toEqual(Option.some({ p: { seq: 40 } }))
    expect(await Effect.runPromise(tokens.get(pipeline, "staged:s"))).toEqual(Option.none())
    // a second store (another process) reads the write numbers and goes on from them
    const next = DynamoTokens.make(client, tables.tokens)
    await Effect.runPromise(next.set(pipeline, "position:s", { p: { seq: 41 } }))
    // and the first one, whose write number is now behind, writes over it (the last writer wins)
    await Effect.runPromise(tokens.set(pipeline, "position:s", { p: { seq: 42 } }))
    expect(await Effect.runPromise(next.get(pipeline, "position:s"))).toEqual(Option.some({ p: { seq: 42 } }))
    expect(puts).toHaveLength(6) // its first try was refused, its second one written
  })

  it("tokens: a reader racing a writer sees one whole value or the other, never a mix", async () => {
    const tokens = DynamoTokens.make(client, tables.tokens)
    const pipeline = uniqueName("race")
    const a = { which: "a", rows: Array.from({ length: 5_000 }, (_, i) => `a-${i}-${"x".repeat(80)}`) }
    const b = { which: "b", rows: Array.from({ length: 6_000 }, (_, i) => `b-${i}-${"y".repeat(80)}`) }
    await Effect.runPromise(tokens.set(pipeline, "t", a))
    const reads = await Effect.runPromise(Effect.gen(function*() {
      const writer = yield* Effect.forkChild(Effect.gen(function*() {
        for (let i = 0; i < 12; i++) yield* tokens.set(pipeline, "t", i % 2 === 0 ? b : a)
      }), { startImmediately: true })
      const seen: Array<string> = []
      while (seen.length < 25) {
        const value = yield* tokens.get(pipeline, "t")
        const v = Option.getOrThrow(value) as typeof a
        // whole values only
        expect(v.which === "a" ? v : v.which === "b" ? v : undefined).toEqual(v.which === "a" ? a : b)
        seen.push(v.which)
      }
      yield* Fiber.join(writer)
      return seen
    }))
    expect(reads.length).toBe(25)
  })

  it("tokens: a head resent by the SDK after its answer was lost keeps its chunks", async () => {
    const c = testClient({ maxAttempts: 3 })
    others.push(c)
    let heads = 0
    // every put of a head (not of a chunk: those go through BatchWriteItem) is applied, then its answer lost once
    injectFaults(c, (command, attempt) => (command === "PutItemCommand" && attempt === 1 && heads++ >= 0 ? "after" : undefined))
    const tokens = DynamoTokens.make(c, tables.tokens)
    const pipeline = uniqueName("resent")
    const big = { rows: Array.from({ length: 4_000 }, (_, i) => `${i}-${"z".repeat(100)}`) }
    await Effect.runPromise(tokens.set(pipeline, "t", big))
    expect(await Effect.runPromise(tokens.get(pipeline, "t"))).toEqual(Option.some(big))
    const bigger = { rows: [...big.rows, "one more"] }
    await Effect.runPromise(tokens.set(pipeline, "t", bigger))
    expect(await Effect.runPromise(tokens.get(pipeline, "t"))).toEqual(Option.some(bigger))
    expect(heads).toBe(2)
  })

  it("dead letters: idempotent per position; raw records larger than an item are kept whole", async () => {
    const deadLetters = DynamoDeadLetters.make(client, tables.deadLetters)
    const pipeline = uniqueName("dl")
    const compressible = JSON.stringify({ after: "{\"_id\":1}".repeat(80_000) }) // ~720 KB, gzips well
    const random = randomBytes(700_000).toString("base64") // ~930 KB, does not compress below an item
    const letters = [
      { pipeline, partition: "topic/0", seq: 5, raw: "{not json", reason: "not JSON", key: "{\"id\":\"1\"}", at: 1 },
      { pipeline, partition: "topic/0", seq: 9, raw: compressible, reason: "too large a document", docId: "\"d\"", at: 2 },
      { pipeline, partition: "topic/1", seq: 3, raw: random, reason: "r".repeat(5_000), at: 3 }
    ]
    await Effect.runPromise(deadLetters.write(letters))
    await Effect.runPromise(deadLetters.write([{ ...letters[0]!, reason: "a replay", at: 99 }]))
    const listed = await Effect.runPromise(deadLetters.list(pipeline))
    expect(listed.map((l) => [l.partition, l.seq, l.raw.length, l.reason.length, l.at])).toEqual([
      ["topic/0", 5, 9, 8, 1],
      ["topic/0", 9, compressible.length, 20, 2],
      ["topic/1", 3, random.length, 5_000, 3]
    ])
    expect(listed[1]!.raw).toBe(compressible)
    expect(listed[2]!.raw).toBe(random)
    expect(listed[0]!.key).toBe("{\"id\":\"1\"}")
    expect(listed[1]!.docId).toBe("\"d\"")
  })
})

/**
 * Hostile names on the real DynamoDB API (dynalite): aggregate keys, source partitions, document
 * ids and token names made of any characters (unicode, `#`, `:`, `.`, NUL, quotes, lone
 * surrogates, placeholder look-alikes such as `#h0` and `:p`), and keys longer than DynamoDB's key
 * limits, round-trip through every store and never collide.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option, Order } from "effect"
import fc from "fast-check"
import * as Monoid from "../../src/Monoid.ts"
import type { KeyUpdate } from "../../src/Store/Aggregates.ts"
import * as DynamoAggregates from "../../src/DynamoDb/internal/aggregates.ts"
import * as DynamoDeadLetters from "../../src/DynamoDb/internal/deadLetters.ts"
import * as DynamoLedger from "../../src/DynamoDb/internal/ledger.ts"
import type { TableNames } from "../../src/DynamoDb/DynamoDbTables.ts"
import * as DynamoTokens from "../../src/DynamoDb/internal/tokens.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { dropTables, freshTables, testClient } from "./support.ts"

const piece = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom("#", ":", ".", "\u0000", "\n", "\"", "\\", "[", "]", ",", "@", "hw:", "#h0", ":p", ":d", "#v", "${x}", "__proto__", " ", ""),
  // lone surrogates: not representable in UTF-8 as such
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
)

const hostile = fc.oneof(
  { weight: 10, arbitrary: fc.array(piece, { maxLength: 6 }).map((parts) => parts.join("")) },
  // multi-byte text beyond the 2048-byte partition key limit
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 700, maxLength: 1200 }) },
  // right at the limit, ASCII (with the JSON wrapping, some fit and some do not)
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 2020, maxLength: 2060 }) }
)

const sumUpdates = (keys: ReadonlyArray<string>, partition: string): Array<KeyUpdate<number>> =>
  keys.map((key, i) => ({
    key,
    delta: i + 1,
    marks: [{ partition, first: i + 1, last: keys.length }],
    contributions: [{ partition, seq: i + 1, delta: i + 1 }]
  }))

describe("hostile names on DynamoDB", () => {
  let client: DynamoDBClient
  let tables: TableNames

  beforeAll(async () => {
    await requireService("dynamodb")
    client = testClient()
    tables = await freshTables(client, "keys")
  })

  afterAll(async () => {
    if (tables !== undefined) await dropTables(client, tables)
    client?.destroy()
  })

  it("aggregate keys and source partitions round-trip through apply, get and all, and never collide", async () => {
    const store = DynamoAggregates.make(client, tables.aggregates)
    let keysChecked = 0
    let hashed = 0
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(hostile, { minLength: 1, maxLength: 25 }), hostile, async (keys, partition) => {
        const target = { name: uniqueName("p#:."), monoid: Monoid.sum }
        const expected = new Map(keys.map((k, i) => [k, i + 1]))
        const first = await Effect.runPromise(store.apply(target, sumUpdates(keys, partition)))
        expect(first.written).toBe(keys.length)
        expect(await Effect.runPromise(store.get(target, [...keys, "absent key"]))).toEqual(expected)
        expect(await Effect.runPromise(store.all(target))).toEqual(expected)
        // the replay finds the marks of the hostile partition and adds nothing
        const replay = await Effect.runPromise(store.apply(target, sumUpdates(keys, partition)))
        expect(replay.skipped).toBe(keys.length)
        expect(await Effect.runPromise(store.all(target))).toEqual(expected)
        keysChecked += keys.length
        hashed += keys.filter((k) => Buffer.byteLength(JSON.stringify([target.name, k])) > 2048).length
      }),
      { numRuns: 60 }
    )
    console.log(`hostile keys: ${keysChecked} keys round-tripped, ${hashed} of them beyond the key size limit (hashed)`)
    expect(hashed).toBeGreaterThan(0)
  })

  it("a 100 000-character key and a non-additive value with hostile keys", async () => {
    const store = DynamoAggregates.make(client, tables.aggregates)
    const long = "ключ#:.\u0000".repeat(12_500)
    const sumTarget = { name: uniqueName("long"), monoid: Monoid.sum }
    await Effect.runPromise(store.apply(sumTarget, sumUpdates([long, long.slice(0, -1)], "p")))
    expect(await Effect.runPromise(store.all(sumTarget))).toEqual(new Map([[long, 1], [long.slice(0, -1), 2]]))

    const maxTarget = { name: uniqueName("max"), monoid: Monoid.max(Order.String) }
    const keys = ["#", ":", ".", "\u0000", "\ud800", long]
    const updates: Array<KeyUpdate<Option.Option<string>>> = keys.map((key, i) => ({
      key,
      delta: Option.some(`${key.slice(0, 10)}|${i}`),
      marks: [{ partition: "\udfff:#", first: i + 1, last: keys.length }],
      contributions: [{ partition: "\udfff:#", seq: i + 1, delta: Option.some(`${key.slice(0, 10)}|${i}`) }]
    }))
    await Effect.runPromise(store.apply(maxTarget, updates))
    const expected = new Map(keys.map((k, i) => [k, Option.some(`${k.slice(0, 10)}|${i}`)]))
    expect(await Effect.runPromise(store.get(maxTarget, keys))).toEqual(expected)
    expect(await Effect.runPromise(store.all(maxTarget))).toEqual(expected)
  })

  it("ledger document ids, token names and dead-letter partitions round-trip", async () => {
    const ledger = DynamoLedger.make(client, tables.ledger)
    const tokens = DynamoTokens.make(client, tables.tokens)
    const deadLetters = DynamoDeadLetters.make(client, tables.deadLetters)
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(hostile, { minLength: 1, maxLength: 12 }), async (names) => {
        const pipeline = uniqueName("led")
        const target = { name: pipeline, monoid: Monoid.sum }
        await Effect.runPromise(ledger.put(target, new Map(names.map((id, i) => [id, { keys: [id, `${i}`], value: i, version: [i, i] as const }]))))
        const entries = await Effect.runPromise(ledger.get(target, [...names, "absent"]))
        expect(entries).toEqual([...names.map((id, i) => ({ keys: [id, `${i}`], value: i, version: [i, i] })), undefined])

        for (const [i, name] of names.entries()) await Effect.runPromise(tokens.set(pipeline, name, { i, name }))
        for (const [i, name] of names.entries()) {
          expect(await Effect.runPromise(tokens.get(pipeline, name))).toEqual(Option.some({ i, name }))
        }

        const letters = names.map((name, i) => ({ pipeline, partition: name, seq: i, raw: `raw ${name}`, reason: name, key: name, docId: name, at: i }))
        await Effect.runPromise(deadLetters.write(letters))
        await Effect.runPromise(deadLetters.write(letters)) // idempotent
        const listed = await Effect.runPromise(deadLetters.list(pipeline))
        const byPosition = (a: { partition: string; seq: number }, b: { partition: string; seq: number }) =>
          a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : a.seq - b.seq
        expect(listed).toEqual([...letters].sort(byPosition))
      }),
      { numRuns: 15 }
    )
  })
})

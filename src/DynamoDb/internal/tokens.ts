/**
 * The token store on DynamoDB: one head item per (pipeline, name), holding the JSON value.
 *
 * Head item: `pk` = `["<pipeline>","<name>"]` (hashed when too long, see `Keys`), `p`, `n` (the
 * name, when it is well-formed text), and either `v` (the JSON text, when it fits in an item) or
 * `gen`/`parts`/`bytes` naming chunk items.
 *
 * A staged batch can exceed DynamoDB's 400 KB item limit. Such a value is written as chunk items
 * first (`pk` = `["<pipeline>","<name>","<gen>",i]`, `data` = up to 300 000 bytes of the UTF-8
 * text; `gen` is a fresh random id per write), and only then is the head written, naming them. A
 * reader reads the head (consistently) and then exactly the chunks it names, so it sees either the
 * old value or the new one, never half of one. The chunks of the value a head replaces (or
 * removes) are deleted after the head is written; if that fails or the process dies in between,
 * they are left over as unreferenced items (logged; harmless to correctness).
 *
 * @since 0.1.0
 */
import type { DynamoDBClient, WriteRequest } from "@aws-sdk/client-dynamodb"
import { randomUUID } from "node:crypto"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type Client, toClient } from "../DynamoDbClient.ts"
import type { StoreError } from "../../Store/StoreError.ts"
import { Tokens } from "../../Store/Tokens.ts"
import * as Batch from "./batch.ts"
import * as Keys from "./keys.ts"
import { invalid, send } from "./send.ts"

/**
 * Values up to this many UTF-8 bytes are kept in the head item itself.
 *
 * @since 0.1.0
 */
export const INLINE_BYTES = 300_000

/**
 * The size of one chunk of a larger value.
 *
 * @since 0.1.0
 */
export const CHUNK_BYTES = 300_000

const headKey = (pipeline: string, name: string) => {
  const id = Keys.identity([pipeline, name])
  const pk = Keys.partitionKey(id)
  return { id, pk, hashed: Keys.isHashed(pk) }
}

const chunkKey = (pipeline: string, name: string, gen: string, index: number): string =>
  Keys.partitionKey(Keys.identity([pipeline, name, gen, index]))

/**
 * The token store over `client` and `table`.
 *
 * @since 0.1.0
 */
export const make = (sender: Client | DynamoDBClient, table: string): Context.Service.Shape<typeof Tokens> => {
  const client = toClient(sender)
  const chunkKeys = (pipeline: string, name: string, head: Keys.Item | undefined): Array<string> => {
    const gen = head?.["gen"]?.S
    const parts = Number(head?.["parts"]?.N ?? "0")
    if (gen === undefined) return []
    return Array.from({ length: parts }, (_, i) => chunkKey(pipeline, name, gen, i))
  }

  /**
   * Deletes the chunks of a replaced head; failures only leave unreferenced items behind. The
   * transport may resend a head whose answer was lost, and then the "replaced" head is the new one itself:
   * its chunks (generation `current`) are kept.
   */
  const dropChunks = (pipeline: string, name: string, old: Keys.Item | undefined, current?: string) => {
    if (old?.["gen"]?.S !== undefined && old["gen"].S === current) return Effect.void
    const keys = chunkKeys(pipeline, name, old)
    if (keys.length === 0) return Effect.void
    const requests: Array<WriteRequest> = keys.map((pk) => ({ DeleteRequest: { Key: { pk: { S: pk } } } }))
    return Batch.write(client, { operation: "tokens.set", table }, requests).pipe(
      Effect.catch((e) => Effect.logWarning(`${keys.length} chunks of token ${name} of ${pipeline} were left behind: ${e.message}`))
    )
  }

  const readHead = (pipeline: string, name: string) =>
    Effect.gen(function*() {
      const key = headKey(pipeline, name)
      const target = { operation: "tokens.get", table }
      const answer = yield* send(target, (signal) =>
        client.send("GetItem", { TableName: table, Key: { pk: { S: key.pk } }, ConsistentRead: true }, signal))
      const item = answer.Item
      if (item !== undefined && key.hashed && item["id"]?.S !== key.id) {
        return yield* invalid(target, `two token names hash to the same item ${key.pk} (SHA-256 collision?)`)
      }
      return item
    })

  const get = (pipeline: string, name: string): Effect.Effect<Option.Option<unknown>, StoreError> =>
    Effect.gen(function*() {
      const target = { operation: "tokens.get", table }
      // a concurrent writer may replace the head and drop its chunks between our two reads: read again
      for (let attempt = 0; attempt < 3; attempt++) {
        const head = yield* readHead(pipeline, name)
        if (head === undefined) return Option.none()
        let text: string
        const inline = head["v"]?.S
        if (inline !== undefined) text = inline
        else {
          const keys = chunkKeys(pipeline, name, head)
          const items = yield* Batch.get(client, target, keys.map((pk) => ({ pk: { S: pk } })), { consistent: true })
          const byKey = new Map(items.map((item) => [item["pk"]?.S ?? "", item["data"]?.B]))
          const parts = keys.map((pk) => byKey.get(pk))
          if (parts.some((p) => p === undefined)) {
            yield* Batch.backoff(attempt + 1)
            continue
          }
          const buffer = Buffer.concat(parts as Array<Uint8Array>)
          if (buffer.byteLength !== Number(head["bytes"]?.N ?? "-1")) {
            return yield* invalid(target, `token ${name} of ${pipeline}: its chunks hold ${buffer.byteLength} bytes, the head says ${head["bytes"]?.N}`)
          }
          text = buffer.toString("utf8")
        }
        return yield* Effect.try({
          try: () => Option.some(JSON.parse(text) as unknown),
          catch: (cause) => invalid(target, `token ${name} of ${pipeline} is not JSON`, cause)
        })
      }
      return yield* invalid(target, `token ${name} of ${pipeline} names chunks that do not exist`)
    })

  const set = (pipeline: string, name: string, value: unknown): Effect.Effect<void, StoreError> =>
    Effect.gen(function*() {
      const target = { operation: "tokens.set", table }
      const key = headKey(pipeline, name)
      if (value === undefined) {
        const removed = yield* send(target, (signal) =>
          client.send("DeleteItem", { TableName: table, Key: { pk: { S: key.pk } }, ReturnValues: "ALL_OLD" }, signal))
        yield* dropChunks(pipeline, name, removed.Attributes)
        return
      }
      const text = yield* Effect.try({
        try: () => JSON.stringify(value),
        catch: (cause) => invalid(target, `token ${name} of ${pipeline} cannot be written as JSON`, cause)
      })
      if (text === undefined) return yield* invalid(target, `token ${name} of ${pipeline} cannot be written as JSON`)
      const head: Keys.Item = { pk: { S: key.pk }, p: { S: pipeline } }
      // the name, for people reading the table (the key holds it too, JSON-escaped)
      if (Keys.isWellFormed(name)) head["n"] = { S: name }
      if (key.hashed) head["id"] = { S: key.id }
      const bytes = Buffer.byteLength(text, "utf8")
      if (bytes <= INLINE_BYTES) head["v"] = { S: text }
      else {
        const buffer = Buffer.from(text, "utf8")
        const gen = randomUUID()
        const requests: Array<WriteRequest> = []
        for (let i = 0, offset = 0; offset < buffer.byteLength; i++, offset += CHUNK_BYTES) {
          requests.push({
            PutRequest: { Item: { pk: { S: chunkKey(pipeline, name, gen, i) }, data: { B: buffer.subarray(offset, offset + CHUNK_BYTES) } } }
          })
        }
        // chunks first, then the head that names them
        yield* Batch.write(client, target, requests, { concurrency: 2 })
        head["gen"] = { S: gen }
        head["parts"] = { N: String(requests.length) }
        head["bytes"] = { N: String(bytes) }
      }
      const replaced = yield* send(target, (signal) =>
        client.send("PutItem", { TableName: table, Item: head, ReturnValues: "ALL_OLD" }, signal))
      yield* dropChunks(pipeline, name, replaced.Attributes, head["gen"]?.S)
    })

  return { get, set }
}

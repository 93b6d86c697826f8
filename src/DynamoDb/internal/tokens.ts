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
 * Writes are fenced. A head carries `w`, a number each write raises by one, and a write is
 * conditional on the `w` it replaces; a removed value leaves a head without a value (a tombstone)
 * that keeps its `w`. A request the network held past the client's timeout, and that was sent
 * again meanwhile, can land after newer writes: its condition then fails, so it cannot move a
 * committed position back or bring a cleared staged batch back. A write whose condition fails
 * reads the head: if it holds this very write (an earlier copy landed first), it succeeded (the
 * chunks of the value it replaced are then left behind, logged); otherwise another writer wrote,
 * and the write is made again over it (the last writer wins, as without fencing). Every writer of
 * a tokens table must fence so: one that writes heads without `w` lets the next fenced write
 * through whatever it replaced.
 *
 * @since 0.1.0
 */
import type { DynamoDBClient, WriteRequest } from "@aws-sdk/client-dynamodb"
import { randomUUID } from "node:crypto"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type Client, toClient } from "../DynamoDbClient.ts"
import { StoreError } from "../../Store/StoreError.ts"
import { Tokens } from "../../Store/Tokens.ts"
import * as Batch from "./batch.ts"
import * as Keys from "./keys.ts"
import { invalid, send, sendConditional } from "./send.ts"

/** Whether two heads hold the same value (the same text, or the same chunks). */
const sameValue = (a: Keys.Item | undefined, b: Keys.Item): boolean =>
  a?.["v"]?.S === b["v"]?.S && a?.["gen"]?.S === b["gen"]?.S

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
  /** The write number of each head as this store last read or wrote it, by `pk`. */
  const written = new Map<string, number>()
  const writeNumber = (head: Keys.Item | undefined): number => Number(head?.["w"]?.N ?? "0")
  const chunkKeys = (pipeline: string, name: string, head: Keys.Item | undefined): Array<string> => {
    const gen = head?.["gen"]?.S
    const parts = Number(head?.["parts"]?.N ?? "0")
    if (gen === undefined) return []
    return Array.from({ length: parts }, (_, i) => chunkKey(pipeline, name, gen, i))
  }

  /**
   * Deletes the chunks of a replaced head; failures only leave unreferenced items behind. (A head
   * the transport resends after its answer was lost fails its condition, so the head replaced is
   * never the new one itself: see `fencedPut`.)
   */
  const dropChunks = (pipeline: string, name: string, old: Keys.Item | undefined) => {
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
      written.set(key.pk, writeNumber(item))
      return item
    })

  const get = (pipeline: string, name: string): Effect.Effect<Option.Option<unknown>, StoreError> =>
    Effect.gen(function*() {
      const target = { operation: "tokens.get", table }
      // a concurrent writer may replace the head and drop its chunks between our two reads: read again
      for (let attempt = 0; attempt < 3; attempt++) {
        const head = yield* readHead(pipeline, name)
        // no head, or a removed value's tombstone
        if (head === undefined || (head["v"] === undefined && head["gen"] === undefined)) return Option.none()
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

  /**
   * Writes `head` over the head whose write number is the last known one, raising it by one (see
   * the module doc); gives the head it replaced, when the answer says.
   */
  const fencedPut = (pipeline: string, name: string, key: ReturnType<typeof headKey>, head: Keys.Item) =>
    Effect.gen(function*() {
      const target = { operation: "tokens.set", table }
      let before = written.get(key.pk)
      if (before === undefined) {
        yield* readHead(pipeline, name)
        before = written.get(key.pk) ?? 0
      }
      for (let attempt = 0; attempt < 8; attempt++) {
        const w = before + 1
        head["w"] = { N: String(w) }
        const answer = yield* sendConditional(target, (signal) =>
          client.send("PutItem", {
            TableName: table,
            Item: head,
            // 0: no head, or one written before heads were fenced
            ConditionExpression: before === 0 ? "attribute_not_exists(#w)" : "#w = :before",
            ExpressionAttributeNames: { "#w": "w" },
            ...(before === 0 ? {} : { ExpressionAttributeValues: { ":before": { N: String(before) } } }),
            ReturnValues: "ALL_OLD"
          }, signal)).pipe(
            Effect.map((answer) => Option.some(answer.Attributes)),
            Effect.catchTag("ConditionFailed", () => Effect.succeed(Option.none<Keys.Item | undefined>()))
          )
        if (Option.isSome(answer)) {
          written.set(key.pk, w)
          return answer.value
        }
        const found = yield* readHead(pipeline, name)
        if (writeNumber(found) === w && sameValue(found, head)) {
          // a copy of this very write landed first: done, but the head it replaced is not known
          yield* Effect.logWarning(`token ${name} of ${pipeline}: an earlier copy of a write landed first; the chunks of the value it replaced, if any, are left behind`)
          return undefined
        }
        before = writeNumber(found)
        yield* Batch.backoff(attempt)
      }
      return yield* new StoreError({
        store: "dynamodb",
        operation: target.operation,
        retryable: true,
        detail: `token ${name} of ${pipeline}: other writers kept writing it`
      })
    })

  const set = (pipeline: string, name: string, value: unknown): Effect.Effect<void, StoreError> =>
    Effect.gen(function*() {
      const target = { operation: "tokens.set", table }
      const key = headKey(pipeline, name)
      const head: Keys.Item = { pk: { S: key.pk }, p: { S: pipeline } }
      // the name, for people reading the table (the key holds it too, JSON-escaped)
      if (Keys.isWellFormed(name)) head["n"] = { S: name }
      if (key.hashed) head["id"] = { S: key.id }
      // no value: the head stays as a tombstone, which keeps the write number, so no late copy of
      // an older write can land
      if (value !== undefined) {
        const text = yield* Effect.try({
          try: () => JSON.stringify(value),
          catch: (cause) => invalid(target, `token ${name} of ${pipeline} cannot be written as JSON`, cause)
        })
        if (text === undefined) return yield* invalid(target, `token ${name} of ${pipeline} cannot be written as JSON`)
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
      }
      yield* dropChunks(pipeline, name, yield* fencedPut(pipeline, name, key, head))
    })

  return { get, set }
}

/**
 * Multi-item reads and writes within DynamoDB's request limits: `BatchGetItem` takes at most 100
 * keys (and answers at most 16 MB), `BatchWriteItem` at most 25 items (16 MB). Keys and items the
 * server leaves unprocessed (throttling, the answer size limit) are sent again with a jittered
 * backoff, a bounded number of times; after that the call fails with a retryable `StoreError`,
 * which the fold retries on its schedule.
 *
 * @since 0.1.0
 */
import type { BatchGetItemOutput, WriteRequest } from "@aws-sdk/client-dynamodb"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { StoreError } from "../../Store/StoreError.ts"
import type { Client } from "../DynamoDbClient.ts"
import type { Item } from "./keys.ts"
import { send, type Target } from "./send.ts"

/**
 * Keys per `BatchGetItem` request (DynamoDB's limit).
 *
 * @since 0.1.0
 */
export const MAX_GET_KEYS = 100

/**
 * Items per `BatchWriteItem` request (DynamoDB's limit).
 *
 * @since 0.1.0
 */
export const MAX_WRITE_ITEMS = 25

/** Rounds of re-sending unprocessed keys or items before giving up with a retryable error. */
const MAX_ROUNDS = 8

/**
 * A jittered exponential pause: up to `base * 2^attempt` milliseconds, capped.
 *
 * @since 0.1.0
 */
export const backoff = (attempt: number, baseMillis = 20, capMillis = 1_000): Effect.Effect<void> =>
  Effect.suspend(() => Effect.sleep(Duration.millis(Math.random() * Math.min(capMillis, baseMillis * 2 ** attempt))))

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * Reads the items of `keys` (any number; sent 100 at a time, `concurrency` requests at once).
 * Missing items are absent from the result; the order of the result is not the order of `keys`.
 *
 * @since 0.1.0
 */
export const get = (
  client: Client,
  target: Target,
  keys: ReadonlyArray<Item>,
  options: { readonly consistent: boolean; readonly concurrency?: number; readonly projection?: ProjectionOptions }
): Effect.Effect<Array<Item>, StoreError> =>
  Effect.gen(function*() {
    const out: Array<Item> = []
    yield* Effect.forEach(chunksOf(keys, MAX_GET_KEYS), (chunk) =>
      untilProcessed(target, "keys", chunk, (request) =>
        Effect.map(
          send(target, (signal) =>
            client.send("BatchGetItem", {
              RequestItems: {
                [target.table]: {
                  Keys: request,
                  ConsistentRead: options.consistent,
                  ...(options.projection === undefined ? {} : {
                    ProjectionExpression: options.projection.expression,
                    ExpressionAttributeNames: options.projection.names
                  })
                }
              }
            }, signal)),
          (answer: BatchGetItemOutput) => {
            for (const item of answer.Responses?.[target.table] ?? []) out.push(item)
            return (answer.UnprocessedKeys?.[target.table]?.Keys ?? []) as Array<Item>
          }
        )), { concurrency: options.concurrency ?? 4, discard: true })
    return out
  })

/**
 * Sends `items`, then what the server left unprocessed, with a backoff between rounds, until
 * nothing is left; more than MAX_ROUNDS rounds is a retryable StoreError.
 */
const untilProcessed = <A>(
  target: Target,
  what: string,
  items: ReadonlyArray<A>,
  round: (pending: Array<A>) => Effect.Effect<Array<A>, StoreError>
): Effect.Effect<void, StoreError> =>
  Effect.gen(function*() {
    let pending: Array<A> = [...items]
    for (let n = 0; pending.length > 0; n++) {
      if (n > 0) {
        if (n > MAX_ROUNDS) {
          return yield* new StoreError({
            store: "dynamodb",
            operation: target.operation,
            retryable: true,
            detail: `${pending.length} ${what} of table "${target.table}" stayed unprocessed after ${MAX_ROUNDS} rounds`
          })
        }
        yield* backoff(n)
      }
      pending = yield* round(pending)
    }
  })

/**
 * A projection: which attributes to read.
 *
 * @since 0.1.0
 */
export interface ProjectionOptions {
  readonly expression: string
  readonly names: Record<string, string>
}

/**
 * Puts and deletes items without conditions (sent 25 at a time, `concurrency` requests at once).
 *
 * @since 0.1.0
 */
export const write = (
  client: Client,
  target: Target,
  requests: ReadonlyArray<WriteRequest>,
  options: { readonly concurrency?: number } = {}
): Effect.Effect<void, StoreError> =>
  Effect.forEach(chunksOf(requests, MAX_WRITE_ITEMS), (chunk) =>
    untilProcessed(target, "writes", chunk, (request) =>
      Effect.map(
        send(target, (signal) =>
          client.send("BatchWriteItem", { RequestItems: { [target.table]: request } }, signal)),
        (answer) => answer.UnprocessedItems?.[target.table] ?? []
      )), { concurrency: options.concurrency ?? 4, discard: true })

/**
 * The dead-letter sink on DynamoDB: one item per (pipeline, source partition, seq), so a replayed
 * batch never duplicates its dead letters (the write is a `PutItem` conditional on the item being
 * new; a failed condition means it is already there).
 *
 * Item: `pk` = `["<pipeline>"]`, `sk` = `["<partition>",seq]` (each hashed when too long, see
 * `Keys`), `p`, `part`, `seq`, `at`, `reason`, `raw`, and `doc`/`rkey` when known. `list` is a
 * `Query` on the pipeline's partition key. Dead letters are rare, so one partition key per
 * pipeline is not a write hot spot.
 *
 * A record too large for one item (a raw Kafka message can be 1 MB or more, an item only 400 KB)
 * is never truncated: its raw text, key, document id, reason and partition are gzipped into
 * `body`; if that is still too large, the gzipped bytes go to part items (`sk` =
 * `["<partition>",seq,i]`, `of` = the head's `sk`, written before the head item that counts them
 * in `parts`). The same body holds records whose text is not well-formed UTF-16 (lone surrogates),
 * which DynamoDB's UTF-8 strings could not keep as they are. The head keeps the first 1000
 * characters of the reason for people reading the table.
 *
 * @since 0.1.0
 */
import type { DynamoDBClient, QueryOutput, WriteRequest } from "@aws-sdk/client-dynamodb"
import { gunzipSync, gzipSync } from "node:zlib"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { type Client, toClient } from "../DynamoDbClient.ts"
import { type DeadLetter, DeadLetters } from "../../Store/DeadLetters.ts"
import type { StoreError } from "../../Store/StoreError.ts"
import * as Batch from "./batch.ts"
import * as Keys from "./keys.ts"
import { invalid, send, sendConditional } from "./send.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  /** Records written at once. Default 8. */
  readonly concurrency?: number | undefined
}

/** Items above this size are stored compressed (and split); leaves room below DynamoDB's 400 KB. */
const PLAIN_BYTES = 350_000
const PART_BYTES = 300_000

interface Body {
  readonly raw: string
  readonly reason: string
  readonly docId?: string | undefined
  readonly key?: string | undefined
  readonly partition?: string | undefined
}

/**
 * The dead-letter sink over `client` and `table`.
 *
 * @since 0.1.0
 */
export const make = (sender: Client | DynamoDBClient, table: string, options: Options = {}): Context.Service.Shape<typeof DeadLetters> => {
  const client = toClient(sender)
  const concurrency = Math.max(1, options.concurrency ?? 8)

  const writeOne = (r: DeadLetter) =>
    Effect.gen(function*() {
      const target = { operation: "deadLetters.write", table }
      const pk = Keys.partitionKey(Keys.identity([r.pipeline]))
      const sk = Keys.sortKey(Keys.identity([r.partition, r.seq]))
      const head: Keys.Item = {
        pk: { S: pk },
        sk: { S: sk },
        p: { S: r.pipeline },
        seq: { N: String(r.seq) },
        at: { N: String(r.at) }
      }
      const texts = [r.partition, r.raw, r.reason, r.docId ?? "", r.key ?? ""]
      const plain: Keys.Item = { ...head, part: { S: r.partition }, reason: { S: r.reason }, raw: { S: r.raw } }
      if (r.docId !== undefined) plain["doc"] = { S: r.docId }
      if (r.key !== undefined) plain["rkey"] = { S: r.key }
      let item = plain
      // large records, and text a UTF-8 store cannot keep as it is, go to the compressed body
      if (Keys.itemBytes(plain) > PLAIN_BYTES || !texts.every(Keys.isWellFormed)) {
        const body: Body = { raw: r.raw, reason: r.reason, docId: r.docId, key: r.key, partition: r.partition }
        const zipped = gzipSync(Buffer.from(JSON.stringify(body), "utf8"))
        item = head
        const preview = r.reason.slice(0, 1000)
        head["reason"] = { S: Keys.isWellFormed(preview) ? preview : JSON.stringify(preview) }
        if (Keys.isWellFormed(r.partition)) head["part"] = { S: r.partition }
        if (zipped.byteLength + Keys.itemBytes(head) <= PLAIN_BYTES) head["body"] = { B: zipped }
        else {
          const requests: Array<WriteRequest> = []
          for (let i = 0, offset = 0; offset < zipped.byteLength; i++, offset += PART_BYTES) {
            requests.push({
              PutRequest: {
                Item: {
                  pk: { S: pk },
                  sk: { S: Keys.sortKey(Keys.identity([r.partition, r.seq, i])) },
                  of: { S: sk },
                  i: { N: String(i) },
                  data: { B: zipped.subarray(offset, offset + PART_BYTES) }
                }
              }
            })
          }
          // parts first (idempotent puts), then the head that counts them
          yield* Batch.write(client, target, requests, { concurrency: 2 })
          head["parts"] = { N: String(requests.length) }
        }
        if (Keys.itemBytes(head) > Keys.MAX_ITEM_BYTES) {
          return yield* invalid(target, `the dead letter of ${r.partition.slice(0, 200)}@${r.seq} cannot be stored`)
        }
      }
      yield* sendConditional(target, (signal) =>
        client.send("PutItem", {
          TableName: table,
          Item: item,
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": "pk" }
        }, signal)).pipe(Effect.catchTag("ConditionFailed", () => Effect.void))
    })

  const write = (records: ReadonlyArray<DeadLetter>): Effect.Effect<void, StoreError> =>
    Effect.forEach(records, writeOne, { concurrency, discard: true })

  const list = (pipeline: string): Effect.Effect<ReadonlyArray<DeadLetter>, StoreError> =>
    Effect.gen(function*() {
      const target = { operation: "deadLetters.list", table }
      const pk = Keys.partitionKey(Keys.identity([pipeline]))
      const heads: Array<Keys.Item> = []
      const parts = new Map<string, Array<Keys.Item>>()
      let start: Keys.Item | undefined = undefined
      do {
        const from = start
        const page: QueryOutput = yield* send(target, (signal) =>
          client.send("Query", {
            TableName: table,
            ConsistentRead: true,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": "pk" },
            ExpressionAttributeValues: { ":pk": { S: pk } },
            ...(from === undefined ? {} : { ExclusiveStartKey: from })
          }, signal))
        for (const item of page.Items ?? []) {
          if (item["p"]?.S !== undefined) {
            if (item["p"].S === pipeline) heads.push(item)
            continue
          }
          const of = item["of"]?.S
          if (of === undefined) continue
          const list = parts.get(of) ?? []
          list.push(item)
          parts.set(of, list)
        }
        start = page.LastEvaluatedKey
      } while (start !== undefined)
      const out: Array<DeadLetter> = []
      for (const head of heads) {
        const seq = Number(head["seq"]?.N ?? "0")
        let body: Body = {
          raw: head["raw"]?.S ?? "",
          reason: head["reason"]?.S ?? "",
          docId: head["doc"]?.S,
          key: head["rkey"]?.S,
          partition: head["part"]?.S
        }
        const count = head["parts"]?.N
        const zipped = head["body"]?.B ?? (count === undefined ? undefined : (() => {
          const items = (parts.get(head["sk"]?.S ?? "") ?? []).sort((a, b) => Number(a["i"]?.N) - Number(b["i"]?.N))
          return items.length === Number(count) ? Buffer.concat(items.map((i) => i["data"]!.B!)) : undefined
        })())
        const partition = body.partition ?? ""
        if (count !== undefined && zipped === undefined) {
          return yield* invalid(target, `the dead letter of ${partition.slice(0, 200)}@${seq} misses some of its ${count} parts`)
        }
        if (zipped !== undefined) {
          body = yield* Effect.try({
            try: () => JSON.parse(gunzipSync(zipped).toString("utf8")) as Body,
            catch: (cause) => invalid(target, `the dead letter of ${partition.slice(0, 200)}@${seq} is unreadable`, cause)
          })
        }
        out.push({
          pipeline,
          partition: body.partition ?? partition,
          seq,
          docId: body.docId ?? undefined,
          key: body.key ?? undefined,
          raw: body.raw,
          reason: body.reason,
          at: Number(head["at"]?.N ?? "0")
        })
      }
      out.sort((a, b) => (a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : a.seq - b.seq))
      return out
    })

  return { write, list }
}

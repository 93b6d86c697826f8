/**
 * The contribution ledger on DynamoDB: one item per (pipeline, source document).
 *
 * Item: `pk` = `["<pipeline>","<docId>"]` (hashed when too long, see `Keys`), `p` = pipeline,
 * `keys` = the JSON text of the group keys (`[]` for a deleted or filtered-out document; JSON text
 * because keys are data and may hold lone surrogates, which a UTF-8 store cannot keep as such),
 * `c` = the contribution as `ValueCodec` text (absent without keys), `vh`/`vl` = the version, `d` =
 * the fields of the document the pipeline reads, as `ValueCodec` text (only with `keepDocuments`).
 *
 * Reads are consistent `BatchGetItem`s (100 keys per request). Writes are one conditional
 * `PutItem` per entry (`BatchWriteItem` cannot carry conditions), `concurrency` at a time, each
 * guarded by the version: `attribute_not_exists(pk) OR vh < :hi OR (vh = :hi AND vl < :lo)`. A
 * failed condition means a newer entry is stored already, which is what the guard is for: the
 * write is skipped, not an error.
 *
 * @since 0.1.0
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { type Client, toClient } from "../DynamoDbClient.ts"
import { Ledger, type Entry } from "../../Store/Ledger.ts"
import type { StoreError } from "../../Store/StoreError.ts"
import * as ValueCodec from "../../internal/valueCodec.ts"
import * as Batch from "./batch.ts"
import * as Keys from "./keys.ts"
import { invalid, sendConditional } from "./send.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  /** Entries written at once. Default 16. */
  readonly concurrency?: number | undefined
}

interface DocInfo {
  readonly docId: string
  readonly id: string
  readonly pk: string
  readonly hashed: boolean
}

const docInfo = (pipeline: string, docId: string): DocInfo => {
  const id = Keys.identity([pipeline, docId])
  const pk = Keys.partitionKey(id)
  return { docId, id, pk, hashed: Keys.isHashed(pk) }
}

/**
 * The ledger over `client` and `table`.
 *
 * @since 0.1.0
 */
export const make = (sender: Client | DynamoDBClient, table: string, options: Options = {}): Context.Service.Shape<typeof Ledger> => {
  const client = toClient(sender)
  const concurrency = Math.max(1, options.concurrency ?? 16)

  const get = <V>(target: { readonly name: string }, docIds: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const target_ = { operation: "ledger.get", table }
      const infos = new Map<string, DocInfo>()
      for (const docId of docIds) {
        const info = docInfo(target.name, docId)
        infos.set(info.pk, info)
      }
      const items = yield* Batch.get(client, target_, Array.from(infos.keys(), (pk) => ({ pk: { S: pk } })), { consistent: true })
      const out = new Map<string, Entry<V>>()
      for (const item of items) {
        const info = infos.get(item["pk"]?.S ?? "")
        if (info === undefined) continue
        if (info.hashed && item["id"]?.S !== info.id) {
          return yield* invalid(target_, `two document ids hash to the same ledger item ${info.pk} (SHA-256 collision?)`)
        }
        const entry = yield* Effect.try({
          try: (): Entry<V> => {
            const keys = JSON.parse(item["keys"]?.S ?? "[]") as Array<string>
            const c = item["c"]?.S
            const d = item["d"]?.S
            const entry: Entry<V> = {
              keys,
              value: (c === undefined ? undefined : ValueCodec.decode(c)) as V,
              version: [Number(item["vh"]?.N ?? "0"), Number(item["vl"]?.N ?? "0")]
            }
            return d === undefined ? entry : { ...entry, doc: ValueCodec.decode(d) }
          },
          catch: (cause) => invalid(target_, `the ledger item of document ${info.docId.slice(0, 200)} is unreadable`, cause)
        })
        out.set(info.docId, entry)
      }
      return docIds.map((docId) => out.get(docId))
    })

  const put = <V>(target: { readonly name: string }, entries: ReadonlyMap<string, Entry<V>>) =>
    Effect.forEach(entries, ([docId, entry]) =>
      Effect.gen(function*() {
        const target_ = { operation: "ledger.put", table }
        const info = docInfo(target.name, docId)
        const item: Keys.Item = {
          pk: { S: info.pk },
          p: { S: target.name },
          keys: { S: JSON.stringify(entry.keys) },
          vh: { N: String(entry.version[0]) },
          vl: { N: String(entry.version[1]) }
        }
        if (info.hashed) item["id"] = { S: info.id }
        if (entry.doc !== undefined) {
          item["d"] = {
            S: yield* Effect.try({
              try: () => ValueCodec.encode(entry.doc),
              catch: (cause) => invalid(target_, `the fields of document ${docId.slice(0, 200)} cannot be encoded`, cause)
            })
          }
        }
        if (entry.keys.length > 0) {
          item["c"] = {
            S: yield* Effect.try({
              try: () => ValueCodec.encode(entry.value),
              catch: (cause) => invalid(target_, `the contribution of document ${docId.slice(0, 200)} cannot be encoded`, cause)
            })
          }
        }
        const size = Keys.itemBytes(item)
        if (size > Keys.MAX_ITEM_BYTES) {
          return yield* invalid(
            target_,
            `the ledger entry of document ${docId.slice(0, 200)} would be a ${size}-byte item; DynamoDB items are limited to ${Keys.MAX_ITEM_BYTES} bytes`
          )
        }
        yield* sendConditional(target_, (signal) =>
          client.send("PutItem", {
            TableName: table,
            Item: item,
            ConditionExpression: "attribute_not_exists(#pk) OR #vh < :hi OR (#vh = :hi AND #vl < :lo)",
            ExpressionAttributeNames: { "#pk": "pk", "#vh": "vh", "#vl": "vl" },
            ExpressionAttributeValues: { ":hi": { N: String(entry.version[0]) }, ":lo": { N: String(entry.version[1]) } }
          }, signal)).pipe(Effect.catchTag("ConditionFailed", () => Effect.void))
      }), { concurrency, discard: true }) as Effect.Effect<void, StoreError>

  return { get, put }
}

/**
 * The aggregate store on DynamoDB: one item per (pipeline, key, bucket), written idempotently with
 * per-(key, source partition) high-water marks on the item (DESIGN.md §4.2).
 *
 * Item: `pk` = `["<pipeline>","<key>"]` (the key is part of the partition key, so writes spread
 * over DynamoDB partitions; see `Keys` for the encoding and the hashed form of long keys), `sk` =
 * `"@"`, `p` = pipeline, `hw:<partition>` = the marks (flat number attributes: a nested map path
 * cannot be set when the map does not exist), `expiresAt` = a windowed bucket's expiry (seconds;
 * the table's TTL attribute: DynamoDB deletes the item some time after it, and reads skip it from
 * then on; a windowed pipeline's bucket is part of its key, see `Window.key`), and the value:
 *
 * - sums (`Monoid` kinds `"sum"`, `"count"`, `"sumBigInt"`): `v`, a DynamoDB number (38 digits, so
 *   `bigint` sums fit), written with `UpdateItem ... ADD`. The write is conditional on the fast
 *   path of `resolve()`: for every partition of the update,
 *   `attribute_not_exists(hw_p) OR hw_p < first_p`. When the condition fails (a replay, or the
 *   retry of a write whose answer was lost), the item is read (consistently) and only the
 *   contributions above its marks are added, conditional on exactly the marks that were read, so a
 *   concurrent writer forces a new read instead of a double count. This is what makes a timed-out
 *   `ADD` safe to retry: the retry finds its own marks and adds nothing.
 * - everything else: `e`, the `ValueCodec` text of the value, and `ver`, a version number; written
 *   by compare-and-set (read consistently, `resolve()`, combine, `UpdateItem` conditional on
 *   `ver`), retried with jittered backoff a bounded number of times under contention.
 *
 * Updates whose contributions cancel out are written like the others (`ADD` of zero): their marks
 * must be raised (see `Aggregates`).
 *
 * An update with contributions from more source partitions than fit in one expression (4 KB) is
 * split by partition; each part is idempotent on its own because marks are per partition.
 *
 * @since 0.1.0
 */
import type { DynamoDBClient, ScanOutput } from "@aws-sdk/client-dynamodb"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { type Client, toClient } from "../DynamoDbClient.ts"
import type * as Monoid from "../../Monoid.ts"
import { Aggregates, type KeyUpdate, raiseMarks, resolve, type Target } from "../../Store/Aggregates.ts"
import { StoreError } from "../../Store/StoreError.ts"
import * as ValueCodec from "../../internal/valueCodec.ts"
import * as Batch from "./batch.ts"
import * as Keys from "./keys.ts"
import { type ConditionFailed, invalid, send, sendConditional } from "./send.ts"
import * as Values from "./values.ts"

/** DynamoDB's item size limit: 400 KB for every attribute name and value of an item. */
const ITEM_LIMIT = 409_600

/**
 * @since 0.1.0
 */
export interface Options {
  /** Strongly consistent reads for `get` and `all` (read-your-writes). Default `true`. */
  readonly consistentReads?: boolean | undefined
  /** Keys written at once. Default 16. */
  readonly concurrency?: number | undefined
  /** Conditional writes of one key that lose to concurrent writers before giving up (retryable). Default 8. */
  readonly contentionAttempts?: number | undefined
  /** Source partitions per conditional write (more are split). Default 40. */
  readonly partitionsPerWrite?: number | undefined
}

/**
 * The sort key of the all-time aggregate (bucket `""`).
 *
 * @since 0.1.0
 */
export const ALL_TIME = "@"

interface KeyInfo {
  readonly key: string
  readonly id: string
  readonly pk: string
  readonly sk: string
  readonly hashed: boolean
}

const keyInfo = (pipeline: string, key: string): KeyInfo => {
  const id = Keys.identity([pipeline, key])
  const pk = Keys.partitionKey(id)
  return { key, id, pk, sk: ALL_TIME, hashed: Keys.isHashed(pk) }
}

const itemRef = (pk: string, sk: string): string => JSON.stringify([pk, sk])

type Outcome = "written" | "partial" | "skipped"
const CONFLICT = "conflict" as const

const conditionRetries = Metric.counter("monoid_dynamodb_condition_failed", {
  description: "conditional aggregate writes refused (replays, lost answers, concurrent writers)"
})

/**
 * The aggregate store over `client` and `table`.
 *
 * @since 0.1.0
 */
export const make = (
  sender: Client | DynamoDBClient,
  table: string,
  options: Options = {}
): Context.Service.Shape<typeof Aggregates> => {
  const client = toClient(sender)
  const consistentReads = options.consistentReads ?? true
  const concurrency = Math.max(1, options.concurrency ?? 16)
  const contentionAttempts = Math.max(1, options.contentionAttempts ?? 8)
  const partitionsPerWrite = Math.max(1, options.partitionsPerWrite ?? 40)

  const applyTarget = { operation: "aggregates.apply", table }

  /**
   * Values DynamoDB cannot hold are thrown as `StoreError`s by the codecs below, and a monoid's
   * `combine` may throw (an overflow): both become non-retryable store errors, as in the other stores.
   */
  const thrown = (operation: string) => (defect: unknown): Effect.Effect<never, StoreError> =>
    Effect.fail(isStoreError(defect) ? defect : invalid({ operation, table }, "computing or decoding a value failed", defect))

  const toN = (numeric: Values.Numeric, value: unknown, key: string) => Values.toNumber(applyTarget, numeric, value, key)
  const fromN = (numeric: Values.Numeric, text: string, operation: string, key: string) =>
    Values.fromNumber({ operation, table }, numeric, text, key)
  const decodeValue = (numeric: Values.Numeric | undefined, item: Keys.Item, operation: string, key: string) =>
    Values.read({ operation, table }, numeric, item, key)

  const checkIdentity = (info: KeyInfo, item: Keys.Item | undefined, operation: string) =>
    info.hashed && item !== undefined && item["id"]?.S !== info.id
      ? Effect.fail(invalid({ operation, table }, `two keys hash to the same item ${info.pk} (SHA-256 collision?)`))
      : Effect.void

  const readItem = (info: KeyInfo): Effect.Effect<Keys.Item | undefined, StoreError> =>
    send(applyTarget, (signal) =>
      client.send("GetItem", { TableName: table, Key: { pk: { S: info.pk }, sk: { S: info.sk } }, ConsistentRead: true }, signal)).pipe(
        Effect.map((r) => r.Item),
        Effect.tap((item) => checkIdentity(info, item, "aggregates.apply"))
      )

  const readMany = (infos: ReadonlyArray<KeyInfo>, consistent: boolean, operation: string) =>
    Effect.gen(function*() {
      const seen = new Set<string>()
      const keys: Array<Keys.Item> = []
      for (const info of infos) {
        const ref = itemRef(info.pk, info.sk)
        if (seen.has(ref)) continue
        seen.add(ref)
        keys.push({ pk: { S: info.pk }, sk: { S: info.sk } })
      }
      const items = yield* Batch.get(client, { operation, table }, keys, { consistent })
      const out = new Map<string, Keys.Item>()
      for (const item of items) out.set(itemRef(item["pk"]!.S!, item["sk"]!.S!), item)
      return out
    })

  /** Splits an update whose partitions do not fit in one expression (see the module doc). */
  const split = <V>(monoid: Monoid.Monoid<V>, update: KeyUpdate<V>): ReadonlyArray<KeyUpdate<V>> => {
    if (update.marks.length <= partitionsPerWrite) return [update]
    const out: Array<KeyUpdate<V>> = []
    for (let i = 0; i < update.marks.length; i += partitionsPerWrite) {
      const marks = update.marks.slice(i, i + partitionsPerWrite)
      const partitions = new Set(marks.map((m) => m.partition))
      const contributions = update.contributions.filter((c) => partitions.has(c.partition))
      let delta = monoid.empty
      for (const c of contributions) delta = monoid.combine(delta, c.delta)
      out.push({ key: update.key, delta, marks, contributions, expiresAt: update.expiresAt })
    }
    return out
  }

  /** Names and values shared by every write of a key. */
  const base = (pipeline: string, info: KeyInfo, expiresAt: number | undefined) => {
    const names: Record<string, string> = { "#p": "p" }
    const values: Keys.Item = { ":p": { S: pipeline } }
    const sets = ["#p = :p"]
    if (expiresAt !== undefined) {
      // a windowed bucket: DynamoDB's TTL deletes the item after it (seconds since the epoch)
      names["#x"] = Keys.TTL_ATTRIBUTE
      values[":x"] = { N: String(ttlSeconds(expiresAt)) }
      sets.push("#x = :x")
    }
    if (info.hashed) {
      names["#id"] = "id"
      values[":id"] = { S: info.id }
      sets.push("#id = :id")
    }
    return { names, values, sets }
  }

  const update = (
    info: KeyInfo,
    parts: { names: Record<string, string>; values: Keys.Item; update: string; condition: string; returnSum?: boolean }
  ) =>
    sendConditional(applyTarget, (signal) =>
      client.send("UpdateItem", {
        TableName: table,
        Key: { pk: { S: info.pk }, sk: { S: info.sk } },
        UpdateExpression: parts.update,
        ConditionExpression: parts.condition,
        ExpressionAttributeNames: parts.names,
        ExpressionAttributeValues: parts.values,
        // a sum's new value is checked for overflow; a compare-and-set value is not needed back
        ReturnValues: parts.returnSum === true ? "UPDATED_NEW" : "NONE"
      }, signal))

  /**
   * The values a sum of numbers may hold before `delta` is added to it without passing ±(2^53 - 1),
   * as DynamoDB numbers (`undefined` for a bigint sum, or a delta that is not an integer).
   */
  const safeBound = (numeric: Values.Numeric, delta: unknown): readonly [string, string] | undefined => {
    if (numeric !== "number" || !Number.isSafeInteger(delta)) return undefined
    const max = BigInt(Number.MAX_SAFE_INTEGER)
    const d = BigInt(delta as number)
    return [String(-max - d), String(max - d)]
  }

  /** A sum's conditional `ADD #v :d` with `sets`; the new value is read back and checked for overflow. */
  const add = (
    info: KeyInfo,
    numeric: Values.Numeric,
    key: string,
    parts: { names: Record<string, string>; values: Keys.Item; sets: ReadonlyArray<string>; conditions: ReadonlyArray<string> }
  ) =>
    Effect.gen(function*() {
      const answer = yield* update(info, {
        names: parts.names,
        values: parts.values,
        update: `SET ${parts.sets.join(", ")} ADD #v :d`,
        condition: parts.conditions.join(" AND "),
        returnSum: true
      })
      const v = answer.Attributes?.["v"]?.N
      if (v !== undefined) fromN(numeric, v, "aggregates.apply", key)
    })

  /** The fast path of a sum: the whole delta, if no mark has reached the update. */
  const addFast = <V>(pipeline: string, numeric: Values.Numeric, u: KeyUpdate<V>, info: KeyInfo) =>
    Effect.gen(function*() {
      const { names, sets, values } = base(pipeline, info, u.expiresAt)
      const conditions: Array<string> = []
      names["#v"] = "v"
      values[":d"] = { N: toN(numeric, u.delta, u.key) }
      u.marks.forEach((m, i) => {
        names[`#h${i}`] = Keys.markAttribute(m.partition)
        values[`:l${i}`] = { N: String(m.last) }
        values[`:f${i}`] = { N: String(m.first) }
        sets.push(`#h${i} = :l${i}`)
        conditions.push(`(attribute_not_exists(#h${i}) OR #h${i} < :f${i})`)
      })
      if (info.hashed) conditions.push("(attribute_not_exists(#id) OR #id = :id)")
      const bound = safeBound(numeric, u.delta)
      if (bound !== undefined) {
        // a sum that would pass 2^53 is not written (the rest path reads it and fails as the other stores do)
        values[":lo"] = { N: bound[0] }
        values[":hi"] = { N: bound[1] }
        conditions.push("(attribute_not_exists(#v) OR #v BETWEEN :lo AND :hi)")
      }
      yield* add(info, numeric, u.key, { names, values, sets, conditions })
      return "written" as Outcome
    })

  /** The rest of a sum's update above the marks of `item`, conditional on those marks. */
  const addRest = <V>(pipeline: string, numeric: Values.Numeric, monoid: Monoid.Monoid<V>, u: KeyUpdate<V>, info: KeyInfo, item: Keys.Item | undefined) =>
    Effect.gen(function*() {
      const marks = Keys.readMarks(item)
      const todo = resolve(monoid, u, (p) => marks[p])
      if (todo === undefined) return "skipped" as Outcome
      const raised = raiseMarks(marks, u.marks)
      const current = item?.["v"]?.N
      if (current !== undefined && safeBound(numeric, todo.delta) !== undefined && /^-?\d+$/.test(current)) {
        // fails with the overflow error, before anything is written
        fromN(numeric, String(BigInt(current) + BigInt(todo.delta as number)), "aggregates.apply", u.key)
      }
      const { names, sets, values } = base(pipeline, info, u.expiresAt)
      const conditions: Array<string> = []
      names["#v"] = "v"
      values[":d"] = { N: toN(numeric, todo.delta, u.key) }
      u.marks.forEach((m, i) => {
        names[`#h${i}`] = Keys.markAttribute(m.partition)
        values[`:l${i}`] = { N: String(raised[m.partition]) }
        sets.push(`#h${i} = :l${i}`)
        const read = marks[m.partition]
        if (read === undefined) conditions.push(`attribute_not_exists(#h${i})`)
        else {
          values[`:r${i}`] = { N: String(read) }
          conditions.push(`#h${i} = :r${i}`)
        }
      })
      if (info.hashed) conditions.push(item === undefined ? "attribute_not_exists(#id)" : "#id = :id")
      yield* add(info, numeric, u.key, { names, values, sets, conditions })
      return (todo.fast ? "written" : "partial") as Outcome
    })

  /** Compare-and-set of a non-additive value over `item`. */
  const cas = <V>(pipeline: string, monoid: Monoid.Monoid<V>, u: KeyUpdate<V>, info: KeyInfo, item: Keys.Item | undefined) =>
    Effect.gen(function*() {
      const marks = Keys.readMarks(item)
      const todo = resolve(monoid, u, (p) => marks[p])
      if (todo === undefined) return "skipped" as Outcome
      // a key's first value meets no combine: the monoid's check refuses what combine would
      if (item === undefined) monoid.check?.(todo.delta)
      const value = item === undefined
        ? todo.delta
        : monoid.combine(decodeValue(undefined, item, "aggregates.apply", u.key) as V, todo.delta)
      const encoded = yield* Effect.try({
        try: () => ValueCodec.encode(value),
        catch: (cause) => invalid(applyTarget, `the value of key ${JSON.stringify(u.key).slice(0, 200)} cannot be encoded`, cause)
      })
      const raised = raiseMarks(marks, u.marks)
      const version = item?.["ver"]?.N === undefined ? 0 : Number(item["ver"].N)
      const { names, sets, values } = base(pipeline, info, u.expiresAt)
      names["#e"] = "e"
      names["#ver"] = "ver"
      values[":e"] = { S: encoded }
      values[":ver1"] = { N: String(version + 1) }
      sets.push("#e = :e", "#ver = :ver1")
      u.marks.forEach((m, i) => {
        names[`#h${i}`] = Keys.markAttribute(m.partition)
        values[`:l${i}`] = { N: String(raised[m.partition]) }
        sets.push(`#h${i} = :l${i}`)
      })
      let condition = "attribute_not_exists(#ver)"
      if (item !== undefined) {
        values[":ver0"] = { N: String(version) }
        condition = "#ver = :ver0"
      }
      const next: Keys.Item = { ...item, pk: { S: info.pk }, sk: { S: info.sk }, p: { S: pipeline }, e: { S: encoded }, ver: { N: String(version + 1) } }
      if (u.expiresAt !== undefined) next[Keys.TTL_ATTRIBUTE] = { N: String(ttlSeconds(u.expiresAt)) }
      for (const m of u.marks) next[Keys.markAttribute(m.partition)] = { N: String(raised[m.partition]) }
      if (info.hashed) next["id"] = { S: info.id }
      const size = Keys.itemBytes(next)
      if (size > Keys.MAX_ITEM_BYTES) {
        return yield* invalid(
          applyTarget,
          `the value of key ${JSON.stringify(u.key).slice(0, 200)} would make a ${size}-byte item; DynamoDB items are limited to ${Keys.MAX_ITEM_BYTES} bytes`
        )
      }
      yield* update(info, { names, values, update: `SET ${sets.join(", ")}`, condition })
      return (todo.fast ? "written" : "partial") as Outcome
    })

  /**
   * Runs `attempt` over the item until its condition holds: `initial` is the item when known
   * (`undefined`: known absent), `null` when it must be read first.
   */
  const untilApplied = (
    info: KeyInfo,
    initial: Keys.Item | undefined | null,
    attempt: (item: Keys.Item | undefined) => Effect.Effect<Outcome, StoreError | ConditionFailed>
  ): Effect.Effect<Outcome, StoreError> =>
    Effect.gen(function*() {
      let item = initial
      for (let n = 0; n < contentionAttempts; n++) {
        if (n > 0) yield* Batch.backoff(n, 10, 500)
        if (item === null) item = yield* readItem(info)
        else yield* checkIdentity(info, item, "aggregates.apply")
        const known: Keys.Item | undefined = item
        const outcome = yield* attempt(known).pipe(
          Effect.catchTag("ConditionFailed", () => Effect.succeed(CONFLICT))
        )
        if (outcome !== CONFLICT) return outcome
        yield* Metric.update(conditionRetries, 1)
        item = null
      }
      return yield* new StoreError({
        store: "dynamodb",
        operation: "aggregates.apply",
        retryable: true,
        detail: `key ${JSON.stringify(info.key).slice(0, 200)}: ${contentionAttempts} conditional writes lost to concurrent writers`
      })
    })

  const apply = <V>(target: Target<V>, updates: ReadonlyArray<KeyUpdate<V>>) =>
    Effect.gen(function*() {
      const monoid = target.monoid
      const numeric = Values.numericOf(monoid as Monoid.Monoid<unknown>)
      const units: Array<readonly [KeyUpdate<V>, KeyInfo]> = []
      for (const u of updates) {
        const info = keyInfo(target.name, u.key)
        for (const part of split(monoid, u)) units.push([part, info])
      }
      let written = 0
      let skipped = 0
      let partial = 0
      const count = (outcome: Outcome) => {
        if (outcome === "skipped") skipped++
        else {
          written++
          if (outcome === "partial") partial++
        }
      }
      // every non-additive update needs the item first
      const prefetch = numeric === undefined ? units.map(([, info]) => info) : []
      const items = prefetch.length === 0 ? new Map<string, Keys.Item>() : yield* readMany(prefetch, true, "aggregates.apply")
      const known = (info: KeyInfo): Keys.Item | undefined => items.get(itemRef(info.pk, info.sk))
      yield* Effect.forEach(units, ([u, info]) => {
        const run: Effect.Effect<Outcome, StoreError> = numeric === undefined
          ? untilApplied(info, known(info), (item) => cas(target.name, monoid, u, info, item))
          : addFast(target.name, numeric, u, info).pipe(
            Effect.catchTag("ConditionFailed", () =>
              Metric.update(conditionRetries, 1).pipe(
                Effect.andThen(untilApplied(info, null, (item) => addRest(target.name, numeric, monoid, u, info, item)))
              ))
          )
        return Effect.map(run, count)
      }, { concurrency, discard: true })
      return { written, skipped, partial }
    }).pipe(Effect.catchDefect(thrown("aggregates.apply")))

  const get = <V>(target: Target<V>, keys: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const numeric = Values.numericOf(target.monoid as Monoid.Monoid<unknown>)
      const infos = Array.from(new Set(keys), (key) => keyInfo(target.name, key))
      const items = yield* readMany(infos, consistentReads, "aggregates.get")
      const out = new Map<string, V>()
      for (const info of infos) {
        const item = items.get(itemRef(info.pk, info.sk))
        if (item === undefined || expired(item, now)) continue
        yield* checkIdentity(info, item, "aggregates.get")
        out.set(info.key, decodeValue(numeric, item, "aggregates.get", info.key) as V)
      }
      return out as ReadonlyMap<string, V>
    }).pipe(Effect.catchDefect(thrown("aggregates.get")))

  const all = <V>(target: Target<V>) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const numeric = Values.numericOf(target.monoid as Monoid.Monoid<unknown>)
      const out = new Map<string, V>()
      let start: Keys.Item | undefined = undefined
      do {
        const from = start
        const page: ScanOutput = yield* send({ operation: "aggregates.all", table }, (signal) =>
          client.send("Scan", {
            TableName: table,
            ConsistentRead: consistentReads,
            FilterExpression: "#p = :p AND #sk = :sk",
            ExpressionAttributeNames: { "#p": "p", "#sk": "sk" },
            ExpressionAttributeValues: { ":p": { S: target.name }, ":sk": { S: ALL_TIME } },
            ...(from === undefined ? {} : { ExclusiveStartKey: from })
          }, signal))
        for (const item of page.Items ?? []) {
          if (expired(item, now)) continue
          const id = item["id"]?.S ?? item["pk"]?.S
          const parts = id === undefined ? undefined : Keys.parts(id)
          const key = parts?.[1]
          if (parts?.[0] !== target.name || typeof key !== "string") {
            return yield* invalid({ operation: "aggregates.all", table }, `an item of pipeline ${target.name} has an unreadable identity ${String(id).slice(0, 200)}`)
          }
          out.set(key, decodeValue(numeric, item, "aggregates.all", key) as V)
        }
        start = page.LastEvaluatedKey
      } while (start !== undefined)
      return out as ReadonlyMap<string, V>
    }).pipe(Effect.catchDefect(thrown("aggregates.all")))

  return { apply, get, all, itemLimit: ITEM_LIMIT }
}

/** DynamoDB's TTL attribute holds whole seconds: an expiry rounded up, never before its time. */
const ttlSeconds = (ms: number): number => Math.ceil(ms / 1000)

/** An item past its TTL, which DynamoDB has not deleted yet (it may take a while): never read. */
const expired = (item: Keys.Item, now: number): boolean => {
  const at = item[Keys.TTL_ATTRIBUTE]?.N
  return at !== undefined && Number(at) * 1000 <= now
}

const isStoreError = (u: unknown): u is StoreError =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "StoreError"

/**
 * Generations on DynamoDB (see `Generations`): one pointer item per pipeline in the tokens table,
 * and the four store services wrapped so that they address a pipeline's generation.
 *
 * Pointer item: `pk` = `["@generations","<pipeline>","pointer"]`, `cur` (the current generation),
 * `bld` (the one being built), `last`, `seal` (a swap under way), `ver` (every change is a
 * conditional write on it). DynamoDB has no transaction here (dynalite has none), so the swap is
 * made safe in three conditional steps instead of one:
 *
 * 1. seal: from then on, the live worker's commits fail (the fold reads the pointer after a
 *    batch's writes and before its commit, `CommitFence`, whether the source commits through the
 *    token store or elsewhere, as a Kafka consumer group does), so what it has committed stops
 *    moving;
 * 2. compare the newest ledger versions of both generations (a scan of the ledger table);
 * 3. when the rebuilt one is not behind, move `cur` and lift the seal in one conditional write;
 *    otherwise lift the seal only (`GenerationBehind`: catch up and swap again).
 *
 * `seal` is step 1 on its own (with the newest version of the live ledger), for a rebuild that
 * catches up to a live generation that no longer commits before it swaps; step 3 lifts it.
 *
 * A commit that read the pointer before the seal wrote its ledger entries before that read, so the
 * comparison of step 2 sees them. Aggregate and ledger writes of a worker still bound to the old
 * generation after the swap land in that generation only, which readers no longer read (they read
 * the pointer with every `get`/`all`, consistently).
 *
 * @internal
 */
import type { DynamoDBClient, ScanOutput } from "@aws-sdk/client-dynamodb"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { type Client, toClient } from "../DynamoDbClient.ts"
import { Aggregates, type Target } from "../../Store/Aggregates.ts"
import { DeadLetters } from "../../Store/DeadLetters.ts"
import { GenerationBehind, GenerationMoved, Generations, isBehind, moved, newest, physical, sourcesOf } from "../../Store/Generations.ts"
import { Ledger } from "../../Store/Ledger.ts"
import type { StoreError } from "../../Store/StoreError.ts"
import { Tokens } from "../../Store/Tokens.ts"
import { statusOf } from "../../Store/internal/binding.ts"
import { Checked, CommitFence } from "../../Store/internal/commitFence.ts"
import { sourcesScope } from "../../internal/tokenKeys.ts"
import * as Version from "../../Version.ts"
import * as Batch from "./batch.ts"
import * as Keys from "./keys.ts"
import { send, sendConditional } from "./send.ts"

interface Pointer {
  readonly current: number
  readonly building: number | undefined
  readonly last: number
  readonly seal: number | undefined
  readonly ver: number
}

export interface Base {
  readonly aggregates: Context.Service.Shape<typeof Aggregates>
  readonly ledger: Context.Service.Shape<typeof Ledger>
  readonly tokens: Context.Service.Shape<typeof Tokens>
  readonly deadLetters: Context.Service.Shape<typeof DeadLetters>
}

export interface TableNames {
  readonly aggregates: string
  readonly ledger: string
  readonly tokens: string
}

const num = (item: Keys.Item | undefined, name: string): number | undefined =>
  item?.[name]?.N === undefined ? undefined : Number(item[name].N)

export const make = (sender: Client | DynamoDBClient, tables: TableNames, base: Base) => {
  const client = toClient(sender)
  const target = (operation: string, table = tables.tokens) => ({ operation, table })
  const key = (pipeline: string) => ({ pk: { S: Keys.partitionKey(Keys.identity(["@generations", pipeline, "pointer"])) } })

  const read = (pipeline: string): Effect.Effect<Pointer, StoreError> =>
    Effect.map(
      send(target("generations.read"), (signal) =>
        client.send("GetItem", { TableName: tables.tokens, Key: key(pipeline), ConsistentRead: true }, signal)),
      (answer) => ({
        current: num(answer.Item, "cur") ?? 0,
        building: num(answer.Item, "bld"),
        last: num(answer.Item, "last") ?? 0,
        seal: num(answer.Item, "seal"),
        ver: num(answer.Item, "ver") ?? 0
      })
    )

  /** Writes `next` over `from` if nobody changed the pointer since (`false` when somebody did). */
  const write = (pipeline: string, from: Pointer, next: Omit<Pointer, "ver">): Effect.Effect<boolean, StoreError> => {
    const values: Keys.Item = { ":cur": { N: String(next.current) }, ":last": { N: String(next.last) }, ":ver1": { N: String(from.ver + 1) } }
    const sets = ["cur = :cur", "#last = :last", "ver = :ver1"]
    const removes: Array<string> = []
    if (next.building === undefined) removes.push("bld")
    else {
      values[":bld"] = { N: String(next.building) }
      sets.push("bld = :bld")
    }
    if (next.seal === undefined) removes.push("seal")
    else {
      values[":seal"] = { N: String(next.seal) }
      sets.push("seal = :seal")
    }
    let condition = "attribute_not_exists(ver)"
    if (from.ver > 0) {
      values[":ver0"] = { N: String(from.ver) }
      condition = "ver = :ver0"
    }
    return sendConditional(target("generations.write"), (signal) =>
      client.send("UpdateItem", {
        TableName: tables.tokens,
        Key: key(pipeline),
        UpdateExpression: `SET ${sets.join(", ")}${removes.length === 0 ? "" : ` REMOVE ${removes.join(", ")}`}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: { "#last": "last" },
        ExpressionAttributeValues: values
      }, signal)).pipe(Effect.as(true), Effect.catchTag("ConditionFailed", () => Effect.succeed(false)))
  }

  /** Applies `f` to the pointer until its conditional write holds. */
  const change = <A, E>(
    pipeline: string,
    f: (p: Pointer) => Effect.Effect<readonly [Omit<Pointer, "ver"> | undefined, A], E | StoreError>
  ): Effect.Effect<A, E | StoreError> =>
    Effect.gen(function*() {
      for (let n = 0;; n++) {
        if (n > 0) yield* Batch.backoff(n, 10, 500)
        const p = yield* read(pipeline)
        const [next, out] = yield* f(p)
        if (next === undefined || (yield* write(pipeline, p, next))) return out
      }
    })

  /** Every item of `table` whose `p` is one of `names`, as keys (`pk`, and `sk` when the table has one). */
  const scan = (table: string, names: ReadonlyArray<string>, projection: string) =>
    Effect.gen(function*() {
      const items: Array<Keys.Item> = []
      let start: Keys.Item | undefined = undefined
      const values: Keys.Item = {}
      names.forEach((n, i) => (values[`:n${i}`] = { S: n }))
      do {
        const page: ScanOutput = yield* send(target("generations.scan", table), (signal) =>
          client.send("Scan", {
            TableName: table,
            FilterExpression: names.map((_, i) => `#p = :n${i}`).join(" OR "),
            ProjectionExpression: projection,
            ExpressionAttributeNames: { "#p": "p" },
            ExpressionAttributeValues: values,
            ConsistentRead: true,
            ...(start === undefined ? {} : { ExclusiveStartKey: start })
          }, signal))
        items.push(...(page.Items ?? []))
        start = page.LastEvaluatedKey
      } while (start !== undefined)
      return items
    })

  const newestOf = (pipeline: string, generation: number) =>
    Effect.map(scan(tables.ledger, [physical(pipeline, generation)], "vh, vl"), (items) => {
      let out: Version.Version | undefined = undefined
      for (const item of items) out = newest(out, Version.make(num(item, "vh") ?? 0, num(item, "vl") ?? 0))
      return out
    })

  const dropNow = (pipeline: string, generation: number) =>
    Effect.gen(function*() {
      const name = physical(pipeline, generation)
      const aggregates = yield* scan(tables.aggregates, [name], "pk, sk")
      yield* Batch.write(client, target("generations.drop", tables.aggregates), aggregates.map((k) => ({ DeleteRequest: { Key: k } })))
      const ledger = yield* scan(tables.ledger, [name], "pk")
      yield* Batch.write(client, target("generations.drop", tables.ledger), ledger.map((k) => ({ DeleteRequest: { Key: k } })))
      const tokens = yield* scan(tables.tokens, [name, sourcesOf(pipeline, generation)], "pk")
      yield* Batch.write(client, target("generations.drop"), tokens.map((k) => ({ DeleteRequest: { Key: k } })))
    })


  /** The four services, addressing the generations of pipelines (see `Binding` in the other stores). */
  const services = (fixed?: { readonly pipeline: string; readonly generation: number }) => {
    const bound = new Map<string, number>()
    if (fixed !== undefined) bound.set(fixed.pipeline, fixed.generation)
    const isFixed = (pipeline: string) => fixed !== undefined && fixed.pipeline === pipeline
    const of = (pipeline: string) => {
      const g = bound.get(pipeline)
      return g !== undefined ? Effect.succeed(g) : Effect.map(read(pipeline), (p) => {
        bound.set(pipeline, p.current)
        return p.current
      })
    }
    const name = (pipeline: string) => Effect.map(of(pipeline), (g) => physical(pipeline, g))
    const readName = (pipeline: string) =>
      isFixed(pipeline) ? Effect.succeed(physical(pipeline, fixed!.generation)) : Effect.map(read(pipeline), (p) => physical(pipeline, p.current))
    const as = <V>(t: Target<V>, n: string): Target<V> => ({ name: n, monoid: t.monoid })
    /**
     * A read of the current generation. Its items take several requests, during which a swap may
     * move the pointer and the old generation's items be dropped: a read that may have missed
     * some (`complete` says no) reads the pointer again, and reads the new generation if it moved.
     */
    const readCurrent = <A>(pipeline: string, read_: (n: string) => Effect.Effect<A, StoreError>, complete: (a: A) => boolean) =>
      isFixed(pipeline) ? read_(physical(pipeline, fixed!.generation)) : Effect.gen(function*() {
        let current = (yield* read(pipeline)).current
        for (let attempt = 1;; attempt++) {
          const out = yield* read_(physical(pipeline, current))
          if (complete(out) || attempt === 5) return out
          const now = (yield* read(pipeline)).current
          if (now === current) return out
          current = now
        }
      })
    /** Fails when a bound generation may no longer commit (moved, or sealed for a swap). */
    const check = (operation: string) =>
      Effect.forEach(Array.from(bound), ([pipeline, g]) =>
        Effect.flatMap(read(pipeline), (p) => {
          const ok = isFixed(pipeline) ? p.current === g || p.building === g : p.current === g && p.seal === undefined
          if (ok) return Effect.void
          if (!isFixed(pipeline)) bound.delete(pipeline)
          return Effect.fail(moved("dynamodb", operation, new GenerationMoved({ pipeline, bound: g, current: p.current, sealed: p.current === g })))
        }), { discard: true })
    const scopeOf = (scope: string, write: boolean) => {
      if (scope === sourcesScope) return Effect.succeed(fixed === undefined ? scope : sourcesOf(fixed.pipeline, fixed.generation))
      if (scope.startsWith("@")) return Effect.succeed(scope)
      if (write) return name(scope)
      const g = bound.get(scope)
      return g !== undefined ? Effect.succeed(physical(scope, g)) : readName(scope)
    }
    const aggregates: Context.Service.Shape<typeof Aggregates> = {
      apply: (t, updates) => Effect.flatMap(name(t.name), (n) => base.aggregates.apply(as(t, n), updates)),
      get: (t, keys) => {
        const wanted = new Set(keys).size
        return readCurrent(t.name, (n) => base.aggregates.get(as(t, n), keys), (found) => found.size === wanted)
      },
      all: (t) => readCurrent(t.name, (n) => base.aggregates.all(as(t, n)), () => false),
      itemLimit: base.aggregates.itemLimit
    }
    const ledger: Context.Service.Shape<typeof Ledger> = {
      get: (t, ids) => Effect.flatMap(name(t.name), (n) => base.ledger.get(as(t, n), ids)),
      put: (t, entries) => Effect.flatMap(name(t.name), (n) => base.ledger.put(as(t, n), entries))
    }
    const tokens: Context.Service.Shape<typeof Tokens> = {
      get: (scope, n) => Effect.flatMap(scopeOf(scope, false), (s) => base.tokens.get(s, n)),
      set: (scope, n, value) =>
        Effect.gen(function*() {
          // a pipeline's own tokens are fenced, and sources' positions unless the fold's CommitFence
          // checked the commit they belong to; staged batches need not be
          if (!scope.startsWith("@") || (n.startsWith("position:") && !(yield* Checked))) yield* check("tokens.set")
          yield* base.tokens.set(yield* scopeOf(scope, true), n, value)
        })
    }
    return Context.make(Aggregates, aggregates).pipe(
      Context.add(Ledger, ledger),
      Context.add(Tokens, tokens),
      Context.add(DeadLetters, base.deadLetters),
      Context.add(CommitFence, { check: Effect.suspend(() => check("commit")) })
    )
  }

  /** Fails (moved) unless `from` is current and `to` being built: what a swap and a seal both require. */
  const expectSwappable = (pipeline: string, from: number, to: number, operation: string) => (p: Pointer) =>
    p.current === from && p.building === to
      ? Effect.void
      : Effect.fail(moved("dynamodb", operation, new GenerationMoved({ pipeline, bound: to, current: p.current })))

  const generations: Context.Service.Shape<typeof Generations> = {
    status: (pipeline) => Effect.map(read(pipeline), (p) => statusOf(pipeline, p)),
    begin: (pipeline, options) =>
      change(pipeline, (p) =>
        Effect.gen(function*() {
          // resuming: a seal left by a swap that was interrupted is lifted (the worker may commit again)
          if (p.building !== undefined && options?.fresh !== true) {
            return [p.seal === undefined ? undefined : { ...p, seal: undefined }, statusOf(pipeline, { ...p, seal: undefined })] as const
          }
          if (p.building !== undefined) yield* dropNow(pipeline, p.building)
          const next = Math.max(p.last, p.current) + 1
          yield* dropNow(pipeline, next)
          const opened = { current: p.current, building: next, last: next, seal: undefined }
          // (a fresh start lifts a seal left by an interrupted swap too)
          return [opened, { pipeline, current: p.current, building: next }] as const
        })),
    services: (pipeline, generation) => services({ pipeline, generation }),
    swap: (pipeline, from, to) =>
      Effect.gen(function*() {
        const expect = expectSwappable(pipeline, from, to, "generations.swap")
        yield* change(pipeline, (p) => Effect.as(expect(p), [{ ...p, seal: to }, undefined] as const))
        const live = yield* newestOf(pipeline, from)
        const built = yield* newestOf(pipeline, to)
        const behind = isBehind(built, live)
        yield* change(pipeline, (p) =>
          Effect.as(expect(p), [behind ? { ...p, seal: undefined } : { current: to, building: undefined, last: p.last, seal: undefined }, undefined] as const))
        if (behind) return yield* new GenerationBehind({ pipeline, live: live!, built })
      }),
    seal: (pipeline, from, to) =>
      Effect.gen(function*() {
        const expect = expectSwappable(pipeline, from, to, "generations.seal")
        yield* change(pipeline, (p) => Effect.as(expect(p), [{ ...p, seal: to }, undefined] as const))
        return yield* newestOf(pipeline, from)
      }),
    unseal: (pipeline) => change(pipeline, (p) => Effect.succeed([p.seal === undefined ? undefined : { ...p, seal: undefined }, undefined] as const)),
    drop: (pipeline, generation) =>
      Effect.gen(function*() {
        const p = yield* read(pipeline)
        if (p.current === generation) {
          return yield* moved("dynamodb", "generations.drop", new GenerationMoved({ pipeline, bound: generation, current: p.current }))
        }
        if (p.building === generation) {
          yield* change(pipeline, (q) => Effect.succeed([q.building === generation ? { ...q, building: undefined, seal: undefined } : undefined, undefined] as const))
        }
        yield* dropNow(pipeline, generation)
      })
  }

  return { services: services(), generations }
}

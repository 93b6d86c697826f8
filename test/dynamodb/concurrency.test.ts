/**
 * Concurrent writers on the same aggregate items (dynalite): the compare-and-set path of
 * non-additive monoids (a struct of sums, max) and the conditional `ADD` path of sums stay exact
 * when two fibers apply to the same keys at once: from different source partitions (everything
 * counts once), and the very same batches racing each other (a replay racing the original: it
 * counts once, not twice).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option, Order } from "effect"
import * as Monoid from "../../src/Monoid.ts"
import type { ApplyStats, KeyUpdate, Target } from "../../src/Store/Aggregates.ts"
import * as DynamoAggregates from "../../src/DynamoDb/internal/aggregates.ts"
import type { TableNames } from "../../src/DynamoDb/DynamoDbTables.ts"
import * as Rand from "../support/random.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { dropTables, freshTables, testClient } from "./support.ts"

interface Contribution<V> {
  readonly key: string
  readonly partition: string
  readonly seq: number
  readonly delta: V
}

/** The per-key updates of one batch of contributions (what the fold's planner makes). */
const batch = <V>(monoid: Monoid.Monoid<V>, records: ReadonlyArray<Contribution<V>>): Array<KeyUpdate<V>> => {
  const last = new Map<string, number>()
  for (const r of records) last.set(r.partition, Math.max(last.get(r.partition) ?? -1, r.seq))
  const byKey = new Map<string, Array<Contribution<V>>>()
  for (const r of records) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r])
  return Array.from(byKey, ([key, list]) => {
    const first = new Map<string, number>()
    for (const r of list) if (!first.has(r.partition)) first.set(r.partition, r.seq)
    const delta = list.reduce((acc, r) => monoid.combine(acc, r.delta), monoid.empty)
    return {
      key,
      delta,
      marks: Array.from(first, ([partition, f]) => ({ partition, first: f, last: last.get(partition)! })),
      contributions: list.map((r) => ({ partition: r.partition, seq: r.seq, delta: r.delta }))
    }
  })
}

/** A partition's records, cut into batches of random sizes. */
const cut = <A>(items: ReadonlyArray<A>, r: Rand.Random, max: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length;) {
    const n = r.int(1, max)
    out.push(items.slice(i, i + n))
    i += n
  }
  return out
}

type Stats = { written: number; skipped: number; partial: number }
const add = (a: Stats, b: ApplyStats): Stats => ({ written: a.written + b.written, skipped: a.skipped + b.skipped, partial: a.partial + b.partial })

describe("concurrent writers on DynamoDB", () => {
  let client: DynamoDBClient
  let tables: TableNames

  beforeAll(async () => {
    await requireService("dynamodb")
    client = testClient()
    tables = await freshTables(client, "conc")
  })

  afterAll(async () => {
    if (tables !== undefined) await dropTables(client, tables)
    client?.destroy()
  })

  /**
   * Two writers per partition list, racing; each writer applies its partition's batches in order,
   * and every batch twice (the second time is a replay: it must add nothing), sometimes with
   * other boundaries.
   */
  const race = async <V>(
    target: Target<V>,
    writers: ReadonlyArray<ReadonlyArray<Contribution<V>>>,
    seed: number
  ): Promise<Stats> => {
    const store = DynamoAggregates.make(client, tables.aggregates, { contentionAttempts: 50 })
    const r = Rand.make(seed)
    const plans = writers.map((records) => cut(records, r, 12))
    const results = await Effect.runPromise(Effect.all(
      plans.map((batches) =>
        Effect.gen(function*() {
          let stats: Stats = { written: 0, skipped: 0, partial: 0 }
          for (let i = 0; i < batches.length; i++) {
            stats = add(stats, yield* store.apply(target, batch(target.monoid, batches[i]!)))
            // a replay of this batch merged with the next one: only the next one's part counts
            const replay = i + 1 < batches.length ? [...batches[i]!, ...batches[i + 1]!.slice(0, 1)] : batches[i]!
            stats = add(stats, yield* store.apply(target, batch(target.monoid, replay)))
          }
          return stats
        })
      ),
      { concurrency: "unbounded" }
    ))
    return results.reduce((a, b) => ({ written: a.written + b.written, skipped: a.skipped + b.skipped, partial: a.partial + b.partial }))
  }

  const records = <V>(partition: string, keys: ReadonlyArray<string>, n: number, value: (seq: number, r: Rand.Random) => V, seed: number) => {
    const r = Rand.make(seed)
    return Array.from({ length: n }, (_, seq) => ({ key: r.pick(keys), partition, seq, delta: value(seq, r) }))
  }

  const expected = <V>(monoid: Monoid.Monoid<V>, all: ReadonlyArray<Contribution<V>>) => {
    const out = new Map<string, V>()
    for (const c of all) out.set(c.key, monoid.combine(out.get(c.key) ?? monoid.empty, c.delta))
    return out
  }

  it("compare-and-set (a struct of sums): two partitions racing on the same keys", async () => {
    const monoid = Monoid.struct({ total: Monoid.sum, orders: Monoid.count })
    const target = { name: uniqueName("cas"), monoid }
    const keys = ["a", "b", "c"]
    const value = (_: number, r: Rand.Random) => ({ total: r.int(-500, 5000), orders: 1 })
    const a = records("p/a", keys, 80, value, 1)
    const b = records("p/b", keys, 80, value, 2)
    const stats = await race(target, [a, b], 3)
    const store = DynamoAggregates.make(client, tables.aggregates)
    expect(await Effect.runPromise(store.all(target))).toEqual(expected(monoid, [...a, ...b]))
    expect(stats.skipped + stats.partial).toBeGreaterThan(0)
  })

  it("compare-and-set: the same batches applied by two racing writers count once", async () => {
    const monoid = Monoid.struct({ total: Monoid.sum, orders: Monoid.count })
    const target = { name: uniqueName("cas-dup"), monoid }
    const a = records("p/a", ["x", "y"], 100, (_, r) => ({ total: r.int(1, 1000), orders: 1 }), 4)
    // two writers with the very same records (a worker and its replay after a presumed crash)
    const stats = await race(target, [a, a], 5)
    const store = DynamoAggregates.make(client, tables.aggregates)
    expect(await Effect.runPromise(store.all(target))).toEqual(expected(monoid, a))
    expect(stats.skipped).toBeGreaterThan(0)
  })

  it("compare-and-set (max): two partitions racing", async () => {
    const monoid = Monoid.max(Order.Number)
    const target = { name: uniqueName("max"), monoid }
    const value = (_: number, r: Rand.Random) => Option.some(r.int(0, 1_000_000))
    const a = records("p/a", ["k1", "k2"], 60, value, 6)
    const b = records("p/b", ["k1", "k2"], 60, value, 7)
    await race(target, [a, b], 8)
    const store = DynamoAggregates.make(client, tables.aggregates)
    expect(await Effect.runPromise(store.all(target))).toEqual(expected(monoid, [...a, ...b]))
  })

  it("conditional ADD: partitions racing on the same keys, and the same batches racing", async () => {
    const target = { name: uniqueName("add"), monoid: Monoid.sum }
    const value = (_: number, r: Rand.Random) => r.int(-1000, 100_000)
    const a = records("p/a", ["s1", "s2", "s3"], 120, value, 9)
    const b = records("p/b", ["s1", "s2", "s3"], 120, value, 10)
    await race(target, [a, b, a, b], 11)
    const store = DynamoAggregates.make(client, tables.aggregates)
    expect(await Effect.runPromise(store.all(target))).toEqual(expected(Monoid.sum, [...a, ...b]))
  })

  it("bigint sums beyond 2^53 through ADD", async () => {
    const target = { name: uniqueName("big"), monoid: Monoid.sumBigInt }
    const value = (_: number, r: Rand.Random) => BigInt(r.int(0, 1_000_000)) * 10n ** 20n + BigInt(r.int(0, 9))
    const a = records("p/a", ["b1", "b2"], 50, value, 12)
    const b = records("p/b", ["b1", "b2"], 50, value, 13)
    await race(target, [a, b], 14)
    const store = DynamoAggregates.make(client, tables.aggregates)
    const totals = await Effect.runPromise(store.all(target))
    expect(totals).toEqual(expected(Monoid.sumBigInt, [...a, ...b]))
    expect((totals.get("b1") as bigint) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true)
  })
})

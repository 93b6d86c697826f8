/**
 * What the query-server tests share: pipelines with every kind of value (sums, counts, a bigint
 * sum, a max as an `Option`, a HyperLogLog, a Count-Min sketch, a Bloom filter, a TopK, a windowed
 * sum), the orders they fold, and a server on a free port of 127.0.0.1 over a memory store, with
 * plain `fetch` helpers.
 */
import { Context, Effect, Layer, Option, Order, Schema } from "effect"
import { HttpServer } from "effect/http"
import * as BloomFilter from "../../src/BloomFilter.ts"
import * as CountMinSketch from "../../src/CountMinSketch.ts"
import * as HyperLogLog from "../../src/HyperLogLog.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as QueryServer from "../../src/Serve/QueryServer.ts"
import * as Source from "../../src/Source.ts"
import type { Aggregates } from "../../src/Store/Aggregates.ts"
import * as MemoryStore from "../../src/Store/Memory.ts"
import * as TopK from "../../src/TopK.ts"

export const Order_ = Schema.Struct({
  id: Schema.String,
  customer: Schema.String,
  amount: Schema.Int,
  status: Schema.String,
  user: Schema.String,
  created_at: Schema.String
})
type OrderT = typeof Order_.Type

export const hll = { precision: 12 }
export const cms = { width: 272, depth: 5 }
export const bloom = { bits: 8192, hashes: 4 }

export const totals = Pipeline.make("totals", { schema: Order_, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })
export const perStatus = Pipeline.make("per_status", { schema: Order_, key: (o) => o.status, value: () => 1, monoid: Monoid.count })
export const bigTotals = Pipeline.make("big_totals", {
  schema: Order_,
  key: (o) => o.customer,
  value: (o) => BigInt(o.amount),
  monoid: Monoid.sumBigInt
})
export const largest = Pipeline.make("largest", {
  schema: Order_,
  key: (o) => o.customer,
  value: (o) => Option.some(o.amount),
  monoid: Monoid.max(Order.Number)
})
export const visitors = Pipeline.make("visitors", {
  schema: Order_,
  key: () => "all",
  value: (o) => HyperLogLog.of(o.user, hll),
  monoid: HyperLogLog.monoid(hll)
})
export const frequencies = Pipeline.make("frequencies", {
  schema: Order_,
  key: () => "all",
  value: (o) => CountMinSketch.of(o.user, cms),
  monoid: CountMinSketch.group(cms)
})
export const seen = Pipeline.make("seen", {
  schema: Order_,
  key: () => "all",
  value: (o) => BloomFilter.of(o.user, bloom),
  monoid: BloomFilter.monoid(bloom)
})
export const topCustomers = Pipeline.make("top_customers", {
  schema: Order_,
  key: () => "all",
  value: (o) => TopK.of(o.customer, o.amount),
  monoid: TopK.group
})
export const perDay = Pipeline.make("per_day", { schema: Order_, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })
  .pipe(Pipeline.windowed({ time: (o: OrderT) => o.created_at, granularity: "day", timeZone: "UTC", retention: "30 days" }))

export const pipelines = [totals, perStatus, bigTotals, largest, visitors, frequencies, seen, topCustomers, perDay] as const

/** The UTC day of now, as the window's bucket id. */
export const today = (): string => new Date().toISOString().slice(0, 10)

/** 300 orders of 7 customers by 150 users (users u0..u149), created now. */
export const orders: ReadonlyArray<OrderT> = Array.from({ length: 300 }, (_, i) => ({
  id: `o${i}`,
  customer: i % 7 === 6 ? "a/b c%é" : `c${i % 7}`,
  amount: 100 + i,
  status: ["new", "paid", "shipped"][i % 3]!,
  user: `u${i % 150}`,
  created_at: new Date().toISOString()
}))

export const SOURCE = "orders"

/** Folds {@link orders} into every pipeline. */
export const fold = Source.fromIterable(SOURCE, orders, { id: (o) => o.id }).pipe(Fold.run(pipelines))

/** The base URL of the server under test. */
export class Base extends Context.Service<Base, string>()("test/serve/Base") {}

const baseOf = Layer.effect(
  Base,
  Effect.gen(function*() {
    const address = (yield* HttpServer.HttpServer).address
    if (address._tag === "UnixPathAddress") return yield* Effect.die(new Error("the server does not listen on TCP"))
    return `http://127.0.0.1:${address.port}`
  })
)

/** A server on a free port over `store` (with the orders folded into it first when `folded`). */
export const server = <R>(
  store: Layer.Layer<Aggregates | any, never, never>,
  options: Omit<QueryServer.ServeOptions<R>, "port" | "host" | "pipelines"> & { readonly pipelines?: QueryServer.Options["pipelines"] },
  folded = true
) => {
  const prepared = folded ? Layer.effectDiscard(Effect.orDie(Effect.provide(fold, store))) : Layer.empty
  return baseOf.pipe(
    Layer.provideMerge(QueryServer.layer<R>({ pipelines, ...options, port: 0, host: "127.0.0.1" })),
    Layer.provide(Layer.merge(store, prepared))
  )
}

/** A fresh memory store. */
export const memoryStore = () => MemoryStore.layer(MemoryStore.makeState())

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

/** `fetch(base + path)`, its body read as text and, when it is JSON, parsed. */
export const call = (path: string, init: RequestInit = {}) =>
  Effect.gen(function*() {
    const base = yield* Base
    return yield* Effect.promise(async (): Promise<Reply> => {
      const response = await fetch(base + path, init)
      const text = await response.text()
      const type = response.headers.get("content-type") ?? ""
      return { status: response.status, headers: response.headers, text, json: type.includes("json") && text !== "" ? JSON.parse(text) : undefined }
    })
  })

export const PROBLEM = "urn:effect-monoid-streams:problem:"

/**
 * Workloads for the benchmarks: streams of changes to a collection of orders, generated from a
 * seed, with uniform or Zipf-skewed customers.
 */
import * as I from "../../src/Input.ts"
import type { Input } from "../../src/Input.ts"
import * as Seeded from "../../examples/orderstats/random.ts"

export interface Order {
  readonly customer_id: string
  readonly amount: number
}

export interface WorkloadOptions {
  readonly changes: number
  readonly docs: number
  readonly customers: number
  readonly skew: "uniform" | "zipf"
  readonly seed?: number
  /** records per emitted chunk */
  readonly chunk?: number
  readonly partition?: string
  /** the span of the events' times, in days (the windowed scenario; default 365) */
  readonly days?: number
}

/** The DynamoDB stores' `aggregateConcurrency` and `ledgerConcurrency` in scenario 2, on both sides. */
export const DYNAMODB_CONCURRENCY = 16

/** The example's seeded PRNG (mulberry32). */
const mulberry = (seed: number): (() => number) => Seeded.random(seed).next

/** A sampler of indexes below `n` (customers, keys): uniform, or Zipf with exponent 1.1. */
export const customerSampler = (n: number, skew: "uniform" | "zipf", random: () => number): (() => number) => {
  if (skew === "uniform") return () => Math.floor(random() * n)
  const cdf = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    sum += 1 / Math.pow(i + 1, 1.1)
    cdf[i] = sum
  }
  for (let i = 0; i < n; i++) cdf[i]! /= sum
  return () => {
    const u = random()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/**
 * Generates `changes` records in chunks: the first touch of each document is an insert; later ones
 * are amount updates (55%), customer moves (20%), deletes (10%), re-inserts of deleted documents,
 * and redeliveries of the previous record (5%). Versions increase.
 */
export function* changes(options: WorkloadOptions): Generator<Array<Input>> {
  const random = mulberry(options.seed ?? 42)
  const customers = Array.from({ length: options.customers }, (_, i) => `customer-${i}`)
  const sample = customerSampler(options.customers, options.skew, random)
  const chunk = options.chunk ?? 2000
  const partition = options.partition ?? "bench/0"
  const ids = Array.from({ length: options.docs }, (_, i) => `o${i}`)
  const state: Array<Order | undefined> = new Array(options.docs)
  let seq = 0
  let out: Array<Input> = []
  let previous: Input | undefined
  for (let n = 0; n < options.changes; n++) {
    const d = n < options.docs ? n : Math.floor(random() * options.docs)
    const current = state[d]
    const version = [1_000 + n, 0] as const
    const position = { partition, seq: seq++ }
    const roll = random()
    let record: Input
    if (previous !== undefined && roll < 0.05) {
      record = { ...previous, seq: position.seq }
    } else if (current === undefined) {
      const doc = { customer_id: customers[sample()]!, amount: Math.floor(random() * 100_000) }
      state[d] = doc
      record = I.upsert(ids[d]!, doc, position, { version })
    } else if (roll < 0.6) {
      const doc = { customer_id: current.customer_id, amount: Math.floor(random() * 100_000) }
      state[d] = doc
      record = I.upsert(ids[d]!, doc, position, { version })
    } else if (roll < 0.8) {
      const doc = { customer_id: customers[sample()]!, amount: current.amount }
      state[d] = doc
      record = I.upsert(ids[d]!, doc, position, { version })
    } else if (roll < 0.9) {
      state[d] = undefined
      record = I.remove(ids[d]!, position, { version })
    } else {
      const doc = { customer_id: current.customer_id, amount: current.amount + 1 }
      state[d] = doc
      record = I.upsert(ids[d]!, doc, position, { version })
    }
    previous = record
    out.push(record)
    if (out.length === chunk) {
      yield out
      out = []
    }
  }
  if (out.length > 0) yield out
}

/** All chunks at once (for timed runs that must not include generation). */
export const generateAll = (options: WorkloadOptions): Array<Array<Input>> => Array.from(changes(options))

/**
 * `count` order documents (no history), `chunk` at a time, with customers drawn like the changes'
 * (uniform or Zipf): the contents of a collection to bootstrap from.
 */
export function* documents(options: WorkloadOptions & { readonly count: number }): Generator<Array<Order>> {
  const random = mulberry(options.seed ?? 42)
  const sample = customerSampler(options.customers, options.skew, random)
  const chunk = options.chunk ?? 2000
  let out: Array<Order> = []
  for (let n = 0; n < options.count; n++) {
    out.push({ customer_id: `customer-${sample()}`, amount: Math.floor(random() * 100_000) })
    if (out.length === chunk) {
      yield out
      out = []
    }
  }
  if (out.length > 0) yield out
}

/**
 * An event's document and position, made by classes rather than literals: V8 pretenures a literal
 * whose objects often survive a scavenge (old-generation allocation then costs both sides of a
 * scenario full collections), while a real source's documents come from a parser, in the young
 * generation.
 */
class OrderDoc implements Order {
  readonly customer_id: string
  readonly amount: number
  constructor(customer_id: string, amount: number) {
    this.customer_id = customer_id
    this.amount = amount
  }
}

class EventPosition {
  readonly partition: string
  readonly seq: number
  constructor(partition: string, seq: number) {
    this.partition = partition
    this.seq = seq
  }
}

/**
 * `changes` insert-only order events (`Input.Event`, ids `ev<n>`), `chunk` at a time, on one
 * partition, generated lazily: what an append-only topic of payments looks like.
 */
export function* orderEvents(options: WorkloadOptions): Generator<Array<Input>> {
  const random = mulberry(options.seed ?? 42)
  const customers = Array.from({ length: options.customers }, (_, i) => `customer-${i}`)
  const sample = customerSampler(options.customers, options.skew, random)
  const chunk = options.chunk ?? 2000
  const partition = options.partition ?? "bench/0"
  let out: Array<Input> = []
  for (let n = 0; n < options.changes; n++) {
    out.push(I.event(`ev${n}`, new OrderDoc(customers[sample()]!, Math.floor(random() * 100_000)), new EventPosition(partition, n)))
    if (out.length === chunk) {
      yield out
      out = []
    }
  }
  if (out.length > 0) yield out
}

/**
 * The typed failures of the MongoDB sources, against the real server:
 * - a saved resume token the server refuses (an invalid token stands in for an expired one:
 *   mongo-java-server never loses history) -> PositionLost, telling the operator to re-bootstrap;
 * - dropping the watched collection -> StreamInvalidated, after the changes before the drop;
 * - a server that cannot open a change stream -> HandoffUnavailable before any scan (the real
 *   server refusing `aggregate`, and a standalone server's refusal injected around the real client);
 * - a handoff whose live position is not a change-stream start -> ConfigurationError.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Schedule, Stream } from "effect"
import { type Document, type MongoClient, MongoNetworkError, MongoServerError } from "mongodb"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as MongoChangeStream from "../../src/MongoDb/MongoChangeStream.ts"
import * as MongoHandoff from "../../src/MongoDb/MongoHandoff.ts"
import { positionToken, tokenScope } from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import * as Version from "../../src/Version.ts"
import { requireService, uniqueName } from "../support/services.ts"
import { connectClient, orderSpec, quiet, seed, sleep } from "./support.ts"

let client: MongoClient
let dir = ""

beforeAll(async () => {
  await requireService("mongo")
  client = await connectClient()
  dir = mkdtempSync(join(tmpdir(), "mongo-errors-"))
})
afterAll(async () => {
  await client?.close()
  rmSync(dir, { recursive: true, force: true })
})

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const failure = exit.cause.reasons.find(Cause.isFailReason)
  return failure?.error
}

/** A bootstrapped collection with a committed live position. */
const bootstrapped = async (name: string) => {
  const ns = { db: uniqueName(name), collection: "orders" }
  const orders = client.db(ns.db).collection<Document>(ns.collection)
  await seed(orders, 300, 5)
  const store = join(dir, `${name}.sqlite`)
  const spec = orderSpec(ns, { batchSize: 100, stopWhenIdle: 800 })
  const layers = Layer.mergeAll(Embedded.layer({ path: store }), Mongo.layerClient(client), quiet)
  await Effect.runPromise(Orchestrator.run(spec).pipe(Effect.provide(layers)))
  await orders.insertOne({ _id: "late-1" as any, customer_id: "cust-x", amount: 500 })
  const second = await Effect.runPromise(Orchestrator.run(spec).pipe(Effect.provide(layers)))
  expect(second.live?.records).toBe(1)
  return { ns, orders, store, spec, layers, handoff: second.handoff }
}

describe("MongoDB source failures", () => {
  it("an unusable saved resume token is PositionLost (re-bootstrap), not a retry loop or a silent restart", async () => {
    const { ns, spec, layers, handoff } = await bootstrapped("lost")
    const name = `mongo-changes:${ns.db}.${ns.collection}`
    const partition = `${name}@${Version.format(handoff.version)}`
    // mongo-java-server cannot lose history; tokens it cannot parse stand in for expired ones
    for (const token of [{ _data: "zz" }, { _data: "ffffffffffffffff" }, { nothing: 1 }]) {
      await Effect.runPromise(Effect.gen(function*() {
        const tokens = yield* Tokens
        yield* tokens.set(tokenScope, positionToken(name), { [partition]: { seq: 1, checkpoint: { token } } })
      }).pipe(Effect.provide(layers)))
      const started = Date.now()
      const exit = await Effect.runPromise(Effect.exit(Orchestrator.live(spec).pipe(Effect.provide(layers))))
      const error = failureOf(exit)
      console.log(`token ${JSON.stringify(token)}: ${error?._tag} after ${Date.now() - started} ms: ${error?.message}`)
      expect(error?._tag).toBe("PositionLost")
      expect(error?.message).toMatch(/re-run the bootstrap/)
      expect(error?.message).toContain(JSON.stringify(token).slice(0, 8))
      // no retry schedule on a refused position
      expect(Date.now() - started).toBeLessThan(5_000)
    }
  })

  it("dropping the collection ends the stream with StreamInvalidated, after the changes before the drop", async () => {
    const { ns, orders, layers, store } = await bootstrapped("drop")
    // follows the stream until it fails (no stopWhenIdle)
    const run = Effect.runPromise(Effect.exit(Orchestrator.live(orderSpec(ns, { batchSize: 100 })).pipe(Effect.provide(layers))))
    await sleep(500)
    await orders.insertOne({ _id: "before-drop" as any, customer_id: "cust-drop", amount: 1234 })
    await sleep(300)
    await orders.drop()
    const exit = await run
    const error = failureOf(exit)
    expect(error?._tag).toBe("StreamInvalidated")
    expect(error?.message).toMatch(/drop event/)
    const totals = await Effect.runPromise(
      Effect.gen(function*() {
        return yield* (yield* Aggregates).all(orderTotals)
      }).pipe(Effect.provide(Embedded.layer({ path: store })))
    )
    expect(totals.get("cust-drop")).toBe(1234)
  })

  it("a server that cannot open a change stream fails the capture with HandoffUnavailable", async () => {
    // the real server refuses aggregate on the admin database (as a server without change streams does)
    const refused = await Effect.runPromise(
      Effect.exit(MongoHandoff.capture({ db: "admin", collection: uniqueName("nope") }).pipe(Effect.provide(Mongo.layerClient(client))))
    )
    const e1 = failureOf(refused)
    expect(e1?._tag).toBe("HandoffUnavailable")
    expect(e1?.message).toMatch(/no live start position can be captured/)

    // a standalone mongod's answer, injected around the real client (the local server is not a standalone)
    const standalone = new MongoServerError({
      message: "The $changeStream stage is only supported on replica sets",
      code: 40573,
      codeName: "Location40573",
      ok: 0
    })
    const faked = new Proxy(client, {
      get: (target, prop, receiver) =>
        prop === "db"
          ? (name: string) => {
            const db = target.db(name)
            return new Proxy(db, {
              get: (d, p) =>
                p === "collection"
                  ? (c: string) => {
                    const coll = d.collection(c)
                    return new Proxy(coll, {
                      get: (cc, q) => {
                        if (q !== "watch") return Reflect.get(cc, q)
                        return (...args: Array<any>) => {
                          const stream = (cc.watch as any)(...args)
                          stream.tryNext = () => Promise.reject(standalone)
                          return stream
                        }
                      }
                    })
                  }
                  : Reflect.get(d, p)
            })
          }
          : Reflect.get(target, prop, receiver)
    })
    const ns = { db: uniqueName("standalone"), collection: "orders" }
    const exit = await Effect.runPromise(
      Effect.exit(Orchestrator.bootstrap(orderSpec(ns)).pipe(
        Effect.provide(Layer.mergeAll(Embedded.layer({ path: join(dir, "standalone.sqlite") }), Mongo.layerClient(faked), quiet))
      ))
    )
    const e2 = failureOf(exit)
    expect(e2?._tag).toBe("HandoffUnavailable")
    expect(e2?.message).toMatch(/replica set/)
    // nothing was scanned and no handoff saved: a later run captures again
    const state = await Effect.runPromise(
      Orchestrator.state(orderTotals.name).pipe(Effect.provide(Embedded.layer({ path: join(dir, "standalone.sqlite") })))
    )
    expect(Option.isNone(state)).toBe(true)
  })

  it("transient errors reopen the stream after the last change read: nothing lost, nothing twice", async () => {
    const ns = { db: uniqueName("transient"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    const start = Math.floor(Date.now() / 1000) - 1
    await orders.insertMany(Array.from({ length: 30 }, (_, n) => ({ _id: `t-${n}`, customer_id: "c", amount: n })) as Array<any>)
    for (let n = 30; n < 60; n++) await orders.insertOne({ _id: `t-${n}` as any, customer_id: "c", amount: n })
    // network failures injected on the 3rd and 4th poll (the server cannot drop a connection on demand)
    let polls = 0
    let opened = 0
    const flaky = new Proxy(client, {
      get: (target, prop, receiver) =>
        prop === "db"
          ? (name: string) =>
            new Proxy(target.db(name), {
              get: (d, p) =>
                p === "collection"
                  ? (c: string) =>
                    new Proxy(d.collection(c), {
                      get: (cc, q) =>
                        q === "watch"
                          ? (...args: Array<any>) => {
                            opened++
                            const stream = (cc.watch as any)(...args)
                            const tryNext = stream.tryNext.bind(stream)
                            stream.tryNext = () => {
                              polls++
                              return polls === 3 || polls === 4
                                ? Promise.reject(new MongoNetworkError("connection reset (injected)"))
                                : tryNext()
                            }
                            return stream
                          }
                          : Reflect.get(cc, q)
                    })
                  : Reflect.get(d, p)
            })
          : Reflect.get(target, prop, receiver)
    })
    const handoff = Handoff.atVersion(Version.make(start * 1000, 0), { startAtOperationTime: { t: start, i: 0 } })
    const source = MongoChangeStream.make({
      ...ns,
      handoff,
      batchSize: 7,
      retry: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 5 }))
    })
    const records = await Effect.runPromise(
      Stream.runCollect(Stream.take(source.records, 60)).pipe(Effect.provide([Memory.layer(), Mongo.layerClient(flaky), quiet]))
    )
    expect(opened).toBe(3)
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
    expect(records.map((r) => (r._tag === "Upsert" ? r.docId : r._tag))).toEqual(Array.from({ length: 60 }, (_, n) => JSON.stringify(`t-${n}`)))
  })

  it("a handoff without a change-stream start is a ConfigurationError", async () => {
    const ns = { db: uniqueName("config"), collection: "orders" }
    const source = MongoChangeStream.make({ ...ns, handoff: Handoff.atVersion(Version.make(1, 0), { offsets: [1, 2] }) })
    const exit = await Effect.runPromise(
      Effect.exit(Stream.runDrain(source.records).pipe(
        Effect.provide(Layer.mergeAll(Embedded.layer({ path: ":memory:" }), Mongo.layerClient(client)))
      ))
    )
    const error = failureOf(exit)
    expect(error?._tag).toBe("ConfigurationError")
    expect(error?.message).toMatch(/not a change-stream start/)
  })
})

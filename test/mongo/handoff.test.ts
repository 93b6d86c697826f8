/**
 * Capturing the handoff position P0 and the client's configuration, against the real server:
 * - on mongo-java-server (no resume token before the first event, no cluster time in replies) P0
 *   is the newest oplog entry, i.e. the cluster time of the last change made before the capture;
 * - when the oplog cannot be read, the server's clock (rounded down: never after a later change);
 * - resume tokens of both formats give their cluster time (a replica set's post-batch token);
 * - MONGO_URI is a Redacted secret, and a failed connection does not print the credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import type { Collection, Document, MongoClient, Timestamp } from "mongodb"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as MongoHandoff from "../../src/MongoDb/MongoHandoff.ts"
import * as Version from "../../src/Version.ts"
import { mongoUri, requireService, uniqueName } from "../support/services.ts"
import { connectClient, quiet } from "./support.ts"

let client: MongoClient

beforeAll(async () => {
  await requireService("mongo")
  client = await connectClient()
})
afterAll(async () => {
  await client?.close()
})

/** The cluster time of the next change on `orders`, read from a change stream opened before it. */
const clusterTimeOf = async (orders: Collection<Document>, change: () => Promise<unknown>) => {
  const stream = orders.watch([])
  try {
    expect(await stream.tryNext()).toBeNull()
    await change()
    for (let i = 0; i < 200; i++) {
      const event = await stream.tryNext()
      if (event !== null) return (event as { clusterTime: Timestamp }).clusterTime
      await new Promise((r) => setTimeout(r, 20))
    }
    throw new Error("no change event")
  } finally {
    await stream.close()
  }
}

describe("MongoDB handoff capture", () => {
  it("P0 is the cluster time of the last change before the capture (the newest oplog entry on mongo-java-server)", async () => {
    const ns = { db: uniqueName("handoff"), collection: "orders" }
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    const last = await clusterTimeOf(orders, () => orders.insertOne({ _id: "a" as any, customer_id: "c", amount: 1 }))
    const handoff = await Effect.runPromise(MongoHandoff.capture(ns).pipe(Effect.provide([Mongo.layerClient(client), quiet])))
    const live = handoff.live as MongoHandoff.LiveStart
    console.log(`handoff: ${Version.format(handoff.version)} via ${live.method}; last change ${last.t}:${last.i}`)
    expect(live.method).toBe("oplog")
    // other tests may write to the same server meanwhile: P0 is at or after the last change, never before
    expect(Version.compare(handoff.version, Version.fromClusterTime(last.t, last.i))).toBeGreaterThanOrEqual(0)
    expect(live.startAtOperationTime).toEqual({ t: handoff.version[0] / 1000, i: handoff.version[1] })
    const next = await clusterTimeOf(orders, () => orders.insertOne({ _id: "b" as any, customer_id: "c", amount: 2 }))
    expect(Version.isNewer(Version.fromClusterTime(next.t, next.i), handoff.version)).toBe(true)
  })

  it("falls back to the server's clock when the oplog cannot be read", async () => {
    const ns = { db: uniqueName("clock"), collection: "orders" }
    // the oplog query refused (as for a user without access to `local`), around the real client
    const noOplog = new Proxy(client, {
      get: (target, prop, receiver) =>
        prop === "db"
          ? (name: string) => {
            if (name !== "local") return target.db(name)
            return { collection: () => ({ find: () => ({ toArray: () => Promise.reject(new Error("not authorized on local")) }) }) }
          }
          : Reflect.get(target, prop, receiver)
    })
    const before = Math.floor(Date.now() / 1000)
    const handoff = await Effect.runPromise(MongoHandoff.capture(ns).pipe(Effect.provide([Mongo.layerClient(noOplog), quiet])))
    const after = Math.ceil(Date.now() / 1000)
    expect((handoff.live as MongoHandoff.LiveStart).method).toBe("serverClock")
    expect(handoff.version[1]).toBe(0)
    expect(handoff.version[0] / 1000).toBeGreaterThanOrEqual(before - 1)
    expect(handoff.version[0] / 1000).toBeLessThanOrEqual(after)
    const orders = client.db(ns.db).collection<Document>(ns.collection)
    const next = await clusterTimeOf(orders, () => orders.insertOne({ _id: "x" as any, customer_id: "c", amount: 1 }))
    expect(Version.isNewer(Version.fromClusterTime(next.t, next.i), handoff.version)).toBe(true)
  })

  it("reads the cluster time of resume tokens of both formats", () => {
    // mongo-java-server: the oplog timestamp in 16 hex digits
    expect(MongoHandoff.tokenTime({ _data: "6b0d517a00000011" })).toEqual({ t: 0x6b0d517a, i: 0x11 })
    // MongoDB 4.2+: a KeyString starting with the cluster time (type byte 130)
    expect(MongoHandoff.tokenTime({ _data: "8263F2A1B1000000022B022C0100296E5A1004ABCD" })).toEqual({ t: 0x63f2a1b1, i: 2 })
    expect(MongoHandoff.tokenTime({ _data: "zz" })).toBeUndefined()
    expect(MongoHandoff.tokenTime(null)).toBeUndefined()
    expect(MongoHandoff.tokenTime({ _data: 5 })).toBeUndefined()
  })

  it("reads MONGO_URI as a secret and never prints credentials", async () => {
    const provider = ConfigProvider.fromEnvRecord({ MONGO_URI: mongoUri(), MONGO_DB: "shop", MONGO_COLLECTION: "orders" })
    const cfg = await Effect.runPromise(Effect.gen(function*() {
      return yield* Mongo.config
    }).pipe(Effect.provide(ConfigProvider.layer(provider))))
    expect(Redacted.isRedacted(cfg.uri)).toBe(true)
    expect(String(cfg.uri)).not.toContain("27117")
    expect(cfg).toMatchObject({ db: "shop", collection: "orders", batchSize: 1000 })
    // the config layer connects to the real server
    const ping = await Effect.runPromise(Effect.gen(function*() {
      const { client } = yield* Mongo.Client
      return yield* Effect.promise(() => client.db("admin").command({ ping: 1 }))
    }).pipe(Effect.provide(Mongo.layerConfig.pipe(Layer.provide(ConfigProvider.layer(provider))))))
    expect(ping.ok).toBe(1)
    // an unreachable server: a typed SourceError without the password
    const exit = await Effect.runPromise(Effect.exit(Effect.scoped(Mongo.connect({
      uri: "mongodb://reader:s3cr3t@127.0.0.1:1/?directConnection=true",
      clientOptions: { serverSelectionTimeoutMS: 300 }
    }))))
    expect(Exit.isFailure(exit)).toBe(true)
    const text = JSON.stringify(exit) + String(Exit.isFailure(exit) ? exit.cause : "")
    expect(text).toContain("SourceError")
    expect(text).toContain("***@127.0.0.1:1")
    expect(text).not.toContain("s3cr3t")
  })
})

/**
 * Reads of a pipeline's aggregates on DynamoDB across a rebootstrap's swap and drop: a reader that
 * resolved the generation pointer before the swap reads its items after the old generation was
 * dropped. It must answer the new generation's values, never "not found" for a key both hold.
 * The window is widened by holding the reader's item read (a wrapper around the real client).
 */
import { Context, Effect, Fiber, Layer, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Client from "../../src/DynamoDb/DynamoDbClient.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import type { TableNames } from "../../src/DynamoDb/DynamoDbTables.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { Generations } from "../../src/Store/Generations.ts"
import { requireService } from "../support/services.ts"
import { dropTables, freshTables, quiet, testClient } from "./support.ts"

const totals = Pipeline.make("totals", { schema: Schema.Struct({ c: Schema.String, a: Schema.Int }), key: (o) => o.c, value: (o) => o.a, monoid: Monoid.sum })
const docs = [{ id: "o1", c: "c1", a: 60 }, { id: "o2", c: "c1", a: 40 }, { id: "o3", c: "c2", a: 5 }]

describe("DynamoDB generations", () => {
  const sdk = testClient()
  let tables: TableNames
  beforeAll(async () => {
    await requireService("dynamodb")
    tables = await freshTables(sdk, "gens")
  })
  afterAll(async () => {
    if (tables !== undefined) await dropTables(sdk, tables)
    sdk.destroy()
  })

  it("a read across a swap and the drop of the old generation answers the new generation", async () => {
    const raw = Client.fromSdk(sdk)
    let hold: Promise<void> | undefined
    const client: Client.Client = {
      send: async (operation, input, signal) => {
        if (operation === "BatchGetItem" && hold !== undefined) {
          const wait = hold
          hold = undefined
          await wait
        }
        return raw.send(operation, input, signal)
      }
    }
    const seen = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const store = yield* Layer.build(DynamoDbStore.layerFrom(client, tables))
      const aggregates = Context.get(store, Aggregates)
      const generations = Context.get(store, Generations)
      const source = () => Source.fromIterable("orders", docs, { id: (d) => d.id })
      yield* Fold.run(source(), [totals]).pipe(Effect.provide(store))
      const opened = yield* generations.begin("totals")
      const building = opened.building!
      yield* Fold.run(source(), [totals]).pipe(Effect.provide(generations.services("totals", building)))
      // the reader reads the pointer (the old generation) now, and its items once released
      let release!: () => void
      hold = new Promise((resolve) => (release = resolve))
      const reader = yield* Effect.forkChild(aggregates.get(totals, ["c1", "c2"]))
      yield* Effect.sleep("200 millis")
      yield* generations.swap("totals", opened.current, building)
      yield* generations.drop("totals", opened.current)
      release()
      return Object.fromEntries(yield* Fiber.join(reader))
    }).pipe(Effect.provide(quiet))))
    expect(seen).toEqual({ c1: 100, c2: 5 })
  })
})

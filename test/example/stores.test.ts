/**
 * The orderstats binaries' cache prefix: one per store, so that two deployments sharing a
 * Valkey/Redis server (staging and production, two collections) never read each other's cached
 * totals. Before, every deployment used the library's default prefix: `totals.js cust-000` of one
 * answered the other's value.
 */
import { describe, expect, it } from "vitest"
import * as Tables from "../../src/DynamoDb/DynamoDbTables.ts"
import * as Stores from "../../examples/orderstats/stores.ts"

const embedded = (path: string) => ({ _tag: "Embedded" as const, path, cacheMiB: 64 })
const dynamodb = (base: string, endpoint?: string) => ({ _tag: "DynamoDb" as const, endpoint, tables: Tables.fromBase(base), createTables: false })

describe("the orderstats cache prefix", () => {
  it("differs between stores and is the same for one store, however its path is written", () => {
    const prefixes = [
      Stores.cachePrefix(embedded("/srv/a/orderstats.sqlite")),
      Stores.cachePrefix(embedded("/srv/b/orderstats.sqlite")),
      Stores.cachePrefix(dynamodb("orders_prod")),
      Stores.cachePrefix(dynamodb("orders_staging")),
      Stores.cachePrefix(dynamodb("orders_prod", "http://127.0.0.1:8000"))
    ]
    expect(new Set(prefixes).size).toBe(prefixes.length)
    expect(Stores.cachePrefix(embedded("/srv/a/../a/orderstats.sqlite"))).toBe(prefixes[0])
    expect(Stores.cachePrefix(dynamodb("orders_prod"))).toBe(prefixes[2])
  })
})

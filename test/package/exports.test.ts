/**
 * The package's entry points: a subpath per public module, named as the root's namespaces are,
 * and what importing each loads in a fresh process (through the package's own exports, from the
 * build in dist/: the package imports itself by name).
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import {
  entryOf,
  guaranteed,
  isOptionalPeer,
  packageJson,
  packagesLoaded,
  publicModules,
  root,
  rootNamespaces,
  subpathOf
} from "./support.ts"

const pkg = packageJson()

describe("exports", () => {
  it("has the root, ./package.json and one subpath per public module, named after its namespace", () => {
    const expected = Object.fromEntries([
      [".", entryOf("index")],
      ["./package.json", "./package.json"],
      ...publicModules().map((module) => [subpathOf(module), entryOf(module)])
    ])
    expect(pkg.exports).toEqual(expected)
  })

  it("names subpaths as the root names its namespaces (MemoryStore is Store/Memory)", () => {
    expect(subpathOf("Store/Memory")).toBe("./MemoryStore")
    expect(subpathOf("Runtime/Fold")).toBe("./Fold")
    expect(subpathOf("MongoDb/MongoSnapshot")).toBe("./MongoSnapshot")
    expect(rootNamespaces().get("Pipeline")).toBe("Pipeline")
  })

  it("the root re-exports every public module that needs no optional peer", () => {
    // the modules that load a client library (an optional peer) are subpaths only
    const integrations = new Set([
      "Laws", "KafkaJs", "KafkaPlatformatic", "DynamoDbStore", "DynamoDbClient", "DynamoDbTables", "AggregateCache",
      "Mongo", "MongoHandoff", "MongoSnapshot", "MongoChangeStream", "MongoCollection",
      "QueryApi", "QueryServer", "MongoAdmin", "vitest"
    ])
    const core = publicModules().map((module) => subpathOf(module).slice(2)).filter((name) => !integrations.has(name))
    expect([...rootNamespaces().keys()].sort()).toEqual(core.sort())
  })
})

/** The client library each integration loads, an optional peer of the package. */
const clients: ReadonlyArray<readonly [subpath: string, client: string]> = [
  ["Laws", "fast-check"],
  ["KafkaJs", "kafkajs"],
  ["KafkaPlatformatic", "@platformatic/kafka"],
  ["MongoSnapshot", "mongodb"],
  ["MongoAdmin", "mongodb"],
  ["DynamoDbStore", "@aws-sdk/client-dynamodb"],
  ["AggregateCache", "ioredis"],
  ["QueryServer", "@effect/platform-node"]
]

describe("what a fresh process loads", () => {
  beforeAll(() => {
    if (!existsSync(join(root, "dist", "src", "index.js"))) throw new Error("dist/src is missing: run npm run build first")
  })

  it.each(["", "/Monoid", "/Pipeline", "/Fold", "/Source", "/MemoryStore", "/EmbeddedStore", "/Sketch"])(
    "effect-monoid-streams%s loads only effect and the package's dependencies",
    (subpath) => {
      const loaded = packagesLoaded(`${pkg.name}${subpath}`)
      expect(loaded.has("effect")).toBe(true)
      expect([...loaded].filter((name) => !guaranteed(pkg).has(name))).toEqual([])
    }
  )

  it.each(clients)("effect-monoid-streams/%s loads %s, an optional peer", (subpath, client) => {
    expect(isOptionalPeer(pkg, client)).toBe(true)
    expect(packagesLoaded(`${pkg.name}/${subpath}`).has(client)).toBe(true)
  })
})

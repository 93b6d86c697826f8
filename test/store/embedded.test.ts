/**
 * The embedded store's connection settings: its page cache (`cacheMiB`) and durability, read back
 * from SQLite itself.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Embedded from "../../src/Store/Embedded.ts"

const dir = mkdtempSync(join(tmpdir(), "embedded-options-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const pragmas = (options: Embedded.Options) =>
  Effect.runPromise(Effect.scoped(Effect.map(Embedded.open(options), (db) => ({
    cache: (db.prepare("PRAGMA cache_size").get() as { cache_size: number }).cache_size,
    synchronous: (db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous
  }))))

describe("embedded store connection", () => {
  it("keeps a 64 MiB page cache by default, and the size asked for otherwise", async () => {
    // SQLite's answer is in KiB when negative
    expect((await pragmas({ path: join(dir, "default.sqlite") })).cache).toBe(-64 * 1024)
    expect((await pragmas({ path: join(dir, "small.sqlite"), cacheMiB: 8 })).cache).toBe(-8 * 1024)
    expect((await pragmas({ path: join(dir, "half.sqlite"), cacheMiB: 0.5 })).cache).toBe(-512)
  })

  it("is durable against power loss by default (synchronous=FULL), against crashes with normal", async () => {
    expect((await pragmas({ path: join(dir, "full.sqlite") })).synchronous).toBe(2)
    expect((await pragmas({ path: join(dir, "normal.sqlite"), durability: "normal" })).synchronous).toBe(1)
  })

  it("refuses a cache size that is not a positive number of MiB", async () => {
    for (const cacheMiB of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const exit = await Effect.runPromiseExit(Effect.scoped(Embedded.open({ path: join(dir, "bad.sqlite"), cacheMiB })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain("cacheMiB must be a positive number")
    }
  })
})

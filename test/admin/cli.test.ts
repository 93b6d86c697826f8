/**
 * `admin.js`'s command line (the built binary): `--help` of every subcommand names its flags and
 * the variables it reads; a bad argument gives the usage on stderr and exit 1; a missing
 * `MONGO_URI` is named with what to set.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ensureBuilt, run } from "../support/cli.ts"

const dir = mkdtempSync(join(tmpdir(), "admin-cli-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Only PATH and an embedded store in a temporary folder: none of the test run's servers. */
const admin = (args: ReadonlyArray<string>, extra: NodeJS.ProcessEnv = {}) => {
  const env: NodeJS.ProcessEnv = { STORE: "embedded", STATE_DIR: dir, LOG_LEVEL: "Warn", ...extra }
  for (const name of Object.keys(process.env)) if (name !== "PATH" && !(name in env)) env[name] = undefined
  return run(ensureBuilt("admin.js"), args, { env })
}

describe("admin.js command line", () => {
  it.each([
    [["--help"], ["status", "dead-letters", "verify", "MONGO_URI", "STATE_DIR", "STATE_CACHE_MIB"]],
    [["status", "--help"], ["--json", "LIVE_SOURCE", "CONSUMER_GROUP", "MONGO_URI"]],
    [["dead-letters", "--help"], ["list", "show", "replay"]],
    [["dead-letters", "list", "--help"], ["--pipeline", "--pending", "--json", "DDB_TABLE"]],
    [["dead-letters", "show", "--help"], ["<id>", "--pipeline"]],
    [["dead-letters", "replay", "--help"], ["--pipeline", "exactly once", "MONGO_URI"]],
    [["verify", "--help"], ["<pipeline>", "--json", "MONGO_BATCH_SIZE", "exit code 1 on any difference"]]
  ] as const)("%j lists what it takes", async (args, expected) => {
    const r = await admin(args)
    expect(r.code).toBe(0)
    for (const text of expected) expect(r.stdout).toContain(text)
  })

  it("refuses an unknown pipeline with the usage", async () => {
    const r = await admin(["dead-letters", "list", "--pipeline", "bogus"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/Invalid value for flag --pipeline: "bogus"/)
    expect(r.stderr).toMatch(/usage: admin.js dead-letters list/)
  })

  it("names MONGO_URI when verify needs it and it is not set", async () => {
    // verify reads an existing store only: a command that writes makes it first
    expect((await admin(["dead-letters", "list"])).code).toBe(0)
    const r = await admin(["verify", "order_totals"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/admin: MONGO_URI is not set: set it to the MongoDB connection string/)
  })

  it("opens the embedded store with STATE_CACHE_MIB, and says what is wrong with a bad one", async () => {
    expect((await admin(["dead-letters", "list", "--json"], { STATE_CACHE_MIB: "8" })).code).toBe(0)
    const r = await admin(["dead-letters", "list", "--json"], { STATE_CACHE_MIB: "0" })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("cacheMiB must be a positive number of MiB, not 0")
  })

  it("lists no dead letters on a fresh store (exit 0)", async () => {
    const r = await admin(["dead-letters", "list", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ deadLetters: [], count: 0 })
  })
})

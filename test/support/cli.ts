/** Runs the built orderstats command line as a child process. */
import { spawn, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"

export const root = join(import.meta.dirname, "..", "..")

/** Builds dist/ when the test run did not (scripts/test.sh always builds first). */
export const ensureBuilt = (script: string): string => {
  const path = join(root, "dist", "examples", "orderstats", script)
  if (!existsSync(path)) {
    const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], { encoding: "utf8" })
    if (tsc.status !== 0) throw new Error(`the build failed:\n${tsc.stdout}${tsc.stderr}`)
  }
  return path
}

export interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node script ...args`; with `killAfterMs`, sends SIGKILL after that long (if still running). */
export const run = (script: string, args: ReadonlyArray<string>, options: { readonly killAfterMs?: number; readonly env?: NodeJS.ProcessEnv } = {}): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.killAfterMs)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })

/**
 * The environment of an orderstats binary serving on a free port over collection `orders` of `db`
 * and the embedded store in `dir`, no other server (`extra` adds them, and the live source).
 */
export const orderstatsEnv = (mongoUri: string, db: string, dir: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  ...process.env,
  MONGO_URI: mongoUri,
  MONGO_DB: db,
  MONGO_COLLECTION: "orders",
  STATE_DIR: dir,
  STORE: undefined,
  DDB_ENDPOINT: undefined,
  REDIS_URL: undefined,
  SERVE_PORT: "0",
  SERVE_HOST: "127.0.0.1",
  SERVE_TOKEN: undefined,
  LOG_LEVEL: "Info",
  ...extra
})

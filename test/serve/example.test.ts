/**
 * The orderstats query server (`examples/orderstats/serve.ts`) as a child process over the embedded
 * store of a `STATE_DIR`: started before any bootstrap it is live but not ready; `main.ts --state`
 * then folds the sample data into the same store, and the server turns ready without a restart and
 * serves the totals main printed, behind `SERVE_TOKEN`; its `--help` lists the server's variables;
 * SIGTERM stops it with exit code 0. The sources run with Node's type stripping (no build).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { root, run } from "../support/cli.ts"

const serveScript = join(root, "examples", "orderstats", "serve.ts")
const mainScript = join(root, "examples", "orderstats", "main.ts")
const TOKEN = "example-token"

const dir = mkdtempSync(join(tmpdir(), "orderstats-serve-"))
const children: Array<ChildProcess> = []
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
  rmSync(dir, { recursive: true, force: true })
})

/** The environment of the binaries: the embedded store in `dir`, none of the test servers. */
const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  STATE_DIR: dir,
  STORE: undefined,
  DDB_ENDPOINT: undefined,
  REDIS_URL: undefined,
  SERVE_PORT: "0",
  SERVE_HOST: "127.0.0.1",
  SERVE_TOKEN: TOKEN,
  SERVE_CORS_ORIGINS: undefined,
  LOG_LEVEL: "Info"
})

/** Starts serve.ts; resolves with its base URL once it logs where it listens. */
const startServer = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let stderr = ""
    const timer = setTimeout(() => reject(new Error(`serve.ts did not start:\n${stderr}`)), 20_000)
    child.stderr!.on("data", (chunk) => {
      stderr += chunk
      const m = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once("exit", (code) => reject(new Error(`serve.ts exited with ${code}:\n${stderr}`)))
  })

const get = async (url: string, token?: string) => {
  const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
  return { status: response.status, json: (await response.json()) as any }
}

describe("examples/orderstats/serve.ts", () => {
  it("lists the server's variables in --help", async () => {
    const help = await run(serveScript, ["--help"], { env: env() })
    expect(help.code).toBe(0)
    for (const name of ["SERVE_PORT", "SERVE_HOST", "SERVE_TOKEN", "SERVE_CORS_ORIGINS", "STATE_DIR", "REDIS_URL", "LOG_LEVEL"]) {
      expect(help.stdout).toContain(name)
    }
  })

  it("turns ready when the bootstrap finishes, then serves the totals behind the token", async () => {
    const child = spawn(process.execPath, [serveScript], { env: env(), stdio: ["ignore", "ignore", "pipe"] })
    children.push(child)
    const base = await startServer(child)

    expect((await get(`${base}/health/live`)).status).toBe(200)
    const before = await get(`${base}/health/ready`)
    expect(before.status).toBe(503)
    expect(before.json.checks).toContainEqual({
      name: "readiness",
      ok: false,
      detail: "the bootstrap of pipeline order_totals has not started"
    })
    const phaseOf = async (pipeline: string) =>
      (await get(`${base}/v1/status`, TOKEN)).json.pipelines.find((p: { name: string }) => p.name === pipeline)?.phase
    expect(await phaseOf("order_totals")).toBe("not started")

    const main = await run(mainScript, ["--state", dir, "--json"], { env: env() })
    expect(main.code).toBe(0)
    const totals = JSON.parse(main.stdout).totals as Record<string, number>

    const after = await get(`${base}/health/ready`)
    expect(after.status).toBe(200)
    const [customer, total] = Object.entries(totals)[0]!
    expect((await get(`${base}/v1/pipelines/order_totals/keys/${customer}`)).status).toBe(401)
    const read = await get(`${base}/v1/pipelines/order_totals/keys/${customer}`, TOKEN)
    expect(read).toEqual({ status: 200, json: { pipeline: "order_totals", key: customer, found: true, value: total } })
    // the status: live (the bootstrap ran in another process: no progress or throughput here)
    expect(await phaseOf("order_totals")).toBe("live")
    const page = await fetch(`${base}/status`)
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toContain("text/html")
    expect(await page.text()).toMatch(/<tr data-pipeline="order_totals">\s*<th scope="row">order_totals<\/th>\s*<td data-field="phase"[^>]*>live</)
    const listed = await get(`${base}/v1/pipelines`, TOKEN)
    expect(listed.json.pipelines.map((p: { name: string }) => p.name)).toContain("top_customers_per_day")

    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    child.kill("SIGTERM")
    expect(await exit).toBe(0)
  })
})

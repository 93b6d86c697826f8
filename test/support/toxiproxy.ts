/**
 * Toxiproxy (github.com/Shopify/toxiproxy) in the tests: a TCP proxy in front of a real server
 * whose connections can be slowed down and cut while a client uses them. The HTTP API client is
 * bench/lib/toxiproxy.ts (the latency benchmarks use it too); this module adds where the tests find
 * the server and how they start it: it is an optional service of scripts/services.sh, not started
 * by `scripts/test.sh`, so {@link ensureToxiproxy} starts it (`up toxiproxy`) when it is not running.
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { connect, type Proxy } from "../../bench/lib/toxiproxy.ts"
import { parseEnvFile, projectRoot, servicesEnvFile, uniqueName } from "./services.ts"

export type { Cut, Latency, Proxy } from "../../bench/lib/toxiproxy.ts"

/** scripts/services.sh's default API address, when neither the environment nor .services/env names one. */
const defaultUrl = "http://127.0.0.1:18474"

/** The API's URL: `TOXIPROXY_URL` from the environment, then from .services/env (read anew: `up` may just have written it). */
export const toxiproxyUrl = (): string => {
  const fromProcess = process.env["TOXIPROXY_URL"]
  if (fromProcess !== undefined && fromProcess !== "") return fromProcess
  try {
    return parseEnvFile(Fs.readFileSync(servicesEnvFile, "utf8"))["TOXIPROXY_URL"] ?? defaultUrl
  } catch {
    return defaultUrl // no env file yet
  }
}

/** Exit status of scripts/services.sh when a tool a service is built with is missing (Go, here). */
const TOOL_MISSING = 3

export type Availability =
  | { readonly available: true; readonly version: string }
  | { readonly available: false; readonly reason: string }

const servicesUp = (service: string) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    execFile("bash", [Path.join(projectRoot, "scripts", "services.sh"), "up", service], {
      cwd: projectRoot,
      timeout: 170_000,
      maxBuffer: 1 << 20
    }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, output: `${stdout}${stderr}`.trim() })
    })
  })

/**
 * Makes sure Toxiproxy answers: the one at {@link toxiproxyUrl}, else one started by
 * `bash scripts/services.sh up toxiproxy` (which builds it with `go install` the first time: about
 * a minute on a fresh machine; give the calling hook that long). Unavailable, with the reason, only
 * when it cannot be built here (no Go toolchain): the caller skips. Any other failure (the build
 * fails, the port is taken, the URL names a server that does not answer) throws.
 */
export const ensureToxiproxy = async (): Promise<Availability> => {
  const running = await connect(toxiproxyUrl()).version()
  if (running !== undefined) return { available: true, version: running }
  const started = await servicesUp("toxiproxy")
  if (started.code === TOOL_MISSING) {
    return { available: false, reason: `Toxiproxy cannot be built on this machine: ${started.output.split("\n").pop()}` }
  }
  if (started.code !== 0) throw new Error(`bash scripts/services.sh up toxiproxy failed (exit ${started.code}):\n${started.output}`)
  const after = await connect(toxiproxyUrl()).version()
  if (after === undefined) {
    throw new Error(`Toxiproxy was started, but nothing answers as Toxiproxy at ${toxiproxyUrl()} (TOXIPROXY_URL points elsewhere?)`)
  }
  return { available: true, version: after }
}

/** A proxy with a fresh name on a free port in front of `upstream` (e.g. `ddbEndpoint()`), without toxics. */
export const createProxy = (upstream: string): Promise<Proxy> => connect(toxiproxyUrl()).createProxy(upstream, uniqueName("proxy"))

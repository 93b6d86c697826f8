/**
 * A client of Toxiproxy's HTTP API (github.com/Shopify/toxiproxy, started by
 * `bash scripts/services.sh up toxiproxy`): TCP proxies in front of a real server whose
 * connections can be slowed down and cut while a client uses them. Shared by the latency
 * benchmarks and the tests (test/support/toxiproxy.ts adds how the tests find and start the
 * server); it lives here because only bench/, src/ and examples/ are built into dist/.
 *
 * Each proxy listens on a free port of its own (the API is asked for port 0 and answers with the
 * port it took), so runs at the same time never share one; `remove` deletes it (its connections
 * close).
 */

/** Which way a toxic acts: on what the client sends, or on what the server answers. */
export type Direction = "upstream" | "downstream"

/**
 * How a cut looks to the client:
 *
 * - `"refuse"`: the proxy is disabled: open connections are closed (a request in flight may have
 *   been applied) and new ones refused;
 * - `"reset"`: each request reaches the server and is applied, and the connection is reset (TCP
 *   RST) as its answer comes back: the answer is lost after the write happened;
 * - `"hang"`: each request reaches the server and is applied, its answer is dropped, and the
 *   connection is closed after `hangMs` (a request timeout on a real network looks like this).
 */
export type Cut = "refuse" | "reset" | "hang"

export interface Latency {
  /** Milliseconds added to every chunk of data. */
  readonly latency: number
  /** ± this many milliseconds, at random per chunk (default 0). */
  readonly jitter?: number
  /** Default `"downstream"`: the answers are held, so each request-response takes `latency` longer. */
  readonly direction?: Direction
}

export interface Proxy {
  readonly name: string
  /** `host:port` the proxy listens on. */
  readonly listen: string
  /** `http://host:port`: the endpoint to give a client instead of the server's. */
  readonly endpoint: string
  /** Adds latency to every connection, the open ones too (one latency toxic per proxy). */
  readonly addLatency: (latency: Latency) => Promise<void>
  readonly removeLatency: () => Promise<void>
  /** Cuts every connection (open and new) the way `how` says, until the returned `restore` runs. */
  readonly cut: (how: Cut, options?: { readonly hangMs?: number }) => Promise<() => Promise<void>>
  /** Deletes the proxy (its connections close); one already deleted is fine. */
  readonly remove: () => Promise<void>
}

export interface Toxiproxy {
  /** The server's version, or undefined when nothing answers as Toxiproxy at the URL. */
  readonly version: () => Promise<string | undefined>
  /** A proxy on a free port of 127.0.0.1 in front of `upstream` (an endpoint URL or `host:port`), without toxics. */
  readonly createProxy: (upstream: string, name: string) => Promise<Proxy>
  /** Deletes the proxy named `name` if there is one (from another process than the one that created it). */
  readonly removeProxy: (name: string) => Promise<void>
}

/** `host:port` of an endpoint URL (`http://127.0.0.1:14567`) or of a `host:port` as it is. */
const hostPort = (upstream: string): string => {
  if (!upstream.includes("://")) return upstream
  const url = new URL(upstream)
  return `${url.hostname}:${url.port === "" ? (url.protocol === "https:" ? "443" : "80") : url.port}`
}

/** The API at `apiUrl` (TOXIPROXY_URL, e.g. `http://127.0.0.1:18474`). */
export const connect = (apiUrl: string): Toxiproxy => {
  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await fetch(new URL(path, apiUrl), {
      method,
      // one connection per call: the API closes connections idle for 60 s, and a benchmark's
      // prepare and cleanup are minutes apart (a kept-alive one was found closed: "other side closed")
      headers: { connection: "close", ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5_000)
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`Toxiproxy ${method} ${path}: HTTP ${response.status} ${text.trim()}`)
    return text === "" ? undefined : JSON.parse(text)
  }

  const version = async (): Promise<string | undefined> => {
    try {
      const reply = await api("GET", "/version")
      return typeof reply?.version === "string" ? reply.version : undefined
    } catch {
      return undefined
    }
  }

  const proxyPath = (name: string) => `/proxies/${encodeURIComponent(name)}`

  const removeProxy = async (name: string): Promise<void> => {
    try {
      await api("DELETE", proxyPath(name))
    } catch (error) {
      // already gone is fine; anything else would leave a proxy behind, and is said
      if (!(error instanceof Error && / HTTP 404 /.test(error.message))) throw error
    }
  }

  const createProxy = async (upstream: string, name: string): Promise<Proxy> => {
    const path = proxyPath(name)
    const created = await api("POST", "/proxies", { name, listen: "127.0.0.1:0", upstream: hostPort(upstream), enabled: true })
    const listen = String(created.listen)
    const addToxic = (toxic: { name: string; type: string; stream: Direction; attributes: Record<string, number> }) =>
      api("POST", `${path}/toxics`, { ...toxic, toxicity: 1 })
    const removeToxic = (toxic: string) => api("DELETE", `${path}/toxics/${toxic}`)
    return {
      name,
      listen,
      endpoint: `http://${listen}`,
      addLatency: async ({ latency, jitter = 0, direction = "downstream" }) => {
        await addToxic({ name: "latency", type: "latency", stream: direction, attributes: { latency, jitter } })
      },
      removeLatency: () => removeToxic("latency"),
      cut: async (how, { hangMs = 200 } = {}) => {
        switch (how) {
          case "refuse":
            // re-enabled, it listens on the same port again (the API keeps the address it bound)
            await api("PATCH", path, { enabled: false })
            return async () => {
              await api("PATCH", path, { enabled: true })
            }
          case "reset":
            // on the answers: the request has reached the server by the time the connection is reset
            await addToxic({ name: "cut", type: "reset_peer", stream: "downstream", attributes: { timeout: 0 } })
            return () => removeToxic("cut")
          case "hang":
            await addToxic({ name: "cut", type: "timeout", stream: "downstream", attributes: { timeout: hangMs } })
            return () => removeToxic("cut")
        }
      },
      remove: () => removeProxy(name)
    }
  }

  return { version, createProxy, removeProxy }
}

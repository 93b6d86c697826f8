/**
 * The query server's operational routes and options over real HTTP: `/health/live` and
 * `/health/ready` (which flips when the worker's readiness effect succeeds, and fails on a store
 * that does not answer or a check that hangs), `/metrics` in the Prometheus text format with the
 * fold's counters after a fold and the server's own gauges, bearer-token authentication on and
 * off, CORS closed by default and open to configured origins, and a store failure as a 503
 * problem.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import * as QueryApi from "../../src/Serve/QueryApi.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as MemoryStore from "../../src/Store/Memory.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import * as Prometheus from "./prometheus.ts"
import { Base, call, orders, pipelines, PROBLEM, server, SOURCE, totals } from "./support.ts"

const state = MemoryStore.makeState()
const store = MemoryStore.layer(state)

/** One order the pipelines refuse (an amount as text), from a second source: a dead letter per pipeline. */
const foldInvalid = Source.fromIterable("bad_orders", [{ ...orders[0]!, id: "bad1", amount: "12.50" }], { id: (o) => o.id }).pipe(
  Fold.run(pipelines),
  Effect.provide(store),
  Effect.orDie
)

let bootstrapDone = false
const readiness = Effect.suspend(() => (bootstrapDone ? Effect.void : Effect.fail(new Error("the bootstrap has not finished"))))

const metrics = (init: RequestInit = {}) =>
  Effect.gen(function*() {
    const reply = yield* call("/metrics", init)
    expect(reply.status).toBe(200)
    expect(reply.headers.get("content-type")).toContain("text/plain; version=0.0.4")
    return Prometheus.parse(reply.text)
  })

describe("QueryServer: health and metrics", () => {
  const main = server(store, { readiness }).pipe(Layer.provideMerge(Layer.effectDiscard(foldInvalid)))
  layer(main, { timeout: 30_000, excludeTestServices: true })("no token, CORS closed", (it) => {
    it.effect("/health/live answers while /health/ready waits for the readiness effect", () =>
      Effect.gen(function*() {
        const live = yield* call("/health/live")
        expect(live.status).toBe(200)
        expect(live.json).toEqual({ status: "live" })

        const notReady = yield* call("/health/ready")
        expect(notReady.status).toBe(503)
        expect(notReady.headers.get("content-type")).toContain("application/problem+json")
        expect(notReady.json).toMatchObject({ type: `${PROBLEM}not-ready`, status: 503 })
        expect(notReady.json.checks).toEqual([
          { name: "store", ok: true },
          { name: "readiness", ok: false, detail: "the bootstrap has not finished" }
        ])
        expect(Prometheus.valueOf(yield* metrics(), "monoid_serve_ready")).toBe(0)

        bootstrapDone = true
        const ready = yield* call("/health/ready")
        expect(ready.status).toBe(200)
        expect(ready.json).toEqual({ status: "ready", checks: [{ name: "store", ok: true }, { name: "readiness", ok: true }] })
        expect(Prometheus.valueOf(yield* metrics(), "monoid_serve_ready")).toBe(1)
      }))

    it.effect("/metrics is Prometheus text with the fold's counters, the requests and the server's gauges", () =>
      Effect.gen(function*() {
        yield* call("/v1/pipelines/totals/keys/c1")
        yield* call("/v1/pipelines/nope/keys/c1")
        const m = yield* metrics()
        const labels = { pipeline: "totals", source: SOURCE }
        expect(m.get("monoid_records_in")?.type).toBe("counter")
        expect(Prometheus.valueOf(m, "monoid_records_in", labels)).toBe(orders.length)
        expect(Prometheus.valueOf(m, "monoid_records_in", { pipeline: "visitors", source: SOURCE })).toBe(orders.length)
        expect(Prometheus.valueOf(m, "monoid_keys_written", labels)).toBe(7)
        expect(Prometheus.valueOf(m, "monoid_records_dead_lettered", { pipeline: "totals", source: "bad_orders" })).toBe(1)
        expect(m.get("monoid_batch_ms")?.type).toBe("histogram")
        expect(Prometheus.valueOf(m, "monoid_batch_ms_count", { source: SOURCE })).toBeGreaterThanOrEqual(1)
        expect(Prometheus.valueOf(m, "monoid_serve_pipeline_info", { pipeline: "visitors", values: "hyperLogLog", mode: "insertOnly" })).toBe(1)
        expect(m.get("monoid_serve_pipeline_info")?.samples).toHaveLength(pipelines.length)
        expect(Prometheus.valueOf(m, "monoid_http_requests", { route: "/v1/pipelines/:pipeline/keys/:key", status: "200" })).toBeGreaterThanOrEqual(1)
        expect(Prometheus.valueOf(m, "monoid_http_requests", { route: "/v1/pipelines/:pipeline/keys/:key", status: "404" })).toBeGreaterThanOrEqual(1)
        expect(m.get("monoid_http_request_ms")?.type).toBe("histogram")
        // no store gauges unless asked for
        expect(m.has("monoid_serve_aggregates")).toBe(false)
      }))

    it.effect("without a token every route answers without credentials, and CORS stays closed", () =>
      Effect.gen(function*() {
        const plain = yield* call("/v1/pipelines", { headers: { origin: "https://elsewhere.example" } })
        expect(plain.status).toBe(200)
        expect(plain.headers.get("access-control-allow-origin")).toBeNull()
        const preflight = yield* call("/v1/pipelines/totals/keys/c1", {
          method: "OPTIONS",
          headers: { origin: "https://elsewhere.example", "access-control-request-method": "GET", "access-control-request-headers": "authorization" }
        })
        expect(preflight.headers.get("access-control-allow-origin")).toBeNull()
        expect(preflight.headers.get("access-control-allow-methods")).toBeNull()
        expect(preflight.status).toBe(404)
        // a token nobody asked for is ignored
        expect((yield* call("/v1/pipelines", { headers: { authorization: "Bearer whatever" } })).status).toBe(200)
      }))
  })

  const TOKEN = "s3cret-token"
  const guarded = server(store, {
    token: Redacted.make(TOKEN),
    metricsAuth: true,
    storeGauges: true,
    cors: { allowedOrigins: ["https://dash.example"], maxAge: 600 }
  }, false)
  layer(guarded, { timeout: 30_000, excludeTestServices: true })("a token, metrics protected, store gauges, CORS open to one origin", (it) => {
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

    it.effect("the API requires the bearer token", () =>
      Effect.gen(function*() {
        const none = yield* call("/v1/pipelines/totals/keys/c1")
        expect(none.status).toBe(401)
        expect(none.headers.get("www-authenticate")).toBe("Bearer")
        expect(none.json).toMatchObject({ type: `${PROBLEM}unauthorized`, status: 401 })
        expect(none.json.detail).toContain("required")
        const wrong = yield* call("/v1/pipelines/totals/keys/c1", bearer("s3cret-tokeN"))
        expect(wrong.status).toBe(401)
        expect(wrong.json.detail).toBe("the bearer token is not valid")
        expect((yield* call("/v1/pipelines", { headers: { authorization: `Basic ${btoa(`x:${TOKEN}`)}` } })).status).toBe(401)
        expect((yield* call("/v1/pipelines/visitors/keys/all/distinct", bearer("x"))).status).toBe(401)
        const right = yield* call("/v1/pipelines/totals/keys/c1", bearer(TOKEN))
        expect(right.status).toBe(200)
        expect(right.json.found).toBe(true)
      }))

    it.effect("health and docs need no token; /metrics does when asked", () =>
      Effect.gen(function*() {
        expect((yield* call("/health/live")).status).toBe(200)
        expect((yield* call("/health/ready")).status).toBe(200)
        expect((yield* call("/openapi.json")).status).toBe(200)
        const denied = yield* call("/metrics")
        expect(denied.status).toBe(401)
        expect(denied.json.type).toBe(`${PROBLEM}unauthorized`)
        // a customer whose only order was deleted: its row stays, holding the identity, and is not counted
        const gone = Source.fromStream("gone", Stream.make(Source.upsert("gone1", { ...orders[0]!, id: "gone1", customer: "c-gone" }), Source.remove("gone1")))
        yield* Fold.run(gone, [totals]).pipe(Effect.provide(store))
        expect((yield* Aggregates.use((a) => a.get(totals, ["c-gone"])).pipe(Effect.provide(store))).get("c-gone")).toBe(0)
        const m = yield* metrics(bearer(TOKEN))
        expect(Prometheus.valueOf(m, "monoid_serve_aggregates", { pipeline: "totals" })).toBe(7)
        expect(Prometheus.valueOf(m, "monoid_serve_aggregates", { pipeline: "visitors" })).toBe(1)
        expect(Prometheus.valueOf(m, "monoid_serve_dead_letters", { pipeline: "totals" })).toBe(1)
      }))

    it.effect("the status: its JSON behind the token like the API, its page like /metrics", () =>
      Effect.gen(function*() {
        expect((yield* call("/v1/status")).status).toBe(401)
        const status = yield* call("/v1/status", bearer(TOKEN))
        expect(status.status).toBe(200)
        expect(status.json.pipelines.map((p: any) => p.name)).toEqual(pipelines.map((p) => p.name))
        const totals = status.json.pipelines.find((p: any) => p.name === "totals")
        // no token store entry: no bootstrap ran; the one dead letter the store holds
        expect(totals).toMatchObject({ phase: "not started", progress: null, deadLetters: { count: 1 } })
        expect((yield* call("/status")).status).toBe(401)
        const page = yield* call("/status", bearer(TOKEN))
        expect(page.status).toBe(200)
        expect(page.headers.get("content-type")).toContain("text/html")
        // the script runs under a nonce, and the page asks for the token for its search box
        const nonce = /script-src 'nonce-([^']+)'/.exec(page.headers.get("content-security-policy") ?? "")?.[1]
        expect(nonce).toBeDefined()
        expect(page.text).toContain(`<script nonce="${nonce}">`)
        expect(page.text).toContain(`<input id="token" type="password"`)
      }))

    it.effect("the typed client sends the token", () =>
      Effect.gen(function*() {
        const base = yield* Base
        const client = yield* QueryApi.makeClient({ baseUrl: base, token: Redacted.make(TOKEN) })
        expect((yield* client.pipelines.get({ params: { pipeline: "totals", key: "c1" } })).found).toBe(true)
        const anonymous = yield* QueryApi.makeClient({ baseUrl: base })
        const error = yield* Effect.flip(anonymous.pipelines.list())
        expect(error).toBeInstanceOf(QueryApi.Unauthorized)
        expect((yield* anonymous.health.ready()).status).toBe("ready")
      }).pipe(Effect.provide(FetchHttpClient.layer)))

    it.effect("CORS answers the configured origin only", () =>
      Effect.gen(function*() {
        const preflight = yield* call("/v1/pipelines/totals/keys/c1", {
          method: "OPTIONS",
          headers: { origin: "https://dash.example", "access-control-request-method": "GET", "access-control-request-headers": "authorization" }
        })
        expect(preflight.status).toBeLessThan(300)
        expect(preflight.headers.get("access-control-allow-origin")).toBe("https://dash.example")
        expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization")
        expect(preflight.headers.get("access-control-max-age")).toBe("600")
        const get = yield* call("/v1/pipelines", { headers: { origin: "https://dash.example", ...bearer(TOKEN).headers } })
        expect(get.headers.get("access-control-allow-origin")).toBe("https://dash.example")
        // one configured origin is always the one announced: a browser on another origin refuses it
        const other = yield* call("/v1/pipelines", { headers: { origin: "https://evil.example", ...bearer(TOKEN).headers } })
        expect(other.headers.get("access-control-allow-origin")).not.toBe("https://evil.example")
      }))
  })

  const down = new StoreError({ store: "test", operation: "get", retryable: true, detail: "the store is down" })
  const brokenStore = Layer.succeed(Aggregates)({
    apply: () => Effect.die("not used"),
    get: () => Effect.fail(down),
    all: () => Effect.fail(down)
  })
  layer(server(brokenStore, { readiness: Effect.never, readinessTimeout: "200 millis" }, false), { timeout: 30_000, excludeTestServices: true })(
    "a store that does not answer",
    (it) => {
      it.effect("reads answer 503 problems, readiness says which check failed, liveness still answers", () =>
        Effect.gen(function*() {
          const read = yield* call("/v1/pipelines/totals/keys/c1")
          expect(read.status).toBe(503)
          expect(read.json).toMatchObject({ type: `${PROBLEM}store-unavailable`, status: 503, retryable: true })
          // the store's own message (hosts, tables) stays in the server's log
          expect(read.json.detail).toBe("the store failed to answer (test.get)")
          const estimate = yield* call("/v1/pipelines/visitors/keys/all/distinct")
          expect(estimate.status).toBe(503)
          // what does not need the store still answers
          expect((yield* call("/v1/pipelines")).status).toBe(200)
          expect((yield* call("/health/live")).status).toBe(200)
          const ready = yield* call("/health/ready")
          expect(ready.status).toBe(503)
          expect(ready.json.checks).toEqual([
            { name: "store", ok: false, detail: "the store failed to answer (test.get)" },
            { name: "readiness", ok: false, detail: "no answer within 200ms" }
          ])
          expect(Prometheus.valueOf(yield* metrics(), "monoid_serve_ready")).toBe(0)
        }))
    }
  )
})

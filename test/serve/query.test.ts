/**
 * The query API over real HTTP, on a server started on a free port over a memory store into which
 * 300 orders were folded by nine pipelines: one key, many keys (GET and POST), every kind of value
 * in its JSON form, the sketch estimates against the exact answers, problem-details bodies for
 * every bad request (never a 500), the OpenAPI document and the docs page, and the typed client.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { FetchHttpClient } from "effect/http"
import * as HyperLogLog from "../../src/HyperLogLog.ts"
import * as QueryApi from "../../src/Serve/QueryApi.ts"
import { Base, call, memoryStore, orders, pipelines, PROBLEM, server, today } from "./support.ts"

const exactTotals = new Map<string, number>()
for (const o of orders) exactTotals.set(o.customer, (exactTotals.get(o.customer) ?? 0) + o.amount)
const users = new Set(orders.map((o) => o.user))

const enc = encodeURIComponent

/** Checks an RFC 9457 body of `status` and `type`. */
const expectProblem = (reply: { status: number; headers: Headers; json: any }, status: number, type: string) => {
  expect(reply.status).toBe(status)
  expect(reply.headers.get("content-type")).toContain("application/problem+json")
  expect(reply.json.type).toBe(type === "about:blank" ? type : `${PROBLEM}${type}`)
  expect(reply.json.status).toBe(status)
  expect(typeof reply.json.title).toBe("string")
}

describe("QueryApi", () => {
  layer(server(memoryStore(), {}), { timeout: 30_000, excludeTestServices: true })("over a memory store", (it) => {
    it.effect("lists the pipelines with what their values are and which estimates they answer", () =>
      Effect.gen(function*() {
        const reply = yield* call("/v1/pipelines")
        expect(reply.status).toBe(200)
        const byName = Object.fromEntries(reply.json.pipelines.map((p: any) => [p.name, p]))
        expect(Object.keys(byName)).toEqual(pipelines.map((p) => p.name))
        expect(byName.totals).toEqual({ name: "totals", mode: "changes", monoid: "sum", values: "value", estimates: [], windowed: false })
        expect(byName.visitors).toMatchObject({ mode: "insertOnly", values: "hyperLogLog", estimates: ["distinct"] })
        expect(byName.frequencies).toMatchObject({ mode: "changes", values: "countMinSketch", estimates: ["frequency"] })
        expect(byName.seen).toMatchObject({ values: "bloomFilter", estimates: ["contains"] })
        expect(byName.top_customers).toMatchObject({ values: "topK", estimates: ["top"] })
        expect(byName.per_day).toMatchObject({ windowed: true })
        expect((yield* call("/v1/pipelines/totals")).json).toEqual(byName.totals)
      }))

    it.effect("reads one key: its value, or the identity when it holds nothing", () =>
      Effect.gen(function*() {
        const found = yield* call("/v1/pipelines/totals/keys/c1")
        expect(found.status).toBe(200)
        expect(found.json).toEqual({ pipeline: "totals", key: "c1", found: true, value: exactTotals.get("c1") })
        const missing = yield* call("/v1/pipelines/totals/keys/nobody")
        expect(missing.json).toEqual({ pipeline: "totals", key: "nobody", found: false, value: 0 })
        // a key with a slash, a space, a percent sign and an accent, percent-encoded in the path
        const odd = yield* call(`/v1/pipelines/totals/keys/${enc("a/b c%é")}`)
        expect(odd.json).toEqual({ pipeline: "totals", key: "a/b c%é", found: true, value: exactTotals.get("a/b c%é") })
      }))

    it.effect("renders every kind of value in the value codec's JSON form", () =>
      Effect.gen(function*() {
        const big = yield* call("/v1/pipelines/big_totals/keys/c2")
        expect(big.json.value).toEqual({ $bigint: String(exactTotals.get("c2")) })
        const max = Math.max(...orders.filter((o) => o.customer === "c3").map((o) => o.amount))
        expect((yield* call("/v1/pipelines/largest/keys/c3")).json.value).toEqual({ $some: max })
        expect((yield* call("/v1/pipelines/largest/keys/nobody")).json).toMatchObject({ found: false, value: { $none: 1 } })
        const sketch = yield* call("/v1/pipelines/visitors/keys/all")
        expect(Object.keys(sketch.json.value)).toEqual(["$sketch"])
        const top = yield* call("/v1/pipelines/top_customers/keys/all")
        expect(new Map(top.json.value.$map)).toEqual(exactTotals)
        const day = yield* call(`/v1/pipelines/per_day/keys/${enc(`c1|${today()}`)}`)
        expect(day.json).toMatchObject({ found: true, value: exactTotals.get("c1") })
      }))

    it.effect("reads many keys, by query or body, in order, each once", () =>
      Effect.gen(function*() {
        const byQuery = yield* call("/v1/pipelines/totals/keys?key=c2&key=nobody&key=c0&key=c2")
        expect(byQuery.status).toBe(200)
        expect(byQuery.json).toEqual({
          pipeline: "totals",
          values: [
            { key: "c2", found: true, value: exactTotals.get("c2") },
            { key: "nobody", found: false, value: 0 },
            { key: "c0", found: true, value: exactTotals.get("c0") }
          ]
        })
        const byBody = yield* call("/v1/pipelines/per_status/keys", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ keys: ["new", "paid", "lost"] })
        })
        expect(byBody.json.values).toEqual([
          { key: "new", found: true, value: 100 },
          { key: "paid", found: true, value: 100 },
          { key: "lost", found: false, value: 0 }
        ])
      }))

    it.effect("answers the sketch estimates", () =>
      Effect.gen(function*() {
        const distinct = yield* call("/v1/pipelines/visitors/keys/all/distinct")
        expect(distinct.status).toBe(200)
        expect(distinct.json).toMatchObject({ pipeline: "visitors", key: "all", found: true, precision: 12 })
        expect(distinct.json.standardError).toBeCloseTo(HyperLogLog.standardError(12), 10)
        expect(Math.abs(distinct.json.estimate - users.size) / users.size).toBeLessThan(4 * distinct.json.standardError)

        const frequency = yield* call("/v1/pipelines/frequencies/keys/all/frequency?item=u7")
        expect(frequency.json).toMatchObject({ found: true, item: "u7", total: orders.length })
        const trueCount = orders.filter((o) => o.user === "u7").length
        expect(frequency.json.estimate).toBeGreaterThanOrEqual(trueCount)
        expect(frequency.json.estimate).toBeLessThanOrEqual(trueCount + frequency.json.epsilon * frequency.json.total)
        // the sketches hash the string "7" and the number 7 differently
        const asNumber = yield* call("/v1/pipelines/frequencies/keys/all/frequency?item=7&itemType=number")
        expect(asNumber.status).toBe(200)

        const yes = yield* call("/v1/pipelines/seen/keys/all/contains?item=u42")
        expect(yes.json).toMatchObject({ item: "u42", mightContain: true })
        expect(yes.json.falsePositiveRate).toBeGreaterThan(0)
        expect(Math.abs(yes.json.estimatedItems - users.size)).toBeLessThan(15)
        const no = yield* call(`/v1/pipelines/seen/keys/all/contains?item=${enc("never-a-user")}`)
        expect(no.json.mightContain).toBe(false)

        const top = yield* call("/v1/pipelines/top_customers/keys/all/top?n=3")
        const expected = [...exactTotals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3)
        expect(top.json).toMatchObject({ found: true, distinctItems: exactTotals.size })
        expect(top.json.items).toEqual(expected.map(([item, count]) => ({ item, count })))
        expect((yield* call("/v1/pipelines/top_customers/keys/all/top")).json.items).toHaveLength(7)

        // a key that holds nothing: the empty sketch's answers
        const none = yield* call("/v1/pipelines/visitors/keys/nothing/distinct")
        expect(none.json).toMatchObject({ found: false, estimate: 0 })
      }))

    it.effect("answers bad requests with problem details (4xx, never 500)", () =>
      Effect.gen(function*() {
        const unknown = yield* call("/v1/pipelines/nope/keys/x")
        expectProblem(unknown, 404, "unknown-pipeline")
        expect(unknown.json.pipeline).toBe("nope")
        expectProblem(yield* call("/v1/pipelines/nope"), 404, "unknown-pipeline")
        expectProblem(yield* call("/v1/pipelines/nope/keys/x/top"), 404, "unknown-pipeline")

        const tooLong = yield* call(`/v1/pipelines/totals/keys/${"k".repeat(2049)}`)
        expectProblem(tooLong, 400, "invalid-argument")
        expect(tooLong.json.parameter).toBe("key")
        const unbucketed = yield* call("/v1/pipelines/per_day/keys/c1")
        expectProblem(unbucketed, 400, "invalid-argument")
        expect(unbucketed.json.detail).toContain(`c1|${today()}`)
        expectProblem(yield* call(`/v1/pipelines/per_day/keys/${enc("c1|yesterday")}`), 400, "invalid-argument")
        // the empty key is a key (a key function may return it): read by query, as "." and ".." are
        const empty = yield* call("/v1/pipelines/totals/keys?key=&key=.&key=..")
        expect(empty.status).toBe(200)
        expect(empty.json.values.map((v: { key: string }) => v.key)).toEqual(["", ".", ".."])
        const tooMany = yield* call(`/v1/pipelines/totals/keys?${Array.from({ length: 1001 }, (_, i) => `key=k${i}`).join("&")}`)
        expectProblem(tooMany, 400, "invalid-argument")
        const lone = yield* call("/v1/pipelines/totals/keys", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{\"keys\": [\"\\ud800\"]}"
        })
        expectProblem(lone, 400, "invalid-argument")
        expect(lone.json.parameter).toBe("keys")

        const wrong = yield* call("/v1/pipelines/totals/keys/c1/distinct")
        expectProblem(wrong, 400, "unsupported-estimate")
        expect(wrong.json).toMatchObject({ pipeline: "totals", estimate: "distinct", values: "value" })
        expectProblem(yield* call("/v1/pipelines/visitors/keys/all/top"), 400, "unsupported-estimate")
        expectProblem(yield* call("/v1/pipelines/seen/keys/all/frequency?item=u1"), 400, "unsupported-estimate")
        expectProblem(yield* call("/v1/pipelines/frequencies/keys/all/contains?item=u1"), 400, "unsupported-estimate")

        expectProblem(yield* call("/v1/pipelines/frequencies/keys/all/frequency?item=abc&itemType=number"), 400, "invalid-argument")
        expectProblem(yield* call("/v1/pipelines/frequencies/keys/all/frequency?item=1.5&itemType=bigint"), 400, "invalid-argument")

        // requests that do not decode: about:blank problems that say where
        const badType = yield* call("/v1/pipelines/seen/keys/all/contains?item=x&itemType=date")
        expectProblem(badType, 400, "about:blank")
        expect(badType.json.errors[0].path).toEqual(["query", "itemType"])
        expectProblem(yield* call("/v1/pipelines/frequencies/keys/all/frequency"), 400, "about:blank")
        expectProblem(yield* call("/v1/pipelines/top_customers/keys/all/top?n=0"), 400, "about:blank")
        expectProblem(yield* call("/v1/pipelines/totals/keys"), 400, "about:blank")
        expectProblem(
          yield* call("/v1/pipelines/totals/keys", { method: "POST", headers: { "content-type": "application/json" }, body: "{" }),
          400,
          "about:blank"
        )
        // a body past the limit (room for 1000 keys of 2048 bytes)
        const huge = yield* call("/v1/pipelines/totals/keys", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ keys: ["k".repeat(3 * 1024 * 1024)] })
        })
        expectProblem(huge, 413, "about:blank")
        // no route, no method
        const noRoute = yield* call("/v2/anything")
        expectProblem(noRoute, 404, "about:blank")
        expect(noRoute.json.detail).toBe("no route for GET /v2/anything")
        expectProblem(yield* call("/v1/pipelines", { method: "DELETE" }), 404, "about:blank")
      }))

    it.effect("publishes the OpenAPI document with every route, and the docs page", () =>
      Effect.gen(function*() {
        const doc = yield* call("/openapi.json")
        expect(doc.status).toBe(200)
        expect(doc.json.openapi).toMatch(/^3\./)
        const routes = Object.entries(doc.json.paths as Record<string, Record<string, unknown>>)
          .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
        expect(routes.sort()).toEqual([
          "GET /health/live",
          "GET /health/ready",
          "GET /v1/pipelines",
          "GET /v1/pipelines/{pipeline}",
          "GET /v1/pipelines/{pipeline}/buckets/{bucket}",
          "GET /v1/pipelines/{pipeline}/keys",
          "GET /v1/pipelines/{pipeline}/keys/{key}",
          "GET /v1/pipelines/{pipeline}/keys/{key}/buckets/{bucket}",
          "GET /v1/pipelines/{pipeline}/keys/{key}/contains",
          "GET /v1/pipelines/{pipeline}/keys/{key}/distinct",
          "GET /v1/pipelines/{pipeline}/keys/{key}/frequency",
          "GET /v1/pipelines/{pipeline}/keys/{key}/last",
          "GET /v1/pipelines/{pipeline}/keys/{key}/range",
          "GET /v1/pipelines/{pipeline}/keys/{key}/top",
          "GET /v1/pipelines/{pipeline}/last",
          "GET /v1/pipelines/{pipeline}/range",
          "GET /v1/status",
          "POST /v1/pipelines/{pipeline}/keys"
        ])
        const get = doc.json.paths["/v1/pipelines/{pipeline}/keys/{key}"].get
        expect(Object.keys(get.responses).sort()).toEqual(["200", "400", "401", "404", "500", "503"])
        expect(JSON.stringify(doc.json.components.securitySchemes)).toContain("bearer")
        expect(doc.json.paths["/health/ready"].get.security ?? []).toEqual([])
        const docs = yield* call("/docs")
        expect(docs.status).toBe(200)
        expect(docs.headers.get("content-type")).toContain("text/html")
      }))

    it.effect("serves the typed client", () =>
      Effect.gen(function*() {
        const client = yield* QueryApi.makeClient({ baseUrl: yield* Base })
        const list = yield* client.pipelines.list()
        expect(list.pipelines.map((p) => p.name)).toEqual(pipelines.map((p) => p.name))
        const one = yield* client.pipelines.get({ params: { pipeline: "totals", key: "c4" } })
        expect(one).toEqual({ pipeline: "totals", key: "c4", found: true, value: exactTotals.get("c4") })
        // values come back as what the monoid holds
        const big = yield* client.pipelines.get({ params: { pipeline: "big_totals", key: "c4" } })
        expect(big.value).toBe(BigInt(exactTotals.get("c4")!))
        const max = yield* client.pipelines.get({ params: { pipeline: "largest", key: "nobody" } })
        expect(Option.isOption(max.value) && Option.isNone(max.value)).toBe(true)
        const sketch = yield* client.pipelines.get({ params: { pipeline: "visitors", key: "all" } })
        expect(HyperLogLog.isHyperLogLog(sketch.value)).toBe(true)
        const distinct = yield* client.estimates.distinct({ params: { pipeline: "visitors", key: "all" } })
        expect(HyperLogLog.estimate(sketch.value as HyperLogLog.HyperLogLog)).toBe(distinct.estimate)
        const many = yield* client.pipelines.postMany({ params: { pipeline: "totals" }, payload: { keys: ["c0", "c1"] } })
        expect(many.values.map((v) => v.value)).toEqual([exactTotals.get("c0"), exactTotals.get("c1")])
        const top = yield* client.estimates.top({ params: { pipeline: "top_customers", key: "all" }, query: { n: 1 } })
        expect(top.items).toHaveLength(1)
        // problems come back as the declared errors
        const unknown = yield* Effect.flip(client.pipelines.get({ params: { pipeline: "nope", key: "x" } }))
        expect(unknown).toBeInstanceOf(QueryApi.UnknownPipeline)
        expect((unknown as QueryApi.UnknownPipeline).pipeline).toBe("nope")
        const unsupported = yield* Effect.flip(client.estimates.distinct({ params: { pipeline: "totals", key: "c1" } }))
        expect(unsupported._tag).toBe("UnsupportedEstimate")
        const invalid = yield* Effect.flip(client.pipelines.getMany({ params: { pipeline: "per_day" }, query: { key: ["c1"] } }))
        expect(invalid._tag).toBe("InvalidArgument")
        expect((yield* client.health.live()).status).toBe("live")
      }).pipe(Effect.provide(FetchHttpClient.layer)))
  })
})

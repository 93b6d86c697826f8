/**
 * The orderstats binaries' OTLP export (`examples/orderstats/serving.ts`, effect's
 * `Otlp.layerFromConfig` over HTTP/JSON) against a small real HTTP receiver: with
 * `OTEL_EXPORTER_OTLP_ENDPOINT` set, a fold exports its span (with the source and the pipelines)
 * and the fold's counters (records in, keys written, per pipeline) under the configured
 * `service.name`; with it unset, nothing is sent.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Schema } from "effect"
import * as Serving from "../../examples/orderstats/serving.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { uniqueName } from "../support/services.ts"

const received: Array<{ path: string; body: any }> = []
let server: Server
let endpoint = ""

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = ""
    request.on("data", (chunk) => (body += chunk))
    request.on("end", () => {
      received.push({ path: request.url ?? "", body: JSON.parse(body) })
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const Order = Schema.Struct({ _id: Schema.String, customer: Schema.String, amount: Schema.Int })

const foldWith = (env: Record<string, string>, name: string, source: string) => {
  const totals = Pipeline.make(name, { schema: Order, key: (o) => o.customer, value: (o) => o.amount, monoid: Monoid.sum })
  const orders = Array.from({ length: 120 }, (_, i) => ({ _id: `o${i}`, customer: `c${i % 6}`, amount: i }))
  return Effect.runPromise(
    Source.fromIterable(source, orders, { id: (o) => o._id }).pipe(
      Fold.run([totals]),
      Effect.provide(Memory.layer()),
      // the layer's scope ends with the fold: its shutdown flushes what is buffered
      Effect.provide(Serving.telemetry.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env)))))
    )
  )
}

/** Every span of the traces received, with its attributes as a record. */
const spans = () =>
  received.filter((r) => r.path === "/v1/traces").flatMap((r) =>
    r.body.resourceSpans.flatMap((rs: any) =>
      rs.scopeSpans.flatMap((ss: any) =>
        ss.spans.map((s: any) => ({
          name: s.name,
          service: rs.resource.attributes.find((a: any) => a.key === "service.name")?.value.stringValue,
          attributes: Object.fromEntries(s.attributes.map((a: any) => [a.key, Object.values(a.value)[0]]))
        }))
      )
    )
  )

/** The data points of metric `name` received, with their attributes as records. */
const points = (name: string) =>
  received.filter((r) => r.path === "/v1/metrics").flatMap((r) =>
    r.body.resourceMetrics.flatMap((rm: any) =>
      rm.scopeMetrics.flatMap((sm: any) =>
        sm.metrics.filter((m: any) => m.name === name).flatMap((m: any) =>
          (m.sum ?? m.gauge).dataPoints.map((p: any) => ({
            value: Number(p.asInt ?? p.asDouble),
            attributes: Object.fromEntries(p.attributes.map((a: any) => [a.key, Object.values(a.value)[0]]))
          }))
        )
      )
    )
  )

describe("OTLP export of the orderstats binaries", () => {
  it("exports the fold's span and counters to OTEL_EXPORTER_OTLP_ENDPOINT", async () => {
    const name = uniqueName("otlp_totals")
    await foldWith({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: "orderstats-test" }, name, "otlp-orders")
    const fold = spans().filter((s) => s.name === "Fold.run" && s.attributes["pipelines"] === name)
    expect(fold).toEqual([{ name: "Fold.run", service: "orderstats-test", attributes: { source: "otlp-orders", pipelines: name } }])
    const records = points("monoid_records_in").filter((p) => p.attributes["pipeline"] === name)
    expect(records.at(-1)).toEqual({ value: 120, attributes: { pipeline: name, source: "otlp-orders" } })
    const keys = points("monoid_keys_written").filter((p) => p.attributes["pipeline"] === name)
    expect(keys.at(-1)?.value).toBe(6)
  })

  it("sends nothing without an endpoint", async () => {
    const before = received.length
    await foldWith({}, uniqueName("otlp_off"), "otlp-off")
    expect(received.length).toBe(before)
  })
})

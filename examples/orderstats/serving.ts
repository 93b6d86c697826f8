/**
 * What serve.js and worker.js share to serve the orderstats pipelines: the query server
 * (`QueryServer`, with its settings from `SERVE_*`: the API, `/metrics`, `/status`, the health
 * routes, the dead letters of the status page with the Kafka workers' when `LIVE_SOURCE=kafka`), its
 * readiness check (the bootstrap of every pipeline has finished), and OpenTelemetry export (OTLP
 * over HTTP/JSON, on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set).
 *
 * The worker serves only when `SERVE_PORT` is set (several workers on one machine would otherwise
 * fight over port 8080); serve.js always serves.
 */
import { Config, Effect, Layer, Option } from "effect"
import { FetchHttpClient } from "effect/http"
import { Otlp } from "effect/observability"
import { ConfigurationError } from "../../src/Errors.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as QueryServer from "../../src/Serve/QueryServer.ts"
import type * as Settings from "./config.ts"
import { pipelines } from "./pipeline.ts"
import * as Stores from "./stores.ts"

/** The variables `QueryServer.config` reads, as `--help` lists them. */
export const serverSection: Settings.Section = {
  title: "the query server",
  variables: [
    { name: "SERVE_PORT", fallback: "8080", description: "the port the server listens on (0: any free port, logged at start)", secret: false },
    { name: "SERVE_HOST", fallback: "0.0.0.0", description: "the interface it listens on (127.0.0.1: this machine only)", secret: false },
    {
      name: "SERVE_TOKEN",
      fallback: "(none)",
      description: "the bearer token the API requires (unset: no authentication; the health routes never require it; a secret: never printed)",
      secret: true
    },
    {
      name: "SERVE_CORS_ORIGINS",
      fallback: "(none)",
      description: "comma-separated origins a browser may read the API from, e.g. https://dashboard.example.com (unset: CORS closed)",
      secret: false
    },
    { name: "SERVE_METRICS_AUTH", fallback: "false", description: "true: /metrics and /status require the token too", secret: false },
    {
      name: "SERVE_STORE_GAUGES",
      fallback: "false",
      description: "true: /metrics also gives the aggregates and dead letters held per pipeline (full reads of the store, once a minute)",
      secret: false
    }
  ]
}

/** The worker's query server: the same variables, but off unless `SERVE_PORT` is set. */
export const workerServerSection: Settings.Section = {
  title: "the query server of the worker (off unless SERVE_PORT is set)",
  variables: serverSection.variables.map((v) => (v.name === "SERVE_PORT" ? { ...v, fallback: "(off)" } : v))
}

/** The OpenTelemetry variables the binaries read. */
export const telemetrySection: Settings.Section = {
  title: "OpenTelemetry export (OTLP over HTTP, JSON)",
  variables: [
    {
      name: "OTEL_EXPORTER_OTLP_ENDPOINT",
      fallback: "(off)",
      description: "the collector, e.g. http://127.0.0.1:4318: traces, metrics and logs go to /v1/traces, /v1/metrics, /v1/logs below it",
      secret: false
    },
    { name: "OTEL_SERVICE_NAME", fallback: "orderstats", description: "the service.name of what is exported", secret: false },
    { name: "OTEL_SDK_DISABLED", fallback: "false", description: "true: export nothing", secret: false }
  ]
}

/** Succeeds when the bootstrap of every pipeline has finished. */
export const bootstrapFinished = Effect.forEach(pipelines, (pipeline) =>
  Effect.flatMap(Orchestrator.state(pipeline.name), (state) =>
    Option.isSome(state) && state.value.phase === "done"
      ? Effect.void
      : Effect.fail(
        new ConfigurationError({
          detail: `the bootstrap of pipeline ${pipeline.name} has ${Option.isNone(state) ? "not started" : "not finished"}`
        })
      )), { discard: true })

/**
 * The query server of every orderstats pipeline, its settings from the environment. Its status
 * page lists the dead letters operators read (`Stores.deadLetterReads`): with `LIVE_SOURCE=kafka`,
 * those the Kafka workers wrote to the dead-letter topic as well, which never reach the store it
 * is built over (in the worker too: the fold's own `DeadLetters` is the topic's, live.ts).
 */
export const server = QueryServer.layerConfig({ pipelines, readiness: bootstrapFinished }).pipe(Layer.provide(Stores.deadLetterReads))

/** Whether the worker serves: `SERVE_PORT` is set. */
export const workerServes = Config.option(Config.String("SERVE_PORT")).pipe(
  Config.map((o) => Option.isSome(o) && o.value.trim() !== "")
)

/**
 * OTLP export (HTTP, JSON) of traces, metrics and logs to `OTEL_EXPORTER_OTLP_ENDPOINT` (below it:
 * `/v1/traces`, `/v1/metrics`, `/v1/logs`) when it is set and `OTEL_SDK_DISABLED` is not `true`;
 * nothing otherwise. What is buffered is flushed when the binary stops.
 */
export const telemetry = Layer.unwrap(Effect.map(
  Config.all({
    endpoint: Config.option(Config.String("OTEL_EXPORTER_OTLP_ENDPOINT")),
    serviceName: Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault("orderstats")),
    disabled: Config.Boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false))
  }),
  ({ disabled, endpoint, serviceName }) =>
    disabled || Option.isNone(endpoint) || endpoint.value.trim() === ""
      ? Layer.empty
      : Otlp.layerJson({ baseUrl: endpoint.value.trim(), resource: { serviceName } }).pipe(Layer.provide(FetchHttpClient.layer))
))

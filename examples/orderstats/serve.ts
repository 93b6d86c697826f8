/**
 * serve: the query server of the orderstats pipelines, over the store the other binaries write
 * (the embedded store in `STATE_DIR`, or DynamoDB, read through Valkey/Redis when `REDIS_URL` is
 * set: see stores.ts), until SIGINT or SIGTERM (exit code 0).
 *
 *   serve.js
 *
 * It serves `QueryServer`'s routes on `SERVE_HOST:SERVE_PORT`: the aggregates and estimates of
 * every orderstats pipeline under `/v1` (`curl localhost:8080/v1/pipelines/order_totals/keys/cust-a`),
 * `/metrics`, `/health/live`, `/health/ready`, the OpenAPI document at `/openapi.json` and its
 * reference page at `/docs`. Ready means: the store answers a read and the bootstrap of every
 * pipeline has finished (its state in the token store says `done`), so a Kubernetes readiness
 * probe keeps the server out of rotation while `bootstrap.js` runs. With `SERVE_TOKEN` the API
 * requires `Authorization: Bearer <token>`; CORS stays closed unless `SERVE_CORS_ORIGINS` lists
 * origins.
 */
import { Effect, Layer, Option } from "effect"
import { Command } from "effect/cli"
import { ConfigurationError } from "../../src/Errors.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as QueryServer from "../../src/Serve/QueryServer.ts"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import { pipelines } from "./pipeline.ts"
import * as Stores from "./stores.ts"

/** The variables `QueryServer.config` reads, as `--help` lists them. */
const serverSection: Settings.Section = {
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
    { name: "SERVE_METRICS_AUTH", fallback: "false", description: "true: /metrics requires the token too", secret: false },
    {
      name: "SERVE_STORE_GAUGES",
      fallback: "false",
      description: "true: /metrics also gives the aggregates and dead letters held per pipeline (full reads of the store, once a minute)",
      secret: false
    }
  ]
}

/** Succeeds when the bootstrap of every pipeline has finished. */
const bootstrapFinished = Effect.forEach(pipelines, (pipeline) =>
  Effect.flatMap(Orchestrator.state(pipeline.name), (state) =>
    Option.isSome(state) && state.value.phase === "done"
      ? Effect.void
      : Effect.fail(
        new ConfigurationError({
          detail: `the bootstrap of pipeline ${pipeline.name} has ${Option.isNone(state) ? "not started" : "not finished"}`
        })
      )), { discard: true })

const program = () =>
  Layer.launch(QueryServer.layerConfig({ pipelines, readiness: bootstrapFinished })).pipe(Effect.provide(Stores.layer))

const command = Command.make("serve.js", {}, program).pipe(
  Cli.describe(
    "The query server of the orderstats pipelines, until SIGINT or SIGTERM (exit code 0): their aggregates and sketch estimates " +
      "under /v1, /metrics (Prometheus), /health/live and /health/ready (ready once the store answers and every bootstrap has " +
      "finished), the OpenAPI document at /openapi.json and its reference page at /docs.",
    [serverSection, Settings.sections.store, Settings.sections.logging]
  )
)

Cli.runMain("serve", command)

/**
 * serve: the query server of the orderstats pipelines, over the store the other binaries write
 * (the embedded store in `STATE_DIR`, or DynamoDB, read through Valkey/Redis when `REDIS_URL` is
 * set: see stores.ts), until SIGINT or SIGTERM (exit code 0).
 *
 *   serve.js
 *
 * It serves `QueryServer`'s routes on `SERVE_HOST:SERVE_PORT`: the aggregates and estimates of
 * every orderstats pipeline under `/v1` (`curl localhost:8080/v1/pipelines/order_totals/keys/cust-a`),
 * the window reads of the per-day pipelines (`.../keys/cust-a/last?n=7`), `/metrics`, the status
 * page at `/status` (its JSON at `/v1/status`), `/health/live`, `/health/ready`, the OpenAPI
 * document at `/openapi.json` and its reference page at `/docs`. Ready means: the store answers a read and the bootstrap of every
 * pipeline has finished (its state in the token store says `done`), so a Kubernetes readiness
 * probe keeps the server out of rotation while `bootstrap.js` runs. With `SERVE_TOKEN` the API
 * requires `Authorization: Bearer <token>`; CORS stays closed unless `SERVE_CORS_ORIGINS` lists
 * origins. With `LIVE_SOURCE=kafka` the status page lists the dead letters the Kafka workers wrote to
 * `KAFKA_DLQ_TOPIC` too (they are not in the store). With `OTEL_EXPORTER_OTLP_ENDPOINT` it exports
 * traces, metrics and logs over OTLP.
 */
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import * as Cli from "./cli.ts"
import * as Settings from "./config.ts"
import * as Serving from "./serving.ts"
import * as Stores from "./stores.ts"

const program = () => Layer.launch(Serving.server).pipe(Effect.provide(Stores.layer), Effect.provide(Serving.telemetry))

const command = Command.make("serve.js", {}, program).pipe(
  Cli.describe(
    "The query server of the orderstats pipelines, until SIGINT or SIGTERM (exit code 0): their aggregates, window reads and " +
      "sketch estimates under /v1, /metrics (Prometheus), the status page at /status, /health/live and /health/ready (ready once " +
      "the store answers and every bootstrap has finished), the OpenAPI document at /openapi.json and its reference page at /docs.",
    [Serving.serverSection, Settings.sections.store, Stores.deadLetterTopicSection, Serving.telemetrySection, Settings.sections.logging]
  )
)

Cli.runMain("serve", command)

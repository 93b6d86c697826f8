/**
 * Serves the query API (`QueryApi`) over the `Aggregates` service of any store, with Prometheus
 * metrics and health routes, on Node's HTTP server:
 *
 * - the API under `/v1` (aggregates and sketch estimates of the pipelines given), its OpenAPI
 *   document at `/openapi.json` and a Scalar reference page at `/docs`;
 * - `/metrics`: effect's metric registry in the Prometheus text format (effect's own
 *   `PrometheusMetrics` renders it): the fold's counters and batch histogram, the sources' and the
 *   cache's counters when they run in this process, the server's requests, and gauges the server
 *   computes (see below);
 * - `/status`: one server-rendered HTML page of each pipeline's phase (from the token store),
 *   bootstrap progress (the snapshot gauges), throughput (the fold's `monoid_records_in`, sampled
 *   every `statusSampleEvery` by the `Clock`, over the last 1, 5 and 15 minutes), change-stream and
 *   Kafka consumer lag (their gauges), and recent dead letters with their reasons (from the
 *   store), with a search box that reads a key's aggregate through the API; `GET /v1/status` is
 *   the same as JSON. Progress, throughput and lag are those of the sources and folds running in
 *   this process: serve them from the worker (the phase and the dead letters come from the store);
 * - `/health/live` (the process answers) and `/health/ready` (the store answers a read, and the
 *   `readiness` effect, if given, succeeds: say "the bootstrap has finished"), for Kubernetes
 *   probes: 200 when ready, 503 with a problem naming the failed check when not.
 *
 * Reads go to whatever `Aggregates` is provided: provide a layer decorated by `AggregateCache` to
 * read through Valkey/Redis. Every error is an RFC 9457 problem (`application/problem+json`): a
 * bad request is a 4xx, never a 500.
 *
 * **Authentication.** With a `token`, every API route requires `Authorization: Bearer <token>`
 * (compared in constant time); the health routes never do (probes send no token), `/metrics` only
 * with `metricsAuth`, the docs never; the status page follows `/metrics` (its JSON, `/v1/status`,
 * is an API route), and asks for the token in its search box when the API requires one. **CORS**
 * is closed by default (no CORS headers: browsers refuse cross-origin reads);
 * `cors.allowedOrigins` opens it to those origins.
 *
 * Gauges computed at each scrape: `monoid_serve_ready` (0 or 1), `monoid_serve_pipeline_info`
 * (1 per pipeline, labelled with its mode and kind of values), and, with `storeGauges`,
 * `monoid_serve_aggregates` and `monoid_serve_dead_letters` per pipeline (full reads of the store,
 * refreshed at most once a minute by default). Each request is counted in `monoid_http_requests`
 * and timed in `monoid_http_request_ms`, labelled by route template.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EmbeddedStore } from "effect-monoid-streams"
 * import * as QueryServer from "effect-monoid-streams/QueryServer"
 *
 * // SERVE_PORT (default 8080), SERVE_HOST, SERVE_TOKEN, SERVE_CORS_ORIGINS...: see `config`
 * const server = QueryServer.layerConfig({ pipelines: [orderTotals, ordersPerStatus] }).pipe(
 *   Layer.provide(EmbeddedStore.layer({ path: "state/orderstats.sqlite" }))
 * )
 * Layer.launch(server) // runs until interrupted
 * ```
 *
 * @since 0.2.0
 */
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import {
  type Etag,
  HttpRouter,
  type HttpPlatform,
  HttpServer,
  HttpServerRequest,
  HttpServerRespondable,
  HttpServerResponse
} from "effect/http"
import type { ServeError } from "effect/http/HttpServerError"
import { HttpApiBuilder, HttpApiMiddleware, HttpApiScalar } from "effect/http-api"
import { PrometheusMetrics } from "effect/observability"
import type { FileSystem } from "effect/FileSystem"
import type { Path } from "effect/Path"
import type * as Pipeline from "../Pipeline.ts"
import * as Window from "../Window.ts"
import { Aggregates } from "../Store/Aggregates.ts"
import type { StoreError } from "../Store/StoreError.ts"
import * as Args from "./internal/arguments.ts"
import * as Auth from "./internal/auth.ts"
import * as Catalog from "./internal/catalog.ts"
import * as Edge from "./internal/edge.ts"
import * as Estimates from "./internal/estimates.ts"
import * as Gauges from "./internal/gauges.ts"
import * as Health from "./internal/health.ts"
import * as Status from "./internal/status.ts"
import * as StatusPage from "./internal/statusPage.ts"
import * as Windows from "./internal/windows.ts"
import {
  Authorization,
  type InvalidArgument,
  NotReady,
  QueryApi,
  StoreUnavailable,
  UnknownPipeline,
  UnsupportedEstimate
} from "./QueryApi.ts"

// ---------------------------------------------------------------------------------------------
// options

/**
 * Which browser origins may read the API (CORS). Absent or empty: none (no CORS headers).
 *
 * @category models
 * @since 0.2.0
 */
export interface Cors {
  /** Exact origins, e.g. `https://dashboard.example.com`. */
  readonly allowedOrigins: ReadonlyArray<string>
  /** Default `["authorization", "content-type"]`. */
  readonly allowedHeaders?: ReadonlyArray<string> | undefined
  /** How long a browser may cache a preflight answer, in seconds. */
  readonly maxAge?: number | undefined
  /** Whether the browser may send credentials (cookies). Default `false`. */
  readonly credentials?: boolean | undefined
}

/**
 * What to serve and how.
 *
 * @category models
 * @since 0.2.0
 */
export interface Options<R = never> {
  /** The pipelines whose aggregates the API reads (names must differ). */
  readonly pipelines: ReadonlyArray<Pipeline.Pipeline<any, any, Pipeline.Mode>>
  /** The bearer token the API requires. `undefined`: no authentication. */
  readonly token?: Redacted.Redacted<string> | undefined
  /** CORS; closed when absent. */
  readonly cors?: Cors | undefined
  /** Must succeed for `/health/ready` to answer 200 (e.g. "the bootstrap has finished"). */
  readonly readiness?: Effect.Effect<unknown, unknown, R> | undefined
  /** The time limit of each readiness check. Default 5 seconds. */
  readonly readinessTimeout?: Duration.Input | undefined
  /** The time limit of a store read; past it the request answers 503. Default 10 seconds. */
  readonly readTimeout?: Duration.Input | undefined
  /** The most keys one request may read. Default 1000. */
  readonly maxKeys?: number | undefined
  /** The most buckets one window read may span (a range, or `last`'s `n`). Default 1000. */
  readonly maxBuckets?: number | undefined
  /** The most aggregates (keys × buckets) one window read may read. Default 100,000. */
  readonly maxWindowReads?: number | undefined
  /** The longest key, in UTF-8 bytes. Default 2048. */
  readonly maxKeyBytes?: number | undefined
  /**
   * The largest request body, in bytes (a `POST` of keys). Default: room for `maxKeys` keys of
   * `maxKeyBytes`, at least 1 MiB.
   */
  readonly maxBodyBytes?: number | undefined
  /** Whether `/metrics` and the status page (`/status`) require the token too. Default `false`. */
  readonly metricsAuth?: boolean | undefined
  /**
   * The store gauges (aggregates and dead letters held per pipeline: full reads of the store):
   * `true` to refresh them at most once a minute, or how often. Default off.
   */
  readonly storeGauges?: boolean | Duration.Input | undefined
  /**
   * How often the status samples the fold's counters for its throughput (see `/v1/status`).
   * Default 5 seconds.
   */
  readonly statusSampleEvery?: Duration.Input | undefined
  /** Whether to serve `/openapi.json` and `/docs`. Default `true`. */
  readonly docs?: boolean | undefined
  /** Whether to log each request at Info. Default `false` (probes and scrapes are frequent). */
  readonly logRequests?: boolean | undefined
}

/**
 * {@link Options} and where to listen.
 *
 * @category models
 * @since 0.2.0
 */
export interface ServeOptions<R = never> extends Options<R> {
  /** Default 8080; 0 for any free port (read it from `HttpServer.address`). */
  readonly port?: number | undefined
  /** Default `"0.0.0.0"` (every interface, as containers need). */
  readonly host?: string | undefined
}

/**
 * The paths of the routes outside the API.
 *
 * @category constants
 * @since 0.2.0
 */
export const paths = {
  metrics: "/metrics",
  status: "/status",
  openapi: "/openapi.json",
  docs: "/docs"
} as const

/** Router limit on one path segment: keys up to `maxKeyBytes` reach the handler, which refuses longer ones itself. */
const MAX_PARAM_LENGTH = 16_384

// ---------------------------------------------------------------------------------------------
// reading

interface Served {
  readonly catalog: Catalog.Catalog
  readonly limits: Args.Limits
  readonly windowLimits: Windows.Limits
  readonly readTimeout: Duration.Duration
}

const lookup = (served: Served, name: string): Effect.Effect<Catalog.Entry, UnknownPipeline> => {
  const entry = served.catalog.byName.get(name)
  return entry === undefined
    ? Effect.fail(new UnknownPipeline({ pipeline: name, detail: `no pipeline named ${JSON.stringify(name)} is served` }))
    : Effect.succeed(entry)
}

/** A store failure as the client sees it: which call failed, not the store's own message (hosts, tables). */
const unavailable = (e: StoreError) =>
  new StoreUnavailable({ retryable: e.retryable, detail: `the store failed to answer (${e.store}.${e.operation})` })

/** A store read of `entry`, its failures as the problems the API declares (logged whole), under the read timeout. */
const guarded = <A>(served: Served, entry: Catalog.Entry, effect: Effect.Effect<A, StoreError>) =>
  effect.pipe(
    Effect.tapError((e) => Effect.logWarning(`query server: reading pipeline ${entry.info.name} failed`, e)),
    Effect.mapError(unavailable),
    Effect.timeoutOrElse({
      duration: served.readTimeout,
      orElse: () =>
        Effect.fail(new StoreUnavailable({ retryable: true, detail: `the store did not answer within ${Duration.format(served.readTimeout)}` }))
    })
  )

/** The stored values of `keys` (missing keys absent). */
const read = (aggregates: Aggregates["Service"], served: Served, entry: Catalog.Entry, keys: ReadonlyArray<string>) =>
  guarded(served, entry, aggregates.get(entry.pipeline, keys))

/** A key's answer: its value, or the identity when it holds nothing. */
const answer = (entry: Catalog.Entry, values: ReadonlyMap<string, unknown>, key: string) =>
  values.has(key)
    ? { found: true, value: values.get(key) as unknown }
    : { found: false, value: entry.pipeline.monoid.empty as unknown }

const readMany = (aggregates: Aggregates["Service"], served: Served, name: string, requested: ReadonlyArray<string>, parameter: string) =>
  Effect.gen(function*() {
    const entry = yield* lookup(served, name)
    const keys = yield* Args.keys(entry, requested, served.limits, parameter)
    const values = yield* read(aggregates, served, entry, keys)
    return { pipeline: entry.info.name, values: keys.map((key) => ({ key, ...answer(entry, values, key) })) }
  })

// ---------------------------------------------------------------------------------------------
// handlers

const pipelinesHandlers = (served: Served) =>
  HttpApiBuilder.group(QueryApi, "pipelines", (handlers) =>
    Effect.gen(function*() {
      const aggregates = yield* Aggregates
      return handlers
        .handle("list", () => Effect.succeed({ pipelines: served.catalog.entries.map((e) => e.info) }))
        .handle("describe", ({ params }) => Effect.map(lookup(served, params.pipeline), (e) => e.info))
        .handle("get", ({ params }) =>
          Effect.gen(function*() {
            const entry = yield* lookup(served, params.pipeline)
            const key = yield* Args.key(entry, params.key, served.limits)
            const values = yield* read(aggregates, served, entry, [key])
            return { pipeline: entry.info.name, key, ...answer(entry, values, key) }
          }))
        .handle("getMany", ({ params, query }) => readMany(aggregates, served, params.pipeline, query.key, "key"))
        .handle("postMany", ({ params, payload }) => readMany(aggregates, served, params.pipeline, payload.keys, "keys"))
    }))

/** The entry of `name` when its values are `sketch`'s. */
const sketchEntry = <S>(served: Served, name: string, sketch: Estimates.Sketch<S>) =>
  Effect.flatMap(lookup(served, name), (entry) =>
    entry.values === sketch.kind
      ? Effect.succeed(entry)
      : Effect.fail(
        new UnsupportedEstimate({
          pipeline: entry.info.name,
          estimate: sketch.estimate,
          values: entry.values,
          detail: `pipeline ${entry.info.name} holds ${entry.values === "value" ? "plain values" : `${entry.values} sketches`}: ` +
            `${sketch.estimate} needs ${sketch.kind} values`
        })
      ))

/** The sketch stored under a key (or the pipeline's identity); a stored value of another kind is a defect. */
const sketchAt = <S>(
  aggregates: Aggregates["Service"],
  served: Served,
  params: { readonly pipeline: string; readonly key: string },
  sketch: Estimates.Sketch<S>
) =>
  Effect.gen(function*() {
    const entry = yield* sketchEntry(served, params.pipeline, sketch)
    const key = yield* Args.key(entry, params.key, served.limits)
    const values = yield* read(aggregates, served, entry, [key])
    const { found, value } = answer(entry, values, key)
    if (!sketch.is(value)) {
      return yield* Effect.die(new Error(`the value stored for pipeline ${entry.info.name}, key ${JSON.stringify(key)} is not a ${sketch.kind}`))
    }
    return { head: { pipeline: entry.info.name, key, found }, value }
  })

const estimatesHandlers = (served: Served) =>
  HttpApiBuilder.group(QueryApi, "estimates", (handlers) =>
    Effect.gen(function*() {
      const aggregates = yield* Aggregates
      return handlers
        .handle("distinct", ({ params }) =>
          Effect.map(sketchAt(aggregates, served, params, Estimates.hyperLogLog), ({ head, value }) => ({
            ...head,
            ...Estimates.distinct(value)
          })))
        .handle("frequency", ({ params, query }) =>
          Effect.gen(function*() {
            const item = yield* Args.item(query.item, query.itemType)
            const { head, value } = yield* sketchAt(aggregates, served, params, Estimates.countMinSketch)
            return { ...head, item: query.item, ...Estimates.frequency(value, item) }
          }))
        .handle("contains", ({ params, query }) =>
          Effect.gen(function*() {
            const item = yield* Args.item(query.item, query.itemType)
            const { head, value } = yield* sketchAt(aggregates, served, params, Estimates.bloomFilter)
            return { ...head, item: query.item, ...Estimates.membership(value, item) }
          }))
        .handle("top", ({ params, query }) =>
          Effect.map(sketchAt(aggregates, served, params, Estimates.topK), ({ head, value }) => ({
            ...head,
            ...Estimates.top(value, query.n ?? 10)
          })))
    }))

/** Reads `keys` over the span `spanOf` gives for the window of pipeline `name`: one store call. */
const readWindow = (
  aggregates: Aggregates["Service"],
  served: Served,
  name: string,
  requested: ReadonlyArray<string>,
  parameter: string,
  spanOf: (window: Window.Window<any>) => Effect.Effect<Windows.Span, InvalidArgument>
) =>
  Effect.gen(function*() {
    const entry = yield* lookup(served, name)
    const window = yield* Windows.windowOf(entry)
    const keys = yield* Args.keys(entry, requested, served.limits, parameter, "windowed")
    const span = yield* spanOf(window)
    yield* Windows.checkReads(span, keys.length, served.windowLimits, parameter)
    const values = yield* guarded(served, entry, Effect.provideService(Window.read(entry.pipeline, keys, span.buckets), Aggregates, aggregates))
    return {
      pipeline: entry.info.name,
      window: Windows.describe(span),
      values: keys.map((key) => ({ key, ...answer(entry, values, key) }))
    }
  })

/** {@link readWindow} of one key. */
const readWindowOne = (
  aggregates: Aggregates["Service"],
  served: Served,
  params: { readonly pipeline: string; readonly key: string },
  spanOf: (window: Window.Window<any>) => Effect.Effect<Windows.Span, InvalidArgument>
) =>
  Effect.map(readWindow(aggregates, served, params.pipeline, [params.key], "key", spanOf), (answer) => ({
    pipeline: answer.pipeline,
    window: answer.window,
    ...answer.values[0]!
  }))

const windowsHandlers = (served: Served) =>
  HttpApiBuilder.group(QueryApi, "windows", (handlers) =>
    Effect.gen(function*() {
      const aggregates = yield* Aggregates
      const limits = served.windowLimits
      return handlers
        .handle("bucket", ({ params }) => readWindowOne(aggregates, served, params, (w) => Windows.one(w, params.bucket)))
        .handle("range", ({ params, query }) =>
          readWindowOne(aggregates, served, params, (w) => Windows.between(w, query.from, query.to, limits)))
        .handle("last", ({ params, query }) => readWindowOne(aggregates, served, params, (w) => Windows.last(w, query.n, limits)))
        .handle("bucketMany", ({ params, query }) =>
          readWindow(aggregates, served, params.pipeline, query.key, "key", (w) => Windows.one(w, params.bucket)))
        .handle("rangeMany", ({ params, query }) =>
          readWindow(aggregates, served, params.pipeline, query.key, "key", (w) => Windows.between(w, query.from, query.to, limits)))
        .handle("lastMany", ({ params, query }) =>
          readWindow(aggregates, served, params.pipeline, query.key, "key", (w) => Windows.last(w, query.n, limits)))
    }))

const healthHandlers = (readiness: Health.Readiness) =>
  HttpApiBuilder.group(QueryApi, "health", (handlers) =>
    handlers
      .handle("live", () => Effect.succeed({ status: "live" as const }))
      .handle("ready", () =>
        Effect.flatMap(readiness.run, (checks) =>
          checks.every((c) => c.ok)
            ? Effect.succeed({ status: "ready" as const, checks })
            : Effect.fail(
              new NotReady({
                checks,
                detail: checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? "failed"}`).join("; ")
              })
            ))))

const statusHandlers = (status: Status.Status) =>
  HttpApiBuilder.group(QueryApi, "status", (handlers) => handlers.handle("get", () => status.current))

const authorizationLayer = (check: Auth.Check) =>
  Layer.succeed(Authorization)({
    bearer: (httpEffect, { credential }) => Auth.guard(check, Redacted.value(credential), httpEffect)
  })

// ---------------------------------------------------------------------------------------------
// routes

/** A route outside the API that requires the token only when `protect` (the same rule as `/metrics`). */
const guardedRoute = <E, R>(
  check: Auth.Check,
  protect: boolean,
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) =>
  Effect.gen(function*() {
    if (protect) {
      const presented = Auth.bearerOf((yield* HttpServerRequest.HttpServerRequest).headers["authorization"])
      if (!check(presented)) return yield* HttpServerRespondable.toResponse(Auth.unauthorized(presented))
    }
    return yield* handler
  })

const metricsRoute = (check: Auth.Check, protect: boolean, refreshGauges: Effect.Effect<void>) =>
  HttpRouter.add(
    "GET",
    paths.metrics,
    guardedRoute(
      check,
      protect,
      Effect.gen(function*() {
        yield* refreshGauges
        return HttpServerResponse.text(yield* PrometheusMetrics.format(), { contentType: "text/plain; version=0.0.4; charset=utf-8" })
      })
    )
  )

const statusRoute = (check: Auth.Check, protect: boolean, status: Status.Status, catalog: Catalog.Catalog, tokenRequired: boolean) =>
  HttpRouter.add(
    "GET",
    paths.status,
    guardedRoute(
      check,
      protect,
      Effect.map(status.current, (current) => {
        const page = StatusPage.render(current, catalog.entries.map((e) => e.info), { tokenRequired })
        return HttpServerResponse.html(page.html).pipe(
          HttpServerResponse.setHeaders({ "content-security-policy": page.csp, "cache-control": "no-store" })
        )
      })
    )
  )

const corsLayer = (cors: Cors | undefined) =>
  cors === undefined || cors.allowedOrigins.length === 0
    ? Layer.empty
    : HttpRouter.cors({
      allowedOrigins: cors.allowedOrigins,
      allowedMethods: ["GET", "HEAD", "POST"],
      allowedHeaders: cors.allowedHeaders ?? ["authorization", "content-type"],
      maxAge: cors.maxAge,
      credentials: cors.credentials ?? false
    })

const storeGaugesEvery = (option: Options<unknown>["storeGauges"]): Duration.Duration | undefined =>
  option === undefined || option === false ? undefined : option === true ? Duration.minutes(1) : Duration.fromInputUnsafe(option)

/**
 * The routes (API, `/metrics`, health, docs) and the server's middleware, on the `HttpRouter` of
 * an HTTP server of your own (`HttpRouter.serve`). Set the router's `maxParamLength` above the
 * longest key (see {@link layer}). Throws a `TypeError` when two pipelines share a name.
 *
 * @category layers
 * @since 0.2.0
 */
export const routes = <R = never>(
  options: Options<R>
): Layer.Layer<never, never, HttpRouter.HttpRouter | Aggregates | R | Etag.Generator | FileSystem | HttpPlatform.HttpPlatform | Path> =>
  Layer.unwrap(Effect.gen(function*() {
    const catalog = Catalog.make(options.pipelines)
    const served: Served = {
      catalog,
      limits: { maxKeys: options.maxKeys ?? 1000, maxKeyBytes: options.maxKeyBytes ?? 2048 },
      windowLimits: { maxBuckets: options.maxBuckets ?? 1000, maxReads: options.maxWindowReads ?? 100_000 },
      readTimeout: Duration.fromInputUnsafe(options.readTimeout ?? Duration.seconds(10))
    }
    const check = Auth.makeCheck(options.token)
    const readiness = yield* Health.make(catalog, options.readiness, Duration.fromInputUnsafe(options.readinessTimeout ?? Duration.seconds(5)))
    const refreshGauges = yield* Gauges.make(catalog, readiness, { storeGaugesEvery: storeGaugesEvery(options.storeGauges) })
    const status = yield* Status.make(catalog, {
      sampleEvery: Duration.fromInputUnsafe(options.statusSampleEvery ?? Duration.seconds(5)),
      spans: [60, 300, 900],
      recentDeadLetters: 10,
      readTimeout: served.readTimeout
    })
    const docs = options.docs ?? true
    const api = HttpApiBuilder.layer(QueryApi, docs ? { openapiPath: paths.openapi } : undefined).pipe(
      Layer.provide([pipelinesHandlers(served), estimatesHandlers(served), windowsHandlers(served), statusHandlers(status), healthHandlers(readiness)]),
      Layer.provide([authorizationLayer(check), HttpApiMiddleware.layerProblemDetails({ includeDetails: true })])
    )
    const maxBodyBytes = options.maxBodyBytes ?? Math.max(1024 * 1024, served.limits.maxKeys * (served.limits.maxKeyBytes + 16))
    return Layer.mergeAll(
      Edge.layer({ maxBodyBytes }),
      corsLayer(options.cors),
      api,
      metricsRoute(check, options.metricsAuth ?? false, refreshGauges),
      statusRoute(check, options.metricsAuth ?? false, status, catalog, options.token !== undefined),
      docs ? HttpApiScalar.layer(QueryApi, { path: paths.docs }) : Layer.empty,
      options.logRequests === true ? Layer.empty : HttpRouter.disableLogger
    )
  }))

/**
 * The server: {@link routes} on Node's HTTP server at `host:port`. Its `HttpServer` service gives
 * the address it listens on.
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = <R = never>(
  options: ServeOptions<R>
): Layer.Layer<HttpServer.HttpServer, ServeError, Aggregates | R> =>
  HttpRouter.serve(routes(options), {
    routerConfig: { maxParamLength: MAX_PARAM_LENGTH },
    disableLogger: options.logRequests !== true
  }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port ?? 8080, host: options.host ?? "0.0.0.0" }))
    // `serve` keeps per-request requirements apart from build-time ones; with `R` generic the
    // compiler cannot tell that `routes` has none per request (R is only needed to build them)
  ) as unknown as Layer.Layer<HttpServer.HttpServer, ServeError, Aggregates | R>

// ---------------------------------------------------------------------------------------------
// config

/**
 * The server's settings from the environment:
 *
 * | variable | default | |
 * | --- | --- | --- |
 * | `SERVE_PORT` | `8080` | the port (0: any free port) |
 * | `SERVE_HOST` | `0.0.0.0` | the interface |
 * | `SERVE_TOKEN` | (none: no authentication) | the bearer token of the API (a secret) |
 * | `SERVE_CORS_ORIGINS` | (none: CORS closed) | comma-separated origins allowed to read the API from a browser |
 * | `SERVE_METRICS_AUTH` | `false` | `true`: `/metrics` and `/status` require the token too |
 * | `SERVE_STORE_GAUGES` | `false` | `true`: the store gauges (full reads, once a minute) |
 *
 * @category config
 * @since 0.2.0
 */
export const config = Config.all({
  port: Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })), "SERVE_PORT").pipe(Config.withDefault(8080)),
  host: Config.String("SERVE_HOST").pipe(Config.withDefault("0.0.0.0")),
  token: Config.option(Config.Redacted("SERVE_TOKEN")).pipe(
    Config.map((o) => (Option.isSome(o) && Redacted.value(o.value).trim() !== "" ? o.value : undefined))
  ),
  corsOrigins: Config.option(Config.String("SERVE_CORS_ORIGINS")).pipe(
    Config.map((o) => Option.match(o, { onNone: () => [], onSome: (s) => s.split(",").map((x) => x.trim()).filter((x) => x !== "") }))
  ),
  metricsAuth: Config.Boolean("SERVE_METRICS_AUTH").pipe(Config.withDefault(false)),
  storeGauges: Config.Boolean("SERVE_STORE_GAUGES").pipe(Config.withDefault(false))
})

/**
 * @category config
 * @since 0.2.0
 */
export type Settings = Config.Success<typeof config>

/**
 * {@link layer} with the settings of {@link config}; options given here win over the environment.
 *
 * @category layers
 * @since 0.2.0
 */
export const layerConfig = <R = never>(
  options: ServeOptions<R>
): Layer.Layer<HttpServer.HttpServer, ServeError | Config.ConfigError, Aggregates | R> =>
  Layer.unwrap(Effect.map(config, (settings) =>
    layer({
      ...options,
      port: options.port ?? settings.port,
      host: options.host ?? settings.host,
      token: options.token ?? settings.token,
      cors: options.cors ?? (settings.corsOrigins.length === 0 ? undefined : { allowedOrigins: settings.corsOrigins }),
      metricsAuth: options.metricsAuth ?? settings.metricsAuth,
      storeGauges: options.storeGauges ?? settings.storeGauges
    })))

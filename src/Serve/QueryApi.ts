/**
 * The query API over the aggregates of a list of pipelines, as an effect `HttpApi`: typed
 * endpoints, an OpenAPI 3.1 document, RFC 9457 problem details for every error, and a typed client
 * for Effect programs. `QueryServer` serves it over any store.
 *
 * Routes (all JSON; the pipeline is a path segment, so one API serves any list of pipelines):
 *
 * | route | what |
 * | --- | --- |
 * | `GET /v1/pipelines` | the pipelines served, with what their values are and which estimates they answer |
 * | `GET /v1/pipelines/:pipeline` | one of them |
 * | `GET /v1/pipelines/:pipeline/keys/:key` | one aggregate |
 * | `GET /v1/pipelines/:pipeline/keys?key=a&key=b` | many aggregates (`POST` with `{"keys": [...]}` for long lists) |
 * | `GET /v1/pipelines/:pipeline/keys/:key/distinct` | HyperLogLog: the estimated number of distinct items |
 * | `GET /v1/pipelines/:pipeline/keys/:key/frequency?item=x` | Count-Min: the estimated count of an item |
 * | `GET /v1/pipelines/:pipeline/keys/:key/contains?item=x` | Bloom filter: whether an item may have been added |
 * | `GET /v1/pipelines/:pipeline/keys/:key/top?n=10` | TopK: the `n` items with the largest counts |
 * | `GET /health/live`, `GET /health/ready` | liveness and readiness (no authentication) |
 *
 * Window reads belong under the same key routes (`/v1/pipelines/:pipeline/keys/:key/range`,
 * `.../last`, and their many-key forms); until they exist, a windowed pipeline is read by its
 * aggregate keys, `"<key>|<bucket id>"` (see `Window.key`).
 *
 * **Values.** An aggregate is whatever its pipeline's monoid holds (numbers, bigints, `Option`s,
 * sets, maps, sketches). On the wire it is the JSON form of the stores' value codec: plain JSON
 * values as they are, and one-key tagged objects for the rest (`{"$bigint": "12"}`,
 * `{"$some": 3}`, `{"$none": 1}`, `{"$set": [...]}`, `{"$map": [[k, v], ...]}`,
 * `{"$sketch": "<base64>"}`, `{"$number": "Infinity"}`). It is lossless: the typed client decodes
 * it back to the value itself (a `bigint`, an `Option`, a `HyperLogLog` that can be merged). A key
 * that holds nothing answers `found: false` with the monoid's identity (a total of 0).
 *
 * **Errors** are `application/problem+json` bodies (RFC 9457) with a `type` URI under
 * `urn:effect-monoid-streams:problem:` and extension members: an unknown pipeline is a 404, a
 * malformed key or item or too many keys a 400 ({@link InvalidArgument}), an estimate asked of a
 * pipeline whose values are not that sketch a 400 ({@link UnsupportedEstimate}), a request that
 * does not decode a 400 (`about:blank`, with `errors` saying where), a missing or wrong token a 401,
 * a path that matches no route a 404 and a body over the server's limit a 413 (both
 * `about:blank`), a store that does not answer a 503. The typed client fails with the matching
 * error classes.
 *
 * **Authentication** is an optional bearer token ({@link Authorization}): every route but the
 * health routes declares it, and the server checks it only when it was given a token.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import * as QueryApi from "effect-monoid-streams/QueryApi"
 *
 * const total = Effect.gen(function*() {
 *   const client = yield* QueryApi.makeClient({ baseUrl: "http://127.0.0.1:8080" })
 *   const answer = yield* client.pipelines.get({ params: { pipeline: "order_totals", key: "cust-a" } })
 *   return answer.value // 12000
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.2.0
 */
import { Context, Effect, Layer, type Redacted, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import {
  HttpApi,
  HttpApiClient,
  HttpApiEndpoint,
  HttpApiError,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSecurity,
  OpenApi
} from "effect/http-api"
import * as ValueCodec from "../internal/valueCodec.ts"
// the sketch modules register their decoders when loaded: the client decodes `$sketch` values
import "../BloomFilter.ts"
import "../CountMinSketch.ts"
import "../HyperLogLog.ts"

// ---------------------------------------------------------------------------------------------
// values

const issue = (input: unknown, cause: unknown): SchemaIssue.Issue =>
  new SchemaIssue.InvalidValue({ message: cause instanceof Error ? cause.message : String(cause) }, input)

/**
 * An aggregate value on the wire: the value codec's JSON form (see the module doc), decoded to the
 * value itself. Encoding fails for values the codec refuses (class instances, functions).
 *
 * @category schemas
 * @since 0.2.0
 */
export const AggregateValue: Schema.Codec<unknown, Schema.Json> = Schema.Json.annotate({
  description: "The aggregate in the value codec's JSON form: JSON values as they are; bigints, Options, sets, maps, " +
    "sketches and non-finite numbers as one-key tagged objects ($bigint, $some, $none, $set, $map, $sketch, $number)"
}).pipe(
  Schema.decodeTo(
    Schema.Unknown,
    SchemaTransformation.transformEffect({
      decode: (json) => Effect.try({ try: () => ValueCodec.fromJson(json), catch: (cause) => issue(json, cause) }),
      encode: (value) => Effect.try({ try: () => ValueCodec.toJson(value) as Schema.Json, catch: (cause) => issue(value, cause) })
    })
  )
)

/**
 * What a pipeline's values are, as far as the estimate routes are concerned.
 *
 * @category schemas
 * @since 0.2.0
 */
export const ValueKind = Schema.Literals(["value", "hyperLogLog", "countMinSketch", "bloomFilter", "topK"])

/**
 * @category models
 * @since 0.2.0
 */
export type ValueKind = typeof ValueKind.Type

/**
 * The estimate routes, each answered by one kind of value.
 *
 * @category schemas
 * @since 0.2.0
 */
export const Estimate = Schema.Literals(["distinct", "frequency", "contains", "top"])

/**
 * @category models
 * @since 0.2.0
 */
export type Estimate = typeof Estimate.Type

/**
 * The estimate each kind of value answers.
 *
 * @category models
 * @since 0.2.0
 */
export const estimatesOf: Readonly<Record<ValueKind, ReadonlyArray<Estimate>>> = {
  value: [],
  hyperLogLog: ["distinct"],
  countMinSketch: ["frequency"],
  bloomFilter: ["contains"],
  topK: ["top"]
}

/**
 * How a sketch item given as text is read: as the string itself (default), a number or a bigint
 * (the sketches hash `"1"`, `1` and `1n` differently).
 *
 * @category schemas
 * @since 0.2.0
 */
export const ItemType = Schema.Literals(["string", "number", "bigint"])

/**
 * @category models
 * @since 0.2.0
 */
export type ItemType = typeof ItemType.Type

// ---------------------------------------------------------------------------------------------
// responses

/**
 * One pipeline served.
 *
 * @category schemas
 * @since 0.2.0
 */
export const PipelineInfo = Schema.Struct({
  name: Schema.String,
  mode: Schema.Literals(["changes", "insertOnly", "events"]),
  monoid: Schema.String.annotate({ description: "The monoid's kind: sum, count, max, ..., custom (sketches, user monoids)" }),
  values: ValueKind,
  estimates: Schema.Array(Estimate),
  windowed: Schema.Boolean.annotate({ description: "Its aggregate keys are <key>|<bucket id>" })
})

/**
 * @category schemas
 * @since 0.2.0
 */
export const PipelineList = Schema.Struct({ pipelines: Schema.Array(PipelineInfo) })

/**
 * One aggregate: `found: false` when the key holds nothing (then `value` is the identity).
 *
 * @category schemas
 * @since 0.2.0
 */
export const KeyValue = Schema.Struct({
  pipeline: Schema.String,
  key: Schema.String,
  found: Schema.Boolean,
  value: AggregateValue
})

/**
 * Many aggregates, in the order of the request's keys (each key once).
 *
 * @category schemas
 * @since 0.2.0
 */
export const KeyValues = Schema.Struct({
  pipeline: Schema.String,
  values: Schema.Array(Schema.Struct({ key: Schema.String, found: Schema.Boolean, value: AggregateValue }))
})

/**
 * The body of `POST /v1/pipelines/:pipeline/keys`.
 *
 * @category schemas
 * @since 0.2.0
 */
export const KeysRequest = Schema.Struct({ keys: Schema.Array(Schema.String) })

const EstimateFields = {
  pipeline: Schema.String,
  key: Schema.String,
  found: Schema.Boolean
}

/**
 * A HyperLogLog's estimate: `standardError` is relative (`1.04 / √(2^precision)`).
 *
 * @category schemas
 * @since 0.2.0
 */
export const Distinct = Schema.Struct({
  ...EstimateFields,
  estimate: Schema.Number,
  standardError: Schema.Number.annotate({ description: "Relative standard error of the estimate: 1.04 / sqrt(2^precision)" }),
  precision: Schema.Int
})

/**
 * A Count-Min estimate: at least the true count (when no count is negative), and above it by
 * more than `epsilon · total` with probability at most `delta`.
 *
 * @category schemas
 * @since 0.2.0
 */
export const Frequency = Schema.Struct({
  ...EstimateFields,
  item: Schema.String,
  estimate: Schema.Number,
  total: Schema.Number,
  epsilon: Schema.Number.annotate({ description: "The estimate exceeds the true count by more than epsilon * total..." }),
  delta: Schema.Number.annotate({ description: "...with probability at most delta" })
})

/**
 * A Bloom filter's answer: `mightContain: false` is certain; `true` may be a false positive, with
 * about `falsePositiveRate` probability for the filter's estimated number of items (`null` when
 * every bit is set).
 *
 * @category schemas
 * @since 0.2.0
 */
export const Membership = Schema.Struct({
  ...EstimateFields,
  item: Schema.String,
  mightContain: Schema.Boolean,
  estimatedItems: Schema.NullOr(Schema.Number),
  falsePositiveRate: Schema.Number.annotate({ description: "Probability that mightContain is true for an item never added" })
})

/**
 * A TopK's largest counts, largest first (ties by item), exact.
 *
 * @category schemas
 * @since 0.2.0
 */
export const Top = Schema.Struct({
  ...EstimateFields,
  items: Schema.Array(Schema.Struct({ item: Schema.String, count: Schema.Number })),
  distinctItems: Schema.Int.annotate({ description: "Items with a positive count" })
})

/**
 * One readiness check.
 *
 * @category schemas
 * @since 0.2.0
 */
export const Check = Schema.Struct({
  name: Schema.String,
  ok: Schema.Boolean,
  detail: Schema.optionalKey(Schema.String)
})

/**
 * @category schemas
 * @since 0.2.0
 */
export const Live = Schema.Struct({ status: Schema.Literal("live") })

/**
 * @category schemas
 * @since 0.2.0
 */
export const Ready = Schema.Struct({ status: Schema.Literal("ready"), checks: Schema.Array(Check) })

// ---------------------------------------------------------------------------------------------
// problems

const problemType = (name: string) => `urn:effect-monoid-streams:problem:${name}` as const

/**
 * No pipeline of that name is served (404).
 *
 * @category problems
 * @since 0.2.0
 */
export class UnknownPipeline extends HttpApiError.Problem<UnknownPipeline>()("UnknownPipeline", {
  type: problemType("unknown-pipeline"),
  status: 404,
  title: "Unknown pipeline"
}, { pipeline: Schema.String }) {}

/**
 * A malformed argument (400): an empty or too long key, a key of a windowed pipeline without its
 * bucket, too many keys, an item that is not of its `itemType`. `parameter` names it.
 *
 * @category problems
 * @since 0.2.0
 */
export class InvalidArgument extends HttpApiError.Problem<InvalidArgument>()("InvalidArgument", {
  type: problemType("invalid-argument"),
  status: 400,
  title: "Invalid argument"
}, { parameter: Schema.String }) {}

/**
 * An estimate asked of a pipeline whose values are not the sketch that answers it (400).
 *
 * @category problems
 * @since 0.2.0
 */
export class UnsupportedEstimate extends HttpApiError.Problem<UnsupportedEstimate>()("UnsupportedEstimate", {
  type: problemType("unsupported-estimate"),
  status: 400,
  title: "Estimate not supported by this pipeline"
}, { pipeline: Schema.String, estimate: Estimate, values: ValueKind }) {}

/**
 * The store did not answer (503); `retryable` says whether trying again may help.
 *
 * @category problems
 * @since 0.2.0
 */
export class StoreUnavailable extends HttpApiError.Problem<StoreUnavailable>()("StoreUnavailable", {
  type: problemType("store-unavailable"),
  status: 503,
  title: "Store unavailable"
}, { retryable: Schema.Boolean }) {}

/**
 * A missing or wrong bearer token (401).
 *
 * @category problems
 * @since 0.2.0
 */
export class Unauthorized extends HttpApiError.Problem<Unauthorized>()("Unauthorized", {
  type: problemType("unauthorized"),
  status: 401,
  title: "Unauthorized"
}) {}

/**
 * The server is not ready (503): `checks` says which check failed.
 *
 * @category problems
 * @since 0.2.0
 */
export class NotReady extends HttpApiError.Problem<NotReady>()("NotReady", {
  type: problemType("not-ready"),
  status: 503,
  title: "Not ready"
}, { checks: Schema.Array(Check) }) {}

// ---------------------------------------------------------------------------------------------
// the API

/**
 * The optional bearer-token authentication of the query (and, later, admin) routes. The server
 * provides it (`QueryServer`); with no token configured it lets every request through.
 *
 * @category middleware
 * @since 0.2.0
 */
export class Authorization extends HttpApiMiddleware.Service<Authorization>()("effect-monoid-streams/Serve/Authorization", {
  security: { bearer: HttpApiSecurity.bearer },
  error: Unauthorized
}) {}

const params = { pipeline: Schema.String }
const keyParams = { pipeline: Schema.String, key: Schema.String }
const readErrors = [UnknownPipeline, InvalidArgument, StoreUnavailable] as const
const estimateErrors = [UnknownPipeline, InvalidArgument, UnsupportedEstimate, StoreUnavailable] as const
const item = { item: Schema.String, itemType: Schema.optionalKey(ItemType) }

const describe = (summary: string, description?: string) =>
  OpenApi.annotations(description === undefined ? { summary } : { summary, description })

/**
 * The pipelines and their aggregates.
 *
 * @category api
 * @since 0.2.0
 */
export class PipelinesGroup extends HttpApiGroup.make("pipelines").add(
  HttpApiEndpoint.get("list", "/pipelines", { success: PipelineList }).annotateMerge(
    describe("The pipelines served", "With what their values are and which estimates they answer.")
  ),
  HttpApiEndpoint.get("describe", "/pipelines/:pipeline", { params, success: PipelineInfo, error: UnknownPipeline })
    .annotateMerge(describe("One pipeline")),
  HttpApiEndpoint.get("get", "/pipelines/:pipeline/keys/:key", { params: keyParams, success: KeyValue, error: readErrors })
    .annotateMerge(describe(
      "One aggregate",
      "A key that holds nothing answers found: false with the monoid's identity. A windowed pipeline's keys are <key>|<bucket id>."
    )),
  HttpApiEndpoint.get("getMany", "/pipelines/:pipeline/keys", {
    params,
    query: { key: Schema.Array(Schema.String) },
    success: KeyValues,
    error: readErrors
  }).annotateMerge(describe("Many aggregates", "Repeat key=... for each key; in one store read.")),
  HttpApiEndpoint.post("postMany", "/pipelines/:pipeline/keys", {
    params,
    payload: KeysRequest,
    success: KeyValues,
    error: readErrors
  }).annotateMerge(describe("Many aggregates, the keys in the body", "For lists too long for a URL."))
).middleware(Authorization).prefix("/v1").annotateMerge(OpenApi.annotations({ title: "pipelines" })) {}

/**
 * The estimates of sketch values.
 *
 * @category api
 * @since 0.2.0
 */
export class EstimatesGroup extends HttpApiGroup.make("estimates").add(
  HttpApiEndpoint.get("distinct", "/pipelines/:pipeline/keys/:key/distinct", {
    params: keyParams,
    success: Distinct,
    error: estimateErrors
  }).annotateMerge(describe("HyperLogLog: the estimated number of distinct items")),
  HttpApiEndpoint.get("frequency", "/pipelines/:pipeline/keys/:key/frequency", {
    params: keyParams,
    query: item,
    success: Frequency,
    error: estimateErrors
  }).annotateMerge(describe("Count-Min: the estimated count of an item")),
  HttpApiEndpoint.get("contains", "/pipelines/:pipeline/keys/:key/contains", {
    params: keyParams,
    query: item,
    success: Membership,
    error: estimateErrors
  }).annotateMerge(describe("Bloom filter: whether an item may have been added")),
  HttpApiEndpoint.get("top", "/pipelines/:pipeline/keys/:key/top", {
    params: keyParams,
    query: { n: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 }))) },
    success: Top,
    error: estimateErrors
  }).annotateMerge(describe("TopK: the n items with the largest counts (default 10)"))
).middleware(Authorization).prefix("/v1").annotateMerge(OpenApi.annotations({ title: "estimates" })) {}

/**
 * Liveness and readiness, for Kubernetes probes (no authentication).
 *
 * @category api
 * @since 0.2.0
 */
export class HealthGroup extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("live", "/live", { success: Live }).annotateMerge(describe("The process answers")),
  HttpApiEndpoint.get("ready", "/ready", { success: Ready, error: NotReady }).annotateMerge(
    describe("Ready: the store answers a read and the worker's readiness check succeeds")
  )
).prefix("/health") {}

/**
 * The whole API. Requests that do not decode are answered with RFC 9457 problems
 * (`HttpApiMiddleware.ProblemDetails`).
 *
 * @category api
 * @since 0.2.0
 */
export class QueryApi extends HttpApi.make("effect-monoid-streams")
  .add(PipelinesGroup)
  .add(EstimatesGroup)
  .add(HealthGroup)
  .middleware(HttpApiMiddleware.ProblemDetails)
  .annotateMerge(OpenApi.annotations({
    title: "effect-monoid-streams query API",
    version: "1",
    description: "Per-key aggregates of streaming pipelines, their sketch estimates, and health."
  }))
{}

// ---------------------------------------------------------------------------------------------
// the client

/**
 * The typed client: `client.pipelines.get(...)`, `client.estimates.distinct(...)`,
 * `client.health.ready()`.
 *
 * @category client
 * @since 0.2.0
 */
export type Client = HttpApiClient.ForApi<typeof QueryApi>

/**
 * @category client
 * @since 0.2.0
 */
export interface ClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string | URL
  /** Sent as `Authorization: Bearer <token>` when given. */
  readonly token?: Redacted.Redacted<string> | string | undefined
}

/**
 * A typed client over the `HttpClient` service (`FetchHttpClient.layer`, `NodeHttpClient`...).
 *
 * @category client
 * @since 0.2.0
 */
export const makeClient = (options: ClientOptions): Effect.Effect<Client, never, HttpClient.HttpClient> => {
  const token = options.token
  return HttpApiClient.make(QueryApi, {
    baseUrl: options.baseUrl,
    transformClient: token === undefined ? undefined : HttpClient.mapRequest(HttpClientRequest.bearerToken(token))
  })
}

/**
 * The typed client as a service.
 *
 * @category client
 * @since 0.2.0
 */
export class QueryClient extends Context.Service<QueryClient, Client>()("effect-monoid-streams/QueryClient") {}

/**
 * The {@link QueryClient} service for `options`.
 *
 * @category client
 * @since 0.2.0
 */
export const layerClient = (options: ClientOptions): Layer.Layer<QueryClient, never, HttpClient.HttpClient> =>
  Layer.effect(QueryClient, makeClient(options))

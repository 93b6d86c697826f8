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
 * | `GET /v1/pipelines/:pipeline/keys/:key/buckets/:bucket` | windowed: one key in one bucket (`2026-12-05`, see `Window`) |
 * | `GET /v1/pipelines/:pipeline/keys/:key/range?from=a&to=b` | windowed: one key's buckets `a` to `b` (inclusive), merged |
 * | `GET /v1/pipelines/:pipeline/keys/:key/last?n=7` | windowed: one key's last `n` buckets up to now, merged ("the last 7 days") |
 * | `GET /v1/pipelines/:pipeline/buckets/:bucket?key=a&key=b` | windowed: many keys in one bucket |
 * | `GET /v1/pipelines/:pipeline/range?key=a&key=b&from=..&to=..` | windowed: many keys over a range of buckets |
 * | `GET /v1/pipelines/:pipeline/last?key=a&key=b&n=7` | windowed: many keys over their last `n` buckets |
 * | `GET /v1/status` | each pipeline's phase, bootstrap progress, throughput, lag and recent dead letters |
 * | `GET /health/live`, `GET /health/ready` | liveness and readiness (no authentication) |
 *
 * A windowed pipeline can also be read by its aggregate keys, `"<key>|<bucket id>"` (see
 * `Window.key`), on the plain key routes. The window routes take the plain key: they read every
 * bucket of the span in one store call and merge them with the pipeline's monoid (buckets past
 * the retention count as empty). "Now", for `last`, is the server's `Clock`.
 *
 * **Values.** An aggregate is whatever its pipeline's monoid holds (numbers, bigints, `Option`s,
 * sets, maps, sketches). On the wire it is the JSON form of the stores' value codec: plain JSON
 * values as they are, and one-key tagged objects for the rest (`{"$bigint": "12"}`,
 * `{"$some": 3}`, `{"$none": 1}`, `{"$set": [...]}`, `{"$map": [[k, v], ...]}`,
 * `{"$sketch": "<base64>"}`, `{"$number": "Infinity"}`). It is lossless: the typed client decodes
 * it back to the value itself (a `bigint`, an `Option`, a `HyperLogLog` that can be merged). A key
 * that holds nothing answers `found: false` with the monoid's identity (a total of 0).
 *
 * **Keys** are any well-formed string a pipeline's key function returns, up to the server's byte
 * limit. Three cannot travel in a path: the empty key, `.` and `..` (URL resolution drops or
 * climbs them, in `fetch`, browsers and the typed client): read them with `?key=` or a `POST`.
 *
 * **Errors** are `application/problem+json` bodies (RFC 9457) with a `type` URI under
 * `urn:effect-monoid-streams:problem:` and extension members: an unknown pipeline is a 404, a
 * malformed key or item or too many keys a 400 ({@link InvalidArgument}), an estimate asked of a
 * pipeline whose values are not that sketch a 400 ({@link UnsupportedEstimate}), a window read
 * of a pipeline that is not windowed a 400 ({@link NotWindowed}), a malformed bucket id, a range
 * that ends before it starts, or more buckets than the server reads at once a 400
 * ({@link InvalidArgument} naming `bucket`, `from`, `to` or `n`), a request that
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
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
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
import { errorText } from "../internal/errorText.ts"

// ---------------------------------------------------------------------------------------------
// values

const issue = (input: unknown, cause: unknown): SchemaIssue.Issue =>
  new SchemaIssue.InvalidValue({ message: errorText(cause) }, input)

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

/**
 * The span of buckets a window read covered: the window's granularity and time zone, the first
 * and last bucket ids, and how many buckets that is (expired ones included: they count as empty).
 *
 * @category schemas
 * @since 0.2.0
 */
export const WindowSpan = Schema.Struct({
  granularity: Schema.Literals(["minute", "hour", "day", "week", "month"]),
  timeZone: Schema.String,
  from: Schema.String.annotate({ description: "The first bucket's id" }),
  to: Schema.String.annotate({ description: "The last bucket's id" }),
  buckets: Schema.Int.annotate({ description: "Buckets from `from` to `to`, both included" })
})

/**
 * One key's buckets merged: `found: false` when none of them holds anything (then `value` is the
 * identity).
 *
 * @category schemas
 * @since 0.2.0
 */
export const WindowValue = Schema.Struct({
  pipeline: Schema.String,
  key: Schema.String,
  window: WindowSpan,
  found: Schema.Boolean,
  value: AggregateValue
})

/**
 * Many keys' buckets merged, in the order of the request's keys (each key once).
 *
 * @category schemas
 * @since 0.2.0
 */
export const WindowValues = Schema.Struct({
  pipeline: Schema.String,
  window: WindowSpan,
  values: Schema.Array(Schema.Struct({ key: Schema.String, found: Schema.Boolean, value: AggregateValue }))
})

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

/**
 * Where a pipeline is: `"not started"` (no bootstrap state in the token store), `"bootstrapping"`
 * (its snapshot scan has not finished), `"live"` (it has: the change stream or topic follows),
 * `"unknown"` (no token store to ask, or it did not answer).
 *
 * @category schemas
 * @since 0.2.0
 */
export const Phase = Schema.Literals(["not started", "bootstrapping", "live", "unknown"])

/**
 * @category models
 * @since 0.2.0
 */
export type Phase = typeof Phase.Type

/**
 * The records a pipeline received per second over a recent span (`null` before two samples
 * exist). `seconds` is the span actually measured (at most `window`).
 *
 * @category schemas
 * @since 0.2.0
 */
export const Throughput = Schema.Struct({
  window: Schema.Number.annotate({ description: "The span asked for, in seconds" }),
  seconds: Schema.Number.annotate({ description: "The span measured, in seconds" }),
  recordsPerSecond: Schema.NullOr(Schema.Number)
})

/**
 * One dead letter as the status shows it: where it came from and why (its raw record is left out).
 *
 * @category schemas
 * @since 0.2.0
 */
export const DeadLetterSummary = Schema.Struct({
  at: Schema.Number.annotate({ description: "Milliseconds since the epoch" }),
  partition: Schema.String,
  seq: Schema.Number,
  docId: Schema.NullOr(Schema.String),
  reason: Schema.String
})

/**
 * One pipeline's state, as this process sees it: the phase from the token store; bootstrap
 * progress, throughput and lag from the metrics of the sources and fold running in this process
 * (`null` when none runs here); dead letters from the store.
 *
 * @category schemas
 * @since 0.2.0
 */
export const PipelineStatus = Schema.Struct({
  name: Schema.String,
  phase: Phase,
  sources: Schema.Array(Schema.String).annotate({ description: "The sources folded into it in this process" }),
  progress: Schema.NullOr(Schema.Struct({
    scanned: Schema.Number.annotate({ description: "Documents the snapshot scan has read" }),
    estimated: Schema.NullOr(Schema.Number).annotate({ description: "The collection's estimated document count" })
  })),
  records: Schema.Number.annotate({ description: "Records folded into it by this process" }),
  throughput: Schema.Array(Throughput),
  changeStreamLagSeconds: Schema.NullOr(Schema.Number),
  deadLetters: Schema.Struct({
    count: Schema.NullOr(Schema.Int),
    recent: Schema.Array(DeadLetterSummary),
    error: Schema.optionalKey(Schema.String)
  })
})

/**
 * Consumer lag of one Kafka partition (end offset minus committed), from the Kafka source's gauge.
 *
 * @category schemas
 * @since 0.2.0
 */
export const KafkaLag = Schema.Struct({ group: Schema.String, topic: Schema.String, partition: Schema.String, lag: Schema.Number })

/**
 * The status of the pipelines served (`GET /v1/status`, and the page at `/status`).
 *
 * @category schemas
 * @since 0.2.0
 */
export const Status = Schema.Struct({
  at: Schema.Number.annotate({ description: "When it was computed, milliseconds since the epoch" }),
  pipelines: Schema.Array(PipelineStatus),
  kafkaLag: Schema.Array(KafkaLag)
})

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
 * A malformed argument (400): a too long key, a key of a windowed pipeline without its
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
 * A window read asked of a pipeline that is not windowed (400).
 *
 * @category problems
 * @since 0.2.0
 */
export class NotWindowed extends HttpApiError.Problem<NotWindowed>()("NotWindowed", {
  type: problemType("not-windowed"),
  status: 400,
  title: "Pipeline not windowed"
}, { pipeline: Schema.String }) {}

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

const windowErrors = [UnknownPipeline, InvalidArgument, NotWindowed, StoreUnavailable] as const
const manyKeys = { key: Schema.Array(Schema.String) }
const rangeQuery = { from: Schema.String, to: Schema.String }
const lastQuery = { n: Schema.Int }

/**
 * Reads of windowed pipelines (see `Window`): one bucket, a range of buckets, the last `n` buckets
 * up to now, each merged with the pipeline's monoid, for one key or many.
 *
 * @category api
 * @since 0.2.0
 */
export class WindowsGroup extends HttpApiGroup.make("windows").add(
  HttpApiEndpoint.get("bucket", "/pipelines/:pipeline/keys/:key/buckets/:bucket", {
    params: { ...keyParams, bucket: Schema.String },
    success: WindowValue,
    error: windowErrors
  }).annotateMerge(describe("One key in one bucket", "The bucket is its id: 2026-12-05T14:05, 2026-12-05T14, 2026-12-05, 2026-W49, 2026-12.")),
  HttpApiEndpoint.get("range", "/pipelines/:pipeline/keys/:key/range", {
    params: keyParams,
    query: rangeQuery,
    success: WindowValue,
    error: windowErrors
  }).annotateMerge(describe("One key over a range of buckets", "from and to are bucket ids, both included, merged with the monoid.")),
  HttpApiEndpoint.get("last", "/pipelines/:pipeline/keys/:key/last", {
    params: keyParams,
    query: lastQuery,
    success: WindowValue,
    error: windowErrors
  }).annotateMerge(describe("One key over its last n buckets", "The current bucket (by the server's clock) and the n - 1 before it.")),
  HttpApiEndpoint.get("bucketMany", "/pipelines/:pipeline/buckets/:bucket", {
    params: { ...params, bucket: Schema.String },
    query: manyKeys,
    success: WindowValues,
    error: windowErrors
  }).annotateMerge(describe("Many keys in one bucket", "Repeat key=... for each key.")),
  HttpApiEndpoint.get("rangeMany", "/pipelines/:pipeline/range", {
    params,
    query: { ...manyKeys, ...rangeQuery },
    success: WindowValues,
    error: windowErrors
  }).annotateMerge(describe("Many keys over a range of buckets")),
  HttpApiEndpoint.get("lastMany", "/pipelines/:pipeline/last", {
    params,
    query: { ...manyKeys, ...lastQuery },
    success: WindowValues,
    error: windowErrors
  }).annotateMerge(describe("Many keys over their last n buckets"))
).middleware(Authorization).prefix("/v1").annotateMerge(OpenApi.annotations({ title: "windows" })) {}

/**
 * The pipelines' status, for tools (the page at `/status` shows the same).
 *
 * @category api
 * @since 0.2.0
 */
export class StatusGroup extends HttpApiGroup.make("status").add(
  HttpApiEndpoint.get("get", "/status", { success: Status }).annotateMerge(
    describe("Each pipeline's phase, bootstrap progress, throughput, lag and recent dead letters")
  )
).middleware(Authorization).prefix("/v1").annotateMerge(OpenApi.annotations({ title: "status" })) {}

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
  .add(WindowsGroup)
  .add(StatusGroup)
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
 * `client.windows.last(...)`, `client.status.get()`, `client.health.ready()`.
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

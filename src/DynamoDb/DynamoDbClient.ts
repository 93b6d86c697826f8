/**
 * The DynamoDB client the DynamoDB stores share: one per scope, closed (its sockets ended) when
 * the scope ends, on success, failure and interruption alike.
 *
 * The stores send their requests through {@link Client}, one method taking an operation's name
 * and its input in the SDK's shapes. Two implementations:
 *
 * - the default, DynamoDB's JSON protocol over Node's HTTP agent, signed by the SDK's own SigV4
 *   signer, with the SDK's credential chain when no static credentials are set. It costs the
 *   worker about a third of the SDK client's CPU per request (bench/README.md, "The DynamoDB
 *   client's CPU"), and the SDK client was most of a busy worker's CPU;
 * - {@link fromSdk}, any `DynamoDBClient` of `@aws-sdk/client-dynamodb` (its middleware, retry
 *   strategy and handlers included), chosen with `DDB_TRANSPORT=sdk` or by passing an SDK client
 *   to {@link layerFrom} or to `DynamoDbStore.layerFrom`.
 *
 * Settings come from `Config` (environment variables by default):
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `DDB_ENDPOINT` | (AWS) | endpoint URL, e.g. `http://127.0.0.1:14567` for dynalite |
 * | `AWS_REGION` | `us-east-1` | region |
 * | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | (SDK chain) | static credentials; without them the SDK's default chain (profiles, SSO, instance and container roles) is used |
 * | `DDB_MAX_ATTEMPTS` | `3` | attempts per request, first one included (the SDK's own retries) |
 * | `DDB_REQUEST_TIMEOUT_MS` | `10000` | time limit of one attempt |
 * | `DDB_CONNECT_TIMEOUT_MS` | `3000` | time limit to open a connection |
| `DDB_TRANSPORT` | `http` | `http` (the JSON protocol over Node's HTTP agent) or `sdk` (the SDK client) |
 *
 * Why a small `maxAttempts` and an explicit request timeout: both transports retry throttling,
 * 5xx answers, timeouts and network errors with the SDK's standard jittered backoff, which rides
 * out short blips within one store call. Longer outages are the fold's business: it retries retryable
 * `StoreError`s on its `Schedule` and then fails the run. A request timeout makes a hung
 * connection a retryable error instead of a stuck fiber (the SDK sets none by default). A
 * timed-out write may have been applied: every write of the stores is conditional, so retrying
 * it never applies it twice (see the module doc of the aggregate store).
 *
 * The secret key and session token are read as `Redacted` and are never logged.
 *
 * @since 0.1.0
 */
import {
  type BatchGetItemInput,
  BatchGetItemCommand,
  type BatchGetItemOutput,
  type BatchWriteItemInput,
  BatchWriteItemCommand,
  type BatchWriteItemOutput,
  type CreateTableInput,
  CreateTableCommand,
  type CreateTableOutput,
  type DeleteItemInput,
  DeleteItemCommand,
  type DeleteItemOutput,
  type DeleteTableInput,
  DeleteTableCommand,
  type DeleteTableOutput,
  type DescribeTableInput,
  DescribeTableCommand,
  type DescribeTableOutput,
  DynamoDBClient,
  type DynamoDBClientConfig,
  type GetItemInput,
  GetItemCommand,
  type GetItemOutput,
  type PutItemInput,
  PutItemCommand,
  type PutItemOutput,
  type QueryInput,
  QueryCommand,
  type QueryOutput,
  type ScanInput,
  ScanCommand,
  type ScanOutput,
  type UpdateItemInput,
  UpdateItemCommand,
  type UpdateItemOutput,
  type UpdateTimeToLiveInput,
  UpdateTimeToLiveCommand,
  type UpdateTimeToLiveOutput
} from "@aws-sdk/client-dynamodb"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Http from "./internal/http.ts"

/**
 * The operations the stores send, each with its input and output in the SDK's shapes.
 *
 * @category models
 * @since 0.2.0
 */
export interface Operations {
  readonly BatchGetItem: { readonly input: BatchGetItemInput; readonly output: BatchGetItemOutput }
  readonly BatchWriteItem: { readonly input: BatchWriteItemInput; readonly output: BatchWriteItemOutput }
  readonly CreateTable: { readonly input: CreateTableInput; readonly output: CreateTableOutput }
  readonly DeleteItem: { readonly input: DeleteItemInput; readonly output: DeleteItemOutput }
  readonly DeleteTable: { readonly input: DeleteTableInput; readonly output: DeleteTableOutput }
  readonly DescribeTable: { readonly input: DescribeTableInput; readonly output: DescribeTableOutput }
  readonly GetItem: { readonly input: GetItemInput; readonly output: GetItemOutput }
  readonly PutItem: { readonly input: PutItemInput; readonly output: PutItemOutput }
  readonly Query: { readonly input: QueryInput; readonly output: QueryOutput }
  readonly Scan: { readonly input: ScanInput; readonly output: ScanOutput }
  readonly UpdateItem: { readonly input: UpdateItemInput; readonly output: UpdateItemOutput }
  readonly UpdateTimeToLive: { readonly input: UpdateTimeToLiveInput; readonly output: UpdateTimeToLiveOutput }
}

/**
 * An operation's name.
 *
 * @category models
 * @since 0.2.0
 */
export type Operation = keyof Operations

/**
 * What the stores send their requests with. A refused request rejects with an error shaped as the
 * SDK's (`name` the error type, `$metadata.httpStatusCode`); an aborted `signal` cancels it. Through
 * the default transport, the timestamps of a `DescribeTable` answer are the wire's epoch seconds,
 * not `Date`s (the stores read none of them).
 *
 * @category models
 * @since 0.2.0
 */
export interface Client {
  readonly send: <O extends Operation>(
    operation: O,
    input: Operations[O]["input"],
    signal?: AbortSignal
  ) => Promise<Operations[O]["output"]>
}

/**
 * The client service.
 *
 * @category services
 * @since 0.1.0
 */
export class DynamoDbClient extends Context.Service<DynamoDbClient, Client>()(
  "effect-monoid-streams/DynamoDbClient"
) {}

const COMMANDS: { readonly [O in Operation]: new(input: Operations[O]["input"]) => object } = {
  BatchGetItem: BatchGetItemCommand,
  BatchWriteItem: BatchWriteItemCommand,
  CreateTable: CreateTableCommand,
  DeleteItem: DeleteItemCommand,
  DeleteTable: DeleteTableCommand,
  DescribeTable: DescribeTableCommand,
  GetItem: GetItemCommand,
  PutItem: PutItemCommand,
  Query: QueryCommand,
  Scan: ScanCommand,
  UpdateItem: UpdateItemCommand,
  UpdateTimeToLive: UpdateTimeToLiveCommand
}

/**
 * A {@link Client} sending through an SDK client: its middleware, retry strategy and request
 * handler apply. Its owner destroys it.
 *
 * @category constructors
 * @since 0.2.0
 */
export const fromSdk = (client: DynamoDBClient): Client => ({
  send: (operation, input, signal) =>
    client.send(new COMMANDS[operation](input as never) as never, signal === undefined ? {} : { abortSignal: signal }) as never
})

/**
 * A {@link Client} as it is, an SDK client through {@link fromSdk}.
 *
 * @category constructors
 * @since 0.2.0
 */
export const toClient = (client: Client | DynamoDBClient): Client =>
  "middlewareStack" in client ? fromSdk(client) : client

/**
 * Static credentials.
 *
 * @category models
 * @since 0.1.0
 */
export interface Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: Redacted.Redacted<string>
  readonly sessionToken?: Redacted.Redacted<string> | undefined
}

/**
 * How to reach DynamoDB.
 *
 * @category models
 * @since 0.1.0
 */
export interface Settings {
  /** Endpoint URL; `undefined` for AWS's regional endpoint. */
  readonly endpoint?: string | undefined
  readonly region: string
  /** Static credentials; `undefined` for the SDK's default provider chain. */
  readonly credentials?: Credentials | undefined
  /** Attempts per request, the first one included. Default 3. */
  readonly maxAttempts?: number | undefined
  /** Time limit of one attempt in milliseconds. Default 10 000. */
  readonly requestTimeoutMs?: number | undefined
  /** Time limit to open a connection in milliseconds. Default 3 000. */
  readonly connectTimeoutMs?: number | undefined
  /** `"http"` (default): the JSON protocol over Node's HTTP agent; `"sdk"`: the SDK client. */
  readonly transport?: "http" | "sdk" | undefined
}

const optional = <A>(config: Config.Config<A>) => Config.option(config).pipe(Config.map(Option.getOrUndefined))

/**
 * {@link Settings} from the environment (see the module doc for the variables).
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<Settings> = Config.all({
  endpoint: optional(Config.String("DDB_ENDPOINT")),
  region: Config.String("AWS_REGION").pipe(Config.withDefault("us-east-1")),
  accessKeyId: optional(Config.String("AWS_ACCESS_KEY_ID")),
  secretAccessKey: optional(Config.Redacted("AWS_SECRET_ACCESS_KEY")),
  sessionToken: optional(Config.Redacted("AWS_SESSION_TOKEN")),
  maxAttempts: Config.Int("DDB_MAX_ATTEMPTS").pipe(Config.withDefault(3)),
  requestTimeoutMs: Config.Int("DDB_REQUEST_TIMEOUT_MS").pipe(Config.withDefault(10_000)),
  connectTimeoutMs: Config.Int("DDB_CONNECT_TIMEOUT_MS").pipe(Config.withDefault(3_000)),
  transport: Config.Literals(["http", "sdk"], "DDB_TRANSPORT").pipe(Config.withDefault("http" as const))
}).pipe(Config.map((c): Settings => ({
  endpoint: c.endpoint === "" ? undefined : c.endpoint,
  region: c.region,
  credentials: c.accessKeyId !== undefined && c.accessKeyId !== "" && c.secretAccessKey !== undefined
    ? { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken }
    : undefined,
  maxAttempts: c.maxAttempts,
  requestTimeoutMs: c.requestTimeoutMs,
  connectTimeoutMs: c.connectTimeoutMs,
  transport: c.transport
})))

/**
 * The SDK configuration for `settings`. Its request handler fails an attempt that outlasts
 * `requestTimeoutMs` with a `TimeoutError` (retryable: the SDK and then the fold send it again),
 * as the default transport does: `@smithy/node-http-handler` 4.x only logs a warning on
 * `requestTimeout` unless `throwOnRequestTimeout` is set, and then waits for the socket timeout
 * (300 s for DynamoDB), so a hung connection would hold the fiber that long.
 *
 * @category config
 * @since 0.1.0
 */
export const clientConfig = (settings: Settings): DynamoDBClientConfig => {
  const out: DynamoDBClientConfig = {
    region: settings.region,
    maxAttempts: Math.max(1, settings.maxAttempts ?? 3),
    requestHandler: {
      requestTimeout: settings.requestTimeoutMs ?? 10_000,
      // an error, not a warning, when an attempt outlasts `requestTimeout` (see above)
      throwOnRequestTimeout: true,
      connectionTimeout: settings.connectTimeoutMs ?? 3_000
    }
  }
  if (settings.endpoint !== undefined) out.endpoint = settings.endpoint
  const credentials = settings.credentials
  if (credentials !== undefined) {
    out.credentials = {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: Redacted.value(credentials.secretAccessKey),
      ...(credentials.sessionToken === undefined ? {} : { sessionToken: Redacted.value(credentials.sessionToken) })
    }
  }
  return out
}

/**
 * AWS's regional endpoint of DynamoDB.
 */
const regionalEndpoint = (region: string): URL =>
  new URL(`https://dynamodb.${region}.${region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com"}`)

/**
 * A client for `settings` and the function that closes it, outside an `Effect` scope (for
 * Promise code, tests and benchmarks); {@link make} is the same inside one.
 *
 * @category constructors
 * @since 0.2.0
 */
export const open = (settings: Settings): { readonly client: Client; readonly close: () => void } => {
  if (settings.transport === "sdk") {
    const sdk = new DynamoDBClient(clientConfig(settings))
    return { client: fromSdk(sdk), close: () => sdk.destroy() }
  }
  const static_ = settings.credentials
  // without static credentials, the SDK's default chain (memoized and refreshed by the SDK client)
  const chain = static_ === undefined ? new DynamoDBClient({ region: settings.region }) : undefined
  const transport = Http.make({
    endpoint: settings.endpoint === undefined ? regionalEndpoint(settings.region) : new URL(settings.endpoint),
    region: settings.region,
    credentials: static_ === undefined
      ? () => chain!.config.credentials()
      : {
        accessKeyId: static_.accessKeyId,
        secretAccessKey: Redacted.value(static_.secretAccessKey),
        ...(static_.sessionToken === undefined ? {} : { sessionToken: Redacted.value(static_.sessionToken) })
      },
    maxAttempts: Math.max(1, settings.maxAttempts ?? 3),
    requestTimeoutMs: settings.requestTimeoutMs ?? 10_000,
    connectTimeoutMs: settings.connectTimeoutMs ?? 3_000
  })
  return {
    client: { send: transport.send },
    close: () => {
      transport.close()
      chain?.destroy()
    }
  }
}

/**
 * A client for `settings`, closed when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (settings: Settings) =>
  Effect.acquireRelease(
    Effect.sync(() => open(settings)).pipe(
      Effect.tap(() =>
        Effect.logDebug("DynamoDB client", {
          endpoint: settings.endpoint ?? "(AWS)",
          region: settings.region,
          credentials: settings.credentials === undefined ? "SDK default chain" : "static (from the environment)",
          transport: settings.transport ?? "http"
        })
      )
    ),
    (opened) => Effect.sync(() => opened.close())
  ).pipe(Effect.map((opened) => opened.client))

/**
 * The client service for `settings`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (settings: Settings): Layer.Layer<DynamoDbClient> => Layer.effect(DynamoDbClient, make(settings))

/**
 * The client service from the environment ({@link config}).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<DynamoDbClient, Config.ConfigError> = Layer.unwrap(Effect.map(config, layer))

/**
 * The client service over a client made elsewhere (its owner closes it): a {@link Client}, or an
 * SDK client (through {@link fromSdk}).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFrom = (client: Client | DynamoDBClient): Layer.Layer<DynamoDbClient> =>
  Layer.succeed(DynamoDbClient, toClient(client))

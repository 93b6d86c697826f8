/**
 * The DynamoDB client the DynamoDB stores share: one `DynamoDBClient` per scope, destroyed (its
 * sockets closed) when the scope ends, on success, failure and interruption alike.
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
 *
 * Why a small `maxAttempts` and an explicit request timeout: the SDK retries throttling, 5xx
 * answers, timeouts and network errors with its own jittered backoff, which rides out short blips
 * within one store call. Longer outages are the fold's business: it retries retryable
 * `StoreError`s on its `Schedule` and then fails the run. A request timeout makes a hung
 * connection a retryable error instead of a stuck fiber (the SDK sets none by default). A
 * timed-out write may have been applied: every write of the stores is conditional, so retrying
 * it never applies it twice (see the module doc of the aggregate store).
 *
 * The secret key and session token are read as `Redacted` and are never logged.
 *
 * @since 0.1.0
 */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/**
 * The client service: the SDK client the stores send their commands with.
 *
 * @category services
 * @since 0.1.0
 */
export class DynamoDbClient extends Context.Service<DynamoDbClient, DynamoDBClient>()(
  "effect-monoid-streams/DynamoDbClient"
) {}

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
  connectTimeoutMs: Config.Int("DDB_CONNECT_TIMEOUT_MS").pipe(Config.withDefault(3_000))
}).pipe(Config.map((c): Settings => ({
  endpoint: c.endpoint === "" ? undefined : c.endpoint,
  region: c.region,
  credentials: c.accessKeyId !== undefined && c.accessKeyId !== "" && c.secretAccessKey !== undefined
    ? { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken }
    : undefined,
  maxAttempts: c.maxAttempts,
  requestTimeoutMs: c.requestTimeoutMs,
  connectTimeoutMs: c.connectTimeoutMs
})))

/**
 * The SDK configuration for `settings`.
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
 * A client for `settings`, destroyed when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (settings: Settings) =>
  Effect.acquireRelease(
    Effect.sync(() => new DynamoDBClient(clientConfig(settings))).pipe(
      Effect.tap(() =>
        Effect.logDebug("DynamoDB client", {
          endpoint: settings.endpoint ?? "(AWS)",
          region: settings.region,
          credentials: settings.credentials === undefined ? "SDK default chain" : "static (from the environment)"
        })
      )
    ),
    (client) => Effect.sync(() => client.destroy())
  )

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
 * The client service over a client made elsewhere (its owner destroys it).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFrom = (client: DynamoDBClient): Layer.Layer<DynamoDbClient> => Layer.succeed(DynamoDbClient, client)

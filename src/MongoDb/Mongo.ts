/**
 * MongoDB pieces shared by the snapshot scan ({@link MongoSnapshot}), the handoff capture
 * ({@link MongoHandoff}) and the change-stream source ({@link MongoChangeStream}): the driver's
 * client as a scoped service, connection settings from `Config`, how driver errors are classified
 * (retry, re-bootstrap, give up), and how a BSON document becomes the pipeline's input.
 *
 * @example
 * ```ts
 * import * as Mongo from "effect-monoid-streams/Mongo"
 *
 * // connects when the layer is built, closes when its scope ends (success, failure or interruption)
 * const MongoLive = Mongo.layer({ uri: "mongodb://127.0.0.1:27017/?replicaSet=rs0" })
 * // or from MONGO_URI (a Redacted secret)
 * const MongoFromEnv = Mongo.layerConfig
 * ```
 *
 * @since 0.1.0
 */
import { EJSON } from "bson"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import {
  type Document,
  MongoClient,
  type MongoClientOptions,
  MongoError,
  MongoNetworkError,
  MongoServerError,
  MongoServerSelectionError
} from "mongodb"
import { SourceError } from "../Errors.ts"
import * as DocumentId from "../DocumentId.ts"
import * as ExtendedJson from "../ExtendedJson.ts"
import { errorText } from "../internal/errorText.ts"

/**
 * A connected `MongoClient` (the official driver's), shared by every MongoDB source of a program.
 *
 * @category services
 * @since 0.1.0
 */
export class Client extends Context.Service<Client, {
  readonly client: MongoClient
}>()("effect-monoid-streams/MongoClient") {}

/**
 * A database and collection.
 *
 * @category models
 * @since 0.1.0
 */
export interface Namespace {
  readonly db: string
  readonly collection: string
}

/**
 * `"db.collection"`.
 *
 * @category codecs
 * @since 0.1.0
 */
export const formatNamespace = (ns: Namespace): string => `${ns.db}.${ns.collection}`

/**
 * @category models
 * @since 0.1.0
 */
export interface ConnectOptions {
  /** A MongoDB connection string; give it as `Redacted` when it carries credentials. */
  readonly uri: string | Redacted.Redacted<string>
  /** Passed to the driver (timeouts, TLS, pool sizes...). Never set `serverApi` for mongo-java-server. */
  readonly clientOptions?: MongoClientOptions
}

/**
 * A connection string with its credentials masked, for messages.
 *
 * @category codecs
 * @since 0.1.0
 */
export const maskUri = (uri: string): string => uri.replace(/\/\/[^@/?#]*@/, "//***@")

/**
 * Connects a client; it is closed when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const connect = (options: ConnectOptions) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const uri = Redacted.isRedacted(options.uri) ? Redacted.value(options.uri) : options.uri
        const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, ...options.clientOptions })
        try {
          await client.connect()
        } catch (error) {
          await client.close().catch(() => undefined)
          throw error
        }
        return client
      },
      catch: (cause) => {
        const uri = Redacted.isRedacted(options.uri) ? "<redacted>" : maskUri(options.uri)
        return new SourceError({ source: "mongodb", retryable: isTransient(cause), detail: `connecting to ${uri} failed`, cause })
      }
    }),
    (client) => Effect.promise(() => client.close().catch(() => undefined))
  )

/**
 * The {@link Client} service over a client this layer connects and closes.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: ConnectOptions): Layer.Layer<Client, SourceError> =>
  Layer.effect(Client, Effect.map(connect(options), (client) => Client.of({ client })))

/**
 * The {@link Client} service over a client the caller owns (it is not closed by the layer).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerClient = (client: MongoClient): Layer.Layer<Client> => Layer.succeed(Client, Client.of({ client }))

/**
 * The usual settings of a MongoDB source, from the environment: `MONGO_URI` (secret),
 * `MONGO_DB`, `MONGO_COLLECTION`, `MONGO_BATCH_SIZE` (default 1000).
 *
 * @category config
 * @since 0.1.0
 */
export const config = Config.all({
  uri: Config.Redacted("MONGO_URI"),
  db: Config.String("MONGO_DB"),
  collection: Config.String("MONGO_COLLECTION"),
  batchSize: Config.Int("MONGO_BATCH_SIZE").pipe(Config.withDefault(1000))
})

/**
 * The {@link Client} service connected to `MONGO_URI`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<Client, SourceError | Config.ConfigError> = Layer.unwrap(
  Effect.gen(function*() {
    const uri = yield* Config.Redacted("MONGO_URI")
    return layer({ uri })
  })
)

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

/**
 * Server error codes after which a change stream or cursor may simply be reopened (the driver's
 * own resumable set, plus CursorNotFound).
 */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  43, // CursorNotFound
  63, // StaleShardVersion
  89, // NetworkTimeout
  91, // ShutdownInProgress
  133, // FailedToSatisfyReadPreference
  150, // StaleEpoch
  189, // PrimarySteppedDown
  234, // RetryChangeStream
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13388, // StaleConfig
  13435, // NotPrimaryNoSecondaryOk
  13436 // NotPrimaryOrSecondary
])

/**
 * Server error codes that say a saved change-stream position cannot be used any more.
 */
const POSITION_CODES: ReadonlySet<number> = new Set([
  286, // ChangeStreamHistoryLost: the oplog rolled past the position
  280, // ChangeStreamFatalError: e.g. "the resume token was not found"
  260, // InvalidResumeToken
  136, // CappedPositionLost
  40585, // (older servers) resume token not found
  40615 // (older servers) resume token not found / from another collection
])

const codeOf = (error: unknown): number | undefined =>
  error instanceof MongoError && typeof error.code === "number" ? error.code : undefined


/**
 * `true` for failures that a new attempt may not see: network errors, server selection
 * timeouts, elections, killed cursors, and errors the server labels `ResumableChangeStreamError`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isTransient = (error: unknown): boolean => {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true
  if (!(error instanceof MongoError)) return false
  if (error.hasErrorLabel("ResumableChangeStreamError") || error.hasErrorLabel("RetryableWriteError")) return true
  const code = codeOf(error)
  return code !== undefined && TRANSIENT_CODES.has(code)
}

/**
 * `true` when the server refuses a change-stream start position: the history is gone
 * (`ChangeStreamHistoryLost`, 286), the token is unknown, malformed or expired (280, 260, 136,
 * 40585, 40615, or `FailedToParse` about the token), or, from servers that answer without codes
 * (mongo-java-server), an error whose message is about parsing the token.
 *
 * @category guards
 * @since 0.1.0
 */
export const isPositionLost = (error: unknown): boolean => {
  if (!(error instanceof MongoServerError)) return false
  const code = codeOf(error)
  if (code !== undefined && POSITION_CODES.has(code)) return true
  const about = /resume ?token|resumeAfter|startAfter|startAtOperationTime|radix|cannot parse|expired/i.test(error.message)
  // 9: FailedToParse (e.g. DocumentDB "Invalid resume token"), 72: InvalidOptions (Cosmos DB "Expired resume token")
  return about && (code === undefined || code === 9 || code === 72 || code === 1)
}

/**
 * A driver error as a `SourceError` of `source` (retryable when {@link isTransient}).
 *
 * @category errors
 * @since 0.1.0
 */
export const sourceError = (source: string, detail: string) => (cause: unknown): SourceError =>
  new SourceError({ source, retryable: isTransient(cause), detail, cause })

// ---------------------------------------------------------------------------------------------
// documents
// ---------------------------------------------------------------------------------------------

/**
 * A BSON value as canonical Extended-JSON text (exact: no number is rounded).
 *
 * @category codecs
 * @since 0.1.0
 */
export const toExtendedJson = (value: unknown): string => {
  try {
    return EJSON.stringify(value as Document, { relaxed: false })
  } catch (error) {
    return JSON.stringify({ unprintable: errorText(error) })
  }
}

/**
 * A BSON document read by the driver as a record's parts: its ledger id
 * (`DocumentId.fromBson(_id)`, `undefined` when it has no `_id`) and the document as exact JSON
 * (`ExtendedJson.fromBson`), which each pipeline decodes with its own schema in the fold.
 *
 * @since 0.2.0
 * @category documents
 */
export const readDocument = (doc: Document): { readonly docId: string | undefined; readonly doc: unknown } => ({
  docId: "_id" in doc ? DocumentId.fromBson(doc._id) : undefined,
  doc: ExtendedJson.fromBson(doc)
})

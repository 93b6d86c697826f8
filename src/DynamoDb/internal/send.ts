/**
 * One DynamoDB request as an `Effect`: the command is sent with an `AbortSignal` tied to the fiber
 * (an interrupted fiber cancels its request), and a failure becomes a {@link StoreError} whose
 * `retryable` flag says what it is:
 *
 * - retryable: throttling (`ProvisionedThroughputExceededException`, `ThrottlingException`,
 *   `RequestLimitExceeded`, HTTP 429), server errors (5xx, `InternalServerError`,
 *   `ServiceUnavailable`), transaction conflicts, timeouts and network errors (connection refused or
 *   reset, DNS failures);
 * - not retryable: everything the same request would fail with again: validation errors (a value
 *   too large, a malformed expression), a missing table, denied access or bad credentials, an
 *   unknown operation.
 *
 * A failed condition (`ConditionalCheckFailedException`) is not an error of the store: the callers
 * that send conditional writes get it as {@link ConditionFailed} and decide.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { StoreError } from "../../Store/StoreError.ts"

/**
 * The condition of a conditional write did not hold; nothing was written.
 *
 * @since 0.1.0
 */
export class ConditionFailed extends Data.TaggedError("ConditionFailed")<{ readonly operation: string }> {}

/**
 * What a request is for, for error messages.
 *
 * @since 0.1.0
 */
export interface Target {
  /** The store operation, e.g. `"aggregates.apply"`. */
  readonly operation: string
  /** The table the request addresses. */
  readonly table: string
}

const RETRYABLE_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TransactionConflictException",
  "TransactionInProgressException",
  "ReplicatedWriteConflictException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError"
])

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT"
])

const ACCESS_NAMES = new Set([
  "AccessDeniedException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "MissingAuthenticationTokenException",
  "IncompleteSignature",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "CredentialsProviderError"
])

interface SdkLikeError {
  readonly name?: unknown
  readonly code?: unknown
  readonly message?: unknown
  readonly cause?: unknown
  readonly $retryable?: unknown
  readonly $fault?: unknown
  readonly $metadata?: { readonly httpStatusCode?: number | undefined } | undefined
}

/**
 * Whether a failed request may succeed when sent again.
 *
 * @since 0.1.0
 */
export const isRetryable = (cause: unknown, depth = 0): boolean => {
  if (typeof cause !== "object" || cause === null) return false
  const e = cause as SdkLikeError
  const name = typeof e.name === "string" ? e.name : ""
  if (RETRYABLE_NAMES.has(name)) return true
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) return true
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return true
  const status = e.$metadata?.httpStatusCode
  if (status === 429 || (status !== undefined && status >= 500)) return true
  if (status !== undefined) return false
  if (e.$fault === "server") return true
  return depth < 5 && e.cause !== undefined && isRetryable(e.cause, depth + 1)
}

/**
 * Whether the error is a failed condition of a conditional write.
 *
 * @since 0.1.0
 */
export const isConditionFailed = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && (cause as SdkLikeError).name === "ConditionalCheckFailedException"

const detailOf = (target: Target, cause: unknown): string => {
  const name = typeof cause === "object" && cause !== null ? String((cause as SdkLikeError).name ?? "") : ""
  if (name === "ResourceNotFoundException") {
    return `table "${target.table}" does not exist (or is not active yet): create the tables first ` +
      "(scripts/node dist/src/DynamoDb/createTablesMain.js in this repository, or DynamoDbTables.create)"
  }
  if (ACCESS_NAMES.has(name)) {
    return `access to table "${target.table}" was refused: check the AWS credentials, region and IAM permissions`
  }
  if (name === "ValidationException") return `DynamoDB refused the request to table "${target.table}" as invalid`
  if (name === "UnknownOperationException") return `this DynamoDB endpoint does not implement the operation`
  return `table "${target.table}"`
}

/**
 * The {@link StoreError} of a failed request.
 *
 * @since 0.1.0
 */
export const toStoreError = (target: Target, cause: unknown): StoreError =>
  new StoreError({
    store: "dynamodb",
    operation: target.operation,
    retryable: isRetryable(cause),
    cause,
    detail: detailOf(target, cause)
  })

/**
 * Sends one request. A failed condition is a non-retryable `StoreError` here (use
 * {@link sendConditional} for conditional writes).
 *
 * @since 0.1.0
 */
export const send = <A>(target: Target, request: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({
    try: (signal) => request(signal),
    catch: (cause) => toStoreError(target, cause)
  })

/**
 * Sends one conditional write: a failed condition is a {@link ConditionFailed}.
 *
 * @since 0.1.0
 */
export const sendConditional = <A>(
  target: Target,
  request: (signal: AbortSignal) => Promise<A>
): Effect.Effect<A, StoreError | ConditionFailed> =>
  Effect.tryPromise({
    try: (signal) => request(signal),
    catch: (cause): StoreError | ConditionFailed =>
      isConditionFailed(cause) ? new ConditionFailed({ operation: target.operation }) : toStoreError(target, cause)
  })

/**
 * A store error that is not a request's: a value DynamoDB cannot hold, a corrupt item.
 *
 * @since 0.1.0
 */
export const invalid = (target: Target, detail: string, cause?: unknown): StoreError =>
  new StoreError({ store: "dynamodb", operation: target.operation, retryable: false, detail, cause })

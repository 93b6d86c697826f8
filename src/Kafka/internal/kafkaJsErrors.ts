/**
 * kafkajs failures as {@link Port.KafkaError}s, and the group refusals a commit can meet during a
 * rebalance.
 *
 * kafkajs wraps errors (a protocol error inside a non-retriable error inside a retries-exceeded
 * error), so every check walks the `cause` / `originalError` chain.
 *
 * @since 0.1.0
 */
import * as Port from "../KafkaPort.ts"

/** The protocol errors with which a group refuses a commit because of a rebalance. */
const REBALANCE = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
  "NOT_COORDINATOR_FOR_GROUP",
  "NOT_COORDINATOR",
  "FENCED_INSTANCE_ID"
])

const RETRYABLE_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSNumberOfRetriesExceeded",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSBrokerNotFound",
  "KafkaJSGroupCoordinatorNotFound",
  "KafkaJSLockTimeout",
  "KafkaJSTimeout",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSTopicMetadataNotLoaded"
])

interface ErrorLike {
  readonly name?: unknown
  readonly type?: unknown
  readonly retriable?: unknown
  readonly message?: unknown
  readonly cause?: unknown
  readonly originalError?: unknown
}

/** The error and its causes (kafkajs wraps errors in `cause` and `originalError`). */
const chain = (error: unknown): Array<ErrorLike> => {
  const out: Array<ErrorLike> = []
  let current: unknown = error
  while (typeof current === "object" && current !== null && out.length < 8 && !out.includes(current as ErrorLike)) {
    const e = current as ErrorLike
    out.push(e)
    current = e.cause ?? e.originalError
  }
  return out
}

/**
 * The protocol error type when `error` is a group refusal caused by a rebalance
 * (`REBALANCE_IN_PROGRESS`, `ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`, `NOT_COORDINATOR`, ...).
 *
 * @since 0.1.0
 */
export const rebalanceErrorType = (error: unknown): string | undefined => {
  for (const e of chain(error)) if (typeof e.type === "string" && REBALANCE.has(e.type)) return e.type
  return undefined
}

/**
 * `true` for kafkajs errors that may succeed later (connection, timeout, leader or coordinator
 * moving).
 *
 * @since 0.1.0
 */
export const isRetryable = (error: unknown): boolean =>
  chain(error).some((e) => e.retriable === true || (typeof e.name === "string" && RETRYABLE_NAMES.has(e.name)))

const describe = (error: unknown): string => {
  const parts = chain(error).map((e) => [e.name, e.type, e.message].filter((x) => typeof x === "string" && x.length > 0).join(" "))
  return parts.filter((p) => p.length > 0).join(" <- ") || String(error)
}

/**
 * A kafkajs failure as a {@link Port.KafkaError}.
 *
 * @since 0.1.0
 */
export const toKafkaError = (operation: string) => (cause: unknown): Port.KafkaError =>
  new Port.KafkaError({ operation, retryable: isRetryable(cause), detail: describe(cause), cause })

/**
 * `true` when kafkajs refused a commit because its consumer is not running (stopped, crashed).
 *
 * @since 0.1.0
 */
export const isStopped = (error: unknown): boolean =>
  chain(error).some((e) => typeof e.message === "string" && e.message.includes("consumer#run must be called first"))

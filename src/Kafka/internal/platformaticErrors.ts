/**
 * `@platformatic/kafka` failures as {@link Port.KafkaError}s, and the group refusals a commit can
 * meet during a rebalance.
 *
 * The client nests errors (a protocol error inside a response error inside a "failed N times"
 * error), so every check walks the `cause` / `errors` tree.
 *
 * @since 0.1.0
 */
import * as Port from "../KafkaPort.ts"

/** The protocol errors with which a group refuses a commit because of a rebalance. */
const REBALANCE = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
  "NOT_COORDINATOR",
  "COORDINATOR_NOT_AVAILABLE",
  "COORDINATOR_LOAD_IN_PROGRESS",
  "FENCED_INSTANCE_ID"
])

interface ErrorLike {
  readonly code?: unknown
  readonly apiId?: unknown
  readonly canRetry?: unknown
  readonly message?: unknown
  readonly cause?: unknown
  readonly errors?: unknown
}

/** The error and everything it wraps, depth first (bounded). */
const tree = (error: unknown): Array<ErrorLike> => {
  const out: Array<ErrorLike> = []
  const visit = (u: unknown): void => {
    if (typeof u !== "object" || u === null || out.length >= 32 || out.includes(u as ErrorLike)) return
    const e = u as ErrorLike
    out.push(e)
    if (Array.isArray(e.errors)) for (const inner of e.errors) visit(inner)
    visit(e.cause)
  }
  visit(error)
  return out
}

/**
 * The protocol error id when `error` is a group refusal caused by a rebalance.
 *
 * @since 0.1.0
 */
export const rebalanceErrorType = (error: unknown): string | undefined => {
  for (const e of tree(error)) if (typeof e.apiId === "string" && REBALANCE.has(e.apiId)) return e.apiId
  return undefined
}

/**
 * The protocol error id of `error` when it is `id` (anywhere in the tree).
 *
 * @since 0.1.0
 */
export const hasProtocolError = (error: unknown, id: string): boolean => tree(error).some((e) => e.apiId === id)

/**
 * `true` for failures that may succeed later (network, timeout, retriable protocol errors).
 *
 * @since 0.1.0
 */
export const isRetryable = (error: unknown): boolean =>
  tree(error).some((e) =>
    e.code === "PLT_KFK_NETWORK" || e.code === "PLT_KFK_TIMEOUT" || (e.code === "PLT_KFK_PROTOCOL" && e.canRetry === true)
  )

const describe = (error: unknown): string => {
  const parts = tree(error).map((e) =>
    [e.apiId, e.message].filter((x) => typeof x === "string" && x.length > 0).join(" ")
  )
  return parts.filter((p) => p.length > 0).join(" <- ") || String(error)
}

/**
 * A `@platformatic/kafka` failure as a {@link Port.KafkaError}.
 *
 * @since 0.1.0
 */
export const toKafkaError = (operation: string) => (cause: unknown): Port.KafkaError =>
  cause instanceof Port.KafkaError
    ? cause
    : new Port.KafkaError({ operation, retryable: isRetryable(cause), detail: describe(cause), cause })

/**
 * Readiness: the store answers a read (one key of the first pipeline served, or of a probe target
 * whose name no pipeline can have), and the readiness effect the worker supplies, if any,
 * succeeds. Each check runs under a time limit; a check that fails or times out makes the server
 * not ready, with the reason (logged whole at Debug).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Monoid from "../../Monoid.ts"
import { Aggregates, type Target } from "../../Store/Aggregates.ts"
import { StoreError } from "../../Store/StoreError.ts"
import type { Check } from "../QueryApi.ts"
import type { Catalog } from "./catalog.ts"
import { errorText } from "../../internal/errorText.ts"

type CheckResult = typeof Check.Type

/** "@" names are reserved to the library (`Pipeline.make` refuses them): no pipeline's aggregates are read. */
const probeTarget: Target<number> = { name: "@health", monoid: Monoid.sum }

const PROBE_KEY = "@ready"

/**
 * What a failed check says: a store error by its operation only (its message may name hosts and
 * tables, and the health routes need no token), anything else by its message.
 */
const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof StoreError) return `the store failed to answer (${error.store}.${error.operation})`
  return errorText(error)
}

/** Runs `effect` as the check `name` within `timeout`; a failure is logged at Debug (probes come every few seconds). */
const check = (name: string, effect: Effect.Effect<unknown, unknown>, timeout: Duration.Duration): Effect.Effect<CheckResult> =>
  effect.pipe(
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () => Effect.fail(new Error(`no answer within ${Duration.format(timeout)}`))
    }),
    Effect.exit,
    Effect.flatMap((exit) =>
      Exit.isSuccess(exit)
        ? Effect.succeed<CheckResult>({ name, ok: true })
        : Effect.as(Effect.logDebug(`query server: readiness check ${name} failed`, exit.cause), { name, ok: false, detail: describe(exit.cause) })
    )
  )

/** The readiness checks of a server. */
export interface Readiness {
  /** Every check, in order. */
  readonly run: Effect.Effect<ReadonlyArray<CheckResult>>
}

/** The checks: the store, then `readiness` when given. */
export const make = <R>(
  catalog: Catalog,
  readiness: Effect.Effect<unknown, unknown, R> | undefined,
  timeout: Duration.Duration
): Effect.Effect<Readiness, never, Aggregates | R> =>
  Effect.gen(function*() {
    const aggregates = yield* Aggregates
    const context = yield* Effect.context<R>()
    const target = catalog.entries[0]?.pipeline ?? probeTarget
    const store = check("store", aggregates.get(target, [PROBE_KEY]), timeout)
    const worker = readiness === undefined ? undefined : check("readiness", Effect.provideContext(readiness, context), timeout)
    return {
      run: worker === undefined ? Effect.map(store, (s) => [s]) : Effect.all([store, worker], { concurrency: 2 })
    }
  })

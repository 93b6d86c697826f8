/**
 * Fault injection around real store services: a simulated crash at the N-th store call, either
 * before the call reaches the store or right after the store applied it (the response is lost).
 * The wrapped services are the real ones; only the crash is injected.
 */
import { Context, Data, Effect, Layer } from "effect"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import { Tokens } from "../../src/Store/Tokens.ts"

export class Crash extends Data.TaggedError("Crash")<{ readonly call: number; readonly mode: "before" | "after"; readonly operation: string }> {}

export interface CrashPlan {
  /** 1-based index of the store call that crashes */
  readonly at: number
  readonly mode: "before" | "after"
}

export type Services = Aggregates | Ledger | Tokens | DeadLetters

/** Wraps every store call; `plan` undefined = no crash. `calls` counts the calls made. */
export const crashing = <E, R>(base: Layer.Layer<Services, E, R>, plan: CrashPlan | undefined, calls: { n: number } = { n: 0 }) =>
  Layer.effectContext(
    Effect.gen(function*() {
      const agg = yield* Aggregates
      const led = yield* Ledger
      const tok = yield* Tokens
      const dl = yield* DeadLetters
      const guard = <A, E2>(operation: string, effect: Effect.Effect<A, E2>): Effect.Effect<A, E2> =>
        Effect.suspend(() => {
          const call = ++calls.n
          if (plan === undefined || call !== plan.at) return effect
          if (plan.mode === "before") return Effect.die(new Crash({ call, mode: "before", operation }))
          return Effect.flatMap(effect, () => Effect.die(new Crash({ call, mode: "after", operation })))
        })
      return Context.make(Aggregates, {
        apply: (t, u) => guard("aggregates.apply", agg.apply(t, u)),
        get: (t, k) => guard("aggregates.get", agg.get(t, k)),
        all: (t) => agg.all(t)
      }).pipe(
        Context.add(Ledger, {
          get: (t, ids) => guard("ledger.get", led.get(t, ids)),
          put: (t, e) => guard("ledger.put", led.put(t, e))
        }),
        Context.add(Tokens, {
          get: (p, n) => guard("tokens.get", tok.get(p, n)),
          set: (p, n, v) => guard("tokens.set", tok.set(p, n, v))
        }),
        Context.add(DeadLetters, {
          write: (r) => guard("deadLetters.write", dl.write(r)),
          list: (p) => dl.list(p)
        })
      )
    })
  ).pipe(Layer.provide(base))

/**
 * Fault injection around real store services: a simulated crash at the N-th store call, either
 * before the call reaches the store, right after the store applied it (the response is lost), or
 * half-way through a write of several items (`partial`: the first half of the aggregate updates
 * or ledger entries is written, then the process dies), as a store that writes item by item
 * (DynamoDB) leaves it. The wrapped services are the real ones; only the crash is injected.
 */
import { Context, Data, Effect, Layer, Option } from "effect"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import { Transactions } from "../../src/Store/Transactions.ts"

export class Crash extends Data.TaggedError("Crash")<{ readonly call: number; readonly mode: CrashPlan["mode"]; readonly operation: string }> {}

export interface CrashPlan {
  /** 1-based index of the store call that crashes (of the calls of `operation`, when given) */
  readonly at: number
  /** Count only the calls of this operation (`"ledger.put"`, say). */
  readonly operation?: string
  readonly mode: "before" | "after" | "partial"
}

export type Services = Aggregates | Ledger | Tokens | DeadLetters

/**
 * Wraps every store call; `plan` undefined = no crash. `calls` counts the calls made. The store's
 * `Transactions`, if it has them, are passed on unless `transactions` is false (each call is then
 * its own unit, as on a store without them).
 */
export const crashing = <E, R>(
  base: Layer.Layer<Services, E, R>,
  plan: CrashPlan | undefined,
  calls: { n: number } = { n: 0 },
  options: { readonly transactions?: boolean | undefined } = {}
) =>
  Layer.effectContext(
    Effect.gen(function*() {
      const agg = yield* Aggregates
      const led = yield* Ledger
      const tok = yield* Tokens
      const dl = yield* DeadLetters
      const tx = options.transactions === false ? Option.none() : yield* Effect.serviceOption(Transactions)
      const ops = { n: 0 }
      /** `half` writes part of the call's items (a partial crash); calls without items crash before. */
      const guard = <A, E2>(operation: string, effect: Effect.Effect<A, E2>, half?: Effect.Effect<unknown, E2>): Effect.Effect<A, E2> =>
        Effect.suspend(() => {
          const call = ++calls.n
          if (plan === undefined) return effect
          if (plan.operation !== undefined) {
            if (operation !== plan.operation) return effect
            ops.n++
            if (ops.n !== plan.at) return effect
          } else if (call !== plan.at) return effect
          const crash = Effect.die(new Crash({ call, mode: plan.mode, operation }))
          if (plan.mode === "before" || (plan.mode === "partial" && half === undefined)) return crash
          return Effect.flatMap(plan.mode === "after" ? effect : half!, () => crash)
        })
      const firstHalf = <A>(items: ReadonlyArray<A>): ReadonlyArray<A> => items.slice(0, Math.ceil(items.length / 2))
      return Context.make(Aggregates, {
        apply: (t, u) => guard("aggregates.apply", agg.apply(t, u), agg.apply(t, firstHalf(u))),
        get: (t, k) => guard("aggregates.get", agg.get(t, k)),
        all: (t) => agg.all(t)
      }).pipe(
        Context.add(Ledger, {
          get: (t, ids) => guard("ledger.get", led.get(t, ids)),
          put: (t, e) => guard("ledger.put", led.put(t, e), led.put(t, new Map(firstHalf(Array.from(e)))))
        }),
        Context.add(Tokens, {
          get: (p, n) => guard("tokens.get", tok.get(p, n)),
          set: (p, n, v) => guard("tokens.set", tok.set(p, n, v))
        }),
        Context.add(DeadLetters, {
          write: (r) => guard("deadLetters.write", dl.write(r)),
          list: (p) => dl.list(p)
        }),
        (context) => Option.isSome(tx) ? Context.add(context, Transactions, tx.value) : context
      )
    })
  ).pipe(Layer.provide(base))

/**
 * Store layers that count round trips (calls) while delegating to the real services (and passing
 * on the store's `Transactions`, if it has them).
 */
import { Context, Effect, Layer, Option } from "effect"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import { Ledger } from "../../src/Store/Ledger.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import { Transactions } from "../../src/Store/Transactions.ts"

export interface Counter {
  calls: number
  keysWritten: number
  /** ledger entries written (counted when present) */
  ledgerEntries?: number
}

export type Services = Aggregates | Ledger | Tokens | DeadLetters

export const counting = <E, R>(base: Layer.Layer<Services, E, R>, counter: Counter) =>
  Layer.effectContext(
    Effect.gen(function*() {
      const agg = yield* Aggregates
      const led = yield* Ledger
      const tok = yield* Tokens
      const dl = yield* DeadLetters
      const tx = yield* Effect.serviceOption(Transactions)
      const count = <A, E2>(e: Effect.Effect<A, E2>) => Effect.suspend(() => (counter.calls++, e))
      return Context.make(Aggregates, {
        apply: (t, u) => count(agg.apply(t, u)).pipe(Effect.tap((s) => Effect.sync(() => (counter.keysWritten += s.written)))),
        get: (t, k) => count(agg.get(t, k)),
        all: (t) => count(agg.all(t))
      }).pipe(
        Context.add(Ledger, {
          get: (t, i) => count(led.get(t, i)),
          put: (t, e) => count(led.put(t, e)).pipe(Effect.tap(() => Effect.sync(() => {
            if (counter.ledgerEntries !== undefined) counter.ledgerEntries += e.size
          })))
        }),
        Context.add(Tokens, { get: (p, n) => count(tok.get(p, n)), set: (p, n, v) => count(tok.set(p, n, v)) }),
        Context.add(DeadLetters, { write: (r) => count(dl.write(r)), list: (p) => count(dl.list(p)) }),
        (context) => Option.isSome(tx) ? Context.add(context, Transactions, tx.value) : context
      )
    })
  ).pipe(Layer.provide(base))

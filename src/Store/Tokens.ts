/**
 * The token store: small JSON documents per pipeline that say where things are.
 *
 * The runtime keeps the bootstrap's state and handoff position under `"bootstrap"`, and every
 * source keeps its committed position under `"position:<source name>"`. Sources whose replay is
 * not byte-identical (a collection scan, a change stream with looked-up documents) keep the batch
 * being applied under `"staged:<source name>"` until it is committed.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { StoreError } from "./StoreError.ts"

/**
 * @category services
 * @since 0.1.0
 */
export class Tokens extends Context.Service<Tokens, {
  readonly get: (pipeline: string, name: string) => Effect.Effect<Option.Option<unknown>, StoreError>
  /** Sets a JSON value; `undefined` removes it. */
  readonly set: (pipeline: string, name: string, value: unknown) => Effect.Effect<void, StoreError>
}>()("effect-monoid-streams/Tokens") {}

/**
 * What one raw document contributes to a pipeline, computed directly from the pipeline's own
 * functions (schema, filter, key or keys, value, window), without the planner: the reference the
 * admin operations check the store and the dead letters against.
 *
 * @internal
 */
import type { Mode, Pipeline } from "../../Pipeline.ts"
import * as Window from "../../Window.ts"
import * as Decoder from "../../internal/decoder.ts"
import { notAKey, outsideDomain } from "../../internal/domain.ts"
import { errorText } from "../../internal/errorText.ts"

/** The keys and value of a document (no keys: filtered out, or its bucket has expired). */
export interface Contribution<V> {
  readonly keys: ReadonlyArray<string>
  readonly value: V
}

/** A document the pipeline refuses, and why. */
export interface Refusal {
  readonly reason: string
}


/** The contribution of the raw document `doc` (exact JSON) to `pipeline` at `now` (ms), or why it has none. */
export const of = <In, V>(pipeline: Pipeline<In, V, Mode>, doc: unknown, now: number): Contribution<V> | Refusal => {
  const decoded = Decoder.of(pipeline.schema)(doc)
  if (decoded instanceof Decoder.Refused) return { reason: decoded.reason }
  const input = decoded as In
  const none: Contribution<V> = { keys: [], value: pipeline.monoid.empty }
  let found: Contribution<V>
  try {
    if (pipeline.filter !== undefined && !pipeline.filter(input)) return none
    const keys = pipeline.key !== undefined ? [pipeline.key(input)] : pipeline.keys(input)
    // as the planner: a key that is not a string (a key function that escaped its type) is refused
    const bad = keys.findIndex((k) => typeof k !== "string")
    if (bad >= 0) return { reason: notAKey(keys[bad]) }
    const window = pipeline.window
    if (window === undefined) found = { keys, value: pipeline.value(input) }
    else {
      const bucket = Window.bucketOf(window, input)
      if (typeof bucket === "string") return { reason: bucket }
      const expiry = Window.expiresAt(window, bucket)
      if (expiry !== undefined && expiry <= now) return none
      found = { keys: keys.map((k) => Window.key(k, bucket.id)), value: pipeline.value(input) }
    }
  } catch (error) {
    return { reason: `the pipeline's key or value function threw: ${errorText(error)}` }
  }
  // the planner refuses a value its monoid's check refuses
  try {
    pipeline.monoid.check?.(found.value)
  } catch (error) {
    return { reason: outsideDomain(error) }
  }
  return found
}

/** `true` for a refusal. */
export const isRefusal = <V>(c: Contribution<V> | Refusal): c is Refusal => "reason" in c

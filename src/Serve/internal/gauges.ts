/**
 * Gauges the query server computes itself, set just before each `/metrics` rendering (the fold's
 * counters per pipeline and source, records in, stale, dead-lettered, keys written, are effect
 * metrics already and appear as they are):
 *
 * - `monoid_serve_ready`: 1 when the readiness checks pass, else 0;
 * - `monoid_serve_pipeline_info{pipeline, mode, values, windowed}`: 1 per pipeline served (an
 *   info metric, to join on);
 * - with `storeGauges`: `monoid_serve_aggregates{pipeline}`, the keys whose aggregate is not the
 *   monoid's identity (as `PipelineStatus` counts them: a key retracted to it keeps its row), and
 *   `monoid_serve_dead_letters{pipeline}`, the dead letters it holds (when the `DeadLetters`
 *   service is there). Both are full reads of the store (a scan on DynamoDB), so they are
 *   refreshed at most once per `every`; a read that fails leaves the previous values.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import { heldKeys } from "../../internal/held.ts"
import { Aggregates } from "../../Store/Aggregates.ts"
import { DeadLetters } from "../../Store/DeadLetters.ts"
import type { Catalog } from "./catalog.ts"
import type { Readiness } from "./health.ts"

const ready = Metric.gauge("monoid_serve_ready", { description: "1 when the query server is ready (store read and readiness check), else 0" })
const pipelineInfo = Metric.gauge("monoid_serve_pipeline_info", { description: "1 for each pipeline the query server serves" })
const aggregatesHeld = Metric.gauge("monoid_serve_aggregates", { description: "keys whose aggregate is not the identity, per pipeline" })
const deadLettersHeld = Metric.gauge("monoid_serve_dead_letters", { description: "dead letters the store holds, per pipeline" })

/** What {@link make} needs. */
export interface Options {
  /** Refresh the store gauges at most once per this. `undefined`: no store gauges. */
  readonly storeGaugesEvery: Duration.Duration | undefined
}

/** Sets the gauges; run before each rendering. */
export const make = (catalog: Catalog, readiness: Readiness, options: Options) =>
  Effect.gen(function*() {
    const aggregates = yield* Aggregates
    const deadLetters = yield* Effect.serviceOption(DeadLetters)
    let lastStoreRead = Number.NEGATIVE_INFINITY

    const info = Effect.forEach(catalog.entries, (entry) =>
      Metric.update(
        Metric.withAttributes(pipelineInfo, {
          pipeline: entry.info.name,
          mode: entry.info.mode,
          values: entry.info.values,
          windowed: String(entry.info.windowed)
        }),
        1
      ), { discard: true })

    const storeGauges = Effect.forEach(catalog.entries, (entry) =>
      Effect.gen(function*() {
        const attributes = { pipeline: entry.info.name }
        const held = heldKeys(yield* aggregates.all(entry.pipeline), entry.pipeline.monoid.empty)
        yield* Metric.update(Metric.withAttributes(aggregatesHeld, attributes), held)
        if (Option.isSome(deadLetters)) {
          const letters = yield* deadLetters.value.list(entry.info.name)
          yield* Metric.update(Metric.withAttributes(deadLettersHeld, attributes), letters.length)
        }
      }).pipe(Effect.catch((e) => Effect.logWarning(`metrics: the store gauges of pipeline ${entry.info.name} were not read`, e))), { discard: true })

    const refreshStore = Effect.gen(function*() {
      const every = options.storeGaugesEvery
      if (every === undefined) return
      const now = yield* Clock.currentTimeMillis
      if (now - lastStoreRead < Duration.toMillis(every)) return
      lastStoreRead = now
      yield* storeGauges
    })

    return Effect.gen(function*() {
      const checks = yield* readiness.run
      yield* Metric.update(ready, checks.every((c) => c.ok) ? 1 : 0)
      yield* info
      yield* refreshStore
    })
  })

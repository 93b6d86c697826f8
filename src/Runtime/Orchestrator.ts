/**
 * Bootstrap, then live: the orchestration of one pipeline over its two sources.
 *
 * 1. Read the bootstrap state from the token store.
 * 2. No state: capture the handoff position P0 and save it with phase `"scanning"` before the
 *    scan starts (so a crashed bootstrap resumes with the same P0).
 * 3. Phase `"scanning"`: fold the snapshot source (it resumes after its last committed row), then
 *    save phase `"done"`.
 * 4. Fold the live source, which starts at P0 (or after its own last commit).
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { ConfigurationError, type PipelineError } from "../Errors.ts"
import type { Handoff } from "../Handoff.ts"
import type { Mode, Pipeline } from "../Pipeline.ts"
import type { Source } from "../Source/Source.ts"
import type { Aggregates } from "../Store/Aggregates.ts"
import type { DeadLetters } from "../Store/DeadLetters.ts"
import type { Ledger } from "../Store/Ledger.ts"
import type { StoreError } from "../Store/StoreError.ts"
import { Tokens } from "../Store/Tokens.ts"
import * as Version from "../Version.ts"
import * as Fold from "./Fold.ts"

/**
 * How one pipeline is bootstrapped and kept live.
 *
 * @since 0.1.0
 */
export interface Spec<In, V, E, R> {
  readonly pipeline: Pipeline<In, V, Mode>
  /** Captures the live position P0; runs once per bootstrap, before the scan. */
  readonly handoff: Effect.Effect<Handoff, E, R>
  /** The snapshot source, starting from the handoff. Without one, live starts at P0 at once. */
  readonly bootstrap?: ((handoff: Handoff) => Source<In, E, R>) | undefined
  /** The live source, starting from the handoff. */
  readonly live?: ((handoff: Handoff) => Source<In, E, R>) | undefined
  readonly options?: Fold.Options | undefined
}

/**
 * What the token store holds under `"bootstrap"`.
 *
 * @since 0.1.0
 */
export interface BootstrapState {
  readonly phase: "scanning" | "done"
  readonly handoff: Handoff
  readonly startedAt: number
  readonly finishedAt?: number | undefined
}

/**
 * @since 0.1.0
 */
export interface Result {
  readonly handoff: Handoff
  readonly bootstrap: Fold.Summary | undefined
  readonly live: Fold.Summary | undefined
}

type Services = Aggregates | Ledger | Tokens | DeadLetters

const TOKEN = "bootstrap"

const decodeState = (u: unknown): BootstrapState | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const s = u as Record<string, unknown>
  const h = s.handoff as Record<string, unknown> | undefined
  const v = h?.version
  if ((s.phase !== "scanning" && s.phase !== "done") || !Array.isArray(v) || typeof v[0] !== "number" || typeof v[1] !== "number") {
    return undefined
  }
  return {
    phase: s.phase,
    handoff: { version: Version.make(v[0], v[1]), live: h?.live ?? null, capturedAt: Number(h?.capturedAt ?? 0) },
    startedAt: Number(s.startedAt ?? 0),
    finishedAt: typeof s.finishedAt === "number" ? s.finishedAt : undefined
  }
}

/**
 * The bootstrap state of a pipeline, if a bootstrap was ever started.
 *
 * @since 0.1.0
 */
export const state = (
  pipeline: string,
  retry: Fold.Options["retry"] = Fold.defaultRetry
): Effect.Effect<Option.Option<BootstrapState>, StoreError | ConfigurationError, Tokens> =>
  Effect.gen(function*() {
    const tokens = yield* Tokens
    const saved = yield* tokens.get(pipeline, TOKEN).pipe(Fold.retrying(retry))
    if (Option.isNone(saved)) return Option.none()
    const decoded = decodeState(saved.value)
    if (decoded === undefined) {
      return yield* new ConfigurationError({ detail: `the bootstrap state of pipeline ${pipeline} in the token store is unreadable` })
    }
    return Option.some(decoded)
  })

/**
 * Runs (or resumes, or skips when done) the bootstrap. Returns the handoff and the scan's totals
 * (`undefined` when the bootstrap had already finished).
 *
 * @since 0.1.0
 */
export const bootstrap = <In, V, E, R>(spec: Spec<In, V, E, R>) =>
  Effect.gen(function*() {
    const tokens = yield* Tokens
    const name = spec.pipeline.name
    const retry = Fold.retrying(spec.options?.retry)
    let current = Option.getOrUndefined(yield* state(name, spec.options?.retry))
    if (current === undefined) {
      const handoff = yield* spec.handoff
      current = { phase: spec.bootstrap === undefined ? "done" : "scanning", handoff, startedAt: Date.now() }
      yield* tokens.set(name, TOKEN, current).pipe(retry)
      yield* Effect.logInfo(`handoff captured at version ${Version.format(handoff.version)}`)
    }
    if (current.phase === "done" || spec.bootstrap === undefined) return { handoff: current.handoff, summary: undefined }
    yield* Effect.logInfo(`bootstrap of ${name} from ${Version.format(current.handoff.version)}`)
    const summary = yield* Fold.run(spec.pipeline, spec.bootstrap(current.handoff), spec.options)
    yield* tokens.set(name, TOKEN, { ...current, phase: "done", finishedAt: Date.now() }).pipe(retry)
    yield* Effect.logInfo(`bootstrap of ${name} done: ${summary.records} records, ${summary.rejected} dead-lettered, ${summary.elapsedMs} ms`)
    return { handoff: current.handoff, summary }
  }).pipe(Effect.withSpan("Orchestrator.bootstrap", { attributes: { pipeline: spec.pipeline.name } }))

/**
 * Runs the live source from the saved handoff. Fails with a `ConfigurationError` when no bootstrap
 * has finished yet (the live worker must not start before the snapshot is in).
 *
 * @since 0.1.0
 */
export const live = <In, V, E, R>(spec: Spec<In, V, E, R>) =>
  Effect.gen(function*() {
    const current = Option.getOrUndefined(yield* state(spec.pipeline.name, spec.options?.retry))
    if (current === undefined || current.phase !== "done") {
      return yield* new ConfigurationError({
        detail: `pipeline ${spec.pipeline.name}: the bootstrap has not finished; run it before the live worker`
      })
    }
    if (spec.live === undefined) return { handoff: current.handoff, summary: undefined }
    const summary = yield* Fold.run(spec.pipeline, spec.live(current.handoff), spec.options)
    return { handoff: current.handoff, summary }
  }).pipe(Effect.withSpan("Orchestrator.live", { attributes: { pipeline: spec.pipeline.name } }))

/**
 * Bootstrap (or resume it), then live.
 *
 * @since 0.1.0
 */
export const run = <In, V, E, R>(
  spec: Spec<In, V, E, R>
): Effect.Effect<Result, E | StoreError | PipelineError | ConfigurationError, R | Services> =>
  Effect.gen(function*() {
    const boot = yield* bootstrap(spec)
    const liveRun = yield* live(spec)
    return { handoff: boot.handoff, bootstrap: boot.summary, live: liveRun.summary }
  })

/**
 * Bootstrap, then live: the orchestration of several pipelines over one pair of sources, in one
 * pass each (one scan, one change stream or consumer group, whatever the number of pipelines).
 *
 * 1. Read each pipeline's bootstrap state from the token store.
 * 2. Pipelines without a state: capture one handoff position P0 for all of them and save it with
 *    phase `"scanning"` before the scan starts (so a crashed bootstrap resumes with the same P0);
 *    then fold the snapshot source into all of them at once and save phase `"done"`.
 *    Pipelines `"scanning"` (a crashed bootstrap) resume their scan with their own saved P0. A
 *    pipeline added to a deployment later is bootstrapped this way, on its own scan and P0, while
 *    the others keep what they have; its P0 must be captured when it is added (a handoff equal to
 *    another bootstrap's is refused with a `ConfigurationError`: its scan would read nothing), and
 *    the live source must not have committed past that P0 (true of a handoff captured from the
 *    live source itself, not of a fixed one).
 * 3. Fold the live source into every pipeline. It starts after its own last commit, or at the
 *    earliest handoff among the pipelines; each pipeline folds with its own handoff version.
 *
 * The types hold the pipelines to the sources: a live source of changes takes only `"changes"`
 * pipelines (see `Fold.Accepts`).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ConfigurationError, type PipelineError } from "../Errors.ts"
import type { Handoff } from "../Handoff.ts"
import type { Kind, Source } from "../Source.ts"
import type { Aggregates } from "../Store/Aggregates.ts"
import type { DeadLetters } from "../Store/DeadLetters.ts"
import type { Ledger } from "../Store/Ledger.ts"
import type { StoreError } from "../Store/StoreError.ts"
import { Tokens } from "../Store/Tokens.ts"
import * as TokenKeys from "../internal/tokenKeys.ts"
import * as Version from "../Version.ts"
import * as Fold from "./Fold.ts"
import * as Pipeline from "../Pipeline.ts"
import type { Mode } from "../Pipeline.ts"
import * as ReplaySource from "../internal/replaySource.ts"

/**
 * How some pipelines are bootstrapped and kept live.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spec<K extends Kind, E, R> {
  readonly pipelines: ReadonlyArray<Fold.Accepts<K>>
  /** Captures the live position P0; runs once per bootstrap, before the scan. */
  readonly handoff: Effect.Effect<Handoff, E, R>
  /** The snapshot source, starting from the handoff. Without one, live starts at P0 at once. */
  readonly bootstrap?: ((handoff: Handoff) => Source<K | "events", E, R>) | undefined
  /** The live source, starting from the (earliest) handoff when it has no position of its own. */
  readonly live?: ((handoff: Handoff) => Source<K, E, R>) | undefined
  readonly options?: Fold.Options | undefined
}

/**
 * What the token store holds under `"bootstrap"` for a pipeline.
 *
 * @since 0.1.0
 * @category models
 */
export interface BootstrapState extends TokenKeys.BootstrapState {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Result {
  /** The earliest handoff among the pipelines (where the live source starts without a position). */
  readonly handoff: Handoff
  /** Each pipeline's handoff. */
  readonly handoffs: Readonly<Record<string, Handoff>>
  readonly bootstrap: Fold.Summary | undefined
  readonly live: Fold.Summary | undefined
}

type Services = Aggregates | Ledger | Tokens | DeadLetters

const saveState = (pipeline: string, s: BootstrapState) =>
  Effect.gen(function*() {
    const tokens = yield* Tokens
    const key = TokenKeys.bootstrap(pipeline)
    yield* tokens.set(key.scope, key.name, s)
  })

/**
 * The bootstrap state of a pipeline, if a bootstrap was ever started.
 *
 * @since 0.1.0
 * @category state
 */
export const state = (
  pipeline: string,
  retry: Fold.Options["retry"] = Fold.defaultRetry
): Effect.Effect<Option.Option<BootstrapState>, StoreError | ConfigurationError, Tokens> =>
  Effect.gen(function*() {
    const tokens = yield* Tokens
    const key = TokenKeys.bootstrap(pipeline)
    const saved = yield* tokens.get(key.scope, key.name).pipe(Fold.retrying(retry))
    if (Option.isNone(saved)) return Option.none()
    const decoded = TokenKeys.decodeBootstrap(saved.value)
    if (decoded === undefined) {
      return yield* new ConfigurationError({ detail: `the bootstrap state of pipeline ${pipeline} in the token store is unreadable` })
    }
    return Option.some(decoded)
  })

const names = (pipelines: ReadonlyArray<{ readonly name: string }>): string => pipelines.map((p) => p.name).join(", ")

const handoffKey = (h: Handoff): string => `${Version.format(h.version)} ${JSON.stringify(h.live)}`

const merge = (a: Fold.Summary | undefined, b: Fold.Summary): Fold.Summary =>
  a === undefined
    ? b
    : { records: a.records + b.records, batches: a.batches + b.batches, elapsedMs: a.elapsedMs + b.elapsedMs, pipelines: { ...a.pipelines, ...b.pipelines } }

const earliest = (handoffs: ReadonlyArray<Handoff>): Handoff =>
  handoffs.reduce((min, h) => (Version.compare(h.version, min.version) < 0 ? h : min))

/**
 * Runs (or resumes, or skips when done) the bootstrap of every pipeline that has not finished
 * one. Returns the handoffs and the scans' totals (`undefined` when every bootstrap had finished).
 *
 * @since 0.1.0
 * @category running
 */
export const bootstrap = <K extends Kind, E, R>(spec: Spec<K, E, R>) =>
  Effect.gen(function*() {
    const retry = Fold.retrying(spec.options?.retry)
    const states = new Map<string, BootstrapState>()
    for (const p of spec.pipelines) {
      const s = Option.getOrUndefined(yield* state(p.name, spec.options?.retry))
      if (s !== undefined) states.set(p.name, s)
    }
    const fresh = spec.pipelines.filter((p) => !states.has(p.name))
    if (fresh.length > 0) {
      const handoff = yield* spec.handoff
      // a scan keeps its position under its handoff: one started from the handoff of a bootstrap
      // that has finished would resume where that one stopped, and the new pipelines would get
      // nothing (one still scanning is this very bootstrap, interrupted before all were saved)
      const taken = spec.bootstrap === undefined ? [] : spec.pipelines.filter((p) => {
        const s = states.get(p.name)
        return s !== undefined && s.phase === "done" && handoffKey(s.handoff) === handoffKey(handoff)
      })
      if (taken.length > 0) {
        return yield* new ConfigurationError({
          detail: `pipeline ${names(fresh)} is new, but the handoff captured for it (${Version.format(handoff.version)}) is the one ` +
            `${names(taken)} was bootstrapped from: its scan would resume where that one stopped and read nothing, and the live ` +
            `source would go on from its own position, past the changes since. A pipeline added later needs a handoff captured ` +
            `when it is added (a MongoDB collection with no write since has the same cluster time: write to it first); with a ` +
            `fixed handoff (files), bootstrap it in a store of its own`
        })
      }
      const startedAt = yield* Clock.currentTimeMillis
      const current: BootstrapState = { phase: spec.bootstrap === undefined ? "done" : "scanning", handoff, startedAt }
      for (const p of fresh) {
        yield* saveState(p.name, current).pipe(retry)
        states.set(p.name, current)
      }
      yield* Effect.logInfo(`handoff captured at version ${Version.format(handoff.version)} for ${names(fresh)}`)
    }
    // pipelines still scanning, grouped by the handoff their scan started from: one scan per group
    const groups = new Map<string, { readonly state: BootstrapState; readonly pipelines: Array<Fold.Accepts<K>> }>()
    for (const p of spec.pipelines) {
      const s = states.get(p.name)!
      if (s.phase !== "scanning" || spec.bootstrap === undefined) continue
      const key = handoffKey(s.handoff)
      const group = groups.get(key) ?? { state: s, pipelines: [] }
      group.pipelines.push(p)
      groups.set(key, group)
    }
    let summary: Fold.Summary | undefined = undefined
    for (const { state: current, pipelines } of groups.values()) {
      yield* Effect.logInfo(`bootstrap of ${names(pipelines)} from ${Version.format(current.handoff.version)}`)
      const scanned = yield* Fold.run(spec.bootstrap!(current.handoff), pipelines as ReadonlyArray<Fold.Accepts<K | "events">>, {
        ...spec.options,
        at: current.handoff.version
      })
      const finishedAt = yield* Clock.currentTimeMillis
      for (const p of pipelines) {
        yield* saveState(p.name, { ...current, phase: "done", finishedAt }).pipe(retry)
        states.set(p.name, { ...current, phase: "done", finishedAt })
      }
      const dead = pipelines.reduce((n, p) => n + Fold.of(scanned, p).rejected, 0)
      yield* Effect.logInfo(`bootstrap of ${names(pipelines)} done: ${scanned.records} records, ${dead} dead-lettered, ${scanned.elapsedMs} ms`)
      summary = merge(summary, scanned)
    }
    const handoffs = Object.fromEntries(spec.pipelines.map((p) => [p.name, states.get(p.name)!.handoff]))
    return { handoff: earliest(Object.values(handoffs)), handoffs, summary }
  }).pipe(Effect.withSpan("Orchestrator.bootstrap", { attributes: { pipelines: names(spec.pipelines) } }))

/**
 * Finishes the batch of a dead-letter replay that was killed while it wrote (see
 * `DeadLetterReplay`): its aggregates may be applied without its ledger entries, and a change the
 * worker folded first would retract what the ledger holds, not what the aggregates got.
 */
const finishReplays = (
  pipelines: ReadonlyArray<Pipeline.Pipeline<any, any, Mode>>,
  { keepDocuments, retry }: Pick<Fold.Options, "keepDocuments" | "retry">
) =>
  Effect.forEach(pipelines.filter(Pipeline.isChanges), (pipeline) =>
    Effect.gen(function*() {
      const staged = TokenKeys.staged(ReplaySource.name(pipeline.name))
      if (Option.isNone(yield* (yield* Tokens).get(staged.scope, staged.name).pipe(Fold.retrying(retry)))) return
      yield* Effect.logWarning(`pipeline ${pipeline.name}: finishing the batch of an interrupted dead-letter replay`)
      yield* Fold.run(ReplaySource.make(pipeline.name, []), [pipeline], { retry, keepDocuments })
    }), { discard: true })

/**
 * Runs the live source from the saved handoffs. Fails with a `ConfigurationError` when a
 * pipeline's bootstrap has not finished yet (the live worker must not start before its snapshot is in).
 *
 * @since 0.1.0
 * @category running
 */
export const live = <K extends Kind, E, R>(spec: Spec<K, E, R>) =>
  Effect.gen(function*() {
    const handoffs: Record<string, Handoff> = {}
    const pending: Array<string> = []
    for (const p of spec.pipelines) {
      const current = Option.getOrUndefined(yield* state(p.name, spec.options?.retry))
      if (current === undefined || current.phase !== "done") pending.push(p.name)
      else handoffs[p.name] = current.handoff
    }
    if (pending.length > 0) {
      return yield* new ConfigurationError({
        detail: `pipeline ${pending.join(", ")}: the bootstrap has not finished; run it before the live worker`
      })
    }
    yield* finishReplays(spec.pipelines, spec.options ?? {})
    const handoff = earliest(Object.values(handoffs))
    if (spec.live === undefined) return { handoff, handoffs, summary: undefined }
    const after = new Map(Object.entries(handoffs).map(([name, h]) => [name, h.version] as const))
    const summary = yield* Fold.run(spec.live(handoff), spec.pipelines, { ...spec.options, after })
    return { handoff, handoffs, summary }
  }).pipe(Effect.withSpan("Orchestrator.live", { attributes: { pipelines: names(spec.pipelines) } }))

/**
 * Bootstrap (or resume it), then live.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <K extends Kind, E, R>(
  spec: Spec<K, E, R>
): Effect.Effect<Result, E | StoreError | PipelineError | ConfigurationError, R | Services> =>
  Effect.gen(function*() {
    const boot = yield* bootstrap(spec)
    const liveRun = yield* live(spec)
    return { handoff: liveRun.handoff, handoffs: liveRun.handoffs, bootstrap: boot.summary, live: liveRun.summary }
  })

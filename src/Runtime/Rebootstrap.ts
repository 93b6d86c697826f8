/**
 * Rebootstrap: rebuild one pipeline's aggregates afresh beside the live ones, then swap them in
 * with one atomic step, while the live worker keeps running (see `Generations`).
 *
 * 1. Open a new generation of the pipeline (or resume the one an interrupted rebuild left).
 * 2. Bootstrap it as a fresh worker would (handoff P0', snapshot scan), through store services
 *    bound to the new generation: its ledger, bootstrap state and source positions are its own,
 *    and nothing of the live generation is read or written.
 * 3. Catch up: follow the live source from P0' until each of its partitions goes past the
 *    position captured after the scan (or has nothing more to read for `idle`), so that the new
 *    generation is not staler than the live one by the length of the scan.
 * 4. Swap the pipeline's pointer in one atomic step (`Generations.swap`): readers see the old
 *    generation, then the new one, never a mix or a half-built state. The swap is refused while
 *    the new generation's newest ledger version is older than the live one's (the live worker
 *    has folded changes the rebuild has not read yet). Then the live generation is sealed
 *    (`Generations.seal`: the live worker's writes fail, as they do after a swap, so it stops
 *    moving), the rebuild catches up to the newest version the live one holds, and swaps, which
 *    lifts the seal. A rebuild that only caught up to a head captured before could chase a busy
 *    live worker forever; the seal makes the chase end. The live worker waits for the length of
 *    that last catch-up. With a live source of several partitions (a Kafka consumer group), the
 *    live generation is sealed for the last catch-up at once: a comparison of newest versions
 *    cannot show one partition behind another.
 *    The live worker's writes to the old generation fail from the swap on, so what it has
 *    committed is in the new generation, and it resumes after that (or from the new handoff).
 * 5. Drop the old generation. (Its number is saved in the token store before the swap: a run
 *    interrupted between the swap and the drop has the next run drop it first.)
 *
 * The live worker's next write to the old generation fails (`Generations.isMoved`); run it under
 * {@link following} and it starts again on the new generation, from that generation's handoff:
 * the ledger and high-water marks make the replay of what the rebuild already folded harmless,
 * as after a crash (a worker not run under `following` fails with that error; restarted, it goes on
 * with the new generation all the same). A rebuild that crashes leaves the live generation
 * untouched (a seal it held is lifted when it fails, and by its rerun); run it again and it
 * resumes (or starts over with `fresh`).
 *
 * The rebuild's sources keep their positions apart from the worker's (see `Generations.sourcesOf`),
 * but a source that commits outside the store (a Kafka consumer group) must not be shared with
 * the live worker. The rebuild's live source must order records as the worker's does: a
 * rebuild that catches up from a change stream (cluster-time versions) under a worker whose
 * records are ordered by position (Debezium on Kafka by default: `[handoff + 1, offset]`) leaves
 * versions in the new generation that the worker's later records of the same documents lose
 * against, and their changes are skipped. The swap's check compares versions too, so it cannot
 * see that either. Such a worker is rebuilt by a fresh bootstrap (a new store, a new group). One
 * rebuild of a pipeline at a time.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { ConfigurationError } from "../Errors.ts"
import type { Handoff } from "../Handoff.ts"
import type { Kind, Source } from "../Source.ts"
import * as S from "../Source.ts"
import { Generations, isMoved, movedOf } from "../Store/Generations.ts"
import { Tokens } from "../Store/Tokens.ts"
import * as Version from "../Version.ts"
import type * as Fold from "./Fold.ts"
import * as Orchestrator from "./Orchestrator.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Drop a generation an interrupted rebuild left and start over (default: resume it). */
  readonly fresh?: boolean | undefined
  /**
   * The catch-up ends when the live source has delivered nothing for this long (it has caught
   * up), if it has not reached the position captured after the scan before. Default 2 seconds.
   */
  readonly idle?: Duration.Input | undefined
  /**
   * Swaps tried before giving up when the live generation keeps being ahead (`GenerationBehind`;
   * the rebuilt generation stays, a rerun resumes it). The first follows the live worker; every
   * later one seals it first. Default 20.
   */
  readonly attempts?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly pipeline: string
  /** The generation replaced (now dropped). */
  readonly from: number
  /** The generation built, now current. */
  readonly to: number
  /** The rebuild's handoff. */
  readonly handoff: Handoff
  /** The scan's totals (`undefined` when a resumed rebuild had finished its scan). */
  readonly bootstrap: Fold.Summary | undefined
  /** The catch-up's totals (`undefined` without a live source). */
  readonly catchUp: Fold.Summary | undefined
}

/**
 * `source`, ending once every partition it has delivered records of has gone past `target` or
 * fallen quiet, and `idle` has passed since it started; or once one wait for the source lasts
 * `idle`. A partition is quiet when it has delivered nothing for `idle` and, since its last
 * record, the fold has waited on the source for a while (100 ms, or `idle` if shorter): the
 * source had nothing queued then, so a fold slow to write does not make a partition whose records
 * wait behind others look quiet, and a partition flooded with new records does not keep another
 * from falling quiet.
 *
 * Every partition, not the first one: a consumer group reads its partitions independently, and
 * one that reached the target says nothing of another still behind, whose records the live
 * worker may have folded; a partition that has delivered nothing yet has `idle` to do so. Past,
 * not at: the changes of one MongoDB transaction share its cluster time, and a chunk that holds
 * the first of them need not hold the others.
 */
const until = <K extends Kind, E, R>(
  source: Source<K, E, R>,
  target: Version.Version,
  idle: Duration.Duration,
  seen: Set<string>
): Source<K, E, R> =>
  S.make({
    name: source.name,
    kind: source.kind,
    commit: source.commit,
    staged: source.staged,
    sharesText: source.sharesText,
    continues: source.continues,
    records: Stream.transformPull(source.records, (pull) =>
      Effect.map(Clock.currentTimeMillis, (started) => {
        const idleMs = Duration.toMillis(idle)
        const drainedMs = Math.min(idleMs, 100)
        // per partition delivered: whether it went past the target, when it last delivered, and
        // how long the fold has waited on the source since
        const partitions = new Map<string, { past: boolean; at: number; waited: number }>()
        const caughtUp = (now: number) => {
          if (partitions.size === 0 || now - started < idleMs) return false
          for (const p of partitions.values()) if (!p.past && (now - p.at < idleMs || p.waited < drainedMs)) return false
          return true
        }
        return Effect.gen(function*() {
          const before = yield* Clock.currentTimeMillis
          if (caughtUp(before)) return yield* Cause.done()
          const next = yield* Effect.timeoutOption(pull, idle)
          if (Option.isNone(next)) return yield* Cause.done()
          const now = yield* Clock.currentTimeMillis
          for (const p of partitions.values()) p.waited += now - before
          for (const r of next.value) {
            let p = partitions.get(r.partition)
            if (p === undefined) {
              partitions.set(r.partition, p = { past: false, at: now, waited: 0 })
              seen.add(r.partition)
            }
            p.at = now
            p.waited = 0
            const v = "version" in r ? r.version : undefined
            if (v !== undefined && Version.compare(v, target) > 0) p.past = true
          }
          return next.value
        })
      }))
  })

/** Token scope of the generation each pipeline's rebuild is about to swap out, until it is dropped. */
const DROP_SCOPE = "@rebootstrap-drop"

const add = (a: Fold.Summary | undefined, b: Fold.Summary | undefined): Fold.Summary | undefined =>
  a === undefined || b === undefined
    ? a ?? b
    : { records: a.records + b.records, batches: a.batches + b.batches, elapsedMs: a.elapsedMs + b.elapsedMs, pipelines: b.pipelines }

/**
 * Rebuilds `pipeline` (one of `spec.pipelines`) beside its live generation and swaps it in (see
 * the module doc). Needs the store's `Generations` (the memory, embedded and DynamoDB stores provide it).
 *
 * @since 0.1.0
 * @category running
 */
export const run = <K extends Kind, E, R>(spec: Orchestrator.Spec<K, E, R>, pipeline: string, options: Options = {}) =>
  Effect.gen(function*() {
    const target = spec.pipelines.find((p) => p.name === pipeline)
    if (target === undefined) {
      return yield* new ConfigurationError({
        detail: `no pipeline ${pipeline} to rebootstrap (known: ${spec.pipelines.map((p) => p.name).join(", ")})`
      })
    }
    const generations = yield* Generations
    // the note of the generation to drop is written through a generation's own services: the
    // store's fence then follows that generation, not one this process bound before
    const note = (generation: number, value: number | undefined) =>
      Tokens.use((t) => t.set(DROP_SCOPE, pipeline, value)).pipe(Effect.provide(generations.services(pipeline, generation)))
    // a run that swapped and died before it dropped the old generation left its number
    const leftover = yield* Tokens.use((t) => t.get(DROP_SCOPE, pipeline))
    if (Option.isSome(leftover) && typeof leftover.value === "number") {
      const status = yield* generations.status(pipeline)
      if (status.current !== leftover.value && status.building !== leftover.value) {
        yield* Effect.logInfo(`rebootstrap of ${pipeline}: dropping generation ${leftover.value}, which an interrupted run swapped out`)
        yield* generations.drop(pipeline, leftover.value)
      }
      yield* note(status.current, undefined)
    }
    const opened = yield* generations.begin(pipeline, { fresh: options.fresh })
    const to = opened.building!
    yield* Effect.logInfo(`rebootstrap of ${pipeline}: building generation ${to} beside generation ${opened.current}`)
    const context = generations.services(pipeline, to)
    const single: Orchestrator.Spec<K, E, R> = { ...spec, pipelines: [target] }
    const boot = yield* Orchestrator.bootstrap(single).pipe(Effect.provide(context))
    const handoff = boot.handoffs[pipeline]!
    const idle = Duration.fromInputUnsafe(options.idle ?? "2 seconds")
    const attempts = Math.max(1, options.attempts ?? 20)
    let catchUp: Fold.Summary | undefined = undefined
    // the partitions of the live source the catch-ups have read
    const partitions = new Set<string>()
    const follow = (target: Version.Version) =>
      Effect.gen(function*() {
        const live = spec.live!
        yield* Effect.logInfo(`rebootstrap of ${pipeline}: catching up to ${Version.format(target)}`)
        const followed = yield* Orchestrator.live({ ...single, live: (h) => until(live(h), target, idle, partitions) }).pipe(
          Effect.provide(context)
        )
        catchUp = add(catchUp, followed.summary)
      })
    // the swap, or why it was refused; the generation it replaces is noted first, so that a run
    // interrupted between the swap and the drop has the next one drop it
    const swap = note(to, opened.current).pipe(
      Effect.andThen(generations.swap(pipeline, opened.current, to)),
      Effect.as(undefined),
      Effect.catchTag("GenerationBehind", (behind) => Effect.succeed(behind))
    )
    // the live worker stops moving (sealed), the rebuild catches up to where it stopped, and swaps
    // (which lifts the seal)
    const sealedSwap = generations.seal(pipeline, opened.current, to).pipe(
      Effect.flatMap((frozen) => frozen === undefined ? Effect.void : follow(frozen)),
      Effect.andThen(swap),
      Effect.onError(() => Effect.ignore(generations.unseal(pipeline)))
    )
    // first beside the live worker, to the head of the source as it is now
    if (spec.live !== undefined) yield* follow((yield* spec.handoff.pipe(Effect.provide(context))).version)
    // a swap compares the newest versions of both generations, which cannot show that one
    // partition of several is behind: with several, the last catch-up is always sealed
    if (partitions.size > 1) {
      yield* Effect.logInfo(`rebootstrap of ${pipeline}: the live source has ${partitions.size} partitions; sealing the live generation to catch up`)
    }
    let behind = partitions.size > 1 ? yield* sealedSwap : yield* swap
    // the live worker went on meanwhile: seal it and catch up again; a worker that moved again
    // (DynamoDB fences only its commits) is caught up to again
    for (let attempt = 2; behind !== undefined; attempt++) {
      if (attempt > attempts || spec.live === undefined) return yield* behind
      yield* Effect.logInfo(`rebootstrap of ${pipeline}: ${behind.message}; sealing it to catch up`)
      behind = yield* sealedSwap
    }
    yield* Effect.logInfo(`rebootstrap of ${pipeline}: generation ${to} is live; dropping generation ${opened.current}`)
    yield* generations.drop(pipeline, opened.current)
    yield* note(to, undefined)
    const result: Result = { pipeline, from: opened.current, to, handoff, bootstrap: boot.summary, catchUp }
    return result
  }).pipe(Effect.withSpan("Rebootstrap.run", { attributes: { pipeline } }))

/**
 * Runs `effect` (a live worker: `Orchestrator.run`, `Orchestrator.live`) again whenever it fails
 * because a rebuild swapped one of its pipelines' generations, so that it goes on with the new
 * generation; other failures pass through.
 *
 * @since 0.1.0
 * @category running
 */
export const following = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    // since when the worker's writes have failed because a rebuild sealed its generation
    let sealedSince: number | undefined
    let warnedAt = 0
    const onMoved = (e: E) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (movedOf(e)?.sealed !== true) {
          sealedSince = undefined
          return Effect.logInfo("the pipeline's generation moved: starting again on the new one")
        }
        sealedSince ??= now
        if (now - sealedSince < SEALED_WARNING_MS || now - warnedAt < SEALED_WARNING_MS) return Effect.void
        warnedAt = now
        return Effect.logWarning(
          `the pipeline's generation has been sealed by a rebuild for ${Math.round((now - sealedSince) / 1000)} s: ` +
            "the worker waits for its swap; if no rebuild is running (one was killed), run it again to lift the seal"
        )
      })
    return Effect.retry(
      effect.pipe(Effect.tapError((e) => isMoved(e) ? onMoved(e) : Effect.void)),
      // spaced: while a swap is sealed, the worker's writes fail until it is done
      { while: (e: E) => isMoved(e), schedule: Schedule.spaced("100 millis") }
    )
  })

/** How long a sealed worker waits before `following` warns (and between warnings). */
const SEALED_WARNING_MS = 30_000

/**
 * The generations of `pipeline` (which one is current, which one a rebuild is building).
 *
 * @since 0.1.0
 * @category state
 */
export const status = (pipeline: string) => Generations.use((g) => g.status(pipeline))

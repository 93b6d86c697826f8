/**
 * Generations: the aggregates, ledger and bootstrap state of a pipeline live under a numbered
 * generation, and one pointer per pipeline names the generation readers and the live fold use.
 * A rebuild (`Rebootstrap`) fills a new generation beside the live one, then moves the pointer in
 * one atomic step, so that a reader sees either the complete old generation or the complete new one.
 *
 * Generation 0 is the pipeline's data as every store has always kept it (no pointer record, no
 * cost on the normal path). Generation `n >= 1` is kept under the physical pipeline name
 * `@gen:<n>:<pipeline>` (pipeline names cannot start with `@`, so it never meets a real one).
 *
 * How the store services of a layer use the pointer:
 *
 * - reads of aggregates (`get`, `all`) resolve the pointer at every call, atomically with the read;
 * - everything the fold does (ledger reads and writes, aggregate writes, the pipeline's tokens)
 *   goes to the generation the layer *bound* at its first use of the pipeline, and every write of
 *   the layer (source commits included) checks, atomically with the write, that each bound
 *   generation is still current (DynamoDB, which has no such atomic check, reads the pointer once
 *   per batch instead: after its writes and before the fold commits it, whether the source commits
 *   through the store or elsewhere, as a Kafka consumer group does). When it is not, the write
 *   (or the commit) fails with a `StoreError` whose cause
 *   is a {@link GenerationMoved}, and the layer forgets the binding: the fold's run fails before
 *   it commits anything more, and a new run (see `Rebootstrap.following`) binds the new generation
 *   and resumes from its bootstrap state, as a worker does after a crash.
 * - a rebuild about to swap may *seal* the current generation (`seal`): the layers bound to it
 *   fail their writes the same way until the seal is lifted (by the swap, `unseal` or `begin`),
 *   so that the live generation stops moving while the rebuild catches up to it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type { Aggregates } from "./Aggregates.ts"
import type { DeadLetters } from "./DeadLetters.ts"
import type { Ledger } from "./Ledger.ts"
import { compare, format as formatVersion, type Version } from "../Version.ts"
import { StoreError } from "./StoreError.ts"
import type { Tokens } from "./Tokens.ts"

/**
 * Where a pipeline's generations are.
 *
 * @category models
 * @since 0.1.0
 */
export interface Status {
  readonly pipeline: string
  /** The generation readers and the live fold use. */
  readonly current: number
  /** The generation a rebuild is filling, if one is under way (or crashed). */
  readonly building: number | undefined
  /**
   * Set while a rebuild holds the current generation sealed (`seal`): the live worker's writes
   * fail until the rebuild swaps or unseals. A rebuild killed in that state leaves it set; its
   * rerun (or `unseal`) lifts it.
   */
  readonly sealed?: true | undefined
}

/**
 * The cause of the `StoreError` a write fails with when the generation it was bound to is no
 * longer the one it may write (a rebuild swapped the pipeline's pointer, or abandoned the
 * generation being built).
 *
 * @category errors
 * @since 0.1.0
 */
export class GenerationMoved extends Data.TaggedError("GenerationMoved")<{
  readonly pipeline: string
  readonly bound: number
  readonly current: number
  /** The generation is still current but sealed: a rebuild is about to swap (see `Generations.seal`). */
  readonly sealed?: boolean | undefined
}> {
  override get message(): string {
    return this.sealed === true
      ? `pipeline ${this.pipeline}: generation ${this.bound} is sealed while a rebuild swaps`
      : `pipeline ${this.pipeline}: generation ${this.bound} is no longer current (now ${this.current})`
  }
}

/**
 * A swap refused because the generation being built has not yet folded every change the live one
 * has (its newest ledger version is older): swapping then could lose the changes in between.
 * Catch up further and swap again.
 *
 * @category errors
 * @since 0.1.0
 */
export class GenerationBehind extends Data.TaggedError("GenerationBehind")<{
  readonly pipeline: string
  /** The newest version in the ledger of the live generation. */
  readonly live: Version
  /** The newest version in the ledger of the generation being built. */
  readonly built: Version | undefined
}> {
  override get message(): string {
    return `pipeline ${this.pipeline}: the rebuilt generation is at ${this.built === undefined ? "nothing" : formatVersion(this.built)}, ` +
      `behind the live one at ${formatVersion(this.live)}`
  }
}

/**
 * The newest version among ledger entries (`undefined` for none), for {@link GenerationBehind}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const newest = (a: Version | undefined, b: Version): Version => (a === undefined || compare(b, a) > 0 ? b : a)

/**
 * Whether a rebuilt generation whose newest ledger version is `built` is behind the live one's
 * `live`: what a swap refuses. A dead-letter replay folds just after a source's version (a low
 * part with a half, which no source gives), and a rebuild reads the replayed documents from the
 * source itself, so the live version counts as the whole version it follows.
 *
 * @category models
 * @since 0.1.0
 */
export const isBehind = (built: Version | undefined, live: Version | undefined): live is Version =>
  live !== undefined && (built === undefined || compare(built, [live[0], Math.floor(live[1])]) < 0)

/**
 * The `StoreError` of a write whose generation moved.
 *
 * @category constructors
 * @since 0.1.0
 */
export const moved = (store: string, operation: string, cause: GenerationMoved): StoreError =>
  new StoreError({ store, operation, retryable: false, cause, detail: "the pipeline's generation moved" })

/**
 * The {@link GenerationMoved} that `u` carries: `u` itself, or the cause of the `StoreError` of a
 * write whose generation moved (also when a `PipelineError` carries that as its cause).
 *
 * @category predicates
 * @since 0.2.0
 */
export const movedOf = (u: unknown): GenerationMoved | undefined => {
  for (let e: any = u, depth = 0; e !== null && typeof e === "object" && depth < 4; e = e.cause, depth++) {
    if (e instanceof GenerationMoved) return e
  }
  return undefined
}

/**
 * Whether `u` is the `StoreError` of a write whose generation moved (also when a
 * `PipelineError` carries it as its cause).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isMoved = (u: unknown): boolean => movedOf(u) !== undefined

/**
 * The name a generation's data is stored under.
 *
 * @category naming
 * @since 0.1.0
 */
export const physical = (pipeline: string, generation: number): string =>
  generation === 0 ? pipeline : `@gen:${generation}:${pipeline}`

/**
 * The token scope that stands for the sources' scope (`@sources`) in the store services of a
 * generation being built: a rebuild's sources keep their positions apart from the live worker's.
 *
 * @category naming
 * @since 0.1.0
 */
export const sourcesOf = (pipeline: string, generation: number): string => `${physical(pipeline, generation)}/@sources`

/**
 * The store services of one generation of one pipeline.
 *
 * @category models
 * @since 0.1.0
 */
export type Services = Aggregates | Ledger | Tokens | DeadLetters

/**
 * @category services
 * @since 0.1.0
 */
export class Generations extends Context.Service<Generations, {
  readonly status: (pipeline: string) => Effect.Effect<Status, StoreError>
  /**
   * Opens a new generation to build (one past every generation used so far, empty), or returns
   * the one being built when a rebuild was interrupted and `fresh` is `false` (it resumes). With
   * `fresh`, an interrupted generation is dropped and a new one opened.
   */
  readonly begin: (pipeline: string, options?: { readonly fresh?: boolean | undefined }) => Effect.Effect<Status, StoreError>
  /**
   * The store services of generation `generation` of `pipeline`: every call of the fold goes to
   * that generation, the sources' positions to a scope of their own ({@link sourcesOf}), and
   * every write fails (a {@link GenerationMoved}) once the generation is neither current nor being
   * built. Other pipelines are untouched.
   */
  readonly services: (pipeline: string, generation: number) => Context.Context<Services>
  /**
   * In one atomic step: when the pipeline's current generation is `from`, `to` is being built, and
   * the newest version in `to`'s ledger is at or past the newest in `from`'s, `to` becomes
   * current. Fails otherwise, and changes nothing: a {@link GenerationMoved} (in a `StoreError`)
   * when the pointer is not as expected, a {@link GenerationBehind} when `to` must catch up first.
   */
  readonly swap: (pipeline: string, from: number, to: number) => Effect.Effect<void, StoreError | GenerationBehind>
  /**
   * Seals the current generation `from` for the swap to `to` (which must be being built): from
   * then on the layers bound to `from` may not commit (their writes fail with a
   * {@link GenerationMoved}, as after a swap), so its ledger stops moving and a rebuild can catch
   * up to it. Returns the newest version in `from`'s ledger. The seal is lifted by `swap` (whether
   * it swaps or not), by {@link unseal} and by `begin`.
   */
  readonly seal: (pipeline: string, from: number, to: number) => Effect.Effect<Version | undefined, StoreError>
  /** Lifts a seal (see {@link seal}); nothing when there is none. */
  readonly unseal: (pipeline: string) => Effect.Effect<void, StoreError>
  /** Deletes every aggregate, ledger entry and token of a generation that is not current. */
  readonly drop: (pipeline: string, generation: number) => Effect.Effect<void, StoreError>
}>()("effect-monoid-streams/Generations") {}

/**
 * The fold: one `Sink`-like consumer shared by bootstrap and live. Per batch (one store round trip
 * per step, never one effect per record):
 *
 * 1. (staged sources) write the batch to the token store;
 * 2. read the ledger entries of the batch's documents;
 * 3. plan: stale changes skipped, deltas computed and coalesced per key ({@link Plan.plan});
 * 4. write dead letters;
 * 5. apply the per-key updates idempotently (high-water marks per source partition);
 * 6. write the ledger (version-guarded);
 * 7. commit the source position; (staged sources) clear the staged batch.
 *
 * A crash between any two steps is repaired by the next run: the source replays from the last
 * commit, the aggregate store skips what it already holds, the ledger never moves back.
 * Store errors are retried on a `Schedule` (exponential, jittered, bounded); when the schedule
 * gives up the run fails with the `StoreError`, and nothing after the failed step was committed.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Metric, Option, Schedule, Stream } from "effect"
import { PipelineError } from "../Errors.ts"
import type { Input } from "../Input.ts"
import type { Mode, Pipeline } from "../Pipeline.ts"
import { Aggregates } from "../Store/Aggregates.ts"
import { DeadLetters } from "../Store/DeadLetters.ts"
import { Ledger } from "../Store/Ledger.ts"
import type { StoreError } from "../Store/StoreError.ts"
import { Tokens } from "../Store/Tokens.ts"
import type { Source } from "../Source/Source.ts"
import * as Plan from "./Plan.ts"
import * as Staging from "./Staging.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  /** Retry policy for store calls; default: exponential from 100 ms, capped at 5 s, jittered, for up to 2 minutes. */
  readonly retry?: Schedule.Schedule<any, unknown>
  /** Largest batch folded in one round trip; larger source chunks are split. Default 2000. */
  readonly batchSize?: number
  /**
   * Group small source chunks into one batch for up to this long (live sources that deliver one
   * record at a time). Default: fold source chunks as they come.
   */
  readonly coalesceWithin?: Duration.Input
}

/**
 * Totals of a run (or of the part of it so far).
 *
 * @since 0.1.0
 */
export interface Summary extends Plan.Counts {
  batches: number
  keysWritten: number
  keysReplayed: number
  elapsedMs: number
}

const emptySummary = (): Summary => ({
  records: 0,
  upserts: 0,
  deletes: 0,
  stale: 0,
  unchanged: 0,
  skipped: 0,
  rejected: 0,
  invalid: 0,
  batches: 0,
  keysWritten: 0,
  keysReplayed: 0,
  elapsedMs: 0
})

/**
 * The default store retry policy.
 *
 * @since 0.1.0
 */
export const defaultRetry: Schedule.Schedule<Duration.Duration, unknown> = Schedule.min([
  Schedule.exponential("100 millis"),
  Schedule.spaced("5 seconds")
]).pipe(Schedule.jittered, Schedule.upTo({ duration: "2 minutes" }))

/**
 * Retries an effect's retryable `StoreError`s on `schedule` (default {@link defaultRetry}); other
 * errors, and a `StoreError` the schedule gave up on, pass through.
 *
 * @since 0.1.0
 */
export const retrying = (schedule: Schedule.Schedule<any, unknown> = defaultRetry) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(effect, {
    schedule,
    while: (e: E) => (e as { _tag?: string })._tag === "StoreError" && (e as unknown as StoreError).retryable
  }) as Effect.Effect<A, E, R>

const recordsIn = Metric.counter("monoid_records_in", { description: "records the fold received" })
const recordsStale = Metric.counter("monoid_records_stale", { description: "changes skipped as redelivered or out of date" })
const recordsDead = Metric.counter("monoid_records_dead_lettered", { description: "records sent to the dead-letter sink" })
const keysWritten = Metric.counter("monoid_keys_written", { description: "aggregate keys written" })
const batchMillis = Metric.histogram("monoid_batch_ms", {
  description: "time to fold one batch, store round trips included",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 14 })
})

const docIdsOf = <In>(batch: ReadonlyArray<Input<In>>): Array<string> => {
  const seen = new Set<string>()
  for (const r of batch) if (r._tag === "Upsert" || r._tag === "Delete" || r._tag === "Invalid") seen.add(r.docId)
  return Array.from(seen)
}

const noEntries: ReadonlyMap<string, any> = new Map()

/**
 * Builds the batch folder for one pipeline and source. The returned function folds one batch and
 * adds its counts to `summary`.
 *
 * @since 0.1.0
 */
export const makeFolder = <In, V, E, R>(
  pipeline: Pipeline<In, V, Mode>,
  source: Source<In, E, R>,
  options: Options = {}
) =>
  Effect.gen(function*() {
    const aggregates = yield* Aggregates
    const ledger = yield* Ledger
    const deadLetters = yield* DeadLetters
    const tokens = yield* Tokens
    const context = yield* Effect.context<R>()
    const retry = retrying(options.retry)
    const staged = Staging.stagedToken(source.name)
    const attributes = { pipeline: pipeline.name, source: source.name }
    const mIn = Metric.withAttributes(recordsIn, attributes)
    const mStale = Metric.withAttributes(recordsStale, attributes)
    const mDead = Metric.withAttributes(recordsDead, attributes)
    const mKeys = Metric.withAttributes(keysWritten, attributes)
    const mMillis = Metric.withAttributes(batchMillis, attributes)
    const summary = emptySummary()

    const fold = (batch: ReadonlyArray<Input<In>>, options: { readonly stage: boolean }) =>
      Effect.gen(function*() {
        const started = Date.now()
        if (options.stage) yield* retry(tokens.set(pipeline.name, staged, Staging.encode(pipeline, batch)))
        const ids = docIdsOf(batch)
        const entries = ids.length === 0 ? noEntries : yield* retry(ledger.get(pipeline, ids))
        const plan = yield* Effect.try({
          try: () => Plan.plan(pipeline, batch, entries),
          catch: (cause) =>
            new PipelineError({
              pipeline: pipeline.name,
              detail: `folding a batch of ${batch.length} records failed`,
              cause
            })
        })
        if (plan.rejects.length > 0) {
          const at = Date.now()
          yield* retry(deadLetters.write(plan.rejects.map((r) => ({
            pipeline: pipeline.name,
            partition: r.partition,
            seq: r.seq,
            docId: r.docId,
            key: r.key,
            raw: r.raw,
            reason: r.reason,
            at
          }))))
        }
        if (plan.updates.length > 0) {
          const applied = yield* retry(aggregates.apply(pipeline, plan.updates))
          summary.keysWritten += applied.written
          summary.keysReplayed += applied.skipped + applied.partial
          yield* Metric.update(mKeys, applied.written)
        }
        if (plan.ledger.size > 0) yield* retry(ledger.put(pipeline, plan.ledger))
        yield* retry(source.commit(plan.last).pipe(Effect.provideContext(context)))
        if (options.stage) yield* retry(tokens.set(pipeline.name, staged, undefined))
        const c = plan.counts
        summary.batches++
        summary.records += c.records
        summary.upserts += c.upserts
        summary.deletes += c.deletes
        summary.stale += c.stale
        summary.unchanged += c.unchanged
        summary.skipped += c.skipped
        summary.rejected += c.rejected
        summary.invalid += c.invalid
        yield* Metric.update(mIn, c.records)
        if (c.stale > 0) yield* Metric.update(mStale, c.stale)
        if (c.rejected > 0) yield* Metric.update(mDead, c.rejected)
        yield* Metric.update(mMillis, Date.now() - started)
      })

    /** Finishes a batch a crashed run staged but did not commit. */
    const recover = Effect.gen(function*() {
      if (!source.staged) return
      const saved = yield* retry(tokens.get(pipeline.name, staged))
      if (Option.isNone(saved)) return
      const batch = yield* Effect.try({
        try: () => Staging.decode(pipeline, saved.value),
        catch: (cause) => new PipelineError({ pipeline: pipeline.name, detail: `the staged batch of ${source.name} cannot be decoded`, cause })
      })
      yield* Effect.logInfo(`finishing a staged batch of ${batch.length} records left by an interrupted run`)
      yield* fold(batch, { stage: false })
      yield* retry(tokens.set(pipeline.name, staged, undefined))
    })

    return { fold: (batch: ReadonlyArray<Input<In>>) => fold(batch, { stage: source.staged }), recover, summary }
  })

/**
 * Folds a source into the stores until the source ends (bootstrap sources, files) or forever
 * (live sources), resuming after its last committed position. Returns the run's totals.
 *
 * @since 0.1.0
 */
export const run = <In, V, E, R>(
  pipeline: Pipeline<In, V, Mode>,
  source: Source<In, E, R>,
  options: Options = {}
): Effect.Effect<Summary, E | StoreError | PipelineError, R | Aggregates | Ledger | Tokens | DeadLetters> =>
  Effect.gen(function*() {
    const started = Date.now()
    const folder = yield* makeFolder(pipeline, source, options)
    yield* folder.recover
    const size = Math.max(1, options.batchSize ?? 2000)
    const foldArray = (chunk: ReadonlyArray<Input<In>>) =>
      chunk.length <= size
        ? folder.fold(chunk)
        : Effect.gen(function*() {
          for (let i = 0; i < chunk.length; i += size) yield* folder.fold(chunk.slice(i, i + size))
        })
    if (options.coalesceWithin === undefined) {
      yield* Stream.runForEachArray(source.inputs, foldArray)
    } else {
      yield* source.inputs.pipe(
        Stream.groupedWithin(size, options.coalesceWithin),
        Stream.runForEach(foldArray)
      )
    }
    folder.summary.elapsedMs = Date.now() - started
    return folder.summary
  }).pipe(Effect.withSpan("Fold.run", { attributes: { pipeline: pipeline.name, source: source.name } }))

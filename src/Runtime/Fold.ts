/**
 * The fold: one `Sink` shared by bootstrap and live, that applies a source's records to any
 * number of pipelines. Per batch (one store round trip per step and pipeline, never one effect per
 * record):
 *
 * 1. (staged sources) write the batch to the token store;
 * 2. for each pipeline: read the ledger entries of the batch's documents; plan (each record
 *    decoded with the pipeline's schema, stale changes skipped, deltas coalesced per key,
 *    {@link Plan.plan}); write dead letters; apply the per-key updates idempotently (high-water
 *    marks per source partition); write the ledger (version-guarded);
 * 3. commit the source position, once every pipeline has applied the batch; (staged sources)
 *    clear the staged batch.
 *
 * Where the store provides `Transactions` (the embedded store), steps 1 and 2 of a batch are one
 * transaction: a crash leaves the batch applied to every pipeline or to none.
 *
 * Step 2's reads and planning of the next batch overlap the writes and commit of the previous one
 * (while its writes are under way, its planned ledger entries stand in for the store's), and its
 * writes start as soon as the previous batch's writes are done, while that batch's position is
 * still being committed (the batch after waits for that commit); so a store some milliseconds
 * away is kept busy. Writes go one batch at a time, in order (a key never sees a later batch
 * before an earlier one), and so do commits: a position is committed only once its batch and
 * every batch before it are written, so a crash replays at most the batches after the last
 * commit, whose writes the marks and the ledger's versions make harmless. (A staged source's next
 * batch waits for the previous batch's commit: the one staged batch is that batch's until then.
 * Where the store runs a batch in a transaction, the next batch's reads wait for it to end; on
 * the embedded store, whose calls run on the process's own thread, nothing is lost by that.)
 *
 * A crash between any two steps, of any pipeline, is repaired by the next run: the source replays
 * from the last commit, each pipeline's aggregate store skips what it already holds, its ledger
 * never moves back. Store errors are retried on a `Schedule` (exponential, jittered, bounded); when
 * the schedule gives up the run fails with the `StoreError`, and nothing after the failed step was
 * committed.
 *
 * Because the fold is a `Sink`, anything can stand between a source and it (a filter, a rate
 * limit, a tap for metrics): `source.records.pipe(Stream.filter(...), Stream.run(Fold.sink(source,
 * pipelines)))`. The source is still the one that commits.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Fold, MemoryStore, Source } from "effect-monoid-streams"
 *
 * const source = Source.fromStream("orders", Stream.make(Source.upsert("o1", { _id: "o1", customer_id: "c1", amount: 5 })))
 * // one pass, three pipelines; the same as source.pipe(Fold.run([totals, counts, perStatus]))
 * const program = Fold.run(source, [totals, counts, perStatus]).pipe(Effect.provide(MemoryStore.layer()))
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { dual } from "effect/Function"
import { PipelineError } from "../Errors.ts"
import type { Input } from "../Input.ts"
import type { Mode, Pipeline } from "../Pipeline.ts"
import * as StoreRetry from "../internal/storeRetry.ts"
import * as TokenKeys from "../internal/tokenKeys.ts"
import type { Kind, Source } from "../Source.ts"
import { Aggregates } from "../Store/Aggregates.ts"
import { DeadLetters } from "../Store/DeadLetters.ts"
import { type Entry, Ledger } from "../Store/Ledger.ts"
import type { StoreError } from "../Store/StoreError.ts"
import { Tokens } from "../Store/Tokens.ts"
import { Transactions } from "../Store/Transactions.ts"
import { SketchSizeError } from "../SketchError.ts"
import type { Version } from "../Version.ts"
import * as Plan from "./Plan.ts"
import * as Staging from "../internal/staging.ts"
import { Checked, CommitFence } from "../Store/internal/commitFence.ts"
import { detached } from "../internal/detached.ts"

/**
 * The pipelines a source of kind `K` may feed: a `"changes"` source only `"changes"` pipelines.
 *
 * @since 0.2.0
 * @category models
 */
export type Accepts<K extends Kind> = [K] extends ["events"] ? Pipeline<any, any, Mode> : Pipeline<any, any, "changes">

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Retry policy for store calls; default: exponential from 100 ms, capped at 5 s, jittered, for up to 2 minutes. */
  readonly retry?: Schedule.Schedule<any, unknown> | undefined
  /** Largest batch folded in one round trip; larger source chunks are split. Default 2000. */
  readonly batchSize?: number | undefined
  /**
   * Group small source chunks into one batch for up to this long (live sources that deliver one
   * record at a time). Default: fold source chunks as they come.
   */
  readonly coalesceWithin?: Duration.Input | undefined
  /**
   * The handoff version of the snapshot each pipeline was bootstrapped from: records without a
   * version are newer than it (see `Input`). One version for every pipeline, or one per pipeline
   * name. Default: none.
   */
  readonly after?: Version | ReadonlyMap<string, Version> | undefined
  /**
   * Bootstrap runs: records without a version are the snapshot's rows at this handoff version (one
   * for every pipeline, or one per pipeline name). Wins over `after`.
   */
  readonly at?: Version | ReadonlyMap<string, Version> | undefined
  /**
   * Keep in the ledger the fields of each document every pipeline reads, so that updates given as
   * patches of the previous state (Debezium's `capture.mode` `change_streams`, which sends no
   * document) can be folded. Set it from the bootstrap on: a patch of a document the ledger holds no
   * fields of is refused (dead-lettered, and the document contributes nothing until its next full
   * state). Costs ledger space: the fields are written with every entry. Default `false`.
   */
  readonly keepDocuments?: boolean | undefined
}

/**
 * What one pipeline did with the records of a run.
 *
 * @since 0.2.0
 * @category models
 */
export interface PipelineSummary extends Plan.Counts {
  keysWritten: number
  keysReplayed: number
}

/**
 * Totals of a run (or of the part of it so far): the source's records and batches, and per
 * pipeline what it did with them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  records: number
  batches: number
  elapsedMs: number
  readonly pipelines: Record<string, PipelineSummary>
}

const emptyCounts = (): PipelineSummary => ({
  records: 0,
  upserts: 0,
  deletes: 0,
  stale: 0,
  unchanged: 0,
  skipped: 0,
  rejected: 0,
  invalid: 0,
  expired: 0,
  keysWritten: 0,
  keysReplayed: 0
})

/**
 * The summary of one pipeline in `summary` (zeros when it folded nothing).
 *
 * @since 0.2.0
 * @category getters
 */
export const of = (summary: Summary | undefined, pipeline: string | { readonly name: string }): PipelineSummary =>
  summary?.pipelines[typeof pipeline === "string" ? pipeline : pipeline.name] ?? emptyCounts()

/**
 * The default store retry policy.
 *
 * @since 0.1.0
 * @category retries
 */
export const defaultRetry: Schedule.Schedule<Duration.Duration, unknown> = StoreRetry.schedule

/**
 * Retries an effect's retryable `StoreError`s on `schedule` (default {@link defaultRetry}); other
 * errors, and a `StoreError` the schedule gave up on, pass through.
 *
 * @since 0.1.0
 * @category retries
 */
export const retrying: (schedule?: Schedule.Schedule<any, unknown>) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> =
  StoreRetry.retryingOn

const recordsIn = Metric.counter("monoid_records_in", { description: "records the fold received" })
const recordsStale = Metric.counter("monoid_records_stale", { description: "changes skipped as redelivered or out of date" })
const recordsDead = Metric.counter("monoid_records_dead_lettered", { description: "records sent to the dead-letter sink" })
const recordsExpired = Metric.counter("monoid_records_expired", { description: "records of windowed pipelines whose bucket had expired (dropped)" })
const keysWritten = Metric.counter("monoid_keys_written", { description: "aggregate keys written" })
const batchMillis = Metric.histogram("monoid_batch_ms", {
  description: "time to fold one batch, store round trips included",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 14 })
})

const noPrior: ReadonlyArray<any> = []

/** The partitions a planned batch holds records of, as a span attribute. */
const partitionsOf = (plan: Plan.Plan<any> | undefined): string => (plan === undefined ? "" : Array.from(plan.last.keys()).join(","))

/** Bytes of a stored item besides its value: keys, attribute names, per-partition marks, TTL. */
const ITEM_RESERVE = 1024

/**
 * Fails when a pipeline's values could outgrow the store's items: the monoid's largest encoding,
 * as the stores write it (base64 in the value codec's `{"$sketch": ...}`), against the store's
 * item limit less {@link ITEM_RESERVE}.
 */
const checkItemSizes = (pipelines: ReadonlyArray<Pipeline<any, any, Mode>>, itemLimit: number | undefined) =>
  Effect.forEach(pipelines, (pipeline) => {
    const max = pipeline.monoid.maxEncodedSize
    if (itemLimit === undefined || max === undefined) return Effect.void
    const size = 4 * Math.ceil(max / 3) + 14
    const limit = itemLimit - ITEM_RESERVE
    return size <= limit ? Effect.void : Effect.fail(
      new PipelineError({
        pipeline: pipeline.name,
        detail: "its values cannot fit one item of this store",
        cause: new SketchSizeError({ sketch: pipeline.name, size, limit })
      })
    )
  }, { discard: true })
const noDocuments: Plan.Documents = { ids: [], at: new Int32Array(0) }

/** What the sink needs of `makeFolder`'s folder. */
interface Folder<E> {
  readonly prepare: (batch: ReadonlyArray<Input>, inFlight: Prepared | undefined) => Effect.Effect<Prepared, StoreError | PipelineError>
  /**
   * Whether `batch` was read on from `previous` without a break in every partition they share
   * (`Source.continues`): only then do `previous`'s planned entries stand in for the store's.
   */
  readonly continues: (previous: Prepared, batch: ReadonlyArray<Input>) => boolean
  /**
   * Writes a prepared batch to every pipeline, completes `written` with how that ended, then runs
   * `before` (the previous batch's commit) and commits the batch.
   */
  readonly write: (
    prepared: Prepared,
    written: Deferred.Deferred<void, StoreError | PipelineError>,
    before: Effect.Effect<void, E | StoreError | PipelineError>
  ) => Effect.Effect<void, E | StoreError | PipelineError>
  /**
   * Whether a batch's writes may start once the previous batch's writes are done, before it is
   * committed. Not for a staged source (its one staged batch is the previous batch's until that is
   * committed) nor where the store has transactions (a commit would wait for the next batch's).
   */
  readonly overlap: boolean
  readonly summary: Summary
}

/** A batch planned for every pipeline, not yet written. */
interface Prepared {
  readonly batch: ReadonlyArray<Input>
  readonly plans: ReadonlyArray<Plan.Plan<any>>
  /** What the batch commits: the last record of each of its partitions (see `lastOfEach`). */
  readonly last: ReadonlyMap<string, Input>
  readonly started: number
}

/**
 * The last record of each partition of a batch, found while the batch is planned (its records are
 * then in the CPU's caches; after its writes they seldom are). A partition's records come in runs:
 * one insert at the end of each run, not one per record.
 */
const lastOfEach = (batch: ReadonlyArray<Input>): Map<string, Input> => {
  const last = new Map<string, Input>()
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!
    if (i + 1 === batch.length || batch[i + 1]!.partition !== r.partition) last.set(r.partition, r)
  }
  return last
}

type Services = Aggregates | Ledger | Tokens | DeadLetters

/** Folds one batch into one pipeline and adds its counts to `summary`. */
const pipelineFolder = (
  pipeline: Pipeline<any, any, Mode>,
  source: string,
  versions: Plan.Options,
  retry: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  summary: PipelineSummary
) =>
  Effect.gen(function*() {
    const aggregates = yield* Aggregates
    const ledger = yield* Ledger
    const deadLetters = yield* DeadLetters
    const attributes = { pipeline: pipeline.name, source }
    const mIn = Metric.withAttributes(recordsIn, attributes)
    const mStale = Metric.withAttributes(recordsStale, attributes)
    const mDead = Metric.withAttributes(recordsDead, attributes)
    const mKeys = Metric.withAttributes(keysWritten, attributes)
    const ledgerFree = pipeline.mode === "events"
    const windowed = pipeline.window !== undefined
    const mExpired = Metric.withAttributes(recordsExpired, attributes)
    // The per-batch effects below are built from combinators, not `Effect.gen`: a generator that
    // closes over a batch keeps the batch's young objects alive well past the batch (measured:
    // events-1m-process's peak RSS), and these run once per batch and pipeline.
    const plan = (batch: ReadonlyArray<Input>, documents: Plan.Documents, prior: ReadonlyArray<Entry<any> | undefined>, now: number) =>
      Effect.try({
        try: () => Plan.planDocuments(pipeline, batch, documents, prior, windowed ? { ...versions, now } : versions),
        catch: (cause) => new PipelineError({ pipeline: pipeline.name, detail: `folding a batch of ${batch.length} records failed`, cause })
      })
    /**
     * Reads the ledger entries of a batch's documents and plans it. `inFlight` holds the entries
     * planned for the previous batch while its writes are still under way: they win over what the
     * store answers, and their documents are not read (once those writes have ended, there is no
     * `inFlight`: the store holds the entries, and looking each document up twice would cost the
     * fold over 10k documents about 5% of its time).
     */
    const prepare = (batch: ReadonlyArray<Input>, documents: Plan.Documents, inFlight: ReadonlyMap<string, Entry<any>> | undefined) => {
      // an "events" pipeline keeps no ledger: nothing to read (and its plan has nothing to write)
      const at = (now: number) =>
        documents.ids.length === 0 || ledgerFree
          ? plan(batch, documents, noPrior, now)
          : Effect.flatMap(readLedger(documents.ids, inFlight), (prior) => plan(batch, documents, prior, now))
      return windowed ? Effect.flatMap(Clock.currentTimeMillis, at) : at(0)
    }
    /** The entry of each of `ids` (`undefined`: none), the in-flight ones instead of the store's. */
    const readLedger = (ids: ReadonlyArray<string>, inFlight: ReadonlyMap<string, Entry<any>> | undefined) =>
      Effect.suspend(() => {
        const prior = new Array<Entry<any> | undefined>(ids.length)
        let toRead = ids
        /** Where each of `toRead` goes in `prior` (none: `toRead` is `ids`). */
        let into: Array<number> | undefined = undefined
        if (inFlight !== undefined && inFlight.size > 0) {
          const rest: Array<string> = []
          into = []
          for (let j = 0; j < ids.length; j++) {
            const entry = inFlight.get(ids[j]!)
            if (entry !== undefined) prior[j] = entry
            else {
              rest.push(ids[j]!)
              into.push(j)
            }
          }
          toRead = rest
        }
        if (toRead.length === 0) return Effect.succeed(prior)
        return Effect.map(retry(ledger.get(pipeline, toRead)), (stored) => {
          for (let t = 0; t < toRead.length; t++) prior[into === undefined ? t : into[t]!] = stored[t]
          return prior
        })
      })
    const writeRejects = (rejects: Plan.Plan<any>["rejects"]) =>
      rejects.length === 0 ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (at) =>
        retry(deadLetters.write(rejects.map((r) => ({
          pipeline: pipeline.name,
          partition: r.partition,
          seq: r.seq,
          docId: r.docId,
          key: r.key,
          raw: detached(r.raw),
          reason: r.reason,
          at
        })))))
    const applyUpdates = (updates: Plan.Plan<any>["updates"]) =>
      updates.length === 0 ? Effect.void : Effect.flatMap(Effect.suspend(() => retry(aggregates.apply(pipeline, updates))), (applied) => {
        summary.keysWritten += applied.written
        summary.keysReplayed += applied.skipped + applied.partial
        return Metric.update(mKeys, applied.written)
      })
    const putLedger = (entries: Plan.Plan<any>["ledger"]) =>
      entries.size === 0 ? Effect.void : Effect.suspend(() => retry(ledger.put(pipeline, entries)))
    /** Adds a written batch's counts to the summary and the metrics. */
    const count = (c: Plan.Plan<any>["counts"]) =>
      Effect.suspend(() => {
        summary.records += c.records
        summary.upserts += c.upserts
        summary.deletes += c.deletes
        summary.stale += c.stale
        summary.unchanged += c.unchanged
        summary.skipped += c.skipped
        summary.rejected += c.rejected
        summary.invalid += c.invalid
        const metrics: Array<Effect.Effect<void>> = []
        if (c.expired > 0) {
          summary.expired += c.expired
          metrics.push(
            Metric.update(mExpired, c.expired),
            Effect.logInfo(`${c.expired} records older than the retention of pipeline ${pipeline.name} dropped (their buckets have expired)`)
          )
        }
        metrics.push(Metric.update(mIn, c.records))
        if (c.stale > 0) metrics.push(Metric.update(mStale, c.stale))
        if (c.rejected > 0) metrics.push(Metric.update(mDead, c.rejected))
        return Effect.all(metrics, { discard: true })
      })
    /** Writes a planned batch: dead letters, aggregates, ledger (in that order), and counts it. */
    const write = (plan: Plan.Plan<any>) =>
      writeRejects(plan.rejects).pipe(
        Effect.andThen(applyUpdates(plan.updates)),
        Effect.andThen(putLedger(plan.ledger)),
        Effect.andThen(count(plan.counts)),
        Effect.withSpan("Fold.write", {
          attributes: { pipeline: pipeline.name, source, partitions: partitionsOf(plan), records: plan.counts.records, keys: plan.updates.length }
        }, { captureStackTrace: false })
      )
    return { prepare, write }
  })

const versionOf = (option: Options["after"], pipeline: string): Version | undefined =>
  option === undefined || Array.isArray(option) ? (option as Version | undefined) : (option as ReadonlyMap<string, Version>).get(pipeline)

/**
 * Builds the batch folder of a source and its pipelines: `fold` applies one batch to every
 * pipeline then commits it; `recover` first finishes a batch a crashed run staged.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFolder = <K extends Kind, E, R>(
  source: Source<K, E, R>,
  pipelines: ReadonlyArray<Accepts<K>>,
  options: Options = {}
) =>
  Effect.gen(function*() {
    const tokens = yield* Tokens
    const transactions = yield* Effect.serviceOption(Transactions)
    const fence = yield* Effect.serviceOption(CommitFence)
    yield* checkItemSizes(pipelines, (yield* Aggregates).itemLimit)
    const context = yield* Effect.context<R>()
    const retry = retrying(options.retry)
    const staged = TokenKeys.staged(source.name)
    const mMillis = Metric.withAttributes(batchMillis, { source: source.name })
    const summary: Summary = { records: 0, batches: 0, elapsedMs: 0, pipelines: {} }
    const folders = yield* Effect.forEach(pipelines, (pipeline) => {
      const counts = emptyCounts()
      summary.pipelines[pipeline.name] = counts
      const versions = {
        after: versionOf(options.after, pipeline.name),
        at: versionOf(options.at, pipeline.name),
        keepDocuments: options.keepDocuments,
        copyKeys: source.sharesText === true
      }
      return pipelineFolder(pipeline, source.name, versions, retry, counts)
    })

    const everyLedgerFree = pipelines.every((p) => p.mode === "events")

    /** Plans a batch for every pipeline (see `prepare`: `inFlight`, the previous batch's plans). */
    const prepare = (batch: ReadonlyArray<Input>, inFlight: Prepared | undefined): Effect.Effect<Prepared, StoreError | PipelineError> =>
      Effect.flatMap(Clock.currentTimeMillis, (started) => {
        const documents = everyLedgerFree ? noDocuments : Plan.documentsOf(batch)
        const last = lastOfEach(batch)
        return Effect.map(
          Effect.forEach(folders, (folder, i) => folder.prepare(batch, documents, inFlight?.plans[i]!.ledger)),
          (plans) => ({ batch, plans, last, started })
        )
      })

    const goesOn = source.continues
    const continues = (previous: Prepared, batch: ReadonlyArray<Input>): boolean => {
      if (goesOn === undefined) return true
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i]!
        // the first record of each run of a partition
        if (i > 0 && batch[i - 1]!.partition === r.partition) continue
        const before = previous.last.get(r.partition)
        if (before !== undefined && !goesOn(before, r)) return false
      }
      return true
    }

    /** Commits a batch through the source: the last record of each of its partitions. */
    // a store that fences commits rather than writes (DynamoDB, see `Generations`) checks first
    const commit = (last: ReadonlyMap<string, Input>) =>
      Effect.suspend(() => {
        const commitIt = source.commit(last).pipe(Effect.provideContext(context))
        return retry(Option.isSome(fence) ? Effect.andThen(fence.value.check, Effect.provideService(commitIt, Checked, true)) : commitIt)
      })

    /**
     * Writes a prepared batch to every pipeline (staged first, for sources that stage), in one
     * transaction where the store has them, then commits it: after `before` (the previous batch's
     * commit, when the writes may overlap it), once `written` (if any) is told how the writes ended.
     */
    const write = (
      prepared: Prepared,
      stage: boolean,
      written?: Deferred.Deferred<void, StoreError | PipelineError>,
      before: Effect.Effect<void, E | StoreError | PipelineError> = Effect.void
    ) => {
      const { batch, plans, started } = prepared
      const stageIt = stage ? Effect.suspend(() => retry(tokens.set(staged.scope, staged.name, Staging.encode(batch)))) : Effect.void
      const unstage = stage ? Effect.suspend(() => retry(tokens.set(staged.scope, staged.name, undefined))) : Effect.void
      const writes = Effect.andThen(stageIt, Effect.forEach(folders, (folder, i) => folder.write(plans[i]!), { discard: true }))
      // a transaction that could not begin or commit (another process holds the database) is
      // rolled back whole, and runs again like any store call that failed that way
      const applied = Option.isSome(transactions) ? retry(transactions.value.withTransaction(writes)) : writes
      return (written === undefined ? applied : applied.pipe(Effect.onExit((exit) => Deferred.done(written, exit)))).pipe(
        Effect.andThen(before),
        Effect.andThen(commit(prepared.last)),
        Effect.andThen(unstage),
        Effect.andThen(Clock.currentTimeMillis),
        Effect.flatMap((now) => {
          summary.batches++
          summary.records += batch.length
          return Metric.update(mMillis, now - started)
        }),
        Effect.withSpan("Fold.batch", {
          attributes: { source: source.name, partitions: partitionsOf(prepared.plans[0]), records: batch.length }
        }, { captureStackTrace: false })
      )
    }

    const fold = (batch: ReadonlyArray<Input>, stage: boolean) => Effect.flatMap(prepare(batch, undefined), (p) => write(p, stage))

    /** Finishes a batch a crashed run staged but did not commit. */
    const recover = Effect.gen(function*() {
      if (!source.staged) return
      const saved = yield* retry(tokens.get(staged.scope, staged.name))
      if (Option.isNone(saved)) return
      const batch = yield* Effect.try({
        try: () => Staging.decode(saved.value),
        catch: (cause) => new PipelineError({ pipeline: pipelines.map((p) => p.name).join(","), detail: `the staged batch of ${source.name} cannot be decoded`, cause })
      })
      yield* Effect.logInfo(`finishing a staged batch of ${batch.length} records left by an interrupted run`)
      yield* fold(batch, false)
    })

    return {
      fold: (batch: ReadonlyArray<Input>) => fold(batch, source.staged),
      prepare,
      continues,
      write: (
        prepared: Prepared,
        written: Deferred.Deferred<void, StoreError | PipelineError>,
        before: Effect.Effect<void, E | StoreError | PipelineError>
      ) => write(prepared, source.staged, written, before),
      overlap: !source.staged && Option.isNone(transactions),
      recover,
      summary
    }
  })

/**
 * The fold as a `Sink` over `source`'s records (possibly transformed on the way): it first
 * finishes a batch a crashed run staged, then applies every chunk it receives (split into
 * batches of `batchSize`) to every pipeline, commits it through `source`, and ends with the run's
 * {@link Summary} when the stream ends.
 *
 * For a staged source (a collection scan), the records must be read only after the sink has
 * started (it finishes the staged batch and commits it, and the source resumes after it): a plain
 * `Stream.run(source.records, sink)` does, but a transformation that starts reading ahead of
 * the sink (a merge, `Stream.interruptWhen`) may not; {@link run} always does. A write that fails
 * while the source delivers nothing more surfaces with the next record or at the end; {@link run}
 * fails at once.
 *
 * @since 0.2.0
 * @category constructors
 */
export const sink = <K extends Kind, E, R>(
  source: Source<K, E, R>,
  pipelines: ReadonlyArray<Accepts<K>>,
  options: Options = {}
): Sink.Sink<Summary, Input, never, E | StoreError | PipelineError, R | Services> =>
  Sink.unwrap(Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const folder = yield* makeFolder(source, pipelines, options)
    yield* folder.recover
    return sinkWith(folder, options, yield* Deferred.make<never, E | StoreError | PipelineError>(), started)
  }))

/**
 * The sink, reporting a failed write into `failed` as soon as it happens: a batch's writes run
 * while the next batch is read, so a live source that delivers nothing more would otherwise keep
 * the failure until its next record (`run` interrupts the source with it).
 */
const sinkWith = <E>(
  folder: Folder<E>,
  options: Options,
  failed: Deferred.Deferred<never, E | StoreError | PipelineError>,
  started: number
): Sink.Sink<Summary, Input, never, E | StoreError | PipelineError> =>
  Sink.suspend(() => {
    const size = Math.max(1, options.batchSize ?? 2000)
    type Failure = E | StoreError | PipelineError
    // One batch's writes may be in flight while the next one is read and planned: until they end,
    // the ledger entries it planned stand in for the store's (see `prepare`). Writes stay in
    // order, one batch at a time, so a key never sees a later batch before an earlier one; commits
    // stay in order too. Where the folder allows it (`overlap`), a batch's writes start once the
    // previous batch's writes are done, while that batch is still being committed (its commit
    // reads and writes the position: round trips a store some milliseconds away would otherwise
    // wait for).
    let inFlight: {
      readonly prepared: Prepared
      readonly fiber: Fiber.Fiber<void, Failure>
      readonly written: Deferred.Deferred<void, StoreError | PipelineError>
      /** The previous batch's fiber, which may still be committing. */
      readonly previous: Fiber.Fiber<void, Failure> | undefined
    } | undefined
    /** Takes the batches being written, if any, and waits for them (`finish`) or stops them (`stop`). */
    const settle = (how: (current: NonNullable<typeof inFlight>) => Effect.Effect<void, Failure>) =>
      Effect.suspend(() => {
        const current = inFlight
        inFlight = undefined
        return current === undefined ? Effect.void : how(current)
      })
    // joining the latest batch waits for the one before too: its commit runs after that one's
    const finish = settle((current) => Fiber.join(current.fiber))
    const stop = settle((current) => Fiber.interruptAll(current.previous === undefined ? [current.fiber] : [current.fiber, current.previous]))
    /** Waits until the batch in flight lets the next one's writes start. */
    const ready = Effect.suspend((): Effect.Effect<Fiber.Fiber<void, Failure> | undefined, Failure> => {
      const current = inFlight
      if (current === undefined) return Effect.succeed(undefined)
      if (!folder.overlap) return Effect.as(finish, undefined)
      // at most two batches at once: one committing, one writing (so `stop` reaches every writer)
      const committed = current.previous === undefined ? Effect.void : Fiber.join(current.previous)
      return Effect.as(Effect.andThen(Deferred.await(current.written), committed), current.fiber)
    })
    /**
     * The batch whose ledger entries stand in for the store's: the one in flight, until its writes
     * have ended (the store then answers with them, or newer ones; and after a failed write no
     * later batch is written).
     */
    const unwritten = () => inFlight === undefined || Deferred.isDoneUnsafe(inFlight.written) ? undefined : inFlight
    /**
     * Plans a batch. When its partitions were read on without a break from the batch in flight, that
     * batch's entries stand in for the store's; otherwise (a partition given to this reader again:
     * another one may have folded it since, and its entries in the store may be newer) the writes in
     * flight are waited for and the store is read.
     */
    const planBatch = (batch: ReadonlyArray<Input>) =>
      Effect.suspend(() => {
        const pending = unwritten()
        if (pending === undefined || folder.continues(pending.prepared, batch)) return folder.prepare(batch, pending?.prepared)
        return Effect.andThen(Deferred.await(pending.written), folder.prepare(batch, undefined))
      })
    const foldBatch = (batch: ReadonlyArray<Input>) =>
      planBatch(batch).pipe(
        Effect.flatMap((prepared) =>
          Effect.flatMap(ready, (previous) => {
            const written = Deferred.makeUnsafe<void, StoreError | PipelineError>()
            const write = folder.write(prepared, written, previous === undefined ? Effect.void : Fiber.join(previous))
            return Effect.map(
              Effect.forkChild(write.pipe(Effect.onError((cause) => Deferred.failCause(failed, cause)))),
              (fiber) => {
                inFlight = { prepared, fiber, written, previous }
              }
            )
          })
        )
      )
    const foldArray = (chunk: ReadonlyArray<Input>) => {
      if (chunk.length <= size) return foldBatch(chunk)
      const batches: Array<ReadonlyArray<Input>> = []
      for (let i = 0; i < chunk.length; i += size) batches.push(chunk.slice(i, i + size))
      return Effect.forEach(batches, foldBatch, { discard: true })
    }
    // a sink that fails (or is interrupted) stops the batches being written before they end: no
    // writer may outlive its run (a restarted run would race it)
    return Sink.forEachArray(foldArray).pipe(
      Sink.mapEffect(() =>
        Effect.andThen(finish, Effect.map(Clock.currentTimeMillis, (now) => {
          folder.summary.elapsedMs = now - started
          return folder.summary
        }))
      ),
      Sink.ensuring(stop)
    )
  })

/**
 * Folds a source into the stores until it ends (bootstrap sources, files) or forever (live
 * sources), resuming after its last committed position: `Stream.run(source.records, sink(...))`,
 * with `coalesceWithin` applied on the way. Returns the run's totals.
 *
 * @since 0.1.0
 * @category running
 */
export const run: {
  <K extends Kind>(
    pipelines: ReadonlyArray<Accepts<K>>,
    options?: Options
  ): <E, R>(source: Source<K, E, R>) => Effect.Effect<Summary, E | StoreError | PipelineError, R | Services>
  <K extends Kind, E, R>(
    source: Source<K, E, R>,
    pipelines: ReadonlyArray<Accepts<K>>,
    options?: Options
  ): Effect.Effect<Summary, E | StoreError | PipelineError, R | Services>
} = dual(
  (args) => typeof args[0] === "object" && args[0] !== null && "records" in args[0],
  <K extends Kind, E, R>(source: Source<K, E, R>, pipelines: ReadonlyArray<Accepts<K>>, options: Options = {}) => {
    const records = options.coalesceWithin === undefined
      ? source.records
      : source.records.pipe(
        Stream.groupedWithin(Math.max(1, options.batchSize ?? 2000), options.coalesceWithin),
        Stream.filter((batch): batch is [Input, ...Array<Input>] => batch.length > 0),
        Stream.flattenArray
      )
    return Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const folder = yield* makeFolder(source, pipelines, options)
      // a staged batch is finished before the source is read: the source resumes after it
      yield* folder.recover
      const failed = yield* Deferred.make<never, E | StoreError | PipelineError>()
      return yield* Stream.run(records.pipe(Stream.interruptWhen(Deferred.await(failed))), sinkWith(folder, options, failed, started))
    }).pipe(
      Effect.withSpan("Fold.run", { attributes: { source: source.name, pipelines: pipelines.map((p) => p.name).join(",") } })
    )
  }
)

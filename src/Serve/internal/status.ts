/**
 * The status of the pipelines served (`GET /v1/status` and the page at `/status`):
 *
 * - the phase, from each pipeline's bootstrap state in the token store (`Orchestrator.state`);
 * - bootstrap progress, from the snapshot gauges (`monoid_snapshot_documents`,
 *   `monoid_snapshot_documents_estimated`) of the sources folded into the pipeline in this
 *   process (the fold's `monoid_records_in` counter says which sources feed which pipeline);
 * - throughput: a fiber samples each pipeline's `monoid_records_in` every `sampleEvery` (by the
 *   `Clock`) and keeps the last `keep`; the rate over a span is the difference between now and
 *   the oldest sample inside it;
 * - lag: `monoid_change_stream_lag_seconds` of the pipeline's sources, and the Kafka sources'
 *   `monoid_kafka_consumer_lag` per group, topic and partition when they run here;
 * - dead letters: the store's (`DeadLetters.list`), the most recent first, without their raw
 *   records.
 *
 * Metrics are this process's: a separate `serve.js` shows the phase and the dead letters, and no
 * progress, throughput or lag (those belong to the worker's own page).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Orchestrator from "../../Runtime/Orchestrator.ts"
import { DeadLetters } from "../../Store/DeadLetters.ts"
import { Tokens } from "../../Store/Tokens.ts"
import type { Phase, PipelineStatus, Status as StatusSchema, Throughput } from "../QueryApi.ts"

type PipelineStatusT = typeof PipelineStatus.Type
import type { Catalog } from "./catalog.ts"

/** What {@link make} needs. */
export interface Options {
  /** How often the fold counters are sampled. */
  readonly sampleEvery: Duration.Duration
  /** The spans of the throughput shown, in seconds. */
  readonly spans: ReadonlyArray<number>
  /** How many dead letters are shown per pipeline. */
  readonly recentDeadLetters: number
  /** The time limit of each store read. */
  readonly readTimeout: Duration.Duration
}

/** The status, computed on demand. */
export interface Status {
  readonly current: Effect.Effect<typeof StatusSchema.Type>
}

type Snapshot = ReadonlyArray<Metric.Metric.Snapshot>

const numberOf = (s: Metric.Metric.Snapshot): number => {
  const state = s.state as { readonly count?: number | bigint; readonly value?: number | bigint }
  return Number(state.count ?? state.value ?? Number.NaN)
}

/** The samples of metric `id`: each one's attributes and value. */
const samplesOf = (snapshot: Snapshot, id: string) =>
  snapshot.filter((s) => s.id === id).map((s) => ({ attributes: s.attributes ?? {}, value: numberOf(s) }))

/** Per pipeline: the records folded (over every source) and the sources. */
const foldsOf = (snapshot: Snapshot) => {
  const out = new Map<string, { records: number; sources: Set<string> }>()
  for (const { attributes, value } of samplesOf(snapshot, "monoid_records_in")) {
    const pipeline = attributes["pipeline"]
    if (pipeline === undefined) continue
    const entry = out.get(pipeline) ?? { records: 0, sources: new Set<string>() }
    entry.records += value
    if (attributes["source"] !== undefined) entry.sources.add(attributes["source"])
    out.set(pipeline, entry)
  }
  return out
}

/** The sum of gauge `id` over `sources`, or `undefined` when none of them has it. */
const gaugeOver = (snapshot: Snapshot, id: string, sources: ReadonlySet<string>, combine: (a: number, b: number) => number) => {
  let out: number | undefined = undefined
  for (const { attributes, value } of samplesOf(snapshot, id)) {
    const source = attributes["source"]
    if (source === undefined || !sources.has(source) || !Number.isFinite(value)) continue
    out = out === undefined ? value : combine(out, value)
  }
  return out
}

interface Sample {
  readonly at: number
  readonly records: ReadonlyMap<string, number>
}

const phaseOf = (name: string, timeout: Duration.Duration): Effect.Effect<Phase> =>
  Effect.gen(function*() {
    const tokens = yield* Effect.serviceOption(Tokens)
    if (Option.isNone(tokens)) return "unknown" as const
    const state = yield* Orchestrator.state(name, Schedule.recurs(0)).pipe(Effect.provideService(Tokens, tokens.value))
    if (Option.isNone(state)) return "not started" as const
    return state.value.phase === "done" ? "live" as const : "bootstrapping" as const
  }).pipe(
    Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.succeed("unknown" as const) }),
    Effect.catchCause((cause) => Effect.as(Effect.logDebug(`status: the phase of pipeline ${name} was not read`, cause), "unknown" as const))
  )

const deadLettersOf = (name: string, options: Options): Effect.Effect<PipelineStatusT["deadLetters"]> =>
  Effect.gen(function*() {
    const deadLetters = yield* Effect.serviceOption(DeadLetters)
    if (Option.isNone(deadLetters)) return { count: null, recent: [], error: "no dead-letter store in this process" }
    const letters = yield* deadLetters.value.list(name).pipe(
      Effect.timeoutOrElse({
        duration: options.readTimeout,
        orElse: () => Effect.fail(new Error(`no answer within ${Duration.format(options.readTimeout)}`))
      })
    )
    const recent = [...letters].sort((a, b) => b.at - a.at || b.seq - a.seq).slice(0, options.recentDeadLetters)
    return {
      count: letters.length,
      recent: recent.map((l) => ({ at: l.at, partition: l.partition, seq: l.seq, docId: l.docId ?? null, reason: l.reason }))
    }
  }).pipe(
    Effect.catchCause((cause) =>
      Effect.as(Effect.logWarning(`status: the dead letters of pipeline ${name} were not read`, cause), {
        count: null,
        recent: [],
        error: "the dead-letter store did not answer"
      })
    )
  )

/** Records per second of each span, from the oldest sample inside it to `now`. */
const throughputOf = (samples: ReadonlyArray<Sample>, name: string, now: number, records: number, spans: ReadonlyArray<number>) =>
  spans.map((span): typeof Throughput.Type => {
    const base = samples.find((s) => s.at >= now - span * 1000)
    const seconds = base === undefined ? 0 : (now - base.at) / 1000
    return {
      window: span,
      seconds,
      recordsPerSecond: base === undefined || seconds < 0.5 ? null : (records - (base.records.get(name) ?? 0)) / seconds
    }
  })

/** Starts the sampler (in the current scope) and gives the status. */
export const make = (catalog: Catalog, options: Options) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<never>()
    const samples: Array<Sample> = []
    const keepMs = Math.max(...options.spans) * 1000 + Duration.toMillis(options.sampleEvery)
    const sample = Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      const folds = foldsOf(yield* Metric.snapshot)
      samples.push({ at, records: new Map(Array.from(folds, ([name, f]) => [name, f.records])) })
      while (samples.length > 0 && samples[0]!.at < at - keepMs) samples.shift()
    })
    yield* Effect.forkScoped(Effect.repeat(sample, Schedule.spaced(options.sampleEvery)))

    const current = Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      const snapshot = yield* Metric.snapshot
      const folds = foldsOf(snapshot)
      const pipelines = yield* Effect.forEach(catalog.entries, (entry) =>
        Effect.gen(function*() {
          const name = entry.info.name
          const fold = folds.get(name) ?? { records: 0, sources: new Set<string>() }
          const scanned = gaugeOver(snapshot, "monoid_snapshot_documents", fold.sources, (a, b) => a + b)
          const estimated = gaugeOver(snapshot, "monoid_snapshot_documents_estimated", fold.sources, (a, b) => a + b)
          const [phase, deadLetters] = yield* Effect.all([phaseOf(name, options.readTimeout), deadLettersOf(name, options)], {
            concurrency: 2
          })
          return {
            name,
            phase,
            sources: Array.from(fold.sources).sort(),
            progress: scanned === undefined ? null : { scanned, estimated: estimated ?? null },
            records: fold.records,
            throughput: throughputOf(samples, name, at, fold.records, options.spans),
            changeStreamLagSeconds: gaugeOver(snapshot, "monoid_change_stream_lag_seconds", fold.sources, Math.max) ?? null,
            deadLetters
          }
        }), { concurrency: 4 })
      const kafkaLag = samplesOf(snapshot, "monoid_kafka_consumer_lag").map(({ attributes, value }) => ({
        group: attributes["group"] ?? "",
        topic: attributes["topic"] ?? "",
        partition: attributes["partition"] ?? "",
        lag: value
      }))
      return { at, pipelines, kafkaLag }
    }).pipe(Effect.provideContext(context))

    return { current } satisfies Status
  })

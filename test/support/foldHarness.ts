/**
 * Runs a generated history through the real orchestrator (bootstrap from a scan, then live from a
 * change log) over real store services, crashing at random store calls and restarting until the
 * run completes, then reads the totals and dead letters back from the store.
 */
import { Effect, Exit, Layer, References } from "effect"
import * as Handoff from "../../src/Handoff.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters, type DeadLetter } from "../../src/Store/DeadLetters.ts"
import type { StoreError } from "../../src/Store/StoreError.ts"
import type { Tokens } from "../../src/Store/Tokens.ts"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import type * as Pipeline from "../../src/Pipeline.ts"
import * as ArraySource from "./arraySource.ts"
import { Crash, crashing, type Services } from "./faults.ts"
import type { History } from "./history.ts"
import * as Rand from "./random.ts"

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

export interface HarnessOptions {
  readonly seed: number
  /** Fresh store layer per (re)start, over durable state. */
  readonly store: () => Layer.Layer<Services, any>
  readonly crashes: number
  readonly partitions: number
  readonly maxChunk: number
  /** Stage the scan's batches (as the MongoDB scan does). */
  readonly stagedScan?: boolean
  /** A restarted run crashes within this many store calls (default 40). */
  readonly crashWindow?: number
  /** How the change log is ordered (as the history was generated); default "position". */
  readonly ordering?: "position" | "sourceTime"
  /** The pipelines folded from the one pair of sources (default the example's orderTotals), and the collection its records must be of. */
  readonly pipelines?: ReadonlyArray<Pipeline.Pipeline<any, number, "changes">>
  readonly namespace?: { readonly db: string; readonly collection: string }
  /** The fold's `keepDocuments` (bootstrap and live). */
  readonly keepDocuments?: boolean | undefined
  /** Use the store's `Transactions` when it has them (default true). */
  readonly transactions?: boolean
}

export interface HarnessResult {
  readonly totals: ReadonlyMap<string, number>
  readonly deadLetters: ReadonlyArray<DeadLetter>
  /** Every pipeline's totals and dead letters (the first pipeline's are also above). */
  readonly pipelines: ReadonlyMap<string, { readonly totals: ReadonlyMap<string, number>; readonly deadLetters: ReadonlyArray<DeadLetter> }>
  readonly restarts: number
  readonly calls: number
}

export const foldHistory = (history: History, options: HarnessOptions): Promise<HarnessResult> =>
  Effect.runPromise(Effect.gen(function*() {
    const r = Rand.make(options.seed ^ 0x5bd1e995)
    let attempt = 0
    let restarts = 0
    const calls = { n: 0 }
    const pipelines = options.pipelines ?? [orderTotals]
    const spec: Orchestrator.Spec<"changes", StoreError, Tokens> = {
      pipelines,
      handoff: Effect.sync(() => Handoff.atVersion(history.p0)),
      bootstrap: (handoff: Handoff.Handoff) =>
        ArraySource.snapshotScan([history.snapshot, history.rescan], handoff, {
          random: r,
          maxChunk: options.maxChunk,
          staged: options.stagedScan ?? true,
          attempt: () => attempt
        }),
      live: (handoff: Handoff.Handoff) =>
        ArraySource.changeLog(history.log, {
          partitions: options.partitions,
          random: r,
          maxChunk: options.maxChunk,
          ordering: options.ordering,
          namespace: options.namespace
        }),
      options: { batchSize: options.maxChunk, keepDocuments: options.keepDocuments }
    }
    while (true) {
      const plan = attempt < options.crashes
        ? { at: calls.n + r.int(1, options.crashWindow ?? 40), mode: r.pick(["before", "after", "partial"] as const) }
        : undefined
      const exit = yield* Effect.exit(Orchestrator.run(spec).pipe(
        Effect.provide(crashing(options.store(), plan, calls, { transactions: options.transactions })),
        Effect.provide(quiet)
      ))
      attempt++
      if (Exit.isSuccess(exit)) break
      const crashed = exit.cause.reasons.some((reason) => reason._tag === "Die" && reason.defect instanceof Crash)
      if (!crashed) return yield* Effect.failCause(exit.cause)
      restarts++
    }
    const read = Effect.gen(function*() {
      const all = new Map<string, { readonly totals: ReadonlyMap<string, number>; readonly deadLetters: ReadonlyArray<DeadLetter> }>()
      for (const p of pipelines) {
        const totals = yield* (yield* Aggregates).all(p)
        const deadLetters = yield* (yield* DeadLetters).list(p.name)
        all.set(p.name, { totals: totals as ReadonlyMap<string, number>, deadLetters })
      }
      return all
    })
    const all = yield* read.pipe(Effect.provide(options.store()))
    const main = all.get(pipelines[0]!.name)!
    return { totals: main.totals, deadLetters: main.deadLetters, pipelines: all, restarts, calls: calls.n }
  }).pipe(Effect.scoped))

/**
 * The live source a store's documents are folded from, recorded in the store by the first live
 * run. The change stream and the snapshot version a document by its MongoDB cluster time, the
 * Kafka worker by its record's offset (`[handoff + 1, offset]`); the two cannot be compared, and a
 * cluster time is newer than every offset version: once a document's ledger entry holds one, the
 * Kafka worker skips the document's later records as stale, for good. So a store folded from one
 * source is not folded from the other (a switch needs a new store and a new bootstrap), and the
 * commands that fold at cluster times (a dead-letter replay, a rebootstrap) refuse a store the
 * Kafka worker folds, whatever `LIVE_SOURCE` the operator's shell holds.
 */
import { Effect, Option } from "effect"
import { ConfigurationError } from "../../src/Errors.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Settings from "./config.ts"
import { pipelines } from "./pipeline.ts"

const SCOPE = "@orderstats"
const NAME = "live-source"

/** The live source recorded in the store, if a live run has run. */
export const recorded = Effect.flatMap(Tokens, (tokens) => tokens.get(SCOPE, NAME)).pipe(
  Effect.map((saved) => {
    const value = Option.getOrUndefined(saved)
    return value === "kafka" || value === "changestream" ? value : undefined
  })
)

/**
 * Records `source` as the store's live source on its first live run; fails when another one is
 * recorded. Before the bootstrap has finished it records nothing (the live run refuses to start
 * then, with its own message).
 */
export const claim = (source: Settings.LiveSource) =>
  Effect.gen(function*() {
    const before = yield* recorded
    if (before === undefined) {
      const states = yield* Effect.forEach(pipelines, (p) => Orchestrator.state(p.name))
      if (states.some((s) => Option.isNone(s) || s.value.phase !== "done")) return
      return yield* Effect.flatMap(Tokens, (tokens) => tokens.set(SCOPE, NAME, source))
    }
    if (before !== source) {
      return yield* new ConfigurationError({
        detail: `this store is folded from ${name(before)}, and this worker reads ${name(source)} (LIVE_SOURCE=${source}): ` +
          `their versions cannot be compared (the documents' later changes would be skipped for good). To switch, ` +
          `bootstrap into a new store (STATE_DIR or DDB_TABLE) and run the new workers on it`
      })
    }
  })

const name = (source: Settings.LiveSource): string => source === "kafka" ? "Kafka (offset order)" : "the change stream (cluster times)"

/**
 * Fails for `command` when the store's worker reads Kafka (recorded in the store, or `LIVE_SOURCE`
 * says so): it folds documents at MongoDB cluster times, which would freeze them (see the module doc).
 */
export const requireChangeStream = (command: string, instead: string) =>
  Effect.gen(function*() {
    const env = yield* Settings.liveSource
    const store = yield* recorded
    if (env !== "kafka" && store !== "kafka") return
    return yield* new ConfigurationError({
      detail: `${command} cannot run on a store the Kafka worker folds (${store === "kafka" ? "recorded in the store" : "LIVE_SOURCE=kafka"}): ` +
        `it folds documents at MongoDB cluster times, and the Kafka worker orders a document's records by their topic ` +
        `offsets, which cannot be compared with them (the document's later changes would be skipped for good). ${instead}`
    })
  })

/**
 * A source is a `Stream` of {@link Input} records with positions, plus the way to commit a
 * position once the fold has durably applied everything up to it.
 *
 * Sources read their starting position themselves when their stream starts (from the token store,
 * or from a Kafka consumer group), so a restarted run resumes after the last commit.
 *
 * `staged` sources are those whose replay from a committed position is not byte-identical: a
 * collection scan (documents change between two scans) and a change stream whose documents are
 * looked up when read. For them the fold first writes each batch to the token store, so that a
 * batch interrupted by a crash is finished from the very same records (see `Fold`).
 *
 * @since 0.1.0
 */
import { Effect, type Stream } from "effect"
import type { Input } from "../Input.ts"
import type { StoreError } from "../Store/StoreError.ts"
import { Tokens } from "../Store/Tokens.ts"

/**
 * @since 0.1.0
 */
export interface Source<In, E = never, R = never> {
  /** Unique within a pipeline; names the source's position in the token store. */
  readonly name: string
  readonly inputs: Stream.Stream<Input<In>, E, R>
  /** Commits the position after `last` (the last applied record of each partition). */
  readonly commit: (last: ReadonlyMap<string, Input<In>>) => Effect.Effect<void, E | StoreError, R>
  readonly staged: boolean
}

/**
 * The token-store name under which a source keeps its committed position.
 *
 * @since 0.1.0
 */
export const positionToken = (sourceName: string): string => `position:${sourceName}`

/**
 * A `commit` that saves the `checkpoint` of the last record of each partition in the token store,
 * as `{ [partition]: checkpoint }` merged into what is there. The source is the only writer of its
 * position, so after the first commit the merged value is kept in memory: one store write per
 * commit, no read.
 *
 * @since 0.1.0
 */
export const commitToTokens = (pipeline: string, sourceName: string) => {
  const name = positionToken(sourceName)
  let known: Record<string, unknown> | undefined
  return <In>(last: ReadonlyMap<string, Input<In>>): Effect.Effect<void, StoreError, Tokens> =>
    Effect.gen(function*() {
      const tokens = yield* Tokens
      if (known === undefined) {
        const saved = yield* tokens.get(pipeline, name)
        known = Object.assign(
          Object.create(null),
          saved._tag === "Some" && typeof saved.value === "object" && saved.value !== null ? saved.value : {}
        ) as Record<string, unknown>
      }
      const next: Record<string, unknown> = Object.assign(Object.create(null), known)
      for (const [partition, record] of last) next[partition] = { seq: record.seq, checkpoint: record.checkpoint ?? null }
      yield* tokens.set(pipeline, name, next)
      known = next
    })
}

/**
 * Reads the committed `{ seq, checkpoint }` of one partition of a source, if any.
 *
 * @since 0.1.0
 */
export const committed = (pipeline: string, sourceName: string, partition: string) =>
  Effect.gen(function*() {
    const tokens = yield* Tokens
    const saved = yield* tokens.get(pipeline, positionToken(sourceName))
    if (saved._tag === "None" || typeof saved.value !== "object" || saved.value === null) return undefined
    const entry = (saved.value as Record<string, unknown>)[partition]
    if (typeof entry !== "object" || entry === null || typeof (entry as { seq?: unknown }).seq !== "number") return undefined
    return entry as { readonly seq: number; readonly checkpoint: unknown }
  })

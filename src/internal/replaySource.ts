/**
 * The source a dead-letter replay folds through (`DeadLetterReplay`): staged, one partition per
 * pipeline, ordinals continued from its committed position. A replay killed during its write
 * leaves its batch staged; the next fold of this source (the next replay, or the live worker
 * before it starts: `Orchestrator.live`) finishes it at the same positions.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Input, Position } from "../Input.ts"
import * as Source from "../Source.ts"

/** The name of the source a replay of `pipeline` folds through (its position and staged batch in the token store). */
export const name = (pipeline: string): string => `dead-letter-replay:${pipeline}`

/** The replay source of `pipeline` over `changes`, each built at its position. */
export const make = (pipeline: string, changes: ReadonlyArray<(position: Position) => Input>) => {
  const source = name(pipeline)
  const partition = `replay:${pipeline}`
  const records = Stream.unwrap(Effect.map(Source.committed(source, partition), (saved) => {
    let seq = saved?.seq ?? 0
    return Stream.fromIterable(changes.map((build) => build({ partition, seq: ++seq })))
  }))
  return Source.make({ name: source, kind: "changes", records, commit: Source.commitToTokens(source), staged: true })
}

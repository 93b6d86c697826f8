/**
 * The first step of an adapter's commit, the same for every client: the offsets of partitions the
 * member owns in the generation they name, and a refusal for each of the others.
 */
import type * as Port from "../KafkaPort.ts"

/** What a commit needs to know of the group member. */
export interface Member {
  readonly stopping: boolean
  readonly owns: (topic: string, partition: number, generation: number) => boolean
  readonly current: { readonly generation: number }
}

/** Splits `offsets` into those `member` may commit and the refusals of the rest. */
export const splitOwned = (
  member: Member,
  offsets: ReadonlyArray<Port.CommitOffset>
): { readonly ok: Array<Port.CommitOffset>; readonly refused: Array<Port.Refusal> } => {
  const ok: Array<Port.CommitOffset> = []
  const refused: Array<Port.Refusal> = []
  for (const o of offsets) {
    if (member.stopping) refused.push({ offset: o, reason: "stopped", detail: "the consumer is stopping" })
    else if (!member.owns(o.topic, o.partition, o.generation)) {
      refused.push({
        offset: o,
        reason: "not-owner",
        detail: `partition ${o.topic}/${o.partition} is not owned in generation ${o.generation} (current ${member.current.generation})`
      })
    } else ok.push(o)
  }
  return { ok, refused }
}

/**
 * Where a pipeline stands, from what the store holds: its phase (from the bootstrap state the
 * orchestrator keeps in the token store), its handoff, how many aggregates and dead letters it
 * has, and the committed positions of the sources that feed it.
 *
 * - `"new"`: no bootstrap was ever started;
 * - `"bootstrapping"`: the bootstrap's scan has started (or was interrupted) and not finished;
 * - `"live"`: the bootstrap is done: the live worker folds changes from the handoff on (the store
 *   cannot tell whether a worker is running right now; the lag of its position can).
 *
 * Counting the aggregates reads all of them (`Aggregates.all`): a full scan of the pipeline's keys.
 *
 * @example
 * ```ts
 * import * as PipelineStatus from "effect-monoid-streams/PipelineStatus"
 *
 * const status = PipelineStatus.of(orderTotals) // Effect<Status, StoreError | ConfigurationError, Tokens | Aggregates | DeadLetters>
 * const changes = PipelineStatus.positions("mongo-changes:shop.orders")
 * ```
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ConfigurationError } from "../Errors.ts"
import { heldKeys } from "../internal/held.ts"
import * as Port from "../Kafka/KafkaPort.ts"
import type { Handoff } from "../Handoff.ts"
import type { Mode, Pipeline } from "../Pipeline.ts"
import * as Orchestrator from "../Runtime/Orchestrator.ts"
import { Aggregates } from "../Store/Aggregates.ts"
import type { DeadLetters } from "../Store/DeadLetters.ts"
import type { StoreError } from "../Store/StoreError.ts"
import { Tokens } from "../Store/Tokens.ts"
import * as TokenKeys from "../internal/tokenKeys.ts"
import * as DeadLetterReplay from "./DeadLetterReplay.ts"

/**
 * @category models
 * @since 0.2.0
 */
export type Phase = "new" | "bootstrapping" | "live"

/**
 * @category models
 * @since 0.2.0
 */
export interface Status {
  readonly pipeline: string
  readonly phase: Phase
  /** The handoff the bootstrap captured (where the live source starts), once one was. */
  readonly handoff: Handoff | undefined
  /** When the bootstrap started and finished (ms since the epoch). */
  readonly startedAt: number | undefined
  readonly finishedAt: number | undefined
  /** Aggregate keys whose value is not the identity. */
  readonly aggregates: number
  /** Dead letters in the sink, and those a replay has not resolved. */
  readonly deadLetters: { readonly total: number; readonly pending: number }
}

/**
 * One partition's committed position: the ordinal of the last record folded, and the source's
 * checkpoint (a resume token, a scan's last `_id`, a byte offset).
 *
 * @category models
 * @since 0.2.0
 */
export interface Position {
  readonly partition: string
  readonly seq: number
  readonly checkpoint: unknown
}

/**
 * The status of a pipeline.
 *
 * @category reading
 * @since 0.2.0
 */
export const of = (
  pipeline: Pipeline<any, any, Mode>
): Effect.Effect<Status, StoreError | ConfigurationError, Tokens | Aggregates | DeadLetters> =>
  Effect.gen(function*() {
    const state = Option.getOrUndefined(yield* Orchestrator.state(pipeline.name))
    const aggregates = heldKeys(yield* (yield* Aggregates).all(pipeline), pipeline.monoid.empty)
    const letters = yield* DeadLetterReplay.list(pipeline.name)
    return {
      pipeline: pipeline.name,
      phase: state === undefined ? "new" : state.phase === "done" ? "live" : "bootstrapping",
      handoff: state?.handoff,
      startedAt: state?.startedAt,
      finishedAt: state?.finishedAt,
      aggregates,
      deadLetters: { total: letters.length, pending: letters.filter((l) => l.resolution === undefined).length }
    } satisfies Status
  })

/**
 * The committed positions of a source (kept in the token store; a Kafka source commits to its
 * consumer group instead, and has none here), by partition name.
 *
 * @category reading
 * @since 0.2.0
 */
export const positions = (source: string): Effect.Effect<ReadonlyArray<Position>, StoreError, Tokens> =>
  Effect.gen(function*() {
    const key = TokenKeys.position(source)
    const saved = yield* (yield* Tokens).get(key.scope, key.name)
    if (Option.isNone(saved)) return []
    const out: Array<Position> = []
    for (const partition of Object.keys(TokenKeys.decodePositions(saved.value)).sort()) {
      const committed = TokenKeys.committedOf(saved.value, partition)
      if (committed !== undefined) out.push({ partition, seq: committed.seq, checkpoint: committed.checkpoint })
    }
    return out
  })

/**
 * One partition of a consumer group's topic: the group's committed offset (`undefined`: none yet),
 * the partition's end offset, and the lag, the records between them (from the start of the
 * partition when the group has committed nothing).
 *
 * @category models
 * @since 0.2.0
 */
export interface PartitionLag {
  readonly partition: string
  readonly committed: string | undefined
  readonly end: string
  readonly lag: number
}

/**
 * The consumer lag of `groupId` on `topic`, per partition: end offset minus committed offset, as the
 * brokers answer (`KafkaClient.topicOffsets` and `groupOffsets`).
 *
 * @category reading
 * @since 0.2.0
 */
export const kafkaLag = (groupId: string, topic: string): Effect.Effect<ReadonlyArray<PartitionLag>, Port.KafkaError, Port.KafkaClient> =>
  Effect.gen(function*() {
    const client = yield* Port.KafkaClient
    const ends = yield* client.topicOffsets(topic)
    const committed = new Map((yield* client.groupOffsets(groupId, topic)).map((g) => [g.partition, g.offset] as const))
    return ends.map((p) => {
      const offset = committed.get(p.partition)
      const from = offset === undefined ? Number(p.low) : Number(offset)
      return {
        partition: Port.partitionName({ topic, partition: p.partition }),
        committed: offset,
        end: p.high,
        lag: Math.max(0, Number(p.high) - from)
      }
    })
  })

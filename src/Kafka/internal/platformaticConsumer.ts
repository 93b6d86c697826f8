/**
 * The `@platformatic/kafka` consumer behind the port's {@link Port.Consumer}: the client's
 * consumer-group membership (join, sync, heartbeats on their own timer, rejoin on a rebalance),
 * with the adapter's own fetch loop and commits instead of the client's message stream, so that
 * every contract point of the port holds exactly:
 *
 * - Fetching: one loop fetches the owned, unpaused partitions of the current generation (on a
 *   connection pool of its own, so a long-polling fetch never delays a heartbeat), hands each
 *   partition's records to `onBatch` in offset order, and moves a partition's position past a
 *   batch only when `onBatch` completed. While `onBatch` suspends, nothing is fetched and the
 *   client keeps heartbeating. A revocation or a stop interrupts it and leaves the position.
 * - Positions: a new generation starts every partition at the group's committed offset (or at
 *   the beginning or end of the partition, when the group has none).
 * - Revocation: when the client starts a JoinGroup (a rebalance, a rejoin after
 *   `UNKNOWN_MEMBER_ID` or `ILLEGAL_GENERATION`, seen on the client's `consumer:group` diagnostics
 *   channel), when it reports a rebalance, leaves the group or fails. Assignment on
 *   `consumer:group:join`, in a new generation.
 * - Commits: an `OffsetCommit` request sent by the adapter with the broker generation and member
 *   id of the named generation (the client's own `commit` rejoins and retries in the next
 *   generation on a refusal, which the port forbids), so the broker itself refuses it when the
 *   generation is over.
 *
 * @since 0.1.0
 */
import {
  ConnectionPool,
  Consumer as PConsumer,
  type ConsumerOptions,
  consumerGroupChannel,
  type fetchV17,
  IS_CONTROL,
  kGetApi,
  ListOffsetTimestamps,
  type offsetCommitV8
} from "@platformatic/kafka"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Port from "../KafkaPort.ts"
import { hasProtocolError, rebalanceErrorType, toKafkaError } from "./platformaticErrors.ts"
import { splitOwned } from "./ownership.ts"

type Raw = PConsumer<Buffer, Buffer, Buffer, Buffer>
type FetchResponse = fetchV17.FetchResponse

/** Makes the client's consumer (tests wrap the real one to inject faults). */
export type MakeConsumer = (options: ConsumerOptions<Buffer, Buffer, Buffer, Buffer>) => Raw

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`

const none: Port.Assignment = Object.freeze({ generation: -1, partitions: Object.freeze([]) as ReadonlyArray<Port.TopicPartition> })

const OFFSET_OUT_OF_RANGE = 1

/** The records of one partition from one fetch, from `from`, and the position after them. */
interface Fetched {
  readonly tp: Port.TopicPartition
  readonly from: bigint
  readonly records: Array<Port.ConsumerRecord>
  readonly next: bigint
  /** The partition's high watermark in the fetch response. */
  readonly logEnd: number
}

/** The member state the adapter keeps beside one client consumer. */
class Member {
  current: Port.Assignment = none
  owned = new Set<string>()
  /** The broker's generation id and member id of the current assignment (for commits). */
  broker = { generationId: -1, memberId: "" }
  /** partition key -> next offset to fetch, for the current generation; empty until resolved */
  positions = new Map<string, bigint>()
  readonly paused = new Set<string>()
  handlers: Port.Handlers | undefined = undefined
  stopping = false
  readonly pending = new Set<AbortController>()
  fail: ((error: Port.KafkaError) => void) | undefined = undefined
  private wake: (() => void) | undefined = undefined

  owns(topic: string, partition: number, generation: number): boolean {
    return generation === this.current.generation && this.owned.has(keyOf(topic, partition))
  }

  revoke(): void {
    this.abortPending()
    if (this.current === none) return
    const old = this.current
    this.current = none
    this.owned = new Set()
    this.positions = new Map()
    this.nudge()
    this.handlers?.onRevoked(old)
  }

  assign(generation: number, broker: { generationId: number; memberId: string }, assignments: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<number> }>): void {
    this.revoke()
    const partitions: Array<Port.TopicPartition> = []
    for (const a of assignments) for (const partition of a.partitions) partitions.push({ topic: a.topic, partition })
    partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    this.current = { generation, partitions }
    this.owned = new Set(partitions.map((p) => keyOf(p.topic, p.partition)))
    this.broker = broker
    this.positions = new Map()
    this.nudge()
    this.handlers?.onAssigned(this.current)
  }

  abortPending(): void {
    for (const controller of this.pending) controller.abort()
  }

  nudge(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Resolves on the next {@link nudge} or after `ms`. */
  idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined
        resolve()
      }, ms)
      this.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }
}

const noHeaders: ReadonlyArray<Port.Header> = Object.freeze([])

const headersOf = (headers: ReadonlyArray<[Buffer | null, Buffer | null]>): ReadonlyArray<Port.Header> => {
  const out: Array<Port.Header> = []
  for (const [k, v] of headers) if (k !== null) out.push({ key: k.toString("utf8"), value: v })
  return out
}

/** The records of one partition in a fetch response at or after `from`, and the next position. */
const recordsOf = (
  topic: string,
  partition: number,
  from: bigint,
  batches: FetchResponse["responses"][number]["partitions"][number]["records"]
): { readonly records: Array<Port.ConsumerRecord>; readonly next: bigint } => {
  const records: Array<Port.ConsumerRecord> = []
  let next = from
  for (const batch of batches ?? []) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
    if (last + 1n > next) next = last + 1n
    if ((batch.attributes & IS_CONTROL) !== 0) continue
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta)
      if (offset < from) continue
      records.push({
        topic,
        partition,
        offset: offset.toString(),
        key: r.key,
        value: r.value,
        headers: r.headers.length === 0 ? noHeaders : headersOf(r.headers),
        timestamp: (batch.firstTimestamp + r.timestampDelta).toString()
      })
    }
  }
  return { records, next }
}

/**
 * A consumer-group member for `config`; the scope leaves the group and closes it.
 *
 * @since 0.1.0
 */
export const make = (
  makeConsumer: MakeConsumer,
  base: Omit<ConsumerOptions<Buffer, Buffer, Buffer, Buffer>, "groupId">,
  config: Port.ConsumerConfig,
  nextGeneration: () => number
): Effect.Effect<Port.Consumer, Port.KafkaError, Scope.Scope> =>
  Effect.gen(function*() {
    const member = new Member()
    const topics = [...config.topics]
    const maxWaitTime = config.maxWaitTimeMs ?? 1_000
    const partitionMaxBytes = config.maxBytesPerPartition ?? 1024 * 1024
    const group = {
      sessionTimeout: config.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: config.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: config.heartbeatIntervalMs ?? 3_000
    }
    const joining = {
      start: (context: { readonly client?: unknown; readonly operation?: unknown }) => {
        if (context.client === kc && context.operation === "joinGroup") member.revoke()
      }
    }
    let fetchPool: ConnectionPool | undefined
    const kc: Raw = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const c = makeConsumer({ ...base, ...group, groupId: config.groupId, autocommit: false, maxWaitTime })
          c.on("consumer:group:join", (e) => {
            if (member.stopping || e.generationId === undefined) return
            member.assign(nextGeneration(), { generationId: e.generationId, memberId: e.memberId }, e.assignments ?? [])
          })
          c.on("consumer:group:rebalance", () => member.revoke())
          c.on("consumer:group:leave", () => member.revoke())
          c.on("error", (error: unknown) => {
            member.revoke()
            member.fail?.(toKafkaError("consume")(error))
          })
          try {
            // fails when no broker answers or a topic does not exist
            await c.metadata({ topics, autocreateTopics: false })
          } catch (error) {
            await c.close(true).catch(() => undefined)
            throw error
          }
          return c
        },
        catch: toKafkaError("connect")
      }),
      (c) =>
        Effect.promise(async () => {
          member.stopping = true
          member.revoke()
          consumerGroupChannel.start.unsubscribe(joining.start as never)
          await c.close(true).catch(() => undefined)
          await fetchPool?.close().catch(() => undefined)
        }).pipe(
          Effect.timeoutOption("20 seconds"),
          Effect.flatMap((o) =>
            Option.isNone(o) ? Effect.logWarning(`kafka consumer of group ${config.groupId}: closing took more than 20 s; gave up`) : Effect.void
          )
        )
    )
    consumerGroupChannel.start.subscribe(joining.start as never)
    fetchPool = new ConnectionPool(base.clientId, { ...base, ownerId: kc.instanceId } as ConstructorParameters<typeof ConnectionPool>[1])

    /** Resolves the positions of the current generation (committed, else the configured end). */
    const resolvePositions = async (generation: number): Promise<void> => {
      const partitions = member.current.partitions
      const byTopic = new Map<string, Array<number>>()
      for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition])
      const committed = await kc.listCommittedOffsets({ topics: Array.from(byTopic, ([topic, ps]) => ({ topic, partitions: ps })) })
      const missing = new Map<string, Array<number>>()
      const positions = new Map<string, bigint>()
      for (const p of partitions) {
        const c = committed.get(p.topic)?.[p.partition]
        if (c !== undefined && c >= 0n) positions.set(keyOf(p.topic, p.partition), c)
        else missing.set(p.topic, [...(missing.get(p.topic) ?? []), p.partition])
      }
      if (missing.size > 0) {
        const ends = await kc.listOffsets({
          topics: [...missing.keys()],
          partitions: Object.fromEntries(missing),
          timestamp: config.fromBeginning ?? true ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST
        })
        for (const [topic, ps] of missing) for (const p of ps) positions.set(keyOf(topic, p), ends.get(topic)?.[p] ?? 0n)
      }
      if (member.current.generation === generation) member.positions = positions
    }

    /** Moves the partitions a fetch found out of range to the configured end. */
    const resetOutOfRange = async (error: unknown, generation: number): Promise<void> => {
      const response = (error as { response?: FetchResponse }).response
      const metadata = await kc.metadata({ topics })
      const names = new Map(Array.from(metadata.topics, ([name, t]) => [t.id, name]))
      const reset = new Map<string, Array<number>>()
      for (const t of response?.responses ?? []) {
        const topic = names.get(t.topicId)
        if (topic === undefined) continue
        for (const p of t.partitions) if (p.errorCode === OFFSET_OUT_OF_RANGE) reset.set(topic, [...(reset.get(topic) ?? []), p.partitionIndex])
      }
      if (reset.size === 0) throw error
      const ends = await kc.listOffsets({
        topics: [...reset.keys()],
        partitions: Object.fromEntries(reset),
        timestamp: config.fromBeginning ?? true ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST
      })
      if (member.current.generation !== generation) return
      for (const [topic, ps] of reset) for (const p of ps) member.positions.set(keyOf(topic, p), ends.get(topic)?.[p] ?? 0n)
    }

    /** One fetch of the owned, unpaused partitions from `positions`: the records of each partition, from where, up to where. */
    const fetchOnce = async (generation: number, positions: ReadonlyMap<string, bigint>): Promise<Array<Fetched>> => {
      const wanted = member.current.partitions.filter((p) => !member.paused.has(keyOf(p.topic, p.partition)))
      if (wanted.length === 0) {
        await member.idle(maxWaitTime)
        return []
      }
      const metadata = await kc.metadata({ topics })
      const byNode = new Map<number, Map<string, Array<fetchV17.FetchRequestPartition>>>()
      const requested = new Map<string, bigint>()
      const names = new Map<string, string>()
      for (const p of wanted) {
        const t = metadata.topics.get(p.topic)
        const leader = t?.partitions[p.partition]?.leader
        const fetchOffset = positions.get(keyOf(p.topic, p.partition))
        if (t === undefined || leader === undefined || fetchOffset === undefined) continue
        names.set(t.id, p.topic)
        requested.set(keyOf(p.topic, p.partition), fetchOffset)
        const node = byNode.get(leader) ?? new Map<string, Array<fetchV17.FetchRequestPartition>>()
        byNode.set(leader, node)
        const list = node.get(t.id) ?? []
        node.set(t.id, list)
        list.push({ partition: p.partition, fetchOffset, partitionMaxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })
      }
      const responses = await Promise.all(Array.from(byNode, async ([node, byTopic]) => {
        try {
          return await kc.fetch({
            node,
            topics: Array.from(byTopic, ([topicId, partitions]) => ({ topicId, partitions })),
            maxWaitTime,
            minBytes: 1,
            maxBytes: Math.max(partitionMaxBytes * wanted.length, partitionMaxBytes),
            connectionPool: fetchPool!
          })
        } catch (error) {
          if (!hasProtocolError(error, "OFFSET_OUT_OF_RANGE")) throw error
          await resetOutOfRange(error, generation)
          return undefined
        }
      }))
      const out: Array<Fetched> = []
      for (const response of responses) {
        for (const t of response?.responses ?? []) {
          const topic = names.get(t.topicId)
          if (topic === undefined) continue
          for (const p of t.partitions) {
            const from = requested.get(keyOf(topic, p.partitionIndex))
            // a partition lingering in an incremental fetch session, not asked for this time
            if (from === undefined) continue
            const logEnd = Number(p.highWatermark)
            out.push({ tp: { topic, partition: p.partitionIndex }, from, logEnd, ...recordsOf(topic, p.partitionIndex, from, p.records) })
          }
        }
      }
      return out
    }

    const consume = (handlers: Port.Handlers): Effect.Effect<never, Port.KafkaError> =>
      Effect.gen(function*() {
        const context = yield* Effect.context<never>()
        const runExit = Effect.runPromiseExitWith(context)

        /** Hands one batch to `onBatch`; `true` when it completed (the position may move). */
        const deliver = async (batch: Port.Batch): Promise<boolean> => {
          const controller = new AbortController()
          member.pending.add(controller)
          try {
            const exit = await runExit(handlers.onBatch(batch), { signal: controller.signal })
            if (Exit.isSuccess(exit)) return true
            if (controller.signal.aborted) return false
            throw new Error(`the batch handler failed: ${String(exit.cause)}`)
          } finally {
            member.pending.delete(controller)
          }
        }

        /**
         * Fetches and delivers until stopped. The next fetch (from where the current one ends) is
         * sent before the current one's batches are delivered; what it brings is used only when
         * every partition's position is still where it was fetched from, in the same generation.
         */
        const loop = async (): Promise<void> => {
          let ahead: { readonly generation: number; readonly fetched: Promise<Array<Fetched>> } | undefined
          while (!member.stopping) {
            const generation = member.current.generation
            if (ahead !== undefined && ahead.generation !== generation) {
              await ahead.fetched.catch(() => undefined)
              ahead = undefined
            }
            if (generation === -1) {
              await member.idle(maxWaitTime)
              continue
            }
            if (member.positions.size === 0 && member.current.partitions.length > 0) {
              await resolvePositions(generation)
              continue
            }
            const fetched = await (ahead?.fetched ?? fetchOnce(generation, member.positions))
            ahead = undefined
            if (fetched.length > 0 && member.current.generation === generation && !member.stopping) {
              const next = new Map(member.positions)
              for (const f of fetched) if (next.get(keyOf(f.tp.topic, f.tp.partition)) === f.from) next.set(keyOf(f.tp.topic, f.tp.partition), f.next)
              const promise = fetchOnce(generation, next)
              promise.catch(() => undefined)
              ahead = { generation, fetched: promise }
            }
            for (const { tp, from, records, next, logEnd } of fetched) {
              if (member.stopping || !member.owns(tp.topic, tp.partition, generation)) break
              const key = keyOf(tp.topic, tp.partition)
              if (member.positions.get(key) !== from) continue
              if (records.length > 0 && !(await deliver({ ...tp, generation, records, logEnd }))) break
              if (member.owns(tp.topic, tp.partition, generation) && member.positions.get(key) === from) member.positions.set(key, next)
            }
          }
          if (ahead !== undefined) await ahead.fetched.catch(() => undefined)
        }

        return yield* Effect.callback<never, Port.KafkaError>((resume) => {
          member.handlers = handlers
          member.fail = (error) => resume(Effect.fail(error))
          const running = (async () => {
            for (const topic of topics) kc.topics.track(topic)
            await kc.joinGroup(group)
            await loop()
          })().catch((error: unknown) => {
            if (member.stopping) return
            member.revoke()
            resume(Effect.fail(toKafkaError("consume")(error)))
          })
          return Effect.promise(async () => {
            member.stopping = true
            member.revoke()
            member.nudge()
            await running
            await new Promise<void>((resolve) => kc.leaveGroup(true, () => resolve()))
          })
        })
      })

    /** Sends one OffsetCommit with the broker generation and member id of the checked assignment. */
    const send = async (broker: { generationId: number; memberId: string }, ok: ReadonlyArray<Port.CommitOffset>): Promise<void> => {
      const coordinator = await kc.findGroupCoordinator()
      const metadata = await kc.metadata({ topics })
      const node = metadata.brokers.get(coordinator)
      if (node === undefined) throw new Error(`the group coordinator ${coordinator} is not in the cluster metadata`)
      const connection = await kc.connections.get(node)
      const api = await new Promise<typeof offsetCommitV8.api>((resolve, reject) =>
        kc[kGetApi]("OffsetCommit", (error: Error | null, a?: unknown) => (error ? reject(error) : resolve(a as typeof offsetCommitV8.api)))
      )
      const byTopic = new Map<string, Array<offsetCommitV8.OffsetCommitRequestPartition>>()
      for (const o of ok) {
        const list = byTopic.get(o.topic) ?? []
        byTopic.set(o.topic, list)
        list.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, committedMetadata: null })
      }
      await api.async(connection, config.groupId, broker.generationId, broker.memberId, null, Array.from(byTopic, ([name, partitions]) => ({ name, partitions })))
    }

    const commit = (offsets: ReadonlyArray<Port.CommitOffset>): Effect.Effect<Port.CommitResult, Port.KafkaError> =>
      Effect.tryPromise({
        try: async (): Promise<Port.CommitResult> => {
          const { ok, refused } = splitOwned(member, offsets)
          if (ok.length === 0) return { committed: [], refused }
          try {
            await send(member.broker, ok)
          } catch (error) {
            const type = rebalanceErrorType(error)
            if (type === undefined && !member.stopping) throw error
            return {
              committed: [],
              refused: [...refused, ...ok.map((o): Port.Refusal => ({
                offset: o,
                reason: type === undefined ? "stopped" : "rebalance",
                detail: type ?? "the consumer stopped"
              }))]
            }
          }
          return { committed: ok, refused }
        },
        catch: toKafkaError("commit")
      })

    return {
      consume,
      commit,
      pause: (partitions) => Effect.sync(() => {
        for (const p of partitions) member.paused.add(keyOf(p.topic, p.partition))
      }),
      resume: (partitions) => Effect.sync(() => {
        for (const p of partitions) member.paused.delete(keyOf(p.topic, p.partition))
        if (partitions.length > 0) member.nudge()
      }),
      assignment: Effect.sync(() => member.current)
    } satisfies Port.Consumer
  })

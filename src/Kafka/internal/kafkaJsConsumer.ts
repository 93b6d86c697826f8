/**
 * The kafkajs consumer behind the port's {@link Port.Consumer}: a consumer-group member with
 * `autoCommit: false` and `eachBatchAutoResolve: false`, its assignment tracked from kafkajs's
 * instrumentation events, and commits checked against it.
 *
 * - `eachBatch` hands the batch to `onBatch` and resolves the batch's last offset (kafkajs then
 *   fetches on after it) only when `onBatch` completed. While `onBatch` suspends (the fold is
 *   behind) it heartbeats about every second; when a heartbeat reports a rebalance, or the consumer
 *   stops, it interrupts `onBatch` and leaves the batch unresolved.
 * - kafkajs has no revocation callback. The whole assignment is revoked when a rebalance starts
 *   (`consumer.rebalancing`), when a `JoinGroup` request completes (every rejoin, also those after
 *   `UNKNOWN_MEMBER_ID` or stale metadata, which emit no rebalancing event), and when the consumer
 *   crashes or stops; it is assigned again on `consumer.group_join`, in a new generation.
 * - kafkajs restarts a crashed consumer by itself; that is turned off (`restartOnFailure`), so
 *   `consume` fails and the caller decides how to retry.
 * - `commit` checks ownership and calls `consumer.commitOffsets` in one synchronous step: kafkajs
 *   reads its group generation when it builds the request, so the generation the broker checks
 *   is the one the assignment was checked in.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { EachBatchPayload, IHeaders, Kafka, KafkaMessage } from "kafkajs"
import { isStopped, rebalanceErrorType, toKafkaError } from "./kafkaJsErrors.ts"
import * as Port from "../KafkaPort.ts"
import { splitOwned } from "./ownership.ts"

const headersOf = (headers: IHeaders | undefined): ReadonlyArray<Port.Header> => {
  if (headers === undefined) return []
  const out: Array<Port.Header> = []
  for (const key of Object.keys(headers)) {
    const v = headers[key]
    const values = Array.isArray(v) ? v : [v]
    for (const x of values) out.push({ key, value: x === undefined ? null : typeof x === "string" ? Buffer.from(x, "utf8") : x })
  }
  return out
}

const toRecord = (topic: string, partition: number, m: KafkaMessage): Port.ConsumerRecord => ({
  topic,
  partition,
  offset: m.offset,
  key: m.key,
  value: m.value,
  headers: headersOf(m.headers),
  timestamp: m.timestamp
})

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`

const none: Port.Assignment = Object.freeze({ generation: -1, partitions: Object.freeze([]) as ReadonlyArray<Port.TopicPartition> })

/** A timer that can be cancelled. */
const sleep = (ms: number): { readonly promise: Promise<void>; readonly cancel: () => void } => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  return { promise, cancel: () => timer !== undefined && clearTimeout(timer) }
}

/** The member state the adapter keeps beside one kafkajs consumer. */
class Member {
  current: Port.Assignment = none
  owned = new Set<string>()
  handlers: Port.Handlers | undefined = undefined
  stopping = false
  readonly pending = new Set<AbortController>()
  fail: ((error: Port.KafkaError) => void) | undefined = undefined

  owns(topic: string, partition: number, generation: number): boolean {
    return generation === this.current.generation && this.owned.has(keyOf(topic, partition))
  }

  revoke(): void {
    if (this.current === none) return
    const old = this.current
    this.current = none
    this.owned = new Set()
    this.handlers?.onRevoked(old)
  }

  assign(generation: number, memberAssignment: Readonly<Record<string, ReadonlyArray<number>>>): void {
    this.revoke()
    const partitions: Array<Port.TopicPartition> = []
    for (const topic of Object.keys(memberAssignment)) {
      for (const partition of memberAssignment[topic] ?? []) partitions.push({ topic, partition })
    }
    partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    this.current = { generation, partitions }
    this.owned = new Set(partitions.map((p) => keyOf(p.topic, p.partition)))
    this.handlers?.onAssigned(this.current)
  }

  abortPending(): void {
    for (const controller of this.pending) controller.abort()
  }
}

/**
 * A connected consumer-group member for `config`; the scope leaves the group and disconnects it.
 *
 * @since 0.1.0
 */
export const make = (
  kafka: Kafka,
  config: Port.ConsumerConfig,
  nextGeneration: () => number
): Effect.Effect<Port.Consumer, Port.KafkaError, Scope.Scope> =>
  Effect.gen(function*() {
    const member = new Member()
    const heartbeatMs = Math.max(100, Math.min(config.heartbeatIntervalMs ?? 3000, 1000))
    const kc = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const c = kafka.consumer({
            groupId: config.groupId,
            sessionTimeout: config.sessionTimeoutMs ?? 30_000,
            rebalanceTimeout: config.rebalanceTimeoutMs ?? 60_000,
            heartbeatInterval: config.heartbeatIntervalMs ?? 3_000,
            maxWaitTimeInMs: config.maxWaitTimeMs ?? 1_000,
            maxBytesPerPartition: config.maxBytesPerPartition ?? 1024 * 1024,
            allowAutoTopicCreation: false,
            retry: { restartOnFailure: async () => false }
          })
          c.on(c.events.GROUP_JOIN, (e) => {
            if (!member.stopping) member.assign(nextGeneration(), e.payload.memberAssignment)
          })
          c.on(c.events.REBALANCING, () => member.revoke())
          c.on(c.events.REQUEST, (e) => {
            if (e.payload.apiName === "JoinGroup") member.revoke()
          })
          c.on(c.events.STOP, () => member.revoke())
          c.on(c.events.CRASH, (e) => {
            member.revoke()
            member.abortPending()
            if (!e.payload.restart) member.fail?.(toKafkaError("consume")(e.payload.error))
          })
          try {
            await c.connect()
            await c.subscribe({ topics: [...config.topics], fromBeginning: config.fromBeginning ?? true })
          } catch (error) {
            await c.disconnect().catch(() => undefined)
            throw error
          }
          return c
        },
        catch: toKafkaError("connect")
      }),
      (c) =>
        Effect.promise(async () => {
          member.stopping = true
          member.abortPending()
          member.revoke()
          await c.disconnect().catch(() => undefined)
        }).pipe(
          Effect.timeoutOption("20 seconds"),
          Effect.flatMap((o) => Option.isNone(o) ? Effect.logWarning(`kafka consumer of group ${config.groupId}: disconnecting took more than 20 s; gave up`) : Effect.void)
        )
    )

    const consume = (handlers: Port.Handlers): Effect.Effect<never, Port.KafkaError> =>
      Effect.gen(function*() {
        const context = yield* Effect.context<never>()
        const runExit = Effect.runPromiseExitWith(context)
        const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
          const { batch } = payload
          const last = batch.messages[batch.messages.length - 1]
          if (last === undefined) return
          const generation = member.current.generation
          // not resolved: the owner of the partition reads it again from the committed offset
          if (member.stopping || !member.owns(batch.topic, batch.partition, generation)) return
          const records = batch.messages.map((m) => toRecord(batch.topic, batch.partition, m))
          const controller = new AbortController()
          member.pending.add(controller)
          try {
            const logEnd = Number(batch.highWatermark)
            const delivered: Port.Batch = { topic: batch.topic, partition: batch.partition, generation, records, logEnd }
            const done = runExit(handlers.onBatch(delivered), {
              signal: controller.signal
            })
            let settled = false
            void done.then(() => (settled = true))
            while (!settled) {
              const tick = sleep(heartbeatMs)
              await Promise.race([done, tick.promise])
              tick.cancel()
              if (settled) break
              if (!payload.isRunning() || member.stopping || !member.owns(batch.topic, batch.partition, generation)) {
                controller.abort()
                await done
                return
              }
              try {
                await payload.heartbeat()
              } catch (error) {
                controller.abort()
                await done
                throw error
              }
            }
            const exit = await done
            if (Exit.isSuccess(exit)) {
              payload.resolveOffset(last.offset)
              return
            }
            if (!controller.signal.aborted) throw new Error(`the batch handler failed: ${String(exit.cause)}`)
          } finally {
            member.pending.delete(controller)
          }
        }
        return yield* Effect.callback<never, Port.KafkaError>((resume) => {
          member.handlers = handlers
          member.fail = (error) => resume(Effect.fail(error))
          kc.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch }).catch(
            (error: unknown) => resume(Effect.fail(toKafkaError("consume")(error)))
          )
          return Effect.promise(async () => {
            member.stopping = true
            member.abortPending()
            member.revoke()
            await kc.stop().catch(() => undefined)
          })
        })
      })

    const commit = (offsets: ReadonlyArray<Port.CommitOffset>): Effect.Effect<Port.CommitResult, Port.KafkaError> =>
      Effect.tryPromise({
        try: async (): Promise<Port.CommitResult> => {
          // the ownership check and the commit request are one synchronous step: kafkajs reads its
          // generation when the request is built, and nothing can change the assignment in between
          const { ok, refused } = splitOwned(member, offsets)
          if (ok.length === 0) return { committed: [], refused }
          try {
            await kc.commitOffsets(ok.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })))
          } catch (error) {
            const type = rebalanceErrorType(error)
            const stopped = member.stopping ||
              isStopped(error)
            if (type === undefined && !stopped) throw error
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

    const topicPartitions = (partitions: ReadonlyArray<Port.TopicPartition>) => {
      const byTopic = new Map<string, Array<number>>()
      for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition])
      return Array.from(byTopic, ([topic, ps]) => ({ topic, partitions: ps }))
    }

    // kafkajs throws once it has dropped its consumer group (a broker restart, before the next
    // run): such a consumer fetches nothing more, and the one the source makes next starts unpaused
    const pausing = (f: () => void) =>
      Effect.sync(() => {
        try {
          f()
        } catch {
          // nothing to pause or resume
        }
      })

    return {
      consume,
      commit,
      pause: (partitions) => pausing(() => partitions.length > 0 && kc.pause(topicPartitions(partitions))),
      resume: (partitions) => pausing(() => partitions.length > 0 && kc.resume(topicPartitions(partitions))),
      assignment: Effect.sync(() => member.current)
    } satisfies Port.Consumer
  })


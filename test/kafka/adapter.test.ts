/**
 * Each adapter's commit logic and the source's failure handling, against the real broker.
 *
 * - Ownership: a commit names the generation its records were fetched in; the adapter commits only
 *   partitions owned in that generation. Two real consumers in one group produce the revocation.
 * - Group refusals and broker failures on commit cannot be produced on demand by a one-node broker,
 *   so there the real client is wrapped and its commit throws the errors the client throws
 *   (kafkajs: REBALANCE_IN_PROGRESS wrapped in a non-retriable error, a connection error;
 *   @platformatic/kafka: the OffsetCommit API fails with a response error carrying
 *   REBALANCE_IN_PROGRESS, a network error).
 * - A broker that cannot be reached: the source retries on its schedule, then fails with a
 *   retryable SourceError, and nothing is committed.
 */
import { createRequire } from "node:module"
import { Cause, Effect, Exit, Fiber, Layer, References, Schedule, Scope } from "effect"
import { Consumer as PConsumer, kGetApi, NetworkError, ResponseError } from "@platformatic/kafka"
import { type Consumer as KConsumer, Kafka as KafkaClass, type Kafka, logLevel } from "kafkajs"
import { describe, expect, it } from "vitest"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import * as KafkaPlatformatic from "../../src/Kafka/KafkaPlatformatic.ts"
import * as Port from "../../src/Kafka/KafkaPort.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as KafkaSource from "../../src/Kafka/KafkaSource.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { generate } from "../support/history.ts"
import { eventually, kafkaBrokers, uniqueName } from "../support/services.ts"
import { type Adapter, adapters, committedOffsets, createTopic, produce, quiescent, useKafka } from "./support.ts"

const kafkajs = createRequire(import.meta.url)("kafkajs") as {
  KafkaJSProtocolError: new(e: { message: string; type: string; code: number; retriable: boolean }) => Error
  KafkaJSNonRetriableError: new(e: Error, options: { cause: Error }) => Error
  KafkaJSConnectionError: new(message: string) => Error
}

const quiet = Layer.succeed(References.MinimumLogLevel, "Error")

const { k, admin, producer } = useKafka()

/** The real kafkajs client whose consumers' `commitOffsets` goes through `commit`. */
const wrapCommits = (kafka: Kafka, commit: (original: KConsumer["commitOffsets"]) => KConsumer["commitOffsets"]): Kafka =>
  new Proxy(kafka, {
    get(target, property, receiver) {
      if (property !== "consumer") return Reflect.get(target, property, receiver)
      return (config: Parameters<Kafka["consumer"]>[0]) => {
        const consumer = target.consumer(config)
        consumer.commitOffsets = commit(consumer.commitOffsets.bind(consumer))
        return consumer
      }
    }
  })

const rebalanceInProgress = () => {
  const protocol = new kafkajs.KafkaJSProtocolError({
    message: "The group is rebalancing, so a rejoin is needed",
    type: "REBALANCE_IN_PROGRESS",
    code: 27,
    retriable: false
  })
  return new kafkajs.KafkaJSNonRetriableError(protocol, { cause: protocol })
}

/** A commit fault: a group refusal, a broker failure, or none (the commit goes through). */
type Fault = "rebalance" | "connection" | undefined

type Client = Port.KafkaClient["Service"]

/** The OffsetCommit API of a real @platformatic/kafka consumer, failing first with `fault()`. */
const faultyApi = (api: { async: (...args: Array<unknown>) => Promise<unknown> }, fault: () => Fault) =>
  Object.assign(() => {
    throw new Error("the adapter calls OffsetCommit through `async`")
  }, api, {
    async: async (...args: Array<unknown>) => {
      const f = fault()
      if (f === "rebalance") throw new ResponseError(8, 8, { "/topics/0/partitions/0": [27, null] }, {})
      if (f === "connection") throw new NetworkError("Connection closed", {})
      return api.async(...args)
    }
  })

/** The adapter's real client whose commits fail with `fault()` (asked once per commit attempt). */
const faulty = (adapter: Adapter, fault: () => Fault): Client => {
  if (adapter.name === "kafkajs") {
    return KafkaJs.fromKafka(wrapCommits(k, (original) => async (offsets) => {
      const f = fault()
      if (f === "rebalance") throw rebalanceInProgress()
      if (f === "connection") throw new kafkajs.KafkaJSConnectionError("Connection error: ECONNREFUSED")
      return original(offsets)
    }))
  }
  return KafkaPlatformatic.make({ brokers: kafkaBrokers(), clientId: uniqueName("faulty") }, {
    consumer: (options) => {
      const c = new PConsumer(options)
      const getApi = c[kGetApi].bind(c)
      c[kGetApi] = ((name: string, callback: (error: Error | null, api?: unknown) => void) =>
        getApi(name, (error, api) =>
          callback(error, name === "OffsetCommit" && api !== undefined ? faultyApi(api as never, fault) : api))) as typeof c[typeof kGetApi]
      return c
    }
  })
}

interface Member {
  readonly consumer: Port.Consumer
  readonly assignments: Array<Port.Assignment>
  readonly revocations: Array<Port.Assignment>
}

/** A port consumer in `groupId`, consuming in the scope (no records needed: only assignments matter). */
const join = (client: Client, groupId: string, topic: string) =>
  Effect.gen(function*() {
    const consumer = yield* client.consumer({ groupId, topics: [topic], sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100 })
    const member: Member = { consumer, assignments: [], revocations: [] }
    yield* consumer.consume({
      onBatch: () => Effect.void,
      onAssigned: (a) => member.assignments.push(a),
      onRevoked: (a) => member.revocations.push(a)
    }).pipe(Effect.forkScoped)
    return member
  })

/** A kafkajs client of a broker nobody listens at, counting the consumers made. */
const nowhereKafkaJs = (made: () => void): Client => {
  const nowhere = new KafkaClass({ brokers: ["127.0.0.1:1"], retry: { retries: 0 }, connectionTimeout: 500, logLevel: logLevel.NOTHING })
  return KafkaJs.fromKafka(
    new Proxy(nowhere, {
      get(target, property, receiver) {
        if (property !== "consumer") return Reflect.get(target, property, receiver)
        return (config: Parameters<Kafka["consumer"]>[0]) => {
          made()
          return target.consumer(config)
        }
      }
    })
  )
}

const latest = (m: Member) => m.assignments[m.assignments.length - 1]

describe.each(adapters)("$name adapter: commits (real broker)", (adapter) => {
  it("fails with a ConfigurationError when the topic is deleted and recreated under it: its offsets are used again", async () => {
    const topic = uniqueName("recreated")
    const groupId = uniqueName("recreated-group")
    await createTopic(admin, topic, 1)
    const records = generate(7, { docs: 10, ops: 40 }).log.filter((r) => !r.deadLetter)
    await produce(producer, topic, 1, records)
    const fiber = Effect.runFork(
      Fold.run(KafkaSource.make({ topic, groupId, maxWaitTimeMs: 100 }), [orderTotals]).pipe(
        Effect.provide(Memory.layer()),
        Effect.provide(adapter.layer(uniqueName("recreated-client"))),
        Effect.provide(quiet)
      )
    )
    await quiescent(admin, groupId, topic, 30_000)
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 })
    await eventually(`${topic} to be created again`, async () => {
      try {
        await createTopic(admin, topic, 1)
        return true
      } catch {
        return undefined // still being deleted
      }
    }, 20_000)
    // fewer records than before: the new log ends before offsets already read
    await produce(producer, topic, 1, records.slice(0, 5))
    const exit = await Effect.runPromise(Fiber.await(fiber).pipe(Effect.timeout("60 seconds")))
    expect(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "folded on").toMatch(/ConfigurationError[\s\S]*recreated/)
  }, 90_000)

  it("pauses and resumes a consumer that is not running (kafkajs throws) as no-ops, not defects", async () => {
    const topic = uniqueName("paused")
    await createTopic(admin, topic, 1)
    const exit = await Effect.runPromise(Effect.exit(Effect.scoped(Effect.gen(function*() {
      const consumer = yield* adapter.client().consumer({ groupId: uniqueName("paused-group"), topics: [topic] })
      yield* consumer.pause([{ topic, partition: 0 }])
      yield* consumer.resume([{ topic, partition: 0 }])
    }))).pipe(Effect.provide(quiet)))
    expect(exit._tag === "Failure" ? Cause.pretty(exit.cause) : "ok").toBe("ok")
  })

  it("commits only partitions owned in the generation the records came from", async () => {
    const topic = uniqueName("owned")
    const groupId = uniqueName("owned-group")
    await createTopic(admin, topic, 4)
    await producer.send({ topic, acks: -1, messages: [0, 1, 2, 3].flatMap((p) => Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, partition: p }))) })
    const client = adapter.client()
    const scope = await Effect.runPromise(Scope.make())
    const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(effect.pipe(Scope.provide(scope), Effect.provide(quiet)))
    try {
      const first = await run(join(client, groupId, topic))
      await eventually("the first member to own 4 partitions", () => ((latest(first)?.partitions.length ?? 0) === 4 ? true : undefined), 30_000)
      const g1 = latest(first)!.generation
      const at = (partition: number, offset: number, generation: number): Port.CommitOffset => ({ topic, partition, offset: String(offset), generation })

      // owned in its generation: committed
      const ok = await run(first.consumer.commit([at(0, 2, g1), at(1, 3, g1)]))
      expect(ok.committed.map((o) => o.partition)).toEqual([0, 1])
      expect(ok.refused).toEqual([])
      expect(await committedOffsets(admin, groupId, topic)).toEqual([2, 3, -1, -1])

      // an older generation: refused, nothing sent
      const stale = await run(first.consumer.commit([at(2, 4, g1 - 1)]))
      expect(stale.refused.map((r) => r.reason)).toEqual(["not-owner"])
      expect(await committedOffsets(admin, groupId, topic)).toEqual([2, 3, -1, -1])

      // a second member joins: the first is revoked, then gets a new generation with part of the partitions
      const second = await run(join(client, groupId, topic))
      await eventually("both members to hold 2 partitions", () =>
        latest(first)?.generation !== g1 && latest(first)?.partitions.length === 2 && latest(second)?.partitions.length === 2
          ? true
          : undefined, 30_000)
      expect(first.revocations.map((r) => r.generation)).toContain(g1)
      const g2 = latest(first)!.generation
      const mine = latest(first)!.partitions.map((p) => p.partition)
      const theirs = latest(second)!.partitions.map((p) => p.partition)
      expect([...mine, ...theirs].sort()).toEqual([0, 1, 2, 3])

      // records fetched in g1 can no longer be committed, not even for a partition the member still owns
      const old = await run(first.consumer.commit(mine.map((p) => at(p, 5, g1))))
      expect(old.committed).toEqual([])
      expect(old.refused.every((r) => r.reason === "not-owner")).toBe(true)
      // a partition the other member owns: refused in any generation
      const foreign = await run(first.consumer.commit(theirs.map((p) => at(p, 5, g2))))
      expect(foreign.committed).toEqual([])
      expect(foreign.refused.map((r) => r.reason)).toEqual(theirs.map(() => "not-owner"))
      expect(await committedOffsets(admin, groupId, topic)).toEqual([2, 3, -1, -1])
      // its own partitions in the current generation: committed
      const own = await run(first.consumer.commit(mine.map((p) => at(p, 5, g2))))
      expect(own.committed.map((o) => o.partition).sort()).toEqual([...mine].sort())
      const after = await committedOffsets(admin, groupId, topic)
      for (const p of [0, 1, 2, 3]) expect(after[p]).toBe(mine.includes(p) ? 5 : [2, 3, -1, -1][p])
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })

  it("reports a commit the group refuses because of a rebalance as a refusal, and broker failures as retryable errors", async () => {
    const topic = uniqueName("refused")
    const groupId = uniqueName("refused-group")
    await createTopic(admin, topic, 1)
    let mode: Fault = "rebalance"
    const client = faulty(adapter, () => mode)
    const scope = await Effect.runPromise(Scope.make())
    const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(effect.pipe(Scope.provide(scope), Effect.provide(quiet)))
    try {
      const member = await run(join(client, groupId, topic))
      await eventually("the member to own the partition", () => ((latest(member)?.partitions.length ?? 0) === 1 ? true : undefined), 30_000)
      const offset: Port.CommitOffset = { topic, partition: 0, offset: "0", generation: latest(member)!.generation }
      const refused = await run(member.consumer.commit([offset]))
      expect(refused.committed).toEqual([])
      expect(refused.refused.map((r) => [r.reason, r.detail])).toEqual([["rebalance", "REBALANCE_IN_PROGRESS"]])

      mode = "connection"
      const failed = await run(Effect.flip(member.consumer.commit([offset])))
      expect(failed._tag).toBe("KafkaError")
      expect(failed.retryable).toBe(true)

      mode = undefined
      expect((await run(member.consumer.commit([offset]))).committed).toHaveLength(1)
      expect(await committedOffsets(admin, groupId, topic)).toEqual([0])
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})

describe.each(adapters)("KafkaSource on $name: failures (real broker)", (adapter) => {
  it("retries a commit that fails on its schedule, then commits; nothing is lost", async () => {
    const topic = uniqueName("flaky")
    const dlqFree = generate(99, { docs: 10, ops: 200 })
    const groupId = uniqueName("flaky-group")
    await createTopic(admin, topic, 2)
    await produce(producer, topic, 2, dlqFree.log.filter((r) => !r.deadLetter))
    let failures = 0
    const client = faulty(adapter, () => {
      if (failures >= 3) return undefined
      failures++
      return "connection"
    })
    const source = KafkaSource.make({ topic, groupId, maxWaitTimeMs: 100, commitRetry: Schedule.spaced("100 millis") })
    const fiber = Effect.runFork(
      Fold.run(source, [orderTotals]).pipe(Effect.provide(Memory.layer()), Effect.provide(Layer.succeed(Port.KafkaClient, client)), Effect.provide(quiet))
    )
    await quiescent(admin, groupId, topic, 30_000)
    expect(failures).toBe(3)
    await Effect.runPromise(Fiber.interrupt(fiber))
  })

  it("fails the run with a SourceError when commits keep failing, and commits nothing", async () => {
    const topic = uniqueName("down")
    const groupId = uniqueName("down-group")
    await createTopic(admin, topic, 1)
    await producer.send({ topic, acks: -1, messages: [{ key: "k", value: null }] })
    let attempts = 0
    const client = faulty(adapter, () => {
      attempts++
      return "connection"
    })
    const source = KafkaSource.make({
      topic,
      groupId,
      maxWaitTimeMs: 100,
      commitRetry: Schedule.spaced("50 millis").pipe(Schedule.upTo({ times: 4 }))
    })
    const exit = await Effect.runPromiseExit(
      Fold.run(source, [orderTotals]).pipe(Effect.provide(Memory.layer()), Effect.provide(Layer.succeed(Port.KafkaClient, client)), Effect.provide(quiet))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    expect(error).toMatchObject({ _tag: "SourceError", retryable: true })
    expect(attempts).toBe(5)
    expect(await committedOffsets(admin, groupId, topic)).toEqual([-1])
  })

  it("fails with a retryable SourceError after its reconnect schedule when no broker answers", async () => {
    const started = Date.now()
    let attempts = 0
    const counting = adapter.name === "kafkajs" ? nowhereKafkaJs(() => attempts++) : KafkaPlatformatic.make(
      { brokers: ["127.0.0.1:1"], retries: 0, connectionTimeoutMs: 500 },
      {
        consumer: (options) => {
          attempts++
          return new PConsumer(options)
        }
      }
    )
    const source = KafkaSource.make({
      topic: "nowhere",
      groupId: uniqueName("nowhere"),
      reconnect: Schedule.spaced("100 millis").pipe(Schedule.upTo({ times: 2 }))
    })
    const exit = await Effect.runPromiseExit(
      Fold.run(source, [orderTotals]).pipe(
        Effect.provide(Memory.layer()),
        Effect.provide(Layer.succeed(Port.KafkaClient, counting)),
        Effect.provide(quiet)
      )
    )
    const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    expect(error).toMatchObject({ _tag: "SourceError", retryable: true })
    expect(attempts).toBe(3)
    expect(Date.now() - started).toBeLessThan(20_000)
  })
})

/**
 * The seal of `Generations` on each store that has generations: a sealed current generation
 * refuses the writes of the layers bound to it (as a swapped one does) while the generation
 * being built goes on, and the seal is lifted by a refused swap, by `unseal`, by `begin`
 * resuming, and by the swap itself. This is what lets `Rebootstrap.run` stop a busy live worker
 * long enough to catch up to it; a rebuild interrupted while it holds the seal lifts it.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, ManagedRuntime, Stream } from "effect"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Rebootstrap from "../../src/Runtime/Rebootstrap.ts"
import * as Source from "../../src/Source.ts"
import * as Embedded from "../../src/Store/Embedded.ts"
import { GenerationMoved, Generations, isMoved, movedOf as movedIn } from "../../src/Store/Generations.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import { type Entry, Ledger } from "../../src/Store/Ledger.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Version from "../../src/Version.ts"
import { dynamoDbSuite } from "../dynamodb/support.ts"
import { uniqueName } from "../support/services.ts"
import { quiet, sleep } from "../mongo/support.ts"

let dir = ""
/** Tables made on demand (the memory and embedded cases need no DynamoDB), dropped at the end. */
const ddb = dynamoDbSuite("dynamodb", { onDemand: true })
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "seal-"))
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

type Store = readonly [name: string, make: () => Promise<() => Layer.Layer<any, any>>, fencesOutside: boolean]

/** The store services of `layer` alone, as a wrapper that rebuilds them keeps them (no commit fence). */
const servicesOnly = (layer: Layer.Layer<any, any>) =>
  Layer.effectContext(Effect.gen(function*() {
    const context = Context.make(Aggregates, yield* Aggregates).pipe(
      Context.add(Ledger, yield* Ledger),
      Context.add(Tokens, yield* Tokens),
      Context.add(DeadLetters, yield* DeadLetters)
    )
    return Context.add(context, Generations, yield* Generations)
  })).pipe(Layer.provide(layer))
const stores: ReadonlyArray<Store> = [
  ["memory", async () => {
    const state = Memory.makeState()
    return () => Memory.layer(state)
  }, true],
  ["embedded", async () => {
    const path = join(dir, `${uniqueName("seal")}.sqlite`)
    return () => Embedded.layer({ path, durability: "normal" })
  }, true],
  ["dynamodb", async () => {
    const tables = await ddb.tables("seal")
    return () => DynamoDbStore.layerFrom(ddb.client(), tables)
  }, true],
  // without the fold's commit fence, the token store still fences the position commits made through it
  ["dynamodb, its services rebuilt by a wrapper", async () => {
    const tables = await ddb.tables("seal")
    return () => servicesOnly(DynamoDbStore.layerFrom(ddb.client(), tables))
  }, false]
]

const entry = (customer: string, amount: number, version: Version.Version): Entry<number> => ({
  keys: [customer],
  value: amount,
  version
})

/**
 * A live worker's batch: one order folded into the pipeline, then committed by its source, through
 * the token store (a change stream) or, given `commits`, outside it (as a Kafka consumer group
 * commits to the broker), into `commits`.
 */
let batches = 0
const liveBatch = (id: string, version: Version.Version, commits?: Array<string>) => {
  const source = Source.fromStream(`orders-${++batches}`, Stream.make(Source.upsert(id, { _id: id, customer_id: "c1", amount: 5 }, version)))
  const outside = commits === undefined ? source : Source.make({
    ...source,
    commit: (last) => Effect.sync(() => void commits.push(...[...last.values()].map((r) => `${r.partition}@${r.seq}`)))
  })
  return Fold.run(outside, [orderTotals])
}

/** The `GenerationMoved` a failed exit carries, if any. */
const movedOf = (exit: Exit.Exit<unknown, unknown>): GenerationMoved | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  let found: GenerationMoved | undefined
  for (const reason of exit.cause.reasons) if (reason._tag === "Fail") found = movedIn(reason.error) ?? found
  return found
}

describe.each(stores)("Generations.seal on the %s store", (_name, makeStore, fencesOutside) => {
  it("stops the live generation's writes until a swap, unseal or resumed begin lifts it", async () => {
    const layer = await makeStore()
    const run = <A, E>(rt: ManagedRuntime.ManagedRuntime<any, any>, e: Effect.Effect<A, E, any>) => rt.runPromiseExit(e)
    const live = ManagedRuntime.make(Layer.merge(layer(), quiet))
    const admin = ManagedRuntime.make(Layer.merge(layer(), quiet))
    const generations = await admin.runPromise(Generations.use((g) => Effect.succeed(g)))
    const pipeline = orderTotals.name

    expect(Exit.isSuccess(await run(live, liveBatch("o-1", Version.make(10, 1))))).toBe(true)
    const opened = await admin.runPromise(generations.begin(pipeline))
    expect(opened).toEqual({ pipeline, current: 0, building: 1 })
    const built = generations.services(pipeline, 1)
    const rebuild = (id: string, version: Version.Version) =>
      Ledger.use((l) => l.put(orderTotals, new Map([[id, entry("c1", 5, version)]]))).pipe(Effect.provide(built))

    // the live worker is ahead: a swap is refused and leaves the live generation writable
    expect(Exit.isSuccess(await run(admin, rebuild("o-1", Version.make(10, 1))))).toBe(true)
    expect(Exit.isSuccess(await run(live, liveBatch("o-2", Version.make(11, 1))))).toBe(true)
    const refused = await run(admin, generations.swap(pipeline, 0, 1))
    expect(Exit.isFailure(refused) && JSON.stringify(refused.cause)).toContain("GenerationBehind")
    expect(Exit.isSuccess(await run(live, liveBatch("o-3", Version.make(12, 1))))).toBe(true)

    // sealed: the newest live version comes back, and the live worker's next batch fails
    const frozen = await admin.runPromise(generations.seal(pipeline, 0, 1))
    expect(frozen).toEqual(Version.make(12, 1))
    const stopped = movedOf(await run(live, liveBatch("o-4", Version.make(13, 1))))
    expect(stopped).toBeDefined()
    expect(stopped!.sealed).toBe(true)
    expect(stopped!.message).toContain("sealed")
    expect(isMoved(stopped)).toBe(true)
    // so is a batch whose source commits outside the store (DynamoDB fences commits, not writes)
    if (fencesOutside) {
      const commits: Array<string> = []
      expect(movedOf(await run(live, liveBatch("o-4k", Version.make(13, 2), commits)))?.sealed).toBe(true)
      expect(commits).toEqual([])
    }
    // the generation being built is not sealed; the status says the current one is
    expect(Exit.isSuccess(await run(admin, rebuild("o-3", Version.make(12, 1))))).toBe(true)
    expect(await admin.runPromise(generations.status(pipeline))).toEqual({ pipeline, current: 0, building: 1, sealed: true })

    // unseal lifts it; so does a resumed begin
    await admin.runPromise(generations.unseal(pipeline))
    expect((await admin.runPromise(generations.status(pipeline))).sealed).toBeUndefined()
    expect(Exit.isSuccess(await run(live, liveBatch("o-4", Version.make(13, 1))))).toBe(true)
    await admin.runPromise(generations.seal(pipeline, 0, 1))
    expect(movedOf(await run(live, liveBatch("o-5", Version.make(14, 1))))?.sealed).toBe(true)
    expect(await admin.runPromise(generations.begin(pipeline))).toEqual({ pipeline, current: 0, building: 1 })
    expect(Exit.isSuccess(await run(live, liveBatch("o-5", Version.make(14, 1))))).toBe(true)

    // sealed while behind: the refused swap lifts the seal
    await admin.runPromise(generations.seal(pipeline, 0, 1))
    const behind = await run(admin, generations.swap(pipeline, 0, 1))
    expect(Exit.isFailure(behind) && JSON.stringify(behind.cause)).toContain("GenerationBehind")
    expect(Exit.isSuccess(await run(live, liveBatch("o-6", Version.make(15, 1))))).toBe(true)

    // sealed, caught up, swapped: the live worker's old binding is moved for good
    const last = await admin.runPromise(generations.seal(pipeline, 0, 1))
    expect(last).toEqual(Version.make(15, 1))
    expect(Exit.isSuccess(await run(admin, rebuild("o-6", last!)))).toBe(true)
    expect(Exit.isSuccess(await run(admin, generations.swap(pipeline, 0, 1)))).toBe(true)
    const after = movedOf(await run(live, liveBatch("o-7", Version.make(16, 1))))
    expect(after?.sealed).toBe(false)
    expect(after?.current).toBe(1)
    // a fresh layer binds generation 1, which nothing seals
    const next = ManagedRuntime.make(Layer.merge(layer(), quiet))
    expect(Exit.isSuccess(await run(next, liveBatch("o-7", Version.make(16, 1))))).toBe(true)
    // sealing needs the pointer as given
    const wrong = await run(admin, generations.seal(pipeline, 0, 1))
    expect(isMoved(Exit.isFailure(wrong) ? wrong.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined)).toBe(true)
    await Promise.all([live, admin, next].map((rt) => rt.dispose()))
  }, 60_000)
})

/** Two orders bootstrapped at version 5, no live source. */
const seeded: Orchestrator.Spec<"changes", unknown, any> = {
  pipelines: [orderTotals],
  handoff: Effect.succeed(Handoff.atVersion(Version.make(5, 0))),
  bootstrap: () =>
    Source.fromIterable("seed", [{ _id: "o-1", customer_id: "c1", amount: 5 }, { _id: "o-2", customer_id: "c2", amount: 7 }], { id: (d) => d._id })
}

describe("Rebootstrap.run holding the seal", () => {
  it("lifts the seal when it is interrupted during its sealed catch-up", async () => {
    const state = Memory.makeState()
    const layer = () => Layer.merge(Memory.layer(state), quiet)
    const worker = ManagedRuntime.make(layer())
    const rebuilder = ManagedRuntime.make(layer())
    // a live source with nothing to say: each catch-up ends after `idle`
    const spec: Orchestrator.Spec<"changes", unknown, any> = { ...seeded, live: () => Source.fromStream("live", Stream.never) }
    await worker.runPromise(Orchestrator.bootstrap(spec))
    // the live worker has folded a change the rebuild will not find before it is sealed
    expect(Exit.isSuccess(await worker.runPromiseExit(liveBatch("o-3", Version.make(100, 1))))).toBe(true)

    const rebuild = rebuilder.runFork(Rebootstrap.run(spec, orderTotals.name, { idle: "1 second", attempts: 3 }))
    let sealed: GenerationMoved | undefined
    for (let tries = 0; sealed === undefined && tries < 200; tries++) {
      await sleep(25)
      const seen = movedOf(await worker.runPromiseExit(liveBatch("o-4", Version.make(101, 1))))
      if (seen?.sealed === true) sealed = seen
    }
    expect(sealed).toBeDefined()
    await rebuilder.runPromise(Fiber.interrupt(rebuild))

    // the live generation is current and writable again; the rebuilt one stays for a rerun
    expect(Exit.isSuccess(await worker.runPromiseExit(liveBatch("o-4", Version.make(101, 1))))).toBe(true)
    expect(await rebuilder.runPromise(Rebootstrap.status(orderTotals.name))).toEqual({ pipeline: orderTotals.name, current: 0, building: 1 })
    await Promise.all([worker, rebuilder].map((rt) => rt.dispose()))
  }, 30_000)
})

describe.each(stores)("Rebootstrap.run interrupted between its swap and its drop, on the %s store", (_name, makeStore) => {
  it("has the next run drop the generation it swapped out", async () => {
    const layer = await makeStore()
    const spec = seeded
    const pipeline = orderTotals.name
    const ledgerOf = (generation: number) =>
      Effect.flatMap(Generations, (g) =>
        Ledger.use((l) => l.get(orderTotals, ["\"o-1\""])).pipe(Effect.provide(g.services(pipeline, generation))))
    const store = ManagedRuntime.make(Layer.merge(layer(), quiet))
    await store.runPromise(Orchestrator.bootstrap(spec))
    // the run dies in its drop, after the swap
    const dying = Layer.effect(Generations, Effect.map(Generations, (g) => ({ ...g, drop: () => Effect.die("killed before the drop") })))
    const killed = await store.runPromiseExit(Rebootstrap.run(spec, pipeline, { idle: "10 millis" }).pipe(Effect.provide(dying)))
    expect(Exit.isFailure(killed)).toBe(true)
    expect(await store.runPromise(Generations.use((g) => g.status(pipeline)))).toEqual({ pipeline, current: 1, building: undefined })
    expect((await store.runPromise(ledgerOf(0)))[0]).toBeDefined()
    // the next run drops generation 0 before it builds generation 2
    const rerun = await store.runPromise(Rebootstrap.run(spec, pipeline, { idle: "10 millis" }))
    expect([rerun.from, rerun.to]).toEqual([1, 2])
    expect((await store.runPromise(ledgerOf(0)))[0]).toBeUndefined()
    expect((await store.runPromise(ledgerOf(1)))[0]).toBeUndefined()
    expect((await store.runPromise(ledgerOf(2)))[0]?.value).toBe(5)
    await store.dispose()
  }, 30_000)
})

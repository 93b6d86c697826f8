/**
 * The library's own entries in the token store (internal/tokenKeys.ts): a pipeline's bootstrap
 * state and a source's committed positions, written and read back through the memory store, and
 * what happens when a saved value is not one the library wrote.
 *
 * No server needed (memory store).
 */
import { Effect, Exit, Option, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Handoff from "../../src/Handoff.ts"
import * as I from "../../src/Input.ts"
import * as TokenKeys from "../../src/internal/tokenKeys.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as Source from "../../src/Source.ts"
import * as Memory from "../../src/Store/Memory.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import * as Version from "../../src/Version.ts"

const run = <A, E>(state: Memory.State, effect: Effect.Effect<A, E, Tokens>) =>
  Effect.runPromiseExit(effect.pipe(Effect.provide(Memory.layer(state))))

const setRaw = (state: Memory.State, key: TokenKeys.TokenKey, value: unknown) =>
  run(
    state,
    Effect.gen(function*() {
      const tokens = yield* Tokens
      yield* tokens.set(key.scope, key.name, value)
    })
  )

const at = (partition: string, seq: number, checkpoint: unknown) => I.skip("test", { partition, seq, checkpoint })

describe("pipeline names", () => {
  const options = { schema: Schema.Struct({ n: Schema.Number }), key: () => "k", value: (d: { n: number }) => d.n, monoid: Monoid.sum }

  it("refuses an empty name and names starting with @, which the library's own token entries use", () => {
    expect(() => Pipeline.make("", options)).toThrow(/must not be empty/)
    expect(() => Pipeline.make("@sources", options)).toThrow(/must not start with "@"/)
    expect(() => Pipeline.make("ok", options).pipe(Pipeline.rename("@x"))).toThrow(/reserved/)
    expect(Pipeline.make("orders@v2", options).name).toBe("orders@v2")
  })
})

describe("bootstrap state", () => {
  it("reads back what the orchestrator saves, and a state saved without its optional fields", () => {
    const handoff = Handoff.atVersion(Version.make(1700000000000, 3), { token: "t" }, 42)
    const state = { phase: "done" as const, handoff, startedAt: 1, finishedAt: 2 }
    expect(TokenKeys.decodeBootstrap(JSON.parse(JSON.stringify(state)))).toEqual(state)
    expect(TokenKeys.decodeBootstrap({ phase: "scanning", handoff: { version: [5, 6] } })).toEqual({
      phase: "scanning",
      handoff: { version: [5, 6], live: null, capturedAt: 0 },
      startedAt: 0,
      finishedAt: undefined
    })
  })

  it("refuses what the orchestrator never writes", () => {
    for (const bad of [
      null,
      "done",
      { phase: "finished", handoff: { version: [1, 2] } },
      { phase: "done", handoff: { version: ["1", 2] } },
      { phase: "done", handoff: { version: [1] } },
      { phase: "done", handoff: { version: [1, Number.NaN] } },
      { phase: "done" },
      { phase: "done", handoff: { version: [1, 2] }, startedAt: "yesterday" }
    ]) expect(TokenKeys.decodeBootstrap(bad), JSON.stringify(bad)).toBeUndefined()
  })

  it("an unreadable saved state fails the run with a ConfigurationError instead of starting a second bootstrap", async () => {
    const state = Memory.makeState()
    await setRaw(state, TokenKeys.bootstrap("totals"), { phase: "done", handoff: { version: "1:2" } })
    const exit = await run(state, Orchestrator.state("totals"))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toMatch(/ConfigurationError/)
    expect(JSON.stringify(exit)).toMatch(/bootstrap state of pipeline totals/)
  })

  it("no saved state reads as none", async () => {
    const exit = await run(Memory.makeState(), Orchestrator.state("totals"))
    expect(exit).toEqual(Exit.succeed(Option.none()))
  })
})

describe("source positions", () => {
  it("commits merge per partition and read back, whatever the partition's name", async () => {
    const state = Memory.makeState()
    const commit = Source.commitToTokens("src")
    await run(state, commit(new Map([["__proto__", at("__proto__", 3, { o: 1 })], ["p/0", at("p/0", 7, null)]])))
    // a second committer (a restarted worker) starts from what the first saved
    await run(state, Source.commitToTokens("src")(new Map([["p/0", at("p/0", 9, "c9")]])))
    const read = (partition: string) => run(state, Source.committed("src", partition))
    expect(await read("__proto__")).toEqual(Exit.succeed({ seq: 3, checkpoint: { o: 1 } }))
    expect(await read("p/0")).toEqual(Exit.succeed({ seq: 9, checkpoint: "c9" }))
    expect(await read("p/1")).toEqual(Exit.succeed(undefined))
    expect(Object.getPrototypeOf(TokenKeys.decodePositions({ a: 1 }))).toBeNull()
  })

  it("a saved entry that is not a position reads as none: the source starts from its beginning", async () => {
    const state = Memory.makeState()
    await setRaw(state, TokenKeys.position("src"), { a: { seq: "7" }, b: 5, c: { seq: 2 } })
    expect(await run(state, Source.committed("src", "a"))).toEqual(Exit.succeed(undefined))
    expect(await run(state, Source.committed("src", "b"))).toEqual(Exit.succeed(undefined))
    expect(await run(state, Source.committed("src", "c"))).toEqual(Exit.succeed({ seq: 2, checkpoint: null }))
    await setRaw(state, TokenKeys.position("src"), [1, 2])
    expect(await run(state, Source.committed("src", "0"))).toEqual(Exit.succeed(undefined))
  })

  it("sources and pipelines never share a key", () => {
    const keys = [TokenKeys.bootstrap("totals"), TokenKeys.position("totals"), TokenKeys.staged("totals")]
    expect(new Set(keys.map((k) => `${k.scope}\u0000${k.name}`)).size).toBe(3)
    expect(TokenKeys.position("x").scope).toBe(Source.tokenScope)
  })
})

describe("Pipeline.make and groups", () => {
  it("refuses a group not declared commutative: a retraction appends the inverse", () => {
    const schema = Schema.Struct({ k: Schema.String, n: Schema.Int })
    // permutations of three elements compose, invert, and do not commute
    type Perm = readonly [number, number, number]
    const compose = (p: Perm, q: Perm): Perm => [q[p[0]]!, q[p[1]]!, q[p[2]]!]
    const inverse = (p: Perm): Perm => {
      const out = [0, 0, 0]
      p.forEach((v, i) => (out[v] = i))
      return out as unknown as Perm
    }
    const perms = Monoid.makeGroup<Perm>({ empty: [0, 1, 2], combine: compose, inverse })
    const a: Perm = [1, 0, 2]
    const b: Perm = [0, 2, 1]
    // (a then b) less a is not b: the reason for the refusal
    expect(compose(compose(a, b), inverse(a))).not.toEqual(b)
    const options = { schema, key: (d: { k: string }) => d.k, value: (): Perm => a, monoid: perms }
    expect(() => Pipeline.make("perms", options)).toThrow(/not declared commutative/)
    expect(Pipeline.make("sums", { schema, key: (d) => d.k, value: (d) => d.n, monoid: Monoid.makeGroup({ empty: 0, combine: (x: number, y: number) => x + y, inverse: (x) => -x, commutative: true }) }).mode).toBe("changes")
  })
})

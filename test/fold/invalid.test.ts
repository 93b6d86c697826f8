/**
 * Issue 13's two reports, reproduced on the JSON-Lines path (the same decoder as the Kafka path),
 * folded by the real orchestrator on the in-memory store:
 *
 * 1. a valid order updated into an invalid one must retract its amount (and the way back must add
 *    it again), for every way an order can turn invalid;
 * 2. an Int64 `_id` past 2^53 written as relaxed Extended JSON (a bare integer literal, as
 *    Debezium and the relay write keys) must be the same document as the snapshot's
 *    `{"$numberLong": ...}`, and stay apart from its neighbour that differs only past 2^53.
 *
 * Each case is also checked against a fresh bootstrap of the final documents: the totals may not
 * depend on when a document was invalid.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, References } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { orderTotals } from "../../examples/orderstats/pipeline.ts"
import * as Handoff from "../../src/Handoff.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as JsonlChanges from "../../src/Jsonl/JsonlChanges.ts"
import * as JsonlSnapshot from "../../src/Jsonl/JsonlSnapshot.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Version from "../../src/Version.ts"

const dir = mkdtempSync(join(tmpdir(), "invalid-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

const P0 = Version.make(1_700_000_000_000, 5)

/** A Debezium-shaped record line: relaxed Extended-JSON key and `after` text, as the connector writes them. */
const change = (op: "c" | "u" | "d", idText: string, afterText: string | null, t: number) =>
  JSON.stringify({
    key: JSON.stringify({ id: idText }),
    value: JSON.stringify({ op, after: afterText, source: { ts_ms: 1_700_000_000_000 + t * 1000, ord: 1 } })
  })

/** Folds a snapshot file then a change file; returns the non-zero totals and the dead letters' reasons. */
const fold = (snapshot: ReadonlyArray<string>, changes: ReadonlyArray<string>) => {
  const n = files++
  const snapshotPath = join(dir, `snapshot-${n}.jsonl`)
  const changesPath = join(dir, `changes-${n}.jsonl`)
  writeFileSync(snapshotPath, snapshot.map((l) => `${l}\n`).join(""))
  writeFileSync(changesPath, changes.map((l) => `${l}\n`).join(""))
  return Effect.runPromise(
    Effect.gen(function*() {
      yield* Orchestrator.run({
        pipelines: [orderTotals],
        handoff: Effect.sync(() => Handoff.atVersion(P0)),
        bootstrap: (handoff) => JsonlSnapshot.make({ path: snapshotPath, handoff }),
        // the records carry cluster times (Debezium 2.x), and some arrive out of date on purpose
        live: () => JsonlChanges.make({ path: changesPath, ordering: "sourceTime" })
      })
      const totals = yield* (yield* Aggregates).all(orderTotals)
      const dead = yield* (yield* DeadLetters).list(orderTotals.name)
      const nonZero = Object.fromEntries(Array.from(totals).filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)))
      return { totals: nonZero, dead: dead.map((d) => d.reason) }
    }).pipe(
      Effect.provide(Layer.merge(Memory.layer(Memory.makeState()), Layer.succeed(References.MinimumLogLevel, "Warn")))
    )
  )
}

/** The ways an order turns invalid, as relaxed Extended JSON of the whole document. */
const invalidForms: ReadonlyArray<readonly [string, string]> = [
  ["amount as text", `{"_id": "a1", "customer_id": "c1", "amount": "100"}`],
  ["a fractional amount", `{"_id": "a1", "customer_id": "c1", "amount": 100.5}`],
  ["a Decimal128 amount", `{"_id": "a1", "customer_id": "c1", "amount": {"$numberDecimal": "100"}}`],
  ["an Int64 amount past 2^53", `{"_id": "a1", "customer_id": "c1", "amount": 9007199254740993}`],
  ["a null amount", `{"_id": "a1", "customer_id": "c1", "amount": null}`],
  ["no amount", `{"_id": "a1", "customer_id": "c1"}`],
  ["no customer", `{"_id": "a1", "amount": 100}`],
  ["an empty customer", `{"_id": "a1", "customer_id": "", "amount": 100}`],
  ["a customer that is not a string", `{"_id": "a1", "customer_id": 7, "amount": 100}`]
]

const a1 = `{"_id": "a1", "customer_id": "c1", "amount": 100}`
const a2 = `{"_id": "a2", "customer_id": "c1", "amount": 5}`

describe("a document that turns invalid", () => {
  for (const [what, bad] of invalidForms) {
    it(`retracts its old contribution (${what}), and the way back adds it again`, async () => {
      const turned = await fold([a1, a2], [change("u", `"a1"`, bad, 1)])
      expect(turned.totals).toEqual({ c1: 5 })
      expect(turned.dead).toHaveLength(1)
      expect(turned.dead[0]).toMatch(/does not match the pipeline's schema/)
      // a fresh bootstrap of the same final documents gives the same totals
      expect((await fold([bad, a2], [])).totals).toEqual(turned.totals)

      const back = await fold([a1, a2], [change("u", `"a1"`, bad, 1), change("u", `"a1"`, `{"_id": "a1", "customer_id": "c2", "amount": 70}`, 2)])
      expect(back.totals).toEqual({ c1: 5, c2: 70 })
      // and the stale invalid state redelivered afterwards changes nothing (but is still bad input)
      const redelivered = await fold([a1, a2], [
        change("u", `"a1"`, bad, 1),
        change("u", `"a1"`, `{"_id": "a1", "customer_id": "c2", "amount": 70}`, 2),
        change("u", `"a1"`, bad, 1)
      ])
      expect(redelivered.totals).toEqual({ c1: 5, c2: 70 })
      expect(redelivered.dead).toHaveLength(2)
    })
  }

  it("an invalid document in the snapshot contributes nothing until a valid state arrives", async () => {
    const bad = invalidForms[0]![1]
    expect((await fold([bad, a2], [])).totals).toEqual({ c1: 5 })
    expect((await fold([bad, a2], [change("u", `"a1"`, a1, 1)])).totals).toEqual({ c1: 105 })
    // an older valid state arriving late does not bring the amount back
    const late = await fold([a1, a2], [change("u", `"a1"`, bad, 2), change("u", `"a1"`, a1, 1)])
    expect(late.totals).toEqual({ c1: 5 })
  })
})

describe("Int64 _ids past 2^53", () => {
  const big = (digits: string, customer: string, amount: number) =>
    `{"_id": {"$numberLong": "${digits}"}, "customer_id": "${customer}", "amount": ${amount}}`
  const relaxed = (digits: string, customer: string, amount: number) =>
    `{"_id": ${digits}, "customer_id": "${customer}", "amount": ${amount}}`

  it("a relaxed key and after past 2^53 update the snapshot's document, not a twin", async () => {
    const result = await fold(
      [big("9007199254740993", "c1", 10), big("9007199254740992", "c1", 1)],
      [change("u", "9007199254740993", relaxed("9007199254740993", "c1", 20), 1)]
    )
    expect(result.totals).toEqual({ c1: 21 })
    expect(result.dead).toEqual([])
  })

  it("a delete by a relaxed key retracts the right one of two ids that differ only past 2^53", async () => {
    const result = await fold(
      [big("9007199254740993", "c1", 10), big("9007199254740992", "c2", 1)],
      [change("d", "9007199254740993", null, 1)]
    )
    expect(result.totals).toEqual({ c2: 1 })
  })

  it("an Int32, an Int64 and a Double of one value are one document, as in MongoDB's _id index", async () => {
    const result = await fold(
      [`{"_id": {"$numberInt": "42"}, "customer_id": "c1", "amount": 10}`],
      [
        change("u", `{"$numberLong": "42"}`, `{"_id": {"$numberLong": "42"}, "customer_id": "c1", "amount": 30}`, 1),
        change("u", "42.0", `{"_id": 42.0, "customer_id": "c2", "amount": 7}`, 2)
      ]
    )
    expect(result.totals).toEqual({ c2: 7 })
  })
})

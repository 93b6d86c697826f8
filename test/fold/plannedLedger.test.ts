/**
 * A plan's new ledger entries (`PlannedLedger`) are a `ReadonlyMap` over the planner's arrays:
 * whatever a store or a test does with them (walk them, iterate them, look one up) must give what
 * a `Map` of the same entries gives, in the same order.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { PlannedLedger } from "../../src/internal/entry.ts"
import type { Entry } from "../../src/Store/Ledger.ts"

const entry = fc.record({ keys: fc.array(fc.string(), { maxLength: 2 }), value: fc.integer(), version: fc.tuple(fc.nat(), fc.nat()) })

/** Distinct ids, each with an entry or none (a document the batch did not change). */
const planned = fc.uniqueArray(fc.string(), { maxLength: 40 }).chain((ids) =>
  fc.tuple(fc.constant(ids), fc.array(fc.option(entry, { nil: undefined }), { minLength: ids.length, maxLength: ids.length }))
)

describe("PlannedLedger", () => {
  it("behaves as the Map of its entries, in the planner's order", () => {
    fc.assert(
      fc.property(planned, fc.string(), ([ids, states], other) => {
        const reference = new Map<string, Entry<number>>()
        ids.forEach((id, d) => {
          if (states[d] !== undefined) reference.set(id, states[d]!)
        })
        const ledger = new PlannedLedger<number>(ids, states)
        const walked: Array<[string, Entry<number>]> = []
        ledger.forEach((e, id, map) => {
          expect(map).toBe(ledger)
          walked.push([id, e])
        })
        expect(walked).toEqual([...reference])
        expect(ledger.size).toBe(reference.size)
        for (const id of [...ids, other]) {
          expect(ledger.get(id)).toBe(reference.get(id))
          expect(ledger.has(id)).toBe(reference.has(id))
        }
        expect([...ledger]).toEqual([...reference])
        expect([...ledger.entries()]).toEqual([...reference.entries()])
        expect([...ledger.keys()]).toEqual([...reference.keys()])
        expect([...ledger.values()]).toEqual([...reference.values()])
        // a store that copies it (the DynamoDB ledger iterates it) gets the same map
        expect(new Map(ledger)).toEqual(reference)
      })
    )
  })
})

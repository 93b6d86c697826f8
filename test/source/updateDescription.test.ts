/**
 * `UpdateDescription.apply` rebuilds the post-image of a change from its pre-image and MongoDB's
 * update description: for any pair of documents, the description computed by the tests' own diff
 * (test/support/debeziumHistory.ts: dotted paths into embedded documents, array elements by index,
 * truncations, removals) applied to the first gives the second. No server needed.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as UpdateDescription from "../../src/UpdateDescription.ts"
import { describeUpdate } from "../support/debeziumHistory.ts"
import type { Doc } from "../support/history.ts"

const leaf = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom("a", "b", "", "0"), fc.boolean(), fc.constant(null))
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("node"), { maxLength: 4 }),
    // field names may start with "$" (MongoDB 5.0+, manual: "Field Names with Periods and Dollar
    // Signs", core/dot-dollar-considerations): such a document is not an Extended-JSON value
    fc.dictionary(fc.constantFrom("x", "y", "z", "0", "1", "$c"), tie("node"), { maxKeys: 3 })
  )
})).node
const doc = fc.dictionary(fc.constantFrom("amount", "customer_id", "meta", "tags", "1"), value, { maxKeys: 5 }).map((d) => ({ _id: "o1", ...d }))

describe("UpdateDescription.apply", () => {
  it("rebuilds the post-image from the pre-image and the description of the change", () => {
    fc.assert(
      fc.property(doc, doc, (before, after) => {
        const description = describeUpdate(before as Doc, after as Doc)
        const rebuilt = UpdateDescription.apply(before, {
          updatedFields: description.updatedFields as Record<string, unknown>,
          removedFields: description.removedFields ?? [],
          truncatedArrays: (description.truncatedArrays ?? []).map((t) => ({ field: t.field, size: t.newSize }))
        })
        expect(rebuilt).toEqual(after)
        // the pre-image is left as it was
        expect(before).toEqual(JSON.parse(JSON.stringify(before)))
      }),
      { numRuns: 2000, seed: 20261204 }
    )
  })

  it("follows MongoDB's path rules: numeric components index arrays, missing documents are created, arrays padded", () => {
    const before = { _id: 1, a: [{ q: 1 }, { q: 2 }], m: { "0": "field zero" }, gone: 1, list: [1, 2, 3, 4] }
    const after = UpdateDescription.apply(before, {
      updatedFields: { "a.1.q": 5, "m.0": "still a field", "new.deep.x": 1, "a.4": "padded" },
      removedFields: ["gone", "list.1"],
      truncatedArrays: [{ field: "list", size: 2 }]
    })
    expect(after).toEqual({
      _id: 1,
      a: [{ q: 1 }, { q: 5 }, null, null, "padded"],
      m: { "0": "still a field" },
      list: [1, null],
      new: { deep: { x: 1 } }
    })
  })

  it("reaches into a document whose first field name starts with $, and leaves Extended-JSON values whole", () => {
    const before = { _id: 1, meta: { $currency: "EUR", region: "eu" }, at: { $date: "2026-01-01T00:00:00Z" }, ref: { $ref: "c", $id: 1 } }
    expect(UpdateDescription.apply(before, { updatedFields: {}, removedFields: ["meta.region"], truncatedArrays: [] }))
      .toEqual({ _id: 1, meta: { $currency: "EUR" }, at: before.at, ref: before.ref })
    expect(UpdateDescription.apply(before, { updatedFields: { "meta.region": "us" }, removedFields: [], truncatedArrays: [] }).meta)
      .toEqual({ $currency: "EUR", region: "us" })
    // a path into a value is not a path into a document: the value is replaced by one
    expect(UpdateDescription.apply(before, { updatedFields: { "at.x": 1 }, removedFields: [], truncatedArrays: [] }).at).toEqual({ x: 1 })
  })
})

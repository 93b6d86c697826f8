/**
 * The planner's direct decoder (compiled from a schema's AST) against Schema's own parser: on
 * every input, the same verdict and the same output; and the schemas it covers really take it
 * (a valid document never falls back), so the comparison is not vacuous.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import fc from "fast-check"
import * as Decoder from "../../src/internal/decoder.ts"

const Status = Schema.Literals(["paid", "refunded", 0, true])
const Amount = Schema.Int.check(Schema.isGreaterThanOrEqualTo(-1_000_000))

/** Schemas the direct decoder covers. */
const covered = {
  order: Schema.Struct({ customer_id: Schema.String, amount: Schema.Int }),
  checks: Schema.Struct({ id: Schema.NonEmptyString, amount: Amount, ratio: Schema.Finite }),
  optional: Schema.Struct({
    a: Schema.optionalKey(Schema.String),
    b: Schema.optional(Schema.Number),
    c: Schema.NullOr(Schema.Boolean),
    d: Schema.UndefinedOr(Schema.String)
  }),
  nested: Schema.Struct({ status: Status, inner: Schema.Struct({ x: Schema.Number, y: Schema.optionalKey(Schema.Null) }) }),
  unionWithChecks: Schema.Struct({ v: Schema.Union([Schema.String.check(Schema.isMinLength(2)), Amount]) })
} as const

/** Schemas it must leave to Schema: a transformation, an array, an index signature, a struct check. */
const uncovered = {
  transformed: Schema.Struct({ n: Schema.NumberFromString }),
  array: Schema.Struct({ xs: Schema.Array(Schema.Number) }),
  record: Schema.Record(Schema.String, Schema.Number),
  structCheck: Schema.Struct({ a: Schema.Number, b: Schema.Number }).check(Schema.makeFilter((o) => o.a < o.b))
} as const

const values = fc.oneof(
  fc.string({ maxLength: 3 }),
  fc.integer({ min: -2_000_000, max: 2_000_000 }),
  fc.double(),
  fc.boolean(),
  fc.constantFrom(null, undefined, "paid", "refunded", 0, -0, true, Number.NaN, Infinity, 2 ** 53),
  fc.bigInt(),
  fc.array(fc.integer(), { maxLength: 2 })
)
const keys = ["customer_id", "amount", "id", "ratio", "a", "b", "c", "d", "status", "inner", "x", "y", "v", "n", "xs", "extra"]
/** Objects over the schemas' own keys (and others), nested once, plus non-objects. */
const docs = fc.oneof(
  { weight: 5, arbitrary: fc.dictionary(fc.constantFrom(...keys), fc.oneof(values, fc.dictionary(fc.constantFrom(...keys), values))) },
  { weight: 1, arbitrary: values }
)

const reference = (schema: Schema.Top) => {
  const decode = Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)
  return (doc: unknown) => {
    const r = decode(doc)
    return r._tag === "Success" ? { ok: true, value: r.success } : { ok: false }
  }
}

describe("the planner's decoder", () => {
  for (const [name, schema] of Object.entries({ ...covered, ...uncovered })) {
    it(`decodes as Schema does: ${name}`, () => {
      const ours = Decoder.of(schema)
      const theirs = reference(schema)
      fc.assert(
        fc.property(docs, (doc) => {
          const a = ours(doc)
          const b = theirs(doc)
          if (b.ok) {
            expect(a).not.toBeInstanceOf(Decoder.Refused)
            expect(a).toStrictEqual(b.value)
            expect(Object.keys(a as object)).toEqual(Object.keys(b.value as object))
          } else expect(a).toBeInstanceOf(Decoder.Refused)
        }),
        { numRuns: 3000 }
      )
    })
  }

  it("covers the plain schemas, and only those", () => {
    for (const schema of Object.values(covered)) expect(Decoder.direct(schema.ast)).toBeDefined()
    for (const schema of Object.values(uncovered)) expect(Decoder.direct(schema.ast)).toBeUndefined()
  })

  it("accepts valid documents itself, dropping excess keys", () => {
    const direct = Decoder.direct(covered.order.ast)!
    expect(direct({ customer_id: "c1", amount: 5, status: "paid" })).toStrictEqual({ customer_id: "c1", amount: 5 })
    const nested = Decoder.direct(covered.nested.ast)!
    expect(nested({ status: 0, inner: { x: 1.5, z: 1 }, more: 1 })).toStrictEqual({ status: 0, inner: { x: 1.5 } })
  })

  it("decodes a struct with a symbol key (the loop, not the written-out decoder) as Schema does", () => {
    const tag = Symbol.for("tag")
    const schema = Schema.Struct({ [tag]: Schema.String, amount: Schema.optionalKey(Schema.Int) })
    const ours = Decoder.of(schema)
    const theirs = reference(schema)
    for (const doc of [{ [tag]: "a", amount: 2, extra: 1 }, { [tag]: "a" }, { [tag]: 1 }, { amount: 2 }, { [tag]: "a", amount: 1.5 }]) {
      const b = theirs(doc)
      if (b.ok) expect(ours(doc)).toStrictEqual(b.value)
      else expect(ours(doc)).toBeInstanceOf(Decoder.Refused)
    }
    expect(Decoder.direct(schema.ast)!({ [tag]: "a", amount: 2, extra: 1 })).toStrictEqual({ [tag]: "a", amount: 2 })
  })

  it("refuses with Schema's own reason", () => {
    const refused = Decoder.of(covered.order)({ customer_id: "c1", amount: 1.5 })
    expect(refused).toBeInstanceOf(Decoder.Refused)
    expect((refused as Decoder.Refused).reason).toMatch(/^the document does not match the pipeline's schema: .*integer.*amount/)
  })
})

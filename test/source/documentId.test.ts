/**
 * Document ids key numeric `_id`s by value, as MongoDB's `_id` index does: an Int32, an Int64, a
 * Double and a Decimal128 of one value are one document, whatever digits the decimal is written
 * with, and a fractional Double is the Decimal128 of its exact value (MongoDB compares numeric
 * types by value: https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/,
 * "Numeric Types"; so a replaceOne may change an `_id` into an equal value of another type). A
 * field named `__proto__` is a field (MongoDB and JSON allow the name), not the object's
 * prototype, in ids, in converted documents and in staged values. No server needed (the same on
 * the real server: test/mongo/live.test.ts).
 */
import { Decimal128, Double, Int32, Long } from "bson"
import fc from "fast-check"
import { Effect, Schema, Stream } from "effect"
import { describe, expect, it } from "vitest"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Source from "../../src/Source.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as DocumentId from "../../src/DocumentId.ts"
import * as ExtendedJson from "../../src/ExtendedJson.ts"
import { fromJson as decodeStaged, toJson as encodeStaged } from "../../src/internal/valueCodec.ts"

/** The same integer written as a decimal in other ways: trailing zeros, a fraction of zeros, an exponent. */
const spellings = (n: bigint): fc.Arbitrary<string> =>
  fc.tuple(fc.nat({ max: 4 }), fc.nat({ max: 4 }), fc.boolean()).map(([zeros, fraction, exponent]) => {
    const sign = n < 0n ? "-" : ""
    const abs = (n < 0n ? -n : n).toString()
    if (exponent) return `${sign}${abs}${"0".repeat(zeros)}E-${zeros}`
    return `${sign}${abs}${fraction > 0 ? "." + "0".repeat(fraction) : ""}`
  })

describe("DocumentId", () => {
  it("keys a Decimal128 holding an integer as that integer, for every spelling, within the Int64 range", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).chain((n) => fc.tuple(fc.constant(n), spellings(n))),
        ([n, text]) => {
          const long = DocumentId.fromBson(Long.fromBigInt(n))
          expect(DocumentId.fromBson(Decimal128.fromString(text))).toBe(long)
          expect(DocumentId.fromJson({ $numberDecimal: text })).toBe(long)
        }
      )
    )
    expect(DocumentId.fromBson(Decimal128.fromString("1.00"))).toBe(DocumentId.fromBson(new Int32(1)))
    expect(DocumentId.fromBson(Decimal128.fromString("-0"))).toBe(DocumentId.fromBson(new Double(0)))
    expect(DocumentId.fromBson(Decimal128.fromString("1E+2"))).toBe(DocumentId.fromBson(new Double(100)))
    expect(DocumentId.fromBson(Decimal128.fromString("9007199254740993"))).toBe(
      DocumentId.fromBson(Long.fromString("9007199254740993"))
    )
  })

  it("keys any other decimal by value too, and tells different values apart", () => {
    const of = (text: string) => DocumentId.fromBson(Decimal128.fromString(text))
    expect(of("1.50")).toBe(of("1.5"))
    expect(of("15E-1")).toBe(of("1.500"))
    expect(of("9223372036854775808")).toBe(of("9.223372036854775808E+18"))
    expect(new Set([of("1.5"), of("1.05"), of("-1.5"), of("9223372036854775808"), of("NaN"), of("Infinity"), of("1")]).size).toBe(7)
  })

  it("keys a Double by its exact value, as the Decimal128 that holds it, and apart from any decimal it is not", () => {
    const double = (d: number) => DocumentId.fromBson(new Double(d))
    const decimal = (text: string) => DocumentId.fromBson(Decimal128.fromString(text))
    for (const [d, text] of [[2.5, "2.50"], [0.75, "75E-2"], [1e20, "1E20"], [-3.125, "-3.125"], [2 ** 70, "1180591620717411303424"], [2 ** -10, "0.0009765625"]] as const) {
      expect(double(d), `${d} and ${text}`).toBe(decimal(text))
    }
    // no Decimal128 holds these Doubles: 0.1 is 0.1000000000000000055511151231257827..., 1.5e300 has hundreds of digits
    expect(double(0.1)).not.toBe(decimal("0.1"))
    expect(double(1.5e300)).not.toBe(decimal("1.5E300"))
    expect(new Set([double(0.1), double(0.2), double(1.5e300), double(-1.5e300), double(5e-324)]).size).toBe(5)
    // NaN and the infinities are ids of their own, not null's (as a JS number JSON would print them so)
    expect(new Set([DocumentId.fromJson(NaN), DocumentId.fromJson(Infinity), DocumentId.fromJson(-Infinity), DocumentId.fromJson(null)]).size).toBe(4)
    expect(DocumentId.fromJson(NaN)).toBe(DocumentId.fromBson(new Double(NaN)))
    // dyadic fractions k / 2^j are held exactly: k * 5^j / 10^j, written out with its decimal point
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.integer({ min: 1, max: 30 }), (k, j) => {
        const scaled = (k < 0 ? -BigInt(k) : BigInt(k)) * 5n ** BigInt(j)
        const text = `${k < 0 ? "-" : ""}${scaled.toString().padStart(j + 1, "0").replace(new RegExp(`(\\d{${j}})$`), ".$1")}`
        expect(double(k / 2 ** j)).toBe(decimal(text))
      })
    )
  })

  it("folds a document whose _id a replacement turned from a Double into the equal Decimal128 as one document", async () => {
    const totals = Pipeline.make("id_types", {
      schema: Schema.Struct({ c: Schema.String, n: Schema.Int }),
      key: (d) => d.c,
      value: (d) => d.n,
      monoid: Monoid.sum
    })
    const source = Source.fromStream("id-types", Stream.make(
      Source.upsert(new Double(2.5), { c: "a", n: 100 }),
      Source.upsert(Decimal128.fromString("2.5"), { c: "a", n: 120 }), // replaceOne({_id: 2.5}, {_id: NumberDecimal("2.5"), ...})
      Source.remove(Decimal128.fromString("2.50"))
    ))
    const all = await Effect.runPromise(
      Effect.andThen(Fold.run(source, [totals]), Aggregates.use((a) => a.all(totals))).pipe(Effect.provide(Memory.layer()))
    )
    expect(Object.fromEntries([...all].filter(([, v]) => v !== 0))).toEqual({})
  })

  it("keeps a field named __proto__ in an _id and in a document", () => {
    const ids = [JSON.parse(`{"__proto__": 1}`), JSON.parse(`{"__proto__": 2}`), {}, JSON.parse(`{"a": {"__proto__": 1}}`), { a: {} }]
    expect(new Set(ids.map(DocumentId.fromBson)).size).toBe(ids.length)
    const doc = ExtendedJson.fromBson(JSON.parse(`{"_id": 1, "__proto__": {"customer_id": "GHOST"}, "amount": 5}`)) as Record<string, unknown>
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype)
    expect(doc.customer_id).toBeUndefined()
    expect(Object.keys(doc)).toEqual(["_id", "__proto__", "amount"])
    expect(JSON.stringify(doc)).toBe(`{"_id":1,"__proto__":{"customer_id":"GHOST"},"amount":5}`)
    // a staged document comes back with the field, not as a prototype
    const staged = decodeStaged(JSON.parse(JSON.stringify(encodeStaged(doc)))) as Record<string, unknown>
    expect(Object.getPrototypeOf(staged)).toBe(Object.prototype)
    expect(JSON.stringify(staged)).toBe(JSON.stringify(doc))
  })
})

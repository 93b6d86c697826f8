/**
 * `ExtendedJson.parse` reads the common wrappers (`$oid`, short `$numberInt` / `$numberLong`) in
 * place instead of through EJSON's reviver. It must give exactly what EJSON followed by
 * `fromBson` gives, for every text that holds a `"$`: the same value (`-0` and `0` told apart),
 * or an error where EJSON throws, with one deliberate difference: an integer literal past 2^53
 * (relaxed Extended JSON's Int64) is read exactly from its digits, where EJSON rounds it, and the
 * v1 ("strict", Debezium's default "legacy") forms EJSON refuses are read (see the last tests).
 * No server needed.
 */
import { EJSON, Long } from "bson"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ExtendedJson from "../../src/ExtendedJson.ts"

const viaEjson = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: ExtendedJson.fromBson(EJSON.parse(text, { relaxed: false })) }
  } catch {
    return { ok: false }
  }
}

const viaParse = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: ExtendedJson.parse(text) }
  } catch {
    return { ok: false }
  }
}

const hex = fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: 23, maxLength: 25 })
const digits = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom("-0", "0", "007", "-000", "999999999", "-999999999", "1000000000", "2147483647", "-2147483648",
    "2147483648", "999999999999999", "9007199254740991", "9007199254740993", "-9223372036854775808",
    "9223372036854775808", "12a", "", "1.5", "+3", "1e3"),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String)
)
const plainNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 2 ** 70, 1e21, 0.1, 2 ** 53 + 0.5)
).filter((n) => Number.isSafeInteger(n) || !Number.isInteger(n) || Math.abs(n) >= 2 ** 63)
const wrapper = fc.oneof(
  hex.map(($oid) => ({ $oid })),
  fc.constant({ $oid: "not an object id" }),
  fc.constant({ $oid: null }),
  digits.map(($numberInt) => ({ $numberInt })),
  digits.map(($numberLong) => ({ $numberLong })),
  fc.constantFrom("1.5", "-0", "Infinity", "NaN", "-Infinity", "1e400").map(($numberDouble) => ({ $numberDouble })),
  fc.constantFrom("1.10", "-0.0", "NaN").map(($numberDecimal) => ({ $numberDecimal })),
  fc.constantFrom({ $date: { $numberLong: "1700000000000" } }, { $date: "2023-11-14T22:13:20Z" }),
  fc.constant({ $oid: "65a1b2c3d4e5f60718293a4b", extra: 1 }),
  fc.constant({ $numberInt: 5 }),
  fc.constant({ $foo: 1 }),
  fc.constant({ $undefined: true }),
  fc.constant({ $ref: "c", $id: 1 })
)
const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("a\u0000b", "__proto__", "amount", "_id", "$x"))
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 5 }), fc.boolean(), fc.constant(null), plainNumber),
    wrapper,
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(key, tie("node"), { maxKeys: 4 })
  )
})).node

/** JSON text with a `"$` somewhere: an `_id` wrapper around an arbitrary body. */
const text = fc.tuple(wrapper, value).map(([_id, body]) => JSON.stringify({ _id, body }))

describe("ExtendedJson.parse", () => {
  it("gives what EJSON gives, for any text with a wrapper in it", () => {
    fc.assert(
      fc.property(text, (t) => {
        const fast = viaParse(t)
        const slow = viaEjson(t)
        expect(fast.ok).toBe(slow.ok)
        if (fast.ok && slow.ok) expect(fast.value).toStrictEqual(slow.value)
      }),
      { numRuns: 3000, seed: 20261130 }
    )
  })

  it("reads the forms of a Debezium `after` without EJSON, exactly", () => {
    const after = "{\"_id\": {\"$oid\": \"65A1B2C3D4E5F60718293A4B\"}, \"customer_id\": \"c-1\", \"amount\": {\"$numberInt\": \"-0\"}, \"l\": {\"$numberLong\": \"-4200\"}, \"n\": {\"$numberInt\": \"-17\"}, \"big\": {\"$numberLong\": \"9007199254740993\"}}"
    const value = ExtendedJson.parse(after)
    expect(value).toStrictEqual({
      _id: { $oid: "65a1b2c3d4e5f60718293a4b" },
      customer_id: "c-1",
      amount: 0,
      l: -4200,
      n: -17,
      big: { $numberLong: "9007199254740993" }
    })
    expect(Object.is((value as { amount: number }).amount, 0)).toBe(true)
  })

  it("reads an integer literal past 2^53 exactly, where EJSON and JSON.parse round it", () => {
    const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
      .filter((n) => n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))
    fc.assert(
      fc.property(int64, fc.boolean(), (n, withWrapper) => {
        const t = withWrapper ? `{"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "n": ${n}, "a": [${n}]}` : `{"n": ${n}, "a": [${n}]}`
        const value = ExtendedJson.parse(t) as { n: unknown; a: Array<unknown> }
        expect(value.n).toStrictEqual({ $numberLong: n.toString() })
        expect(value.a).toStrictEqual([{ $numberLong: n.toString() }])
      }),
      { numRuns: 500, seed: 20261204 }
    )
    // past Int64 it can only be a Double, and stays one
    expect(ExtendedJson.parse(`{"n": 123456789012345678901234}`)).toStrictEqual({ n: 123456789012345678901234 })
    // with a fraction or an exponent it is a Double too
    expect(ExtendedJson.parse(`{"n": 9007199254740993.0, "m": 9.007199254740993E15}`)).toStrictEqual({ n: 9007199254740992, m: 9007199254740992 })
  })

  it("parseJson gives what JSON.parse with a source-text reviver gives, on any JSON with long digit runs anywhere", () => {
    // the reference: every integer-valued number beyond 2^53 whose literal is an integer, read
    // from its source text by JSON.parse's reviver (ES2025 source text access)
    const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const
    const reference = (t: string): unknown =>
      JSON.parse(t, ((_k: string, v: unknown, ctx?: { source?: string }) => {
        if (typeof v !== "number" || Number.isSafeInteger(v) || !Number.isInteger(v)) return v
        const src = ctx?.source
        if (src === undefined || !/^-?[0-9]+$/.test(src)) return v
        const exact = BigInt(src)
        return exact >= INT64[0] && exact <= INT64[1] ? { $numberLong: exact.toString() } : v
      }) as (k: string, v: unknown) => unknown)
    const longInt = fc.bigInt({ min: -(2n ** 66n), max: 2n ** 66n }).map(String)
    const literal = fc.oneof(
      longInt,
      fc.integer().map(String),
      fc.tuple(longInt, fc.constantFrom(".0", ".5", "e3", "E-2", "e+1", ".25e2")).map(([a, b]) => a + b),
      fc.constantFrom("9007199254740993", "-9007199254740993", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "1796399332000000000", "1796399332000000", "0", "-0")
    )
    // strings holding digit runs, quotes and backslashes (escaped as JSON writes them)
    const str = fc.string({ unit: fc.constantFrom("1", "2", "9", "0", "-", "\"", "\\", "a", " ", ":", ",") , maxLength: 40 }).map((x) => JSON.stringify(x))
    const node: fc.Arbitrary<string> = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        literal,
        str,
        fc.constantFrom("true", "null", "false"),
        fc.array(tie("node") as fc.Arbitrary<string>, { maxLength: 4 }).map((xs) => `[${xs.join(",")}]`),
        fc.array(fc.tuple(str, tie("node") as fc.Arbitrary<string>), { maxLength: 4 })
          .map((kv) => `{${kv.map(([k, v]) => `${k}:${v}`).join(", ")}}`)
      )
    })).node
    fc.assert(
      fc.property(node, fc.constantFrom("", " ", "\n"), (t, pad) => {
        const text = pad + t + pad
        expect(ExtendedJson.parseJson(text)).toStrictEqual(reference(text))
      }),
      { numRuns: 3000, seed: 20261206 }
    )
    // a real Debezium envelope: ts_ns is past 2^53 and kept exact; the strings are untouched
    const envelope = `{"after":"{\\"big\\": 9007199254740993}","source":{"ts_ms":1796399332000,"ts_us":1796399332000000,"ts_ns":1796399332000000000},"op":"c"}`
    expect(ExtendedJson.parseJson(envelope)).toStrictEqual({
      after: "{\"big\": 9007199254740993}",
      source: { ts_ms: 1796399332000, ts_us: 1796399332000000, ts_ns: { $numberLong: "1796399332000000000" } },
      op: "c"
    })
  })

  it("writes relaxed Extended JSON as the Java driver does: an Int64 as its exact literal", () => {
    const doc = { _id: Long.fromString("9007199254740993"), small: Long.fromString("42"), n: 1.5, d: new Date(0), s: "x\"y" }
    const text = ExtendedJson.stringifyRelaxed(doc)
    expect(text).toBe(`{"_id":9007199254740993,"small":42,"n":1.5,"d":{"$date":"1970-01-01T00:00:00Z"},"s":"x\\"y"}`)
    expect(ExtendedJson.parse(text)).toStrictEqual({ _id: { $numberLong: "9007199254740993" }, small: 42, n: 1.5, d: { $date: { $numberLong: "0" } }, s: "x\"y" })
  })

  it("reads the v1 forms MongoDB's Java driver writes in strict mode (Debezium's legacy serialization)", () => {
    // each as the driver writes it (test/support/debezium/NOTES.md), next to its canonical v2 form
    const v1 = `{"bin": {"$binary": "AQID","$type": "00"}, "uuid": {"$binary": "Txptfis8TV6PkKGyw9Tl9g==","$type": "04"}, ` +
      `"user": {"$binary": "eA==","$type": "8A"}, "date": {"$date": 1704067200000}, "old": {"$date": -5}, "small": {"$date": 17}, ` +
      `"re": {"$regex": "a+","$options": "i"}, "ts": {"$timestamp": {"t": 5,"i": 7}}, "long": {"$numberLong": "6"}, ` +
      `"nan": NaN, "inf": [Infinity,-Infinity], "text": "NaN and Infinity in a string", "dbl": 2.0, "big": 1.0E21}`
    expect(ExtendedJson.parse(v1)).toStrictEqual({
      bin: { $binary: { base64: "AQID", subType: "00" } },
      uuid: { $binary: { base64: "Txptfis8TV6PkKGyw9Tl9g==", subType: "04" } },
      user: { $binary: { base64: "eA==", subType: "8a" } },
      date: { $date: { $numberLong: "1704067200000" } },
      old: { $date: { $numberLong: "-5" } },
      small: { $date: { $numberLong: "17" } },
      re: { $regularExpression: { pattern: "a+", options: "i" } },
      ts: { $timestamp: { t: 5, i: 7 } },
      long: 6,
      nan: { $numberDouble: "NaN" },
      inf: [{ $numberDouble: "Infinity" }, { $numberDouble: "-Infinity" }],
      text: "NaN and Infinity in a string",
      dbl: 2,
      big: 1e21
    })
    // the same values in canonical v2 and relaxed v2 read to the same exact JSON
    const v2 = EJSON.stringify(EJSON.parse(`{"bin": {"$binary": {"base64": "AQID", "subType": "00"}}, "date": {"$date": {"$numberLong": "-5"}}}`), { relaxed: false })
    expect(ExtendedJson.parse(v2)).toStrictEqual({ bin: { $binary: { base64: "AQID", subType: "00" } }, date: { $date: { $numberLong: "-5" } } })
    expect(ExtendedJson.parse(`{"u": {"$uuid": "4f1a6d7e-2b3c-4d5e-8f90-a1b2c3d4e5f6"}}`)).toStrictEqual({
      u: { $binary: { base64: "Txptfis8TV6PkKGyw9Tl9g==", subType: "04" } }
    })
  })

  it("refuses what EJSON refuses, and reads plain JSON as JSON", () => {
    expect(() => ExtendedJson.parse("{\"_id\": {\"$oid\": \"xyz\"}}")).toThrow()
    expect(() => ExtendedJson.parse("{\"a\\u0000b\": 1, \"_id\": {\"$oid\": \"65a1b2c3d4e5f60718293a4b\"}}")).toThrow()
    expect(() => ExtendedJson.parse("{\"$oid\"")).toThrow(SyntaxError)
    expect(ExtendedJson.parse("{\"amount\": 12, \"tags\": [1, \"x\"]}")).toStrictEqual({ amount: 12, tags: [1, "x"] })
  })
})

/**
 * BSON values written as the MongoDB Java driver's `org.bson.json.JsonWriter` writes them, in the
 * three output modes Debezium's MongoDB connector uses (`JsonMode.STRICT`, `EXTENDED`, `RELAXED`)
 * and the two layouts it uses (see NOTES.md, "Serialization").
 *
 * Why not `EJSON.stringify` from the `bson` package: the texts differ in ways a byte-exact fixture
 * cannot ignore, in every mode:
 * - layout: the Java writer puts `": "` after every name; Debezium's settings (`indent(true)` with
 *   empty indent and newline strings) give `{"a": 1,"b": 2}`, `BsonDocument.toJson()` gives
 *   `{"a": 1, "b": 2}`; `JSON.stringify` gives neither;
 * - doubles are `Double.toString`: `1.0`, `1.0E21` (`1.0E+21` from driver 5.7 on), `NaN` bare in
 *   STRICT mode; bson writes `1`, `1e+21`;
 * - relaxed dates are `java.time` ISO instants without a zero fraction (`2024-01-01T00:00:00Z`);
 *   bson always writes milliseconds (`.000Z`);
 * - relaxed Int64 is written with all its digits (`9007199254740993`); bson goes through a JS
 *   number and rounds;
 * - STRICT (v1) forms (`{"$date": <millis>}`, `{"$binary": ..., "$type": "04"}`, `$regex`/`$options`)
 *   are bson's `legacy` option only in part, and binary subtypes are upper-case hex here;
 * - strings escape every character whose Java general category is not a letter, digit, punctuation,
 *   symbol or space separator as `\uXXXX` with lower-case hex (combining marks, format characters,
 *   surrogates, U+2028), which `JSON.stringify` leaves alone.
 *
 * Sources read (mongodb/mongo-java-driver, tags r4.11.0 and r5.9.2, identical except where noted):
 * `bson/src/main/org/bson/json/JsonWriterSettings.java` (which converter each mode uses),
 * `StrictCharacterStreamJsonWriter.java` (layout and string escaping), the `*Converter.java` classes
 * (each type's form), `JsonWriter.java` (DBPointer, code with scope), `DateTimeFormatter.java`
 * (relaxed dates), `JsonDoubleHelper.java` (added in r5.7.0: `E+` exponents).
 */
import type { Document } from "./Bson.ts"
import { bsonTypeOf, documentEntries } from "./Bson.ts"

/** `org.bson.json.JsonMode` values Debezium uses. */
export type JavaJsonMode = "strict" | "extended" | "relaxed"

/**
 * `compact`: `JsonWriterSettings.builder().indent(true).indentCharacters("").newLineCharacters("")`,
 * Debezium's `JsonSerialization` settings (`{"a": 1,"b": [1,2]}`).
 * `default`: no indent, what `BsonDocument.toJson()` writes (`{"a": 1, "b": [1, 2]}`).
 */
export type JavaJsonLayout = "compact" | "default"

export interface JavaJsonOptions {
  readonly mode: JavaJsonMode
  readonly layout: JavaJsonLayout
  /**
   * Driver 5.7+ (`JsonDoubleHelper`) writes positive exponents as `E+21`; older drivers `E21`.
   * Debezium 2.7-3.6 ship drivers 4.11-5.6 (false); the 3.7 development line ships 5.9.2 (true).
   */
  readonly exponentPlus: boolean
}

// ---------------------------------------------------------------------------------------------
// Java number and date formatting

/**
 * `java.lang.Double.toString` as JDK 19+ writes it (shortest digits that read back the same, at
 * least two significant digits when one would do, `1.0E-4` / `1.0E7` outside [1e-3, 1e7)). JDK 17
 * and older used another algorithm that writes a longer digit string for a few values (JDK-4511638);
 * see NOTES.md.
 */
export const javaDoubleToString = (d: number, exponentPlus = false): string => {
  if (Number.isNaN(d)) return "NaN"
  if (d === Infinity) return "Infinity"
  if (d === -Infinity) return "-Infinity"
  if (d === 0) return Object.is(d, -0) ? "-0.0" : "0.0"
  const sign = d < 0 ? "-" : ""
  const abs = Math.abs(d)
  let [mantissa, expText] = abs.toExponential().split("e") as [string, string]
  let digits = mantissa.replace(".", "")
  if (digits.length === 1) {
    // Java keeps two digits when the closest two-digit decimal also reads back as the value
    // (2^-1074 is 4.9E-324 in Java, 5e-324 in JavaScript)
    const two = abs.toExponential(1)
    if (Number(two) === abs) {
      const [m2, e2] = two.split("e") as [string, string]
      mantissa = m2
      expText = e2
      digits = m2.replace(".", "").replace(/0$/, "")
    }
  }
  const exp = Number(expText)
  if (abs >= 1e-3 && abs < 1e7) {
    // plain decimal: digits d1 d2 ... with the point after position exp+1
    if (exp >= 0) {
      const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0")
      const frac = digits.slice(exp + 1)
      return `${sign}${intPart}.${frac === "" ? "0" : frac}`
    }
    return `${sign}0.${"0".repeat(-exp - 1)}${digits}`
  }
  const frac = digits.slice(1)
  const e = exp >= 0 && exponentPlus ? `+${exp}` : String(exp)
  return `${sign}${digits[0]}.${frac === "" ? "0" : frac}E${e}`
}

/**
 * `ZonedDateTime.ofInstant(Instant.ofEpochMilli(ms), ZoneId.of("Z")).format(ISO_OFFSET_DATE_TIME)`
 * for 0 <= ms <= 253402300799999 (the only range the relaxed writer uses it for): seconds always,
 * the fraction only when not zero and without trailing zeros, `Z` for UTC.
 */
export const javaIsoInstant = (ms: number): string => {
  const iso = new Date(ms).toISOString() // yyyy-mm-ddThh:mm:ss.SSSZ for this range
  const base = iso.slice(0, 19)
  const millis = iso.slice(20, 23).replace(/0+$/, "")
  return millis === "" ? `${base}Z` : `${base}.${millis}Z`
}

// Java's Character.getType categories that StrictCharacterStreamJsonWriter writes unescaped
const javaPrintable =
  /^[\p{Lu}\p{Ll}\p{Lt}\p{Lo}\p{Nd}\p{Nl}\p{No}\p{Zs}\p{Pc}\p{Pd}\p{Ps}\p{Pe}\p{Pi}\p{Pf}\p{Po}\p{Sm}\p{Sc}\p{Sk}\p{So}]$/u

/** A string as `StrictCharacterStreamJsonWriter.writeStringHelper` quotes it (per UTF-16 unit). */
export const javaQuote = (s: string): string => {
  let out = "\""
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k)
    const ch = s[k]!
    switch (ch) {
      case "\"":
        out += "\\\""
        continue
      case "\\":
        out += "\\\\"
        continue
      case "\b":
        out += "\\b"
        continue
      case "\f":
        out += "\\f"
        continue
      case "\n":
        out += "\\n"
        continue
      case "\r":
        out += "\\r"
        continue
      case "\t":
        out += "\\t"
        continue
    }
    const surrogate = c >= 0xd800 && c <= 0xdfff
    if (!surrogate && javaPrintable.test(ch)) out += ch
    else out += `\\u${c.toString(16).padStart(4, "0")}`
  }
  return out + "\""
}

// ---------------------------------------------------------------------------------------------
// The writer

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64")
const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, "0")

/** `{` name: value, ... `}` with the layout's separators. */
const object = (entries: ReadonlyArray<readonly [string, string]>, o: JavaJsonOptions): string => {
  const sep = o.layout === "compact" ? "," : ", "
  return `{${entries.map(([k, v]) => `${javaQuote(k)}: ${v}`).join(sep)}}`
}

const array = (items: ReadonlyArray<string>, o: JavaJsonOptions): string =>
  `[${items.join(o.layout === "compact" ? "," : ", ")}]`

/** One BSON value as the Java `JsonWriter` writes it. */
export const writeValue = (v: unknown, o: JavaJsonOptions): string => {
  const t = bsonTypeOf(v)
  switch (t.type) {
    case "null":
      return "null"
    case "boolean":
      return t.value ? "true" : "false"
    case "string":
      return javaQuote(t.value)
    case "int32":
      return o.mode === "extended" ? object([["$numberInt", javaQuote(String(t.value))]], o) : String(t.value)
    case "int64":
      return o.mode === "relaxed" ? t.value.toString() : object([["$numberLong", javaQuote(t.value.toString())]], o)
    case "double": {
      const text = javaDoubleToString(t.value, o.exponentPlus)
      if (o.mode === "strict") return text // NaN and Infinity bare: not JSON
      if (o.mode === "relaxed" && Number.isFinite(t.value)) return text
      return object([["$numberDouble", javaQuote(text)]], o)
    }
    case "decimal128":
      return object([["$numberDecimal", javaQuote(t.value)]], o)
    case "objectId":
      return object([["$oid", javaQuote(t.value)]], o)
    case "date": {
      const ms = t.value
      if (o.mode === "strict") return object([["$date", String(ms)]], o)
      if (o.mode === "relaxed" && ms >= 0 && ms <= 253402300799999) return object([["$date", javaQuote(javaIsoInstant(ms))]], o)
      return object([["$date", object([["$numberLong", javaQuote(String(ms))]], o)]], o)
    }
    case "binary":
      return o.mode === "strict"
        ? object([["$binary", javaQuote(base64(t.bytes))], ["$type", javaQuote(hex2(t.subType))]], o)
        : object([["$binary", object([["base64", javaQuote(base64(t.bytes))], ["subType", javaQuote(hex2(t.subType))]], o)]], o)
    case "regex":
      return o.mode === "strict"
        ? object([["$regex", javaQuote(t.pattern)], ["$options", javaQuote(t.options)]], o)
        : object([["$regularExpression", object([["pattern", javaQuote(t.pattern)], ["options", javaQuote(t.options)]], o)]], o)
    case "timestamp":
      return object([["$timestamp", object([["t", String(t.t)], ["i", String(t.i)]], o)]], o)
    case "javascript":
      return object([["$code", javaQuote(t.code)]], o)
    case "javascriptWithScope":
      return object([["$code", javaQuote(t.code)], ["$scope", writeDocument(t.scope, o)]], o)
    case "symbol":
      return object([["$symbol", javaQuote(t.value)]], o)
    case "minKey":
      return object([["$minKey", "1"]], o)
    case "maxKey":
      return object([["$maxKey", "1"]], o)
    case "undefined":
      return object([["$undefined", "true"]], o)
    case "array":
      return array(t.items.map((x) => writeValue(x, o)), o)
    case "document":
      return writeDocument(t.doc, o)
  }
}

/** A document as `BsonDocument.toJson(settings)` writes it. */
export const writeDocument = (doc: Document, o: JavaJsonOptions): string =>
  object(documentEntries(doc).map(([k, v]) => [k, writeValue(v, o)] as const), o)

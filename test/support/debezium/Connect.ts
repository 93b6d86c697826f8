/**
 * Kafka Connect schemas and structs, and the text `org.apache.kafka.connect.json.JsonConverter`
 * writes for them (Jackson's compact output).
 *
 * Sources read (apache/kafka, `connect/json/src/main/java/org/apache/kafka/connect/json/`):
 * - `JsonConverter.asJsonSchema`: `type`, then `fields` (struct) or `items` (array), then
 *   `optional`, `name`, `version`, `doc`, `parameters`, `default`; a struct field's schema gets its
 *   `field` name appended last;
 * - `JsonConverter.convertToJson`: struct fields in schema order, every field written (null as
 *   `null`); a null whose schema has a default writes the default (`replace.null.with.default`,
 *   true by default); `org.apache.kafka.connect.data.Timestamp` as epoch milliseconds; bytes as
 *   base64;
 * - `fromConnectData`: `{"schema": ..., "payload": ...}` when `schemas.enable` (the default), the
 *   bare payload otherwise; a null value with a null schema (a tombstone) is a null record value.
 * Jackson writes no whitespace, escapes `"`, `\` and control characters (`\b \t \n \f \r`, others
 * as `\u00XX` with upper-case hex) and leaves everything else, non-ASCII included, as it is.
 */
import { javaDoubleToString } from "./JavaJson.ts"

export type ConnectType = "struct" | "string" | "int32" | "int64" | "boolean" | "float64" | "bytes" | "array"

export interface ConnectSchema {
  readonly type: ConnectType
  readonly optional: boolean
  readonly name?: string
  readonly version?: number
  readonly parameters?: ReadonlyArray<readonly [string, string]>
  readonly default?: ConnectValue
  readonly fields?: ReadonlyArray<ConnectField>
  readonly items?: ConnectSchema
}

export interface ConnectField {
  readonly name: string
  readonly schema: ConnectSchema
}

/** int64 values are bigint or integral numbers; float64 values numbers; bytes Uint8Array. */
export type ConnectValue =
  | null
  | string
  | boolean
  | number
  | bigint
  | Uint8Array
  | ReadonlyArray<ConnectValue>
  | ConnectStruct

export interface ConnectStruct {
  readonly [field: string]: ConnectValue | undefined
}

export const TIMESTAMP_LOGICAL = "org.apache.kafka.connect.data.Timestamp"

// schema builders (Schema.STRING_SCHEMA, OPTIONAL_STRING_SCHEMA, ...)
export const string = (optional: boolean): ConnectSchema => ({ type: "string", optional })
export const int32 = (optional: boolean): ConnectSchema => ({ type: "int32", optional })
export const int64 = (optional: boolean): ConnectSchema => ({ type: "int64", optional })
export const float64 = (optional: boolean): ConnectSchema => ({ type: "float64", optional })
export const boolean = (optional: boolean): ConnectSchema => ({ type: "boolean", optional })
export const bytes = (optional: boolean): ConnectSchema => ({ type: "bytes", optional })
export const arrayOf = (items: ConnectSchema, optional: boolean): ConnectSchema => ({ type: "array", items, optional })
export const struct = (
  fields: ReadonlyArray<ConnectField>,
  options: { readonly optional: boolean; readonly name?: string | undefined; readonly version?: number | undefined }
): ConnectSchema => ({
  type: "struct",
  fields,
  optional: options.optional,
  ...(options.name === undefined ? {} : { name: options.name }),
  ...(options.version === undefined ? {} : { version: options.version })
})
export const field = (name: string, schema: ConnectSchema): ConnectField => ({ name, schema })

// ---------------------------------------------------------------------------------------------
// Jackson text

/** A string as Jackson writes it. */
export const jacksonQuote = (s: string): string => {
  let out = "\""
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k)
    if (c === 0x22) out += "\\\""
    else if (c === 0x5c) out += "\\\\"
    else if (c < 0x20) {
      switch (c) {
        case 0x08:
          out += "\\b"
          break
        case 0x09:
          out += "\\t"
          break
        case 0x0a:
          out += "\\n"
          break
        case 0x0c:
          out += "\\f"
          break
        case 0x0d:
          out += "\\r"
          break
        default:
          out += `\\u00${c.toString(16).toUpperCase().padStart(2, "0")}`
      }
    } else out += s[k]
  }
  return out + "\""
}

/** A double as Jackson writes it (`Double.toString`; NaN and infinities as strings). */
const jacksonDouble = (d: number): string => (Number.isFinite(d) ? javaDoubleToString(d) : jacksonQuote(javaDoubleToString(d)))

const integerText = (v: ConnectValue, type: string): string => {
  if (typeof v === "bigint") return v.toString()
  if (typeof v === "number" && Number.isInteger(v)) return String(v)
  throw new TypeError(`not an ${type}: ${String(v)}`)
}

/** `JsonConverter.asJsonSchema` as text. */
export const schemaJson = (s: ConnectSchema): string => {
  const parts: Array<string> = [`"type":${jacksonQuote(s.type)}`]
  if (s.type === "struct") parts.push(`"fields":[${(s.fields ?? []).map(fieldSchemaJson).join(",")}]`)
  if (s.type === "array") parts.push(`"items":${schemaJson(s.items!)}`)
  parts.push(`"optional":${s.optional}`)
  if (s.name !== undefined) parts.push(`"name":${jacksonQuote(s.name)}`)
  if (s.version !== undefined) parts.push(`"version":${s.version}`)
  if (s.parameters !== undefined) {
    parts.push(`"parameters":{${s.parameters.map(([k, v]) => `${jacksonQuote(k)}:${jacksonQuote(v)}`).join(",")}}`)
  }
  if (s.default !== undefined) parts.push(`"default":${valueJson(s, s.default)}`)
  return `{${parts.join(",")}}`
}

const fieldSchemaJson = (f: ConnectField): string => {
  const inner = schemaJson(f.schema)
  return `${inner.slice(0, -1)},"field":${jacksonQuote(f.name)}}`
}

/** `JsonConverter.convertToJson` as text. */
export const valueJson = (s: ConnectSchema, v: ConnectValue | undefined): string => {
  if (v === null || v === undefined) {
    if (s.default !== undefined && s.default !== null) return valueJson(s, s.default)
    if (s.optional) return "null"
    throw new TypeError(`null for a required ${s.type} (${s.name ?? "unnamed"})`)
  }
  if (s.name === TIMESTAMP_LOGICAL) return integerText(v, "epoch millisecond")
  switch (s.type) {
    case "string":
      if (typeof v !== "string") throw new TypeError(`not a string: ${String(v)}`)
      return jacksonQuote(v)
    case "int32":
    case "int64":
      return integerText(v, s.type)
    case "float64":
      if (typeof v !== "number") throw new TypeError(`not a float64: ${String(v)}`)
      return jacksonDouble(v)
    case "boolean":
      if (typeof v !== "boolean") throw new TypeError(`not a boolean: ${String(v)}`)
      return v ? "true" : "false"
    case "bytes":
      if (!(v instanceof Uint8Array)) throw new TypeError("not bytes")
      return jacksonQuote(Buffer.from(v).toString("base64"))
    case "array":
      if (!Array.isArray(v)) throw new TypeError("not an array")
      return `[${(v as ReadonlyArray<ConnectValue>).map((x) => valueJson(s.items!, x)).join(",")}]`
    case "struct": {
      const st = v as ConnectStruct
      return `{${(s.fields ?? []).map((f) => `${jacksonQuote(f.name)}:${valueJson(f.schema, st[f.name])}`).join(",")}}`
    }
  }
}

/** What `JsonConverter.fromConnectData` writes: `{"schema":...,"payload":...}` or the bare payload. */
export const converterJson = (s: ConnectSchema, v: ConnectValue, schemasEnable: boolean): string =>
  schemasEnable ? `{"schema":${schemaJson(s)},"payload":${valueJson(s, v)}}` : valueJson(s, v)

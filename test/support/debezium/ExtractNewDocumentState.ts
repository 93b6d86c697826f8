/**
 * The records Debezium's MongoDB `ExtractNewDocumentState` SMT
 * (`io.debezium.connector.mongodb.transforms.ExtractNewDocumentState`) makes of a connector's
 * records, converted by `JsonConverter`.
 *
 * Read in debezium-connector-mongodb `transforms/ExtractNewDocumentState.java` and
 * `MongoDataConverter.java`, debezium-connect-plugins (debezium-core before 3.5)
 * `transforms/AbstractExtractNewRecordState.java`, `ExtractNewRecordStateConfigDefinition.java`,
 * `extractnewstate/DefaultDeleteHandlingStrategy.java` (and `LegacyDeleteHandlingStrategy.java`,
 * removed in 3.2); tags v2.7.0.Final, v3.6.0.Final and commit aad5519902.
 *
 * Modelled: scalar fields of every BSON type the converter maps, nested documents, arrays of one
 * scalar type, `add.fields`, and each `delete.tombstone.handling.mode`. Not modelled (the function
 * throws): arrays of documents or of arrays, `array.encoding=document`, `flatten.struct`,
 * `add.headers`, code with scope, symbols, min/max keys, empty nested documents.
 */
import { Int32 } from "bson"
import type { BsonTyped, Document } from "./Bson.ts"
import { bsonTypeOf, documentEntries } from "./Bson.ts"
import * as C from "./Connect.ts"
import type { ChangeEvent, KafkaRecord } from "./Records.ts"
import { envelopeDocuments, envelopeValue, idOf, records, schemaTopicOf, valueSchema } from "./Records.ts"
import { features } from "./Versions.ts"

/** `delete.tombstone.handling.mode` (`ExtractNewRecordStateConfigDefinition.DeleteTombstoneHandling`). */
export type DeleteTombstoneHandling = "drop" | "tombstone" | "rewrite" | "rewrite-with-tombstone" | "delete-to-tombstone"

export interface ExtractNewDocumentStateConfig {
  /**
   * `delete.tombstone.handling.mode`. Default: "tombstone" from 3.2; up to 3.1 an SMT configured
   * with neither option falls back to the deprecated pair `delete.handling.mode=drop` +
   * `drop.tombstones=true`, which is "drop" here. The deprecated options map as: `rewrite` =
   * "rewrite" (or "rewrite-with-tombstone" with `drop.tombstones=false`), `none` = "tombstone",
   * `drop` = "drop". "delete-to-tombstone" exists from 3.2.
   */
  readonly deleteHandling?: DeleteTombstoneHandling
  /** `add.fields`, e.g. "op,source.ts_ms,source.ord" (written `__op`, `__source_ts_ms`, `__source_ord`). */
  readonly addFields?: string
  /** `add.fields.prefix`; default "__". */
  readonly addFieldsPrefix?: string
  /** `delete.tombstone.handling.mode.rewrite-with-id` (3.x): a rewritten delete without a pre-image gets `_id` from the key. */
  readonly rewriteWithId?: boolean
}

// ---------------------------------------------------------------------------------------------
// what Java's BsonDocument.parse gives back from Debezium's JSON text

/**
 * The text Debezium wrote is parsed again by `BsonDocument.parse` (JsonReader): an Int64 written as
 * a bare number (relaxed mode) comes back as Int32 when it fits; every other type comes back as it was.
 */
const reread = (v: unknown, bareInt64: boolean): unknown => {
  const t = bsonTypeOf(v)
  if (t.type === "int64") return bareInt64 && t.value >= -2147483648n && t.value <= 2147483647n ? new Int32(Number(t.value)) : v
  if (t.type === "array") return t.items.map((x) => reread(x, bareInt64))
  if (t.type === "document") return new Map(documentEntries(t.doc).map(([k, x]) => [k, reread(x, bareInt64)] as const))
  return v
}

// ---------------------------------------------------------------------------------------------
// MongoDataConverter (array.encoding=array)

const TIMESTAMP_SCHEMA: C.ConnectSchema = { type: "int64", optional: true, name: C.TIMESTAMP_LOGICAL, version: 1 }
const REGEX_SCHEMA = C.struct([C.field("regex", C.string(true)), C.field("options", C.string(true))], {
  optional: true,
  name: "io.debezium.mongodb.regex"
})

const notModelled = (what: string): never => {
  throw new Error(`ExtractNewDocumentState fixture: ${what} is not modelled`)
}

/** `MongoDataConverter.getSchema` for an array element / scalar. */
const scalarSchema = (t: BsonTyped): C.ConnectSchema => {
  switch (t.type) {
    case "null":
    case "string":
    case "javascript":
    case "objectId":
    case "decimal128":
      return C.string(true)
    case "double":
      return C.float64(true)
    case "binary":
      return C.bytes(true)
    case "int32":
      return C.int32(true)
    case "int64":
      return C.int64(true)
    case "date":
    case "timestamp":
      return TIMESTAMP_SCHEMA
    case "boolean":
      return C.boolean(true)
    default:
      return notModelled(`a ${t.type} here`)
  }
}

/** `MongoDataConverter.getObject`. */
const scalarValue = (t: BsonTyped): C.ConnectValue => {
  switch (t.type) {
    case "null":
      return null
    case "string":
    case "objectId":
    case "decimal128":
      return t.value
    case "javascript":
      return t.code
    case "double":
    case "int32":
    case "int64":
    case "boolean":
      return t.value
    case "binary":
      return t.bytes
    case "date":
      return t.value
    case "timestamp":
      return t.t * 1000
    default:
      return notModelled(`a ${t.type} value`)
  }
}

interface Converted {
  readonly schema: C.ConnectSchema
  readonly value: C.ConnectValue
}

/** `MongoDataConverter.schema` + `buildStruct` for one field; `parentName` is the builder's name (Java's "null" when it has none). */
const convertField = (v: unknown, key: string, parentName: string): Converted | undefined => {
  const t = bsonTypeOf(v)
  switch (t.type) {
    case "undefined":
      return undefined // no schema field, and buildStruct skips it
    case "regex":
      return { schema: REGEX_SCHEMA, value: { regex: t.pattern, options: t.options } }
    case "document": {
      const entries = documentEntries(t.doc)
      if (entries.length === 0) return notModelled("an empty nested document")
      const inner = convertDocument(t.doc, `${parentName}.${key}`, true)
      return inner
    }
    case "array": {
      if (t.items.length === 0) return { schema: C.arrayOf(C.string(true), true), value: [] }
      const types = t.items.map(bsonTypeOf)
      if (types.some((x) => x.type === "document" || x.type === "array")) return notModelled("an array of documents or arrays")
      const schemas = types.map((x) => JSON.stringify(scalarSchema(x)))
      if (new Set(schemas).size > 1) throw new Error("Array elements with different Bson types are not supported (DebeziumException)")
      return { schema: C.arrayOf(scalarSchema(types[0]!), true), value: types.map(scalarValue) }
    }
    default:
      return { schema: scalarSchema(t), value: scalarValue(t) }
  }
}

const convertDocument = (doc: Document, name: string, optional: boolean): Converted => {
  const fields: Array<C.ConnectField> = []
  const value: Record<string, C.ConnectValue> = {}
  for (const [k, v] of documentEntries(doc)) {
    const c = convertField(v, k, name)
    if (c === undefined) continue
    if (fields.some((f) => f.name === k)) continue
    fields.push(C.field(k, c.schema))
    value[k] = c.value
  }
  return { schema: C.struct(fields, { optional, name }), value }
}

// ---------------------------------------------------------------------------------------------
// add.fields (AbstractExtractNewRecordState.FieldReference)

interface FieldReference {
  readonly struct: string | null
  readonly field: string
  readonly newField: string
}

const TRANSACTION_FIELDS = new Set(["id", "data_collection_order", "total_order"])
const TOP_LEVEL_FIELDS = new Set(["op", "ts_ms", "ts_us", "ts_ns"])

const fieldReferences = (prefix: string, spec: string | undefined): ReadonlyArray<FieldReference> => {
  if (spec === undefined || spec === "") return []
  return spec.split(",").map((raw) => raw.trim()).map((item) => {
    const parts = item.split(":")
    const splits = parts[0]!.split(".")
    const field = splits.length === 1 ? splits[0]! : splits[1]!
    const struct = splits.length === 1
      ? (TRANSACTION_FIELDS.has(field) ? "transaction" : TOP_LEVEL_FIELDS.has(field) ? null : field === "updateDescription" ? "updateDescription" : "source")
      : splits[0]!
    const newField = parts.length === 1 ? prefix + (splits.length === 1 ? field : `${struct}_${field}`) : prefix + parts[1]!
    return { struct, field, newField }
  })
}

// ---------------------------------------------------------------------------------------------

interface Envelope {
  readonly schema: C.ConnectSchema
  readonly value: C.ConnectStruct
}

const parentSchemaOf = (env: C.ConnectSchema, struct: string | null): C.ConnectSchema | undefined =>
  struct === null ? env : env.fields?.find((f) => f.name === struct)?.schema

const addFieldSchema = (env: Envelope, ref: FieldReference): C.ConnectSchema | undefined => {
  const parent = parentSchemaOf(env.schema, ref.struct)
  const found = parent?.fields?.find((f) => f.name === ref.field) ?? env.schema.fields?.find((f) => f.name === ref.field)
  if (found === undefined) return undefined
  // SchemaUtil.copySchemaBasics(...).optional(): type, name, version, parameters; no default
  const s = found.schema
  return {
    type: s.type,
    optional: true,
    ...(s.name === undefined ? {} : { name: s.name }),
    ...(s.version === undefined ? {} : { version: s.version }),
    ...(s.parameters === undefined ? {} : { parameters: s.parameters }),
    ...(s.fields === undefined ? {} : { fields: s.fields }),
    ...(s.items === undefined ? {} : { items: s.items })
  }
}

const addFieldValue = (env: Envelope, ref: FieldReference): C.ConnectValue => {
  const parent = ref.struct === null ? env.value : (env.value[ref.struct] as C.ConnectStruct | null | undefined)
  if (parent === null || parent === undefined) return null
  const parentSchema = parentSchemaOf(env.schema, ref.struct)
  const inParent = parentSchema?.fields?.some((f) => f.name === ref.field) ?? false
  return (inParent ? parent[ref.field] : env.value[ref.field]) ?? null // getWithoutDefault: no "false" for snapshot
}

/**
 * The records after `ExtractNewDocumentState` with `config`, for the records `records(event)` gives.
 * Follows `ExtractNewDocumentState.doApply` and `newRecord` (debezium-connector-mongodb, v2.7.0.Final
 * to aad5519902): the key becomes `{"id": <the _id, typed>}` (a struct without a name), the value the
 * document as a struct named after the topic (`<prefix>.<db>.<collection>`), typed by
 * `MongoDataConverter`, with `__deleted` and the `add.fields` after the document's fields. Headers
 * and topic are kept.
 */
export const extractNewDocumentState = (event: ChangeEvent, config: ExtractNewDocumentStateConfig = {}): ReadonlyArray<KafkaRecord> => {
  const f = features(event.version)
  const mode = config.deleteHandling ?? (f.legacyDeleteHandlingOption ? "drop" : "tombstone")
  if (mode === "delete-to-tombstone" && f.legacyDeleteHandlingOption) throw new Error("delete-to-tombstone exists from Debezium 3.2 on")
  const rewrite = mode === "rewrite" || mode === "rewrite-with-tombstone"
  const serialization = event.serialization ?? "legacy"
  const se = event.schemasEnable ?? true
  const keySchemas = typeof se === "boolean" ? se : se.key
  const valueSchemas = typeof se === "boolean" ? se : se.value
  const refs = fieldReferences(config.addFieldsPrefix ?? "__", config.addFields)
  const docs = envelopeDocuments(event)
  const valueName = schemaTopicOf(event) // the envelope's schema name without ".Envelope"
  const env: Envelope = { schema: valueSchema(valueName, f), value: envelopeValue(event) }

  // the key: BsonDocument.parse("{ \"id\" : " + <key id text, relaxed> + "}")
  const keyId = reread(idOf(event), true)
  const key = convertDocument(new Map([["id", keyId]]), "null", false) // Java: null + "." + "id" names a nested struct
  const keyJson = C.converterJson({ type: "struct", optional: false, fields: key.schema.fields ?? [] }, key.value, keySchemas)

  const out: Array<KafkaRecord> = []
  for (const rec of records(event)) {
    const base = { topic: rec.topic, key: keyJson, ...(rec.headers === undefined ? {} : { headers: rec.headers }) }
    if (rec.value === null) {
      // a Debezium tombstone: kept (with the new key) only by rewrite-with-tombstone
      if (mode === "rewrite-with-tombstone") out.push({ ...base, value: null })
      continue
    }
    const isDeletion = docs.after === null && docs.update === null
    if (isDeletion && mode === "drop") continue
    // handleDeleteRecord: rewrite modes take `before`, the others a null value; handleRecord takes `after`
    const fullDoc: Document | null = isDeletion ? (rewrite ? docs.before : null) : docs.after
    const entries: Array<readonly [string, unknown]> = []
    if (fullDoc !== null) {
      entries.push(...documentEntries(reread(fullDoc, serialization === "relaxed") as Document))
    } else if (docs.update !== null) {
      // getPartialUpdateDocument: the updated fields, minus the removed ones, plus _id from the key
      const bare = serialization === "relaxed" || serialization === "legacy"
      entries.push(...documentEntries(reread(docs.update.updatedFields, bare) as Document))
      for (const removed of docs.update.removedFields ?? []) {
        const k = entries.findIndex(([name]) => name === removed)
        if (k >= 0) entries.splice(k, 1)
      }
      if (!entries.some(([name]) => name === "_id")) entries.push(["_id", keyId])
    }
    if (rewrite) {
      entries.push(["__deleted", isDeletion])
      if (config.rewriteWithId === true && !entries.some(([name]) => name === "_id")) entries.push(["_id", keyId])
    }
    if (entries.length === 0) {
      out.push({ ...base, value: null })
      continue
    }
    const converted = convertDocument(new Map(entries), valueName, false)
    const extraFields: Array<C.ConnectField> = []
    const extraValues: Record<string, C.ConnectValue> = {}
    for (const ref of refs) {
      const s = addFieldSchema(env, ref)
      if (s === undefined) continue
      extraFields.push(C.field(ref.newField, s))
      extraValues[ref.newField] = addFieldValue(env, ref)
    }
    const schema = C.struct([...(converted.schema.fields ?? []), ...extraFields], { optional: false, name: valueName })
    const value: C.ConnectStruct = { ...(converted.value as C.ConnectStruct), ...extraValues }
    out.push({ ...base, value: C.converterJson(schema, value, valueSchemas) })
  }
  return out
}

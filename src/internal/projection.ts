/**
 * The part of a raw document a pipeline reads: the top-level fields its schema names (in their
 * encoded spelling), or the whole document when the schema may read any field (an index
 * signature, a declaration it cannot see into).
 *
 * The fold keeps this projection in the ledger (`keepDocuments`), so that an update given as a
 * patch of dotted paths can be applied to it: a path's first segment says which top-level field it
 * changes, so patching the projection and patching the document then projecting give the same
 * fields.
 */
import type * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { setOwn } from "./ownField.ts"

const cache = new WeakMap<object, ReadonlyArray<string> | undefined>()

/** Members of a union that take no document, so read none of its fields (null, a literal, a number...). */
const LEAVES: ReadonlySet<string> = new Set([
  "Null", "Undefined", "Void", "Never", "Literal", "String", "Number", "Boolean", "BigInt", "Symbol",
  "UniqueSymbol", "TemplateLiteral", "Enum", "Arrays"
])

const fieldsOfAst = (ast: SchemaAST.AST): ReadonlyArray<string> | undefined => {
  if (SchemaAST.isObjects(ast)) {
    if (ast.indexSignatures.length > 0) return undefined
    const names: Array<string> = []
    for (const p of ast.propertySignatures) if (typeof p.name === "string") names.push(p.name)
    return names
  }
  if (SchemaAST.isUnion(ast)) {
    const names = new Set<string>()
    for (const member of ast.types) {
      // a member that takes no document reads no field; any other (a struct, or one that takes
      // any value: Unknown, Any, object) is looked into, and may read all of them
      if (LEAVES.has(member._tag)) continue
      const fields = fieldsOfAst(member)
      if (fields === undefined) return undefined
      for (const f of fields) names.add(f)
    }
    return Array.from(names)
  }
  return undefined
}

/** The top-level fields `schema` reads, or `undefined` when it may read any. */
export const fieldsOf = (schema: Schema.Top): ReadonlyArray<string> | undefined => {
  if (cache.has(schema)) return cache.get(schema)
  const fields = fieldsOfAst(SchemaAST.toEncoded(schema.ast))
  cache.set(schema, fields)
  return fields
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** `doc` reduced to `fields` (all of it when `fields` is `undefined` or it is not a document). */
export const project = (doc: unknown, fields: ReadonlyArray<string> | undefined): unknown => {
  if (fields === undefined || !isRecord(doc)) return doc
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    if (Object.prototype.hasOwnProperty.call(doc, f)) {
      setOwn(out, f, doc[f])
    }
  }
  return out
}

/**
 * A pipeline's schema as the planner's decoder of raw documents, made once per schema. It runs
 * once per record and pipeline, so it returns the decoded document itself, or a {@link Refused}
 * with the reason: no wrapper per record.
 *
 * Schemas made only of structs and plain leaves (strings, numbers, booleans, literals, null,
 * undefined, unions of those, each with its checks; optional keys) get a direct decoder compiled
 * from their AST, about ten times cheaper than Schema's own parser: it accepts exactly the
 * documents Schema accepts and builds the same output (declared keys, in declaration order,
 * excess keys dropped). Whatever it does not accept, and every other schema, goes through
 * Schema's parser, which also words the reason for a refusal.
 */
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

/** A document the schema refuses. */
export class Refused {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

/** The decoded document, or a {@link Refused}. */
export type Decode = (doc: unknown) => unknown

const cache = new WeakMap<object, Decode>()

const reasonOf = (message: string): string => {
  const i = message.indexOf("\n")
  const text = i < 0 ? message : `${message.slice(0, i)} ${message.slice(i + 1).replace(/\s+/g, " ").trim()}`
  return `the document does not match the pipeline's schema: ${text}`
}

/** The decoder of `schema`. */
export const of = (schema: Schema.Top): Decode => {
  let decode = cache.get(schema)
  if (decode === undefined) {
    const result = Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)
    const slow: Decode = (doc) => {
      const r = result(doc)
      return r._tag === "Success" ? r.success : new Refused(reasonOf(r.failure.message))
    }
    const fast = direct(schema.ast)
    decode = fast === undefined ? slow : (doc) => {
      const out = fast(doc)
      return out === MISS ? slow(doc) : out
    }
    cache.set(schema, decode)
  }
  return decode
}

/** What a direct decoder returns for an input it does not accept. */
const MISS: unique symbol = Symbol("miss")

type Direct = (input: unknown) => unknown

/**
 * The direct decoder of `ast`, or `undefined` when the AST has a node it does not cover (a
 * transformation, a declaration, an array, an index signature, a struct-level check...).
 *
 * @internal
 */
export const direct = (ast: SchemaAST.AST): Direct | undefined => {
  if (ast.encoding !== undefined) return undefined
  const accept = ast.checks === undefined ? undefined : checker(ast, ast.checks)
  if (SchemaAST.isObjects(ast)) return accept === undefined ? struct(ast) : undefined
  const is = leaf(ast)
  if (is === undefined) return undefined
  return accept === undefined
    ? (input) => (is(input) ? input : MISS)
    : (input) => (is(input) && accept(input) ? input : MISS)
}

/** The test of a leaf (or a union of leaves) without its checks: `undefined` when not a leaf. */
const leaf = (ast: SchemaAST.AST): ((input: unknown) => boolean) | undefined => {
  switch (ast._tag) {
    case "String":
      return (input) => typeof input === "string"
    case "Number":
      return (input) => typeof input === "number"
    case "Boolean":
      return (input) => typeof input === "boolean"
    case "Null":
      return (input) => input === null
    case "Undefined":
      return (input) => input === undefined
    case "Literal": {
      const literal = ast.literal
      return (input) => input === literal
    }
    case "Union": {
      const members: Array<Direct> = []
      for (const member of ast.types) {
        if (SchemaAST.isObjects(member)) return undefined
        const d = direct(member)
        if (d === undefined) return undefined
        members.push(d)
      }
      return (input) => members.some((m) => m(input) !== MISS)
    }
    default:
      return undefined
  }
}

/** Runs `checks` as Schema does (stopping at the first failure): `true` when all pass. */
const checker = (ast: SchemaAST.AST, checks: SchemaAST.Checks) => {
  const filters: Array<SchemaAST.Filter<any>> = []
  const flatten = (cs: ReadonlyArray<SchemaAST.Check<any>>) => {
    for (const c of cs) c._tag === "FilterGroup" ? flatten(c.checks) : filters.push(c)
  }
  flatten(checks)
  const options: SchemaAST.ParseOptions = {}
  return (input: unknown): boolean => {
    for (let i = 0; i < filters.length; i++) {
      if (filters[i]!.run(input, ast, options)) return false
    }
    return true
  }
}

/** A struct of covered members: a fresh object of the declared keys present, in declaration order. */
const struct = (ast: SchemaAST.Objects): Direct | undefined => {
  if (ast.indexSignatures.length > 0 || ast.encodingChecks !== undefined) return undefined
  const members: Array<Member> = []
  for (const ps of ast.propertySignatures) {
    if (ps.name === "__proto__") return undefined
    const decode = direct(ps.type)
    if (decode === undefined) return undefined
    members.push({ name: ps.name, decode, optional: SchemaAST.isOptional(ps.type), test: inlineTest(ps.type) })
  }
  return compiled(members) ?? looped(members)
}

interface Member {
  readonly name: PropertyKey
  readonly decode: Direct
  readonly optional: boolean
  /** The member's test as a JavaScript expression over `v` when it is a plain leaf without checks. */
  readonly test: string | undefined
}

/**
 * `Schema.Int`'s check, recognized by identity (the check object itself, not a look-alike): its
 * predicate is `Number.isSafeInteger`, so it can be written out like a plain leaf's test.
 */
const intCheck = Schema.Int.ast.checks?.[0]

/** A leaf test written out, so that the compiled decoder needs no call for it. */
const inlineTest = (ast: SchemaAST.AST): string | undefined => {
  if (ast.encoding !== undefined) return undefined
  if (ast.checks !== undefined) {
    const only = ast.checks.length === 1 ? ast.checks[0] : undefined
    return ast._tag === "Number" && only !== undefined && only === intCheck ? `Number.isSafeInteger(v)` : undefined
  }
  switch (ast._tag) {
    case "String":
      return `typeof v === "string"`
    case "Number":
      return `typeof v === "number"`
    case "Boolean":
      return `typeof v === "boolean"`
    case "Null":
      return `v === null`
    default:
      return undefined
  }
}

/**
 * The struct's decoder as one function written for its keys (`new Function`): each property read
 * and the output's shape are then fixed where V8 sees them, instead of one generic loop over every
 * struct's keys. `undefined` where the code cannot be written (a symbol key) or run (a runtime
 * that forbids `new Function`).
 */
const compiled = (members: ReadonlyArray<Member>): Direct | undefined => {
  if (members.some((m) => typeof m.name !== "string")) return undefined
  const lines: Array<string> = [
    `if (typeof input !== "object" || input === null || Array.isArray(input)) return MISS`,
    `let v`
  ]
  const literal = members.every((m) => !m.optional)
  if (!literal) lines.push(`const out = {}`)
  members.forEach((m, i) => {
    const name = JSON.stringify(m.name)
    lines.push(`v = input[${name}]`)
    // a missing key reads as undefined: only a member that accepts undefined needs `in`
    const missing = `v === undefined && !(${name} in input)`
    if (m.optional) lines.push(`if (!(${missing})) {`)
    else lines.push(`if (${missing}) return MISS`)
    if (m.test !== undefined) lines.push(`if (!(${m.test})) return MISS`)
    else lines.push(`v = decode[${i}](v)`, `if (v === MISS) return MISS`)
    lines.push(literal ? `const v${i} = v` : `out[${name}] = v`)
    if (m.optional) lines.push(`}`)
  })
  lines.push(literal ? `return {${members.map((m, i) => `${JSON.stringify(m.name)}: v${i}`).join(", ")}}` : `return out`)
  try {
    const make = new Function("MISS", "decode", `return (input) => {\n${lines.join("\n")}\n}`) as (
      miss: typeof MISS,
      decode: ReadonlyArray<Direct>
    ) => Direct
    return make(MISS, members.map((m) => m.decode))
  } catch {
    return undefined
  }
}

/** The struct's decoder as a loop over its members (where `compiled` cannot be had). */
const looped = (members: ReadonlyArray<Member>): Direct => (input) => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return MISS
  const record = input as Record<PropertyKey, unknown>
  const out: Record<PropertyKey, unknown> = {}
  for (let i = 0; i < members.length; i++) {
    const { decode, name, optional } = members[i]!
    if (!(name in record)) {
      if (optional) continue
      return MISS
    }
    const value = decode(record[name])
    if (value === MISS) return MISS
    out[name] = value
  }
  return out
}

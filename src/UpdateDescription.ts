/**
 * MongoDB change-stream update descriptions applied to a document: the new state of a document
 * from its pre-image and the update event's `updatedFields`, `removedFields` and
 * `truncatedArrays`, with MongoDB's dotted-path semantics.
 *
 * Debezium's `change_streams_with_pre_image` capture mode writes updates as `before` (the
 * pre-image) and `updateDescription`, with no `after`; this is how the fold gets their new state.
 * The document is exact JSON (see `ExtendedJson`); wrapper objects such as `{"$oid": ...}` are
 * values, never paths.
 *
 * Paths: `a.b.c` walks embedded documents, and a numeric component indexes an array when the
 * value there is an array (`items.2.qty`) and is a field name otherwise (MongoDB resolves it the
 * same way). Setting a path creates the embedded documents it lacks and pads an array with `null`
 * up to the index, as `$set` does. Truncations apply first, then the updated fields, then the
 * removed ones. Debezium does not carry MongoDB's `disambiguatedPaths`, so a field name that
 * itself contains a dot cannot be told apart from a path; such fields are updated as paths.
 *
 * @since 0.2.0
 */
import { setOwn } from "./internal/ownField.ts"

/**
 * The parts of an update description this module reads.
 *
 * @since 0.2.0
 * @category models
 */
export interface Description {
  readonly updatedFields: Readonly<Record<string, unknown>>
  readonly removedFields: ReadonlyArray<string>
  readonly truncatedArrays: ReadonlyArray<{ readonly field: string; readonly size: number }>
}

type Container = Record<string, unknown> | Array<unknown>

/** The one-key Extended-JSON forms of a value (`{"$oid": ...}`, `{"$date": ...}`, ...). */
const ONE_KEY_WRAPPERS: ReadonlySet<string> = new Set([
  "$oid", "$date", "$numberDecimal", "$numberLong", "$numberInt", "$numberDouble", "$binary", "$uuid",
  "$regularExpression", "$timestamp", "$minKey", "$maxKey", "$code", "$symbol", "$dbPointer", "$undefined", "$regex"
])

/**
 * Whether an object is an Extended-JSON value rather than a document: one of its forms, by its
 * exact keys. A document's field names may start with `$` too (MongoDB 5.0+; the manual's "Field
 * Names with Periods and Dollar Signs"): `{"$currency": "EUR",
 * "region": "eu"}` is a document, which a patch may reach into.
 */
const isWrapper = (value: object): boolean => {
  let first: string | undefined
  for (const key in value) {
    first = key
    break
  }
  if (first === undefined || first.charCodeAt(0) !== 36 /* $ */) return false
  const keys = Object.keys(value)
  if (keys.length === 1) return ONE_KEY_WRAPPERS.has(first)
  const set = keys.sort().join(",")
  // code with scope, the legacy regex and binary forms, a DBRef (which may carry more fields)
  return set === "$code,$scope" || set === "$options,$regex" || set === "$binary,$type" ||
    (first === "$ref" && keys.includes("$id"))
}

const isContainer = (value: unknown): value is Container =>
  typeof value === "object" && value !== null && (Array.isArray(value) || !isWrapper(value))

const copy = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(copy)
  if (isContainer(value)) {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) put(out, key, copy((value as Record<string, unknown>)[key]))
    return out
  }
  return value
}

const index = (container: Container, segment: string): number | undefined =>
  Array.isArray(container) && /^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : undefined

const get = (container: Container, segment: string): unknown => {
  const i = index(container, segment)
  return i !== undefined ? (container as Array<unknown>)[i] : (container as Record<string, unknown>)[segment]
}

const put = (container: Container, segment: string, value: unknown): void => {
  const i = index(container, segment)
  if (i !== undefined) {
    const array = container as Array<unknown>
    while (array.length < i) array.push(null)
    array[i] = value
  } else if (!Array.isArray(container)) {
    setOwn(container as Record<string, unknown>, segment, value)
  }
}

/** The container at `segments` (all but the last of a path), creating documents on the way when `create`. */
const walk = (root: Container, segments: ReadonlyArray<string>, create: boolean): Container | undefined => {
  let at: Container = root
  for (const segment of segments) {
    const next = get(at, segment)
    if (isContainer(next)) {
      at = next
      continue
    }
    if (!create) return undefined
    const made: Record<string, unknown> = {}
    put(at, segment, made)
    at = made
  }
  return at
}

/**
 * The document after the update: `doc` (left as it is) with `description` applied.
 *
 * @since 0.2.0
 * @category combinators
 */
export const apply = (doc: Readonly<Record<string, unknown>>, description: Description): Record<string, unknown> => {
  const out = copy(doc) as Record<string, unknown>
  for (const { field, size } of description.truncatedArrays) {
    const path = field.split(".")
    const parent = walk(out, path.slice(0, -1), false)
    const array = parent === undefined ? undefined : get(parent, path[path.length - 1]!)
    if (Array.isArray(array) && array.length > size) array.length = size
  }
  for (const field of Object.keys(description.updatedFields)) {
    const path = field.split(".")
    const parent = walk(out, path.slice(0, -1), true)!
    put(parent, path[path.length - 1]!, copy(description.updatedFields[field]))
  }
  for (const field of description.removedFields) {
    const path = field.split(".")
    const parent = walk(out, path.slice(0, -1), false)
    const last = path[path.length - 1]!
    if (parent === undefined) continue
    // `$unset` of an array element leaves null in its place
    if (index(parent, last) !== undefined) put(parent, last, null)
    else if (!Array.isArray(parent)) delete (parent as Record<string, unknown>)[last]
  }
  return out
}

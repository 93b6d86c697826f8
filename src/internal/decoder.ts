/**
 * A pipeline's schema as the planner's decoder of raw documents, made once per schema. It runs
 * once per record and pipeline, so it returns the decoded document itself, or a {@link Refused}
 * with the reason: no wrapper per record.
 */
import { Schema } from "effect"

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
    decode = (doc) => {
      const r = result(doc)
      return r._tag === "Success" ? r.success : new Refused(reasonOf(r.failure.message))
    }
    cache.set(schema, decode)
  }
  return decode
}

/**
 * A JSON-Lines file of Kafka records carrying Debezium MongoDB envelopes as a live source: one
 * record per line, `{"key": <key>, "value": <envelope or null>}` (the key and value as JSON or as
 * JSON text). This is what a topic dump looks like, and it exercises the same decoder as the Kafka
 * source.
 *
 * @since 0.1.0
 */
import type { SourceError } from "../Errors.ts"
import * as I from "../Input.ts"
import type { Pipeline } from "../Pipeline.ts"
import type { Tokens } from "../Store/Tokens.ts"
import * as Debezium from "./Debezium.ts"
import * as ExtendedJson from "./ExtendedJson.ts"
import * as Jsonl from "./Jsonl.ts"
import type { Source } from "./Source.ts"

/**
 * @since 0.1.0
 */
export const make = <In>(
  pipeline: Pipeline<In, any, "changes">,
  options: { readonly path: string } & Jsonl.Options
): Source<In, SourceError, Tokens> => {
  const decode = Debezium.decoder(pipeline.schema)
  return Jsonl.make({
    ...options,
    pipeline,
    name: `jsonl-changes:${options.path}`,
    partition: `jsonl:${options.path}`,
    decode: (text, position) => {
      let record: unknown
      try {
        // a key or value given as JSON (not as text) may hold Int64 literals past 2^53
        record = ExtendedJson.parseJson(text)
      } catch (error) {
        return I.reject(text, `not JSON: ${error instanceof Error ? error.message : String(error)}`, position)
      }
      if (typeof record !== "object" || record === null || Array.isArray(record) || !("value" in record)) {
        return I.reject(text, `a record must be an object with "key" and "value"`, position)
      }
      const { key, value } = record as { key?: unknown; value: unknown }
      return Debezium.toInput(decode(key, value), text, position)
    }
  })
}

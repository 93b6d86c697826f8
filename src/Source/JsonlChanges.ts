/**
 * A JSON-Lines file of Kafka records carrying Debezium MongoDB envelopes as a live source: one
 * record per line, `{"key": <key>, "value": <envelope or null>}` (the key and value as JSON or as
 * JSON text). This is what a topic dump looks like, and it exercises the same decoder as the Kafka
 * source.
 *
 * @since 0.1.0
 */
import type { SourceError } from "../Errors.ts"
import type { Input, Position } from "../Input.ts"
import * as I from "../Input.ts"
import type { Pipeline } from "../Pipeline.ts"
import type { Tokens } from "../Store/Tokens.ts"
import * as Debezium from "./Debezium.ts"
import * as Jsonl from "./Jsonl.ts"
import type { Source } from "./Source.ts"

/**
 * Turns one decoded record into an input at `position` (`raw` is kept for dead letters).
 *
 * @since 0.1.0
 */
export const toInput = <In>(d: Debezium.Decoded<In>, raw: string, position: Position): Input<In> => {
  switch (d._tag) {
    case "Upsert":
      return I.upsert(d.docId, d.version, d.doc, position)
    case "Delete":
      return I.remove(d.docId, d.version, position)
    case "Skip":
      return I.skip(d.reason, position)
    case "Reject":
      return I.reject(raw, d.reason, position, d.docId)
  }
}

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
        record = JSON.parse(text)
      } catch (error) {
        return I.reject(text, `not JSON: ${error instanceof Error ? error.message : String(error)}`, position)
      }
      if (typeof record !== "object" || record === null || Array.isArray(record) || !("value" in record)) {
        return I.reject(text, `a record must be an object with "key" and "value"`, position)
      }
      const { key, value } = record as { key?: unknown; value: unknown }
      return toInput(decode(key, value), text, position)
    }
  })
}

/**
 * A JSON-Lines file of Kafka records carrying Debezium MongoDB envelopes as a live source: one
 * record per line, `{"key": <key>, "value": <envelope or null>}` (the key and value as JSON or as
 * JSON text). This is what a topic dump looks like, and it exercises the same decoder as the Kafka
 * source. The file is one partition: with the default `ordering: "position"` the changes of a
 * document are ordered by line, so a dump must keep each document's records in their topic order
 * (a dump of one partition after another does).
 *
 * A history split over several files (one a day, say): each file is a partition of its own, and
 * line numbers start again in each, so with `ordering: "position"` a later file's change of a
 * document an earlier file changed is taken for an older one and skipped as stale. Fold such
 * files with `ordering: "sourceTime"` (each change's `source.ts_ms` and `source.ord`), or keep
 * one file for the life of the store.
 *
 * @since 0.1.0
 */
import type { ConfigurationError, SourceError } from "../Errors.ts"
import * as I from "../Input.ts"
import type { Tokens } from "../Store/Tokens.ts"
import * as Debezium from "../Kafka/Debezium.ts"
import * as ExtendedJson from "../ExtendedJson.ts"
import * as Jsonl from "./Jsonl.ts"
import type { Source } from "../Source.ts"
import { errorText } from "../internal/errorText.ts"

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly path: string } & Jsonl.Options & Debezium.Options
): Source<"changes", SourceError | ConfigurationError, Tokens> => {
  const decode = Debezium.decoder(options)
  return Jsonl.make({
    ...options,
    kind: "changes",
    name: `jsonl-changes:${options.path}`,
    partition: `jsonl:${options.path}`,
    decode: (text, position) => {
      let record: unknown
      try {
        // a key or value given as JSON (not as text) may hold Int64 literals past 2^53
        record = ExtendedJson.parseJson(text)
      } catch (error) {
        return I.reject(text, `not JSON: ${errorText(error)}`, position)
      }
      if (typeof record !== "object" || record === null || Array.isArray(record) || !("value" in record)) {
        return I.reject(text, `a record must be an object with "key" and "value"`, position)
      }
      const { key, value } = record as { key?: unknown; value: unknown }
      const decoded = decode(key, value)
      return decoded._tag === "Unsupported" ? decoded : Debezium.toInput(decoded, text, position)
    }
  })
}

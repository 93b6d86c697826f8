/**
 * A JSON-Lines dump of a collection as a bootstrap source: one document per line (Extended JSON,
 * canonical or relaxed, or plain JSON), each an upsert at the handoff version. An `"events"`
 * source: every document once, so any pipeline can fold it.
 *
 * @since 0.1.0
 */
import type { ConfigurationError, SourceError } from "../Errors.ts"
import type { Handoff } from "../Handoff.ts"
import type { Tokens } from "../Store/Tokens.ts"
import * as Version from "../Version.ts"
import * as Debezium from "../Kafka/Debezium.ts"
import * as Jsonl from "./Jsonl.ts"
import type { Source } from "../Source.ts"

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly path: string; readonly handoff: Handoff } & Jsonl.Options
): Source<"events", SourceError | ConfigurationError, Tokens> => {
  const decode = Debezium.plainDecoder()
  const version = options.handoff.version
  return Jsonl.make({
    ...options,
    kind: "events",
    name: `jsonl-snapshot:${options.path}`,
    // read once: a last line cut short is dead-lettered, not left for a run that never comes
    complete: true,
    // a new handoff is a new scan: its positions must not meet the marks of an older one
    partition: `snapshot:${options.path}@${Version.format(version)}`,
    decode: (text, position) => Debezium.toInput(decode(text, version), text, position)
  })
}

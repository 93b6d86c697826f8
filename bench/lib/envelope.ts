/**
 * A workload change as the Kafka record the Debezium MongoDB connector would publish for it (the
 * connector's default key, and the fields of the envelope the decoder reads), for the scenarios
 * that read Debezium records: the Kafka topic and its JSON-Lines dump.
 */
import type { Input } from "../../src/Input.ts"
import type { Order } from "./workload.ts"

export const envelope = (r: Input): { readonly key: string; readonly value: string } | undefined => {
  if (r._tag !== "Upsert" && r._tag !== "Delete") return undefined
  const key = JSON.stringify({ id: JSON.stringify(r.docId) })
  const source = { ts_ms: r.version![0], ord: r.version![1] }
  return r._tag === "Upsert"
    ? { key, value: JSON.stringify({ op: "u", after: JSON.stringify({ _id: r.docId, ...(r.doc as Order) }), source }) }
    : { key, value: JSON.stringify({ op: "d", after: null, source }) }
}

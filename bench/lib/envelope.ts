/**
 * A workload change as the Kafka record the Debezium MongoDB connector would publish for it (the
 * connector's default key, and the fields of the envelope the decoder reads), for the scenarios
 * that read Debezium records: the Kafka topic and its JSON-Lines dump.
 */
import type { Input } from "../../src/Input.ts"
import type { Order } from "./workload.ts"

/**
 * The envelope's fields as Debezium 3.6's MongoDB connector writes them with `schemas.enable=false`
 * (laid out like the captured records in test/fixtures/debezium-real): `source` carries the
 * event's time in ms, µs and ns (`ts_ns` is past 2^53, so every record has an integer literal the
 * decoder must keep exact), the envelope its processing time.
 */
export const envelope = (r: Input): { readonly key: string; readonly value: string } | undefined => {
  if (r._tag !== "Upsert" && r._tag !== "Delete") return undefined
  const key = JSON.stringify({ id: JSON.stringify(r.docId) })
  // a wall-clock time in ms (the fold orders a document's changes by their place in the file or partition)
  const ms = 1_796_399_332_000 + r.version![0]
  const source = `{"version":"3.6.1.Final","connector":"mongodb","name":"bench","ts_ms":${ms},"snapshot":"false",` +
    `"db":"shop","sequence":null,"ts_us":${ms}000,"ts_ns":${ms}000000,"collection":"orders","ord":${r.version![1]},` +
    `"lsid":null,"txnNumber":null,"wallTime":null}`
  const after = r._tag === "Upsert" ? JSON.stringify(JSON.stringify({ _id: r.docId, ...(r.doc as Order) })) : "null"
  const value = `{"before":null,"after":${after},"updateDescription":null,"source":${source},` +
    `"op":"${r._tag === "Upsert" ? "u" : "d"}","ts_ms":${ms + 837},"transaction":null}`
  return { key, value }
}

/**
 * Staged batches: for sources whose replay is not byte-identical, the fold writes each batch to
 * the token store before applying it, and a restarted run finishes a staged batch from exactly
 * those records. This makes "the aggregates of a crashed batch are partly written" recoverable
 * without trusting the source to give the same records again.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Input } from "../Input.ts"
import * as I from "../Input.ts"
import type { Mode, Pipeline } from "../Pipeline.ts"
import * as ValueCodec from "../Store/ValueCodec.ts"
import type { Version } from "../Version.ts"

type Row =
  | { readonly t: "U"; readonly id: string; readonly v: Version; readonly d: unknown; readonly p: string; readonly s: number; readonly c: unknown }
  | { readonly t: "D"; readonly id: string; readonly v: Version; readonly p: string; readonly s: number; readonly c: unknown }
  | { readonly t: "I"; readonly id: string; readonly v: Version; readonly raw: string; readonly why: string; readonly k?: string | undefined; readonly p: string; readonly s: number; readonly c: unknown }
  | { readonly t: "R"; readonly raw: string; readonly why: string; readonly id: string | null; readonly k?: string | undefined; readonly p: string; readonly s: number; readonly c: unknown }
  | { readonly t: "S"; readonly why: string; readonly p: string; readonly s: number; readonly c: unknown }

/**
 * The token-store name of a source's staged batch.
 *
 * @since 0.1.0
 */
export const stagedToken = (sourceName: string): string => `staged:${sourceName}`

/**
 * The JSON form of a batch (documents encoded with the pipeline's schema).
 *
 * @since 0.1.0
 */
export const encode = <In>(pipeline: Pipeline<In, any, Mode>, batch: ReadonlyArray<Input<In>>): unknown => {
  const encodeDoc = Schema.encodeSync(pipeline.schema)
  // only the last record of a partition is ever committed: the others need no checkpoint
  const lastOf = new Map<string, number>()
  for (let i = 0; i < batch.length; i++) lastOf.set(batch[i]!.partition, i)
  const rows: Array<Row> = batch.map((r, i): Row => {
    const c = lastOf.get(r.partition) === i ? r.checkpoint ?? null : null
    switch (r._tag) {
      case "Upsert":
        return { t: "U", id: r.docId, v: r.version, d: ValueCodec.toJson(encodeDoc(r.doc)), p: r.partition, s: r.seq, c }
      case "Delete":
        return { t: "D", id: r.docId, v: r.version, p: r.partition, s: r.seq, c }
      case "Invalid":
        return { t: "I", id: r.docId, v: r.version, raw: r.raw, why: r.reason, k: r.key, p: r.partition, s: r.seq, c }
      case "Reject":
        return { t: "R", raw: r.raw, why: r.reason, id: r.docId ?? null, k: r.key, p: r.partition, s: r.seq, c }
      case "Skip":
        return { t: "S", why: r.reason, p: r.partition, s: r.seq, c }
    }
  })
  return { rows }
}

/**
 * The batch of a JSON form made by {@link encode}.
 *
 * @since 0.1.0
 */
export const decode = <In>(pipeline: Pipeline<In, any, Mode>, json: unknown): ReadonlyArray<Input<In>> => {
  const decodeDoc = Schema.decodeUnknownSync(pipeline.schema)
  const rows = (json as { rows: ReadonlyArray<Row> }).rows
  return rows.map((r): Input<In> => {
    const position = { partition: r.p, seq: r.s, checkpoint: r.c }
    switch (r.t) {
      case "U":
        return I.upsert(r.id, [r.v[0], r.v[1]], decodeDoc(ValueCodec.fromJson(r.d)), position)
      case "D":
        return I.remove(r.id, [r.v[0], r.v[1]], position)
      case "I":
        return I.invalid(r.id, [r.v[0], r.v[1]], r.raw, r.why, position, r.k)
      case "R":
        return I.reject(r.raw, r.why, position, r.id ?? undefined, r.k)
      case "S":
        return I.skip(r.why, position)
    }
  })
}

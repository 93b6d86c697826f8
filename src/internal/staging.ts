/**
 * Staged batches: for sources whose replay is not byte-identical, the fold writes each batch to
 * the token store before applying it, and a restarted run finishes a staged batch from exactly
 * those records. This makes "the aggregates of a crashed batch are partly written" recoverable
 * without trusting the source to give the same records again. Records are raw (see `Input`), so
 * one staged batch serves every pipeline the source feeds.
 *
 * @since 0.1.0
 */
import type { Input } from "../Input.ts"
import * as I from "../Input.ts"
import type { Description } from "../UpdateDescription.ts"
import * as ValueCodec from "./valueCodec.ts"
import type { Version } from "../Version.ts"

interface Common {
  readonly p: string
  readonly s: number
  readonly c: unknown
  readonly raw?: string | undefined
  readonly k?: string | undefined
}

type Row =
  | Common & { readonly t: "U"; readonly id: string; readonly v: Version | null; readonly d: unknown }
  | Common & { readonly t: "P"; readonly id: string; readonly v: Version | null; readonly d: Description }
  | Common & { readonly t: "D"; readonly id: string; readonly v: Version | null }
  | Common & { readonly t: "E"; readonly id: string; readonly d: unknown }
  | Common & { readonly t: "R"; readonly raw: string; readonly why: string; readonly id: string | null }
  | Common & { readonly t: "S"; readonly why: string }

/**
 * The JSON form of a batch.
 *
 * @since 0.1.0
 */
export const encode = (batch: ReadonlyArray<Input>): unknown => {
  // only the last record of a partition is ever committed: the others need no checkpoint
  const lastOf = new Map<string, number>()
  for (let i = 0; i < batch.length; i++) lastOf.set(batch[i]!.partition, i)
  const rows: Array<Row> = batch.map((r, i): Row => {
    const c = lastOf.get(r.partition) === i ? r.checkpoint ?? null : null
    const common = { p: r.partition, s: r.seq, c }
    switch (r._tag) {
      case "Upsert":
        return { t: "U", id: r.docId, v: r.version ?? null, d: ValueCodec.toJson(r.doc), raw: r.raw, k: r.key, ...common }
      case "Patch":
        return { t: "P", id: r.docId, v: r.version ?? null, d: ValueCodec.toJson(r.description) as Description, raw: r.raw, k: r.key, ...common }
      case "Delete":
        return { t: "D", id: r.docId, v: r.version ?? null, raw: r.raw, k: r.key, ...common }
      case "Event":
        return { t: "E", id: r.eventId, d: ValueCodec.toJson(r.doc), raw: r.raw, k: r.key, ...common }
      case "Reject":
        return { t: "R", raw: r.raw, why: r.reason, id: r.docId ?? null, k: r.key, ...common }
      case "Skip":
        return { t: "S", why: r.reason, ...common }
    }
  })
  return { rows }
}

const version = (v: Version | null): Version | undefined => (v === null ? undefined : [v[0], v[1]])

/**
 * The batch of a JSON form made by {@link encode}.
 *
 * @since 0.1.0
 */
export const decode = (json: unknown): ReadonlyArray<Input> => {
  const rows = (json as { rows: ReadonlyArray<Row> }).rows
  return rows.map((r): Input => {
    const position = { partition: r.p, seq: r.s, checkpoint: r.c }
    const origin = { raw: r.raw, key: r.k }
    switch (r.t) {
      case "U":
        return I.upsert(r.id, ValueCodec.fromJson(r.d), position, { version: version(r.v), ...origin })
      case "P":
        return I.patch(r.id, ValueCodec.fromJson(r.d) as Description, position, { version: version(r.v), ...origin })
      case "D":
        return I.remove(r.id, position, { version: version(r.v), ...origin })
      case "E":
        return I.event(r.id, ValueCodec.fromJson(r.d), position, origin)
      case "R":
        return I.reject(r.raw, r.why, position, r.id ?? undefined, r.k)
      case "S":
        return I.skip(r.why, position)
    }
  })
}

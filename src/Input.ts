/**
 * What sources hand to the fold: one record per source position.
 *
 * - `Upsert`: the new state of a source document (inserts, updates, replaces, snapshot rows).
 * - `Delete`: the document is gone.
 * - `Reject`: the record could not be decoded or is invalid; it goes to the dead-letter sink with
 *   the raw input and the reason, and its position may then be committed.
 * - `Skip`: a record that carries no change (a Kafka tombstone, a heartbeat); only its position
 *   advances.
 *
 * Every record carries its position: a `partition` (a Kafka topic-partition, a change stream, a
 * file, a snapshot scan) and a `seq` that strictly increases within the partition. Positions are
 * what the aggregate store's high-water marks and the source's commits are made of. `checkpoint`
 * is source-specific data the source needs to resume after this record (a byte offset, a resume
 * token); it must be JSON.
 *
 * @since 0.1.0
 */
import type { Version } from "./Version.ts"

/**
 * Where a record sits in its source.
 *
 * @since 0.1.0
 */
export interface Position {
  readonly partition: string
  readonly seq: number
  readonly checkpoint?: unknown
}

/**
 * The new state of a source document.
 *
 * @since 0.1.0
 */
export interface Upsert<In> extends Position {
  readonly _tag: "Upsert"
  readonly docId: string
  readonly version: Version
  readonly doc: In
}

/**
 * A deleted source document.
 *
 * @since 0.1.0
 */
export interface Delete extends Position {
  readonly _tag: "Delete"
  readonly docId: string
  readonly version: Version
}

/**
 * A record that cannot be folded: dead-lettered with its raw text and the reason.
 *
 * @since 0.1.0
 */
export interface Reject extends Position {
  readonly _tag: "Reject"
  readonly raw: string
  readonly reason: string
  readonly docId?: string | undefined
  /** The raw record key, for sources that have one (a Kafka record's key): dead-letter topics keep it. */
  readonly key?: string | undefined
}

/**
 * A record without a change (tombstone, heartbeat): only the position advances.
 *
 * @since 0.1.0
 */
export interface Skip extends Position {
  readonly _tag: "Skip"
  readonly reason: string
}

/**
 * A record as the fold receives it.
 *
 * @since 0.1.0
 */
export type Input<In> = Upsert<In> | Delete | Reject | Skip

/**
 * @since 0.1.0
 */
export const upsert = <In>(docId: string, version: Version, doc: In, position: Position): Upsert<In> => ({
  _tag: "Upsert",
  docId,
  version,
  doc,
  partition: position.partition,
  seq: position.seq,
  checkpoint: position.checkpoint
})

/**
 * @since 0.1.0
 */
export const remove = (docId: string, version: Version, position: Position): Delete => ({
  _tag: "Delete",
  docId,
  version,
  partition: position.partition,
  seq: position.seq,
  checkpoint: position.checkpoint
})

/**
 * @since 0.1.0
 */
export const reject = (raw: string, reason: string, position: Position, docId?: string, key?: string): Reject => ({
  _tag: "Reject",
  raw,
  reason,
  docId,
  key,
  partition: position.partition,
  seq: position.seq,
  checkpoint: position.checkpoint
})

/**
 * @since 0.1.0
 */
export const skip = (reason: string, position: Position): Skip => ({
  _tag: "Skip",
  reason,
  partition: position.partition,
  seq: position.seq,
  checkpoint: position.checkpoint
})

/**
 * `true` for records that change a document (`Upsert` or `Delete`).
 *
 * @since 0.1.0
 */
export const isChange = <In>(input: Input<In>): input is Upsert<In> | Delete =>
  input._tag === "Upsert" || input._tag === "Delete"

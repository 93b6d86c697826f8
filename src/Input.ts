/**
 * What sources hand to the fold: one record per source position.
 *
 * - `Upsert`: the new state of a source document (inserts, updates, replaces, snapshot rows).
 * - `Delete`: the document is gone.
 * - `Invalid`: the new state of a source document that the pipeline refuses (its schema rejects
 *   it, or its key or value function throws). The document now contributes nothing: its old
 *   contribution is retracted, exactly as a delete would, and the record goes to the dead-letter
 *   sink with the raw document and the reason. A later valid state adds the contribution again.
 *   So the aggregates never depend on when a document was invalid, only on its final state.
 * - `Reject`: a record that carries no usable document state (not JSON, no id, no version); it
 *   goes to the dead-letter sink with the raw input and the reason, and its position may then be
 *   committed.
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
 * The new state of a source document, refused by the pipeline: it retracts the document's
 * contribution and is dead-lettered with its raw text and the reason.
 *
 * @since 0.2.0
 * @category models
 */
export interface Invalid extends Position {
  readonly _tag: "Invalid"
  readonly docId: string
  readonly version: Version
  readonly raw: string
  readonly reason: string
  /** The raw record key, for sources that have one. */
  readonly key?: string | undefined
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
export type Input<In> = Upsert<In> | Delete | Invalid | Reject | Skip

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
 * @since 0.2.0
 * @category constructors
 */
export const invalid = (docId: string, version: Version, raw: string, reason: string, position: Position, key?: string): Invalid => ({
  _tag: "Invalid",
  docId,
  version,
  raw,
  reason,
  key,
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
 * `true` for records that change a document's state (`Upsert`, `Delete` or `Invalid`).
 *
 * @since 0.1.0
 */
export const isChange = <In>(input: Input<In>): input is Upsert<In> | Delete | Invalid =>
  input._tag === "Upsert" || input._tag === "Delete" || input._tag === "Invalid"

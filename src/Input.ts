/**
 * What sources yield and the fold consumes: one record per source position, of raw documents,
 * independent of any pipeline. Each pipeline decodes a record's document with its own schema inside
 * the fold, so one source feeds any number of pipelines (a document one pipeline refuses is a dead
 * letter of that pipeline only).
 *
 * - `Upsert`: the new state of a source document (inserts, updates, replaces, snapshot rows): its
 *   id and the document as exact JSON (see `ExtendedJson`). A pipeline whose schema refuses the
 *   document folds it as "contributes nothing" (its old contribution is retracted) and dead-letters
 *   it with the raw text and the reason.
 * - `Patch`: an update given as a change to the previous state (a MongoDB update description, as
 *   Debezium's `change_streams` capture mode writes it): the fold applies it to the document's
 *   fields kept in the ledger (`keepDocuments`), and refuses it when it has none.
 * - `Delete`: the document is gone.
 * - `Event`: an append-only record (a page view, a payment): an event id and its document.
 * - `Reject`: a record that carries no usable document state (not JSON, no id); it goes to the
 *   dead-letter sink of every pipeline with the raw input and the reason, and its position may
 *   then be committed.
 * - `Skip`: a record without a change (a Kafka tombstone, a heartbeat); only its position advances.
 *
 * Every record carries its position: a `partition` (a Kafka topic-partition, a change stream, a
 * file, a snapshot scan) and a `seq` that strictly increases within the partition. Positions are
 * what the aggregate store's high-water marks and the source's commits are made of. `checkpoint`
 * is source-specific data the source needs to resume after this record (a byte offset, a resume
 * token); it must be JSON.
 *
 * Versions order the states of one document. A source that knows them (a change stream's cluster
 * time, a snapshot's handoff version) sets `version`; without one, the fold orders a document's
 * states by position: `[P + 1, seq]`, where `P` is the `hi` of the pipeline's handoff version, so
 * every such record is newer than the snapshot's rows (the records of one document must then be in
 * one partition, in order, as a Kafka topic keyed by document id or a file keeps them).
 *
 * @since 0.1.0
 */
import type { Description } from "./UpdateDescription.ts"
import type { Version } from "./Version.ts"

/**
 * Where a record sits in its source.
 *
 * @since 0.1.0
 * @category models
 */
export interface Position {
  readonly partition: string
  readonly seq: number
  readonly checkpoint?: unknown
}

/**
 * What a record's raw form and key are, for dead letters.
 *
 * @since 0.2.0
 * @category models
 */
export interface Origin {
  /** The record as the source read it (a Kafka value, a line); default: the document as JSON. */
  readonly raw?: string | undefined
  /** The raw record key, for sources that have one (a Kafka record's key): dead-letter topics keep it. */
  readonly key?: string | undefined
}

/**
 * The new state of a source document.
 *
 * @since 0.1.0
 * @category models
 */
export interface Upsert extends Position, Origin {
  readonly _tag: "Upsert"
  readonly docId: string
  /** Default: ordered by position (see the module doc). */
  readonly version?: Version | undefined
  /** The document as exact JSON. */
  readonly doc: unknown
}

/**
 * An update given as a change to the previous state of the document (MongoDB's update description:
 * set these dotted paths, remove those, truncate these arrays).
 *
 * @since 0.2.0
 * @category models
 */
export interface Patch extends Position, Origin {
  readonly _tag: "Patch"
  readonly docId: string
  /** Default: ordered by position (see the module doc). */
  readonly version?: Version | undefined
  readonly description: Description
}

/**
 * A deleted source document.
 *
 * @since 0.1.0
 * @category models
 */
export interface Delete extends Position, Origin {
  readonly _tag: "Delete"
  readonly docId: string
  readonly version?: Version | undefined
}

/**
 * An append-only record. A pipeline with a ledger folds it once per event id; an `"events"`
 * pipeline, which keeps no ledger, once per position (see `Pipeline.events`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Event extends Position, Origin {
  readonly _tag: "Event"
  readonly eventId: string
  readonly doc: unknown
}

/**
 * A record that cannot be folded: dead-lettered with its raw text and the reason.
 *
 * @since 0.1.0
 * @category models
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
 * @category models
 */
export interface Skip extends Position {
  readonly _tag: "Skip"
  readonly reason: string
}

/**
 * A record as the fold receives it.
 *
 * @since 0.1.0
 * @category models
 */
export type Input = Upsert | Patch | Delete | Event | Reject | Skip

// The records are built by classes, not object literals: V8 tracks the allocation site of a
// literal and, once many of its objects survive a collection, allocates the next ones straight in
// the old generation, where each keeps its (young) document alive until a full collection. A
// source builds one record per line or message, most of which die with their batch, so that
// pretenuring costs a process about a third of its peak memory (bench: events-1m-process). The
// instances have the fields of the interfaces above as own fields.

/** What every record has: its tag and its position. */
abstract class Located<Tag extends Input["_tag"]> implements Position {
  readonly _tag: Tag
  readonly partition: string
  readonly seq: number
  readonly checkpoint: unknown
  constructor(tag: Tag, position: Position) {
    this._tag = tag
    this.partition = position.partition
    this.seq = position.seq
    this.checkpoint = position.checkpoint
  }
}

/** The options of a change: its version, and where it came from. */
type ChangeOptions = { readonly version?: Version | undefined } & Origin

/** What every change of a document has: its id, its version if any, and its origin. */
abstract class ChangeRecord<Tag extends "Upsert" | "Patch" | "Delete"> extends Located<Tag> {
  readonly docId: string
  readonly version: Version | undefined
  readonly raw: string | undefined
  readonly key: string | undefined
  constructor(tag: Tag, docId: string, position: Position, options: ChangeOptions) {
    super(tag, position)
    this.docId = docId
    this.version = options.version
    this.raw = options.raw
    this.key = options.key
  }
}

class UpsertRecord extends ChangeRecord<"Upsert"> implements Upsert {
  readonly doc: unknown
  constructor(docId: string, doc: unknown, position: Position, options: ChangeOptions) {
    super("Upsert", docId, position, options)
    this.doc = doc
  }
}

class PatchRecord extends ChangeRecord<"Patch"> implements Patch {
  readonly description: Description
  constructor(docId: string, description: Description, position: Position, options: ChangeOptions) {
    super("Patch", docId, position, options)
    this.description = description
  }
}

class DeleteRecord extends ChangeRecord<"Delete"> implements Delete {}

class EventRecord extends Located<"Event"> implements Event {
  readonly eventId: string
  readonly doc: unknown
  readonly raw: string | undefined
  readonly key: string | undefined
  constructor(eventId: string, doc: unknown, position: Position, origin: Origin) {
    super("Event", position)
    this.eventId = eventId
    this.doc = doc
    this.raw = origin.raw
    this.key = origin.key
  }
}

class RejectRecord extends Located<"Reject"> implements Reject {
  readonly raw: string
  readonly reason: string
  readonly docId: string | undefined
  readonly key: string | undefined
  constructor(raw: string, reason: string, position: Position, docId: string | undefined, key: string | undefined) {
    super("Reject", position)
    this.raw = raw
    this.reason = reason
    this.docId = docId
    this.key = key
  }
}

class SkipRecord extends Located<"Skip"> implements Skip {
  readonly reason: string
  constructor(reason: string, position: Position) {
    super("Skip", position)
    this.reason = reason
  }
}

const noOptions = {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const upsert = (
  docId: string,
  doc: unknown,
  position: Position,
  options: ChangeOptions = noOptions
): Upsert => new UpsertRecord(docId, doc, position, options)

/**
 * @since 0.2.0
 * @category constructors
 */
export const patch = (
  docId: string,
  description: Description,
  position: Position,
  options: ChangeOptions = noOptions
): Patch => new PatchRecord(docId, description, position, options)

/**
 * @since 0.1.0
 * @category constructors
 */
export const remove = (docId: string, position: Position, options: ChangeOptions = noOptions): Delete =>
  new DeleteRecord("Delete", docId, position, options)

/**
 * @since 0.2.0
 * @category constructors
 */
export const event = (eventId: string, doc: unknown, position: Position, origin: Origin = noOptions): Event =>
  new EventRecord(eventId, doc, position, origin)

/**
 * @since 0.1.0
 * @category constructors
 */
export const reject = (raw: string, reason: string, position: Position, docId?: string, key?: string): Reject =>
  new RejectRecord(raw, reason, position, docId, key)

/**
 * @since 0.1.0
 * @category constructors
 */
export const skip = (reason: string, position: Position): Skip => new SkipRecord(reason, position)

/**
 * The document id a record changes (an event's id for an event), if any.
 *
 * @since 0.2.0
 * @category getters
 */
export const idOf = (input: Input): string | undefined =>
  input._tag === "Upsert" || input._tag === "Patch" || input._tag === "Delete" ? input.docId : input._tag === "Event" ? input.eventId : undefined

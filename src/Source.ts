/**
 * A source is a `Stream` of raw {@link Input} records with positions, plus the way to commit a
 * position once the fold has durably applied everything up to it. It is built without a pipeline:
 * the fold decodes each record with the schema of each pipeline it feeds, so one scan, one change
 * stream or one consumer group serves any number of pipelines.
 *
 * Its `kind` says what its records may be, and the types hold pipelines to it: a `"changes"` source
 * (updates and deletes: a change stream, Debezium records) feeds only `"changes"` pipelines (group
 * monoids, which can retract); an `"events"` source (each document or event once: a snapshot scan,
 * an append-only topic) feeds any pipeline.
 *
 * Sources read their starting position themselves when their stream starts (from the token store,
 * or from a Kafka consumer group), so a restarted run resumes after the last commit. Positions in
 * the token store belong to the source, not to a pipeline: every pipeline it feeds has applied a
 * batch before its position is committed.
 *
 * `staged` sources are those whose replay from a committed position is not byte-identical: a
 * collection scan (documents change between two scans) and a change stream whose documents are
 * looked up when read. For them the fold first writes each batch to the token store, so that a
 * batch interrupted by a crash is finished from the very same records (see `Fold`).
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { Source } from "effect-monoid-streams"
 *
 * // a user's own stream of changes: positions, commits and resumption are the source's
 * const orders = Source.fromStream("orders", Stream.make(
 *   Source.upsert("o1", { _id: "o1", customer_id: "c1", amount: 100 }),
 *   Source.remove("o1")
 * ))
 * // documents with ids (each once), and an append-only stream of events
 * const seed = Source.fromIterable("seed", [{ _id: "o2", customer_id: "c1", amount: 5 }], { id: (d) => d._id })
 * const views = Source.events("views", Stream.make({ id: "v1", page: "/" }), { id: (v) => v.id })
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Arr from "effect/Array"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import type { Input } from "./Input.ts"
import * as I from "./Input.ts"
import type { StoreError } from "./Store/StoreError.ts"
import { Tokens } from "./Store/Tokens.ts"
import type { Version } from "./Version.ts"
import * as DocumentId from "./DocumentId.ts"
import * as StoreRetry from "./internal/storeRetry.ts"
import * as TokenKeys from "./internal/tokenKeys.ts"
import { errorText } from "./internal/errorText.ts"
import { jsonText } from "./internal/jsonText.ts"
import * as ValueCodec from "./internal/valueCodec.ts"

/**
 * `"changes"`: records may update and delete documents (only group pipelines can fold them).
 * `"events"`: each document or event once (any pipeline).
 *
 * @since 0.2.0
 * @category models
 */
export type Kind = "changes" | "events"

/**
 * @since 0.1.0
 * @category models
 */
export interface Source<K extends Kind = Kind, E = never, R = never> extends Pipeable {
  /** Unique among the sources sharing a store; names the source's position in the token store. */
  readonly name: string
  readonly kind: K
  readonly records: Stream.Stream<Input, E, R>
  /** Commits the position after `last` (the last applied record of each partition). */
  readonly commit: (last: ReadonlyMap<string, Input>) => Effect.Effect<void, E | StoreError, R>
  readonly staged: boolean
  /**
   * Whether its records' strings may be cut out of larger ones that outlive each of them (the
   * JSON-Lines source cuts each line out of a block of the file). The fold then keeps copies of
   * the keys it holds on to from batch to batch, so that they keep no block alive. Absent: `false`.
   */
  readonly sharesText?: boolean | undefined
  /**
   * Whether `next`, the first record of a partition in a batch, was read by the same reader
   * without a break since `previous`, the same partition's last record of the batch before. A
   * source whose partitions move between readers (a consumer group) answers `false` after its
   * reader was given the partition again: another reader may have folded it in between, so the
   * fold reads the ledger from the store again instead of trusting what the batch before planned.
   * Absent: always (one reader owns every partition).
   */
  readonly continues?: ((previous: Input, next: Input) => boolean) | undefined
}

/**
 * A source from its parts (the low-level constructor the built-in sources use).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <K extends Kind, E, R>(parts: {
  readonly name: string
  readonly kind: K
  readonly records: Stream.Stream<Input, E, R>
  readonly commit: (last: ReadonlyMap<string, Input>) => Effect.Effect<void, E | StoreError, R>
  readonly staged?: boolean | undefined
  readonly sharesText?: boolean | undefined
  readonly continues?: ((previous: Input, next: Input) => boolean) | undefined
}): Source<K, E, R> => {
  const self: Source<K, E, R> = {
    name: parts.name,
    kind: parts.kind,
    records: parts.records,
    commit: parts.commit,
    staged: parts.staged ?? false,
    sharesText: parts.sharesText ?? false,
    continues: parts.continues,
    pipe() {
      return pipeArguments(this, arguments)
    }
  }
  return self
}

// ---------------------------------------------------------------------------------------------
// positions
// ---------------------------------------------------------------------------------------------

/**
 * The token-store scope of source positions and staged batches (they belong to a source, shared by
 * every pipeline it feeds).
 *
 * @since 0.2.0
 * @category positions
 */
export const tokenScope: string = TokenKeys.sourcesScope

/**
 * The token-store name under which a source keeps its committed position.
 *
 * @since 0.1.0
 * @category positions
 */
export const positionToken = (sourceName: string): string => TokenKeys.position(sourceName).name

/**
 * A `commit` that saves the `checkpoint` of the last record of each partition in the token store,
 * as `{ [partition]: { seq, checkpoint } }` merged into what is there. The source is the only
 * writer of its position, so after the first commit the merged value is kept in memory: one store
 * write per commit, no read.
 *
 * @since 0.1.0
 * @category positions
 */
export const commitToTokens = (sourceName: string) => {
  const key = TokenKeys.position(sourceName)
  let known: Record<string, unknown> | undefined
  // combinators, not `Effect.gen`, on this once-per-batch path (see the fold's `write`)
  return (last: ReadonlyMap<string, I.Position>): Effect.Effect<void, StoreError, Tokens> =>
    Tokens.use((tokens) => {
      const saved = known !== undefined
        ? Effect.succeed(known)
        : Effect.map(tokens.get(key.scope, key.name), (value) => TokenKeys.decodePositions(value._tag === "Some" ? value.value : undefined))
      return Effect.flatMap(saved, (before) => {
        const next: Record<string, unknown> = Object.assign(Object.create(null), before)
        for (const [partition, record] of last) next[partition] = { seq: record.seq, checkpoint: record.checkpoint ?? null }
        return Effect.map(tokens.set(key.scope, key.name, next), () => {
          known = next
        })
      })
    })
}

/**
 * Reads the committed `{ seq, checkpoint }` of one partition of a source, if any.
 *
 * @since 0.1.0
 * @category positions
 */
export const committed = (
  sourceName: string,
  partition: string
): Effect.Effect<{ readonly seq: number; readonly checkpoint: unknown } | undefined, StoreError, Tokens> =>
  Effect.gen(function*() {
    const tokens = yield* Tokens
    const key = TokenKeys.position(sourceName)
    const saved = yield* tokens.get(key.scope, key.name)
    return saved._tag === "None" ? undefined : TokenKeys.committedOf(saved.value, partition)
  })

// ---------------------------------------------------------------------------------------------
// a user's own stream
// ---------------------------------------------------------------------------------------------

/**
 * One element of a user's stream: a document's new state, its deletion, or an event. An `id` is
 * any `_id` value (a string, a number, an ObjectId...); the ledger keys documents by it (see
 * `DocumentId`). Without a `version`, a document's states are ordered by their place in the stream.
 *
 * @since 0.2.0
 * @category models
 */
export type Change =
  | { readonly _tag: "Upsert"; readonly id: unknown; readonly doc: unknown; readonly version?: Version | undefined }
  | { readonly _tag: "Delete"; readonly id: unknown; readonly version?: Version | undefined }
  | { readonly _tag: "Event"; readonly id: unknown; readonly doc: unknown }

/**
 * @since 0.2.0
 * @category constructors
 */
export const upsert = (id: unknown, doc: unknown, version?: Version): Change => ({ _tag: "Upsert", id, doc, version })

/**
 * @since 0.2.0
 * @category constructors
 */
export const remove = (id: unknown, version?: Version): Change => ({ _tag: "Delete", id, version })

/**
 * @since 0.2.0
 * @category constructors
 */
export const event = (id: unknown, doc: unknown): Change => ({ _tag: "Event", id, doc })

/**
 * @since 0.2.0
 * @category models
 */
export interface StreamOptions {
  /**
   * How a restarted run finds its place. `"replay"` (default): every run of the stream gives the
   * same elements from the start (an array, a file, a topic read from its beginning), and the
   * source drops the ones already committed. `"continue"`: every run gives only new elements (a
   * queue, a socket), and positions go on from the committed one; such a source is always staged
   * (a crashed run's last batch is kept, and finished before the next run reads), since its
   * elements cannot be read again. A staged document must be made of JSON values, `bigint`, `Map`,
   * `Set`, `Option` and sketches: an element whose document holds anything else (a `Date`, a
   * class instance) is dead-lettered with the reason.
   */
  readonly resume?: "replay" | "continue" | undefined
  /** Stage each batch before applying it (see the module doc). Default false (true with `resume: "continue"`). */
  readonly staged?: boolean | undefined
}

const toInput = (change: Change, position: I.Position): Input => {
  switch (change._tag) {
    case "Upsert":
      return I.upsert(DocumentId.fromBson(change.id), change.doc, position, { version: change.version })
    case "Delete":
      return I.remove(DocumentId.fromBson(change.id), position, { version: change.version })
    case "Event":
      return I.event(DocumentId.fromBson(change.id), change.doc, position)
  }
}

const numbered = <K extends Kind, A, E, R>(
  kind: K,
  name: string,
  stream: Stream.Stream<A, E, R>,
  toChange: (a: A) => Change,
  options: StreamOptions
): Source<K, E | StoreError, R | Tokens> => {
  const partition = `stream:${name}`
  const continues = options.resume === "continue"
  const input = (a: A, position: I.Position): Input => {
    let record: Input
    try {
      record = toInput(toChange(a), position)
    } catch (error) {
      return I.reject(rawText(a), `the source's id or document function threw: ${errorText(error)}`, position)
    }
    if (continues && (record._tag === "Upsert" || record._tag === "Event")) {
      // staged: its batch is written to the token store before it is applied
      try {
        ValueCodec.toJson(record.doc)
      } catch (error) {
        return I.reject(rawText(a), `a continuing stream is staged, and this document cannot be: ${errorText(error)}`, position)
      }
    }
    return record
  }
  const records = Stream.unwrap(Effect.gen(function*() {
    // retried as the fold's own store calls are: this read runs when the fold starts reading the
    // stream, outside its `retrying`, and one connection reset here would otherwise fail the run
    const saved = yield* StoreRetry.retrying(committed(name, partition))
    let seq = saved?.seq ?? 0
    const rest = !continues && seq > 0 ? stream.pipe(Stream.drop(seq)) : stream
    return rest.pipe(Stream.mapArray((chunk) => Arr.map(chunk, (a) => input(a, { partition, seq: ++seq }))))
  }))
  // a continuing stream does not give again what a crashed run applied but did not commit: its
  // positions would go to the next elements, which the marks would then skip as applied
  return make({ name, kind, records, commit: commitToTokens(name), staged: continues || options.staged === true })
}

/** An element as text for a dead letter: a string as it is, anything else as JSON. */
const rawText = (a: unknown): string => (typeof a === "string" ? a : jsonText(a))

/**
 * A source over a user's own `Stream` of {@link Change}s: positions, commits and resumption are
 * the source's (see {@link StreamOptions}).
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromStream = <E, R>(
  name: string,
  stream: Stream.Stream<Change, E, R>,
  options: StreamOptions = {}
): Source<"changes", E | StoreError, R | Tokens> => numbered("changes", name, stream, (change) => change, options)

/**
 * Documents with ids, each once (a list, a dump): upserts of an `"events"` source, which any
 * pipeline takes. Every run gives them again; a restart resumes after the committed one.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromIterable = <A>(
  name: string,
  documents: Iterable<A>,
  options: { readonly id: (document: A) => unknown; readonly version?: Version | undefined }
): Source<"events", StoreError, Tokens> =>
  numbered("events", name, Stream.fromIterable(documents), (doc) => upsert(options.id(doc), doc, options.version), {})

/**
 * An append-only stream of events with ids, for any pipeline. A pipeline with a ledger folds each
 * id once (an id seen again is the same event); an `"events"` pipeline keeps no ledger and counts
 * every element (see `Pipeline.events`). An element whose `id` or `doc` function throws is
 * dead-lettered with the reason.
 *
 * @since 0.2.0
 * @category constructors
 */
export const events = <A, E, R>(
  name: string,
  stream: Stream.Stream<A, E, R>,
  options: { readonly id: (element: A) => unknown; readonly doc?: ((element: A) => unknown) | undefined } & StreamOptions
): Source<"events", E | StoreError, R | Tokens> =>
  numbered("events", name, stream, (a) => event(options.id(a), options.doc === undefined ? a : options.doc(a)), options)

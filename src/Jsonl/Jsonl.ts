/**
 * JSON-Lines files as sources: one record per line, resumable from a byte offset.
 *
 * The position of a line is the file's partition and the line number; its checkpoint is the byte
 * offset just after it, so a restarted run seeks straight to the first uncommitted line instead
 * of re-reading the file. A file is treated as an immutable log: appending is fine, rewriting
 * lines that were already committed is not. The commit keeps the 32 bytes before its offset, and
 * a run that finds other bytes there (a file rotated or rewritten under the same name) fails
 * instead of reading the new file from the middle: give a new file a name of its own (and see
 * `JsonlChanges` for a history split over several files). A last line
 * without its newline is read if it decodes (a file whose last line lacks one); one that does not
 * decode is taken for a line a writer is in the middle of, and left for a later run, with a warning.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConfigurationError, SourceError } from "../Errors.ts"
import type { Input, Position } from "../Input.ts"
import * as I from "../Input.ts"
import { defaultMaxLineBytes, lines, tailAt } from "../internal/lines.ts"
import type { Tokens } from "../Store/Tokens.ts"
import * as Source from "../Source.ts"
import { commitToTokens, committed, type Kind } from "../Source.ts"
import { errorText } from "../internal/errorText.ts"
import * as StoreRetry from "../internal/storeRetry.ts"

/** A committed checkpoint: an offset (as written before the tail was kept), or an offset and the bytes before it. */
const checkpointOf = (checkpoint: unknown): { readonly start: number; readonly tail: string | undefined } => {
  if (typeof checkpoint === "number") return { start: checkpoint, tail: undefined }
  if (typeof checkpoint === "object" && checkpoint !== null) {
    const { offset, tail } = checkpoint as { offset?: unknown; tail?: unknown }
    if (typeof offset === "number") return { start: offset, tail: typeof tail === "string" && /^(?:[0-9a-f]{2})*$/.test(tail) ? tail : undefined }
  }
  return { start: 0, tail: undefined }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * Lines per emitted chunk, which the fold takes as a batch (split at its `batchSize`). Default
   * 2000, the fold's default `batchSize`.
   */
  readonly chunkSize?: number
  /**
   * Longer lines are rejected (dead-lettered with their first KiB) instead of read. Default 64 MiB:
   * a MongoDB document is at most 16 MiB of BSON, and a Debezium record carries it as JSON text
   * inside JSON, possibly twice (before and after), which can take more than 16 MiB (no bound
   * holds for every document: raise it if the dead letters show such lines). A change line
   * rejected so names no document, so its document keeps its contribution from before until its
   * next change that is read.
   */
  readonly maxLineBytes?: number
}

/**
 * A JSON-Lines source. `decode` turns one line into a record at `position`. A line it cannot read
 * is best returned as a reject (`Input.reject`); a `decode` that throws dead-letters its line all
 * the same, with what it threw as the reason, and the fold goes on (a malformed line in a file
 * must not stop a worker: `JSON.parse` throws on one).
 *
 * A line's text is a piece of a block of the file (1 MiB), and so is any piece cut out of it with
 * `slice`, `split` or a regular expression: a piece kept for long keeps its whole block alive. The
 * fold keeps copies of the aggregate keys it holds on to (the source says its text is shared:
 * `Source.sharesText`), and dead letters keep copies of their lines. A document id is kept as
 * given, by the ledger of a `"changes"` pipeline on the in-memory store: `JSON.parse` copies what it
 * returns, but a decode that cuts the id out of the line should copy it
 * (`JSON.parse(JSON.stringify(id))` copies any string exactly).
 *
 * A document that `decode` builds itself is best built by a class, not as an object literal
 * (`JSON.parse` builds neither way, and needs nothing). The fold keeps a batch's records alive
 * while the batch is written; V8, finding many objects of one literal alive at a young-generation
 * collection, then allocates every later object of that literal straight in the old generation,
 * where each one waits for a full collection. On the benchmark's whole process that reads each
 * line by its layout, a literal took 1.27 s and 276 MiB at its peak, a class 1.17 s and 183 MiB
 * (`node dist/bench/process/events.js library <file> <totals> positional-literal|positional`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <K extends Kind>(options: {
  readonly name: string
  readonly kind: K
  readonly path: string
  readonly partition: string
  /**
   * One line as a record, or why the file cannot be folded at all (the run fails with a
   * `ConfigurationError`). What it throws dead-letters the line.
   */
  readonly decode: (text: string, position: Position) => Input | { readonly _tag: "Unsupported"; readonly reason: string }
  /**
   * The file is whole when read (a snapshot dump, which is read once): a last line without its
   * newline that does not decode is dead-lettered like any other, not left for a later run that a
   * finished bootstrap never makes. Default false (a live file, which a writer may be appending to).
   */
  readonly complete?: boolean | undefined
} & Options): Source.Source<K, SourceError | ConfigurationError, Tokens> => {
  const { name, kind, path, partition, decode } = options
  const complete = options.complete === true
  const decodeLine = (text: string, position: Position) => {
    try {
      return decode(text, position)
    } catch (error) {
      return I.reject(text, `the decode function threw: ${errorText(error)}`, position)
    }
  }
  /** The tail of each chunk's last line by its offset, until committed (see `commit`). */
  const tails = new Map<number, string>()
  /** The `dev:ino` of the file being read (for `tailAt`). */
  let identity = ""
  const inputs = Stream.unwrap(
    Effect.gen(function*() {
      const saved = yield* StoreRetry.retrying(committed(name, partition)).pipe(
        Effect.mapError((cause) => new SourceError({ source: name, retryable: cause.retryable, detail: "reading the committed position failed", cause }))
      )
      const { start, tail } = checkpointOf(saved?.checkpoint)
      const firstLine = saved === undefined ? 1 : saved.seq + 1
      const chunks = Stream.fromAsyncIterable(
        lines(path, partition, start, firstLine, { ...options, tail, onIdentity: (id) => (identity = id) }),
        (cause) => new SourceError({ source: name, retryable: false, detail: `reading ${path} failed: ${errorText(cause)}`, cause })
      )
      return chunks.pipe(
        Stream.mapEffect(({ oversized, positions, tail, texts, unterminated }) => {
          tails.set((positions[positions.length - 1] as Position & { readonly checkpoint: number }).checkpoint, tail)
          const out: Array<Input> = []
          for (let i = 0; i < texts.length; i++) {
            const position = positions[i]!
            const tooLong = oversized.length > 0 && oversized.includes(i)
            const input = tooLong
              ? I.reject(texts[i]!, `line ${position.seq} is longer than ${options.maxLineBytes ?? defaultMaxLineBytes} bytes`, position)
              : decodeLine(texts[i]!, position)
            if (input._tag === "Unsupported") return Effect.fail(new ConfigurationError({ detail: `${path} line ${position.seq}: ${input.reason}` }))
            // a last line without its newline that does not decode is a line being written: it is
            // left (uncommitted) for a later run, which reads it whole
            if (unterminated && !complete && i === texts.length - 1 && !tooLong && input._tag === "Reject") {
              return Effect.as(
                Effect.logWarning(`${path} ends with line ${position.seq} unterminated and unreadable: left for a later run (${input.reason})`),
                out
              )
            }
            out.push(input)
          }
          return Effect.succeed(out)
        }),
        Stream.filter((chunk): chunk is [Input, ...Array<Input>] => chunk.length > 0),
        Stream.flattenArray
      )
    })
  )
  const save = commitToTokens(name)
  /**
   * Commits each offset with the bytes before it: read with its chunk when it ends one (the usual
   * case: the fold's batches are the source's chunks), else from the file, which must still be the
   * one read (`tailAt`).
   */
  const commit = (last: ReadonlyMap<string, Input>) =>
    Effect.flatMap(
      Effect.forEach(last, ([p, record]) => {
        const offset = record.checkpoint as number
        const known = tails.get(offset)
        const tail = known !== undefined ? Effect.succeed(known) : Effect.tryPromise({
          try: () => tailAt(path, offset, identity),
          catch: (cause) => new SourceError({ source: name, retryable: false, detail: `reading ${path} before committing failed: ${errorText(cause)}`, cause })
        })
        return Effect.map(tail, (tail): [string, Position] => [p, { partition: record.partition, seq: record.seq, checkpoint: { offset, tail } }])
      }),
      (entries) =>
        Effect.map(save(new Map(entries)), () => {
          for (const [, record] of last) for (const offset of tails.keys()) if (offset <= (record.checkpoint as number)) tails.delete(offset)
        })
    )
  return Source.make({
    name,
    kind,
    records: inputs as Stream.Stream<Input, SourceError | ConfigurationError, Tokens>,
    commit,
    sharesText: true
  })
}

/**
 * JSON-Lines files as sources: one record per line, resumable from a byte offset.
 *
 * The position of a line is the file's partition and the line number; its checkpoint is the byte
 * offset just after it, so a restarted run seeks straight to the first uncommitted line instead
 * of re-reading the file. A file is treated as an immutable log: appending is fine, rewriting
 * lines that were already committed is not (give a rewritten file another name).
 *
 * @since 0.1.0
 */
import { open } from "node:fs/promises"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConfigurationError, SourceError } from "../Errors.ts"
import type { Input, Position } from "../Input.ts"
import * as I from "../Input.ts"
import type { Tokens } from "../Store/Tokens.ts"
import * as Source from "../Source.ts"
import { commitToTokens, committed, type Kind } from "../Source.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Lines per emitted chunk (the fold's batch). Default 1000. */
  readonly chunkSize?: number
  /** Longer lines are rejected (dead-lettered with their first KiB) instead of read. Default 8 MiB. */
  readonly maxLineBytes?: number
}

interface Line {
  readonly text: string
  /** 1-based line number */
  readonly number: number
  /** byte offset just after the line's newline */
  readonly end: number
  readonly oversized: boolean
}

const NEWLINE = 0x0a
const BLOCK = 1 << 20

async function* lines(path: string, start: number, firstLine: number, options: Options): AsyncGenerator<ReadonlyArray<Line>> {
  const chunkSize = Math.max(1, options.chunkSize ?? 1000)
  const maxLine = options.maxLineBytes ?? 8 * 1024 * 1024
  const file = await open(path, "r")
  try {
    const { size } = await file.stat()
    if (start > size) {
      throw new Error(`the committed offset ${start} is past the end of the file (${size} bytes): the file was replaced or truncated`)
    }
    const block = Buffer.allocUnsafe(BLOCK)
    let pending: Array<Buffer> = []
    let pendingBytes = 0
    let oversized = false
    let offset = start
    let number = firstLine
    let out: Array<Line> = []
    const finish = (tail: Buffer, end: number) => {
      const bytes = pendingBytes + tail.length
      let text: string
      if (oversized || bytes > maxLine) {
        const head = Buffer.concat([...pending, tail]).subarray(0, 1024)
        text = head.toString("utf8")
        out.push({ text, number, end, oversized: true })
      } else {
        text = (pending.length === 0 ? tail : Buffer.concat([...pending, tail])).toString("utf8")
        if (text.trim().length > 0) out.push({ text, number, end, oversized: false })
      }
      number++
      pending = []
      pendingBytes = 0
      oversized = false
    }
    while (true) {
      const { bytesRead } = await file.read(block, 0, BLOCK, offset)
      if (bytesRead === 0) break
      const view = block.subarray(0, bytesRead)
      let from = 0
      while (from < view.length) {
        const nl = view.indexOf(NEWLINE, from)
        if (nl < 0) {
          const rest = view.subarray(from)
          if (!oversized) {
            if (pendingBytes + rest.length > maxLine) {
              // keep only the head for the dead letter
              if (pendingBytes < 1024) pending.push(Buffer.from(rest.subarray(0, 1024)))
              oversized = true
            } else pending.push(Buffer.from(rest))
            pendingBytes += rest.length
          }
          break
        }
        finish(view.subarray(from, nl), offset + nl + 1)
        from = nl + 1
        if (out.length >= chunkSize) {
          yield out
          out = []
        }
      }
      offset += bytesRead
    }
    // the last line may lack its newline
    if (pendingBytes > 0 || oversized) finish(Buffer.alloc(0), offset)
    if (out.length > 0) yield out
  } finally {
    await file.close()
  }
}

/**
 * A JSON-Lines source. `decode` turns one line into a record at `position`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <K extends Kind>(options: {
  readonly name: string
  readonly kind: K
  readonly path: string
  readonly partition: string
  /** One line as a record, or why the file cannot be folded at all (the run fails with a `ConfigurationError`). */
  readonly decode: (text: string, position: Position) => Input | { readonly _tag: "Unsupported"; readonly reason: string }
} & Options): Source.Source<K, SourceError | ConfigurationError, Tokens> => {
  const { name, kind, path, partition, decode } = options
  const inputs = Stream.unwrap(
    Effect.gen(function*() {
      const saved = yield* committed(name, partition).pipe(
        Effect.mapError((cause) => new SourceError({ source: name, retryable: cause.retryable, detail: "reading the committed position failed", cause }))
      )
      const start = typeof saved?.checkpoint === "number" ? saved.checkpoint : 0
      const firstLine = saved === undefined ? 1 : saved.seq + 1
      const chunks = Stream.fromAsyncIterable(
        lines(path, start, firstLine, options),
        (cause) => new SourceError({ source: name, retryable: false, detail: `reading ${path} failed`, cause })
      )
      return chunks.pipe(
        Stream.mapEffect((chunk) => {
          const out: Array<Input> = []
          for (const line of chunk) {
            const position: Position = { partition, seq: line.number, checkpoint: line.end }
            const input = line.oversized
              ? I.reject(line.text, `line ${line.number} is longer than ${options.maxLineBytes ?? 8 * 1024 * 1024} bytes`, position)
              : decode(line.text, position)
            if (input._tag === "Unsupported") return Effect.fail(new ConfigurationError({ detail: `${path} line ${line.number}: ${input.reason}` }))
            out.push(input)
          }
          return Effect.succeed(out)
        }),
        Stream.filter((chunk): chunk is [Input, ...Array<Input>] => chunk.length > 0),
        Stream.flattenArray
      )
    })
  )
  return Source.make({ name, kind, records: inputs as Stream.Stream<Input, SourceError | ConfigurationError, Tokens>, commit: commitToTokens(name) })
}

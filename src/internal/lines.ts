/**
 * The lines of a file from a byte offset, in chunks of up to `chunkSize`: each line's text and its
 * position (the partition given, the 1-based line number as `seq`, the byte offset just after the
 * line as `checkpoint`). Blank lines are counted, not returned; a line longer than `maxLineBytes`
 * comes back as its first KiB, its index in `oversized`. A last line without its newline comes
 * back too, flagged `unterminated` (a writer may be in the middle of it). A UTF-8 byte order
 * mark at the start of the file is skipped. The file is read in blocks of `blockBytes` (default
 * 1 MiB).
 *
 * Machinery of the JSON-Lines source (`Jsonl`).
 */
import { type FileHandle, open } from "node:fs/promises"
import type { Position } from "../Input.ts"

/** Lines side by side: `texts[i]` is at `positions[i]`. */
export interface Lines {
  readonly texts: Array<string>
  readonly positions: Array<Position>
  /** The indexes of the oversized lines (their text is their first KiB). */
  readonly oversized: Array<number>
  /** Whether the last of `texts` is the file's last line and has no newline after it (yet). */
  unterminated: boolean
  /**
   * The bytes before the last position's checkpoint, as `tailAt` gives them: taken from the block
   * the lines were cut from (from this very file, and with no read of its own: a read a chunk cost
   * `events-1m-process` 5%), or read at the file's end.
   */
  tail: string
}

/** A line's position: a class, not a literal (see the record classes of `Input`: no pretenuring). */
class LinePosition implements Position {
  readonly partition: string
  readonly seq: number
  readonly checkpoint: number
  constructor(partition: string, seq: number, checkpoint: number) {
    this.partition = partition
    this.seq = seq
    this.checkpoint = checkpoint
  }
}

const empty = (): Lines => ({ texts: [], positions: [], oversized: [], unterminated: false, tail: "" })

const NEWLINE = 0x0a
/**
 * The default longest line: 64 MiB. A MongoDB document is at most 16 MiB of BSON; a Debezium
 * record can carry it twice (`before` and `after`) as JSON text inside JSON, where escaping can
 * double it.
 */
export const defaultMaxLineBytes = 64 * 1024 * 1024

/** How many bytes before a committed offset identify the file (see {@link tailAt}). */
const TAIL_BYTES = 32

const readTail = async (file: FileHandle, offset: number): Promise<string> => {
  const from = Math.max(0, offset - TAIL_BYTES)
  const buffer = Buffer.alloc(offset - from)
  const { bytesRead } = await file.read(buffer, 0, buffer.length, from)
  return buffer.subarray(0, bytesRead).toString("hex")
}

/**
 * The (up to) {@link TAIL_BYTES} bytes before `offset` in `path`, as hex: kept with a committed
 * offset, so that a run resuming at it can tell the file it reads is the one committed (a file
 * replaced under the same name, as log rotation does, would otherwise be read from the middle).
 * The reader gives the tail of each chunk's last line with the chunk (`Lines.tail`); this is for
 * a commit at another line. `identity` (`dev:ino` of the file the lines were read from) must
 * still be the path's: a file replaced since has other bytes there.
 */
export const tailAt = async (path: string, offset: number, identity: string): Promise<string> => {
  const file = await open(path, "r")
  try {
    const stats = await file.stat()
    if (`${stats.dev}:${stats.ino}` !== identity) throw new Error(`${path} was replaced while it was read: give a new file a name of its own`)
    return await readTail(file, offset)
  } finally {
    await file.close()
  }
}

/** What an oversized line keeps: its first KiB. */
const HEAD = 1024

export async function* lines(
  path: string,
  partition: string,
  start: number,
  firstLine: number,
  options: {
    readonly chunkSize?: number | undefined
    readonly maxLineBytes?: number | undefined
    readonly blockBytes?: number | undefined
    /** The bytes before `start` when it was committed (`tailAt`): checked before reading on. */
    readonly tail?: string | undefined
    /** Told the file's `dev:ino` once it is open (for `tailAt`). */
    readonly onIdentity?: ((identity: string) => void) | undefined
  }
): AsyncGenerator<Lines> {
  const chunkSize = Math.max(1, options.chunkSize ?? 2000)
  const maxLine = options.maxLineBytes ?? defaultMaxLineBytes
  const blockSize = options.blockBytes ?? 1 << 20
  const file = await open(path, "r")
  /** The end of the latest read, failed or not (awaited before the file is closed). */
  let settled: Promise<void> = Promise.resolve()
  /**
   * Starts reading a block. The read may fail while the generator waits at a `yield`: a handler is
   * attached at once (a rejection with none would end the process), and the loop's `await` still
   * gets the failure.
   */
  const read = (into: Buffer, at: number) => {
    const reading = file.read(into, 0, into.length, at)
    settled = reading.then(() => undefined, () => undefined)
    return reading
  }
  try {
    const { size, dev, ino } = await file.stat()
    options.onIdentity?.(`${dev}:${ino}`)
    if (start > size) {
      throw new Error(`the committed offset ${start} is past the end of the file (${size} bytes): the file was replaced or truncated`)
    }
    if (options.tail !== undefined && await readTail(file, start) !== options.tail) {
      throw new Error(
        `the bytes before the committed offset ${start} are not those committed: the file was replaced (rotated, rewritten); ` +
          "give a new file a name of its own"
      )
    }
    // two blocks: the file reads the next one while this one is cut into lines (each line's text
    // is copied out of its block, so a block is free again once cut)
    const blocks = [Buffer.allocUnsafe(blockSize), Buffer.allocUnsafe(blockSize)]
    let current = 0
    let pending: Array<Buffer> = []
    let pendingBytes = 0
    /** The bytes of the pending line held in `pending` (an oversized line's first KiB only). */
    let kept = 0
    let oversized = false
    let offset = start
    let number = firstLine
    let out = empty()
    const push = (text: string, seq: number, checkpoint: number, oversized: boolean) => {
      if (oversized) out.oversized.push(out.texts.length)
      out.texts.push(text)
      out.positions.push(new LinePosition(partition, seq, checkpoint))
    }
    const finish = (tail: Buffer, end: number) => {
      const bytes = pendingBytes + tail.length
      let text: string
      if (oversized || bytes > maxLine) {
        const head = Buffer.concat([...pending, tail]).subarray(0, HEAD)
        text = head.toString("utf8")
        push(text, number, end, true)
      } else {
        text = (pending.length === 0 ? tail : Buffer.concat([...pending, tail])).toString("utf8")
        if (text.trim().length > 0) push(text, number, end, false)
      }
      number++
      pending = []
      pendingBytes = 0
      kept = 0
      oversized = false
    }
    let next = read(blocks[current]!, offset)
    while (true) {
      const { bytesRead } = await next
      if (bytesRead === 0) break
      const view = blocks[current]!.subarray(0, bytesRead)
      current = 1 - current
      next = read(blocks[current]!, offset + bytesRead)
      // a UTF-8 byte order mark at the start of the file is not part of its first line
      let from = offset === 0 && view[0] === 0xef && view[1] === 0xbb && view[2] === 0xbf ? 3 : 0
      /** Cleared once the block is found to hold a multi-byte character. */
      let ascii = true
      while (from < view.length) {
        // The block's whole lines at once, as one string cut into lines: much cheaper than a string
        // per line. Only for ASCII text (a character per byte: a line's end is its byte offset),
        // and after any line begun in an earlier block has ended.
        if (ascii && pendingBytes === 0 && !oversized) {
          const last = view.lastIndexOf(NEWLINE)
          const text = last < from ? "" : view.toString("utf8", from, last + 1)
          ascii = text.length === last + 1 - from
          if (ascii && text.length > 0) {
            const base = offset + from
            for (let at = 0; at < text.length;) {
              const nl = text.indexOf("\n", at)
              const line = text.slice(at, nl)
              if (line.length > maxLine) push(line.slice(0, HEAD), number, base + nl + 1, true)
              else if (line.length > 0 && (line.charCodeAt(0) > 32 || line.trim().length > 0)) {
                push(line, number, base + nl + 1, false)
              }
              number++
              at = nl + 1
              if (out.texts.length >= chunkSize) {
                // the line just pushed ends the chunk: its tail is in the text (one character a byte)
                out.tail = at >= TAIL_BYTES ? Buffer.from(text.slice(at - TAIL_BYTES, at), "latin1").toString("hex") : await readTail(file, base + at)
                yield out
                out = empty()
              }
            }
            from = last + 1
            continue
          }
        }
        const nl = view.indexOf(NEWLINE, from)
        if (nl < 0) {
          const rest = view.subarray(from)
          if (pendingBytes + rest.length > maxLine) oversized = true
          // an oversized line keeps only its first KiB (for its dead letter)
          const room = oversized ? HEAD - kept : rest.length
          if (room > 0) {
            const piece = Buffer.from(rest.subarray(0, room))
            pending.push(piece)
            kept += piece.length
          }
          pendingBytes += rest.length
          break
        }
        finish(view.subarray(from, nl), offset + nl + 1)
        from = nl + 1
        if (out.texts.length >= chunkSize) {
          // the line just pushed ends the chunk, at nl + 1 in the block
          out.tail = nl + 1 >= TAIL_BYTES ? view.toString("hex", nl + 1 - TAIL_BYTES, nl + 1) : await readTail(file, offset + nl + 1)
          yield out
          out = empty()
        }
      }
      offset += bytesRead
    }
    // the last line may lack its newline
    if (pendingBytes > 0 || oversized) {
      const before = out.texts.length
      finish(Buffer.alloc(0), offset)
      out.unterminated = out.texts.length > before
    }
    if (out.texts.length > 0) {
      out.tail = await readTail(file, (out.positions[out.positions.length - 1] as LinePosition).checkpoint)
      yield out
    }
  } finally {
    // a reader that stops early leaves a read under way: let it end before closing the file
    await settled
    await file.close()
  }
}

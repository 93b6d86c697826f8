/**
 * The JSON-Lines source's line reader against a plain split of the file's bytes: every line's
 * text, number and end offset, over ASCII and multi-byte text, blank and CRLF lines, lines longer
 * than the limit, a missing last newline, blocks far smaller than a line, and a resume from any
 * line's end offset; each chunk's tail (the bytes before its last line's end); a reader stopped
 * early closes its file.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { lines } from "../../src/internal/lines.ts"

interface Expected {
  readonly text: string
  readonly number: number
  readonly end: number
  readonly oversized: boolean
}

/** The lines of `bytes` from `start`, split by hand. */
const reference = (bytes: Buffer, start: number, firstLine: number, maxLine: number): Array<Expected> => {
  const out: Array<Expected> = []
  let from = start
  let number = firstLine
  while (from < bytes.length) {
    const nl = bytes.indexOf(0x0a, from)
    const end = nl < 0 ? bytes.length : nl + 1
    const line = bytes.subarray(from, nl < 0 ? bytes.length : nl)
    if (line.length > maxLine) out.push({ text: line.subarray(0, 1024).toString("utf8"), number, end, oversized: true })
    else if (line.toString("utf8").trim().length > 0) out.push({ text: line.toString("utf8"), number, end, oversized: false })
    number++
    from = end
  }
  return out
}

const read = async (path: string, start: number, firstLine: number, options: Parameters<typeof lines>[4]) => {
  const out: Array<Expected> = []
  const bytes = readFileSync(path)
  for await (const chunk of lines(path, "p", start, firstLine, options)) {
    expect(chunk.texts.length).toBeGreaterThan(0)
    // the 32 bytes before the chunk's last line's end, as the file holds them
    const end = chunk.positions[chunk.positions.length - 1]!.checkpoint as number
    expect(chunk.tail).toBe(bytes.subarray(Math.max(0, end - 32), end).toString("hex"))
    expect(chunk.texts.length).toBeLessThanOrEqual(options.chunkSize ?? 2000)
    expect(chunk.positions.length).toBe(chunk.texts.length)
    chunk.texts.forEach((text, i) => {
      const { checkpoint, partition, seq } = chunk.positions[i]!
      expect(partition).toBe("p")
      out.push({ text, number: seq, end: checkpoint as number, oversized: chunk.oversized.includes(i) })
    })
  }
  return out
}

const line = fc.oneof(
  { weight: 6, arbitrary: fc.json({ maxDepth: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => JSON.stringify({ s })) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "\t", "\r", "{\"a\":1}\r", "  {\"b\":2}") },
  { weight: 1, arbitrary: fc.string({ minLength: 40, maxLength: 120 }) }
)

describe("the JSON-Lines line reader", () => {
  const dir = mkdtempSync(join(tmpdir(), "lines-"))
  let n = 0
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("reads what a plain split of the bytes reads, from any line's end", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 60 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 30, max: 2000 }),
        fc.nat(),
        async (texts, finalNewline, blockBytes, chunkSize, maxLineBytes, pick) => {
          const body = texts.join("\n") + (finalNewline && texts.length > 0 ? "\n" : "")
          const path = join(dir, `f${n++}.jsonl`)
          writeFileSync(path, body)
          const bytes = Buffer.from(body, "utf8")
          const options = { blockBytes, chunkSize, maxLineBytes }
          const all = reference(bytes, 0, 1, maxLineBytes)
          expect(await read(path, 0, 1, options)).toEqual(all)
          // a resume from a committed line: its end offset, and the next line's number
          if (all.length > 0) {
            const at = all[pick % all.length]!
            expect(await read(path, at.end, at.number + 1, options)).toEqual(reference(bytes, at.end, at.number + 1, maxLineBytes))
          }
        }
      ),
      { numRuns: 400 }
    )
  })

  it("cuts lines out of blocks of ASCII text and out of blocks with multi-byte characters alike", async () => {
    const path = join(dir, "mixed.jsonl")
    const rows = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i, name: i % 7 === 0 ? `café-${i}-€` : `n${i}` }))
    writeFileSync(path, rows.join("\n") + "\n")
    const got = await read(path, 0, 1, { blockBytes: 4096, chunkSize: 333 })
    expect(got.map((l) => l.text)).toEqual(rows)
    expect(got.at(-1)!.end).toBe(Buffer.byteLength(rows.join("\n") + "\n"))
  })

  // the reader reads the next block ahead: a reader stopped early leaves a read under way
  it.runIf(process.platform === "linux")("closes the file when its reader stops early", async () => {
    const path = join(dir, "early.jsonl")
    writeFileSync(path, Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i })).join("\n") + "\n")
    /** How many of this process's file descriptors are open on `path`. */
    const openOnPath = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === path
        } catch {
          return false // a descriptor closed while listing
        }
      }).length
    let first: string | undefined
    for await (const chunk of lines(path, "p", 0, 1, { blockBytes: 4096, chunkSize: 10 })) {
      first = chunk.texts[0]
      expect(openOnPath()).toBe(1)
      break
    }
    expect(first).toBe(JSON.stringify({ i: 0 }))
    expect(openOnPath()).toBe(0)
  })
})

/**
 * Test sources over in-memory arrays that behave like the real ones on restart: they resume after
 * the committed position (read from the real token store), and deliver the rest in chunks of
 * random sizes, so a replay after a crash has other batch boundaries than the crashed run.
 */
import { Effect, Stream } from "effect"
import type { Handoff } from "../../src/Handoff.ts"
import type { Input } from "../../src/Input.ts"
import * as Debezium from "../../src/Kafka/Debezium.ts"
import * as Source from "../../src/Source.ts"
import { commitToTokens, committed } from "../../src/Source.ts"
import type { StoreError } from "../../src/Store/StoreError.ts"
import type { Tokens } from "../../src/Store/Tokens.ts"
import * as Version from "../../src/Version.ts"
import type { LogRecord, SnapshotRow } from "./history.ts"
import type { Random } from "./random.ts"

const chunked = <A>(items: ReadonlyArray<A>, r: Random, maxChunk: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length;) {
    const n = r.int(1, maxChunk)
    out.push(items.slice(i, i + n))
    i += n
  }
  return out
}

const hash = (s: string): number => {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return h >>> 0
}

/**
 * A Kafka-like change log: records spread over `partitions` by key, each partition's seq is its
 * offset; a restart resumes every partition after its committed offset and interleaves them anew.
 */
export const changeLog = (
  log: ReadonlyArray<LogRecord>,
  options: {
    readonly partitions: number
    readonly random: Random
    readonly maxChunk: number
    readonly name?: string
    /** As the decoder's (default "position"). */
    readonly ordering?: Debezium.Ordering | undefined
    readonly namespace?: { readonly db: string; readonly collection: string } | undefined
  }
): Source.Source<"changes", StoreError, Tokens> => {
  const name = options.name ?? "test-log"
  const decode = Debezium.decoder({ ordering: options.ordering, namespace: options.namespace })
  const byPartition: Array<Array<Input>> = Array.from({ length: options.partitions }, () => [])
  for (const rec of log) {
    const p = hash(rec.key) % options.partitions
    const list = byPartition[p]!
    const position = { partition: `log/${p}`, seq: list.length }
    const decoded = decode(rec.key, rec.value)
    if (decoded._tag === "Unsupported") throw new Error(decoded.reason)
    list.push(Debezium.toInput(decoded, rec.value ?? "null", position))
  }
  const inputs = Stream.unwrap(Effect.gen(function*() {
    const remaining: Array<Array<Input>> = []
    for (let p = 0; p < options.partitions; p++) {
      const saved = yield* Effect.orDie(committed(name, `log/${p}`))
      remaining.push(byPartition[p]!.filter((rec) => saved === undefined || rec.seq > saved.seq))
    }
    // interleave partitions randomly, keeping each partition's order
    const merged: Array<Input> = []
    const heads = remaining.map(() => 0)
    while (true) {
      const open = remaining.map((list, p) => (heads[p]! < list.length ? p : -1)).filter((p) => p >= 0)
      if (open.length === 0) break
      const p = options.random.pick(open)
      const take = options.random.int(1, 5)
      for (let k = 0; k < take && heads[p]! < remaining[p]!.length; k++) merged.push(remaining[p]![heads[p]!++]!)
    }
    return Stream.fromArrays(...chunked(merged, options.random, options.maxChunk))
  }))
  return Source.make({ name, kind: "changes", records: inputs, commit: commitToTokens(name) })
}

/**
 * A collection scan in `_id` order at the handoff version: resumes after the committed `_id`, and
 * every (re)start reads the collection as it is then (`scans[attempt]`, the last one repeating),
 * like a real scan racing concurrent writers. Rows are read from their canonical Extended-JSON
 * text, as from a collection dump. `staged` as the real MongoDB scan would be.
 */
export const snapshotScan = (
  scans: ReadonlyArray<ReadonlyArray<SnapshotRow>>,
  handoff: Handoff,
  options: { readonly random: Random; readonly maxChunk: number; readonly staged: boolean; readonly attempt: () => number }
): Source.Source<"events", StoreError, Tokens> => {
  const name = "test-scan"
  const partition = `scan@${Version.format(handoff.version)}`
  const decode = Debezium.plainDecoder()
  const inputs = Stream.unwrap(Effect.gen(function*() {
    const saved = yield* Effect.orDie(committed(name, partition))
    const lastId = typeof saved?.checkpoint === "string" ? saved.checkpoint : undefined
    const rows = scans[Math.min(options.attempt(), scans.length - 1)]!.filter((row) => lastId === undefined || row.order > lastId)
    let seq = saved?.seq ?? 0
    const inputs = rows.map((row) => {
      const position = { partition, seq: ++seq, checkpoint: row.order }
      return Debezium.toInput(decode(row.text, handoff.version), row.text, position)
    })
    return Stream.fromArrays(...chunked(inputs, options.random, options.maxChunk))
  }))
  return Source.make({ name, kind: "events", records: inputs, commit: commitToTokens(name), staged: options.staged })
}

/**
 * Seeded generator of change histories for one MongoDB-like collection of orders, and the plain
 * reference computation the fold is checked against (group-by-sum over the final documents).
 *
 * A history has a handoff version P0, a snapshot (each document read at some moment at or after
 * P0, as a concurrent scan sees it), and a change log of Kafka-like records (Debezium envelopes as
 * JSON text): inserts, amount updates, customer moves, deletes, re-inserts of deleted ids,
 * redeliveries of earlier records, out-of-date records, tombstones and malformed records.
 */
import * as Rand from "./random.ts"

export interface Doc {
  readonly _id: string
  readonly customer_id: string
  readonly amount: number
}

export interface LogRecord {
  /** The Kafka record key and value as they would be on the topic (value null = tombstone). */
  readonly key: string
  readonly value: string | null
  readonly docId: string | undefined
  /** `malformed` records must end up dead-lettered. */
  readonly kind: "insert" | "update" | "move" | "delete" | "redeliver" | "stale" | "tombstone" | "malformed"
  readonly version: readonly [number, number] | undefined
}

export interface History {
  readonly p0: readonly [number, number]
  readonly snapshot: ReadonlyArray<Doc>
  /** Another valid snapshot (documents read at other moments after P0): what a re-scan after a crash may see. */
  readonly rescan: ReadonlyArray<Doc>
  readonly log: ReadonlyArray<LogRecord>
  readonly final: ReadonlyMap<string, Doc>
  readonly malformed: number
}

export interface Options {
  readonly docs?: number
  readonly ops?: number
  readonly customers?: number
}

const envelope = (op: "c" | "u" | "d", doc: Doc | undefined, version: readonly [number, number]) =>
  JSON.stringify({
    op,
    after: doc === undefined ? null : JSON.stringify(doc),
    source: { ts_ms: version[0], ord: version[1] }
  })

const keyOf = (id: string) => JSON.stringify({ id: JSON.stringify(id) })

export const generate = (seed: number, options: Options = {}): History => {
  const r = Rand.make(seed)
  const customers = Array.from({ length: options.customers ?? 6 }, (_, i) => `cust-${i}`)
  const maxDocs = options.docs ?? 25
  const ops = options.ops ?? 120
  const current = new Map<string, Doc>()
  /** per doc: [time index, state or undefined (deleted)] */
  const timeline = new Map<string, Array<readonly [number, Doc | undefined]>>()
  const log: Array<LogRecord> = []
  let nextId = 0
  let t = 1
  let malformed = 0
  const version = (): readonly [number, number] => {
    t += r.int(0, 2)
    const v: readonly [number, number] = [t * 1000, r.int(1, 3)]
    t++
    return v
  }
  const record = (kind: LogRecord["kind"], op: "c" | "u" | "d", id: string, doc: Doc | undefined) => {
    const v = version()
    log.push({ key: keyOf(id), value: envelope(op, doc, v), docId: id, kind, version: v })
    const line = timeline.get(id) ?? []
    line.push([log.length - 1, doc])
    timeline.set(id, line)
    if (doc === undefined) current.delete(id)
    else current.set(id, doc)
  }
  const amount = () => (r.chance(0.1) ? -r.int(1, 5000) : r.int(0, 100_000))
  const p0Index = r.int(Math.floor(ops / 4), Math.floor((ops * 3) / 4))
  let p0: readonly [number, number] = [0, 0]
  for (let i = 0; i < ops; i++) {
    if (i === p0Index) {
      p0 = [t * 1000, 0]
      t++
    }
    const live = Array.from(current.keys())
    const deleted = Array.from(timeline.keys()).filter((id) => !current.has(id))
    const roll = r.next()
    if (live.length === 0 || (roll < 0.25 && nextId < maxDocs)) {
      const id = `o${nextId++}`
      record("insert", "c", id, { _id: id, customer_id: r.pick(customers), amount: amount() })
    } else if (roll < 0.45) {
      const id = r.pick(live)
      record("update", "u", id, { ...current.get(id)!, amount: amount() })
    } else if (roll < 0.6) {
      const id = r.pick(live)
      record("move", "u", id, { ...current.get(id)!, customer_id: r.pick(customers) })
    } else if (roll < 0.7) {
      record("delete", "d", r.pick(live), undefined)
    } else if (roll < 0.75 && deleted.length > 0) {
      const id = r.pick(deleted)
      record("insert", "c", id, { _id: id, customer_id: r.pick(customers), amount: amount() })
    } else if (roll < 0.85 && log.length > 0) {
      // a redelivery of an earlier record (Kafka at-least-once, a connector restart)
      const earlier = log[r.int(0, log.length - 1)]!
      log.push({ ...earlier, kind: earlier.kind === "malformed" ? "malformed" : "redeliver" })
      if (earlier.kind === "malformed") malformed++
    } else if (roll < 0.9 && live.length > 0) {
      // an out-of-date state arriving late: older than the document's current version
      const id = r.pick(live)
      const states = timeline.get(id)!
      const old = states[r.int(0, states.length - 1)]!
      const oldRecord = log[old[0]]!
      log.push({ ...oldRecord, kind: "stale" })
    } else if (roll < 0.95) {
      const id = r.pick([...live, ...deleted])
      log.push({ key: keyOf(id), value: null, docId: id, kind: "tombstone", version: undefined })
    } else {
      malformed++
      const bad = r.pick([
        "{not json",
        JSON.stringify({ op: "x", source: { ts_ms: 5, ord: 1 } }),
        JSON.stringify({ op: "u", after: JSON.stringify({ _id: "o0", customer_id: "cust-0", amount: 1.5 }), source: { ts_ms: t * 1000, ord: 9 } }),
        JSON.stringify({ op: "c", after: JSON.stringify({ _id: "o0", customer_id: "cust-0", amount: "12" }), source: { ts_ms: t * 1000, ord: 9 } }),
        JSON.stringify({ op: "c", after: JSON.stringify({ _id: "o0", amount: 3 }), source: { ts_ms: t * 1000, ord: 9 } }),
        JSON.stringify({ op: "u", after: JSON.stringify({ _id: "o0", customer_id: "cust-0", amount: 3 }) })
      ])
      log.push({ key: keyOf("o0"), value: bad, docId: undefined, kind: "malformed", version: undefined })
    }
  }
  // the state of each document as a scan that starts at P0 may see it: at a random moment after P0
  const p0LogIndex = log.findIndex((rec) => rec.version !== undefined && rec.kind !== "redeliver" && rec.kind !== "stale" &&
    (rec.version[0] > p0[0] || (rec.version[0] === p0[0] && rec.version[1] > p0[1])))
  const cut = p0LogIndex < 0 ? log.length : p0LogIndex
  const snapshotAt = (): ReadonlyArray<Doc> => {
    const docs: Array<Doc> = []
    for (const [, states] of timeline) {
      const readAt = r.int(cut, log.length)
      let state: Doc | undefined = undefined
      for (const [index, doc] of states) if (index < readAt) state = doc
      if (state !== undefined) docs.push(state)
    }
    return docs.sort((a, b) => (a._id < b._id ? -1 : 1))
  }
  return { p0, snapshot: snapshotAt(), rescan: snapshotAt(), log, final: new Map(current), malformed }
}

/** The reference: group-by-sum of `amount` by `customer_id` over the final documents, zeros left out. */
export const reference = (final: ReadonlyMap<string, Doc>): Map<string, number> => {
  const totals = new Map<string, number>()
  for (const doc of final.values()) totals.set(doc.customer_id, (totals.get(doc.customer_id) ?? 0) + doc.amount)
  for (const [k, v] of totals) if (v === 0) totals.delete(k)
  return totals
}

/** Sorted plain object of non-zero totals, for readable assertions. */
export const nonZero = (totals: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries(Array.from(totals).filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)))

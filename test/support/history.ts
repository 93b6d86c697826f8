/**
 * Seeded generator of change histories for one MongoDB-like collection of orders, and the plain
 * reference computation the fold is checked against (group-by-sum over the final documents).
 *
 * Documents are BSON values (the `bson` package's types), so a history goes through every form a
 * real collection holds:
 *
 * - `_id`s of every BSON type MongoDB allows: ObjectIds, strings (with quotes, backslashes,
 *   unicode, one that looks like Extended JSON, one that looks like a number), Int32, Int64 on
 *   both sides of 2^53 (two that differ only past 2^53), Doubles with fractions, Dates, compound
 *   documents in both field orders (one with an Int64 past 2^53 inside), binary and UUID. A
 *   deleted numeric id may come back as another numeric type of the same value (Int32 7 as
 *   `Long(7)`), which MongoDB's `_id` index treats as the same document.
 * - every transition of a document: insert (valid or invalid), amount update, customer move,
 *   valid → invalid (amount as text, a fraction, a Decimal128, an Int64 past 2^53, null or
 *   missing; customer missing, empty or not a string), invalid → invalid, invalid → valid,
 *   delete, re-insert; valid amounts come as Int32, small Int64 and integral Doubles.
 * - records as a Kafka topic carries them: Debezium envelopes whose key and `after` are canonical
 *   or relaxed Extended-JSON text, redeliveries of earlier records, out-of-date states arriving
 *   late, tombstones, and malformed records that carry no document state at all.
 *
 * The reference decides validity with its own predicate over the BSON values (not the
 * pipeline's schema), and sums the valid final documents: an invalid document contributes
 * nothing, whenever and however often it was invalid before.
 */
import { Binary, Decimal128, Double, EJSON, Int32, Long, ObjectId, UUID } from "bson"
import * as ExtendedJson from "../../src/ExtendedJson.ts"
import * as Rand from "./random.ts"

/** An order as the collection holds it (BSON values; invalid states lack fields or have wrong types). */
export interface Doc {
  readonly _id: unknown
  readonly customer_id?: unknown
  readonly amount?: unknown
  readonly [field: string]: unknown
}

export interface LogRecord {
  /** The Kafka record key and value as they would be on the topic (value null = tombstone). */
  readonly key: string
  readonly value: string | null
  /** The generator's name of the document (not the ledger's id), when the record has one. */
  readonly docId: string | undefined
  readonly kind:
    | "insert"
    | "update"
    | "move"
    | "invalidate"
    | "repair"
    | "delete"
    | "redeliver"
    | "stale"
    | "tombstone"
    | "malformed"
  /** The record must end up dead-lettered: it carries no document state, or an invalid one. */
  readonly deadLetter: boolean
  readonly version: readonly [number, number] | undefined
}

/** A document as a scan reads it: its `_id`-order position, the document, and its dump line. */
export interface SnapshotRow {
  /** Sorts like the scan's `_id` order (the scan resumes after the last committed one). */
  readonly order: string
  readonly name: string
  readonly doc: Doc
  /** The document as canonical Extended JSON, one line of a collection dump. */
  readonly text: string
  readonly valid: boolean
}

export interface History {
  readonly p0: readonly [number, number]
  readonly snapshot: ReadonlyArray<SnapshotRow>
  /** Another valid snapshot (documents read at other moments after P0): what a re-scan after a crash may see. */
  readonly rescan: ReadonlyArray<SnapshotRow>
  readonly log: ReadonlyArray<LogRecord>
  /** The documents left at the end, by the generator's name. */
  readonly final: ReadonlyMap<string, Doc>
  /** How many log records must be dead-lettered. */
  readonly malformed: number
}

export interface Options {
  readonly docs?: number
  readonly ops?: number
  readonly customers?: number
  /** Scales how often documents turn invalid and back (default 0.06); 0 gives a history without invalid states. */
  readonly invalid?: number
  /**
   * The order the log keeps, as the decoder will read it (`Debezium.Ordering`). `"position"`
   * (default): a topic's, where only a suffix can come again (a connector restart) or the last
   * record (a producer retry), since a document's records are read in their partition's order.
   * `"sourceTime"`: any earlier record may come again and any out-of-date state arrive late, since
   * versions order them.
   */
  readonly ordering?: "position" | "sourceTime"
}

// ---------------------------------------------------------------------------------------------
// validity: the reference's own predicate, over BSON values
// ---------------------------------------------------------------------------------------------

const safeIntegral = (n: number) => Number.isSafeInteger(n)

/** An amount is a whole number of cents, held exactly: an Int32, an Int64 or a Double within ±2^53. */
const validAmount = (a: unknown): boolean => {
  if (typeof a === "number") return safeIntegral(a)
  if (a instanceof Int32) return true
  if (a instanceof Double) return safeIntegral(a.value)
  if (a instanceof Long) return a.lessThanOrEqual(Long.fromNumber(Number.MAX_SAFE_INTEGER)) && a.greaterThanOrEqual(Long.fromNumber(Number.MIN_SAFE_INTEGER))
  return false
}

const amountValue = (a: unknown): number =>
  typeof a === "number" ? a : a instanceof Int32 || a instanceof Double ? a.value : (a as Long).toNumber()

/** The reference's validity rule: a non-empty string customer and a whole amount of cents. */
export const isValid = (doc: Doc): boolean =>
  typeof doc.customer_id === "string" && doc.customer_id.length > 0 && "amount" in doc && validAmount(doc.amount)

/** The reference: group-by-sum of `amount` by `customer_id` over the valid final documents, zeros left out. */
export const reference = (final: ReadonlyMap<string, Doc>): Map<string, number> => {
  const totals = new Map<string, number>()
  for (const doc of final.values()) {
    if (!isValid(doc)) continue
    const customer = doc.customer_id as string
    totals.set(customer, (totals.get(customer) ?? 0) + amountValue(doc.amount))
  }
  for (const [k, v] of totals) if (v === 0) totals.delete(k)
  return totals
}

const statuses = ["new", "paid", "shipped", "cancelled"]

/**
 * The count of final documents per `status` ("none" without one): every document counts, whatever
 * its amount or customer (the example's ordersPerStatus pipeline reads only the status).
 */
export const perStatus = (final: ReadonlyMap<string, Doc>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const doc of final.values()) {
    const status = typeof doc.status === "string" ? doc.status : "none"
    counts.set(status, (counts.get(status) ?? 0) + 1)
  }
  return counts
}

/** The count of final documents per customer, of those with a non-empty string customer. */
export const perCustomer = (final: ReadonlyMap<string, Doc>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const doc of final.values()) {
    if (typeof doc.customer_id !== "string" || doc.customer_id.length === 0) continue
    counts.set(doc.customer_id, (counts.get(doc.customer_id) ?? 0) + 1)
  }
  return counts
}

/** The reference of each of the example's pipelines, by pipeline name. */
export const references: Record<string, (final: ReadonlyMap<string, Doc>) => Map<string, number>> = {
  order_totals: reference,
  orders_per_status: perStatus,
  orders_per_customer: perCustomer
}

/**
 * How each folded pipeline's totals differ from its reference over `history`'s final documents
 * (empty when every one is exact).
 */
export const exactProblems = (
  history: History,
  pipelines: ReadonlyMap<string, { readonly totals: ReadonlyMap<string, number> }>
): Array<string> => {
  const problems: Array<string> = []
  for (const [name, { totals }] of pipelines) {
    const expected = nonZero(references[name]!(history.final))
    const got = nonZero(totals)
    for (const key of new Set([...Object.keys(expected), ...Object.keys(got)])) {
      if (expected[key] !== got[key]) problems.push(`${name} ${key}: got ${got[key]}, expected ${expected[key]}`)
    }
  }
  return problems
}

/** Sorted plain object of non-zero totals, for readable assertions. */
export const nonZero = (totals: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries(Array.from(totals).filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)))

// ---------------------------------------------------------------------------------------------
// ids
// ---------------------------------------------------------------------------------------------

interface IdForm {
  readonly name: string
  /** The `_id` value as first inserted. */
  readonly id: unknown
  /**
   * Other BSON values MongoDB's `_id` index takes for the same id (re-inserts may use them); only
   * those whose relaxed key text is the same (Int32 and Int64 both print `42`), so that the
   * document's records stay in one Kafka partition, as Debezium's keying by `_id` promises. (A
   * Double prints `42.0`: see docs/kafka.md on keys that change form.)
   */
  readonly alternates: ReadonlyArray<unknown>
}

const fixedIds = (r: Rand.Random): Array<IdForm> => {
  const oid = () => new ObjectId(Array.from({ length: 24 }, () => "0123456789abcdef"[r.int(0, 15)]).join(""))
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => r.int(0, 255))
  return [
    { name: "oid-1", id: oid(), alternates: [] },
    { name: "oid-2", id: oid(), alternates: [] },
    { name: "str-quote", id: "o\"q'uote", alternates: [] },
    { name: "str-backslash", id: "back\\slash\n", alternates: [] },
    { name: "str-unicode", id: "ünï-çødé-😀", alternates: [] },
    { name: "str-ejson", id: "{\"$oid\": \"65a1b2c3d4e5f60718293a4b\"}", alternates: [] },
    { name: "str-number", id: "42", alternates: [] },
    { name: "int32-42", id: new Int32(42), alternates: [Long.fromNumber(42)] },
    { name: "int32-neg", id: new Int32(-7), alternates: [Long.fromNumber(-7)] },
    { name: "int64-small", id: Long.fromString("1234567890123"), alternates: [] },
    { name: "int64-2^53+1", id: Long.fromString("9007199254740993"), alternates: [] },
    { name: "int64-2^53", id: Long.fromString("9007199254740992"), alternates: [] },
    { name: "int64-neg-big", id: Long.fromString("-9223372036854775807"), alternates: [] },
    { name: "double-frac", id: new Double(1.5), alternates: [] },
    { name: "double-neg-frac", id: new Double(-0.25), alternates: [] },
    { name: "date", id: new Date(1_700_000_000_123), alternates: [] },
    { name: "compound-ab", id: { a: new Int32(1), b: "x" }, alternates: [{ a: Long.fromNumber(1), b: "x" }] },
    { name: "compound-ba", id: { b: "x", a: new Int32(1) }, alternates: [] },
    { name: "compound-big", id: { k: Long.fromString("9007199254740993"), n: "y" }, alternates: [] },
    { name: "binary", id: new Binary(bytes(12), 0), alternates: [] },
    { name: "uuid", id: new UUID(Buffer.from(bytes(16)).toString("hex")), alternates: [] }
  ]
}

// ---------------------------------------------------------------------------------------------
// records
// ---------------------------------------------------------------------------------------------

/** Canonical (bson's EJSON, relaxed: false) or relaxed (Int64 as exact literals) Extended JSON. */
const ejson = (value: unknown, relaxed: boolean): string =>
  relaxed ? ExtendedJson.stringifyRelaxed(value) : EJSON.stringify(value as any, { relaxed: false })

/** The `after` text: canonical or relaxed Extended JSON, either (the key is always relaxed, as Debezium writes keys). */
const envelope = (op: "c" | "u" | "d", doc: Doc | undefined, version: readonly [number, number], relaxed: boolean) =>
  JSON.stringify({
    op,
    after: doc === undefined ? null : ejson(doc, relaxed),
    source: { ts_ms: version[0], ord: version[1] }
  })

/** The record key: relaxed Extended JSON of the `_id`, one text per document, so one partition. */
const keyOf = (id: unknown) => JSON.stringify({ id: ejson(id, true) })

const invalidForms: ReadonlyArray<(doc: Doc, r: Rand.Random) => Doc> = [
  (d, r) => ({ ...d, amount: String(r.int(1, 9999)) }),
  (d, r) => ({ ...d, amount: r.int(1, 9999) + 0.5 }),
  (d, r) => ({ ...d, amount: Decimal128.fromString(`${r.int(1, 9999)}`) }),
  (d) => ({ ...d, amount: Long.fromString("9007199254740993") }),
  (d) => ({ ...d, amount: null }),
  (d) => {
    const { amount: _, ...rest } = d
    return rest as Doc
  },
  (d) => {
    const { customer_id: _, ...rest } = d
    return rest as Doc
  },
  (d) => ({ ...d, customer_id: "" }),
  (d, r) => ({ ...d, customer_id: r.int(1, 9) })
]

/** Malformed records: nothing in them is a document state (not JSON, unknown op, no version, no id). */
const malformedValues = (t: number): ReadonlyArray<{ readonly key: string; readonly value: string }> => [
  { key: keyOf("o-x"), value: "{not json" },
  { key: keyOf("o-x"), value: JSON.stringify({ op: "x", source: { ts_ms: 5, ord: 1 } }) },
  { key: keyOf("o-x"), value: JSON.stringify({ op: "u", after: EJSON.stringify({ _id: "o-x", customer_id: "c", amount: 3 }) }) },
  { key: JSON.stringify({ nope: 1 }), value: JSON.stringify({ op: "c", after: EJSON.stringify({ customer_id: "c", amount: 3 }), source: { ts_ms: t * 1000, ord: 9 } }) }
]

export const generate = (seed: number, options: Options = {}): History => {
  const r = Rand.make(seed)
  const customers = Array.from({ length: options.customers ?? 6 }, (_, i) => `cust-${i}`)
  const maxDocs = options.docs ?? 25
  const ops = options.ops ?? 120
  const invalidShare = options.invalid ?? 0.06
  const ordering = options.ordering ?? "position"
  const pool = fixedIds(r)
  const idOf = new Map<string, IdForm>(pool.map((f) => [f.name, f]))
  let nextString = 0
  const newIdForm = (): IdForm => {
    const fixed = pool.find((f) => !timeline.has(f.name))
    if (fixed !== undefined && r.chance(0.7)) return fixed
    const name = `o${nextString++}`
    const form = { name, id: name, alternates: [] }
    idOf.set(name, form)
    return form
  }
  const current = new Map<string, Doc>()
  /** per doc: [log index, state or undefined (deleted)] */
  const timeline = new Map<string, Array<readonly [number, Doc | undefined]>>()
  const log: Array<LogRecord> = []
  let t = 1
  let malformed = 0
  const version = (): readonly [number, number] => {
    t += r.int(0, 2)
    const v: readonly [number, number] = [t * 1000, r.int(1, 3)]
    t++
    return v
  }
  const record = (kind: LogRecord["kind"], op: "c" | "u" | "d", name: string, doc: Doc | undefined) => {
    const v = version()
    const relaxed = r.chance(0.5)
    const id = doc?._id ?? current.get(name)?._id ?? idOf.get(name)!.id
    const deadLetter = doc !== undefined && !isValid(doc)
    if (deadLetter) malformed++
    log.push({ key: keyOf(id), value: envelope(op, doc, v, relaxed), docId: name, kind, deadLetter, version: v })
    const line = timeline.get(name) ?? []
    line.push([log.length - 1, doc])
    timeline.set(name, line)
    if (doc === undefined) current.delete(name)
    else current.set(name, doc)
  }
  const amount = (): unknown => {
    const cents = r.chance(0.1) ? -r.int(1, 5000) : r.int(0, 100_000)
    const roll = r.next()
    return roll < 0.8 ? cents : roll < 0.9 ? Long.fromNumber(cents) : new Double(cents)
  }
  const status = (): Record<string, unknown> => (r.chance(0.15) ? {} : { status: r.pick(statuses) })
  const validDoc = (id: unknown): Doc => ({ _id: id, customer_id: r.pick(customers), amount: amount(), ...status() })
  const invalidDoc = (base: Doc): Doc => r.pick(invalidForms)(base, r)
  const p0Index = r.int(Math.floor(ops / 4), Math.floor((ops * 3) / 4))
  let p0: readonly [number, number] = [0, 0]
  for (let i = 0; i < ops; i++) {
    if (i === p0Index) {
      p0 = [t * 1000, 0]
      t++
    }
    const live = Array.from(current.keys())
    const valid = live.filter((n) => isValid(current.get(n)!))
    const deleted = Array.from(timeline.keys()).filter((n) => !current.has(n))
    const roll = r.next()
    if (live.length === 0 || (roll < 0.2 && timeline.size < maxDocs)) {
      // (once every id is used, this share goes to updates below)
      const form = newIdForm()
      const doc = validDoc(form.id)
      if (r.chance(2 * invalidShare)) record("invalidate", "c", form.name, invalidDoc(doc))
      else record("insert", "c", form.name, doc)
    } else if (roll >= 0.2 && roll < 0.2 + 3 * invalidShare) {
      // a document's validity changes: a valid one turns invalid now and then, an invalid one is
      // mostly repaired (about one live document in ten stays invalid)
      const name = r.pick(live)
      const doc = current.get(name)!
      if (isValid(doc)) {
        if (r.chance(0.1)) record("invalidate", "u", name, invalidDoc(doc))
        else record("update", "u", name, { ...doc, amount: amount() })
      } else {
        const fixed = validDoc(doc._id)
        if (r.chance(0.75)) record("repair", "u", name, fixed)
        else record("invalidate", "u", name, invalidDoc(fixed))
      }
    } else if (roll < 0.42 && valid.length > 0) {
      const name = r.pick(valid)
      // an amount update, now and then with a new status
      record("update", "u", name, { ...current.get(name)!, amount: amount(), ...(r.chance(0.3) ? { status: r.pick(statuses) } : {}) })
    } else if (roll < 0.55 && valid.length > 0) {
      const name = r.pick(valid)
      record("move", "u", name, { ...current.get(name)!, customer_id: r.pick(customers) })
    } else if (roll < 0.65) {
      record("delete", "d", r.pick(live), undefined)
    } else if (roll < 0.7 && deleted.length > 0) {
      const name = r.pick(deleted)
      const form = idOf.get(name)!
      const id = form.alternates.length > 0 && r.chance(0.5) ? r.pick(form.alternates) : form.id
      record("insert", "c", name, validDoc(id))
    } else if (roll < 0.8 && log.length > 0) {
      const again = (earlier: LogRecord) => {
        log.push({ ...earlier, kind: earlier.kind === "malformed" ? "malformed" : "redeliver" })
        if (earlier.deadLetter) malformed++
      }
      if (ordering === "sourceTime") again(log[r.int(0, log.length - 1)]!)
      else {
        // a connector restarted from its last flushed offset publishes the records since again:
        // a suffix of the log, so each partition's records stay in their order
        for (const earlier of log.slice(-r.int(1, Math.min(8, log.length)))) again(earlier)
      }
    } else if (roll < 0.87 && live.length > 0) {
      if (ordering === "sourceTime") {
        // an out-of-date state arriving late: older than the document's current version
        const states = timeline.get(r.pick(live))!
        const oldRecord = log[states[r.int(0, states.length - 1)]![0]]!
        log.push({ ...oldRecord, kind: "stale" })
        if (oldRecord.deadLetter) malformed++
      } else {
        // a producer retry: the record just written, again
        const last = log[log.length - 1]!
        log.push({ ...last, kind: last.kind === "malformed" ? "malformed" : "stale" })
        if (last.deadLetter) malformed++
      }
    } else if (roll < 0.93 && deleted.length > 0) {
      // Debezium's tombstone (the delete's key, a null value) of a deleted document: a delete again,
      // as the decoder reads it (Debezium writes one right after each delete, never for a document in place:
      // EventDispatcher.StreamingChangeRecordReceiver.changeRecord, debezium/NOTES.md "Tombstones")
      const name = r.pick(deleted)
      log.push({ key: keyOf(idOf.get(name)!.id), value: null, docId: name, kind: "tombstone", deadLetter: false, version: undefined })
    } else {
      malformed++
      const bad = r.pick(malformedValues(t))
      log.push({ ...bad, docId: undefined, kind: "malformed", deadLetter: true, version: undefined })
    }
  }
  // the state of each document as a scan that starts at P0 may see it: at a random moment after P0
  const p0LogIndex = log.findIndex((rec) =>
    rec.version !== undefined && rec.kind !== "redeliver" && rec.kind !== "stale" &&
    (rec.version[0] > p0[0] || (rec.version[0] === p0[0] && rec.version[1] > p0[1]))
  )
  const cut = p0LogIndex < 0 ? log.length : p0LogIndex
  const snapshotAt = (): ReadonlyArray<SnapshotRow> => {
    const rows: Array<SnapshotRow> = []
    for (const [name, states] of timeline) {
      const readAt = r.int(cut, log.length)
      let state: Doc | undefined = undefined
      for (const [index, doc] of states) if (index < readAt) state = doc
      if (state !== undefined) {
        rows.push({ order: name, name, doc: state, text: EJSON.stringify(state as any, { relaxed: false }), valid: isValid(state) })
      }
    }
    return rows.sort((a, b) => (a.order < b.order ? -1 : 1))
  }
  return { p0, snapshot: snapshotAt(), rescan: snapshotAt(), log, final: new Map(current), malformed }
}

/**
 * What is wrong with the dead letters of a fold of `history` (empty when nothing is): every log
 * record that must be dead-lettered is, once per position, and nothing else from the log is; every
 * snapshot dead letter is a document that was invalid in one of the scans, and a document invalid
 * in every scan is dead-lettered. `logPartition` tells log dead letters from snapshot ones.
 */
export const deadLetterProblems = (
  history: History,
  deadLetters: ReadonlyArray<{ readonly partition: string; readonly seq: number; readonly raw: string }>,
  options: { readonly logPartition: (partition: string) => boolean; readonly scans?: number }
): Array<string> => {
  const problems: Array<string> = []
  const fromLog = deadLetters.filter((d) => options.logPartition(d.partition))
  const positions = new Set(fromLog.map((d) => `${d.partition}/${d.seq}`))
  if (positions.size !== fromLog.length) problems.push(`${fromLog.length - positions.size} log dead letters written twice for one position`)
  if (fromLog.length !== history.malformed) problems.push(`${fromLog.length} log dead letters, expected ${history.malformed}`)
  const scans = (options.scans ?? 2) >= 2 ? [history.snapshot, history.rescan] : [history.snapshot]
  const invalidSomewhere = new Set<string>()
  for (const scan of scans) for (const row of scan) if (!row.valid) invalidSomewhere.add(row.text)
  const fromScan = deadLetters.filter((d) => !options.logPartition(d.partition))
  for (const d of fromScan) {
    const doc = ExtendedJson.parse(d.raw)
    if (![...invalidSomewhere].some((text) => JSON.stringify(ExtendedJson.parse(text)) === JSON.stringify(doc))) {
      problems.push(`a snapshot dead letter of a document no scan saw invalid: ${d.raw}`)
    }
  }
  const invalidEverywhere = history.snapshot.filter((row) =>
    !row.valid && scans.every((scan) => scan.some((s) => s.name === row.name && !s.valid))
  )
  if (fromScan.length < invalidEverywhere.length) {
    problems.push(`${fromScan.length} snapshot dead letters, but ${invalidEverywhere.length} documents are invalid in every scan`)
  }
  return problems
}

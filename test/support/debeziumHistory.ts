/**
 * Seeded histories of one MongoDB collection as a Debezium MongoDB connector publishes them, for
 * any connector setting: the documents change (inserts, updates of top-level and nested fields,
 * array truncations, replaces, deletes, re-inserts, states the pipeline refuses and back), in
 * transactions now and then, and every change becomes the Kafka records Debezium writes for it
 * (`test/support/debezium/Records.ts`, which follows Debezium's own code field by field), with
 * `updateDescription` computed by this file's own diff of the pre- and post-image, and the
 * update_full modes' `after` looked up at a random later moment, as the connector does.
 *
 * The documents carry fields of every BSON type around the ones the pipeline reads (a UUID or
 * binary `blob`, a `Date`, a `Decimal128`, nested `meta.tags` arrays), and the pipeline of these
 * tests reads a nested field too: totals per `customer_id` and `meta.region`. The reference
 * decides validity by its own rule and groups the final documents.
 *
 * The result has the shape of `history.ts`'s `History`, so `foldHarness` folds it (with crashes).
 */
import { Binary, Decimal128, Double, EJSON, Int32, Long, ObjectId, UUID } from "bson"
import { Schema } from "effect"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Dbz from "./debezium/index.ts"
import type { Doc, History, LogRecord, SnapshotRow } from "./history.ts"
import * as Rand from "./random.ts"

/** The connector settings a history is published with. */
export interface Setting {
  readonly version: Dbz.DebeziumVersion
  readonly capture: Dbz.CaptureMode
  readonly serialization?: Dbz.SerializationMode
  readonly schemasEnable: boolean
  /** MongoDB 6+: events carry `wallTime` (3.4+ writes it as source.ts_ms), with a clock going back once (a failover). */
  readonly wallTime: boolean
  /** Some changes come in multi-document transactions (shared cluster time, `lsid`/`txnNumber`, BEGIN/END records). */
  readonly transactions: boolean
  /** The topic also carries another collection's records, heartbeats and transaction metadata (a routed or pattern subscription). */
  readonly mixed: boolean
  /**
   * Where the snapshot comes from: `"ours"` (our own scan from P0; the topic from the beginning),
   * `"debezium"` (the connector's initial snapshot, op r, then its stream: no scan of ours),
   * `"incremental"` (the stream from the beginning, with incremental-snapshot reads interleaved).
   */
  readonly bootstrap: "ours" | "debezium" | "incremental"
  /**
   * The fold keeps each document's fields (`keepDocuments`), so an update published without a
   * document (capture mode `change_streams`) has the state the change gave it.
   */
  readonly keepDocuments?: boolean
}

export const DB = "shop"
export const COLLECTION = "orders"
const PREFIX = "dbserver1"

const regions = ["eu", "us", "apac"]

/** An order as the example's totals read it: a non-empty string customer and a whole amount. */
const isOrder = (doc: Doc): boolean => {
  const a = doc.amount
  const amountOk = (typeof a === "number" && Number.isSafeInteger(a)) || a instanceof Int32 ||
    (a instanceof Long && Number.isSafeInteger(a.toNumber()) && a.toString() === String(a.toNumber()))
  return typeof doc.customer_id === "string" && doc.customer_id.length > 0 && amountOk
}

/** The reference's rule: an order (see above) with a region in `meta`. */
export const isValid = (doc: Doc): boolean => {
  const meta = doc.meta as { region?: unknown } | undefined
  return isOrder(doc) && typeof meta === "object" && meta !== null && typeof meta.region === "string" && meta.region.length > 0
}

const amountOf = (a: unknown): number => (typeof a === "number" ? a : a instanceof Int32 ? a.value : (a as Long).toNumber())

/** The pipeline of these histories: totals per customer and region (a nested field, so patched updates of `meta` matter). */
export const byRegion = Pipeline.make("totals_by_region", {
  schema: Schema.Struct({
    _id: Schema.Unknown,
    customer_id: Schema.String.check(Schema.isNonEmpty()),
    amount: Schema.Int,
    meta: Schema.Struct({ region: Schema.String.check(Schema.isNonEmpty()) })
  }),
  key: (o) => `${o.customer_id}|${o.meta.region}`,
  value: (o) => o.amount,
  monoid: Monoid.sum
})

/** The reference: group-by-sum of `amount` by `customer_id|meta.region` over the valid final documents. */
export const reference = (final: ReadonlyMap<string, Doc>): Map<string, number> => {
  const totals = new Map<string, number>()
  for (const doc of final.values()) {
    if (!isValid(doc)) continue
    const key = `${doc.customer_id as string}|${(doc.meta as { region: string }).region}`
    totals.set(key, (totals.get(key) ?? 0) + amountOf(doc.amount))
  }
  for (const [k, v] of totals) if (v === 0) totals.delete(k)
  return totals
}

/** The example's totals over the final documents: group-by-sum of `amount` by `customer_id` over the orders. */
export const referenceByCustomer = (final: ReadonlyMap<string, Doc>): Map<string, number> => {
  const totals = new Map<string, number>()
  for (const doc of final.values()) {
    if (isOrder(doc)) totals.set(doc.customer_id as string, (totals.get(doc.customer_id as string) ?? 0) + amountOf(doc.amount))
  }
  for (const [k, v] of totals) if (v === 0) totals.delete(k)
  return totals
}

const canonical = (v: unknown): string => EJSON.stringify({ v } as any, { relaxed: false })
const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b)
const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && (v as { _bsontype?: unknown })._bsontype === undefined &&
  !(v instanceof Date)

/**
 * MongoDB's `updateDescription` for a change from `before` to `after`, by this file's own diff:
 * changed fields of embedded documents by dotted path, array elements by index with a truncation
 * when the array got shorter, removed fields by path.
 */
export const describeUpdate = (before: Doc, after: Doc): Dbz.UpdateDescription => {
  const updatedFields: Record<string, unknown> = {}
  const removedFields: Array<string> = []
  const truncatedArrays: Array<{ field: string; newSize: number }> = []
  const walk = (b: Record<string, unknown>, a: Record<string, unknown>, prefix: string) => {
    for (const key of Object.keys(a)) {
      const path = prefix + key
      if (!(key in b)) updatedFields[path] = a[key]
      else if (isPlain(b[key]) && isPlain(a[key])) walk(b[key], a[key], `${path}.`)
      else if (Array.isArray(b[key]) && Array.isArray(a[key])) {
        const bs = b[key] as Array<unknown>
        const as = a[key] as Array<unknown>
        if (as.length < bs.length) truncatedArrays.push({ field: path, newSize: as.length })
        for (let i = 0; i < as.length; i++) if (i >= bs.length || !same(bs[i], as[i])) updatedFields[`${path}.${i}`] = as[i]
      } else if (!same(b[key], a[key])) updatedFields[path] = a[key]
    }
    for (const key of Object.keys(b)) if (!(key in a)) removedFields.push(prefix + key)
  }
  walk(before as Record<string, unknown>, after as Record<string, unknown>, "")
  return { updatedFields, removedFields, truncatedArrays }
}

interface Event {
  readonly op: "c" | "u" | "replace" | "d"
  readonly name: string
  readonly id: unknown
  readonly before: Doc | undefined
  readonly after: Doc | undefined
  readonly clusterTime: Dbz.ClusterTime
  readonly wallTimeMs: number
  readonly txn?: Dbz.Transaction
}

export interface DebeziumHistory extends History {
  readonly setting: Setting
  /** Updates published without a document state (capture mode `change_streams`): all dead letters. */
  readonly stateless: number
}

const idPool = (r: Rand.Random): Array<unknown> => [
  new ObjectId(Array.from({ length: 24 }, () => "0123456789abcdef"[r.int(0, 15)]).join("")),
  "o-\"quoted\"-ü",
  new Int32(42),
  Long.fromString("9007199254740993"),
  Long.fromString("9007199254740992"),
  new Double(2.5),
  new Date(1_700_000_000_000),
  { a: new Int32(1), b: "x" },
  { b: "x", a: new Int32(1) },
  new UUID("4f1a6d7e-2b3c-4d5e-8f90-a1b2c3d4e5f6"),
  new Binary(Uint8Array.from([1, 2, 3]), 0)
]

export const generate = (seed: number, setting: Setting, options: { readonly docs?: number; readonly ops?: number } = {}): DebeziumHistory => {
  const r = Rand.make(seed)
  const customers = ["c1", "c2", "c3", "c4"]
  const maxDocs = options.docs ?? 14
  const ops = options.ops ?? 90
  const pool = idPool(r)
  let fresh = 0
  const current = new Map<string, Doc>()
  const idOf = new Map<string, unknown>()
  const timeline = new Map<string, Array<readonly [number, Doc | undefined]>>()
  const events: Array<Event> = []
  let t = 1_790_000_000
  let inc = 1
  let wall = t * 1000
  let txnNumber = 0
  const extras = (): Record<string, unknown> => ({
    blob: r.chance(0.5) ? new UUID(Array.from({ length: 32 }, () => "0123456789abcdef"[r.int(0, 15)]).join("")) : new Binary(Uint8Array.from([r.int(0, 255), 7]), 0),
    at: new Date(1_600_000_000_000 + r.int(0, 10 ** 9)),
    price: Decimal128.fromString(`${r.int(0, 999)}.${r.int(10, 99)}`)
  })
  const valid = (id: unknown): Doc => ({
    _id: id,
    customer_id: r.pick(customers),
    amount: r.chance(0.8) ? r.int(-500, 100_000) : Long.fromNumber(r.int(0, 5000)),
    meta: { region: r.pick(regions), tags: Array.from({ length: r.int(0, 3) }, (_, i) => `t${i}`), ...(r.chance(0.5) ? { note: "n" } : {}) },
    ...extras()
  })
  /** A changed copy of `doc`: one of the ways an application updates an order. */
  const changed = (doc: Doc): Doc => {
    const meta = { ...(doc.meta as Record<string, unknown>) }
    switch (r.int(0, 9)) {
      case 0:
        return { ...doc, amount: r.int(0, 100_000) }
      case 1:
        return { ...doc, customer_id: r.pick(customers) }
      case 2:
        return { ...doc, meta: { ...meta, region: r.pick(regions) } }
      case 3:
        return { ...doc, meta: { ...meta, tags: [...((meta.tags as Array<unknown>) ?? []), `t${r.int(0, 9)}`] } }
      case 4:
        return { ...doc, meta: { ...meta, tags: ((meta.tags as Array<unknown>) ?? []).slice(0, r.int(0, 1)) } }
      case 5: {
        const { note: _, ...rest } = meta
        return { ...doc, meta: r.chance(0.5) ? rest : { ...meta, note: `n${r.int(0, 9)}` } }
      }
      case 6:
        return { ...doc, amount: String(r.int(1, 99)) } // invalid: text
      case 7: {
        const { region: _, ...rest } = meta
        return { ...doc, meta: rest } // invalid: no region
      }
      case 8:
        return { ...doc, amount: r.int(1, 99) + 0.5 } // invalid: a fraction
      default:
        return { ...valid(doc._id), ...extras() } // whole new state (valid again)
    }
  }
  const tick = () => {
    if (r.chance(0.3)) {
      t++
      inc = 1
    } else inc++
    // the wall clock moves on, and once goes back (a failover to a primary whose clock is behind)
    wall += r.int(0, 3)
    if (r.chance(0.01)) wall -= 5000
  }
  const push = (e: Omit<Event, "clusterTime" | "wallTimeMs">, shared?: { readonly clusterTime: Dbz.ClusterTime; readonly wallTimeMs: number }) => {
    if (shared === undefined) tick()
    events.push({ ...e, clusterTime: shared?.clusterTime ?? { t, i: inc }, wallTimeMs: shared?.wallTimeMs ?? wall })
    const line = timeline.get(e.name) ?? []
    line.push([events.length - 1, e.after])
    timeline.set(e.name, line)
    if (e.after === undefined) current.delete(e.name)
    else current.set(e.name, e.after)
  }
  const step = (txn?: { readonly shared: { readonly clusterTime: Dbz.ClusterTime; readonly wallTimeMs: number }; readonly txn: Dbz.Transaction }) => {
    const live = Array.from(current.keys())
    const gone = Array.from(timeline.keys()).filter((n) => !current.has(n))
    const roll = r.next()
    const tx = txn?.txn
    if (live.length === 0 || (roll < 0.2 && timeline.size < maxDocs)) {
      const name = `d${timeline.size}`
      const id = pool.length > 0 && r.chance(0.7) ? pool.shift()! : `s-${fresh++}`
      idOf.set(name, id)
      push({ op: "c", name, id, before: undefined, after: valid(id), ...(tx ? { txn: tx } : {}) }, txn?.shared)
    } else if (roll < 0.7) {
      const name = r.pick(live)
      const before = current.get(name)!
      push({ op: "u", name, id: idOf.get(name), before, after: changed(before), ...(tx ? { txn: tx } : {}) }, txn?.shared)
    } else if (roll < 0.78) {
      const name = r.pick(live)
      const before = current.get(name)!
      push({ op: "replace", name, id: idOf.get(name), before, after: valid(before._id), ...(tx ? { txn: tx } : {}) }, txn?.shared)
    } else if (roll < 0.9 || gone.length === 0) {
      const name = r.pick(live)
      push({ op: "d", name, id: idOf.get(name), before: current.get(name), after: undefined, ...(tx ? { txn: tx } : {}) }, txn?.shared)
    } else {
      const name = r.pick(gone)
      push({ op: "c", name, id: idOf.get(name), before: undefined, after: valid(idOf.get(name)), ...(tx ? { txn: tx } : {}) }, txn?.shared)
    }
  }
  for (let i = 0; i < ops; i++) {
    if (setting.transactions && r.chance(0.15)) {
      // a multi-document transaction: its events share the commit's cluster time and wall time
      tick()
      const shared = { clusterTime: { t, i: inc }, wallTimeMs: wall }
      txnNumber++
      const size = r.int(2, 4)
      for (let k = 0; k < size; k++) step({ shared, txn: { txnNumber, totalOrder: k + 1, dataCollectionOrder: k + 1 } })
    } else step()
  }
  return publish(r, setting, events, timeline, current, idOf)
}

const stateAt = (timeline: ReadonlyArray<readonly [number, Doc | undefined]>, index: number): Doc | undefined => {
  let state: Doc | undefined = undefined
  for (const [at, doc] of timeline) if (at <= index) state = doc
  return state
}

const publish = (
  r: Rand.Random,
  setting: Setting,
  events: ReadonlyArray<Event>,
  timeline: ReadonlyMap<string, ReadonlyArray<readonly [number, Doc | undefined]>>,
  current: ReadonlyMap<string, Doc>,
  idOf: ReadonlyMap<string, unknown>
): DebeziumHistory => {
  const common = {
    version: setting.version,
    topicPrefix: PREFIX,
    capture: setting.capture,
    ...(setting.serialization === undefined ? {} : { serialization: setting.serialization }),
    schemasEnable: setting.schemasEnable,
    provideTransactionMetadata: setting.transactions
  }
  const log: Array<LogRecord> = []
  let malformed = 0
  let stateless = 0
  const preImage = setting.capture === "change_streams_with_pre_image" || setting.capture === "change_streams_update_full_with_pre_image"
  const updateFull = setting.capture === "change_streams_update_full" || setting.capture === "change_streams_update_full_with_pre_image"
  /** What a record's state is, as the fold must see it: a document, none (a delete), or no state to compute. */
  const add = (recs: ReadonlyArray<Dbz.KafkaRecord>, name: string | undefined, kind: LogRecord["kind"], state: Doc | undefined | "none") => {
    for (const [k, rec] of recs.entries()) {
      const isData = k === 0
      const deadLetter = isData && (state === "none" || (state !== undefined && !isValid(state)))
      if (deadLetter) malformed++
      log.push({ key: rec.key ?? "", value: rec.value, docId: name, kind: isData ? kind : "tombstone", deadLetter, version: undefined })
    }
  }
  const mixedNoise = () => {
    if (!setting.mixed) return
    const roll = r.next()
    if (roll < 0.3) {
      const other = { _id: `x-${r.int(0, 99)}`, customer_id: "c1", amount: 1_000_000, meta: { region: "eu" } }
      add(Dbz.records({ ...common, op: "c", db: DB, collection: "other", after: other, clusterTime: { t: 1_790_000_000, i: 1 } }), undefined, "tombstone", undefined)
    } else if (roll < 0.45) {
      add([Dbz.heartbeat({ topicPrefix: PREFIX, schemasEnable: setting.schemasEnable, tsMs: 1_790_000_000_000 })], undefined, "tombstone", undefined)
    }
  }
  let openTxn: number | undefined = undefined
  const streamEvent = (e: Event, index: number) => {
    mixedNoise()
    const txnNumber = e.txn === undefined ? undefined : Number(e.txn.txnNumber)
    if (setting.transactions && setting.mixed) {
      if (openTxn !== undefined && openTxn !== txnNumber) {
        add([Dbz.transactionEnd({
          version: setting.version,
          topicPrefix: PREFIX,
          schemasEnable: setting.schemasEnable,
          txn: { txnNumber: openTxn },
          tsMs: e.clusterTime.t * 1000,
          eventCount: 2,
          dataCollections: [{ dataCollection: `${DB}.${COLLECTION}`, eventCount: 2 }]
        })], undefined, "tombstone", undefined)
        openTxn = undefined
      }
      if (txnNumber !== undefined && openTxn === undefined) {
        add([Dbz.transactionBegin({ version: setting.version, topicPrefix: PREFIX, schemasEnable: setting.schemasEnable, txn: { txnNumber }, tsMs: e.clusterTime.t * 1000 })], undefined, "tombstone", undefined)
        openTxn = txnNumber
      }
    }
    const base = {
      ...common,
      db: DB,
      collection: COLLECTION,
      id: e.id,
      clusterTime: e.clusterTime,
      ...(setting.wallTime ? { wallTimeMs: e.wallTimeMs } : {}),
      ...(e.txn === undefined ? {} : { txn: e.txn })
    }
    switch (e.op) {
      case "c":
        return add(Dbz.records({ ...base, op: "c", after: e.after! }), e.name, "insert", e.after)
      case "replace":
        return add(Dbz.records({ ...base, op: "replace", before: e.before!, after: e.after! }), e.name, "update", e.after)
      case "d":
        return add(Dbz.records({ ...base, op: "d", before: e.before! }), e.name, "delete", undefined)
      case "u": {
        // update_full: the connector looks the document up later (it may have changed, or be gone)
        const line = timeline.get(e.name)!
        const lookedUp = stateAt(line, r.int(index, Math.min(events.length - 1, index + 6))) ?? null
        const patched = setting.keepDocuments === true ? e.after : "none"
        const carried = preImage ? e.after : updateFull ? (lookedUp ?? patched) : patched
        if (carried === "none") stateless++
        return add(Dbz.records({ ...base, op: "u", before: e.before!, after: e.after!, lookup: lookedUp, update: describeUpdate(e.before!, e.after!) }), e.name, "update", carried)
      }
    }
  }
  let p0: readonly [number, number] = [0, 0]
  let snapshot: Array<SnapshotRow> = []
  let rescan: Array<SnapshotRow> = []
  const from = setting.bootstrap === "debezium" ? Math.floor(events.length / 3) : 0
  if (setting.bootstrap === "debezium") {
    // the connector starts late: it opens its stream at `from`, reads every document (each at some
    // moment after that), and publishes the reads before the stream
    const names = Array.from(timeline.keys())
    const reads = names.flatMap((name) => {
      const state = stateAt(timeline.get(name)!, r.int(from - 1, Math.min(events.length - 1, from + 10)))
      return state === undefined ? [] : [{ name, state }]
    })
    reads.forEach(({ name, state }, k) =>
      add(
        Dbz.records({ ...common, op: "r", db: DB, collection: COLLECTION, id: idOf.get(name), after: state, snapshot: k === reads.length - 1 ? "last" : "true" }),
        name,
        "insert",
        state
      )
    )
  } else if (setting.bootstrap === "ours") {
    // our scan from P0, reading each document at some moment after it
    const at = Math.floor(events.length / 2)
    p0 = [events[at]!.clusterTime.t * 1000, events[at]!.clusterTime.i]
    const scanAt = () =>
      Array.from(timeline.keys()).flatMap((name): Array<SnapshotRow> => {
        const state = stateAt(timeline.get(name)!, r.int(at, events.length - 1))
        return state === undefined ? [] : [{ order: name, name, doc: state, text: EJSON.stringify(state as any, { relaxed: false }), valid: isValid(state) }]
      }).sort((a, b) => (a.order < b.order ? -1 : 1))
    snapshot = scanAt()
    rescan = scanAt()
  }
  for (let index = from; index < events.length; index++) {
    streamEvent(events[index]!, index)
    if (setting.bootstrap === "incremental" && r.chance(0.1)) {
      // an incremental-snapshot read: a document's state at this point of the stream
      const name = r.pick(Array.from(timeline.keys()))
      const state = stateAt(timeline.get(name)!, index)
      if (state !== undefined) add(Dbz.records({ ...common, op: "r", db: DB, collection: COLLECTION, id: idOf.get(name), after: state, snapshot: "incremental", clusterTime: events[index]!.clusterTime }), name, "insert", state)
    }
  }
  return { setting, p0, snapshot, rescan, log, final: new Map(current), malformed, stateless }
}

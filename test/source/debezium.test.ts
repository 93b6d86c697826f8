/**
 * The Kafka path under every Debezium setting a user can run: histories of a collection published
 * exactly as Debezium's own code writes them (test/support/debezium, field by field from the
 * connector's sources), folded by the Debezium decoder through a partitioned log with random
 * batches and crashes at store calls, checked against a group-by over the final documents (with
 * the test's own validity rule) and record by record for dead letters. No server needed.
 *
 * Each row of docs/kafka.md's table of Debezium settings names the test here that backs it.
 */
import { Binary, BSONRegExp, Double, EJSON, Timestamp, UUID } from "bson"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Plan from "../../src/Runtime/Plan.ts"
import * as Debezium from "../../src/Kafka/Debezium.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Dbz from "../support/debezium/index.ts"
import { byRegion, COLLECTION, DB, generate, isValid, reference, type Setting } from "../support/debeziumHistory.ts"
import { foldHistory } from "../support/foldHarness.ts"
import { deadLetterProblems, type Doc, type History, type LogRecord, nonZero, type SnapshotRow } from "../support/history.ts"

const params = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  partitions: fc.integer({ min: 1, max: 3 }),
  maxChunk: fc.integer({ min: 1, max: 30 }),
  crashes: fc.integer({ min: 0, max: 4 })
})

const base: Setting = {
  version: "3.6",
  capture: "change_streams_update_full",
  schemasEnable: true,
  wallTime: false,
  transactions: false,
  mixed: false,
  bootstrap: "ours"
}

/**
 * Folds generated histories of `setting` and checks exact totals (unless `exact: false`) and dead
 * letters (unless `letters: false`); the fold keeps documents when the setting says so.
 */
const exactUnder = async (setting: Setting, options: { readonly runs?: number; readonly exact?: boolean; readonly letters?: boolean } = {}) => {
  let records = 0
  await fc.assert(
    fc.asyncProperty(params, async (p) => {
      const history = generate(p.seed, setting)
      records += history.log.length
      const result = await foldHistory(history, {
        ...p,
        pipelines: [byRegion],
        namespace: { db: DB, collection: COLLECTION },
        keepDocuments: setting.keepDocuments,
        store: ((state) => () => Memory.layer(state))(Memory.makeState())
      })
      if (options.exact !== false) expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
      if (options.letters !== false) expect(deadLetterProblems(history, result.deadLetters, { logPartition: (partition) => partition.startsWith("log/") })).toEqual([])
    }),
    { numRuns: options.runs ?? 25 }
  )
  expect(records).toBeGreaterThan(0)
}

describe("Debezium records, every setting: exact totals from what Debezium writes", () => {
  describe("serialization of after/before/updatedFields", () => {
    for (const serialization of ["legacy", "strict", "extended", "relaxed"] as const) {
      it(`json.serialization.mode=${serialization} (3.7), UUID/binary/date/decimal fields, all _id types`, () =>
        exactUnder({ ...base, version: "3.7", serialization }))
    }
    it("legacy on 2.7 (every released version writes legacy)", () => exactUnder({ ...base, version: "2.7" }))
  })

  describe("capture modes", () => {
    it("change_streams_update_full (the default): after looked up later, or gone", () => exactUnder({ ...base, capture: "change_streams_update_full" }))
    it("change_streams_update_full_with_pre_image: before + updateDescription", () =>
      exactUnder({ ...base, capture: "change_streams_update_full_with_pre_image" }))
    it("change_streams_with_pre_image: no after; before patched by updateDescription (dotted paths, truncations, removals)", () =>
      exactUnder({ ...base, capture: "change_streams_with_pre_image" }))
    it("change_streams with keepDocuments: each update patches the fields kept in the ledger, exact", () =>
      exactUnder({ ...base, capture: "change_streams", keepDocuments: true }))
    it("change_streams with keepDocuments and transactions, several collections, Debezium 2.7", () =>
      exactUnder({ ...base, version: "2.7", capture: "change_streams", keepDocuments: true, transactions: true, mixed: true }))
    it("change_streams with keepDocuments over Debezium's own snapshot: replayed patches land on later reads, the totals end exact", () =>
      // the stream's first changes are replayed over reads of later states (how the connector
      // snapshots): the states in between are not the true ones, so only the totals are checked
      exactUnder({ ...base, capture: "change_streams", keepDocuments: true, bootstrap: "debezium" }, { letters: false }))
    it("change_streams without keepDocuments: every update is a dead letter naming keepDocuments and the capture modes (never skipped)", async () => {
      await exactUnder({ ...base, capture: "change_streams" }, { exact: false, runs: 10 })
      const history = generate(7, { ...base, capture: "change_streams" })
      expect(history.stateless).toBeGreaterThan(0)
      const result = await foldHistory(history, {
        seed: 7, partitions: 1, maxChunk: 10, crashes: 0, pipelines: [byRegion], namespace: { db: DB, collection: COLLECTION },
        store: ((state) => () => Memory.layer(state))(Memory.makeState())
      })
      const advice = result.deadLetters.filter((d) => /keepDocuments.*capture\.mode to change_streams_update_full/.test(d.reason))
      expect(advice).toHaveLength(history.stateless)
    })
  })

  describe("order of one document's changes", () => {
    it("Debezium 3.4+ on MongoDB 6+: source.ts_ms is the wall clock (and goes back at a failover)", () =>
      exactUnder({ ...base, version: "3.4", wallTime: true }))
    it("transactions: every event of one shares ts_ms and ord; BEGIN/END records on the topic", () =>
      exactUnder({ ...base, transactions: true, mixed: true, capture: "change_streams_with_pre_image" }))
    it("Debezium 2.7 with cluster-time ts_ms and transactions", () => exactUnder({ ...base, version: "2.7", transactions: true }))
  })

  describe("snapshots", () => {
    it("next to our own MongoDB bootstrap: the topic from the beginning, no double count", () => exactUnder({ ...base, bootstrap: "ours" }))
    it("Debezium's initial snapshot as the only bootstrap (2.7: ts_ms 0, ord -1)", () => exactUnder({ ...base, version: "2.7", bootstrap: "debezium" }))
    it("Debezium's initial snapshot as the only bootstrap (3.1+: ts_ms the connector's clock, ord -1)", () =>
      exactUnder({ ...base, version: "3.6", bootstrap: "debezium", wallTime: true }))
    it("incremental snapshot reads interleaved with the stream", () => exactUnder({ ...base, bootstrap: "incremental", mixed: true }))
  })

  describe("one topic for several collections, heartbeats, tombstones", () => {
    it("records of another collection, heartbeats and transaction metadata are skipped, never folded or dead-lettered", () =>
      exactUnder({ ...base, mixed: true, transactions: true, schemasEnable: false }))
    it("tombstones with and without schemas.enable", async () => {
      for (const schemasEnable of [true, false]) await exactUnder({ ...base, schemasEnable }, { runs: 8 })
    })
  })
})

/**
 * The topic as Kafka's log cleaner leaves it (`cleanup.policy=compact`) once it has cleaned the
 * first `cleaned` records: there, a record whose key has a later record there is gone (Debezium's
 * tombstones stay, within `delete.retention.ms`); the records after, not cleaned yet, all stay.
 */
const compacted = (log: ReadonlyArray<LogRecord>, cleaned: number): Array<LogRecord> => {
  const last = new Map<string, number>()
  log.slice(0, cleaned).forEach((rec, i) => last.set(rec.key, i))
  return log.filter((rec, i) => i >= cleaned || last.get(rec.key) === i)
}

/**
 * Folds generated histories of `setting` (one collection on the topic) with a decoder given no
 * namespace, over the topic compacted up to a random point (`compact: false`: the whole history),
 * and checks exact totals and dead letters.
 */
const exactWithoutNamespace = async (setting: Setting, options: { readonly compact: boolean; readonly runs?: number }) => {
  let tombstonesAlone = 0
  await fc.assert(
    fc.asyncProperty(params, fc.integer({ min: 0, max: 100 }), async (p, percent) => {
      const full = generate(p.seed, setting)
      const log = options.compact ? compacted(full.log, Math.round((full.log.length * percent) / 100)) : full.log
      const history: History = { ...full, log, malformed: log.filter((rec) => rec.deadLetter).length }
      // a document whose delete is gone and whose tombstone is its last record
      const lastByKey = new Map(log.map((rec) => [rec.key, rec]))
      tombstonesAlone += [...lastByKey.values()].filter((rec) => rec.value === null && !log.some((d) => d.key === rec.key && d.kind === "delete")).length
      const result = await foldHistory(history, {
        ...p,
        pipelines: [byRegion],
        store: ((state) => () => Memory.layer(state))(Memory.makeState())
      })
      expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
      expect(deadLetterProblems(history, result.deadLetters, { logPartition: (partition) => partition.startsWith("log/") })).toEqual([])
    }),
    { numRuns: options.runs ?? 25 }
  )
  if (options.compact) expect(tombstonesAlone).toBeGreaterThan(0)
}

describe("Debezium tombstones as deletes (no namespace, ordering \"position\")", () => {
  const order = (id: string, amount: number): Doc => ({ _id: id, customer_id: "c1", amount, meta: { region: "eu" } })
  const row = (doc: Doc): SnapshotRow => ({
    order: doc._id as string,
    name: doc._id as string,
    doc,
    text: EJSON.stringify(doc as any, { relaxed: false }),
    valid: isValid(doc)
  })
  const logRecord = (rec: Dbz.KafkaRecord, docId: string, kind: LogRecord["kind"]): LogRecord =>
    ({ key: rec.key ?? "", value: rec.value, docId, kind, deadLetter: false, version: undefined })
  const p0 = [1_790_000_000_000, 1] as const
  const o1 = order("o1", 500)
  const o2 = order("o2", 700)
  /** After P0 (where our bootstrap read o1 and o2): o1 deleted, Debezium's delete and its tombstone; then o1 inserted again. */
  const [del, tomb] = Dbz.records({ version: "3.6", db: DB, collection: COLLECTION, op: "d", id: "o1", clusterTime: { t: 1_790_000_001, i: 1 } })
  const again = Dbz.record({ version: "3.6", db: DB, collection: COLLECTION, op: "c", after: order("o1", 900), clusterTime: { t: 1_790_000_002, i: 1 } })
  /** Our bootstrap at P0 (o1 and o2), then `log`; the totals must be the group-by of `final`. */
  const foldOver = async (log: ReadonlyArray<LogRecord>, final: ReadonlyArray<Doc>) => {
    const history: History = {
      p0,
      snapshot: [row(o1), row(o2)],
      rescan: [row(o1), row(o2)],
      log,
      final: new Map(final.map((doc) => [doc._id as string, doc])),
      malformed: 0
    }
    for (const partitions of [1, 2]) {
      const result = await foldHistory(history, {
        seed: 11, partitions, maxChunk: 3, crashes: 2, pipelines: [byRegion], store: ((state) => () => Memory.layer(state))(Memory.makeState())
      })
      // the group-by over the final documents, here
      const expected = new Map<string, number>()
      for (const doc of final) {
        const key = `${doc.customer_id as string}|${(doc.meta as { region: string }).region}`
        expected.set(key, (expected.get(key) ?? 0) + (doc.amount as number))
      }
      expect(nonZero(result.totals)).toEqual(nonZero(expected))
      expect(result.deadLetters).toEqual([])
    }
  }

  it("a compacted topic: a bootstrapped document whose delete was compacted away, leaving its tombstone, no longer counts", async () => {
    expect(tomb!.value).toBeNull()
    await foldOver([logRecord(tomb!, "o1", "tombstone")], [o2])
  })

  it("a compacted topic, every setting of keys: generated histories compacted up to any point fold exactly", async () => {
    for (const schemasEnable of [true, false]) await exactWithoutNamespace({ ...base, schemasEnable }, { compact: true, runs: 15 })
  })

  it("the whole history: a delete and its tombstone, and a re-insert after them, fold exactly", async () => {
    expect(Debezium.decoder()(tomb!.key, tomb!.value)).toEqual({ _tag: "Delete", docId: "\"o1\"", version: undefined })
    await foldOver([logRecord(del!, "o1", "delete"), logRecord(tomb!, "o1", "tombstone")], [o2])
    await foldOver([logRecord(del!, "o1", "delete"), logRecord(tomb!, "o1", "tombstone"), logRecord(again, "o1", "insert")], [order("o1", 900), o2])
    for (const schemasEnable of [true, false]) await exactWithoutNamespace({ ...base, schemasEnable }, { compact: false, runs: 8 })
  })
})

describe("Debezium decoder, record by record", () => {
  const decodeWith = Debezium.decoder({ namespace: { db: DB, collection: COLLECTION } })
  const decode = (key: string | null, value: string | null) => decodeWith(key, value)
  const doc = { _id: "o1", customer_id: "c1", amount: 5, meta: { region: "eu" } }
  const event = (e: Partial<Dbz.ChangeEvent>): Dbz.ChangeEvent =>
    ({ version: "3.6", db: DB, collection: COLLECTION, op: "c", after: doc, clusterTime: { t: 1_790_000_000, i: 3 }, ...e }) as Dbz.ChangeEvent

  it("orders by position: a record's version is [P + 1, offset], whatever source.ts_ms says", () => {
    const rec = Dbz.record(event({ version: "3.4", wallTimeMs: 1_790_000_000_123 }))
    const decoded = decode(rec.key, rec.value)
    expect(decoded).toMatchObject({ _tag: "Upsert", docId: "\"o1\"", version: undefined })
    if (decoded._tag !== "Upsert") return
    const input = Debezium.toInput(decoded, rec.value!, { partition: "t/0", seq: 17 })
    const plan = Plan.plan(byRegion, [input], new Map(), { after: [1_700_000_000_000, 9] })
    expect(plan.ledger.get("\"o1\"")?.version).toEqual([1_700_000_000_001, 17])
  })

  it("\"sourceTime\" refuses records whose ts_ms is not the cluster time, and snapshot reads", () => {
    const byTimeWith = Debezium.decoder({ ordering: "sourceTime" })
    const byTime = (key: string | null, value: string | null, _seq: number) => byTimeWith(key, value)
    const wall = Dbz.record(event({ version: "3.4", wallTimeMs: 1_790_000_000_123 }))
    expect(byTime(wall.key, wall.value, 0)).toMatchObject({ _tag: "Reject", reason: expect.stringMatching(/wall-clock/) })
    const read = Dbz.record(event({ version: "2.7", op: "r" }))
    expect(byTime(read.key, read.value, 0)).toMatchObject({ _tag: "Reject", reason: expect.stringMatching(/snapshot record/) })
    const old = Dbz.record(event({ version: "2.7" }))
    expect(byTime(old.key, old.value, 0)).toMatchObject({ _tag: "Upsert", version: [1_790_000_000_000, 3] })
  })

  it("refuses records flattened by ExtractNewDocumentState, with what to change", () => {
    const configs: ReadonlyArray<Dbz.ExtractNewDocumentStateConfig> = [
      { addFields: "op,source.ts_ms,source.ord", deleteHandling: "rewrite" },
      { deleteHandling: "rewrite" },
      {}
    ]
    for (const config of configs) {
      const [flat] = Dbz.extractNewDocumentState(event({}), config)
      const decoded = decode(flat!.key, flat!.value)
      expect(decoded._tag).toBe("Unsupported")
      expect(decoded._tag === "Unsupported" && decoded.reason).toMatch(/ExtractNewDocumentState/)
    }
  })

  it("a tombstone is a delete of the document its key names, ordered by position, in every wrapping", () => {
    for (const schemasEnable of [true, false]) {
      const [, tomb] = Dbz.records({ version: "3.6", db: DB, collection: COLLECTION, op: "d", id: "o1", clusterTime: { t: 1_790_000_000, i: 3 }, schemasEnable })
      const byPosition = Debezium.decoder()
      for (const value of [tomb!.value, undefined, JSON.stringify({ schema: null, payload: null })]) {
        expect(byPosition(tomb!.key, value)).toEqual({ _tag: "Delete", docId: "\"o1\"", version: undefined })
      }
      const input = Debezium.toInput(byPosition(tomb!.key, null) as Debezium.Change, "null", { partition: "t/0", seq: 4 }, tomb!.key ?? undefined)
      expect(input).toMatchObject({ _tag: "Delete", docId: "\"o1\"", seq: 4, key: tomb!.key })
    }
  })

  it("a tombstone stays a skip with a namespace, under \"sourceTime\", and when its key names no document", () => {
    const [, tomb] = Dbz.records({ version: "3.6", db: DB, collection: COLLECTION, op: "d", id: "o1", clusterTime: { t: 1_790_000_000, i: 3 } })
    // it names no collection: on a topic of several it could be another collection's delete
    expect(decode(tomb!.key, null)).toMatchObject({ _tag: "Skip", reason: expect.stringMatching(/^tombstone: .*namespace/) })
    // it carries no source time to order it by
    expect(Debezium.decoder({ ordering: "sourceTime" })(tomb!.key, null)).toMatchObject({ _tag: "Skip", reason: expect.stringMatching(/^tombstone: .*sourceTime/) })
    const byPosition = Debezium.decoder()
    const noId = [null, undefined, "", "not json", JSON.stringify({ nope: 1 }), JSON.stringify({ schema: { type: "struct" }, payload: { nope: 1 } }), JSON.stringify({ id: 42 })]
    for (const key of noId) {
      expect(byPosition(key, null)).toEqual({ _tag: "Skip", reason: "tombstone without a document id in its key" })
    }
  })

  it("refuses a key cut by Debezium 2.3.0-2.4.1 on a sharded collection (DBZ-7157), naming the upgrade", () => {
    // JsonSerialization.getDocumentIdChangeStream up to 2.4.1: documentKey.toJson().substring(8, length - 1),
    // where a sharded collection's documentKey holds the shard key before _id
    const documentKey = `{"customer_id": "c1","_id": 42}`
    const cut = JSON.stringify({ id: documentKey.substring(8, documentKey.length - 1) })
    const clusterTime = { t: 1_790_000_000, i: 3 }
    const byPosition = Debezium.decoder()
    const [del] = Dbz.records({ version: "3.6", db: DB, collection: COLLECTION, op: "d", id: 42, clusterTime, preImages: false })
    expect(byPosition(cut, del!.value)).toEqual({ _tag: "Reject", reason: expect.stringContaining("DBZ-7157"), docId: undefined })
    // an insert or a full update is keyed by its document's _id, which the record has
    const [ins] = Dbz.records({ version: "3.6", db: DB, collection: COLLECTION, op: "c", after: { _id: 42, customer_id: "c1", amount: 5 }, clusterTime })
    expect(byPosition(cut, ins!.value)).toMatchObject({ _tag: "Upsert", docId: "42" })
    // a compound _id with a field named _id is read as it is
    const nested = JSON.stringify({ id: JSON.stringify({ _id: 1, region: "eu" }) })
    expect(byPosition(nested, del!.value)).toMatchObject({ _tag: "Delete", docId: "{\"_id\":1,\"region\":\"eu\"}" })
  })

  it("skips heartbeats and transaction metadata with a reason to log once", () => {
    const hb = Dbz.heartbeat({ tsMs: 1 })
    expect(decode(hb.key, hb.value)).toMatchObject({ _tag: "Skip", once: expect.stringMatching(/heartbeat/) })
    const begin = Dbz.transactionBegin({ version: "3.6", txn: { txnNumber: 1 }, tsMs: 1 })
    expect(decode(begin.key, begin.value)).toMatchObject({ _tag: "Skip", once: expect.stringMatching(/transaction/) })
    const other = Dbz.record(event({ collection: "customers" }))
    expect(decode(other.key, other.value)).toMatchObject({ _tag: "Skip", once: expect.stringMatching(/shop\.customers/) })
  })

  it("a document with UUID, binary, date, regex, timestamp and NaN fields folds like any other in the legacy form", () => {
    const rich = {
      ...doc,
      uuid: new UUID("4f1a6d7e-2b3c-4d5e-8f90-a1b2c3d4e5f6"),
      bin: new Binary(Uint8Array.from([1, 2, 3]), 0),
      before1970: new Date(-5),
      re: new BSONRegExp("a+", "i"),
      ts: new Timestamp({ t: 5, i: 7 }),
      ratio: new Double(Number.NaN)
    }
    for (const version of ["2.7", "3.6"] as const) {
      const rec = Dbz.record(event({ version, after: rich }))
      // the legacy (v1 strict) forms EJSON alone refuses are in the record
      expect(rec.value).toContain(`\\"$type\\": \\"04\\"`)
      expect(rec.value).toContain("NaN")
      expect(decode(rec.key, rec.value)).toMatchObject({ _tag: "Upsert", docId: "\"o1\"", doc: { customer_id: "c1", amount: 5, meta: { region: "eu" } } })
    }
  })
})

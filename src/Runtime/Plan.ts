/**
 * The pure heart of the fold: turn one batch of raw records and the ledger entries of its documents
 * into one pipeline's per-key updates, new ledger entries and dead letters. No I/O, plain loops.
 *
 * Each record's document is decoded with the pipeline's schema here, so one batch of a source is
 * planned once per pipeline, each with its own schema, ledger and dead letters. A record without a
 * version gets `[P + 1, seq]`, `P` being the pipeline's handoff version (see `Input`).
 *
 * For each change (in batch order), against the ledger as updated by the earlier records of the
 * same batch:
 * - a version that is not newer than the ledger's is stale and skipped;
 * - otherwise the old contribution is retracted from its keys (by the group inverse) and the new one
 *   added to its keys; same-key updates become one difference;
 * - deltas are coalesced per aggregate key; a change that leaves its key as it was contributes
 *   nothing, and a key whose contributions cancel out is still sent (see `KeyUpdate`);
 * - a patch (`Input.Patch`) is applied to the fields of the document the ledger keeps
 *   (`keepDocuments`); with none kept, its new state cannot be computed and it is refused;
 * - a refused state (a document the schema refuses, or whose key or value function throws) is a
 *   state like any other that contributes nothing: it retracts what the document contributed,
 *   and it is dead-lettered. A later valid state adds the contribution again. The aggregates
 *   thus depend only on each document's latest state, never on when it was invalid.
 *
 * Insert-only pipelines (non-group monoids) cannot retract: a change that would alter an applied
 * contribution, and every delete, is rejected with a reason instead (a document that has not
 * contributed yet may still start to).
 *
 * `"events"` pipelines (`Pipeline.events`) read no ledger and plan no entries: each upsert or event
 * contributes its value once, by its position (the store's high-water marks skip a replayed one);
 * an update or delete is dead-lettered.
 *
 * Machinery of `Fold`, not exported by the package index: its shapes may change in any release.
 *
 * @since 0.1.0
 */
import { equals } from "../Equal.ts"
import type { Input, Reject } from "../Input.ts"
import * as I from "../Input.ts"
import { isNewer as isNewerVersion, type Version } from "../Version.ts"
import type * as Monoid from "../Monoid.ts"
import type { Mode, Pipeline } from "../Pipeline.ts"
import type { Contribution, KeyUpdate, Mark } from "../Store/Aggregates.ts"
import type { Entry } from "../Store/Ledger.ts"
import * as Decoder from "../internal/decoder.ts"
import * as PlannedEntries from "../internal/entry.ts"
import * as Projection from "../internal/projection.ts"
import * as ReadAhead from "../internal/readAhead.ts"
import * as Window from "../Window.ts"
import * as UpdateDescription from "../UpdateDescription.ts"
import { errorText } from "../internal/errorText.ts"
import { jsonText } from "../internal/jsonText.ts"
import { notAKey, outsideDomain } from "../internal/domain.ts"
import { detached } from "../internal/detached.ts"

/**
 * Counts of one batch.
 *
 * @category models
 * @since 0.1.0
 */
export interface Counts {
  records: number
  upserts: number
  deletes: number
  /** Changes whose version was not newer than the ledger's (redelivered or out of date). */
  stale: number
  /** Changes that left every aggregate as it was. */
  unchanged: number
  /** Records without a change (tombstones, heartbeats). */
  skipped: number
  /** Records dead-lettered (rejects, and refused document states). */
  rejected: number
  /** Refused document states that took effect: the document's contribution was retracted. */
  invalid: number
  /** Records of a windowed pipeline whose bucket had expired: they contribute nothing. */
  expired: number
}

/**
 * What the fold writes for one batch.
 *
 * @category models
 * @since 0.1.0
 */
export interface Plan<V> {
  readonly updates: ReadonlyArray<KeyUpdate<V>>
  /** The new entry of every document the batch changed (its last one). */
  readonly ledger: ReadonlyMap<string, Entry<V>>
  readonly rejects: ReadonlyArray<Reject>
  /** The record of highest `seq` of each partition in the batch. */
  readonly last: ReadonlyMap<string, Input>
  readonly counts: Counts
}

const isEmptyFor = <V>(monoid: Monoid.Monoid<V>): (v: V) => boolean => {
  const empty = monoid.empty
  return typeof empty === "number" || typeof empty === "bigint" || typeof empty === "string"
    ? (v) => v === empty
    : (v) => equals(v, empty)
}

const sameKeys = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The ledger entries a batch is planned against: a `ReadonlyMap`, or a view over several (the
 * fold's in-flight entries over the stored ones).
 *
 * @category models
 * @since 0.2.0
 */
export interface Entries<V> {
  readonly get: (docId: string) => Entry<V> | undefined
}

/**
 * Plans one batch. `ledger` holds the stored entries of (at least) every document in the batch.
 * Throws what the pipeline's functions or the monoid throw (an `IntegerOverflowError`, say); the
 * runtime turns that into a typed failure.
 *
 * @category planning
 * @since 0.1.0
 */
export const plan = <V>(
  pipeline: Pipeline<any, V, Mode>,
  batch: ReadonlyArray<Input>,
  ledger: Entries<V>,
  options: Options = {}
): Plan<V> => {
  // an "events" pipeline keeps no ledger: its records are never looked up by document
  if (pipeline.mode === "events") return run(pipeline, batch, noDocuments, noPrior, options, undefined)
  const documents = documentsOf(batch)
  const prior = new Array<Entry<V> | undefined>(documents.ids.length)
  for (let j = 0; j < prior.length; j++) prior[j] = ledger.get(documents.ids[j]!)
  return run(pipeline, batch, documents, prior, options, undefined)
}

/**
 * The documents of a batch: each distinct id once, in order of first sight (`ids`), and for each
 * record the index of its document in `ids` (`at`; -1 for a record without one). Computed once
 * per batch and shared by every pipeline the batch is planned for.
 *
 * @category models
 * @since 0.2.0
 */
export interface Documents {
  readonly ids: ReadonlyArray<string>
  readonly at: Int32Array
}

/**
 * The documents of `batch` (see {@link Documents}).
 *
 * @category planning
 * @since 0.2.0
 */
export const documentsOf = (batch: ReadonlyArray<Input>): Documents => {
  const index = new Map<string, number>()
  const ids: Array<string> = []
  const at = new Int32Array(batch.length)
  for (let i = 0; i < batch.length; i++) {
    const id = I.idOf(batch[i]!)
    if (id === undefined) {
      at[i] = -1
      continue
    }
    let j = index.get(id)
    if (j === undefined) {
      j = ids.length
      index.set(id, j)
      ids.push(id)
    }
    at[i] = j
  }
  return { ids, at }
}

/**
 * Plans one batch given its documents and their stored entries, `prior[j]` being the entry of
 * `documents.ids[j]` (what {@link plan} looks up in its `ledger` first): the fold's form, with
 * no look-up by id per record.
 *
 * @category planning
 * @since 0.2.0
 */
export const planDocuments = <V>(
  pipeline: Pipeline<any, V, Mode>,
  batch: ReadonlyArray<Input>,
  documents: Documents,
  prior: ReadonlyArray<Entry<V> | undefined>,
  options: Options = {}
): Plan<V> => run(pipeline, batch, documents, prior, options, undefined)

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The pipeline's handoff version: records without a version are newer (`[after[0] + 1, seq]`). */
  readonly after?: Version | undefined
  /** Records without a version are snapshot rows at this version (the bootstrap's handoff). Wins over `after`. */
  readonly at?: Version | undefined
  /**
   * Keep in each ledger entry the fields of the document the pipeline reads (see `Entry.doc`), so
   * that updates given as patches (`Input.Patch`) can be folded. Default `false`: patches are
   * refused.
   */
  readonly keepDocuments?: boolean | undefined
  /** Now, in ms: which buckets of a windowed pipeline have expired. Default 0 (none has). */
  readonly now?: number | undefined
  /**
   * Keep a copy of each new key in the pipeline's table of keys, not the string the pipeline's key
   * function returned: for sources whose strings are cut out of larger ones (`Source.sharesText`).
   * Default `false`.
   */
  readonly copyKeys?: boolean | undefined
}

const PATCH_NOT_KEPT =
  "an update given as a patch, without the document (Debezium's capture.mode change_streams), can only be folded " +
  "with the fold's keepDocuments option, which keeps the fields each pipeline reads in its ledger; or set the connector's " +
  "capture.mode to change_streams_update_full (Debezium's default) or change_streams_with_pre_image"

const PATCH_WITHOUT_STATE =
  "an update given as a patch of a document whose fields the ledger does not hold (not seen since keepDocuments was " +
  "set, deleted, or refused since): its new state cannot be computed, and it contributes nothing until its next full " +
  "state (an insert or a replace)"

/**
 * The planner. Without `log` it records nothing per contribution (the common case); a key update
 * whose individual contributions a store asks for (a replay after a crash) re-runs it, once per
 * batch, with a log: the planner is pure, so the second run sees exactly what the first saw.
 */
const run = <V>(
  pipeline: Pipeline<any, V, Mode>,
  batch: ReadonlyArray<Input>,
  documents: Documents,
  prior: ReadonlyArray<Entry<V> | undefined>,
  options: Options,
  log: Log<V> | undefined
): Plan<V> => {
  const monoid = pipeline.monoid
  const group = pipeline.mode === "changes" ? (monoid as Monoid.Group<V>) : undefined
  const isEmpty = isEmptyFor(monoid)
  const slots = slotsOf(pipeline)
  const copyKeys = options.copyKeys === true
  const gen = slots.next()
  const accList: Array<Update<V>> = []
  let logged: Log<V> | undefined = undefined
  const contributionsOf = (key: string): ReadonlyArray<Contribution<V>> => {
    if (logged === undefined) {
      logged = { key: [], record: [], delta: [] }
      run(pipeline, batch, documents, prior, options, logged)
    }
    const out: Array<Contribution<V>> = []
    for (let j = 0; j < logged.key.length; j++) {
      if (logged.key[j] !== key) continue
      const r = batch[logged.record[j]!]!
      out.push({ partition: r.partition, seq: r.seq, delta: logged.delta[j]! })
    }
    return out
  }
  /** The new entry of each document the batch changed so far, by its index in `documents.ids`. */
  const states = new Array<Entry<V> | undefined>(documents.ids.length)
  readAhead(prior)
  const at = documents.at
  const rejects: Array<Reject> = []
  const last = new Map<string, Input>()
  /** The seq of the first record of each partition in the batch. */
  const first = new Map<string, number>()
  const counts: Counts = { records: batch.length, upserts: 0, deletes: 0, stale: 0, unchanged: 0, skipped: 0, rejected: 0, invalid: 0, expired: 0 }
  const keyOf = pipeline.key
  const filter = pipeline.filter
  const valueOf = pipeline.value
  const check = pipeline.monoid.check
  const decode = Decoder.of(pipeline.schema)
  const base = (options.after?.[0] ?? 0) + 1
  const keep = options.keepDocuments === true
  const ledgerFree = pipeline.mode === "events"
  /** The handoff of a live run: a versioned event at or before it is in the snapshot. */
  const snapshotAt = options.at === undefined ? options.after : undefined
  const window = pipeline.window
  const now = options.now ?? 0
  /** When a bucket's aggregates expire, by bucket id (`undefined`: never). */
  const expiries = new Map<string, number | undefined>()
  const expiryOfKey = (key: string): number | undefined => {
    const id = Window.splitKey(key)?.[1] ?? ""
    if (!expiries.has(id)) {
      const bucket = Window.bucketOfId(window!, id)
      expiries.set(id, bucket === undefined ? undefined : Window.expiresAt(window!, bucket))
    }
    return expiries.get(id)
  }
  const fields = keep ? Projection.fieldsOf(pipeline.schema) : undefined

  const add = (key: string, delta: V, record: number, partition: string) => {
    const slot = slots.of(key, copyKeys)
    if (slots.gens[slot] !== gen) {
      const expiry = window === undefined ? undefined : expiryOfKey(key)
      // a bucket already gone (a retraction from it): nothing to write
      if (expiry !== undefined && expiry <= now) return
      const update = new Update(slots.keys[slot]!, delta, partition, contributionsOf)
      update.expiresAt = expiry
      slots.gens[slot] = gen
      slots.ats[slot] = accList.length
      accList.push(update)
    } else {
      const acc = accList[slots.ats[slot]!]!
      acc.delta = monoid.combine(acc.delta, delta)
      if (partition !== acc.partition) {
        if (acc.others === undefined) acc.others = [partition]
        else if (!acc.others.includes(partition)) acc.others.push(partition)
      }
    }
    if (log !== undefined) {
      log.key.push(key)
      log.record.push(record)
      log.delta.push(delta)
    }
  }

  // what `evaluate` computed (closure variables: no result object per record)
  let outKeys: ReadonlyArray<string> = noKeys
  /** The one key of a single-key pipeline (`outKeys` is then built only when `keysArray` is asked). */
  let outKey: string | undefined = undefined
  let outValue: V = undefined as V
  /** Set by `evaluate` when the document's bucket has expired (it then contributes nothing). */
  let outExpired = false
  /**
   * A decoded document's keys and value (none when filtered out), or why they cannot be had. With
   * `keysArray` false (the events path, which keeps no ledger), a single key is left in `outKey`.
   */
  const evaluate = (doc: unknown, previousKeys: ReadonlyArray<string> | undefined, keysArray: boolean): string | undefined => {
    outKeys = noKeys
    outKey = undefined
    outValue = undefined as V
    outExpired = false
    try {
      if (filter !== undefined && !filter(doc)) return undefined
      if (keyOf !== undefined) {
        let key = keyOf(doc)
        if (typeof key !== "string") return notAKey(key)
        if (window !== undefined) {
          const bucket = bucketOf(doc)
          if (typeof bucket === "object") return bucket.reason
          if (bucket === undefined) return undefined
          key = Window.key(key, bucket)
        }
        outKey = key
        // an update that keeps its key shares the ledger entry's keys array
        if (keysArray) outKeys = previousKeys !== undefined && previousKeys.length === 1 && previousKeys[0] === key ? previousKeys : [key]
      } else {
        const keys = pipeline.keys(doc)
        for (let k = 0; k < keys.length; k++) if (typeof keys[k] !== "string") return notAKey(keys[k])
        if (window === undefined) outKeys = keys
        else {
          const bucket = bucketOf(doc)
          if (typeof bucket === "object") return bucket.reason
          if (bucket === undefined) return undefined
          outKeys = keys.map((k) => Window.key(k, bucket))
        }
      }
      outValue = valueOf(doc)
      if (check !== undefined) {
        try {
          check(outValue)
        } catch (error) {
          outKeys = noKeys
          outKey = undefined
          outValue = undefined as V
          return outsideDomain(error)
        }
      }
      return undefined
    } catch (error) {
      outKeys = noKeys
      outKey = undefined
      outValue = undefined as V
      return `the pipeline's key or value function threw: ${errorText(error)}`
    }
  }
  /**
   * The bucket id of a document of a windowed pipeline; `undefined` when its bucket has expired
   * (`outExpired` is set), or a `{ reason }` when it has no event time.
   */
  const bucketOf = (doc: unknown): string | undefined | { readonly reason: string } => {
    const bucket = Window.bucketOf(window!, doc)
    if (typeof bucket === "string") return { reason: bucket }
    const expiry = Window.expiresAt(window!, bucket)
    expiries.set(bucket.id, expiry)
    if (expiry !== undefined && expiry <= now) {
      outExpired = true
      return undefined
    }
    return bucket.id
  }

  /** An `"events"` pipeline's record: contributes once, by its position; no ledger. */
  const append = (record: I.Upsert | I.Patch | I.Delete | I.Event, i: number) => {
    if (record._tag === "Delete" || record._tag === "Patch") {
      counts.rejected++
      rejects.push(deadLetter(record, `events pipeline "${pipeline.name}" keeps no ledger: it cannot fold updates or deletes`))
      return
    }
    if (snapshotAt !== undefined && record._tag === "Upsert" && record.version !== undefined && !isNewerVersion(record.version, snapshotAt)) {
      // the snapshot the pipeline was bootstrapped from holds it already
      counts.stale++
      return
    }
    const decoded = decode(record.doc)
    const refused = decoded instanceof Decoder.Refused ? decoded.reason : evaluate(decoded, undefined, false)
    if (outExpired) counts.expired++
    if (refused !== undefined) {
      counts.rejected++
      counts.invalid++
      rejects.push(deadLetter(record, refused))
      return
    }
    counts.upserts++
    if (outKey !== undefined) add(outKey, outValue, i, record.partition)
    else if (outKeys.length === 0) counts.unchanged++
    else for (let k = 0; k < outKeys.length; k++) add(outKeys[k]!, outValue, i, record.partition)
  }

  // Per partition, the lowest seq of the batch (`first`) and its record of highest seq (`last`):
  // a source may deliver a stretch again within one batch (a consumer-group rebalance), so the
  // marks must cover the whole range, not the first and last records. Kept for the current run of
  // one partition's records in locals, and in the maps when the partition changes.
  let runHead: Input | undefined = undefined
  let runMin = 0
  let runMax: Input | undefined = undefined
  const endRun = () => {
    if (runHead === undefined) return
    const min = first.get(runHead.partition)
    if (min === undefined || runMin < min) first.set(runHead.partition, runMin)
    const max = last.get(runHead.partition)
    if (max === undefined || runMax!.seq > max.seq) last.set(runHead.partition, runMax!)
  }
  for (let i = 0; i < batch.length; i++) {
    const record = batch[i]!
    /** A position this batch already holds (its second delivery): an events pipeline skips it. */
    let again = false
    if (runHead === undefined || runHead.partition !== record.partition) {
      endRun()
      runHead = record
      runMin = record.seq
      const max = last.get(record.partition)
      again = max !== undefined && record.seq <= max.seq
      runMax = max === undefined || record.seq > max.seq ? record : max
    } else {
      if (record.seq < runMin) runMin = record.seq
      if (record.seq > runMax!.seq) runMax = record
      else again = true
    }
    if (record._tag === "Skip") {
      counts.skipped++
      continue
    }
    if (record._tag === "Reject") {
      counts.rejected++
      rejects.push(record)
      continue
    }
    if (ledgerFree) {
      if (again) counts.stale++
      else append(record, i)
      continue
    }
    const j = at[i]!
    const version: Version = record._tag !== "Event" && record.version !== undefined
      ? record.version
      : options.at !== undefined
      ? options.at
      : [base, record.seq]
    const current = states[j] ?? prior[j]
    const newer = current === undefined || PlannedEntries.isNewer(version, current)
    /** The document's new state (none for a delete, or a patch without the state before). */
    let doc: unknown = undefined
    /** Set when the new state is refused: it contributes nothing, and is dead-lettered. */
    let refused: string | undefined = undefined
    if (record._tag === "Patch") {
      if (!newer) {
        counts.stale++
        continue
      }
      const before = current?.doc
      if (typeof before === "object" && before !== null && !Array.isArray(before)) {
        try {
          doc = UpdateDescription.apply(before as Record<string, unknown>, record.description)
        } catch (error) {
          refused = `the update description cannot be applied: ${errorText(error)}`
        }
      } else refused = keep ? PATCH_WITHOUT_STATE : PATCH_NOT_KEPT
    } else if (record._tag !== "Delete") doc = record.doc
    const decoded = doc === undefined ? NONE : decode(doc)
    if (!newer) {
      if (decoded instanceof Decoder.Refused) {
        // bad input all the same: dead-lettered, though it changes nothing
        counts.rejected++
        rejects.push(deadLetter(record, decoded.reason))
      } else counts.stale++
      continue
    }
    let keys: ReadonlyArray<string> = noKeys
    let value: V = undefined as V
    if (refused !== undefined || decoded === NONE) {
      // refused already, or deleted
    } else if (decoded instanceof Decoder.Refused) refused = decoded.reason
    else {
      refused = evaluate(decoded, current?.keys, true)
      keys = outKeys
      value = outValue
      if (outExpired) counts.expired++
    }
    const partition = record.partition
    if (group === undefined) {
      // insert-only: a contribution can be added, never retracted
      if (record._tag === "Delete") {
        counts.rejected++
        rejects.push(deadLetter(record, `insert-only pipeline "${pipeline.name}" (monoid kind "${monoid.kind}" has no inverse) cannot retract a deleted document`))
        continue
      }
      if (current !== undefined && current.keys.length > 0) {
        if (refused === undefined && sameKeys(current.keys, keys) && equals(current.value, value)) {
          counts.upserts++
          counts.unchanged++
          continue
        }
        const cannot = `insert-only pipeline "${pipeline.name}" (monoid kind "${monoid.kind}") cannot retract the contribution this document already made`
        counts.rejected++
        rejects.push(deadLetter(record, refused === undefined ? cannot : `${refused}; ${cannot}, which stays`))
        continue
      }
    }
    if (refused !== undefined) {
      counts.rejected++
      counts.invalid++
      rejects.push(deadLetter(record, refused))
    } else if (record._tag === "Delete") counts.deletes++
    else counts.upserts++
    states[j] = keep
      ? new PlannedEntries.PlannedEntryWithDoc(keys, value, version, doc === undefined ? undefined : Projection.project(doc, fields))
      : new PlannedEntries.PlannedEntry(keys, value, version)
    const oldKeys = current === undefined ? noKeys : current.keys
    if (group === undefined) {
      if (keys.length === 0 && refused === undefined) counts.unchanged++
      for (let k = 0; k < keys.length; k++) add(keys[k]!, value, i, partition)
      continue
    }
    if (oldKeys.length === 1 && keys.length === 1 && oldKeys[0] === keys[0]) {
      const delta = group.combine(value, group.inverse(current!.value))
      if (isEmpty(delta)) counts.unchanged++
      else add(keys[0]!, delta, i, partition)
      continue
    }
    if (oldKeys.length === 0 && keys.length === 0) {
      counts.unchanged++
      continue
    }
    if (oldKeys.length > 0) {
      const retract = group.inverse(current!.value)
      for (let k = 0; k < oldKeys.length; k++) add(oldKeys[k]!, retract, i, partition)
    }
    for (let k = 0; k < keys.length; k++) add(keys[k]!, value, i, partition)
  }
  endRun()

  // A key whose contributions cancel out is still sent: the store raises its marks (see
  // `KeyUpdate`). Marks are shared: every key written from one partition only gets that
  // partition's array.
  const shared = new Map<string, ReadonlyArray<Mark>>()
  const markOf = (partition: string): Mark => ({ partition, first: first.get(partition)!, last: last.get(partition)!.seq })
  // the previous update's partition and marks: most batches have one partition, so no look-up per key
  let lastPartition: string | undefined = undefined
  let lastMarks: ReadonlyArray<Mark> = noMarks
  for (let a = 0; a < accList.length; a++) {
    const update = accList[a]!
    if (update.others === undefined) {
      if (update.partition !== lastPartition) {
        let marks = shared.get(update.partition)
        if (marks === undefined) {
          marks = [markOf(update.partition)]
          shared.set(update.partition, marks)
        }
        lastPartition = update.partition
        lastMarks = marks
      }
      update.marks = lastMarks
    } else {
      const marks = [markOf(update.partition)]
      for (let o = 0; o < update.others.length; o++) marks.push(markOf(update.others[o]!))
      update.marks = marks
    }
  }
  return { updates: accList, ledger: new PlannedEntries.PlannedLedger(documents.ids, states), rejects, last, counts }
}

/**
 * Reads each stored entry and its first key before the batch is planned (see `ReadAhead`): a
 * document comes round again thousands of changes later, when its entry has left the caches.
 */
const readAhead = (prior: ReadonlyArray<Entry<unknown> | undefined>): void => {
  let sum = 0
  for (let j = 0; j < prior.length; j++) {
    const entry = prior[j]
    if (entry !== undefined) sum += entry.keys.length
  }
  for (let j = 0; j < prior.length; j++) {
    const entry = prior[j]
    if (entry !== undefined && entry.keys.length > 0) sum += entry.keys[0]!.length
  }
  ReadAhead.keep(sum)
}

const noKeys: ReadonlyArray<string> = Object.freeze([])
const noDocuments: Documents = { ids: [], at: new Int32Array(0) }
const noPrior: ReadonlyArray<undefined> = []

/**
 * Where each aggregate key's update sits in the batch being planned: `ats[slot]` in the plan's
 * list of updates when `gens[slot]` is the current run's, `slot` being the key's number in `index`.
 * One table per pipeline, kept from batch to batch, so that a key seen before costs one lookup and
 * no insert (a table per batch costs a lookup and an insert into a growing map for every key of
 * every batch). The map's values are small integers and the slots two typed arrays, so a look-up
 * reaches no object of its own. It holds the keys and numbers, nothing else of a batch, and starts
 * over past {@link SLOTS_LIMIT} keys. Plans are synchronous, so no two runs share it at once.
 */
class Slots {
  private readonly index = new Map<string, number>()
  /**
   * Each slot's key as first seen, or a copy of it: updates carry it, so that a store that keeps it
   * finds the same string on the next batch (equal by identity) instead of an equal one it must
   * compare. A key cut out of a larger string (a line cut out of a block of a file) is kept as a
   * copy (`Options.copyKeys`): the table then keeps no block alive, and comparing with the key
   * reads the key, not the block it was cut from (events-1m-process-original-positional: 0.92
   * times the time). A source that hands the same string objects again gains by keeping them:
   * a look-up with the very string kept compares nothing.
   */
  readonly keys: Array<string> = []
  gens = new Int32Array(1024)
  ats = new Int32Array(1024)
  private gen = 0
  /** A new run's generation (every slot is then free). */
  next(): number {
    if (this.index.size > SLOTS_LIMIT || this.gen === MAX_GEN) {
      this.index.clear()
      this.keys.length = 0
      this.gens.fill(0)
      this.gen = 0
    }
    return ++this.gen
  }
  /** The slot of `key` (a new one is free: its generation is 0, older than every run's). */
  of(key: string, copy: boolean): number {
    let slot = this.index.get(key)
    if (slot === undefined) {
      slot = this.index.size
      const kept = copy ? detached(key) : key
      this.index.set(kept, slot)
      this.keys.push(kept)
      if (slot === this.gens.length) {
        const gens = new Int32Array(slot * 2)
        gens.set(this.gens)
        this.gens = gens
        const ats = new Int32Array(slot * 2)
        ats.set(this.ats)
        this.ats = ats
      }
    }
    return slot
  }
}

/** The last generation before a slot table starts over (the typed arrays hold 32-bit integers). */
const MAX_GEN = 0x7fffffff

/** Past this many distinct keys, a pipeline's slot table is cleared (bounded memory for unbounded key spaces). */
const SLOTS_LIMIT = 1 << 16

const slotTables = new WeakMap<object, Slots>()

const slotsOf = (pipeline: object): Slots => {
  let slots = slotTables.get(pipeline)
  if (slots === undefined) {
    slots = new Slots()
    slotTables.set(pipeline, slots)
  }
  return slots
}

/** No new state to decode (a delete, a patch without a state before it). */
const NONE: unique symbol = Symbol("none")

/** Every contribution of a batch, in order: which key, which record, what delta. */
interface Log<V> {
  readonly key: Array<string>
  readonly record: Array<number>
  readonly delta: Array<V>
}

/**
 * A key update while the batch is planned (its running delta) and after (what the store applies).
 * Its individual contributions are computed only when a store needs them.
 */
class Update<V> implements KeyUpdate<V> {
  readonly key: string
  delta: V
  marks: ReadonlyArray<Mark> = noMarks
  expiresAt: number | undefined = undefined
  /** The partition of the first contribution... */
  readonly partition: string
  /** ...and the other partitions that contributed, in order of first sight. */
  others: Array<string> | undefined = undefined
  private readonly of: (key: string) => ReadonlyArray<Contribution<V>>
  constructor(key: string, delta: V, partition: string, of: (key: string) => ReadonlyArray<Contribution<V>>) {
    this.key = key
    this.delta = delta
    this.partition = partition
    this.of = of
  }
  get contributions(): ReadonlyArray<Contribution<V>> {
    return this.of(this.key)
  }
}

const noMarks: ReadonlyArray<Mark> = Object.freeze([])

/** The dead letter of a refused document state: its raw text and the reason. */
const deadLetter = (record: I.Upsert | I.Patch | I.Event | I.Delete, reason: string): Reject => {
  const id = record._tag === "Event" ? record.eventId : record.docId
  const raw = record.raw ?? (
    record._tag === "Delete"
      ? `{"delete":${JSON.stringify(id)}}`
      : record._tag === "Patch"
      ? jsonText({ patch: id, updateDescription: record.description })
      : jsonText(record.doc)
  )
  return I.reject(raw, reason, record, id, record.key)
}


/**
 * The pure heart of the fold: turn one batch of records and the ledger entries of its documents
 * into per-key updates, new ledger entries and dead letters. No I/O, plain loops.
 *
 * For each change (in batch order), against the ledger as updated by the earlier records of the
 * same batch:
 * - a version that is not newer than the ledger's is stale and skipped;
 * - otherwise the old contribution is retracted from its keys (by the group inverse) and the new one
 *   added to its keys; same-key updates become one difference;
 * - deltas are coalesced per aggregate key; a change that leaves its key as it was contributes
 *   nothing, and a key whose contributions cancel out is marked `neutral` (see `KeyUpdate`).
 *
 * Insert-only pipelines (non-group monoids) cannot retract: a change that would alter an applied
 * contribution, and every delete, is rejected with a reason instead.
 *
 * @since 0.1.0
 */
import { equals } from "../Equal.ts"
import type { Input, Reject } from "../Input.ts"
import * as I from "../Input.ts"
import type * as Monoid from "../Monoid.ts"
import { contribution, type Mode, type Pipeline } from "../Pipeline.ts"
import type { Contribution, KeyUpdate, Mark } from "../Store/Aggregates.ts"
import type { Entry } from "../Store/Ledger.ts"

/**
 * Counts of one batch.
 *
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
  rejected: number
}

/**
 * What the fold writes for one batch.
 *
 * @since 0.1.0
 */
export interface Plan<In, V> {
  readonly updates: ReadonlyArray<KeyUpdate<V>>
  readonly ledger: ReadonlyArray<readonly [string, Entry<V>]>
  readonly rejects: ReadonlyArray<Reject>
  /** The last record of each partition in the batch: what the source commits. */
  readonly last: ReadonlyMap<string, Input<In>>
  readonly counts: Counts
}

interface Acc<V> {
  delta: V
  readonly contributions: Array<Contribution<V>>
  /** partition -> seq of the first contribution from it */
  readonly first: Map<string, number>
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
 * Plans one batch. `ledger` holds the stored entries of (at least) every document in the batch.
 * Throws what the pipeline's functions or the monoid throw (an `IntegerOverflowError`, say); the
 * runtime turns that into a typed failure.
 *
 * @since 0.1.0
 */
export const plan = <In, V>(
  pipeline: Pipeline<In, V, Mode>,
  batch: ReadonlyArray<Input<In>>,
  ledger: ReadonlyMap<string, Entry<V>>
): Plan<In, V> => {
  const monoid = pipeline.monoid
  const group = pipeline.mode === "changes" ? (monoid as Monoid.Group<V>) : undefined
  const isEmpty = isEmptyFor(monoid)
  const accs = new Map<string, Acc<V>>()
  const overlay = new Map<string, Entry<V>>()
  const rejects: Array<Reject> = []
  const last = new Map<string, Input<In>>()
  const counts: Counts = { records: batch.length, upserts: 0, deletes: 0, stale: 0, unchanged: 0, skipped: 0, rejected: 0 }

  const add = (key: string, delta: V, partition: string, seq: number) => {
    let acc = accs.get(key)
    if (acc === undefined) {
      acc = { delta, contributions: [{ partition, seq, delta }], first: new Map([[partition, seq]]) }
      accs.set(key, acc)
      return
    }
    acc.delta = monoid.combine(acc.delta, delta)
    acc.contributions.push({ partition, seq, delta })
    if (!acc.first.has(partition)) acc.first.set(partition, seq)
  }

  for (let i = 0; i < batch.length; i++) {
    const record = batch[i]!
    last.set(record.partition, record)
    switch (record._tag) {
      case "Skip":
        counts.skipped++
        continue
      case "Reject":
        counts.rejected++
        rejects.push(record)
        continue
    }
    const id = record.docId
    const current = overlay.get(id) ?? ledger.get(id)
    if (
      current !== undefined &&
      !(record.version[0] > current.version[0] ||
        (record.version[0] === current.version[0] && record.version[1] > current.version[1]))
    ) {
      counts.stale++
      continue
    }
    let next: { readonly keys: ReadonlyArray<string>; readonly value: V }
    if (record._tag === "Upsert") {
      try {
        next = contribution(pipeline, record.doc)
      } catch (error) {
        counts.rejected++
        rejects.push(I.reject(safeJson(record.doc), `the pipeline's key or value function threw: ${errorText(error)}`, record, id))
        continue
      }
    } else {
      next = { keys: [], value: undefined as V }
    }
    const { partition, seq } = record
    if (group === undefined) {
      // insert-only: first sight contributes; anything that would alter an applied contribution is refused
      if (record._tag === "Delete") {
        counts.rejected++
        rejects.push(I.reject(`{"delete":${JSON.stringify(id)}}`, `insert-only pipeline "${pipeline.name}" (monoid kind "${monoid.kind}" has no inverse) cannot retract a deleted document`, record, id))
        continue
      }
      counts.upserts++
      if (current !== undefined) {
        if (sameKeys(current.keys, next.keys) && (next.keys.length === 0 || equals(current.value, next.value))) {
          counts.unchanged++
          continue
        }
        counts.upserts--
        counts.rejected++
        rejects.push(I.reject(safeJson(record.doc), `insert-only pipeline "${pipeline.name}" (monoid kind "${monoid.kind}" has no inverse) cannot change the contribution of an applied document`, record, id))
        continue
      }
      for (const key of next.keys) add(key, next.value, partition, seq)
      overlay.set(id, { keys: next.keys, value: next.value, version: record.version })
      continue
    }
    if (record._tag === "Upsert") counts.upserts++
    else counts.deletes++
    overlay.set(id, { keys: next.keys, value: next.value, version: record.version })
    const oldKeys = current === undefined ? [] : current.keys
    if (oldKeys.length === 1 && next.keys.length === 1 && oldKeys[0] === next.keys[0]) {
      const delta = group.combine(next.value, group.inverse(current!.value))
      if (isEmpty(delta)) counts.unchanged++
      else add(oldKeys[0]!, delta, partition, seq)
      continue
    }
    if (oldKeys.length === 0 && next.keys.length === 0) {
      counts.unchanged++
      continue
    }
    if (oldKeys.length > 0) {
      const retract = group.inverse(current!.value)
      for (const key of oldKeys) add(key, retract, partition, seq)
    }
    for (const key of next.keys) add(key, next.value, partition, seq)
  }

  // A key whose contributions cancel out is still sent: after a crash, part of them may already be
  // in the store, and the rest must then be applied. The store skips it when nothing was applied.
  const updates: Array<KeyUpdate<V>> = []
  for (const [key, acc] of accs) {
    const marks: Array<Mark> = []
    for (const [partition, first] of acc.first) marks.push({ partition, first, last: last.get(partition)!.seq })
    updates.push({ key, delta: acc.delta, neutral: isEmpty(acc.delta), marks, contributions: acc.contributions })
  }
  return { updates, ledger: Array.from(overlay), rejects, last, counts }
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const safeJson = (doc: unknown): string => {
  try {
    return JSON.stringify(doc, (_, v) => (typeof v === "bigint" ? v.toString() : v)) ?? String(doc)
  } catch {
    return String(doc)
  }
}

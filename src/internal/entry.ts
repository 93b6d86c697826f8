/**
 * Ledger entries as the planner makes them. A stored entry is compared with a newer change long
 * after it was written (about one change per document later), when neither it nor its version
 * array is in the CPU's caches: each entry also holds its version's two numbers inline, in private
 * fields, so that {@link isNewer} reaches the entry alone. Entries from elsewhere (decoded from a
 * store, written by hand) are plain `Entry` values and compared through their version array.
 *
 * Machinery of the planner and the in-memory store.
 */
import type { Entry } from "../Store/Ledger.ts"
import * as Version from "../Version.ts"

/** An entry whose version is also held inline. */
export class PlannedEntry<V> implements Entry<V> {
  readonly keys: ReadonlyArray<string>
  readonly value: V
  readonly version: Version.Version
  readonly #hi: number
  readonly #lo: number
  constructor(keys: ReadonlyArray<string>, value: V, version: Version.Version) {
    this.keys = keys
    this.value = value
    this.version = version
    this.#hi = version[0]
    this.#lo = version[1]
  }
  /** Whether `version` is newer than `entry`'s. */
  static isNewer(version: Version.Version, entry: Entry<unknown>): boolean {
    if (#hi in entry) {
      const hi = entry.#hi
      return version[0] > hi || (version[0] === hi && version[1] > entry.#lo)
    }
    return Version.isNewer(version, entry.version)
  }
}

/** An entry that keeps the fields of its document (the fold's `keepDocuments`). */
export class PlannedEntryWithDoc<V> extends PlannedEntry<V> {
  readonly doc: unknown
  constructor(keys: ReadonlyArray<string>, value: V, version: Version.Version, doc: unknown) {
    super(keys, value, version)
    this.doc = doc
  }
}

/** Whether `version` is newer than `entry`'s. */
export const isNewer: (version: Version.Version, entry: Entry<unknown>) => boolean = PlannedEntry.isNewer

/**
 * The new entries of a plan, by document id: `states[d]` is the entry of `ids[d]` (none where it is
 * `undefined`). A `ReadonlyMap` over the plan's own arrays: `forEach` walks them (what a store
 * writing them needs), and a look-up by id or an iterator builds a `Map` the first time one is
 * asked for. Building that map for every batch cost the fold over 10k documents about 5% of its
 * time, and the fold itself looks entries up by id only while a batch's writes are under way.
 */
export class PlannedLedger<V> implements ReadonlyMap<string, Entry<V>> {
  readonly size: number
  readonly #ids: ReadonlyArray<string>
  readonly #states: ReadonlyArray<Entry<V> | undefined>
  #byId: Map<string, Entry<V>> | undefined = undefined
  constructor(ids: ReadonlyArray<string>, states: ReadonlyArray<Entry<V> | undefined>) {
    this.#ids = ids
    this.#states = states
    let size = 0
    for (let d = 0; d < states.length; d++) if (states[d] !== undefined) size++
    this.size = size
  }
  forEach(f: (entry: Entry<V>, id: string, map: ReadonlyMap<string, Entry<V>>) => void, thisArg?: unknown): void {
    const states = this.#states
    for (let d = 0; d < states.length; d++) {
      const entry = states[d]
      if (entry !== undefined) f.call(thisArg, entry, this.#ids[d]!, this)
    }
  }
  get(id: string): Entry<V> | undefined {
    return this.#map().get(id)
  }
  has(id: string): boolean {
    return this.#map().has(id)
  }
  entries(): MapIterator<[string, Entry<V>]> {
    return this.#map().entries()
  }
  keys(): MapIterator<string> {
    return this.#map().keys()
  }
  values(): MapIterator<Entry<V>> {
    return this.#map().values()
  }
  [Symbol.iterator](): MapIterator<[string, Entry<V>]> {
    return this.#map()[Symbol.iterator]()
  }
  #map(): Map<string, Entry<V>> {
    if (this.#byId === undefined) {
      const byId = new Map<string, Entry<V>>()
      this.forEach((entry, id) => byId.set(id, entry))
      this.#byId = byId
    }
    return this.#byId
  }
}

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

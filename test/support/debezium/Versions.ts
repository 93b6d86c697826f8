/**
 * What changes in a Debezium MongoDB connector's records from one release line to the next, as read
 * in the debezium/debezium repository (tags v2.7.0.Final ... v3.6.1.Final and the 3.7 development
 * line at commit aad5519902997a3627fe296f77ea6d3452e9acce). NOTES.md cites the commit of each change.
 */

/**
 * `"2.x"` is 2.7 (the last 2.x line), `"3.x"` is 3.6 (the newest 3.x release at the commit read).
 * `"3.0.5"` names the patch release where a record-visible change landed mid-line;
 * `"3.7"` is the unreleased development line (3.7.0-SNAPSHOT at the commit read).
 */
export type DebeziumVersion =
  | "2.x"
  | "3.x"
  | "2.7"
  | "3.0"
  | "3.0.5"
  | "3.1"
  | "3.2"
  | "3.3"
  | "3.4"
  | "3.5"
  | "3.6"
  | "3.7"

export interface Features {
  /** The resolved line, e.g. "3.4". */
  readonly line: string
  /** The default `source.version` string (a full release name). */
  readonly release: string
  /** 3.1+ (DBZ-8499, 7ac082cd82): the `source` struct schema carries `"version":1`. */
  readonly sourceSchemaVersioned: boolean
  /**
   * The `source.snapshot` enum's `allowed` parameter: "true,last,false,incremental" up to 3.0.4,
   * every `SnapshotRecord` value from 3.0.5 on (DBZ-8496, e89db6e856).
   */
  readonly snapshotAllowed: string
  /**
   * 3.1+ (DBZ-8708, 5ad65c4d1c): a snapshot record whose position has no cluster time gets
   * `source.ts_ms` = the connector's clock; before, 0 (the epoch).
   */
  readonly snapshotTsIsNow: boolean
  /** 3.4+ (DBZ-9683, 981d29ab0d): `source.ts_ms` is the change event's `wallTime` when it has one. */
  readonly tsMsPrefersWallTime: boolean
  /** 3.7 (dbz#731, c7c0b7b6e6): `json.serialization.mode` exists; before, only the "legacy" behaviour. */
  readonly jsonSerializationModeOption: boolean
  /** Java driver 5.7+ writes `E+` exponents in doubles: only the 3.7 line (driver 5.9.2). */
  readonly exponentPlus: boolean
  /**
   * 3.2+: data records carry `__debezium.context.*` headers (always in 3.2.0; from 3.2.1 behind
   * `extended.headers.enabled`, default true).
   */
  readonly extendedHeaders: boolean
  /** 3.4+: the extended headers include `__debezium.context.runId`. */
  readonly runIdHeader: boolean
  /** Up to 3.1: ExtractNewDocumentState still accepts the deprecated `delete.handling.mode` (DBZ-6068). */
  readonly legacyDeleteHandlingOption: boolean
  /** 3.5+ (dbz#1724, 7031c3fb09): an implicit transaction END is emitted once, not before every later non-transactional event. */
  readonly singleImplicitEnd: boolean
}

const ORDER = ["2.7", "3.0", "3.0.5", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7"] as const
type Line = typeof ORDER[number]

const RELEASE: Record<Line, string> = {
  "2.7": "2.7.4.Final",
  "3.0": "3.0.0.Final",
  "3.0.5": "3.0.5.Final",
  "3.1": "3.1.0.Final",
  "3.2": "3.2.0.Final",
  "3.3": "3.3.0.Final",
  "3.4": "3.4.0.Final",
  "3.5": "3.5.0.Final",
  "3.6": "3.6.1.Final",
  "3.7": "3.7.0-SNAPSHOT"
}

const SNAPSHOT_ALLOWED_OLD = "true,last,false,incremental"
const SNAPSHOT_ALLOWED_NEW = "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"

export const resolve = (version: DebeziumVersion): Line =>
  version === "2.x" ? "2.7" : version === "3.x" ? "3.6" : version

export const features = (version: DebeziumVersion): Features => {
  const line = resolve(version)
  const at = (min: Line): boolean => ORDER.indexOf(line) >= ORDER.indexOf(min)
  return {
    line,
    release: RELEASE[line],
    sourceSchemaVersioned: at("3.1"),
    snapshotAllowed: at("3.0.5") ? SNAPSHOT_ALLOWED_NEW : SNAPSHOT_ALLOWED_OLD,
    snapshotTsIsNow: at("3.1"),
    tsMsPrefersWallTime: at("3.4"),
    jsonSerializationModeOption: at("3.7"),
    exponentPlus: at("3.7"),
    extendedHeaders: at("3.2"),
    runIdHeader: at("3.4"),
    legacyDeleteHandlingOption: !at("3.2"),
    singleImplicitEnd: at("3.5")
  }
}

/**
 * The embedded persistent store: every store service in one SQLite file, through Node's built-in
 * `node:sqlite` (no native package to build, nothing to run beside the process).
 *
 * Why SQLite rather than an append-only log: every store call is one SQLite transaction in WAL
 * mode, so a process killed at any instruction leaves each call either wholly applied or not at
 * all, and the fold's protocol (idempotent aggregate writes, version-guarded ledger, positions
 * committed last) does the rest. The ledger is indexed on disk, so a million documents do not
 * have to fit in memory or be replayed from a log at start-up. `synchronous=FULL` makes each
 * commit durable against power loss too; `"normal"` keeps it durable against process crashes only,
 * and is faster.
 *
 * The layer also provides `Transactions`: the fold writes a whole batch (every pipeline's dead
 * letters, aggregates and ledger entries, and a staged batch) in one transaction, so one commit a
 * batch instead of one a call (1.57 times the rate of the same fold with a commit a call, for three
 * pipelines in batches of 20 with `synchronous=FULL`: bench/README.md). While it runs, the
 * connection's other callers wait for it. A layer that wraps these services (to count calls, say)
 * must pass `Transactions` on, or the fold goes back to a transaction a call.
 *
 * The layer also provides `Generations` (see `Rebootstrap`): the pointers live in a `generations`
 * table; a swap is one transaction, every write checks its generation inside its own transaction,
 * and every aggregate read resolves the pointer inside its read transaction.
 *
 * @since 0.1.0
 */
import { existsSync, mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync, type StatementSync } from "node:sqlite"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Semaphore from "effect/Semaphore"
import type * as Scope from "effect/Scope"
import { Aggregates, type ApplyStats, raiseMarks, resolve } from "./Aggregates.ts"
import { DeadLetters } from "./DeadLetters.ts"
import { GenerationBehind, GenerationMoved, Generations, isBehind, moved, physical, sourcesOf } from "./Generations.ts"
import * as Binding from "./internal/binding.ts"
import { type Entry, Ledger } from "./Ledger.ts"
import { StoreError } from "./StoreError.ts"
import { Tokens } from "./Tokens.ts"
import { Transactions } from "./Transactions.ts"
import * as ValueCodec from "../internal/valueCodec.ts"
import { isWellFormed } from "../internal/wellFormed.ts"
import * as Version from "../Version.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The database file; created with its folder when missing. `":memory:"` for a private in-memory database. */
  readonly path: string
  /**
   * `false`: fail when the file does not exist, instead of creating an empty store (a reader, such
   * as a reconciliation, for which a mistyped path must not look like a store that lost every
   * key). Default `true`.
   */
  readonly create?: boolean | undefined
  /** `"full"` (default): durable against power loss. `"normal"`: durable against process crashes. */
  readonly durability?: "full" | "normal"
  /**
   * SQLite's page cache for the connection, in MiB (`PRAGMA cache_size`). Default 64: the ledger's
   * and the aggregates' pages a batch reads stay in memory instead of being read again from the
   * file (SQLite's own default is 2 MiB). The cache fills only as pages are read.
   */
  readonly cacheMiB?: number
}

/** The default page cache (see `Options.cacheMiB`; its effect on the fold: bench/README.md, "The embedded store's page cache"). */
const CACHE_MIB = 64

const SCHEMA = `
CREATE TABLE IF NOT EXISTS aggregates (
  pipeline TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, hw TEXT NOT NULL, expires_at INTEGER,
  PRIMARY KEY (pipeline, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
  pipeline TEXT NOT NULL, doc_id TEXT NOT NULL, keys TEXT NOT NULL, value TEXT NOT NULL,
  v_hi INTEGER NOT NULL, v_lo INTEGER NOT NULL, doc TEXT,
  PRIMARY KEY (pipeline, doc_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
  pipeline TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (pipeline, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
  pipeline TEXT NOT NULL, partition TEXT NOT NULL, seq INTEGER NOT NULL, doc_id TEXT, raw_key TEXT,
  raw TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (pipeline, partition, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS generations (
  pipeline TEXT NOT NULL PRIMARY KEY, current INTEGER NOT NULL, building INTEGER, last INTEGER NOT NULL, seal INTEGER) WITHOUT ROWID;
`

interface Statements {
  readonly aggGet: StatementSync
  readonly aggPut: StatementSync
  readonly aggSweep: StatementSync
  readonly aggAll: StatementSync
  readonly ledGet: StatementSync
  readonly ledPut: StatementSync
  readonly tokGet: StatementSync
  readonly tokPut: StatementSync
  readonly tokDel: StatementSync
  readonly dlPut: StatementSync
  readonly dlList: StatementSync
  readonly genGet: StatementSync
  readonly ledNewest: StatementSync
  readonly genPut: StatementSync
}

/**
 * An aggregate key as its column holds it. SQLite keeps text as UTF-8, which has no lone
 * surrogates: bound as it is, `"\ud83d"` (a JSON `\ud83d` escape, or a key cut in the middle of
 * an emoji) would be stored as U+FFFD and share a row with every such key. A key that is not
 * well-formed UTF-16, or that starts with U+FFFF (the mark), is stored as the mark and its JSON
 * text, which escapes them.
 */
const keyColumn = (key: string): string => isWellFormed(key) && key.charCodeAt(0) !== 0xffff ? key : `\uffff${JSON.stringify(key)}`

/** The aggregate key a column holds (see {@link keyColumn}). */
const keyOfColumn = (text: string): string => text.charCodeAt(0) === 0xffff ? JSON.parse(text.slice(1)) as string : text

const prepare = (db: DatabaseSync): Statements => ({
  aggGet: db.prepare("SELECT value, hw, expires_at FROM aggregates WHERE pipeline = ? AND key = ?"),
  aggPut: db.prepare(
    "INSERT INTO aggregates (pipeline, key, value, hw, expires_at) VALUES (?, ?, ?, ?, ?) " +
      "ON CONFLICT (pipeline, key) DO UPDATE SET value = excluded.value, hw = excluded.hw, expires_at = excluded.expires_at"
  ),
  aggAll: db.prepare("SELECT key, value FROM aggregates WHERE pipeline = ? AND (expires_at IS NULL OR expires_at > ?)"),
  aggSweep: db.prepare("DELETE FROM aggregates WHERE pipeline = ? AND expires_at <= ?"),
  ledGet: db.prepare("SELECT keys, value, v_hi, v_lo, doc FROM ledger WHERE pipeline = ? AND doc_id = ?"),
  ledPut: db.prepare(
    "INSERT INTO ledger (pipeline, doc_id, keys, value, v_hi, v_lo, doc) VALUES (?, ?, ?, ?, ?, ?, ?) " +
      "ON CONFLICT (pipeline, doc_id) DO UPDATE SET keys = excluded.keys, value = excluded.value, " +
      "v_hi = excluded.v_hi, v_lo = excluded.v_lo, doc = excluded.doc " +
      "WHERE excluded.v_hi > ledger.v_hi OR (excluded.v_hi = ledger.v_hi AND excluded.v_lo > ledger.v_lo)"
  ),
  tokGet: db.prepare("SELECT value FROM tokens WHERE pipeline = ? AND name = ?"),
  tokPut: db.prepare(
    "INSERT INTO tokens (pipeline, name, value) VALUES (?, ?, ?) " +
      "ON CONFLICT (pipeline, name) DO UPDATE SET value = excluded.value"
  ),
  tokDel: db.prepare("DELETE FROM tokens WHERE pipeline = ? AND name = ?"),
  dlPut: db.prepare(
    "INSERT OR IGNORE INTO dead_letters (pipeline, partition, seq, doc_id, raw_key, raw, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
  ),
  dlList: db.prepare(
    "SELECT partition, seq, doc_id, raw_key, raw, reason, at FROM dead_letters WHERE pipeline = ? ORDER BY partition, seq"
  ),
  ledNewest: db.prepare("SELECT v_hi, v_lo FROM ledger WHERE pipeline = ? ORDER BY v_hi DESC, v_lo DESC LIMIT 1"),
  genGet: db.prepare("SELECT current, building, last, seal FROM generations WHERE pipeline = ?"),
  genPut: db.prepare(
    "INSERT INTO generations (pipeline, current, building, last, seal) VALUES (?, ?, ?, ?, ?) " +
      "ON CONFLICT (pipeline) DO UPDATE SET current = excluded.current, building = excluded.building, last = excluded.last, seal = excluded.seal"
  )
})

const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6

const toStoreError = (operation: string) => (cause: unknown) => {
  if (cause instanceof GenerationMoved) return moved("embedded", operation, cause)
  const code = (cause as { errcode?: number } | null)?.errcode
  return new StoreError({
    store: "embedded",
    operation,
    retryable: code === SQLITE_BUSY || code === SQLITE_LOCKED,
    cause
  })
}

/**
 * Runs `f` in one write transaction; rolls back on any exception. Inside a caller's transaction
 * (`Transactions.withTransaction`) it runs as part of it, without a savepoint of its own: every
 * store call is idempotent (marks, version-guarded entries, `INSERT OR IGNORE`), so a call retried
 * inside the transaction after a failure half-way redoes only what is missing, and a failure that
 * ends the transaction rolls all of it back. (A savepoint per call copies every page the call
 * changes into SQLite's statement journal: 18% slower on store-embedded-normal-zipf.)
 */
const transaction = <A>(db: DatabaseSync, operation: string, f: () => A): Effect.Effect<A, StoreError> =>
  Effect.try({
    try: () => {
      if (db.isTransaction) return f()
      db.exec("BEGIN IMMEDIATE")
      try {
        const result = f()
        db.exec("COMMIT")
        return result
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK")
        throw error
      }
    },
    catch: toStoreError(operation)
  })

const read = <A>(operation: string, f: () => A): Effect.Effect<A, StoreError> =>
  Effect.try({ try: f, catch: toStoreError(operation) })

/** Many reads in one read transaction (or in the caller's): one snapshot, and SQLite takes its locks once, not per row. */
const readMany = <A>(db: DatabaseSync, operation: string, f: () => A): Effect.Effect<A, StoreError> =>
  Effect.try({
    try: () => {
      if (db.isTransaction) return f()
      db.exec("BEGIN")
      try {
        return f()
      } finally {
        if (db.isTransaction) db.exec("COMMIT")
      }
    },
    catch: toStoreError(operation)
  })

/** The database whose transaction (`Transactions.withTransaction`) the current fiber runs in. */
const InTransaction = Context.Reference<DatabaseSync | undefined>("effect-monoid-streams/Embedded/InTransaction", {
  defaultValue: () => undefined
})

/**
 * One connection's calls, one at a time: a transaction spans several calls (and the fiber yields
 * between them), so every other call on the connection waits for it to end instead of reading
 * its uncommitted writes or opening a transaction inside it. The transaction's own calls go
 * straight through.
 */
interface Connection {
  readonly db: DatabaseSync
  readonly lock: Semaphore.Semaphore
}

const exclusive = <A, E>(connection: Connection, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.flatMap(Effect.service(InTransaction), (inside) => inside === connection.db ? effect : connection.lock.withPermit(effect))

/** A service shape whose every method returning an effect goes through {@link exclusive}. */
const exclusiveAll = <S extends object>(connection: Connection, shape: S): S => {
  const out: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(shape)) {
    out[name] = typeof member !== "function" ? member : (...args: Array<unknown>) => {
      const result: unknown = member(...args)
      return Effect.isEffect(result) ? exclusive(connection, result as Effect.Effect<unknown, unknown>) : result
    }
  }
  return out as S
}

const transactions = (connection: Connection): Context.Service.Shape<typeof Transactions> => {
  const { db } = connection
  const exec = (sql: string, operation: string) => Effect.try({ try: () => db.exec(sql), catch: toStoreError(operation) })
  // a ROLLBACK that throws dies: the connection would be left inside the transaction
  const rollback = Effect.sync(() => {
    if (db.isTransaction) db.exec("ROLLBACK")
  })
  return {
    withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Effect.service(InTransaction), (inside) =>
        inside === db
          ? effect
          : connection.lock.withPermit(
            Effect.uninterruptibleMask((restore) =>
              Effect.andThen(
                exec("BEGIN IMMEDIATE", "transaction.begin"),
                restore(Effect.provideService(effect, InTransaction, db)).pipe(
                  Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : rollback)),
                  Effect.tap(() => Effect.onError(exec("COMMIT", "transaction.commit"), () => rollback))
                )
              )
            )
          ))
  }
}

interface AggRow {
  readonly value: string
  readonly hw: string
  readonly expires_at: number | null
}
interface LedgerRow {
  readonly keys: string
  readonly value: string
  readonly v_hi: number
  readonly v_lo: number
  readonly doc: string | null
}

interface GenRow {
  readonly current: number
  readonly building: number | null
  readonly last: number
  readonly seal: number | null
}

interface Pointer {
  readonly current: number
  readonly building: number | undefined
  readonly last: number
  readonly seal: number | undefined
}

const pointerOf = (s: Statements, pipeline: string): Pointer => {
  const row = s.genGet.get(pipeline) as GenRow | undefined
  return row === undefined
    ? { current: 0, building: undefined, last: 0, seal: undefined }
    : { current: row.current, building: row.building ?? undefined, last: row.last, seal: row.seal ?? undefined }
}

const putPointer = (s: Statements, pipeline: string, p: Pointer) => s.genPut.run(pipeline, p.current, p.building ?? null, p.last, p.seal ?? null)

const services = (connection: Connection, s: Statements, binding: Binding.Binding) => {
  const { db } = connection
  const aggregates: Context.Service.Shape<typeof Aggregates> = {
    apply: (target, updates) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => transaction(db, "aggregates.apply", (): ApplyStats => {
        const { monoid } = target
        // expired buckets of windowed pipelines go first (an indexed range: nothing when none is due)
        binding.check()
        const name = binding.name(target.name)
        s.aggSweep.run(name, now)
        let written = 0
        let skipped = 0
        let partial = 0
        for (const update of updates) {
          const column = keyColumn(update.key)
          const row = s.aggGet.get(name, column) as AggRow | undefined
          const hw: Record<string, number> = row === undefined ? Object.create(null) : parseMarks(row.hw)
          const todo = resolve(monoid, update, (p) => hw[p])
          if (todo === undefined) {
            skipped++
            continue
          }
          if (!todo.fast) partial++
          // a key's first value meets no combine: the monoid's check refuses what combine would
          if (row === undefined) monoid.check?.(todo.delta)
          const value = row === undefined ? todo.delta : monoid.combine(ValueCodec.decode(row.value), todo.delta)
          const expires = update.expiresAt ?? row?.expires_at ?? null
          s.aggPut.run(name, column, ValueCodec.encode(value), JSON.stringify(raiseMarks(hw, update.marks)), expires)
          written++
        }
        return { written, skipped, partial }
      })),
    get: (target, keys) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        readMany(db, "aggregates.get", () => {
          const out = new Map<string, any>()
          const name = binding.readName(target.name)
          for (const key of keys) {
            const row = s.aggGet.get(name, keyColumn(key)) as AggRow | undefined
            if (row !== undefined && (row.expires_at === null || row.expires_at > now)) out.set(key, ValueCodec.decode(row.value))
          }
          return out
        })),
    all: (target) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => readMany(db, "aggregates.all", () => {
        const out = new Map<string, any>()
        for (const row of s.aggAll.all(binding.readName(target.name), now) as Array<{ key: string; value: string }>) {
          out.set(keyOfColumn(row.key), ValueCodec.decode(row.value))
        }
        return out
      }))
  }
  const ledger: Context.Service.Shape<typeof Ledger> = {
    get: (target, docIds) =>
      readMany(db, "ledger.get", () => {
        const out = new Array<Entry<any> | undefined>(docIds.length)
        const name = binding.name(target.name)
        for (let i = 0; i < docIds.length; i++) {
          const row = s.ledGet.get(name, docIds[i]!) as LedgerRow | undefined
          if (row !== undefined) {
            const entry: Entry<unknown> = {
              keys: JSON.parse(row.keys) as Array<string>,
              value: ValueCodec.decode(row.value),
              version: [row.v_hi, row.v_lo]
            }
            out[i] = row.doc === null ? entry : { ...entry, doc: ValueCodec.decode(row.doc) }
          }
        }
        return out
      }),
    put: (target, entries) =>
      transaction(db, "ledger.put", () => {
        binding.check()
        const name = binding.name(target.name)
        entries.forEach((e, id) => {
          s.ledPut.run(
            name,
            id,
            JSON.stringify(e.keys),
            e.keys.length === 0 ? "null" : ValueCodec.encode(e.value),
            e.version[0],
            e.version[1],
            e.doc === undefined ? null : ValueCodec.encode(e.doc)
          )
        })
      })
  }
  const tokens: Context.Service.Shape<typeof Tokens> = {
    get: (pipeline, name) =>
      read("tokens.get", () => {
        const row = s.tokGet.get(binding.readScope(pipeline), name) as { value: string } | undefined
        return row === undefined ? Option.none() : Option.some(JSON.parse(row.value) as unknown)
      }),
    set: (pipeline, name, value) =>
      transaction(db, "tokens.set", () => {
        binding.check()
        const scope = binding.scope(pipeline)
        if (value === undefined) s.tokDel.run(scope, name)
        else s.tokPut.run(scope, name, JSON.stringify(value))
      })
  }
  const deadLetters: Context.Service.Shape<typeof DeadLetters> = {
    write: (records) =>
      transaction(db, "deadLetters.write", () => {
        for (const r of records) s.dlPut.run(r.pipeline, r.partition, r.seq, r.docId ?? null, r.key ?? null, r.raw, r.reason, r.at)
      }),
    list: (pipeline) =>
      read("deadLetters.list", () =>
        (s.dlList.all(pipeline) as Array<
          { partition: string; seq: number; doc_id: string | null; raw_key: string | null; raw: string; reason: string; at: number }
        >).map((r) => ({
          pipeline,
          partition: r.partition,
          seq: r.seq,
          docId: r.doc_id ?? undefined,
          key: r.raw_key ?? undefined,
          raw: r.raw,
          reason: r.reason,
          at: r.at
        })))
  }
  return {
    aggregates: exclusiveAll(connection, aggregates),
    ledger: exclusiveAll(connection, ledger),
    tokens: exclusiveAll(connection, tokens),
    deadLetters: exclusiveAll(connection, deadLetters)
  }
}

const contextOf = (connection: Connection, s: Statements, binding: Binding.Binding) => {
  const all = services(connection, s, binding)
  return Context.make(Aggregates, all.aggregates).pipe(
    Context.add(Ledger, all.ledger),
    Context.add(Tokens, all.tokens),
    Context.add(DeadLetters, all.deadLetters),
    Context.add(Transactions, transactions(connection))
  )
}

/** The newest version in a pipeline's ledger (one pass over its entries). */
const newestOf = (s: Statements, name: string): Version.Version | undefined => {
  const row = s.ledNewest.get(name) as { v_hi: number | null; v_lo: number | null } | undefined
  return row === undefined || row.v_hi === null ? undefined : Version.make(row.v_hi, row.v_lo ?? 0)
}

/** The generations of the pipelines of one database: each pointer change is one transaction. */
const generations = (connection: Connection, s: Statements): Context.Service.Shape<typeof Generations> => {
  const { db } = connection
  const status = (pipeline: string) => Binding.statusOf(pipeline, pointerOf(s, pipeline))
  const dropNow = (pipeline: string, generation: number) => {
    const name = physical(pipeline, generation)
    db.prepare("DELETE FROM aggregates WHERE pipeline = ?").run(name)
    db.prepare("DELETE FROM ledger WHERE pipeline = ?").run(name)
    db.prepare("DELETE FROM tokens WHERE pipeline = ? OR pipeline = ?").run(name, sourcesOf(pipeline, generation))
  }
  return exclusiveAll(connection, {
    status: (pipeline) => read("generations.status", () => status(pipeline)),
    begin: (pipeline, options) =>
      transaction(db, "generations.begin", () => {
        const p = pointerOf(s, pipeline)
        // resuming lifts a seal an interrupted swap left (the live worker may commit again)
        if (p.building !== undefined && options?.fresh !== true) {
          if (p.seal !== undefined) putPointer(s, pipeline, { ...p, seal: undefined })
          return status(pipeline)
        }
        if (p.building !== undefined) dropNow(pipeline, p.building)
        const next = Math.max(p.last, p.current) + 1
        dropNow(pipeline, next)
        putPointer(s, pipeline, { current: p.current, building: next, last: next, seal: undefined })
        return status(pipeline)
      }),
    services: (pipeline, generation) =>
      contextOf(connection, s, Binding.make((p) => pointerOf(s, p), { pipeline, generation })),
    swap: (pipeline, from, to) =>
      Effect.flatMap(
        transaction(db, "generations.swap", () => {
          const p = pointerOf(s, pipeline)
          Binding.expectSwappable(pipeline, p, from, to)
          const live = newestOf(s, physical(pipeline, from))
          const built = newestOf(s, physical(pipeline, to))
          if (isBehind(built, live)) {
            putPointer(s, pipeline, { ...p, seal: undefined })
            return new GenerationBehind({ pipeline, live, built })
          }
          putPointer(s, pipeline, { current: to, building: undefined, last: p.last, seal: undefined })
          return undefined
        }),
        (behind) => behind === undefined ? Effect.void : Effect.fail(behind)
      ),
    seal: (pipeline, from, to) =>
      transaction(db, "generations.seal", () => {
        const p = pointerOf(s, pipeline)
        Binding.expectSwappable(pipeline, p, from, to)
        putPointer(s, pipeline, { ...p, seal: to })
        return newestOf(s, physical(pipeline, from))
      }),
    unseal: (pipeline) =>
      transaction(db, "generations.unseal", () => {
        const p = pointerOf(s, pipeline)
        if (p.seal !== undefined) putPointer(s, pipeline, { ...p, seal: undefined })
      }),
    drop: (pipeline, generation) =>
      transaction(db, "generations.drop", () => {
        const p = pointerOf(s, pipeline)
        if (p.current === generation) throw new Error(`generation ${generation} of pipeline ${pipeline} is current`)
        if (p.building === generation) putPointer(s, pipeline, { ...p, building: undefined, seal: undefined })
        dropNow(pipeline, generation)
      })
  })
}

const parseMarks = (text: string): Record<string, number> =>
  // null prototype: partition names are data (a partition may be called "__proto__")
  Object.assign(Object.create(null), JSON.parse(text)) as Record<string, number>

/**
 * Opens (or creates) the database; closed when the scope ends.
 *
 * @category constructors
 * @since 0.1.0
 */
export const open = (options: Options): Effect.Effect<DatabaseSync, StoreError, Scope.Scope> => {
  const cacheMiB = options.cacheMiB ?? CACHE_MIB
  if (!(Number.isFinite(cacheMiB) && cacheMiB > 0)) {
    return Effect.fail(
      new StoreError({ store: "embedded", operation: "open", retryable: false, detail: `cacheMiB must be a positive number of MiB, not ${cacheMiB}` })
    )
  }
  return Effect.acquireRelease(
    Effect.try({
      try: () => {
        if (options.path !== ":memory:" && options.create === false && !existsSync(options.path)) {
          throw new Error(`no embedded store at ${options.path}: nothing was folded into it yet, or the path is not the one written`)
        }
        if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true })
        const db = new DatabaseSync(options.path, { timeout: 10_000 })
        db.exec("PRAGMA journal_mode = WAL")
        db.exec(`PRAGMA synchronous = ${options.durability === "normal" ? "NORMAL" : "FULL"}`)
        // a negative size is in KiB
        db.exec(`PRAGMA cache_size = ${-Math.max(1, Math.round((options.cacheMiB ?? CACHE_MIB) * 1024))}`)
        db.exec(SCHEMA)
        // databases made before the ledger kept documents (keepDocuments)
        const columns = db.prepare("PRAGMA table_info(ledger)").all() as Array<{ name: string }>
        if (!columns.some((c) => c.name === "doc")) db.exec("ALTER TABLE ledger ADD COLUMN doc TEXT")
        // and before windows (aggregates that expire)
        const aggColumns = db.prepare("PRAGMA table_info(aggregates)").all() as Array<{ name: string }>
        if (!aggColumns.some((c) => c.name === "expires_at")) db.exec("ALTER TABLE aggregates ADD COLUMN expires_at INTEGER")
        // and before rebuilds sealed the live generation for their last catch-up
        const genColumns = db.prepare("PRAGMA table_info(generations)").all() as Array<{ name: string }>
        if (!genColumns.some((c) => c.name === "seal")) db.exec("ALTER TABLE generations ADD COLUMN seal INTEGER")
        db.exec("CREATE INDEX IF NOT EXISTS aggregates_expiry ON aggregates (pipeline, expires_at) WHERE expires_at IS NOT NULL")
        return db
      },
      catch: (cause) =>
        new StoreError({ store: "embedded", operation: "open", retryable: false, cause, detail: options.path })
    }),
    (db) => Effect.sync(() => db.isOpen && db.close())
  )
}

/**
 * Every store service in one SQLite file.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<Aggregates | Ledger | Tokens | DeadLetters | Generations | Transactions, StoreError> =>
  Layer.effectContext(
    Effect.map(open(options), (db) => {
      const s = prepare(db)
      const connection: Connection = { db, lock: Semaphore.makeUnsafe(1) }
      return contextOf(connection, s, Binding.make((p) => pointerOf(s, p))).pipe(Context.add(Generations, generations(connection, s)))
    })
  )

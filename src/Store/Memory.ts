/**
 * In-memory stores: every store service over plain maps. For tests, benchmarks and programs whose
 * aggregates need not outlive the process.
 *
 * The state lives in a {@link State} value that can outlive a layer: build the layer twice from
 * the same state to simulate a worker restart over durable stores.
 *
 * The layer also provides `Generations` (rebuilds swapped in atomically, see `Rebootstrap`): each
 * pointer change, and each write with its generation check, is one synchronous step. The services
 * of one layer share one binding of pipelines to generations (`aggregates`, `ledger` and `tokens`
 * called on their own each get a binding of their own, or share the one they are given).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Aggregates, type ApplyStats, resolve } from "./Aggregates.ts"
import { type DeadLetter, DeadLetters } from "./DeadLetters.ts"
import { GenerationBehind, GenerationMoved, Generations, isBehind, moved, newest, physical, sourcesOf } from "./Generations.ts"
import * as Binding from "./internal/binding.ts"
import * as ReadAhead from "../internal/readAhead.ts"
import { isNewer } from "../internal/entry.ts"
import { type Entry, Ledger } from "./Ledger.ts"
import { StoreError } from "./StoreError.ts"
import { Tokens } from "./Tokens.ts"
import * as Version from "../Version.ts"

/**
 * One stored aggregate: its value and its per-partition high-water marks.
 *
 * @category models
 * @since 0.1.0
 */
export interface Cell {
  value: unknown
  /** The first partition's mark inline (most aggregates are written from one partition)... */
  partition: string | undefined
  seq: number
  /** ...and any further partitions' marks. */
  others: Map<string, number> | undefined
  /** When a windowed bucket's aggregate expires (ms), if it does. */
  expiresAt?: number | undefined
}

/** The cells the store makes: one shape from the start (an expiry set later adds no property). */
class StoredCell implements Cell {
  value: unknown
  partition: string | undefined = undefined
  seq = 0
  others: Map<string, number> | undefined = undefined
  expiresAt: number | undefined = undefined
  constructor(value: unknown) {
    this.value = value
  }
}

const markOf = (cell: Cell, partition: string): number | undefined =>
  cell.partition === partition ? cell.seq : cell.others?.get(partition)

const raise = (cell: Cell, partition: string, seq: number): void => {
  if (cell.partition === undefined || cell.partition === partition) {
    if (cell.partition === undefined || cell.seq < seq) {
      cell.partition = partition
      cell.seq = seq
    }
    return
  }
  if (cell.others === undefined) cell.others = new Map()
  const current = cell.others.get(partition)
  if (current === undefined || current < seq) cell.others.set(partition, seq)
}

/**
 * The whole in-memory state, per pipeline.
 *
 * @category models
 * @since 0.1.0
 */
export interface State {
  readonly aggregates: Map<string, Map<string, Cell>>
  readonly ledger: Map<string, Map<string, Entry<unknown>>>
  readonly tokens: Map<string, Map<string, string>>
  readonly deadLetters: Map<string, DeadLetter>
  /** Each rebuilt pipeline's generations (see `Generations`); absent: generation 0, nothing built. */
  readonly generations: Map<string, Pointer>
}

/**
 * A pipeline's generation pointer.
 *
 * @category models
 * @since 0.1.0
 */
export interface Pointer {
  readonly current: number
  readonly building: number | undefined
  /** The highest generation ever opened (a new one is always past it). */
  readonly last: number
  /** While the current generation is sealed for a swap: the generation it swaps to (see `Generations.seal`). */
  readonly seal?: number | undefined
}

/**
 * A fresh, empty state.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeState = (): State => ({
  aggregates: new Map(),
  ledger: new Map(),
  tokens: new Map(),
  deadLetters: new Map(),
  generations: new Map()
})

const table = <A>(maps: Map<string, Map<string, A>>, pipeline: string): Map<string, A> => {
  let m = maps.get(pipeline)
  if (m === undefined) {
    m = new Map()
    maps.set(pipeline, m)
  }
  return m
}

const attempt = <A>(operation: string, f: () => A) =>
  Effect.try({
    try: f,
    catch: (cause) =>
      cause instanceof GenerationMoved ? moved("memory", operation, cause) : new StoreError({ store: "memory", operation, retryable: false, cause })
  })

/** The pointer read of a binding over `state`. */
const lookup = (state: State) => (pipeline: string): Binding.Pointer => state.generations.get(pipeline) ?? Binding.initial

/** The binding of a layer over `state` (every service of one layer shares it). */
const bindingOf = (state: State, binding: Binding.Binding | undefined): Binding.Binding =>
  binding ?? Binding.make(lookup(state))

/**
 * The aggregate store over `state`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const aggregates = (state: State, shared?: Binding.Binding): Context.Service.Shape<typeof Aggregates> => {
  const binding = bindingOf(state, shared)
  return {
    apply: (target, updates) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => attempt("apply", (): ApplyStats => {
        binding.check()
        const cells = table(state.aggregates, binding.name(target.name))
        sweep(cells, now)
        const { monoid } = target
        let written = 0
        let skipped = 0
        let partial = 0
        // compute every new value first so that a failing combine leaves the state untouched
        const values: Array<unknown> = new Array(updates.length)
        const found: Array<Cell | undefined | null> = new Array(updates.length)
        // every cell looked up, and one field of each read, before any is used (see ReadAhead:
        // 1.1x the events fold's rate, bench/README.md)
        for (let u = 0; u < updates.length; u++) found[u] = cells.get(updates[u]!.key)
        let touched = 0
        for (let u = 0; u < updates.length; u++) touched += (found[u] as Cell | undefined)?.seq ?? 0
        ReadAhead.keep(touched)
        for (let u = 0; u < updates.length; u++) {
          const update = updates[u]!
          const cell = found[u] as Cell | undefined
          let fresh = true
          if (cell !== undefined) {
            const marks = update.marks
            for (let m = 0; m < marks.length; m++) {
              const applied = markOf(cell, marks[m]!.partition)
              if (applied !== undefined && applied >= marks[m]!.first) {
                fresh = false
                break
              }
            }
          }
          // the fast path inline; anything partly applied goes through the shared replay rules
          let delta = update.delta
          if (!fresh) {
            const todo = resolve(monoid, update, (p) => markOf(cell!, p))
            if (todo === undefined) {
              found[u] = null
              skipped++
              continue
            }
            partial++
            delta = todo.delta
          }
          // a key's first value meets no combine: the monoid's check refuses what combine would
          if (cell === undefined) monoid.check?.(delta)
          values[u] = cell === undefined ? delta : monoid.combine(cell.value as typeof delta, delta)
          written++
        }
        for (let u = 0; u < updates.length; u++) {
          let cell = found[u]
          if (cell === null) continue
          const update = updates[u]!
          if (cell === undefined) {
            cell = new StoredCell(values[u])
            cells.set(update.key, cell)
          } else cell.value = values[u]
          if (update.expiresAt !== undefined) expireAt(cells, cell, update.expiresAt)
          const marks = update.marks
          for (let m = 0; m < marks.length; m++) raise(cell, marks[m]!.partition, marks[m]!.last)
        }
        return { written, skipped, partial }
      })),
    get: (target, keys) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const cells = table(state.aggregates, binding.readName(target.name))
        const out = new Map<string, any>()
        for (const key of keys) {
          const cell = cells.get(key)
          if (cell !== undefined && !expired(cell, now)) out.set(key, cell.value)
        }
        return out
      }),
    all: (target) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const out = new Map<string, any>()
        for (const [key, cell] of table(state.aggregates, binding.readName(target.name))) if (!expired(cell, now)) out.set(key, cell.value)
        return out
      })
  }
}

const expired = (cell: Cell, now: number): boolean => cell.expiresAt !== undefined && cell.expiresAt <= now

/** The earliest expiry in each table of aggregates, so that a sweep runs only when one is due. */
const nextExpiry = new WeakMap<Map<string, Cell>, number>()

const expireAt = (cells: Map<string, Cell>, cell: Cell, at: number): void => {
  cell.expiresAt = at
  if (at < (nextExpiry.get(cells) ?? Number.POSITIVE_INFINITY)) nextExpiry.set(cells, at)
}

/** Deletes the expired aggregates of a table when one is due. */
const sweep = (cells: Map<string, Cell>, now: number): void => {
  if ((nextExpiry.get(cells) ?? Number.POSITIVE_INFINITY) > now) return
  let next = Number.POSITIVE_INFINITY
  for (const [key, cell] of cells) {
    if (cell.expiresAt === undefined) continue
    if (cell.expiresAt <= now) cells.delete(key)
    else if (cell.expiresAt < next) next = cell.expiresAt
  }
  nextExpiry.set(cells, next)
}

/**
 * The contribution ledger over `state`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ledger = (state: State, shared?: Binding.Binding): Context.Service.Shape<typeof Ledger> => {
  const binding = bindingOf(state, shared)
  return {
    get: (target, docIds) =>
      Effect.sync(() => {
        const entries = table(state.ledger, binding.name(target.name))
        const out = new Array<Entry<any> | undefined>(docIds.length)
        for (let i = 0; i < docIds.length; i++) out[i] = entries.get(docIds[i]!)
        return out
      }),
    put: (target, writes) =>
      attempt("ledger.put", () => {
        binding.check()
        const entries = table(state.ledger, binding.name(target.name))
        writes.forEach((entry, id) => {
          const current = entries.get(id)
          if (current === undefined || isNewer(entry.version, current)) entries.set(id, entry)
        })
      })
  }
}

/**
 * The token store over `state` (values are kept as JSON text, so callers never share objects).
 *
 * @category constructors
 * @since 0.1.0
 */
export const tokens = (state: State, shared?: Binding.Binding): Context.Service.Shape<typeof Tokens> => {
  const binding = bindingOf(state, shared)
  return {
    get: (pipeline, name) =>
      Effect.sync(() => {
        const text = table(state.tokens, binding.readScope(pipeline)).get(name)
        return text === undefined ? Option.none() : Option.some(JSON.parse(text) as unknown)
      }),
    set: (pipeline, name, value) =>
      attempt("tokens.set", () => {
        binding.check()
        const t = table(state.tokens, binding.scope(pipeline))
        if (value === undefined) t.delete(name)
        else t.set(name, JSON.stringify(value))
      })
  }
}

/**
 * The dead-letter sink over `state` (idempotent per pipeline, partition and seq).
 *
 * @category constructors
 * @since 0.1.0
 */
export const deadLetters = (state: State): Context.Service.Shape<typeof DeadLetters> => ({
  write: (records) =>
    Effect.sync(() => {
      for (const r of records) {
        const id = JSON.stringify([r.pipeline, r.partition, r.seq])
        if (!state.deadLetters.has(id)) state.deadLetters.set(id, r)
      }
    }),
  list: (pipeline) =>
    Effect.sync(() => Array.from(state.deadLetters.values()).filter((r) => r.pipeline === pipeline))
})

/**
 * Every store service over one in-memory state (a fresh one when none is given).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (state: State = makeState()): Layer.Layer<Aggregates | Ledger | Tokens | DeadLetters | Generations> =>
  Layer.effectContext(Effect.sync(() => {
    // one binding per layer: a layer built twice (a restarted worker) binds afresh
    const binding = Binding.make(lookup(state))
    return Context.make(Aggregates, aggregates(state, binding)).pipe(
      Context.add(Ledger, ledger(state, binding)),
      Context.add(Tokens, tokens(state, binding)),
      Context.add(DeadLetters, deadLetters(state)),
      Context.add(Generations, generations(state))
    )
  }))

const newestOf = (entries: Map<string, Entry<unknown>> | undefined): Version.Version | undefined => {
  let out: Version.Version | undefined = undefined
  if (entries !== undefined) for (const e of entries.values()) out = newest(out, e.version)
  return out
}

/**
 * The generations of the pipelines of `state` (see `Generations`): every change of a pointer is
 * one synchronous step, so no reader or writer ever sees half of it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const generations = (state: State): Context.Service.Shape<typeof Generations> => {
  const pointer = (pipeline: string): Pointer => state.generations.get(pipeline) ?? { current: 0, building: undefined, last: 0 }
  const dropNow = (pipeline: string, generation: number) => {
    const name = physical(pipeline, generation)
    state.aggregates.delete(name)
    state.ledger.delete(name)
    state.tokens.delete(name)
    state.tokens.delete(sourcesOf(pipeline, generation))
  }
  return {
    status: (pipeline) => Effect.sync(() => Binding.statusOf(pipeline, pointer(pipeline))),
    begin: (pipeline, options) =>
      Effect.sync(() => {
        const p = pointer(pipeline)
        // resuming lifts a seal an interrupted swap left (the live worker may commit again)
        if (p.building !== undefined && options?.fresh !== true) {
          const resumed = { ...p, seal: undefined }
          if (p.seal !== undefined) state.generations.set(pipeline, resumed)
          return Binding.statusOf(pipeline, resumed)
        }
        if (p.building !== undefined) dropNow(pipeline, p.building)
        const next = Math.max(p.last, p.current) + 1
        dropNow(pipeline, next)
        const opened: Pointer = { current: p.current, building: next, last: next }
        state.generations.set(pipeline, opened)
        return Binding.statusOf(pipeline, opened)
      }),
    services: (pipeline, generation) => {
      const binding = Binding.make(lookup(state), { pipeline, generation })
      return Context.make(Aggregates, aggregates(state, binding)).pipe(
        Context.add(Ledger, ledger(state, binding)),
        Context.add(Tokens, tokens(state, binding)),
        Context.add(DeadLetters, deadLetters(state))
      )
    },
    swap: (pipeline, from, to) =>
      Effect.flatMap(
        attempt("generations.swap", () => {
          const p = pointer(pipeline)
          Binding.expectSwappable(pipeline, p, from, to)
          const live = newestOf(state.ledger.get(physical(pipeline, from)))
          const built = newestOf(state.ledger.get(physical(pipeline, to)))
          if (isBehind(built, live)) {
            state.generations.set(pipeline, { ...p, seal: undefined })
            return new GenerationBehind({ pipeline, live, built })
          }
          state.generations.set(pipeline, { current: to, building: undefined, last: p.last })
          return undefined
        }),
        (behind) => behind === undefined ? Effect.void : Effect.fail(behind)
      ),
    seal: (pipeline, from, to) =>
      attempt("generations.seal", () => {
        const p = pointer(pipeline)
        Binding.expectSwappable(pipeline, p, from, to)
        state.generations.set(pipeline, { ...p, seal: to })
        return newestOf(state.ledger.get(physical(pipeline, from)))
      }),
    unseal: (pipeline) =>
      Effect.sync(() => {
        const p = state.generations.get(pipeline)
        if (p?.seal !== undefined) state.generations.set(pipeline, { ...p, seal: undefined })
      }),
    drop: (pipeline, generation) =>
      attempt("generations.drop", () => {
        const p = pointer(pipeline)
        if (p.current === generation) throw new Error(`generation ${generation} of pipeline ${pipeline} is current`)
        if (p.building === generation) state.generations.set(pipeline, { ...p, building: undefined, seal: undefined })
        dropNow(pipeline, generation)
      })
  }
}

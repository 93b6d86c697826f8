/**
 * The generation bookkeeping a store layer shares between its services (see `Generations`): which
 * generation of each pipeline the fold of this layer writes, and the check every write makes.
 *
 * @internal
 */
import { GenerationMoved, physical, sourcesOf, type Status } from "../Generations.ts"
import { sourcesScope } from "../../internal/tokenKeys.ts"

/** A pipeline's pointer as a store keeps it. */
export interface Pointer {
  readonly current: number
  readonly building: number | undefined
  /** The generation a swap is about to make current while the current one is sealed (see `Generations.seal`). */
  readonly seal?: number | undefined
}

/** No pointer record: generation 0, nothing being built. */
export const initial: Pointer = { current: 0, building: undefined }

/** What `Generations.status` says of a pipeline's pointer. */
export const statusOf = (pipeline: string, p: Pointer): Status => ({
  pipeline,
  current: p.current,
  building: p.building,
  ...(p.seal === undefined ? {} : { sealed: true as const })
})

/**
 * Throws a {@link GenerationMoved} unless `from` is the current generation and `to` the one being
 * built: what a swap and a seal both require.
 */
export const expectSwappable = (pipeline: string, pointer: Pointer, from: number, to: number): void => {
  if (pointer.current !== from || pointer.building !== to) throw new GenerationMoved({ pipeline, bound: to, current: pointer.current })
}

export interface Binding {
  /** The stored name of the pipeline's data the fold of this layer uses (binds the current generation at first use). */
  readonly name: (pipeline: string) => string
  /** The stored name of the pipeline's data readers see: the current generation (or the fixed one). */
  readonly readName: (pipeline: string) => string
  /** The stored scope of a token scope written by this layer (a pipeline's name binds it, as `name` does). */
  readonly scope: (scope: string) => string
  /**
   * The stored scope of a token scope read by this layer: a pipeline's bound generation, or the
   * current one when it is not bound (a reader that never writes, a status page, follows the pointer).
   */
  readonly readScope: (scope: string) => string
  /** Throws a {@link GenerationMoved} when a bound generation may no longer be written (and forgets the binding). */
  readonly check: () => void
}

/**
 * A binding over `lookup` (the store's pointer read, called inside the store's own transaction).
 * `fixed`: the services of one generation being built (a rebuild's), which may write while that
 * generation is current or being built, and keep their sources' positions in a scope of their own.
 */
export const make = (
  lookup: (pipeline: string) => Pointer,
  fixed?: { readonly pipeline: string; readonly generation: number }
): Binding => {
  const bound = new Map<string, number>()
  if (fixed !== undefined) bound.set(fixed.pipeline, fixed.generation)
  const of = (pipeline: string): number => {
    let g = bound.get(pipeline)
    if (g === undefined) {
      g = lookup(pipeline).current
      bound.set(pipeline, g)
    }
    return g
  }
  const name = (pipeline: string) => {
    const g = of(pipeline)
    return g === 0 ? pipeline : physical(pipeline, g)
  }
  const readName = (pipeline: string) =>
    fixed !== undefined && fixed.pipeline === pipeline ? physical(pipeline, fixed.generation) : physical(pipeline, lookup(pipeline).current)
  const scope = (s: string) => {
    if (s === sourcesScope) return fixed === undefined ? s : sourcesOf(fixed.pipeline, fixed.generation)
    return s.startsWith("@") ? s : name(s)
  }
  const readScope = (s: string) => {
    if (s === sourcesScope || s.startsWith("@")) return scope(s)
    const g = bound.get(s)
    return physical(s, g ?? lookup(s).current)
  }
  const check = () => {
    for (const [pipeline, g] of bound) {
      const pointer = lookup(pipeline)
      const isFixed = fixed !== undefined && fixed.pipeline === pipeline
      if (isFixed ? pointer.current === g || pointer.building === g : pointer.current === g && pointer.seal === undefined) continue
      if (!isFixed) bound.delete(pipeline)
      throw new GenerationMoved({ pipeline, bound: g, current: pointer.current, sealed: pointer.current === g })
    }
  }
  return { name, readName, scope, readScope, check }
}

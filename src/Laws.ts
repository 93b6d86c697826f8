/**
 * The law kit: property tests (fast-check) for monoids and groups, part of the public API so
 * users test their own instances.
 *
 * Laws, checked in this order: `leftIdentity`, `rightIdentity`, `associativity`, then
 * `commutativity` when the instance claims it, then `leftInverse` and `rightInverse` when the
 * instance is a `Group`. `check` throws a {@link LawError} for the first violated law.
 *
 * Besides the equations, every law also fails when `combine` (or `inverse`) mutates an operand:
 * the kit passes deep copies of the generated values (arrays, plain objects, `Set`, `Map`,
 * effect `Option`, `Date`) and compares them with the originals afterwards. A `combine` that
 * throws fails the law being checked; the thrown value is kept as the `LawError`'s `cause`.
 *
 * Checks for sketches and approximate structures: {@link checkApproximately} (some
 * laws up to a tolerance or a documented bound, the others exactly), {@link checkPurity}
 * (mutation seen through a snapshot, for typed arrays and prototype objects the deep copies do not
 * see into), {@link checkHomomorphism} (merging sketches equals sketching the union; retraction
 * for groups) and {@link checkErrorBound} (invariants, and probabilistic bounds with a stated
 * confidence, on generated streams merged in random trees). These throw {@link SketchLawError}.
 *
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as Laws from "effect-monoid-streams/Laws"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Laws.check(Monoid.sum, fc.integer({ min: -(2 ** 40), max: 2 ** 40 })) // passes
 *
 * const minus = Monoid.make<number>({ empty: 0, combine: (a, b) => a - b })
 * Laws.check(minus, fc.integer()) // throws LawError with law "leftIdentity"
 * ```
 *
 * @since 0.1.0
 */
import * as fc from "fast-check"
import * as Option from "effect/Option"
import * as Equal from "./Equal.ts"
import { allowedMisses, sketchInRandomTree } from "./internal/sketchLaws.ts"
import * as Monoid from "./Monoid.ts"

/**
 * The name of a law.
 *
 * @category models
 * @since 0.1.0
 */
export type LawName =
  | "leftIdentity"
  | "rightIdentity"
  | "associativity"
  | "commutativity"
  | "leftInverse"
  | "rightInverse"

/**
 * Options of {@link check} and {@link laws}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<A> {
  /** fast-check runs per law (default 100). */
  readonly numRuns?: number
  /** fast-check seed, to replay a failure (the `LawError` message prints it). */
  readonly seed?: number
  /** Equality of values (default `Equal.equals`). */
  readonly equals?: (a: A, b: A) => boolean
  /** Name of the instance in messages (default the instance's `kind`). */
  readonly name?: string
}

/**
 * A violated law: which law, which instance, and the (shrunk) counterexample. When `combine`
 * or `inverse` threw, the thrown value is the `cause`.
 *
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as Laws from "effect-monoid-streams/Laws"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * try {
 *   Laws.check(Monoid.make({ empty: 1, combine: (a: number, b: number) => a + b }), fc.integer())
 * } catch (e) {
 *   if (e instanceof Laws.LawError) e.law // "leftIdentity"
 * }
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class LawError extends Error {
  override readonly name = "LawError"
  /** The violated law. */
  readonly law: LawName
  /** The instance's name (`Options.name`, or its `kind`). */
  readonly instance: string
  /** The shrunk arguments of the law, e.g. `[a, b, c]` for associativity. */
  readonly counterexample: ReadonlyArray<unknown>

  constructor(args: {
    readonly law: LawName
    readonly instance: string
    readonly counterexample: ReadonlyArray<unknown>
    readonly detail: string
    readonly seed?: number
    readonly path?: string | null
    readonly cause?: unknown
  }) {
    const replay = args.seed === undefined ? "" : `\nreplay with { seed: ${args.seed}, path: ${show(args.path ?? "")} }`
    super(
      `monoid law "${args.law}" violated by instance "${args.instance}"\n` +
        `counterexample: ${show(args.counterexample)}\n${args.detail}${replay}`,
      args.cause === undefined ? undefined : { cause: args.cause }
    )
    this.law = args.law
    this.instance = args.instance
    this.counterexample = args.counterexample
  }
}

/**
 * One law as a fast-check property over `[a]`, `[a, b]` or `[a, b, c]`, and `run`, which checks
 * it and throws a {@link LawError} when it fails.
 *
 * @category models
 * @since 0.1.0
 */
export interface Law<A> {
  readonly name: LawName
  readonly property: fc.IProperty<[ReadonlyArray<A>]>
  readonly run: () => void
}

/**
 * The laws that apply to an instance, in checking order.
 *
 * @example
 * ```ts
 * import * as Laws from "effect-monoid-streams/Laws"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Laws.applicable(Monoid.sum) // ["leftIdentity", "rightIdentity", "associativity", "commutativity", "leftInverse", "rightInverse"]
 * ```
 *
 * @category laws
 * @since 0.1.0
 */
export const applicable = <A>(instance: Monoid.Monoid<A>): ReadonlyArray<LawName> => {
  const out: Array<LawName> = ["leftIdentity", "rightIdentity", "associativity"]
  if (instance.commutative) out.push("commutativity")
  if (Monoid.isGroup(instance)) out.push("leftInverse", "rightInverse")
  return out
}

/** Thrown inside a property when an equation or the no-mutation rule fails. */
class Violation extends Error {}

/**
 * The applicable laws of an instance, as fast-check properties with a `run` each (useful to
 * register one test per law; see `testing/vitest.ts`).
 *
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as Laws from "effect-monoid-streams/Laws"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * for (const law of Laws.laws(Monoid.sumBigInt, fc.bigInt())) law.run()
 * ```
 *
 * @category laws
 * @since 0.1.0
 */
export const laws = <A>(
  instance: Monoid.Monoid<A>,
  arbitrary: fc.Arbitrary<A>,
  options?: Options<A>
): ReadonlyArray<Law<A>> => {
  const eq = options?.equals ?? Equal.equals
  const name = options?.name ?? instance.kind
  const params: fc.Parameters<[ReadonlyArray<A>]> = { numRuns: options?.numRuns ?? 100 }
  if (options?.seed !== undefined) params.seed = options.seed
  const combine = instance.combine
  const empty = instance.empty
  const emptySnapshot = clone(empty)

  const unchanged = (what: string, value: A, before: A): void => {
    if (!eq(value, before)) {
      throw new Violation(`${what} was mutated: it was ${show(before)}, it is now ${show(value)}`)
    }
  }
  const same = (leftLabel: string, left: A, rightLabel: string, right: A): void => {
    if (!eq(left, right)) {
      throw new Violation(`${leftLabel} = ${show(left)}\n${rightLabel} = ${show(right)}\nexpected them to be equal`)
    }
  }
  const emptyIntact = (): void => unchanged("the instance's empty", empty, emptySnapshot)

  const one = fc.tuple(arbitrary) as fc.Arbitrary<ReadonlyArray<A>>
  const two = fc.tuple(arbitrary, arbitrary) as fc.Arbitrary<ReadonlyArray<A>>
  const three = fc.tuple(arbitrary, arbitrary, arbitrary) as fc.Arbitrary<ReadonlyArray<A>>
  const make = (
    law: LawName,
    arb: fc.Arbitrary<ReadonlyArray<A>>,
    predicate: (xs: ReadonlyArray<A>) => void
  ): Law<A> => {
    const property = fc.property(arb, (xs) => predicate(xs))
    return { name: law, property, run: () => runProperty(law, name, property, params) }
  }

  const all: Record<LawName, () => Law<A>> = {
    leftIdentity: () =>
      make("leftIdentity", one, ([a]) => {
        const e = clone(empty), a1 = clone(a!)
        const r = combine(e, a1)
        same("combine(empty, a)", r, "a", a!)
        unchanged("operand empty of combine(empty, a)", e, empty)
        unchanged("operand a of combine(empty, a)", a1, a!)
        emptyIntact()
      }),
    rightIdentity: () =>
      make("rightIdentity", one, ([a]) => {
        const e = clone(empty), a1 = clone(a!)
        const r = combine(a1, e)
        same("combine(a, empty)", r, "a", a!)
        unchanged("operand a of combine(a, empty)", a1, a!)
        unchanged("operand empty of combine(a, empty)", e, empty)
        emptyIntact()
      }),
    associativity: () =>
      make("associativity", three, ([a, b, c]) => {
        const a1 = clone(a!), b1 = clone(b!), c1 = clone(c!)
        const ab = combine(a1, b1)
        const abBefore = clone(ab)
        const left = combine(ab, c1)
        const a2 = clone(a!), b2 = clone(b!), c2 = clone(c!)
        const bc = combine(b2, c2)
        const bcBefore = clone(bc)
        const right = combine(a2, bc)
        same("combine(combine(a, b), c)", left, "combine(a, combine(b, c))", right)
        unchanged("operand a of combine(a, b)", a1, a!)
        unchanged("operand b of combine(a, b)", b1, b!)
        unchanged("operand combine(a, b) of combine(combine(a, b), c)", ab, abBefore)
        unchanged("operand c of combine(combine(a, b), c)", c1, c!)
        unchanged("operand b of combine(b, c)", b2, b!)
        unchanged("operand c of combine(b, c)", c2, c!)
        unchanged("operand a of combine(a, combine(b, c))", a2, a!)
        unchanged("operand combine(b, c) of combine(a, combine(b, c))", bc, bcBefore)
        emptyIntact()
      }),
    commutativity: () =>
      make("commutativity", two, ([a, b]) => {
        const a1 = clone(a!), b1 = clone(b!), a2 = clone(a!), b2 = clone(b!)
        const ab = combine(a1, b1)
        const ba = combine(b2, a2)
        same("combine(a, b)", ab, "combine(b, a)", ba)
        unchanged("operand a of combine(a, b)", a1, a!)
        unchanged("operand b of combine(a, b)", b1, b!)
        unchanged("operand b of combine(b, a)", b2, b!)
        unchanged("operand a of combine(b, a)", a2, a!)
        emptyIntact()
      }),
    leftInverse: () =>
      make("leftInverse", one, ([a]) => {
        const g = instance as Monoid.Group<A>
        const a1 = clone(a!), a2 = clone(a!)
        const inv = g.inverse(a1)
        unchanged("operand a of inverse(a)", a1, a!)
        const invBefore = clone(inv)
        const r = combine(inv, a2)
        same("combine(inverse(a), a)", r, "empty", empty)
        unchanged("operand inverse(a) of combine(inverse(a), a)", inv, invBefore)
        unchanged("operand a of combine(inverse(a), a)", a2, a!)
        emptyIntact()
      }),
    rightInverse: () =>
      make("rightInverse", one, ([a]) => {
        const g = instance as Monoid.Group<A>
        const a1 = clone(a!), a2 = clone(a!)
        const inv = g.inverse(a1)
        unchanged("operand a of inverse(a)", a1, a!)
        const invBefore = clone(inv)
        const r = combine(a2, inv)
        same("combine(a, inverse(a))", r, "empty", empty)
        unchanged("operand a of combine(a, inverse(a))", a2, a!)
        unchanged("operand inverse(a) of combine(a, inverse(a))", inv, invBefore)
        emptyIntact()
      })
  }
  return applicable(instance).map((law) => all[law]())
}

const runProperty = <A>(
  law: LawName,
  instance: string,
  property: fc.IProperty<[ReadonlyArray<A>]>,
  params: fc.Parameters<[ReadonlyArray<A>]>
): void => {
  const details = fc.check(property, params)
  if (!details.failed) return
  const counterexample = details.counterexample?.[0] ?? []
  const error = details.errorInstance
  const base = { law, instance, counterexample, seed: details.seed, path: details.counterexamplePath }
  if (error instanceof Violation) throw new LawError({ ...base, detail: error.message })
  if (details.counterexample === null) {
    throw new LawError({ ...base, detail: `fast-check stopped: ${details.interrupted ? "interrupted" : "too many skipped runs"}` })
  }
  const thrown = error instanceof Error ? `${error.name}: ${error.message}` : show(error)
  throw new LawError({ ...base, detail: `combine or inverse threw ${thrown}`, cause: error })
}

/**
 * Checks the applicable laws of an instance against values from `arbitrary`, in order, and
 * throws a {@link LawError} for the first violated law. Keep the arbitrary inside the domain
 * where `combine` is defined (for `Monoid.sum`, values whose sums stay safe integers).
 *
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as Laws from "effect-monoid-streams/Laws"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Laws.check(Monoid.union<number>(), fc.array(fc.nat(9)).map((xs) => new Set(xs)), { numRuns: 200 })
 * ```
 *
 * @category laws
 * @since 0.1.0
 */
export const check = <A>(instance: Monoid.Monoid<A>, arbitrary: fc.Arbitrary<A>, options?: Options<A>): void => {
  for (const law of laws(instance, arbitrary, options)) law.run()
}

// ---------------------------------------------------------------------------------------------
// deep copies (to detect mutation) and printing
// ---------------------------------------------------------------------------------------------

const clone = <A>(u: A): A => cloneUnknown(u) as A

const cloneUnknown = (u: unknown): unknown => {
  if (typeof u !== "object" || u === null) return u
  if (Array.isArray(u)) return u.map(cloneUnknown)
  if (u instanceof Set) {
    const out = new Set<unknown>()
    for (const x of u) out.add(cloneUnknown(x))
    return out
  }
  if (u instanceof Map) {
    const out = new Map<unknown, unknown>()
    for (const [k, v] of u) out.set(cloneUnknown(k), cloneUnknown(v))
    return out
  }
  if (Option.isOption(u)) return Option.isSome(u) ? Option.some(cloneUnknown(u.value)) : u
  if (u instanceof Date) return new Date(u.getTime())
  const proto = Object.getPrototypeOf(u)
  if (proto !== Object.prototype && proto !== null) return u // unknown class: shared, not copied
  const out: Record<string, unknown> = Object.create(proto)
  for (const key of Object.keys(u)) out[key] = cloneUnknown((u as Record<string, unknown>)[key])
  return out
}

/** Prints values for messages: handles bigint, -0, Set, Map, Option, nested structures. */
const show = (u: unknown): string => {
  switch (typeof u) {
    case "string":
      return JSON.stringify(u)
    case "bigint":
      return `${u}n`
    case "number":
      return Object.is(u, -0) ? "-0" : String(u)
    case "undefined":
    case "boolean":
    case "symbol":
      return String(u)
    case "function":
      return `[Function ${u.name || "anonymous"}]`
  }
  if (u === null || u === undefined) return String(u)
  if (Array.isArray(u)) return `[${u.map(show).join(", ")}]`
  if (u instanceof Set) return `Set(${u.size}) ${braces([...u].map(show))}`
  if (u instanceof Map) return `Map(${u.size}) ${braces([...u].map(([k, v]) => `${show(k)} => ${show(v)}`))}`
  if (Option.isOption(u)) return Option.isSome(u) ? `Option.some(${show(u.value)})` : "Option.none()"
  if (u instanceof Date) return Number.isNaN(u.getTime()) ? "Invalid Date" : `Date(${u.toISOString()})`
  if (u instanceof Error) return `${u.name}: ${u.message}`
  const entries = Object.keys(u).map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${show((u as Record<string, unknown>)[k])}`)
  const proto = Object.getPrototypeOf(u)
  const prefix = proto === Object.prototype || proto === null ? "" : `${proto?.constructor?.name ?? "Object"} `
  return `${prefix}${braces(entries)}`
}

const braces = (items: ReadonlyArray<string>): string => (items.length === 0 ? "{}" : `{ ${items.join(", ")} }`)

// ---------------------------------------------------------------------------------------------
// approximate structures and sketches
// ---------------------------------------------------------------------------------------------

/**
 * A numeric tolerance: `|a − b| ≤ relative · max(|a|, |b|) + absolute` (both default to 0).
 *
 * @category tolerance
 * @since 0.1.0
 */
export interface Tolerance {
  readonly relative?: number
  readonly absolute?: number
}

/**
 * Number equality up to a {@link Tolerance}. `NaN` equals `NaN`; infinities equal only
 * themselves.
 *
 * @example
 * ```ts
 * import * as Laws from "effect-monoid-streams/Laws"
 *
 * Laws.approximately({ relative: 1e-9 })(0.1 + 0.2, 0.3) // true
 * Laws.approximately({ absolute: 0.5 })(1, 2) // false
 * ```
 *
 * @category tolerance
 * @since 0.1.0
 */
export const approximately = (tolerance: Tolerance) => {
  const relative = tolerance.relative ?? 0
  const absolute = tolerance.absolute ?? 0
  return (a: number, b: number): boolean => {
    if (a === b || (a !== a && b !== b)) return true
    if (!Number.isFinite(a) || !Number.isFinite(b)) return false
    return Math.abs(a - b) <= relative * Math.max(Math.abs(a), Math.abs(b)) + absolute
  }
}

/**
 * Options of {@link checkApproximately}: those of {@link check}, plus an equality per law for the
 * laws that hold only approximately. Laws not listed are checked with `equals` (exactly).
 *
 * @category approximate laws
 * @since 0.1.0
 */
export interface ApproximateOptions<A> extends Options<A> {
  readonly approximate?: { readonly [L in LawName]?: (a: A, b: A) => boolean }
}

/**
 * Like {@link check}, but each law listed in `options.approximate` is checked with its own
 * equality: a tolerance for floating-point structures (a decayed sum is associative only up to
 * rounding), or a documented error bound for bounded summaries (Misra–Gries merges are
 * associative only up to `N/(k+1)` per item). The other laws stay exact, so an instance must
 * still be exactly commutative or exactly an identity where it claims it. A failure throws a
 * {@link LawError} whose message says which equality was used.
 *
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as Laws from "effect-monoid-streams/Laws"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const floatSum = Monoid.make<number>({ empty: 0, combine: (a, b) => a + b, commutative: true })
 * const floats = fc.double({ min: 0, max: 1e6, noNaN: true })
 * Laws.checkApproximately(floatSum, floats, { approximate: { associativity: Laws.approximately({ relative: 1e-12 }) } })
 * ```
 *
 * @category approximate laws
 * @since 0.1.0
 */
export const checkApproximately = <A>(
  instance: Monoid.Monoid<A>,
  arbitrary: fc.Arbitrary<A>,
  options?: ApproximateOptions<A>
): void => {
  for (const name of applicable(instance)) {
    const approximate = options?.approximate?.[name]
    const equals = approximate ?? options?.equals
    const all = laws(instance, arbitrary, equals === undefined ? { ...options } : { ...options, equals })
    const law = all.find((l) => l.name === name)!
    try {
      law.run()
    } catch (e) {
      if (e instanceof LawError && approximate !== undefined) {
        const cause = (e as { cause?: unknown }).cause
        const args = { law: e.law, instance: e.instance, counterexample: e.counterexample }
        throw new LawError({
          ...args,
          detail: `${e.message.split("\n").slice(2).join("\n")}\n(checked with the approximate equality given for "${name}")`,
          ...(cause === undefined ? {} : { cause })
        })
      }
      throw e
    }
  }
}

/**
 * The checks of sketches and approximate structures.
 *
 * - `purity`: `combine` / `inverse` mutated an operand or the identity (seen through a snapshot,
 *   such as the binary encoding; the deep copies of {@link check} do not copy typed arrays or
 *   objects with their own prototype);
 * - `emptySketch`: sketching no item did not give `empty`;
 * - `homomorphism`: `combine(sketch(A), sketch(B))` is not `sketch(A ++ B)`;
 * - `retraction`: for a group, `combine(sketch(A ++ B), inverse(sketch(B)))` is not `sketch(A)`;
 * - `idempotence`: `combine(sketch(A), sketch(A))` is not `sketch(A)`;
 * - `invariant`: a guarantee that must always hold failed (Count-Min never under-estimates, a
 *   Bloom filter has no false negatives, Misra–Gries stays within its bound);
 * - `errorBound`: a probabilistic bound was missed more often than its stated confidence allows.
 *
 * @category sketch laws
 * @since 0.1.0
 */
export type SketchLawName =
  | "purity"
  | "emptySketch"
  | "homomorphism"
  | "retraction"
  | "idempotence"
  | "invariant"
  | "errorBound"

/**
 * A failed sketch check: which check, which instance, the counterexample (item streams or
 * values) and a description.
 *
 * @category sketch laws
 * @since 0.1.0
 */
export class SketchLawError extends Error {
  override readonly name = "SketchLawError"
  /** The failed check. */
  readonly law: SketchLawName
  /** The instance's name. */
  readonly instance: string
  /** The generated input that failed (item streams, values, or a run's stream and seed). */
  readonly counterexample: ReadonlyArray<unknown>

  constructor(args: {
    readonly law: SketchLawName
    readonly instance: string
    readonly counterexample: ReadonlyArray<unknown>
    readonly detail: string
    readonly seed?: number
    readonly cause?: unknown
  }) {
    const replay = args.seed === undefined ? "" : `\nreplay with { seed: ${args.seed} }`
    super(
      `sketch law "${args.law}" violated by instance "${args.instance}"\n` +
        `counterexample: ${preview(args.counterexample)}\n${args.detail}${replay}`,
      args.cause === undefined ? undefined : { cause: args.cause }
    )
    this.law = args.law
    this.instance = args.instance
    this.counterexample = args.counterexample
  }
}

/** Prints a value for messages, short: arrays of more than 12 items and long texts are cut. */
const preview = (u: unknown): string => {
  const text = Array.isArray(u) && u.length > 12
    ? `[${u.slice(0, 12).map(preview).join(", ")}, … (${u.length} items)]`
    : Array.isArray(u)
    ? `[${u.map(preview).join(", ")}]`
    : show(u)
  return text.length > 600 ? `${text.slice(0, 600)}…` : text
}

const sameSnapshot = (a: unknown, b: unknown): boolean => {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
    return true
  }
  return Equal.equals(a, b)
}

interface RunOptions {
  readonly numRuns?: number
  readonly seed?: number
  readonly name?: string
}

const runSketchProperty = <T extends ReadonlyArray<unknown>>(
  law: SketchLawName,
  instance: string,
  arbitrary: fc.Arbitrary<T>,
  predicate: (args: T) => string | undefined,
  options: RunOptions | undefined
): void => {
  const params: fc.Parameters<[T]> = { numRuns: options?.numRuns ?? 100 }
  if (options?.seed !== undefined) params.seed = options.seed
  const property = fc.property(arbitrary, (args) => predicate(args) === undefined)
  const details = fc.check(property, params)
  if (!details.failed) return
  const counterexample = (details.counterexample?.[0] ?? []) as T
  const base = { law, instance, counterexample, seed: details.seed }
  if (details.counterexample === null) {
    throw new SketchLawError({ ...base, detail: `fast-check stopped: ${details.interrupted ? "interrupted" : "too many skipped runs"}` })
  }
  // run the shrunk counterexample again for its description (or what it throws)
  let failure: string | undefined
  try {
    failure = predicate(counterexample)
  } catch (error) {
    const thrown = error instanceof Error ? `${error.name}: ${error.message}` : show(error)
    throw new SketchLawError({ ...base, detail: `threw ${thrown}`, cause: error })
  }
  throw new SketchLawError({ ...base, detail: failure ?? "failed once, but not when run again (is the check deterministic?)" })
}

/**
 * Options of {@link checkPurity}.
 *
 * @category sketch laws
 * @since 0.1.0
 */
export interface PurityOptions<A> extends RunOptions {
  /** A faithful copy of a value's contents, compared before and after (e.g. `encode`). */
  readonly snapshot: (a: A) => unknown
}

/**
 * Checks that `combine` (and `inverse`, for groups) never mutate an operand or the identity,
 * comparing `snapshot`s taken before and after. Use it for values the deep copies of
 * {@link check} cannot see into (typed arrays, objects with their own prototype): pass the
 * binary encoding as the snapshot. Throws a {@link SketchLawError} (`"purity"`).
 *
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 * import * as Laws from "effect-monoid-streams/Laws"
 *
 * const options = { precision: 6 }
 * const sketches = fc.array(fc.nat(), { maxLength: 20 }).map((xs) => HyperLogLog.fromIterable(xs, options))
 * Laws.checkPurity(HyperLogLog.monoid(options), sketches, { snapshot: HyperLogLog.encode })
 * ```
 *
 * @category sketch laws
 * @since 0.1.0
 */
export const checkPurity = <A>(instance: Monoid.Monoid<A>, arbitrary: fc.Arbitrary<A>, options: PurityOptions<A>): void => {
  const { snapshot } = options
  const empty = instance.empty
  const emptyBefore = snapshot(empty)
  const group = Monoid.isGroup(instance) ? instance : undefined
  runSketchProperty("purity", options.name ?? instance.kind, fc.tuple(arbitrary, arbitrary), ([a, b]) => {
    const sa = snapshot(a), sb = snapshot(b)
    const calls: Array<readonly [string, () => unknown]> = [
      ["combine(a, b)", () => instance.combine(a, b)],
      ["combine(b, a)", () => instance.combine(b, a)],
      ["combine(empty, a)", () => instance.combine(empty, a)],
      ["combine(a, empty)", () => instance.combine(a, empty)],
      ["combine(a, a)", () => instance.combine(a, a)]
    ]
    if (group !== undefined) calls.push(["inverse(a)", () => group.inverse(a)])
    for (const [what, call] of calls) {
      call()
      if (!sameSnapshot(snapshot(a), sa)) return `${what} mutated a`
      if (!sameSnapshot(snapshot(b), sb)) return `${what} mutated b`
      if (!sameSnapshot(snapshot(empty), emptyBefore)) return `${what} mutated the instance's empty`
    }
    return undefined
  }, options)
}

/**
 * Options of {@link checkHomomorphism}.
 *
 * @category sketch laws
 * @since 0.1.0
 */
export interface HomomorphismOptions<S, I> extends RunOptions {
  /** Item streams. */
  readonly items: fc.Arbitrary<ReadonlyArray<I>>
  /** The sketch of a stream, built directly (not through `combine`), e.g. `fromIterable`. */
  readonly sketch: (items: ReadonlyArray<I>) => S
  /** Equality of sketches (default `Equal.equals`). */
  readonly equals?: (a: S, b: S) => boolean
  /** Also check `combine(sketch(A), sketch(A)) = sketch(A)` (sets, distinct counts, filters). */
  readonly idempotent?: boolean
}

/**
 * Checks that merging sketches loses nothing, where a structure promises it: `sketch([])` is
 * `empty`, `combine(sketch(A), sketch(B))` equals `sketch(A ++ B)` (for HyperLogLog and Bloom
 * filters: the sketch of `A ∪ B`; for Count-Min and exact top-k: of the multiset sum), for a
 * group `combine(sketch(A ++ B), inverse(sketch(B)))` equals `sketch(A)` (retraction: `B ⊆ A ++ B`),
 * and with `idempotent` `combine(sketch(A), sketch(A))` equals `sketch(A)`. Throws a
 * {@link SketchLawError}.
 *
 * This is what makes a sketch safe to fold in any batching: a merge that is a lawful monoid but
 * not a homomorphism (an HLL merge that sums registers) still answers wrongly, and only this check
 * and {@link checkErrorBound} see it.
 *
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as CountMinSketch from "effect-monoid-streams/CountMinSketch"
 * import * as Laws from "effect-monoid-streams/Laws"
 *
 * const options = { width: 32, depth: 3 }
 * Laws.checkHomomorphism(CountMinSketch.group(options), {
 *   items: fc.array(fc.string(), { maxLength: 30 }),
 *   sketch: (xs) => CountMinSketch.fromIterable(xs, options)
 * })
 * ```
 *
 * @category sketch laws
 * @since 0.1.0
 */
export const checkHomomorphism = <S, I>(instance: Monoid.Monoid<S>, options: HomomorphismOptions<S, I>): void => {
  const eq = options.equals ?? Equal.equals
  const name = options.name ?? instance.kind
  const { sketch } = options
  const empty = sketch([])
  if (!eq(empty, instance.empty)) {
    throw new SketchLawError({
      law: "emptySketch",
      instance: name,
      counterexample: [[]],
      detail: `sketch([]) = ${preview(empty)}\nempty = ${preview(instance.empty)}\nexpected them to be equal`
    })
  }
  const pair = fc.tuple(options.items, options.items)
  runSketchProperty("homomorphism", name, pair, ([a, b]) => {
    const merged = instance.combine(sketch(a), sketch(b))
    const direct = sketch([...a, ...b])
    return eq(merged, direct) ? undefined :
      `combine(sketch(A), sketch(B)) = ${preview(merged)}\nsketch(A ++ B) = ${preview(direct)}\nexpected them to be equal`
  }, options)
  if (Monoid.isGroup(instance)) {
    runSketchProperty("retraction", name, pair, ([a, b]) => {
      const retracted = instance.combine(sketch([...a, ...b]), instance.inverse(sketch(b)))
      const direct = sketch(a)
      return eq(retracted, direct) ? undefined :
        `combine(sketch(A ++ B), inverse(sketch(B))) = ${preview(retracted)}\nsketch(A) = ${preview(direct)}\nexpected them to be equal`
    }, options)
  }
  if (options.idempotent === true) {
    runSketchProperty("idempotence", name, fc.tuple(options.items), ([a]) => {
      const s = sketch(a)
      const twice = instance.combine(s, s)
      return eq(twice, s) ? undefined :
        `combine(sketch(A), sketch(A)) = ${preview(twice)}\nsketch(A) = ${preview(s)}\nexpected them to be equal`
    }, options)
  }
}

/**
 * Options of {@link checkErrorBound}.
 *
 * @category sketch laws
 * @since 0.1.0
 */
export interface ErrorBoundOptions<S, I> extends RunOptions {
  /** Item streams, one per run. */
  readonly streams: fc.Arbitrary<ReadonlyArray<I>>
  /** The monoid of a run; `seed` is a fresh unsigned 32-bit integer per run (for seeded sketches). */
  readonly monoid: (seed: number) => Monoid.Monoid<S>
  /** The sketch of a part of the stream, with the run's seed. */
  readonly sketch: (items: ReadonlyArray<I>, seed: number) => S
  /**
   * A guarantee that must hold on every run: `undefined` when it holds, else what failed. Any
   * failure is reported at once.
   */
  readonly invariant?: (sketch: S, items: ReadonlyArray<I>) => string | undefined
  /** The probabilistic bound: `undefined` when the run is within it, else a description of the miss. */
  readonly within?: (sketch: S, items: ReadonlyArray<I>) => string | undefined
  /** The promised probability that a run is within the bound (e.g. `1 − δ`, or {@link normalConfidence}`(3)`). */
  readonly confidence?: number
  /** The false-alarm probability of the test (default `1e-4`): how unlikely the allowed misses must be. */
  readonly significance?: number
  /** The stream is cut into 1 to `parts` parts (default 8), sketched separately and merged in a random tree. */
  readonly parts?: number
}

/**
 * What {@link checkErrorBound} observed.
 *
 * @category sketch laws
 * @since 0.1.0
 */
export interface ErrorBoundReport {
  readonly runs: number
  /** Runs outside the probabilistic bound. */
  readonly misses: number
  /** The largest number of misses the stated confidence explains at the test's significance. */
  readonly allowed: number
}

/**
 * Checks that an approximate structure keeps its promises on generated streams. Each run takes a
 * stream and a fresh seed, cuts the stream into random parts, sketches each part, merges the
 * parts in a random tree (adjacent parts, so non-commutative structures work too), and checks:
 *
 * - `invariant` (hard guarantees): any failure throws a {@link SketchLawError} (`"invariant"`);
 * - `within` (a bound promised with probability `confidence` per run): the runs outside it are
 *   counted, and the check fails (`"errorBound"`) when there are more than a
 *   `Binomial(runs, 1 − confidence)` count exceeds with probability `significance`. A correct
 *   structure fails only that rarely; a broken one (a merge that sums HLL registers, a Count-Min
 *   hash that ignores its seed) misses on most runs.
 *
 * Because the sketch is built from merged parts, this also checks the bound after merges (for
 * bounded summaries such as Misra–Gries, whose merge is associative only up to the bound).
 * Deterministic for a given `seed`. Returns what it observed.
 *
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as HyperLogLog from "effect-monoid-streams/HyperLogLog"
 * import * as Laws from "effect-monoid-streams/Laws"
 *
 * const options = { precision: 10 }
 * const z = 4, se = HyperLogLog.standardError(10)
 * Laws.checkErrorBound({
 *   streams: fc.integer({ min: 0, max: 5000 }).chain((n) => fc.constant(Array.from({ length: n }, (_, i) => i))),
 *   monoid: () => HyperLogLog.monoid(options),
 *   sketch: (xs) => HyperLogLog.fromIterable(xs, options),
 *   within: (s, xs) => {
 *     const n = new Set(xs).size, e = HyperLogLog.estimate(s)
 *     return Math.abs(e - n) <= z * se * n + 1 ? undefined : `estimate ${e} for ${n}`
 *   },
 *   confidence: Laws.normalConfidence(z)
 * })
 * ```
 *
 * @category sketch laws
 * @since 0.1.0
 */
export const checkErrorBound = <S, I>(options: ErrorBoundOptions<S, I>): ErrorBoundReport => {
  const name = options.name ?? "sketch"
  const runs = options.numRuns ?? 100
  const maxParts = Math.max(1, options.parts ?? 8)
  const confidence = options.confidence ?? 1
  if (!(confidence > 0 && confidence <= 1)) throw new RangeError(`confidence must be in (0, 1], got ${confidence}`)
  const significance = options.significance ?? 1e-4
  const run = fc.tuple(
    options.streams,
    fc.noBias(fc.integer({ min: 0, max: 0xffffffff })),
    // uniform in [0, 1): fast-check's bias towards bounds would cut mostly empty parts
    fc.noBias(fc.array(fc.integer({ min: 0, max: 2 ** 30 - 1 }), { minLength: maxParts * 2, maxLength: maxParts * 2 }))
      .map((xs) => xs.map((x) => x / 2 ** 30))
  )
  const samples = fc.sample(run, options.seed === undefined ? { numRuns: runs } : { numRuns: runs, seed: options.seed })
  const allowed = allowedMisses(samples.length, 1 - confidence, significance)
  let misses = 0
  const examples: Array<string> = []
  let firstMiss: ReadonlyArray<unknown> | undefined
  for (const [items, seed, random] of samples) {
    const monoid = options.monoid(seed)
    const [sketch, count] = sketchInRandomTree(items, random, maxParts, (part) => options.sketch(part, seed), monoid.combine)
    const broken = options.invariant?.(sketch, items)
    if (broken !== undefined) {
      throw new SketchLawError({
        law: "invariant",
        instance: name,
        counterexample: [items, seed],
        detail: `${broken}\n(stream of ${items.length} items in ${count} parts, sketch seed ${seed})`,
        ...(options.seed === undefined ? {} : { seed: options.seed })
      })
    }
    const miss = options.within?.(sketch, items)
    if (miss !== undefined) {
      misses++
      firstMiss ??= [items, seed]
      if (examples.length < 3) examples.push(miss)
    }
  }
  if (misses > allowed) {
    throw new SketchLawError({
      law: "errorBound",
      instance: name,
      counterexample: firstMiss ?? [],
      detail: `${misses} of ${samples.length} runs missed the bound; a confidence of ${confidence} explains at most ` +
        `${allowed} (significance ${significance})\nfirst misses: ${examples.join("; ")}`,
      ...(options.seed === undefined ? {} : { seed: options.seed })
    })
  }
  return { runs: samples.length, misses, allowed }
}

/**
 * The probability that a normal variable is within `z` standard deviations of its mean,
 * `erf(z / √2)` (Abramowitz–Stegun 7.1.26, error below `1.5e-7`): the confidence of a bound
 * stated as "`z` standard errors".
 *
 * @example
 * ```ts
 * import * as Laws from "effect-monoid-streams/Laws"
 *
 * Laws.normalConfidence(3) // ≈ 0.9973
 * ```
 *
 * @category sketch laws
 * @since 0.1.0
 */
export const normalConfidence = (z: number): number => {
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * x)
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
  return 1 - poly * Math.exp(-x * x)
}

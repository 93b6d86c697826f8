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
 * @example
 * ```ts
 * import * as fc from "fast-check"
 * import * as Laws from "./Laws.ts"
 * import * as Monoid from "./Monoid.ts"
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
import * as Monoid from "./Monoid.ts"

/**
 * The name of a law.
 *
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
 * import * as Laws from "./Laws.ts"
 * import * as Monoid from "./Monoid.ts"
 *
 * try {
 *   Laws.check(Monoid.make({ empty: 1, combine: (a: number, b: number) => a + b }), fc.integer())
 * } catch (e) {
 *   if (e instanceof Laws.LawError) e.law // "leftIdentity"
 * }
 * ```
 *
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
 * import * as Laws from "./Laws.ts"
 * import * as Monoid from "./Monoid.ts"
 *
 * Laws.applicable(Monoid.sum) // ["leftIdentity", "rightIdentity", "associativity", "commutativity", "leftInverse", "rightInverse"]
 * ```
 *
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
 * import * as Laws from "./Laws.ts"
 * import * as Monoid from "./Monoid.ts"
 *
 * for (const law of Laws.laws(Monoid.sumBigInt, fc.bigInt())) law.run()
 * ```
 *
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
 * import * as Laws from "./Laws.ts"
 * import * as Monoid from "./Monoid.ts"
 *
 * Laws.check(Monoid.union<number>(), fc.array(fc.nat(9)).map((xs) => new Set(xs)), { numRuns: 200 })
 * ```
 *
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

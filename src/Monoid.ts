/**
 * Monoids and groups: the algebra every aggregate of the library is folded with.
 *
 * A `Monoid<A>` is an identity `empty` and an associative `combine`. It extends effect's
 * `Reducer<A>` (so `initialValue` is the same value as `empty`, and `combineAll` folds an
 * iterable), and adds:
 *
 * - `kind`: which built-in it is; stores use it to pick a native write (DynamoDB `ADD` for
 *   `"sum"`, `"sumBigInt"` and `"count"`; compare-and-set for everything else);
 * - `commutative`: whether `combine(a, b)` equals `combine(b, a)`; the law kit checks the claim.
 *
 * A `Group<A>` is a monoid with an `inverse`, which lets a change retract its old contribution
 * (sums and counts are groups; min, max, first/last and sets are not).
 *
 * Every `combine` is pure: it never mutates its operands and returns a fresh value when it builds
 * a container (sets, maps, structs, tuples).
 *
 * @example
 * ```ts
 * import * as Option from "effect/Option"
 * import * as Order from "effect/Order"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.combineAll(Monoid.sum, [1, 2, 3]) // 6
 * Monoid.sum.inverse(5) // -5
 *
 * const stats = Monoid.struct({ total: Monoid.sum, orders: Monoid.count })
 * stats.combine({ total: 10, orders: 1 }, { total: 5, orders: 1 }) // { total: 15, orders: 2 }
 * Monoid.isGroup(stats) // true: a struct of groups is a group
 *
 * const highest = Monoid.max(Order.Number)
 * highest.combine(Option.some(3), Option.none()) // Option.some(3)
 *
 * Monoid.sum.combine(Number.MAX_SAFE_INTEGER, 1) // throws IntegerOverflowError
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Option from "effect/Option"
import type * as Order from "effect/Order"
import type * as Reducer from "effect/Reducer"
import * as Equal from "./Equal.ts"
import { setOwn } from "./internal/ownField.ts"

/**
 * Which built-in a monoid is. Stores read it to choose a native write; user-defined monoids are
 * `"custom"` unless they declare otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export type Kind =
  | "sum"
  | "sumBigInt"
  | "count"
  | "min"
  | "max"
  | "first"
  | "last"
  | "union"
  | "struct"
  | "tuple"
  | "map"
  | "custom"

/**
 * An identity element `empty` and an associative `combine`, tagged with its `kind` and whether
 * it is commutative. It is also an effect `Reducer` (`initialValue === empty`).
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const m: Monoid.Monoid<number> = Monoid.sum
 * m.combine(m.empty, 4) // 4
 * m.combineAll([1, 2]) // 3
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Monoid<A> extends Reducer.Reducer<A> {
  /** Which built-in this is (`"custom"` for user-defined monoids). */
  readonly kind: Kind
  /** The identity: `combine(empty, a)` and `combine(a, empty)` equal `a`. Same value as `initialValue`. */
  readonly empty: A
  /** Associative; pure (never mutates `self` or `that`). */
  readonly combine: (self: A, that: A) => A
  /** Whether `combine(a, b)` equals `combine(b, a)` for all `a`, `b`. */
  readonly commutative: boolean
  /**
   * The largest binary encoding of a value, in bytes, when values are bounded (the sketches set
   * it). A store with an item limit refuses, before a run writes anything, a pipeline whose values
   * could outgrow an item.
   */
  readonly maxEncodedSize?: number | undefined
  /**
   * Throws for a value outside the monoid's domain, which `combine` would refuse (a fraction for
   * {@link sum}, a sketch of other parameters). A pipeline calls it on each contribution its value
   * function returns: a value it refuses makes the document's state a refused one, dead-lettered
   * with the reason, instead of failing the fold where the value is combined with a stored one.
   * Cheap: it never copies the value. Absent: every value is taken.
   */
  readonly check?: ((value: A) => void) | undefined
}

/**
 * A monoid with an inverse: `combine(inverse(a), a)` and `combine(a, inverse(a))` equal `empty`.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const g: Monoid.Group<number> = Monoid.sum
 * g.combine(7, g.inverse(7)) // 0
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Group<A> extends Monoid<A> {
  /** The inverse element of `a`. */
  readonly inverse: (a: A) => A
}

/**
 * Builds a monoid from an identity and an associative `combine`. `kind` defaults to `"custom"`
 * and `commutative` to `false`; `initialValue` and `combineAll` are filled in.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const concat = Monoid.make<string>({ empty: "", combine: (a, b) => a + b })
 * concat.combineAll(["a", "b", "c"]) // "abc"
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A>(options: {
  readonly empty: A
  readonly combine: (self: A, that: A) => A
  readonly kind?: Kind
  readonly commutative?: boolean
  readonly maxEncodedSize?: number | undefined
  readonly check?: ((value: A) => void) | undefined
}): Monoid<A> => {
  const { combine, empty } = options
  return {
    kind: options.kind ?? "custom",
    empty,
    initialValue: empty,
    combine,
    commutative: options.commutative ?? false,
    ...(options.maxEncodedSize === undefined ? {} : { maxEncodedSize: options.maxEncodedSize }),
    ...(options.check === undefined ? {} : { check: options.check }),
    combineAll: (collection) => {
      let out = empty
      for (const a of collection) out = combine(out, a)
      return out
    }
  }
}

/**
 * Builds a group: like {@link make}, plus `inverse`.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const xor = Monoid.makeGroup<number>({ empty: 0, combine: (a, b) => a ^ b, inverse: (a) => a, commutative: true })
 * xor.combine(5, xor.inverse(5)) // 0
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeGroup = <A>(options: {
  readonly empty: A
  readonly combine: (self: A, that: A) => A
  readonly inverse: (a: A) => A
  readonly kind?: Kind
  readonly commutative?: boolean
  readonly maxEncodedSize?: number | undefined
  readonly check?: ((value: A) => void) | undefined
}): Group<A> => ({ ...make(options), inverse: options.inverse })

/**
 * Whether a monoid is a group (has an `inverse`).
 *
 * @example
 * ```ts
 * import * as Order from "effect/Order"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.isGroup(Monoid.sum) // true
 * Monoid.isGroup(Monoid.max(Order.Number)) // false
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isGroup = <A>(m: Monoid<A>): m is Group<A> => typeof (m as Partial<Group<A>>).inverse === "function"

/**
 * Turns an effect `Reducer` (for instance `Number.ReducerSum`) into a monoid. The reducer's
 * `combineAll` is kept. `kind` defaults to `"custom"` and `commutative` to `false`.
 *
 * Note that `Number.ReducerSum` is a float sum without overflow checks; use {@link sum} for exact
 * integer totals.
 *
 * @example
 * ```ts
 * import * as Number from "effect/Number"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const m = Monoid.fromReducer(Number.ReducerSum, { commutative: true })
 * m.combineAll([1, 2, 3]) // 6
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromReducer = <A>(
  reducer: Reducer.Reducer<A>,
  options?: { readonly kind?: Kind; readonly commutative?: boolean }
): Monoid<A> => ({
  kind: options?.kind ?? "custom",
  empty: reducer.initialValue,
  initialValue: reducer.initialValue,
  combine: reducer.combine,
  combineAll: reducer.combineAll,
  commutative: options?.commutative ?? false
})

/**
 * Raised by {@link sum} and {@link count} when an operand is not a safe integer, or when the
 * result is outside `[-(2^53 - 1), 2^53 - 1]`. An overflow is an error, never a wrong total:
 * switch to {@link sumBigInt} for larger totals.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * try {
 *   Monoid.sum.combine(Number.MAX_SAFE_INTEGER, 1)
 * } catch (e) {
 *   e instanceof Monoid.IntegerOverflowError // true; e.left, e.right are the operands
 * }
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class IntegerOverflowError extends Data.TaggedError("IntegerOverflowError")<{
  readonly left: number
  readonly right: number
}> {
  /** Says which operand is not a safe integer, or that the sum overflowed. */
  override get message(): string {
    if (!Number.isSafeInteger(this.left)) {
      return `integer sum: left operand ${this.left} is not a safe integer (use sumBigInt for larger totals)`
    }
    if (!Number.isSafeInteger(this.right)) {
      return `integer sum: right operand ${this.right} is not a safe integer (use sumBigInt for larger totals)`
    }
    return `integer sum overflow: ${this.left} + ${this.right} is outside the safe integer range ` +
      `[-${Number.MAX_SAFE_INTEGER}, ${Number.MAX_SAFE_INTEGER}] (use sumBigInt for larger totals)`
  }
}

const safeAdd = (left: number, right: number): number => {
  const out = left + right
  if (Number.isSafeInteger(out) && Number.isSafeInteger(left) && Number.isSafeInteger(right)) return out
  throw new IntegerOverflowError({ left, right })
}

const checkSafeInteger = (a: number): void => {
  if (!Number.isSafeInteger(a)) throw new IntegerOverflowError({ left: a, right: 0 })
}

const safeNegate = (a: number): number => {
  if (!Number.isSafeInteger(a)) throw new IntegerOverflowError({ left: a, right: 0 })
  return a === 0 ? 0 : -a
}

/**
 * Exact integer sum over safe integers (`kind: "sum"`, commutative group). `combine` throws
 * {@link IntegerOverflowError} when an operand is not a safe integer (fractions, `NaN`,
 * infinities) or when the result leaves the safe range.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.sum.combine(2, 3) // 5
 * Monoid.sum.inverse(3) // -3
 * Monoid.sum.combine(0.5, 1) // throws IntegerOverflowError
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const sum: Group<number> = makeGroup({
  kind: "sum",
  empty: 0,
  combine: safeAdd,
  inverse: safeNegate,
  commutative: true,
  check: checkSafeInteger
})

/**
 * Exact `bigint` sum (`kind: "sumBigInt"`, commutative group), for totals past `2^53`.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.sumBigInt.combine(2n ** 64n, 1n) // 18446744073709551617n
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const sumBigInt: Group<bigint> = makeGroup<bigint>({
  kind: "sumBigInt",
  empty: 0n,
  combine: (self, that) => self + that,
  inverse: (a) => -a,
  commutative: true,
  check: (a) => {
    if (typeof a !== "bigint") throw new TypeError(`bigint sum: ${String(a)} is not a bigint`)
  }
})

/**
 * Counts (`kind: "count"`): the same checked integer group as {@link sum}; the kind tells a store
 * the values are counts. Negative values are allowed (they retract counted items).
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.combineAll(Monoid.count, [1, 1, 1, -1]) // 2
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const count: Group<number> = makeGroup({
  kind: "count",
  empty: 0,
  combine: safeAdd,
  inverse: safeNegate,
  commutative: true,
  check: checkSafeInteger
})

/**
 * The minimum by an `Order` (`kind: "min"`, commutative). `Option.none()` is the identity. When
 * the order ties, the left operand is kept, so commutativity holds when the order is total on
 * the values (values that compare equal are equal).
 *
 * @example
 * ```ts
 * import * as Option from "effect/Option"
 * import * as Order from "effect/Order"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const lowest = Monoid.min(Order.Number)
 * lowest.combine(Option.some(3), Option.some(1)) // Option.some(1)
 * lowest.combine(Option.none(), Option.some(3)) // Option.some(3)
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const min = <A>(order: Order.Order<A>): Monoid<Option.Option<A>> =>
  make<Option.Option<A>>({
    kind: "min",
    empty: Option.none(),
    combine: (self, that) => {
      if (Option.isNone(self)) return that
      if (Option.isNone(that)) return self
      return order(that.value, self.value) < 0 ? that : self
    },
    commutative: true
  })

/**
 * The maximum by an `Order` (`kind: "max"`, commutative). `Option.none()` is the identity. When
 * the order ties, the left operand is kept.
 *
 * @example
 * ```ts
 * import * as Option from "effect/Option"
 * import * as Order from "effect/Order"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.max(Order.String).combine(Option.some("a"), Option.some("b")) // Option.some("b")
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const max = <A>(order: Order.Order<A>): Monoid<Option.Option<A>> =>
  make<Option.Option<A>>({
    kind: "max",
    empty: Option.none(),
    combine: (self, that) => {
      if (Option.isNone(self)) return that
      if (Option.isNone(that)) return self
      return order(that.value, self.value) > 0 ? that : self
    },
    commutative: true
  })

/**
 * A value with the time it was observed: `at` is a timestamp in milliseconds.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stamped<A> {
  readonly at: number
  readonly value: A
}

/**
 * The earliest value (`kind: "first"`): the smallest `at` wins; on equal `at` the left operand
 * wins. Not commutative (ties are broken by position). `Option.none()` is the identity.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.first<string>().combine(Monoid.stamped(20, "b"), Monoid.stamped(10, "a")) // Option.some({ at: 10, value: "a" })
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const first = <A>(): Monoid<Option.Option<Stamped<A>>> =>
  make<Option.Option<Stamped<A>>>({
    kind: "first",
    empty: Option.none(),
    combine: (self, that) => {
      if (Option.isNone(self)) return that
      if (Option.isNone(that)) return self
      return that.value.at < self.value.at ? that : self
    },
    commutative: false
  })

/**
 * The latest value (`kind: "last"`): the largest `at` wins; on equal `at` the right operand
 * wins. Not commutative. `Option.none()` is the identity.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.last<string>().combine(Monoid.stamped(10, "a"), Monoid.stamped(10, "b")) // Option.some({ at: 10, value: "b" })
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const last = <A>(): Monoid<Option.Option<Stamped<A>>> =>
  make<Option.Option<Stamped<A>>>({
    kind: "last",
    empty: Option.none(),
    combine: (self, that) => {
      if (Option.isNone(self)) return that
      if (Option.isNone(that)) return self
      return that.value.at >= self.value.at ? that : self
    },
    commutative: false
  })

/**
 * Wraps a value and its timestamp for {@link first} / {@link last}. Throws a `RangeError` for a
 * time that is not a finite number (`Date.parse` of a bad date gives `NaN`): in a pipeline's value
 * function, the document is then refused and dead-lettered.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.stamped(1_700_000_000_000, "paid") // Option.some({ at: 1700000000000, value: "paid" })
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const stamped = <A>(at: number, value: A): Option.Option<Stamped<A>> => {
  // NaN compares false both ways: first and last would not be associative (results would
  // depend on how the fold groups the values)
  if (!Number.isFinite(at)) throw new RangeError(`Monoid.stamped: the time must be a finite number, got ${at}`)
  return Option.some({ at, value })
}

/**
 * Set union (`kind: "union"`, commutative). `combine` always returns a new `Set` (members of
 * `self` first, then the new members of `that`) and never mutates its operands. Members are
 * compared by `Set` identity semantics (SameValueZero), so use primitive members.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.union<number>().combine(new Set([1, 2]), new Set([2, 3])) // Set { 1, 2, 3 }
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export const union = <A>(): Monoid<ReadonlySet<A>> =>
  make<ReadonlySet<A>>({
    kind: "union",
    empty: new Set<A>(),
    combine: (self, that) => {
      const out = new Set(self)
      for (const a of that) out.add(a)
      return out
    },
    commutative: true
  })

/**
 * The value type of a monoid.
 *
 * @category models
 * @since 0.1.0
 */
export type ValueOf<M> = M extends Monoid<infer A> ? A : never

const allGroups = (monoids: ReadonlyArray<Monoid<any>>): monoids is ReadonlyArray<Group<any>> =>
  monoids.every(isGroup)

/**
 * Combines records field by field (`kind: "struct"`). Commutative iff every field is; a struct
 * of groups is a `Group` (at runtime and in the types).
 *
 * @example
 * ```ts
 * import * as Order from "effect/Order"
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const totals = Monoid.struct({ amount: Monoid.sum, orders: Monoid.count }) // Group<{ amount: number; orders: number }>
 * totals.inverse({ amount: 5, orders: 1 }) // { amount: -5, orders: -1 }
 * const withMax = Monoid.struct({ amount: Monoid.sum, largest: Monoid.max(Order.Number) }) // Monoid<...>, not a Group
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export function struct<R extends { readonly [key: string]: Group<any> }>(
  groups: R
): Group<{ readonly [K in keyof R]: ValueOf<R[K]> }>
export function struct<R extends { readonly [key: string]: Monoid<any> }>(
  monoids: R
): Monoid<{ readonly [K in keyof R]: ValueOf<R[K]> }>
export function struct(monoids: { readonly [key: string]: Monoid<any> }): Monoid<any> {
  const keys = Object.keys(monoids)
  const members = keys.map((k) => monoids[k]!)
  const n = keys.length
  const empty: Record<string, unknown> = {}
  for (let i = 0; i < n; i++) setOwn(empty, keys[i]!, members[i]!.empty)
  const options = {
    kind: "struct" as const,
    empty,
    combine: (self: Record<string, unknown>, that: Record<string, unknown>) => {
      const out: Record<string, unknown> = {}
      for (let i = 0; i < n; i++) {
        const k = keys[i]!
        setOwn(out, k, members[i]!.combine(self[k], that[k]))
      }
      return out
    },
    commutative: members.every((m) => m.commutative),
    check: members.some((m) => m.check !== undefined)
      ? (value: Record<string, unknown>) => {
        for (let i = 0; i < n; i++) members[i]!.check?.(value[keys[i]!])
      }
      : undefined
  }
  if (!allGroups(members)) return make(options)
  return makeGroup({
    ...options,
    inverse: (a) => {
      const out: Record<string, unknown> = {}
      for (let i = 0; i < n; i++) {
        const k = keys[i]!
        setOwn(out, k, members[i]!.inverse(a[k]))
      }
      return out
    }
  })
}

/**
 * Combines tuples position by position (`kind: "tuple"`). Commutative iff every member is; a
 * tuple of groups is a `Group`.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const pair = Monoid.tuple(Monoid.sum, Monoid.sumBigInt) // Group<readonly [number, bigint]>
 * pair.combine([1, 2n], [3, 4n]) // [4, 6n]
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export function tuple<const T extends ReadonlyArray<Group<any>>>(
  ...groups: T
): Group<{ readonly [K in keyof T]: ValueOf<T[K]> }>
export function tuple<const T extends ReadonlyArray<Monoid<any>>>(
  ...monoids: T
): Monoid<{ readonly [K in keyof T]: ValueOf<T[K]> }>
export function tuple(...monoids: ReadonlyArray<Monoid<any>>): Monoid<any> {
  const n = monoids.length
  const options = {
    kind: "tuple" as const,
    empty: monoids.map((m): unknown => m.empty) as ReadonlyArray<unknown>,
    combine: (self: ReadonlyArray<unknown>, that: ReadonlyArray<unknown>) => {
      const out = new Array<unknown>(n)
      for (let i = 0; i < n; i++) out[i] = monoids[i]!.combine(self[i], that[i])
      return out
    },
    commutative: monoids.every((m) => m.commutative),
    check: monoids.some((m) => m.check !== undefined)
      ? (value: ReadonlyArray<unknown>) => {
        for (let i = 0; i < n; i++) monoids[i]!.check?.(value[i])
      }
      : undefined
  }
  if (!allGroups(monoids)) return make(options)
  return makeGroup({
    ...options,
    inverse: (a) => {
      const out = new Array<unknown>(n)
      for (let i = 0; i < n; i++) out[i] = monoids[i]!.inverse(a[i])
      return out
    }
  })
}

/**
 * Merges maps by key, combining the values of a shared key with `inner` (`kind: "map"`;
 * commutative iff `inner` is). `combine` returns a new `Map` and never mutates its operands.
 *
 * When `inner` is a group, the result is a group and is kept canonical: entries whose value
 * equals `inner.empty` (per `Equal.equals`) are dropped from every result of `combine` and
 * `inverse`, so `{ a: 0 }` and `{}` are the same value (a retraction removes the key). Compare
 * such maps after dropping identity entries, or generate them without identity values.
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * const perCustomer = Monoid.map(Monoid.sum)
 * perCustomer.combine(new Map([["c1", 5]]), new Map([["c1", -5], ["c2", 1]])) // Map { "c2" => 1 }
 * ```
 *
 * @category instances
 * @since 0.1.0
 */
export function map<A>(inner: Group<A>): Group<ReadonlyMap<string, A>>
export function map<A>(inner: Monoid<A>): Monoid<ReadonlyMap<string, A>>
export function map<A>(inner: Monoid<A>): Monoid<ReadonlyMap<string, A>> {
  const empty: ReadonlyMap<string, A> = new Map()
  const innerCheck = inner.check
  const check = innerCheck === undefined ? undefined : (value: ReadonlyMap<string, A>) => {
    for (const v of value.values()) innerCheck(v)
  }
  if (!isGroup(inner)) {
    return make<ReadonlyMap<string, A>>({
      kind: "map",
      empty,
      combine: (self, that) => {
        const out = new Map(self)
        for (const [k, v] of that) out.set(k, out.has(k) ? inner.combine(out.get(k) as A, v) : v)
        return out
      },
      commutative: inner.commutative,
      check
    })
  }
  const zero = inner.empty
  return makeGroup<ReadonlyMap<string, A>>({
    kind: "map",
    empty,
    combine: (self, that) => {
      const out = new Map<string, A>()
      for (const [k, v] of self) {
        if (!Equal.equals(v, zero)) out.set(k, v)
      }
      for (const [k, v] of that) {
        const combined = out.has(k) ? inner.combine(out.get(k) as A, v) : v
        if (Equal.equals(combined, zero)) out.delete(k)
        else out.set(k, combined)
      }
      return out
    },
    inverse: (a) => {
      const out = new Map<string, A>()
      for (const [k, v] of a) {
        const inv = inner.inverse(v)
        if (!Equal.equals(inv, zero)) out.set(k, inv)
      }
      return out
    },
    commutative: inner.commutative,
    check
  })
}

/**
 * Folds values with a monoid, starting from `empty` (same as `m.combineAll(values)`).
 *
 * @example
 * ```ts
 * import * as Monoid from "effect-monoid-streams/Monoid"
 *
 * Monoid.combineAll(Monoid.sum, []) // 0
 * Monoid.combineAll(Monoid.union<string>(), [new Set(["a"]), new Set(["b"])]) // Set { "a", "b" }
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const combineAll = <A>(m: Monoid<A>, values: Iterable<A>): A => m.combineAll(values)

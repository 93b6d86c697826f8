/**
 * Deep structural equality for the values aggregates hold.
 *
 * Used by the law kit (`Laws.check`) and by `Monoid.map` (to drop entries whose value equals the
 * inner group's identity). It covers exactly the shapes the library's monoids produce and is kept
 * small and fast on purpose; it does not handle cyclic values.
 *
 * - primitives: `Object.is` semantics (so `NaN` equals `NaN`), except that `+0` equals `-0`;
 * - bigint: by value;
 * - arrays (and tuples): same length, elements pairwise equal;
 * - `Set`: same size, every member of one has an equal member in the other;
 * - `Map`: same size, same keys, values pairwise equal;
 * - effect `Option`: same `_tag`, and equal values for `Some`;
 * - `Date`: same time;
 * - values implementing effect's `Equal` interface: delegated to `Equal.equals` from `effect`;
 * - plain objects (prototype `Object.prototype` or `null`, in any mix) and other objects with the
 *   same prototype: the same own enumerable keys with equal values.
 *
 * @example
 * ```ts
 * import * as Option from "effect/Option"
 * import * as Equal from "effect-monoid-streams/Equal"
 *
 * Equal.equals({ a: [1, 2n], b: new Set([1]) }, { a: [1, 2n], b: new Set([1]) }) // true
 * Equal.equals(new Map([["k", Option.some(0)]]), new Map([["k", Option.some(-0)]])) // true
 * Equal.equals({ a: 0 }, {}) // false
 * ```
 *
 * @since 0.1.0
 */
import * as EffectEqual from "effect/Equal"
import * as Option from "effect/Option"

const hasOwn = Object.prototype.hasOwnProperty

/**
 * Deep structural equality; see the module documentation for the cases covered.
 *
 * @example
 * ```ts
 * import * as Equal from "effect-monoid-streams/Equal"
 *
 * Equal.equals([1, { x: new Set(["a"]) }], [1, { x: new Set(["a"]) }]) // true
 * Equal.equals(NaN, NaN) // true
 * Equal.equals(0, -0) // true
 * ```
 *
 * @category equality
 * @since 0.1.0
 */
export const equals = (a: unknown, b: unknown): boolean => {
  if (a === b) return true // also +0 === -0
  const ta = typeof a
  if (ta !== typeof b) return false
  if (ta === "number") return a !== a && b !== b // NaN
  if (ta !== "object" || a === null || b === null) return false
  return equalsObject(a as object, b as object)
}

const equalsObject = (a: object, b: object): boolean => {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) {
      if (!equals(a[i], b[i])) return false
    }
    return true
  }
  if (Array.isArray(b)) return false
  if (a instanceof Set) return b instanceof Set && equalsSet(a, b)
  if (a instanceof Map) return b instanceof Map && equalsMap(a, b)
  if (Option.isOption(a)) {
    if (!Option.isOption(b) || a._tag !== b._tag) return false
    return a._tag === "None" || equals(a.value, (b as Option.Some<unknown>).value)
  }
  if (Option.isOption(b)) return false
  if (a instanceof Date) return b instanceof Date && Object.is(a.getTime(), b.getTime())
  const protoA = Object.getPrototypeOf(a)
  const protoB = Object.getPrototypeOf(b)
  if (protoA !== protoB && !(isPlainPrototype(protoA) && isPlainPrototype(protoB))) return false
  if (EffectEqual.isEqual(a)) return EffectEqual.equals(a, b)
  const keysA = Object.keys(a)
  if (keysA.length !== Object.keys(b).length) return false
  for (const key of keysA) {
    if (!hasOwn.call(b, key)) return false
    if (!equals((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false
  }
  return true
}

/** Plain objects: `{}` literals and `Object.create(null)` (fast-check's `fc.record` makes the latter). */
const isPlainPrototype = (proto: unknown): boolean => proto === Object.prototype || proto === null

// `Set#has` / `Map#has` use SameValueZero, so a primitive member (NaN and -0 included) is found by `has`
const isStructural = (u: unknown): boolean => typeof u === "object" && u !== null

const equalsSet = (a: ReadonlySet<unknown>, b: ReadonlySet<unknown>): boolean => {
  if (a.size !== b.size) return false
  let unmatched: Array<unknown> | undefined
  for (const x of a) {
    if (b.has(x)) continue
    if (!isStructural(x)) return false
    ;(unmatched ??= []).push(x)
  }
  if (unmatched === undefined) return true
  // members found by identity pair with themselves; the remaining ones pair structurally
  const candidates: Array<unknown> = []
  for (const y of b) {
    if (!a.has(y)) candidates.push(y)
  }
  for (const x of unmatched) {
    const i = candidates.findIndex((y) => equals(x, y))
    if (i < 0) return false
    candidates.splice(i, 1)
  }
  return true
}

const equalsMap = (a: ReadonlyMap<unknown, unknown>, b: ReadonlyMap<unknown, unknown>): boolean => {
  if (a.size !== b.size) return false
  let unmatched: Array<[unknown, unknown]> | undefined
  for (const [k, v] of a) {
    if (b.has(k)) {
      if (!equals(v, b.get(k))) return false
      continue
    }
    if (!isStructural(k)) return false
    ;(unmatched ??= []).push([k, v])
  }
  if (unmatched === undefined) return true
  const candidates: Array<[unknown, unknown]> = []
  for (const entry of b) {
    if (!a.has(entry[0])) candidates.push(entry)
  }
  for (const [k, v] of unmatched) {
    const i = candidates.findIndex(([k2, v2]) => equals(k, k2) && equals(v, v2))
    if (i < 0) return false
    candidates.splice(i, 1)
  }
  return true
}

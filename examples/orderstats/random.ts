/**
 * A small seeded PRNG (mulberry32): the example's generators, the tests' histories and the
 * benchmarks' workloads are reproducible from one integer. No imports, so anything may use it.
 */

/** A seeded source of numbers. */
export interface Random {
  /** uniform in [0, 1) */
  readonly next: () => number
  /** integer in [lo, hi] */
  readonly int: (lo: number, hi: number) => number
  readonly pick: <A>(xs: ReadonlyArray<A>) => A
}

export const random = (seed: number): Random => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1))
  return { next, int, pick: (xs) => xs[Math.floor(next() * xs.length)]! }
}

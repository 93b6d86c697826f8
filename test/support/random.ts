/**
 * The example's seeded PRNG (mulberry32, `examples/orderstats/random.ts`), so generated histories
 * are reproducible from one integer, plus a coin.
 */
import * as Seeded from "../../examples/orderstats/random.ts"

export interface Random extends Seeded.Random {
  /** true with probability `p` */
  readonly chance: (p: number) => boolean
}

export const make = (seed: number): Random => {
  const random = Seeded.random(seed)
  return { ...random, chance: (p) => random.next() < p }
}

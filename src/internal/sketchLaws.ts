/**
 * Machinery of the law kit's sketch checks (`Laws.checkErrorBound`): the binomial allowance of
 * misses, and the random cutting and merging of a stream.
 *
 * @internal
 */

/**
 * The smallest `f` with `P(X > f) ≤ significance` for `X ~ Binomial(n, q)`: the most misses that
 * a miss probability of `q` explains.
 */
export const allowedMisses = (n: number, q: number, significance: number): number => {
  if (q <= 0) return 0
  if (q >= 1) return n
  // P(X = k) iteratively in log space; tail = P(X > f)
  const logQ = Math.log(q), log1Q = Math.log1p(-q)
  let logPmf = n * log1Q // k = 0
  let cdf = Math.exp(logPmf)
  for (let k = 0; k < n; k++) {
    if (1 - cdf <= significance) return k
    logPmf += Math.log((n - k) / (k + 1)) + logQ - log1Q
    cdf += Math.exp(logPmf)
  }
  return n
}

/**
 * Cuts `items` into 1 to `maxParts` parts at random points, sketches each part, and merges
 * adjacent parts in a random order (so non-commutative structures work too). `random` holds
 * uniform draws in `[0, 1)`, at least `maxParts` of them. Returns the merged sketch and the number
 * of parts.
 */
export const sketchInRandomTree = <S, I>(
  items: ReadonlyArray<I>,
  random: ReadonlyArray<number>,
  maxParts: number,
  sketch: (part: ReadonlyArray<I>) => S,
  combine: (self: S, that: S) => S
): readonly [S, number] => {
  const count = Math.min(items.length + 1, 1 + Math.floor(random[0]! * maxParts))
  const cuts = random.slice(1, count).map((r) => Math.floor(r * (items.length + 1))).sort((a, b) => a - b)
  const parts: Array<S> = []
  let start = 0
  for (const cut of [...cuts, items.length]) {
    parts.push(sketch(items.slice(start, cut)))
    start = cut
  }
  let r = maxParts
  while (parts.length > 1) {
    const i = Math.floor(random[r++ % random.length]! * (parts.length - 1))
    parts.splice(i, 2, combine(parts[i]!, parts[i + 1]!))
  }
  return [parts[0]!, count]
}

/**
 * The small pipeline many fold and source tests share: the sum of `n` per `k`, and the log level
 * that keeps their output to warnings.
 */
import { Layer, References, Schema } from "effect"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"

/** Logs warnings and errors only. */
export const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

/** A `"changes"` pipeline named `name`: the sum of `n` per `k` of `{ k: string, n: int }` documents. */
export const sumOfN = (name: string) =>
  Pipeline.make(name, {
    schema: Schema.Struct({ k: Schema.String, n: Schema.Int }),
    key: (d) => d.k,
    value: (d) => d.n,
    monoid: Monoid.sum
  })

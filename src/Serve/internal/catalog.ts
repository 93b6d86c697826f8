/**
 * The pipelines a query server serves, by name, each with what its values are: decided once, from
 * the monoid's identity (a HyperLogLog monoid's `empty` is a HyperLogLog, and so on), so an
 * estimate asked of the wrong pipeline is refused before the store is read.
 *
 * @internal
 */
import * as BloomFilter from "../../BloomFilter.ts"
import * as CountMinSketch from "../../CountMinSketch.ts"
import * as HyperLogLog from "../../HyperLogLog.ts"
import type * as Monoid from "../../Monoid.ts"
import type * as Pipeline from "../../Pipeline.ts"
import * as TopK from "../../TopK.ts"
import { estimatesOf, type PipelineInfo, type ValueKind } from "../QueryApi.ts"

/** A pipeline served. */
export interface Entry {
  readonly pipeline: Pipeline.Pipeline<any, any, Pipeline.Mode>
  readonly values: ValueKind
  readonly info: typeof PipelineInfo.Type
}

/** The pipelines served, by name, and in the order given. */
export interface Catalog {
  readonly byName: ReadonlyMap<string, Entry>
  readonly entries: ReadonlyArray<Entry>
}

/** What the values of a monoid are, judged by its identity. */
export const valueKindOf = (monoid: Monoid.Monoid<unknown>): ValueKind => {
  if (monoid === (TopK.group as Monoid.Monoid<unknown>)) return "topK"
  const empty = monoid.empty
  if (HyperLogLog.isHyperLogLog(empty)) return "hyperLogLog"
  if (CountMinSketch.isCountMinSketch(empty)) return "countMinSketch"
  if (BloomFilter.isBloomFilter(empty)) return "bloomFilter"
  return "value"
}

const entryOf = (pipeline: Pipeline.Pipeline<any, any, Pipeline.Mode>): Entry => {
  const values = valueKindOf(pipeline.monoid)
  return {
    pipeline,
    values,
    info: {
      name: pipeline.name,
      mode: pipeline.mode,
      monoid: pipeline.monoid.kind,
      values,
      estimates: estimatesOf[values],
      windowed: pipeline.window !== undefined
    }
  }
}

/** The catalog of `pipelines`; throws a `TypeError` when two share a name. */
export const make = (pipelines: ReadonlyArray<Pipeline.Pipeline<any, any, Pipeline.Mode>>): Catalog => {
  const byName = new Map<string, Entry>()
  for (const pipeline of pipelines) {
    if (byName.has(pipeline.name)) throw new TypeError(`QueryServer: two pipelines are named ${JSON.stringify(pipeline.name)}`)
    byName.set(pipeline.name, entryOf(pipeline))
  }
  return { byName, entries: Array.from(byName.values()) }
}

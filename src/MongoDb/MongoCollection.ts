/**
 * One MongoDB collection as both sources of some pipelines: the handoff capture, the snapshot
 * scan and the change stream, wired for `Orchestrator.run` / `bootstrap` / `live`. One scan and one
 * change stream feed every pipeline.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-monoid-streams"
 * import * as Mongo from "effect-monoid-streams/Mongo"
 * import * as MongoCollection from "effect-monoid-streams/MongoCollection"
 *
 * const program = Orchestrator.run(MongoCollection.spec([orderTotals, ordersPerStatus], { db: "shop", collection: "orders" }))
 * // provide a store layer and Mongo.layer({ uri }) (or Mongo.layerConfig)
 * ```
 *
 * @since 0.1.0
 */
import type { Handoff } from "../Handoff.ts"
import type { Pipeline } from "../Pipeline.ts"
import type * as Fold from "../Runtime/Fold.ts"
import type { Spec } from "../Runtime/Orchestrator.ts"
import type { Tokens } from "../Store/Tokens.ts"
import type { Client, Namespace } from "./Mongo.ts"
import * as MongoChangeStream from "./MongoChangeStream.ts"
import * as MongoHandoff from "./MongoHandoff.ts"
import * as MongoSnapshot from "./MongoSnapshot.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Namespace {
  /** Documents per batch of the scan and of the change stream, and the fold's batch size. Default 1000. */
  readonly batchSize?: number
  readonly snapshot?: Omit<MongoSnapshot.Options, keyof Namespace | "handoff" | "batchSize">
  readonly changes?: Omit<MongoChangeStream.Options, keyof Namespace | "handoff" | "batchSize">
  readonly handoff?: MongoHandoff.Options
  /** The fold's options (default: `{ batchSize }`). */
  readonly fold?: Fold.Options
}

/**
 * Every failure of a MongoDB-sourced run, besides the stores'.
 *
 * @category models
 * @since 0.1.0
 */
export type Failure = MongoChangeStream.StreamError | MongoHandoff.HandoffUnavailable

/**
 * The orchestration of `pipelines` over one collection.
 *
 * @category constructors
 * @since 0.1.0
 */
export const spec = (
  pipelines: ReadonlyArray<Pipeline<any, any, "changes">>,
  options: Options
): Spec<"changes", Failure, Client | Tokens> => {
  const ns: Namespace = { db: options.db, collection: options.collection }
  const batchSize = options.batchSize ?? 1000
  return {
    pipelines,
    handoff: MongoHandoff.capture(ns, options.handoff),
    bootstrap: (handoff: Handoff) => MongoSnapshot.make({ ...options.snapshot, ...ns, handoff, batchSize }),
    live: (handoff: Handoff) => MongoChangeStream.make({ ...options.changes, ...ns, handoff, batchSize }),
    options: options.fold ?? { batchSize }
  }
}

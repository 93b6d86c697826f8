/** The benchmark scenarios, each with quick (CI smoke) and full parameters. */
import type { Sample } from "../lib/measure.ts"
import type { WorkloadOptions } from "../lib/workload.ts"
import * as Fold from "./fold.ts"
import * as KafkaScenario from "./kafka.ts"
import * as Memory from "./memory.ts"

export interface Scenario {
  readonly name: string
  readonly description: string
  readonly quick: WorkloadOptions
  readonly full: WorkloadOptions
  readonly library: (w: WorkloadOptions) => Promise<Sample>
  readonly ceiling: (w: WorkloadOptions) => Promise<Sample>
  /** Servers the scenario needs (started by scripts/bench.sh). */
  readonly requires?: ReadonlyArray<"kafka" | "mongo" | "dynamodb">
  /** Runs once in the parent before the runs (fills a topic...); returns env vars for the children. */
  readonly prepare?: (w: WorkloadOptions) => Promise<Record<string, string>>
}

const fold = (name: string, docs: number, skew: "uniform" | "zipf"): Scenario => ({
  name,
  description: `the fold alone in memory: changes over ${docs} documents, ${skew} customers; ceiling: a hand-written ledger-and-sum loop over the same arrays`,
  quick: { changes: 200_000, docs: Math.min(docs, 200_000), customers: 10_000, skew },
  full: { changes: 1_000_000, docs, customers: 10_000, skew },
  library: Fold.library,
  ceiling: Fold.ceiling
})

export const scenarios: ReadonlyArray<Scenario> = [
  fold("fold-10k-docs-uniform", 10_000, "uniform"),
  fold("fold-10k-docs-zipf", 10_000, "zipf"),
  fold("fold-1m-docs-uniform", 1_000_000, "uniform"),
  fold("fold-1m-docs-zipf", 1_000_000, "zipf"),
  {
    name: "memory-10m-changes-1m-docs",
    description: "RSS while folding changes over a fixed set of documents, generated lazily: bounded by documents, not by changes",
    quick: { changes: 2_000_000, docs: 200_000, customers: 10_000, skew: "uniform" },
    full: { changes: 10_000_000, docs: 1_000_000, customers: 10_000, skew: "uniform" },
    library: Memory.library,
    ceiling: Memory.ceiling
  },
  {
    name: "kafka-to-store",
    description: "Debezium envelopes on a 4-partition topic consumed by KafkaSource and folded into the in-memory store (decoding included); ceiling: raw kafkajs consume of the same topic, no processing",
    quick: { changes: 100_000, docs: 20_000, customers: 5_000, skew: "zipf" },
    full: { changes: 500_000, docs: 100_000, customers: 10_000, skew: "zipf" },
    requires: ["kafka"],
    prepare: KafkaScenario.prepare,
    library: KafkaScenario.library,
    ceiling: KafkaScenario.ceiling
  }
]

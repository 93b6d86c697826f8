/**
 * Scenario 2 with a store a few milliseconds away (issue 16, item 3): the DynamoDB stores on
 * dynalite behind a Toxiproxy proxy that holds every answer `latency` ms, so each request takes that
 * much longer, as against a DynamoDB endpoint in another zone or region. Loopback dynalite answers
 * in about a millisecond, which hides what a fold does one round trip after another.
 *
 * Both sides are stores.ts's, unchanged: the library's fold (`dynamoLibrary`) against the raw
 * writes of the same aggregate and ledger rows as plain `UpdateItem ADD` / `PutItem`, batch by
 * batch, at the same concurrency (`dynamoCeiling`). Only their endpoint differs: `prepare` creates
 * the tables (directly on dynalite, unslowed) and the proxy with its latency toxic, and hands the
 * run processes the proxy as their `DDB_ENDPOINT`. The latency has no jitter, so that runs compare.
 *
 * Batches are smaller than the fold's default 2000 records (a live stream's batches usually are),
 * so each run has enough of them for what the fold does once per batch (read the ledger, commit)
 * to show against the writes.
 */
import { randomUUID } from "node:crypto"
import { required } from "../lib/services.ts"
import { connect } from "../lib/toxiproxy.ts"
import type { Sample } from "../lib/measure.ts"
import type { WorkloadOptions } from "../lib/workload.ts"
import * as Stores from "./stores.ts"

/** What `prepare` hands the run processes (and `cleanup`) besides the table's base name. */
const PROXY = "BENCH_TOXIPROXY_PROXY"

const toxiproxy = () => connect(required("TOXIPROXY_URL"))

/** Fresh tables and a proxy in front of dynalite whose answers come `latencyMs` late. */
export const prepare = (latencyMs: number) => async (): Promise<Record<string, string>> => {
  const tables = await Stores.dynamoPrepare()
  try {
    const proxy = await toxiproxy().createProxy(required("DDB_ENDPOINT"), `bench_latency_${randomUUID().slice(0, 8)}`)
    await proxy.addLatency({ latency: latencyMs })
    // stores.ts's clients read DDB_ENDPOINT: in the run processes, it is the proxy
    return { ...tables, DDB_ENDPOINT: proxy.endpoint, [PROXY]: proxy.name }
  } catch (error) {
    await Stores.dynamoCleanup(tables)
    throw error
  }
}

/** Deletes the proxy and the tables (through the parent's own DDB_ENDPOINT: dynalite itself). */
export const cleanup = async (env: Record<string, string>): Promise<void> => {
  const proxy = env[PROXY]
  try {
    if (proxy !== undefined) await toxiproxy().removeProxy(proxy)
  } finally {
    await Stores.dynamoCleanup(env)
  }
}

export const library = (w: WorkloadOptions): Promise<Sample> => Stores.dynamoLibrary(w)
export const ceiling = (w: WorkloadOptions): Promise<Sample> => Stores.dynamoCeiling(w)

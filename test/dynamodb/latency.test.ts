/**
 * The fold over generated histories on DynamoDB (dynalite) through a real network proxy
 * (Toxiproxy, test/support/toxiproxy.ts) instead of a loopback socket: with latency on every
 * answer, requests of a batch are in flight together and finish out of order (jitter), and the
 * fold's reads and writes of consecutive batches overlap in time as they would against a store a
 * few milliseconds away; and with the connection cut in the middle of a batch, some of the batch's
 * writes are applied and their answers lost, others never arrive (each kind of cut once through the
 * SDK client, once through the default transport). The totals of the three pipelines and the dead
 * letters must be exact either way.
 *
 * Toxiproxy is an optional service: the suite starts it (`bash scripts/services.sh up toxiproxy`,
 * about a minute the first time on a fresh machine, to build it) and skips, saying why, only when
 * it cannot be built here (no Go toolchain).
 */
import { type DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import fc from "fast-check"
import { ordersPerCustomer, ordersPerStatus, orderTotals } from "../../examples/orderstats/pipeline.ts"
import { type Client, open } from "../../src/DynamoDb/DynamoDbClient.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import type { TableNames } from "../../src/DynamoDb/DynamoDbTables.ts"
import { foldHistory, type HarnessResult } from "../support/foldHarness.ts"
import { deadLetterProblems, exactProblems, generate, type History, nonZero, reference } from "../support/history.ts"
import { awsClientConfig, ddbEndpoint, requireService } from "../support/services.ts"
import { type Availability, createProxy, type Cut, ensureToxiproxy, type Proxy } from "../support/toxiproxy.ts"
import { dropTables, freshTables, testClient } from "./support.ts"

/** The example's three pipelines, folded from one source in one pass. */
const three = [orderTotals, ordersPerStatus, ordersPerCustomer]

/** "A store 5 ms away": every answer is held 5 ms (± 2 ms, so that concurrent requests finish out of order). */
const LATENCY = { latency: 5, jitter: 2 }

const expectExact = (history: History, result: HarnessResult) => {
  expect(exactProblems(history, result.pipelines)).toEqual([])
  expect(nonZero(result.totals)).toEqual(nonZero(reference(history.final)))
  expect(deadLetterProblems(history, result.deadLetters, { logPartition: (p) => p.startsWith("log/") })).toEqual([])
}

/** Counts a client's attempts (the SDK's retries included) and the ones that failed on the network. */
const countAttempts = (client: DynamoDBClient, before?: (command: string, attempt: number) => Promise<void>) => {
  const counts = { attempts: 0, updates: 0, failed: 0 }
  const stack = client.middlewareStack as unknown as { add: (middleware: unknown, options: Record<string, unknown>) => void }
  // below the SDK's retry loop (as test/dynamodb/support.ts's fault injection): runs once per attempt
  stack.add(
    (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) => async (args: unknown) => {
      const command = String(context["commandName"])
      counts.attempts++
      if (command === "UpdateItemCommand") counts.updates++
      await before?.(command, counts.updates)
      try {
        return await next(args)
      } catch (error) {
        counts.failed++
        throw error
      }
    },
    { step: "deserialize", name: "latencyTestAttempts", priority: "high" }
  )
  return counts
}

const transports: Array<{ readonly close: () => void }> = []

/** The default transport on `endpoint`, one attempt per request, counted as {@link countAttempts} counts. */
const countHttpAttempts = (endpoint: string, before: (command: string, attempt: number) => Promise<void>) => {
  const config = awsClientConfig(endpoint)
  const transport = open({
    endpoint,
    region: config.region,
    credentials: { accessKeyId: config.credentials.accessKeyId, secretAccessKey: Redacted.make(config.credentials.secretAccessKey) },
    maxAttempts: 1,
    requestTimeoutMs: 2_000,
    connectTimeoutMs: 1_000
  })
  transports.push(transport)
  const counts = { attempts: 0, updates: 0, failed: 0 }
  const client: Client = {
    send: async (operation, input, signal) => {
      counts.attempts++
      if (operation === "UpdateItem") counts.updates++
      await before(`${operation}Command`, counts.updates)
      try {
        return await transport.client.send(operation, input, signal)
      } catch (error) {
        counts.failed++
        throw error
      }
    }
  }
  return { client, counts }
}

describe("fold over generated histories on DynamoDB through a latency proxy", () => {
  let direct: DynamoDBClient
  let toxiproxy: Availability
  const created: Array<TableNames> = []
  const proxies: Array<Proxy> = []
  const clients: Array<DynamoDBClient> = []

  beforeAll(async () => {
    await requireService("dynamodb")
    // tables are created and dropped without the proxy: only the fold's own requests are slowed down
    direct = testClient()
    toxiproxy = await ensureToxiproxy()
    if (!toxiproxy.available) console.warn(`latency tests skipped: ${toxiproxy.reason}`)
  }, 180_000)

  afterAll(async () => {
    for (const c of clients) c.destroy()
    for (const t of transports) t.close()
    for (const names of created) await dropTables(direct, names)
    direct?.destroy()
    // last: a proxy that cannot be deleted fails the hook (it would stay on the shared server)
    for (const p of proxies) await p.remove()
  })

  /** A proxy in front of dynalite with {@link LATENCY} on every answer, and a client through it. */
  const slowStore = async () => {
    const proxy = await createProxy(ddbEndpoint())
    proxies.push(proxy)
    await proxy.addLatency(LATENCY)
    const client = testClient({ endpoint: proxy.endpoint })
    clients.push(client)
    return { proxy, client }
  }

  const tablesFor = async (prefix: string) => {
    const tables = await freshTables(direct, prefix)
    created.push(tables)
    return tables
  }

  it("5 ms of latency on every answer: exact under random batching, partitions and crashes", async (ctx) => {
    if (!toxiproxy.available) return ctx.skip(toxiproxy.reason)
    const started = Date.now()
    const { client } = await slowStore()
    const counts = countAttempts(client)
    // the latency is really there
    const t0 = performance.now()
    await client.send(new ListTablesCommand({ Limit: 1 }))
    expect(performance.now() - t0).toBeGreaterThanOrEqual(LATENCY.latency - LATENCY.jitter)
    let runs = 0
    let restarts = 0
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          partitions: fc.integer({ min: 1, max: 4 }),
          maxChunk: fc.integer({ min: 4, max: 40 }),
          crashes: fc.integer({ min: 0, max: 3 })
        }),
        async (p) => {
          const history = generate(p.seed, { docs: 15, ops: 60 })
          const tables = await tablesFor("latency")
          const result = await foldHistory(history, { ...p, pipelines: three, store: () => DynamoDbStore.layerFrom(client, tables) })
          runs++
          restarts += result.restarts
          expectExact(history, result)
        }
      ),
      { numRuns: 6 }
    )
    console.log(`latency ${LATENCY.latency} ms: ${runs} runs, ${restarts} crashes/restarts, ${counts.attempts} requests, ${Date.now() - started} ms`)
  })

  it("the connection cut in the middle of a batch (refused, reset after the write, answer never comes): exact", async (ctx) => {
    if (!toxiproxy.available) return ctx.skip(toxiproxy.reason)
    const started = Date.now()
    const kinds: ReadonlyArray<Cut> = ["refuse", "reset", "hang", "refuse", "reset", "hang"]
    for (const [i, how] of kinds.entries()) {
      const { proxy, client: sdk } = await slowStore()
      const tables = await tablesFor("latency-cut")
      // the cut falls on the `cutAt`-th aggregate write: that write (and whatever else of its batch is
      // in flight) meets a cut connection; it lasts `outageMs`, longer than the SDK's three attempts
      // (2 ms apart), so the fold's own retry (100 ms, doubling) has to ride it out too
      const cutAt = 8 + 7 * i
      const outageMs = 400
      let restored: Promise<void> | undefined
      const cut = async (command: string, updates: number) => {
        if (command !== "UpdateItemCommand" || updates !== cutAt || restored !== undefined) return
        const restore = await proxy.cut(how, { hangMs: 150 })
        restored = new Promise((resolve) => setTimeout(resolve, outageMs)).then(restore)
      }
      // each kind of cut once through the SDK client, once through the default transport (one
      // attempt per request there, so that every failed request reaches the fold's own retry)
      const viaHttp = i >= kinds.length / 2
      const { client, counts } = viaHttp ? countHttpAttempts(proxy.endpoint, cut) : { client: sdk, counts: countAttempts(sdk, cut) }
      const history = generate(100 + i, { docs: 20, ops: 80 })
      const result = await foldHistory(history, {
        seed: 100 + i,
        partitions: 2,
        maxChunk: 25,
        crashes: 0,
        pipelines: three,
        store: () => DynamoDbStore.layerFrom(client, tables)
      })
      expect(restored, `the cut at aggregate write ${cutAt} happened`).toBeDefined()
      await restored
      // requests really failed on the cut connection, and the fold got past them
      expect(counts.failed, how).toBeGreaterThan(0)
      expectExact(history, result)
      console.log(`cut "${how}" at aggregate write ${cutAt} (${viaHttp ? "HTTP transport" : "SDK client"}): ${counts.failed} of ${counts.attempts} requests failed, exact`)
    }
    console.log(`cuts: ${kinds.length} runs, ${Date.now() - started} ms`)
  })
})

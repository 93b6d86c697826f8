/**
 * The request timeout of the SDK transport (`DDB_TRANSPORT=sdk`, `DynamoDbClient.clientConfig`)
 * against dynalite behind Toxiproxy (test/support/toxiproxy.ts), whose answers stop coming on a
 * connection that stays open: a store call must fail with a retryable `StoreError` after the
 * configured timeout of each attempt, as through the default transport (test/dynamodb/http.test.ts),
 * not hang until the server or the socket timeout ends the connection. `@smithy/node-http-handler`
 * 4.x only logs a warning on `requestTimeout` unless `throwOnRequestTimeout` is set: without it the
 * same call failed after 12 s (dynalite ending the idle connections), and against AWS it would wait
 * for the 300 s socket timeout.
 *
 * Toxiproxy is an optional service: the suite starts it (`bash scripts/services.sh up toxiproxy`)
 * and skips, saying why, only when it cannot be built here (no Go toolchain).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Redacted } from "effect"
import * as DynamoDbClient from "../../src/DynamoDb/DynamoDbClient.ts"
import * as DynamoDbStore from "../../src/DynamoDb/DynamoDbStore.ts"
import { StoreError } from "../../src/Store/StoreError.ts"
import { Tokens } from "../../src/Store/Tokens.ts"
import { awsClientConfig, ddbEndpoint } from "../support/services.ts"
import { type Availability, createProxy, ensureToxiproxy, type Proxy } from "../support/toxiproxy.ts"
import { dynamoDbSuite } from "./support.ts"

/** Time limit of one attempt. */
const REQUEST_TIMEOUT_MS = 500
/** Attempts per request (the SDK's retries included). */
const MAX_ATTEMPTS = 2
/**
 * How long the test waits for the call to end. Both attempts time out, with the SDK's backoff
 * between them, in about 1.1 s; the answers are held for good (until the toxic goes), and the
 * server ends an idle connection only after about 5 s per attempt.
 */
const WAIT_MS = 4_000

describe("the SDK transport's request timeout, through a proxy whose answers never come", () => {
  const ddb = dynamoDbSuite()
  let toxiproxy: Availability
  const proxies: Array<Proxy> = []

  beforeAll(async () => {
    toxiproxy = await ensureToxiproxy()
    if (!toxiproxy.available) console.warn(`request timeout test skipped: ${toxiproxy.reason}`)
  }, 180_000)

  afterAll(async () => {
    for (const p of proxies) await p.remove()
  })

  it("fails a held request with a retryable StoreError after maxAttempts timeouts, well before the connection ends", async (ctx) => {
    if (!toxiproxy.available) return ctx.skip(toxiproxy.reason)
    const tables = await ddb.tables("request-timeout")
    const proxy = await createProxy(ddbEndpoint())
    proxies.push(proxy)
    const config = awsClientConfig(proxy.endpoint)
    // the client the library builds for DDB_TRANSPORT=sdk (DynamoDbClient.layerConfig), on the proxy
    const settings: DynamoDbClient.Settings = {
      endpoint: proxy.endpoint,
      region: config.region,
      credentials: { accessKeyId: config.credentials.accessKeyId, secretAccessKey: Redacted.make(config.credentials.secretAccessKey) },
      maxAttempts: MAX_ATTEMPTS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      connectTimeoutMs: 1_000,
      transport: "sdk"
    }
    const store = DynamoDbStore.layer(tables).pipe(Layer.provide(DynamoDbClient.layer(settings)))
    const read = Tokens.use((tokens) => tokens.get("@test", "held"))

    const { elapsed, outcome } = await Effect.runPromise(
      Effect.gen(function*() {
        // through the proxy, before the cut: answered (and a kept-alive connection is open)
        expect(Option.isNone(yield* read)).toBe(true)
        // answers are dropped from now on, on the open connection and on new ones, which stay open
        const restore = yield* Effect.promise(() => proxy.cut("hang", { hangMs: 0 }))
        const started = Date.now()
        const outcome = yield* read.pipe(Effect.exit, Effect.timeoutOption(WAIT_MS))
        const elapsed = Date.now() - started
        yield* Effect.promise(restore)
        return { elapsed, outcome }
      }).pipe(Effect.provide(store))
    )

    expect(Option.isSome(outcome), `still no answer nor error after ${WAIT_MS} ms: the request timeout is not enforced`).toBe(true)
    const exit = Option.getOrThrow(outcome)
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
    expect(error?._tag === "Fail" && error.error instanceof StoreError).toBe(true)
    const storeError = (error as { readonly error: StoreError }).error
    // retryable: the fold sends it again on its schedule
    expect(storeError.retryable, storeError.message).toBe(true)
    expect(storeError.cause).toMatchObject({ name: "TimeoutError", $metadata: { attempts: MAX_ATTEMPTS } })
    // each attempt waited its timeout, no longer
    expect(elapsed).toBeGreaterThanOrEqual(MAX_ATTEMPTS * REQUEST_TIMEOUT_MS - 50)
    expect(elapsed).toBeLessThan(3_000)
  }, 30_000)
})

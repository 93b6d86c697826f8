/**
 * Helpers of the DynamoDB suites: clients on the real test server, fresh tables per test, and
 * fault injection INSIDE the real SDK client (a middleware below the SDK's retry loop, so the SDK's
 * own retries and the stores' error handling are what gets tested; the request itself goes to the
 * real server).
 */
import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException
} from "@aws-sdk/client-dynamodb"
import { afterAll, beforeAll } from "@effect/vitest"
import { Effect, Layer, Redacted, References } from "effect"
import * as Client from "../../src/DynamoDb/DynamoDbClient.ts"
import * as Tables from "../../src/DynamoDb/DynamoDbTables.ts"
import { awsClientConfig, ddbEndpoint, ddbTxEndpoint, requireService, uniqueName } from "../support/services.ts"

/**
 * The SDK's retry loop with the SDK's own error classification (`errorType`), but a short fixed
 * pause and no retry-token bucket, so that suites with hundreds of injected faults run in seconds.
 * Production clients keep the SDK's standard strategy (see `DynamoDbClient`).
 */
const quickRetries = (maxAttempts: number, delayMs: number) => ({
  mode: "standard",
  acquireInitialRetryToken: async () => token(0),
  refreshRetryTokenForRetry: async (previous: { getRetryCount: () => number }, info: { errorType: string }) => {
    const next = previous.getRetryCount() + 1
    if (info.errorType === "CLIENT_ERROR" || next >= maxAttempts) throw new Error("no more retries")
    await new Promise((resolve) => setTimeout(resolve, delayMs))
    return token(next)
  },
  recordSuccess: () => undefined
})
const token = (count: number) => ({ getRetryCount: () => count, getRetryDelay: () => 0 })

export interface TestClientOptions {
  readonly endpoint?: string
  /** Attempts per request (the SDK's retries). Default 3. */
  readonly maxAttempts?: number
  readonly retryDelayMs?: number
}

/** A real SDK client on the test server. Destroy it in `afterAll`. */
export const testClient = (options: TestClientOptions = {}): DynamoDBClient => {
  const maxAttempts = options.maxAttempts ?? 3
  return new DynamoDBClient({
    ...awsClientConfig(options.endpoint ?? ddbEndpoint()),
    maxAttempts,
    retryStrategy: quickRetries(maxAttempts, options.retryDelayMs ?? 2) as never
  })
}

/** Runs an effect that needs the client service. */
export const withClient = <A, E>(client: DynamoDBClient, effect: Effect.Effect<A, E, Client.DynamoDbClient>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provide(Client.layerFrom(client))))

/** Four fresh tables with unique names, created on the server. */
export const freshTables = async (client: DynamoDBClient, prefix = "t"): Promise<Tables.TableNames> => {
  const names = Tables.fromBase(uniqueName(prefix))
  await withClient(client, Tables.create(names).pipe(Effect.provide(quiet)))
  return names
}

/** Warnings and errors only (dynalite's missing TTL is a warning). */
export const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

export const dropTables = (client: DynamoDBClient, names: Tables.TableNames): Promise<void> =>
  withClient(client, Tables.drop(names)).catch(() => undefined)

/** What a fault does to one attempt of a request. */
export type Fault =
  /** the connection fails before the request is sent (ECONNRESET): nothing reaches the server */
  | "before"
  /** the server applies the request, then the answer is lost (a timeout) */
  | "after"
  /** the server refuses with ProvisionedThroughputExceededException (nothing applied) */
  | "throttle"
  /** a non-retryable refusal (ResourceNotFoundException; nothing applied) */
  | "fatal"

export interface FaultStats {
  /** Logical requests (`client.send` calls). */
  requests: number
  /** Attempts (what reached the fault layer, the SDK's retries included). */
  attempts: number
  /** Most attempts one request needed. */
  maxAttemptsPerRequest: number
  injected: Record<Fault, number>
  /** Per command name: attempts. */
  byCommand: Record<string, number>
}

/**
 * Installs fault injection on a real client. `decide` sees the command name (e.g.
 * `"UpdateItemCommand"`) and the 1-based attempt number of the request, and returns the fault of
 * this attempt, if any. Returns live counters; `setDecide` swaps the policy.
 */
export const injectFaults = (
  client: DynamoDBClient,
  decide: (command: string, attempt: number) => Fault | undefined
): FaultStats & { setDecide: (f: (command: string, attempt: number) => Fault | undefined) => void } => {
  let policy = decide
  const stats: FaultStats = {
    requests: 0,
    attempts: 0,
    maxAttemptsPerRequest: 0,
    injected: { before: 0, after: 0, throttle: 0, fatal: 0 },
    byCommand: {}
  }
  const stack = client.middlewareStack as unknown as {
    add: (middleware: unknown, options: Record<string, unknown>) => void
  }
  stack.add(
    (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) => async (args: unknown) => {
      stats.requests++
      context["faultAttempt"] = 0
      return next(args)
    },
    { step: "initialize", name: "testFaultCounter", priority: "high" }
  )
  stack.add(
    (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) => async (args: unknown) => {
      const attempt = (context["faultAttempt"] as number) + 1
      context["faultAttempt"] = attempt
      const command = String(context["commandName"])
      stats.attempts++
      stats.byCommand[command] = (stats.byCommand[command] ?? 0) + 1
      stats.maxAttemptsPerRequest = Math.max(stats.maxAttemptsPerRequest, attempt)
      const fault = policy(command, attempt)
      if (fault !== undefined) stats.injected[fault]++
      switch (fault) {
        case "before":
          throw Object.assign(new Error("injected: connection reset before the request was sent"), { code: "ECONNRESET" })
        case "throttle":
          throw new ProvisionedThroughputExceededException({ message: "injected throttling", $metadata: { httpStatusCode: 400 } })
        case "fatal":
          throw new ResourceNotFoundException({ message: "injected: requested resource not found", $metadata: { httpStatusCode: 400 } })
        case "after": {
          await next(args)
          throw Object.assign(new Error("injected: the answer was lost after the server applied the request"), { name: "TimeoutError" })
        }
        default:
          return next(args)
      }
    },
    { step: "deserialize", name: "testFaults", priority: "high" }
  )
  return Object.assign(stats, { setDecide: (f: (command: string, attempt: number) => Fault | undefined) => { policy = f } })
}

/** A suite's DynamoDB server (see {@link dynamoDbSuite}). */
export interface DynamoDbSuite {
  /** The suite's client, made in `beforeAll`. */
  readonly client: () => DynamoDBClient
  /** The suite's client on the default transport (DynamoDB's JSON protocol over Node's HTTP agent), made at first use. */
  readonly http: () => Client.Client
  /** Fresh tables for one test, dropped after the suite. */
  readonly tables: (prefix: string) => Promise<Tables.TableNames>
  /**
   * Drops tables made with `tables` now. dynalite's DeleteTable reads every key it holds, so a
   * suite that makes many sets drops each when done with it rather than all of them at the end.
   */
  readonly drop: (names: Tables.TableNames) => Promise<void>
}

/**
 * Registers a suite's `beforeAll`/`afterAll`: the server must answer (dynalite, or moto for
 * `"dynamodb-tx"`), one client for the suite, and every table made with `tables` dropped at the end.
 * With `onDemand`, the server is required (and the client made) at the first `tables` instead: for a
 * file whose other cases need no DynamoDB.
 */
export const dynamoDbSuite = (
  service: "dynamodb" | "dynamodb-tx" = "dynamodb",
  options: { readonly onDemand?: boolean } = {}
): DynamoDbSuite => {
  let client: DynamoDBClient | undefined
  let http: ReturnType<typeof Client.open> | undefined
  const created: Array<Tables.TableNames> = []
  const connect = async () => {
    if (client !== undefined) return client
    await requireService(service)
    client ??= testClient(service === "dynamodb" ? {} : { endpoint: ddbTxEndpoint() })
    return client
  }
  if (options.onDemand !== true) beforeAll(async () => void (await connect()))
  afterAll(async () => {
    if (client === undefined) return
    for (const names of created) await dropTables(client, names)
    client.destroy()
    http?.close()
  })
  const current = (): DynamoDBClient => {
    if (client === undefined) throw new Error("the DynamoDB suite's client is made in beforeAll (or by the first tables, on demand)")
    return client
  }
  return {
    client: current,
    http: () => {
      const config = awsClientConfig(service === "dynamodb" ? ddbEndpoint() : ddbTxEndpoint())
      http ??= Client.open({
        endpoint: config.endpoint,
        region: config.region,
        credentials: { accessKeyId: config.credentials.accessKeyId, secretAccessKey: Redacted.make(config.credentials.secretAccessKey) }
      })
      return http.client
    },
    tables: async (prefix) => {
      const names = await freshTables(await connect(), prefix)
      created.push(names)
      return names
    },
    drop: async (names) => {
      const at = created.indexOf(names)
      if (at >= 0) created.splice(at, 1)
      await dropTables(current(), names)
    }
  }
}

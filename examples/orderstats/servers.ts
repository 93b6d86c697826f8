/**
 * The server a failure concerns, named by host and port and by the variable that configured it,
 * without credentials: the binaries append it to their failure line, so that `connecting to
 * <redacted> failed` says which server did not answer:
 *
 *   bootstrap: SourceError: source mongodb: connecting to <redacted> failed: ... (MongoDB at 127.0.0.1:27017, from MONGO_URI)
 *
 * Only hosts and ports are printed: a connection string's user, password, path and options
 * (which may carry secrets too) never are.
 */
import { Config, Effect, Option, Redacted } from "effect"

/**
 * The servers the binaries talk to.
 */
export type Kind = "mongodb" | "kafka" | "dynamodb" | "redis"

const hasTag = (u: unknown): u is { readonly _tag: string } & Record<string, unknown> =>
  typeof u === "object" && u !== null && typeof (u as { _tag?: unknown })._tag === "string"

/**
 * The servers an error of the library (or of the example) concerns: a `SourceError` by its source's
 * name, a `StoreError` by its store. Other errors (configuration, lost positions...) concern none.
 */
export const kindsOf = (error: unknown): ReadonlyArray<Kind> => {
  if (!hasTag(error)) return []
  if (error._tag === "StoreError") {
    return error.store === "dynamodb" ? ["dynamodb"] : error.store === "cache" ? ["redis"] : []
  }
  if (error._tag !== "SourceError" || typeof error.source !== "string") return []
  const source = error.source
  if (/^(mongo|seed)/.test(source)) return ["mongodb"]
  if (source.startsWith("kafka")) return ["kafka"]
  // the relay reads the change stream and publishes to Kafka
  if (source.startsWith("relay")) return ["mongodb", "kafka"]
  return []
}

/**
 * The `host:port` list of a connection string (`scheme://[user[:password]@]host[:port][,host...][/path][?options]`),
 * with `defaultPort` where a host has none (none for `undefined`). The user and password are
 * dropped even when they hold an unescaped `/` or `@`.
 */
export const hostsOf = (uri: string, defaultPort: number | undefined): ReadonlyArray<string> => {
  const rest = uri.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/[?#].*$/, "")
  const authority = rest.slice(rest.lastIndexOf("@") + 1).replace(/\/.*$/, "")
  return authority.split(",").filter((host) => host !== "").map((host) =>
    defaultPort === undefined || /:\d+$/.test(host) ? host : `${host}:${defaultPort}`
  )
}

/**
 * An endpoint URL as `scheme://host[:port]` (no credentials, path or query).
 */
export const originOf = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return hostsOf(url, undefined).join(",")
  }
}

const read = <A>(config: Config.Config<A>): Effect.Effect<Option.Option<A>> =>
  Effect.catch(Config.option(config), () => Effect.succeed(Option.none<A>()))

const secret = (name: string) => read(Config.Redacted(name)).pipe(Effect.map(Option.map(Redacted.value)))

/**
 * One server in words, from the environment: `MongoDB at 127.0.0.1:27017, from MONGO_URI`.
 */
export const describe = (kind: Kind): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    switch (kind) {
      case "mongodb": {
        const uri = yield* secret("MONGO_URI")
        const srv = Option.exists(uri, (u) => u.startsWith("mongodb+srv:"))
        return Option.match(uri, {
          onNone: () => undefined,
          onSome: (u) => `MongoDB at ${hostsOf(u, srv ? undefined : 27017).join(", ")}${srv ? " (SRV record)" : ""}, from MONGO_URI`
        })
      }
      case "kafka": {
        const brokers = yield* read(Config.String("KAFKA_BROKERS"))
        return Option.match(brokers, {
          onNone: () => undefined,
          onSome: (b) => `Kafka at ${b.split(",").map((h) => hostsOf(h, 9092).join("")).filter((h) => h !== "").join(", ")}, from KAFKA_BROKERS`
        })
      }
      case "dynamodb": {
        const endpoint = Option.filter(yield* read(Config.String("DDB_ENDPOINT")), (e) => e.trim() !== "")
        if (Option.isSome(endpoint)) return `DynamoDB at ${originOf(endpoint.value)}, from DDB_ENDPOINT`
        const region = Option.getOrElse(yield* read(Config.String("AWS_REGION")), () => "us-east-1")
        return `DynamoDB of AWS in ${region}, from AWS_REGION (DDB_ENDPOINT is not set)`
      }
      case "redis": {
        const url = yield* secret("REDIS_URL")
        return Option.match(url, { onNone: () => undefined, onSome: (u) => `Valkey/Redis at ${hostsOf(u, 6379).join(", ")}, from REDIS_URL` })
      }
    }
  })

/**
 * The servers `error` concerns, in words (empty when none), for the end of a failure line.
 */
export const describeError = (error: unknown): Effect.Effect<string> =>
  Effect.forEach(kindsOf(error), describe).pipe(
    Effect.map((parts) => parts.filter((p): p is string => p !== undefined)),
    Effect.map((parts) => (parts.length === 0 ? "" : ` (${parts.join("; ")})`))
  )

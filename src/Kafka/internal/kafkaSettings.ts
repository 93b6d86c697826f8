/**
 * The connection settings both Kafka adapters read from the environment: `KAFKA_BROKERS`
 * (comma-separated, required), `KAFKA_CLIENT_ID`, `KAFKA_SSL` (boolean), `KAFKA_SASL_MECHANISM`
 * (`plain`, `scram-sha-256`, `scram-sha-512`) with `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD`
 * (a secret).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Option from "effect/Option"
import type { Sasl } from "../KafkaPort.ts"

/**
 * @since 0.1.0
 */
export interface Connection {
  readonly brokers: ReadonlyArray<string>
  readonly clientId: string | undefined
  readonly ssl: boolean
  readonly sasl: Sasl | undefined
}

/**
 * @since 0.1.0
 */
export const connection: Config.Config<Connection> = Config.all({
  brokers: Config.String("KAFKA_BROKERS").pipe(
    Config.map((s) => s.split(",").map((b) => b.trim()).filter((b) => b.length > 0))
  ),
  clientId: Config.option(Config.String("KAFKA_CLIENT_ID")),
  ssl: Config.Boolean("KAFKA_SSL").pipe(Config.withDefault(false)),
  mechanism: Config.option(Config.Literals(["plain", "scram-sha-256", "scram-sha-512"], "KAFKA_SASL_MECHANISM")),
  username: Config.option(Config.String("KAFKA_SASL_USERNAME")),
  password: Config.option(Config.Redacted("KAFKA_SASL_PASSWORD"))
}).pipe(Config.map((c): Connection => ({
  brokers: c.brokers,
  clientId: Option.getOrUndefined(c.clientId),
  ssl: c.ssl,
  sasl: Option.isSome(c.mechanism) && Option.isSome(c.username) && Option.isSome(c.password)
    ? { mechanism: c.mechanism.value, username: c.username.value, password: c.password.value }
    : undefined
})))

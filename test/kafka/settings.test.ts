/**
 * The settings of the Kafka adapters, without a broker: both read the same environment variables,
 * and the @platformatic/kafka adapter turns them into the client's options (SASL mechanism names,
 * the secret revealed only there, TLS).
 */
import { type Config, ConfigProvider, Effect, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import * as KafkaJs from "../../src/Kafka/KafkaJs.ts"
import * as KafkaPlatformatic from "../../src/Kafka/KafkaPlatformatic.ts"

const env = {
  KAFKA_BROKERS: " b1:9092, b2:9093 ,",
  KAFKA_CLIENT_ID: "orderstats",
  KAFKA_SSL: "true",
  KAFKA_SASL_MECHANISM: "scram-sha-512",
  KAFKA_SASL_USERNAME: "worker",
  KAFKA_SASL_PASSWORD: "s3cret",
  KAFKA_LOG_LEVEL: "error"
}

const read = <A>(config: Config.Config<A>): Promise<A> =>
  Effect.runPromise(
    Effect.gen(function*() {
      return yield* config
    }).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))))
  )

describe("Kafka adapter settings", () => {
  it("both adapters read the same connection settings from the environment", async () => {
    const js = await read(KafkaJs.config)
    const plt = await read(KafkaPlatformatic.config)
    expect(js.logLevel).toBe("error")
    for (const o of [js, plt]) {
      expect([o.brokers, o.clientId, o.ssl, o.sasl?.mechanism, o.sasl?.username]).toEqual([["b1:9092", "b2:9093"], "orderstats", true, "scram-sha-512", "worker"])
      expect(Redacted.value(o.sasl!.password)).toBe("s3cret")
    }
  })

  it("maps them to @platformatic/kafka's client options", () => {
    const options = KafkaPlatformatic.clientOptions({
      brokers: ["b1:9092"],
      ssl: true,
      sasl: { mechanism: "scram-sha-256", username: "worker", password: Redacted.make("s3cret") },
      connectionTimeoutMs: 1500
    })
    expect(options).toMatchObject({
      clientId: "effect-monoid-streams",
      bootstrapBrokers: ["b1:9092"],
      tls: {},
      sasl: { mechanism: "SCRAM-SHA-256", username: "worker", password: "s3cret" },
      connectTimeout: 1500,
      autocreateTopics: false
    })
    expect(KafkaPlatformatic.clientOptions({ brokers: ["b1:9092"] })).not.toHaveProperty("tls")
  })
})

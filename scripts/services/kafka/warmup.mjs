// Makes the fresh broker create and load its consumer-offsets topic (the group coordinator), so
// that the first consumer group of a test run does not meet "coordinator not available/loading"
// errors. Usage: node warmup.mjs 127.0.0.1:19092 [timeout ms]. Exit 0 once a group can be described.
import kafkajs from "kafkajs"

const { Kafka, logLevel } = kafkajs
const [brokers = "127.0.0.1:19092", timeoutArg = "60000"] = process.argv.slice(2)
const deadline = Date.now() + Number(timeoutArg)
const kafka = new Kafka({
  clientId: "services-warmup",
  brokers: brokers.split(","),
  logLevel: logLevel.NOTHING,
  retry: { retries: 0 }
})
const admin = kafka.admin()
let lastError
try {
  await admin.connect()
  for (;;) {
    try {
      const { groups } = await admin.describeGroups(["services-warmup"])
      if (groups[0]?.errorCode === 0) break
      lastError = new Error(`describeGroups error code ${groups[0]?.errorCode}`)
    } catch (e) {
      lastError = e
    }
    if (Date.now() > deadline) throw lastError
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  await admin.disconnect()
  process.exit(0)
} catch (e) {
  console.error(`kafka warm-up failed: ${e?.message ?? e}`)
  process.exit(1)
}

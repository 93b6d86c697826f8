/**
 * Worker processes for the multi-process Kafka tests (test/kafka/worker.ts under Node 24).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { kafkaBrokers } from "../support/services.ts"

const script = join(import.meta.dirname, "worker.ts")

export interface LogLine {
  readonly worker: string
  readonly level: string
  readonly message: string
}

export interface WorkerProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly lines: Array<LogLine>
  readonly stderr: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

export interface WorkerSettings {
  readonly topic: string
  readonly groupId: string
  readonly dlq: string
  readonly db: string
  readonly sessionTimeoutMs?: number
  /** The Kafka port adapter the worker uses. Default kafkajs. */
  readonly adapter?: "kafkajs" | "platformatic"
}

export const startWorker = (name: string, settings: WorkerSettings): WorkerProcess => {
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      KAFKA_BROKERS: kafkaBrokers().join(","),
      KAFKA_LOG_LEVEL: "error",
      KAFKAJS_NO_PARTITIONER_WARNING: "1",
      WORKER_NAME: name,
      WORKER_ADAPTER: settings.adapter ?? "kafkajs",
      WORKER_TOPIC: settings.topic,
      WORKER_GROUP: settings.groupId,
      WORKER_DLQ: settings.dlq,
      WORKER_DB: settings.db,
      WORKER_SESSION_TIMEOUT_MS: String(settings.sessionTimeoutMs ?? 6_000)
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines: Array<LogLine> = []
  let pending = ""
  let stderr = ""
  child.stdout!.on("data", (d: Buffer) => {
    pending += d.toString("utf8")
    let nl: number
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl)
      pending = pending.slice(nl + 1)
      try {
        lines.push(JSON.parse(line) as LogLine)
      } catch {
        lines.push({ worker: name, level: "raw", message: line })
      }
    }
  })
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  )
  return { name, child, lines, stderr: () => stderr, exited }
}

/** Assignments a worker received (each one is a rebalance it took part in). */
export const assignments = (w: WorkerProcess): Array<string> =>
  w.lines.filter((l) => l.message.includes(": assigned generation")).map((l) => l.message)

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

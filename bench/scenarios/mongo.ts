/**
 * Scenario 4: MongoDB bootstrap. A collection pre-filled in `prepare` (`docs` order documents with
 * ObjectId `_id`s) is scanned by the library's snapshot source (`MongoSnapshot`: `_id` order,
 * staged batches, every document decoded through the pipeline's schema) and folded by `Fold.run`
 * into the in-memory store; the ceiling is the raw driver cursor over the same collection
 * (`find().sort({_id: 1})` with the same batch size, iterated to the end, no processing).
 *
 * The server: `BENCH_MONGO_URI` when set (e.g. a real MongoDB; the collection is dropped at the
 * end). Otherwise a private mongo-java-server is started for the scenario (the jars and launcher
 * that `scripts/services.sh up mongo` provisions, its own port, a 2 GB heap by default,
 * `BENCH_MONGO_HEAP`) and stopped at the end: mongo-java-server is in-memory and keeps every write
 * in an oplog that is never trimmed, so half a million documents do not fit beside a test suite's
 * leftovers in the shared server's 512 MB heap, and a full shared heap would skew the figures.
 * On the private server the fill's oplog entries are deleted as it goes (nothing reads them).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { existsSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { Effect, Layer, References } from "effect"
import { type Document, MongoClient, ObjectId } from "mongodb"
import * as Handoff from "../../src/Handoff.ts"
import * as Fold from "../../src/Runtime/Fold.ts"
import * as Mongo from "../../src/MongoDb/Mongo.ts"
import * as MongoSnapshot from "../../src/MongoDb/MongoSnapshot.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Version from "../../src/Version.ts"
import { type Counter, counting } from "../lib/counting.ts"
import { time, type Sample } from "../lib/measure.ts"
import { benchPipeline } from "../lib/pipeline.ts"
import { required, setting } from "../lib/services.ts"
import { documents, type WorkloadOptions } from "../lib/workload.ts"

const batchSizeOf = (w: WorkloadOptions): number => w.chunk ?? 1000

// ---------------------------------------------------------------------------------------------
// the private server
// ---------------------------------------------------------------------------------------------

let server: ChildProcess | undefined

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const onSignal = (signal: NodeJS.Signals) => {
  stopServer()
  process.exit(128 + (signal === "SIGINT" ? 2 : 15))
}

const stopServer = () => {
  const child = server
  server = undefined
  process.off("exit", stopServer)
  process.off("SIGINT", onSignal)
  process.off("SIGTERM", onSignal)
  if (child !== undefined && child.exitCode === null) child.kill("SIGTERM")
}

/** Starts mongo-java-server (in-memory, oplog on) on a free port; resolves with its URI once it is ready. */
const startServer = async (): Promise<string> => {
  const dir = join(process.cwd(), ".cache", "services", "mongo")
  if (!existsSync(join(dir, "classes", "MongoLauncher.class"))) {
    throw new Error(`${dir} has no MongoLauncher: run \`bash scripts/services.sh up mongo\` first (npm run bench does), or set BENCH_MONGO_URI`)
  }
  const java = process.env["JAVA_HOME"] !== undefined ? join(process.env["JAVA_HOME"], "bin", "java") : "java"
  const port = await freePort()
  const child = spawn(java, [
    "-Xms256m",
    `-Xmx${setting("BENCH_MONGO_HEAP") ?? "2g"}`,
    "-XX:+UseSerialGC",
    "-Djava.awt.headless=true",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=error",
    "-cp",
    `${join(dir, "libs")}/*:${join(dir, "classes")}`,
    "MongoLauncher",
    "--host",
    "127.0.0.1",
    "--port",
    String(port)
  ], { stdio: ["ignore", "pipe", "pipe"] })
  server = child
  // never leave the server behind: on exit, and on the signals that would end the process (they
  // are handled once the runner yields, i.e. between scenarios; the handlers go with the server)
  process.on("exit", stopServer)
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  let errors = ""
  child.stderr!.on("data", (d: Buffer) => (errors = (errors + d.toString()).slice(-2000)))
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      stopServer()
      reject(new Error(`mongo-java-server did not start within 60 s: ${errors}`))
    }, 60_000)
    let out = ""
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const ready = /READY (mongodb:\/\/\S+)/.exec(out)
      if (ready !== null) {
        clearTimeout(timer)
        resolve(ready[1]!)
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`mongo-java-server exited (${code}) before it was ready: ${errors}`))
    })
  })
}

// ---------------------------------------------------------------------------------------------
// prepare / cleanup
// ---------------------------------------------------------------------------------------------

const DB = "bench"

/** Starts the server (unless BENCH_MONGO_URI is given) and fills a fresh collection, timing the fill. */
export const prepare = async (workload: WorkloadOptions): Promise<Record<string, string>> => {
  const given = setting("BENCH_MONGO_URI")
  const uri = given ?? await startServer()
  const collection = `orders_${randomUUID().slice(0, 8)}`
  const client = new MongoClient(uri)
  await client.connect()
  try {
    const orders = client.db(DB).collection<Document>(collection)
    const oplog = client.db("local").collection("oplog.rs")
    const ns = `${DB}.${collection}`
    const started = process.hrtime.bigint()
    let inserted = 0
    for (const chunk of documents({ ...workload, count: workload.docs, chunk: 1000 })) {
      await orders.insertMany(chunk.map((o) => ({ _id: new ObjectId(), ...o })), { ordered: true })
      inserted += chunk.length
      // the private server's oplog keeps a copy of every insert: drop them as we go (nothing reads them)
      if (given === undefined && inserted % 50_000 === 0) await oplog.deleteMany({ ns })
    }
    if (given === undefined) await oplog.deleteMany({ ns })
    const fillMs = Number(process.hrtime.bigint() - started) / 1e6
    const count = await orders.countDocuments()
    if (count !== workload.docs) throw new Error(`filled ${count} documents, expected ${workload.docs}`)
    console.error(`mongo-bootstrap: filled ${ns} with ${count} documents in ${(fillMs / 1000).toFixed(1)} s (${Math.round(count / (fillMs / 1000))}/s) on ${given === undefined ? "a private mongo-java-server" : "BENCH_MONGO_URI"}`)
    return {
      BENCH_MONGO_URI: uri,
      BENCH_MONGO_COLLECTION: collection,
      BENCH_MONGO_DOCS: String(count),
      BENCH_MONGO_FILL_MS: String(Math.round(fillMs)),
      BENCH_MONGO_PRIVATE: given === undefined ? "1" : "0"
    }
  } finally {
    await client.close()
  }
}

/** Drops the collection on a given server; stops the private one. */
export const cleanup = async (env: Record<string, string>): Promise<void> => {
  if (env["BENCH_MONGO_PRIVATE"] === "1") return stopServer()
  const uri = env["BENCH_MONGO_URI"]
  const collection = env["BENCH_MONGO_COLLECTION"]
  if (uri === undefined || collection === undefined) return
  const client = new MongoClient(uri)
  try {
    await client.connect()
    await client.db(DB).collection(collection).drop()
  } finally {
    await client.close()
  }
}

// ---------------------------------------------------------------------------------------------
// the two sides
// ---------------------------------------------------------------------------------------------

const withClient = async <A>(f: (client: MongoClient) => Promise<A>): Promise<A> => {
  const client = new MongoClient(required("BENCH_MONGO_URI"))
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.close()
  }
}

const extra = (workload: WorkloadOptions) => {
  const docs = Number(required("BENCH_MONGO_DOCS"))
  const fillMs = Number(required("BENCH_MONGO_FILL_MS"))
  return { batchSize: batchSizeOf(workload), fillSeconds: Math.round(fillMs / 100) / 10, fillDocsPerSecond: Math.round(docs / (fillMs / 1000)) }
}

const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")

/** The snapshot source folded into the in-memory store. */
export const library = (workload: WorkloadOptions): Promise<Sample> =>
  withClient((client) => {
    const counter: Counter = { calls: 0, keysWritten: 0 }
    const batchSize = batchSizeOf(workload)
    return time(async () => {
      const source = MongoSnapshot.make({
        db: DB,
        collection: required("BENCH_MONGO_COLLECTION"),
        handoff: Handoff.atVersion(Version.make(Date.now(), 1)),
        batchSize,
        progressInterval: "1 hour"
      })
      const summary = await Effect.runPromise(
        Fold.run(source, [benchPipeline], { batchSize }).pipe(
          Effect.provide(counting(Memory.layer(), counter)),
          Effect.provide(Mongo.layerClient(client)),
          Effect.provide(quiet)
        )
      )
      const expected = Number(required("BENCH_MONGO_DOCS"))
      const folded = Fold.of(summary, benchPipeline)
      if (folded.upserts !== expected) throw new Error(`folded ${folded.upserts} documents, expected ${expected} (${folded.rejected} rejected)`)
      return { records: summary.records, roundTrips: counter.calls, writes: counter.keysWritten, extra: extra(workload) }
    })
  })

/** The raw driver cursor over the same collection, no processing. */
export const ceiling = (workload: WorkloadOptions): Promise<Sample> =>
  withClient((client) =>
    time(async () => {
      const cursor = client.db(DB).collection(required("BENCH_MONGO_COLLECTION")).find({}, { sort: { _id: 1 }, batchSize: batchSizeOf(workload) })
      let records = 0
      while (await cursor.hasNext()) records += cursor.readBufferedDocuments().length
      await cursor.close()
      return { records, extra: extra(workload) }
    })
  )

/**
 * The whole-process program of `events-1m-process` (bench/scenarios/eventsProcess.ts), on its own
 * so that a run's time and memory are the program's, not the benchmark runner's:
 * `node dist/bench/process/events.js library|plain <events.jsonl> <totals.json> [json|positional|positional-literal] [batch]`.
 *
 * - `library`: reads the file through the JSON-Lines source and folds it with an events pipeline
 *   (sum per customer) into the in-memory stores, the package as built (dist/src);
 * - `plain`: reads the file line by line (node:readline), parses each line and sums per customer.
 *
 * Both decode a line with `JSON.parse` (`json`, the default) or, with `positional`, read its three
 * fields by the fixed layout the scenario writes (`{"_id":"...","customer_id":"...","amount":N}`),
 * failing on any other (how `events-1m-process-original-positional` decodes on both sides, the Go
 * original's included). `positional` builds each order with a class, as the Go side builds a
 * struct; `positional-literal` reads the same way and builds an object literal (see the JSON-Lines
 * source's doc: V8 then allocates the orders in the old generation, since a batch keeps its
 * records alive while it is written). `batch` (default 2000, the fold's default) is the library
 * side's batch size and the JSON-Lines source's chunk size; the scenarios use the default. Both
 * check their totals against the file's (written by the scenario's prepare step), then print one
 * line of JSON: records, the process's uptime in seconds and its peak RSS in MiB.
 */
import { mismatch } from "../lib/fileTotals.ts"
import { peakRssMiB } from "../lib/measure.ts"

const [side, path, totalsPath, decoding = "json", batchText = "2000"] = process.argv.slice(2)
const batch = Number(batchText)
if (
  (side !== "library" && side !== "plain") || path === undefined || totalsPath === undefined ||
  (decoding !== "json" && decoding !== "positional" && decoding !== "positional-literal") || !Number.isInteger(batch) ||
  batch < 1
) {
  process.stderr.write("usage: node dist/bench/process/events.js library|plain <events.jsonl> <totals.json> [json|positional|positional-literal] [batch]\n")
  process.exit(2)
}

interface Order {
  readonly _id: string
  readonly customer_id: string
  readonly amount: number
}

/** The string that starts at `from` in `line` after `prefix`, and the index after its closing quote. */
const field = (line: string, from: number, prefix: string): [string, number] => {
  if (!line.startsWith(prefix, from)) throw new Error(`not a line of the scenario's layout: ${line}`)
  const start = from + prefix.length
  const end = line.indexOf("\"", start)
  if (end < 0) throw new Error(`not a line of the scenario's layout: ${line}`)
  return [line.slice(start, end), end + 1]
}

/** A decoded order built by a class (`positional`), as a Go program builds a struct. */
class OrderDoc implements Order {
  readonly _id: string
  readonly customer_id: string
  readonly amount: number
  constructor(_id: string, customer_id: string, amount: number) {
    this._id = _id
    this.customer_id = customer_id
    this.amount = amount
  }
}

/**
 * Reads `{"_id":"...","customer_id":"...","amount":N}` by its layout (no escapes, a whole amount)
 * and builds the order with `build`.
 */
const byLayout = (build: (_id: string, customer_id: string, amount: number) => Order) => (line: string): Order => {
  const [_id, afterId] = field(line, 0, "{\"_id\":\"")
  const [customer_id, afterCustomer] = field(line, afterId, ",\"customer_id\":\"")
  if (!line.startsWith(",\"amount\":", afterCustomer)) throw new Error(`not a line of the scenario's layout: ${line}`)
  let i = afterCustomer + 10
  let amount = 0
  for (let c = line.charCodeAt(i); c >= 48 && c <= 57; c = line.charCodeAt(++i)) amount = amount * 10 + (c - 48)
  if (i === afterCustomer + 10 || i !== line.length - 1 || line.charCodeAt(i) !== 125) {
    throw new Error(`not a line of the scenario's layout: ${line}`)
  }
  return build(_id, customer_id, amount)
}

const parse: (line: string) => Order = decoding === "positional"
  ? byLayout((_id, customer_id, amount) => new OrderDoc(_id, customer_id, amount))
  : decoding === "positional-literal"
  ? byLayout((_id, customer_id, amount) => ({ _id, customer_id, amount }))
  : (line) => JSON.parse(line) as Order

const library = async (file: string): Promise<{ records: number; totals: ReadonlyMap<string, unknown> }> => {
  const [Effect, Schema, I, Jsonl, Fold, Memory, Aggregates, Monoid, Pipeline] = await Promise.all([
    import("effect/Effect"),
    import("effect/Schema"),
    import("../../src/Input.js"),
    import("../../src/Jsonl/Jsonl.js"),
    import("../../src/Runtime/Fold.js"),
    import("../../src/Store/Memory.js"),
    import("../../src/Store/Aggregates.js"),
    import("../../src/Monoid.js"),
    import("../../src/Pipeline.js")
  ])
  const totals = Pipeline.make("bench_event_totals", {
    schema: Schema.Struct({ customer_id: Schema.String, amount: Schema.Int }),
    key: (o) => o.customer_id,
    value: (o) => o.amount,
    monoid: Monoid.sum
  }).pipe(Pipeline.events)
  const source = Jsonl.make({
    name: "bench-events-file",
    kind: "events",
    path: file,
    partition: "events",
    chunkSize: batch,
    decode: (text, position) => {
      const doc = parse(text)
      return I.event(doc._id, doc, position)
    }
  })
  return Effect.runPromise(
    Effect.gen(function*() {
      const summary = yield* Fold.run(source, [totals], { batchSize: batch })
      const aggregates = yield* Aggregates.Aggregates
      return { records: summary.records, totals: yield* aggregates.all(totals) }
    }).pipe(Effect.provide(Memory.layer()))
  )
}

const plain = async (file: string): Promise<{ records: number; totals: ReadonlyMap<string, unknown> }> => {
  const [{ createReadStream }, { createInterface }] = await Promise.all([import("node:fs"), import("node:readline")])
  const totals = new Map<string, number>()
  let records = 0
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line.length === 0) continue
    const doc = parse(line)
    totals.set(doc.customer_id, (totals.get(doc.customer_id) ?? 0) + doc.amount)
    records++
  }
  return { records, totals }
}

const { records, totals } = await (side === "library" ? library(path) : plain(path))
const seconds = process.uptime()
const wrong = mismatch(totalsPath, records, totals)
if (wrong !== undefined) {
  process.stderr.write(`events-1m-process ${side}: ${wrong}\n`)
  process.exit(1)
}
process.stdout.write(JSON.stringify({ records, seconds, peakRssMiB: peakRssMiB() }) + "\n")

// Debezium MongoDB probe: registers a connector on the Connect worker, waits until its change stream
// is open, runs a fixed sequence of writes on a scratch collection, reads the connector's topic from
// the start and writes every record as {"key":...,"value":...} JSON Lines (null for a tombstone).
//
//   node scripts/services/connect/probe.mjs <run-name> <out.jsonl> [key=value ...]
//
// key=value pairs are extra connector settings (@DB@ and @COLL@ in a value become the scratch database
// and collection names; e.g. capture.mode=change_streams snapshot.mode=no_data
// key.converter.schemas.enable=false). Environment: PROBE_MONGO (mongodb://127.0.0.1:27117),
// PROBE_KAFKA (127.0.0.1:19092), PROBE_CONNECT (http://127.0.0.1:18083), PROBE_LOG (worker log),
// PROBE_SEED=1 (insert two documents before registering, for snapshot runs), PROBE_KEEP=1 (leave the
// connector and the scratch collection), PROBE_NO_WRITES=1, PROBE_HEADERS=<file> (each record's Kafka
// headers, one JSON object a line). The topic is left for the caller to delete.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { Decimal128, Long, MongoClient, ObjectId } from "mongodb";
import { Kafka, logLevel } from "kafkajs";

const [run, out, ...extra] = process.argv.slice(2);
if (!run || !out) { console.error("usage: probe.mjs <run-name> <out.jsonl> [key=value ...]"); process.exit(2); }
const mongoUri = process.env.PROBE_MONGO ?? "mongodb://127.0.0.1:27117";
const brokers = (process.env.PROBE_KAFKA ?? "127.0.0.1:19092").split(",");
const rest = process.env.PROBE_CONNECT ?? "http://127.0.0.1:18083";
const workerLog = process.env.PROBE_LOG ?? new URL("../../../.services/connect/logs/connect.log", import.meta.url).pathname;
const db = "dbzprobe";
const coll = `orders_${run.replace(/[^a-z0-9]/gi, "_")}`;
const prefix = `dbzprobe-${run}`;
const topic = `${prefix}.${db}.${coll}`;
const name = `dbzprobe-${run}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[probe ${run}]`, ...a);

const config = {
  "connector.class": "io.debezium.connector.mongodb.MongoDbConnector",
  "tasks.max": "1",
  "mongodb.connection.string": mongoUri,
  "topic.prefix": prefix,
  "capture.scope": "collection",
  "capture.target": `${db}.${coll}`,
  "collection.include.list": `${db}.${coll}`,
  "capture.mode": "change_streams_update_full",
  "snapshot.mode": "no_data",
  "mongodb.poll.interval.ms": "500",
};
for (const kv of extra) { const i = kv.indexOf("="); config[kv.slice(0, i)] = kv.slice(i + 1).replaceAll("@DB@", db).replaceAll("@COLL@", coll); }

const client = new MongoClient(mongoUri);
await client.connect();
const c = client.db(db).collection(coll);
await c.drop().catch(() => {});

if (process.env.PROBE_SEED === "1") {
  await c.insertMany([
    { _id: "seed-1", sku: "pear", qty: 4, price: Decimal128.fromString("1.25") },
    { _id: new ObjectId("65a000000000000000000001"), sku: "fig", qty: Long.fromString("7") },
  ]);
  log("seeded 2 documents");
}

const logSize = existsSync(workerLog) ? readFileSync(workerLog).length : 0;
const put = await fetch(`${rest}/connectors/${name}/config`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(config) });
log("register", put.status, (await put.text()).slice(0, 200));

// wait for "Reading change stream" of this connector's task in the worker log, or a FAILED task
const t0 = Date.now();
let state = "";
for (;;) {
  const text = readFileSync(workerLog, "utf8").slice(logSize);
  const st = await (await fetch(`${rest}/connectors/${name}/status`)).json().catch(() => ({}));
  state = st.tasks?.[0]?.state ?? "";
  if (state === "FAILED") { log("task FAILED:\n" + st.tasks[0].trace.split("\n").filter((l) => !l.startsWith("\tat ")).join("\n")); break; }
  if (text.includes(`[${name}|task-0] Reading change stream`)) { log(`change stream being opened after ${Date.now() - t0} ms`); break; }
  if (Date.now() - t0 > 60000) { log("no 'Reading change stream' within 60 s; status", JSON.stringify(st).slice(0, 500)); break; }
  await sleep(200);
}
await sleep(3000); // the cursor's first aggregate goes out right after the log line

let expected = 0;
if (state !== "FAILED" && process.env.PROBE_NO_WRITES !== "1") {
  // 1 insert with several BSON types
  await c.insertOne({ _id: "order-1", sku: "apple", qty: 3, price: Decimal128.fromString("2.50"), big: Long.fromString("9007199254740993"),
    ratio: 0.5, tags: ["red", "fresh"], ship: { city: "Lyon", zip: "69001" }, at: new Date("2026-12-01T10:00:00Z"), note: "first" });
  await sleep(300);
  // 2 update with an operator other than $set
  await c.updateOne({ _id: "order-1" }, { $inc: { qty: 2 } });
  await sleep(300);
  // 3 update with $set and $unset
  await c.updateOne({ _id: "order-1" }, { $set: { status: "paid", "ship.city": "Paris" }, $unset: { note: "" } });
  await sleep(300);
  // 4 insert + full replacement
  await c.insertOne({ _id: "order-2", sku: "kiwi", qty: 1 });
  await sleep(300);
  await c.replaceOne({ _id: "order-2" }, { sku: "kiwi", qty: 10, replaced: true });
  await sleep(300);
  // 5 delete (then a tombstone from Debezium)
  await c.deleteOne({ _id: "order-1" });
  await sleep(300);
  // 6 ObjectId and numeric ids
  const oid = new ObjectId("65b000000000000000000002");
  await c.insertOne({ _id: oid, sku: "plum", qty: 5 });
  await sleep(300);
  await c.updateOne({ _id: oid }, { $set: { qty: 6 } });
  await sleep(300);
  await c.insertOne({ _id: 42, sku: "lime", qty: 1 });
  await sleep(300);
  await c.deleteOne({ _id: 42 });
  expected = 10;
  log("writes done");
}

// read the topic from the beginning until it has been idle for a while
const kafka = new Kafka({ clientId: "dbzprobe", brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const records = [];
const deadline = Date.now() + (state === "FAILED" ? 5000 : 30000);
while (Date.now() < deadline) {
  const topics = await admin.listTopics();
  if (topics.includes(topic)) break;
  await sleep(500);
}
const topics = await admin.listTopics();
if (topics.includes(topic)) {
  const groupId = `dbzprobe-reader-${run}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let last = Date.now();
  await consumer.run({ eachMessage: async ({ message }) => {
    last = Date.now();
    const text = (b) => (b == null ? null : b.toString("utf8"));
    records.push({ key: text(message.key), value: text(message.value),
      headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, text(v)])) });
  } });
  while (Date.now() - last < 6000 && Date.now() < deadline + 30000) await sleep(250);
  await consumer.disconnect();
  try { await admin.deleteGroups([groupId]); } catch {}
} else {
  log(`topic ${topic} does not exist`);
}
await admin.disconnect();

const parse = (s) => (s == null ? null : JSON.parse(s));
writeFileSync(out, records.map((r) => JSON.stringify({ key: parse(r.key), value: parse(r.value) })).join("\n") + (records.length ? "\n" : ""));
log(`${records.length} records from ${topic} -> ${out} (writes made: ${expected})`);
if (process.env.PROBE_HEADERS) writeFileSync(process.env.PROBE_HEADERS, records.map((r) => JSON.stringify(r.headers)).join("\n") + "\n");

const st = await (await fetch(`${rest}/connectors/${name}/status`)).json().catch(() => ({}));
log("status at end:", st.connector?.state, st.tasks?.map((t) => t.state).join(","));
if (process.env.PROBE_KEEP !== "1") {
  await fetch(`${rest}/connectors/${name}`, { method: "DELETE" });
  log("connector deleted");
}
if (process.env.PROBE_KEEP !== "1") await c.drop().catch(() => {});
await client.close();

/**
 * Pins the Debezium fixture builder (`test/support/debezium/`) against JSON written by hand from
 * Debezium's and the MongoDB Java driver's source (see test/support/debezium/NOTES.md for the
 * rules and the files they come from). No server needed.
 */
import { Binary, BSONRegExp, Decimal128, Double, EJSON, Int32, Long, ObjectId, Timestamp, UUID } from "bson"
import { describe, expect, it } from "vitest"
import * as D from "../support/debezium/index.ts"

const OID = new ObjectId("65a1b2c3d4e5f6a7b8c9d0e1")
const UUID4 = new UUID("4f1a6d7e-2b3c-4d5e-8f90-a1b2c3d4e5f6") // base64 Txptfis8TV6PkKGyw9Tl9g==
const orders = { db: "shop", collection: "orders" } as const
const plain = { schemasEnable: false } as const

const keyOf = (version: D.DebeziumVersion, id: unknown): string | null =>
  D.record({ version, ...orders, ...plain, op: "d", id, clusterTime: { t: 1704067300, i: 1 } }).key

describe("Java JsonWriter formatting", () => {
  it("writes doubles as Double.toString", () => {
    expect(D.javaDoubleToString(1)).toBe("1.0")
    expect(D.javaDoubleToString(1.5)).toBe("1.5")
    expect(D.javaDoubleToString(-0)).toBe("-0.0")
    expect(D.javaDoubleToString(0.001)).toBe("0.001")
    expect(D.javaDoubleToString(0.0001)).toBe("1.0E-4")
    expect(D.javaDoubleToString(9999999)).toBe("9999999.0")
    expect(D.javaDoubleToString(1e7)).toBe("1.0E7")
    expect(D.javaDoubleToString(123456789)).toBe("1.23456789E8")
    expect(D.javaDoubleToString(1e21, true)).toBe("1.0E+21")
    expect(D.javaDoubleToString(5e-324)).toBe("4.9E-324")
    expect(D.javaDoubleToString(0.1 + 0.2)).toBe("0.30000000000000004")
    expect(D.javaDoubleToString(NaN)).toBe("NaN")
  })

  it("writes relaxed dates as java.time ISO instants", () => {
    expect(D.javaIsoInstant(1704067200000)).toBe("2024-01-01T00:00:00Z")
    expect(D.javaIsoInstant(1704067300500)).toBe("2024-01-01T00:01:40.5Z")
    expect(D.javaIsoInstant(1704067300123)).toBe("2024-01-01T00:01:40.123Z")
  })

  it("escapes what Java's writer escapes", () => {
    // combining acute (Mn), U+2028 (Zl), soft hyphen (Cf), an emoji (surrogates), DEL (Cc)
    expect(D.javaQuote("e\u0301\u2028\u00ad\u{1F600}/\u007f\t\"")).toBe(String.raw`"e\u0301\u2028\u00ad\ud83d\ude00/\u007f\t\""`)
    expect(D.jacksonQuote("a\u0001\n\"\\é")).toBe(String.raw`"a\u0001\n\"\\é"`)
  })

  it("lays out documents as Debezium's settings and BsonDocument.toJson() do", () => {
    const f = D.features("3.x")
    const doc = { a: 1, b: [1, 2], c: { d: "x" } }
    expect(D.writeDocument(doc, D.documentJsonOptions("legacy", f))).toBe(`{"a": 1,"b": [1,2],"c": {"d": "x"}}`)
    expect(D.writeDocument(doc, D.updatedFieldsJsonOptions("legacy", f))).toBe(`{"a": 1, "b": [1, 2], "c": {"d": "x"}}`)
  })

  it("writes v2 texts that the bson package reads back to the same values", () => {
    const f = D.features("3.7")
    const doc = {
      _id: OID,
      i: new Int32(7),
      l: Long.fromString("9007199254740993"),
      d: new Double(2.5),
      t: new Date(1704067200000),
      b: new Binary(Buffer.from([1, 2, 3]), 0),
      u: UUID4,
      r: new BSONRegExp("^a", "i"),
      m: new Decimal128("1.50"),
      ts: new Timestamp({ t: 5, i: 7 })
    }
    const canonical = D.writeDocument(doc, D.documentJsonOptions("extended", f))
    expect(EJSON.parse(canonical, { relaxed: false })).toEqual(EJSON.parse(EJSON.stringify(doc, { relaxed: false }), { relaxed: false }))
  })
})

describe("record keys (JsonSerialization.getDocumentId: relaxed, compact)", () => {
  it("an ObjectId, with and without the key schema", () => {
    expect(keyOf("3.x", OID)).toBe(String.raw`{"id":"{\"$oid\": \"65a1b2c3d4e5f6a7b8c9d0e1\"}"}`)
    expect(D.record({ version: "3.x", ...orders, op: "d", id: OID, clusterTime: { t: 1, i: 1 } }).key).toBe(
      String.raw`{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],"optional":false,"name":"dbserver1.shop.orders.Key"},"payload":{"id":"{\"$oid\": \"65a1b2c3d4e5f6a7b8c9d0e1\"}"}}`
    )
  })

  it("numbers: Int32 and Int64 alike, Int64 past 2^53 with all its digits, doubles as Java writes them", () => {
    expect(keyOf("3.x", 42)).toBe(`{"id":"42"}`)
    expect(keyOf("3.x", 42n)).toBe(`{"id":"42"}`)
    expect(keyOf("3.x", Long.fromString("9007199254740993"))).toBe(`{"id":"9007199254740993"}`)
    expect(keyOf("3.x", -9223372036854775808n)).toBe(`{"id":"-9223372036854775808"}`)
    expect(keyOf("3.x", new Double(42))).toBe(`{"id":"42.0"}`)
    expect(keyOf("3.x", 1.5)).toBe(`{"id":"1.5"}`)
    expect(keyOf("2.x", 1e21)).toBe(`{"id":"1.0E21"}`)
    expect(keyOf("3.7", 1e21)).toBe(`{"id":"1.0E+21"}`)
    expect(keyOf("3.x", NaN)).toBe(String.raw`{"id":"{\"$numberDouble\": \"NaN\"}"}`)
  })

  it("strings, dates, binaries and compound ids", () => {
    expect(keyOf("2.x", "o1")).toBe(String.raw`{"id":"\"o1\""}`)
    expect(keyOf("3.x", new Date(1704067200000))).toBe(String.raw`{"id":"{\"$date\": \"2024-01-01T00:00:00Z\"}"}`)
    expect(keyOf("3.x", new Date(-1000))).toBe(String.raw`{"id":"{\"$date\": {\"$numberLong\": \"-1000\"}}"}`)
    expect(keyOf("3.x", new Binary(Buffer.from([1, 2, 3]), 0))).toBe(
      String.raw`{"id":"{\"$binary\": {\"base64\": \"AQID\",\"subType\": \"00\"}}"}`
    )
    expect(keyOf("3.x", UUID4)).toBe(String.raw`{"id":"{\"$binary\": {\"base64\": \"Txptfis8TV6PkKGyw9Tl9g==\",\"subType\": \"04\"}}"}`)
    expect(keyOf("3.x", { a: 1, b: "x" })).toBe(String.raw`{"id":"{\"a\": 1,\"b\": \"x\"}"}`)
  })
})

describe("after/before serialization", () => {
  it("legacy (the default, and the only mode before 3.7): v1 strict", () => {
    const r = D.record({
      version: "2.x",
      ...orders,
      ...plain,
      op: "c",
      after: { _id: "o1", u: UUID4, n: 5, l: 6n, d: new Double(2), t: new Date(1704067200000), r: new BSONRegExp("a+", "i"), x: NaN },
      clusterTime: { t: 1704067200, i: 3 }
    })
    const after = (JSON.parse(r.value!) as { after: string }).after
    expect(after).toBe(
      `{"_id": "o1","u": {"$binary": "Txptfis8TV6PkKGyw9Tl9g==","$type": "04"},"n": 5,"l": {"$numberLong": "6"},"d": 2.0,` +
        `"t": {"$date": 1704067200000},"r": {"$regex": "a+","$options": "i"},"x": NaN}`
    )
  })

  it("3.7 extended and relaxed", () => {
    const doc = { _id: "o1", n: 1, l: 2n, d: 1.5, t: new Date(1704067200000) }
    const afterIn = (serialization: D.SerializationMode) =>
      (JSON.parse(D.record({ version: "3.7", serialization, ...orders, ...plain, op: "c", after: doc, clusterTime: { t: 1, i: 1 } }).value!) as {
        after: string
      }).after
    expect(afterIn("extended")).toBe(
      `{"_id": "o1","n": {"$numberInt": "1"},"l": {"$numberLong": "2"},"d": {"$numberDouble": "1.5"},"t": {"$date": {"$numberLong": "1704067200000"}}}`
    )
    expect(afterIn("relaxed")).toBe(`{"_id": "o1","n": 1,"l": 2,"d": 1.5,"t": {"$date": "2024-01-01T00:00:00Z"}}`)
    expect(() => D.record({ version: "3.x", serialization: "relaxed", ...orders, op: "c", after: doc, clusterTime: { t: 1, i: 1 } })).toThrow(/3\.7/)
  })
})

describe("source and envelope", () => {
  it("a 2.x initial snapshot record: ts_ms 0, ord -1", () => {
    const r = D.record({ version: "2.x", ...orders, ...plain, op: "r", after: { _id: OID, amount: 1200 }, processedAtMs: 1704067200999 })
    expect(r.value).toBe(
      String.raw`{"before":null,"after":"{\"_id\": {\"$oid\": \"65a1b2c3d4e5f6a7b8c9d0e1\"},\"amount\": 1200}","updateDescription":null,` +
        `"source":{"version":"2.7.4.Final","connector":"mongodb","name":"dbserver1","ts_ms":0,"snapshot":"true","db":"shop","sequence":null,` +
        `"ts_us":0,"ts_ns":0,"collection":"orders","ord":-1,"lsid":null,"txnNumber":null,"wallTime":null},"op":"r","ts_ms":1704067200999,"transaction":null}`
    )
    expect(r.headers).toBeUndefined()
  })

  it("a 3.x snapshot record: ts_ms is the connector's clock, ord -1; the last one says \"last\"", () => {
    const r = D.record({
      version: "3.x",
      ...orders,
      ...plain,
      op: "r",
      snapshot: "last",
      after: { _id: "o1" },
      processedAtMs: 1704067200999,
      snapshotNowNs: 1704067200998123456n
    })
    expect(r.value).toBe(
      String.raw`{"before":null,"after":"{\"_id\": \"o1\"}","updateDescription":null,` +
        `"source":{"version":"3.6.1.Final","connector":"mongodb","name":"dbserver1","ts_ms":1704067200998,"snapshot":"last","db":"shop","sequence":null,` +
        `"ts_us":1704067200998123,"ts_ns":1704067200998123456,"collection":"orders","ord":-1,"lsid":null,"txnNumber":null,"wallTime":null},"op":"r","ts_ms":1704067200999,"transaction":null}`
    )
  })

  it("streaming source.ts_ms: cluster seconds in 2.x, wallTime from 3.4", () => {
    const event = { ...orders, ...plain, op: "c", after: { _id: "o1" }, clusterTime: { t: 1704067300, i: 7 }, wallTimeMs: 1704067300456 } as const
    const source = (version: D.DebeziumVersion) => JSON.stringify((JSON.parse(D.record({ ...event, version }).value!) as { source: unknown }).source)
    expect(source("2.x")).toBe(
      `{"version":"2.7.4.Final","connector":"mongodb","name":"dbserver1","ts_ms":1704067300000,"snapshot":"false","db":"shop","sequence":null,` +
        `"ts_us":1704067300000000,"ts_ns":1704067300000000000,"collection":"orders","ord":7,"lsid":null,"txnNumber":null,"wallTime":1704067300456}`
    )
    expect(source("3.3")).toContain(`"ts_ms":1704067300000,`)
    expect(source("3.4")).toContain(`"ts_ms":1704067300456,"snapshot":"false","db":"shop","sequence":null,"ts_us":1704067300456000,"ts_ns":1704067300456000000,`)
  })

  it("the source schema: unversioned with four snapshot values up to 3.0.4, versioned with all of SnapshotRecord from 3.1", () => {
    const schemaOf = (version: D.DebeziumVersion) => D.record({ version, ...orders, op: "c", after: { _id: 1 }, clusterTime: { t: 1, i: 1 } }).value!
    expect(schemaOf("2.x")).toContain(
      `{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,last,false,incremental"},"default":"false","field":"snapshot"}`
    )
    expect(schemaOf("2.x")).toContain(`{"type":"int64","optional":true,"field":"wallTime"}],"optional":false,"name":"io.debezium.connector.mongo.Source","field":"source"}`)
    expect(schemaOf("3.x")).toContain(
      `"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"}`
    )
    expect(schemaOf("3.x")).toContain(`"optional":false,"name":"io.debezium.connector.mongo.Source","version":1,"field":"source"}`)
    expect(schemaOf("3.x")).toMatch(/^\{"schema":\{"type":"struct","fields":\[\{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"before"\},/)
    expect(schemaOf("3.x")).toContain(
      `{"type":"string","optional":true,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},` +
        `{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}],` +
        `"optional":false,"name":"dbserver1.shop.orders.Envelope"},"payload":{`
    )
  })
})

describe("updates per capture mode", () => {
  const update = {
    version: "3.x",
    ...orders,
    ...plain,
    op: "u",
    before: { _id: OID, amount: 1200, tags: ["a"] },
    after: { _id: OID, amount: 1500, at: new Date(1704067200000) },
    update: { updatedFields: { amount: 1500, at: new Date(1704067200000) }, removedFields: ["tags"], truncatedArrays: [{ field: "items", newSize: 2 }] },
    clusterTime: { t: 1704067300, i: 2 },
    processedAtMs: 1704067301000
  } as const
  const parts = (capture: D.CaptureMode, extra: Partial<D.ChangeEvent> = {}) => {
    const v = JSON.parse(D.record({ ...update, capture, ...extra }).value!) as { before: unknown; after: unknown; updateDescription: unknown }
    return { before: v.before, after: v.after, updateDescription: v.updateDescription }
  }
  const description = {
    removedFields: ["tags"],
    updatedFields: `{"amount": 1500, "at": {"$date": "2024-01-01T00:00:00Z"}}`,
    truncatedArrays: [{ field: "items", size: 2 }]
  }
  const before = String.raw`{"_id": {"$oid": "65a1b2c3d4e5f6a7b8c9d0e1"},"amount": 1200,"tags": ["a"]}`
  const after = String.raw`{"_id": {"$oid": "65a1b2c3d4e5f6a7b8c9d0e1"},"amount": 1500,"at": {"$date": 1704067200000}}`

  it("change_streams: no after, no before", () => {
    expect(parts("change_streams")).toEqual({ before: null, after: null, updateDescription: description })
  })
  it("change_streams_update_full: the looked-up document (null when deleted since)", () => {
    expect(parts("change_streams_update_full")).toEqual({ before: null, after, updateDescription: description })
    expect(parts("change_streams_update_full", { lookup: null })).toEqual({ before: null, after: null, updateDescription: description })
  })
  it("change_streams_with_pre_image: before, no after", () => {
    expect(parts("change_streams_with_pre_image")).toEqual({ before, after: null, updateDescription: description })
    expect(parts("change_streams_with_pre_image", { preImages: false })).toEqual({ before: null, after: null, updateDescription: description })
  })
  it("change_streams_update_full_with_pre_image: both", () => {
    expect(parts("change_streams_update_full_with_pre_image")).toEqual({ before, after, updateDescription: description })
  })
  it("the whole with_pre_image update value, exactly", () => {
    expect(D.record({ ...update, capture: "change_streams_with_pre_image" }).value).toBe(
      String.raw`{"before":"{\"_id\": {\"$oid\": \"65a1b2c3d4e5f6a7b8c9d0e1\"},\"amount\": 1200,\"tags\": [\"a\"]}","after":null,` +
        String.raw`"updateDescription":{"removedFields":["tags"],"updatedFields":"{\"amount\": 1500, \"at\": {\"$date\": \"2024-01-01T00:00:00Z\"}}","truncatedArrays":[{"field":"items","size":2}]},` +
        `"source":{"version":"3.6.1.Final","connector":"mongodb","name":"dbserver1","ts_ms":1704067300000,"snapshot":"false","db":"shop","sequence":null,` +
        `"ts_us":1704067300000000,"ts_ns":1704067300000000000,"collection":"orders","ord":2,"lsid":null,"txnNumber":null,"wallTime":null},"op":"u","ts_ms":1704067301000,"transaction":null}`
    )
  })
  it("a replace is op u with the full document and no updateDescription", () => {
    const v = JSON.parse(D.record({ ...update, op: "replace", capture: "change_streams" }).value!) as Record<string, unknown>
    expect([v.op, v.after, v.updateDescription]).toEqual(["u", after, null])
  })
})

describe("deletes, tombstones, headers", () => {
  it("a 3.x delete and its tombstone", () => {
    const rs = D.records({ version: "3.x", ...orders, ...plain, op: "d", id: OID, clusterTime: { t: 1704067300, i: 1 }, processedAtMs: 1704067300999 })
    const headers = {
      "__debezium.context.connectorLogicalName": "dbserver1",
      "__debezium.context.taskId": "0",
      "__debezium.context.connectorName": "mongodb",
      "__debezium.context.runId": D.DEFAULT_RUN_ID
    }
    const key = String.raw`{"id":"{\"$oid\": \"65a1b2c3d4e5f6a7b8c9d0e1\"}"}`
    expect(rs).toEqual([
      {
        topic: "dbserver1.shop.orders",
        key,
        value: `{"before":null,"after":null,"updateDescription":null,"source":{"version":"3.6.1.Final","connector":"mongodb","name":"dbserver1",` +
          `"ts_ms":1704067300000,"snapshot":"false","db":"shop","sequence":null,"ts_us":1704067300000000,"ts_ns":1704067300000000000,"collection":"orders",` +
          `"ord":1,"lsid":null,"txnNumber":null,"wallTime":null},"op":"d","ts_ms":1704067300999,"transaction":null}`,
        headers
      },
      { topic: "dbserver1.shop.orders", key, value: null, headers }
    ])
    expect(D.records({ version: "3.x", ...orders, op: "d", id: OID, clusterTime: { t: 1, i: 1 }, tombstonesOnDelete: false })).toHaveLength(1)
  })

  it("3.2 and 3.3 have no runId header; 3.1 no headers", () => {
    const ev = { ...orders, op: "c", after: { _id: 1 }, clusterTime: { t: 1, i: 1 } } as const
    expect(Object.keys(D.record({ ...ev, version: "3.3" }).headers ?? {})).toEqual([
      "__debezium.context.connectorLogicalName",
      "__debezium.context.taskId",
      "__debezium.context.connectorName"
    ])
    expect(D.record({ ...ev, version: "3.1" }).headers).toBeUndefined()
  })

  it("RegexRouter moves the topic, not the schema names", () => {
    const r = D.routeTopic(D.record({ version: "3.x", ...orders, op: "c", after: { _id: 1 }, clusterTime: { t: 1, i: 1 } }), "dbserver1\\.shop\\.(.*)", "shop.all")
    expect(r.topic).toBe("shop.all")
    expect(r.key).toContain(`"name":"dbserver1.shop.orders.Key"`)
  })
})

describe("transactions and heartbeats", () => {
  const lsid = String.raw`{\"id\": {\"$binary\": \"Txptfis8TV6PkKGyw9Tl9g==\",\"$type\": \"04\"},\"uid\": {\"$binary\": \"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\",\"$type\": \"00\"}}`

  it("source.lsid/txnNumber always; the transaction block with provide.transaction.metadata", () => {
    const v = D.record({
      version: "3.x",
      ...orders,
      ...plain,
      op: "c",
      after: { _id: 1 },
      clusterTime: { t: 1704067300, i: 4 },
      txn: { txnNumber: 7, totalOrder: 2, dataCollectionOrder: 1 },
      provideTransactionMetadata: true
    }).value!
    expect(v).toContain(`"ord":4,"lsid":"${lsid}","txnNumber":7,"wallTime":null}`)
    expect(v).toContain(`"transaction":{"id":"${lsid}:7","total_order":2,"data_collection_order":1}}`)
  })

  it("BEGIN and END on <prefix>.transaction", () => {
    expect(D.transactionBegin({ version: "3.x", ...plain, txn: { txnNumber: 7 }, tsMs: 1704067300000 })).toEqual({
      topic: "dbserver1.transaction",
      key: `{"id":"${lsid}:7"}`,
      value: `{"status":"BEGIN","id":"${lsid}:7","event_count":null,"data_collections":null,"ts_ms":1704067300000}`
    })
    expect(
      D.transactionEnd({ version: "3.x", ...plain, txn: { txnNumber: 7 }, tsMs: 1704067301000, eventCount: 2, dataCollections: [{ dataCollection: "shop.orders", eventCount: 2 }] }).value
    ).toBe(`{"status":"END","id":"${lsid}:7","event_count":2,"data_collections":[{"data_collection":"shop.orders","event_count":2}],"ts_ms":1704067301000}`)
  })

  it("a heartbeat", () => {
    expect(D.heartbeat({ topicPrefix: "dbserver1", tsMs: 1704067200000 })).toEqual({
      topic: "__debezium-heartbeat.dbserver1",
      partition: 0,
      key: `{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"serverName"}],"optional":false,"name":"io.debezium.connector.common.ServerNameKey","version":1},"payload":{"serverName":"dbserver1"}}`,
      value: `{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat","version":1},"payload":{"ts_ms":1704067200000}}`
    })
  })
})

describe("ExtractNewDocumentState", () => {
  const smt = { deleteHandling: "rewrite", addFields: "op,source.ts_ms,source.ord" } as const

  it("an insert, rewritten: typed fields, __deleted, __op/__source_ts_ms/__source_ord", () => {
    const rs = D.extractNewDocumentState(
      { version: "3.x", ...orders, ...plain, extendedHeaders: false, op: "c", after: { _id: OID, amount: 1200, l: 7n, d: new Double(2), at: new Date(1704067200000) }, clusterTime: { t: 1704067300, i: 3 } },
      smt
    )
    expect(rs).toEqual([
      {
        topic: "dbserver1.shop.orders",
        key: `{"id":"65a1b2c3d4e5f6a7b8c9d0e1"}`,
        value: `{"_id":"65a1b2c3d4e5f6a7b8c9d0e1","amount":1200,"l":7,"d":2.0,"at":1704067200000,"__deleted":false,"__op":"c","__source_ts_ms":1704067300000,"__source_ord":3}`
      }
    ])
  })

  it("the value schema: named after the topic, every field optional", () => {
    const [r] = D.extractNewDocumentState(
      { version: "3.x", ...orders, extendedHeaders: false, op: "c", after: { _id: 5, l: 7n, at: new Date(0) }, clusterTime: { t: 1, i: 1 } },
      smt
    )
    expect(r!.key).toBe(`{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"field":"id"}],"optional":false},"payload":{"id":5}}`)
    expect(r!.value).toBe(
      `{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"field":"_id"},{"type":"int64","optional":true,"field":"l"},` +
        `{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"at"},{"type":"boolean","optional":true,"field":"__deleted"},` +
        `{"type":"string","optional":true,"field":"__op"},{"type":"int64","optional":true,"field":"__source_ts_ms"},{"type":"int32","optional":true,"field":"__source_ord"}],` +
        `"optional":false,"name":"dbserver1.shop.orders"},"payload":{"_id":5,"l":7,"at":0,"__deleted":false,"__op":"c","__source_ts_ms":1000,"__source_ord":1}}`
    )
  })

  it("a delete, rewritten: only __deleted and the added fields (no pre-image), tombstone dropped", () => {
    const rs = D.extractNewDocumentState({ version: "3.x", ...orders, ...plain, extendedHeaders: false, op: "d", id: OID, clusterTime: { t: 1704067300, i: 4 } }, smt)
    expect(rs).toEqual([
      { topic: "dbserver1.shop.orders", key: `{"id":"65a1b2c3d4e5f6a7b8c9d0e1"}`, value: `{"__deleted":true,"__op":"d","__source_ts_ms":1704067300000,"__source_ord":4}` }
    ])
  })

  it("an update without after: the updated fields (Int64 read back as Int32) and _id from the key", () => {
    const rs = D.extractNewDocumentState(
      { version: "3.x", ...orders, ...plain, extendedHeaders: false, capture: "change_streams", op: "u", id: OID, update: { updatedFields: { amount: 7n } }, clusterTime: { t: 1704067300, i: 5 } },
      smt
    )
    expect(rs.map((r) => r.value)).toEqual([`{"amount":7,"_id":"65a1b2c3d4e5f6a7b8c9d0e1","__deleted":false,"__op":"u","__source_ts_ms":1704067300000,"__source_ord":5}`])
  })

  it("defaults: 3.2+ keeps a delete as a null value; up to 3.1 drops it", () => {
    const ev = { ...orders, ...plain, extendedHeaders: false, op: "d", id: 1, clusterTime: { t: 1, i: 1 } } as const
    expect(D.extractNewDocumentState({ ...ev, version: "3.x" })).toEqual([{ topic: "dbserver1.shop.orders", key: `{"id":1}`, value: null }])
    expect(D.extractNewDocumentState({ ...ev, version: "2.x" })).toEqual([])
  })
})

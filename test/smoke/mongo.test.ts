/**
 * Smoke test of the MongoDB test server through the official driver: CRUD, a collection change
 * stream with insert/delete events, and resuming from a saved resume token (startAfter and
 * resumeAfter) so that exactly the later changes arrive. Also startAtOperationTime from an
 * event's clusterTime (inclusive), which the live/bootstrap handoff relies on.
 */
import { type ChangeStream, type ChangeStreamDocument, type Collection, MongoClient, type ResumeToken, Timestamp } from "mongodb"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mongoUri, requireService, uniqueName } from "../support/services.ts"

interface Order {
  _id: string
  customer: string
  amount: number
}

type Change = ChangeStreamDocument<Order>

/** The next event, polling with tryNext (mongo-java-server answers getMore at once, without awaitData). */
const nextEvent = async (stream: ChangeStream<Order>, timeoutMs = 15_000): Promise<Change> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const event = await stream.tryNext()
    if (event !== null) return event
    if (Date.now() > deadline) throw new Error(`no change event within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Reads `count` events, then checks that nothing else arrives for a short while. */
const exactly = async (stream: ChangeStream<Order>, count: number): Promise<Array<Change>> => {
  const events: Array<Change> = []
  for (let i = 0; i < count; i++) events.push(await nextEvent(stream))
  const deadline = Date.now() + 500
  while (Date.now() < deadline) {
    const extra = await stream.tryNext()
    if (extra !== null) throw new Error(`unexpected extra event: ${JSON.stringify(extra)}`)
  }
  return events
}

/** [operationType, _id] of insert/delete events (the kinds this test produces). */
const summary = (event: Change): [string, string] => {
  if (event.operationType === "insert") return ["insert", event.documentKey._id]
  if (event.operationType === "delete") return ["delete", event.documentKey._id]
  return [event.operationType, "?"]
}

describe("MongoDB (smoke)", () => {
  let client: MongoClient
  let orders: Collection<Order>

  beforeAll(async () => {
    await requireService("mongo")
    client = new MongoClient(mongoUri(), { serverSelectionTimeoutMS: 5_000 })
    await client.connect()
    orders = client.db(uniqueName("smoke")).collection<Order>(uniqueName("orders"))
  })

  afterAll(async () => {
    await client?.close()
  })

  it("inserts and reads back", async () => {
    await orders.insertOne({ _id: "o-1", customer: "c-1", amount: 1250 })
    expect(await orders.findOne({ _id: "o-1" })).toEqual({ _id: "o-1", customer: "c-1", amount: 1250 })
    expect(await orders.countDocuments()).toBe(1)
  })

  it("streams insert/delete changes and resumes after a saved token", async () => {
    const stream = orders.watch<Order, Change>([])
    // the driver sends its aggregate lazily: open the cursor before producing the changes
    expect(await stream.tryNext()).toBeNull()

    await orders.insertOne({ _id: "o-2", customer: "c-2", amount: 300 })
    await orders.deleteOne({ _id: "o-1" })
    const [inserted, deleted] = await exactly(stream, 2)
    expect(summary(inserted!)).toEqual(["insert", "o-2"])
    expect(inserted!.operationType === "insert" && inserted!.fullDocument).toEqual({ _id: "o-2", customer: "c-2", amount: 300 })
    expect(summary(deleted!)).toEqual(["delete", "o-1"])
    expect(deleted!.clusterTime).toBeInstanceOf(Timestamp)
    expect(deleted!.clusterTime!.greaterThan(inserted!.clusterTime!)).toBe(true)

    // save the resume token of the last applied change: the event's _id (stream.resumeToken may
    // already be a newer post-batch token on a real server; mongo-java-server has none)
    const token: ResumeToken = deleted!._id
    expect(token).toBeTruthy()
    expect(stream.resumeToken).toBeTruthy()
    await stream.close()

    // changes made while nobody watches
    await orders.insertOne({ _id: "o-3", customer: "c-1", amount: 700 })
    await orders.insertOne({ _id: "o-4", customer: "c-3", amount: 50 })
    await orders.deleteOne({ _id: "o-2" })
    const later: Array<[string, string]> = [["insert", "o-3"], ["insert", "o-4"], ["delete", "o-2"]]

    const afterStart = orders.watch<Order, Change>([], { startAfter: token })
    expect((await exactly(afterStart, 3)).map(summary)).toEqual(later)
    await afterStart.close()

    const afterResume = orders.watch<Order, Change>([], { resumeAfter: token })
    expect((await exactly(afterResume, 3)).map(summary)).toEqual(later)
    await afterResume.close()

    // startAtOperationTime is inclusive: from the delete's cluster time, the delete comes again
    const fromTime = orders.watch<Order, Change>([], { startAtOperationTime: deleted!.clusterTime! })
    expect((await exactly(fromTime, 4)).map(summary)).toEqual([["delete", "o-1"], ...later])
    await fromTime.close()
  })
})

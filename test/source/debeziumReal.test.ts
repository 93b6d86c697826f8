/**
 * Records written by the real Debezium MongoDB connector 3.6.1 through Kafka Connect 4.3's
 * JsonConverter (captured from a run against the test MongoDB server; how, and which fields are
 * artefacts of that server, is in test/fixtures/debezium-real/README.md), folded from the captured
 * files by `JsonlChanges`: the settings whose records the server does not distort fold to the
 * group-by over the documents the capture script left, with and without Connect's schemas.
 * No server needed.
 */
import { join } from "node:path"
import { Effect, Layer, References, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Handoff from "../../src/Handoff.ts"
import * as Monoid from "../../src/Monoid.ts"
import * as Pipeline from "../../src/Pipeline.ts"
import * as Orchestrator from "../../src/Runtime/Orchestrator.ts"
import * as JsonlChanges from "../../src/Jsonl/JsonlChanges.ts"
import { Aggregates } from "../../src/Store/Aggregates.ts"
import { DeadLetters } from "../../src/Store/DeadLetters.ts"
import * as Memory from "../../src/Store/Memory.ts"
import * as Version from "../../src/Version.ts"
import { projectRoot } from "../support/services.ts"

const Item = Schema.Struct({ _id: Schema.Unknown, sku: Schema.String, qty: Schema.Int })
const perSku = Pipeline.make("qty_per_sku", { schema: Item, key: (i) => i.sku, value: (i) => i.qty, monoid: Monoid.sum })

const fold = (file: string) =>
  Effect.runPromise(
    Effect.gen(function*() {
      yield* Orchestrator.run({
        pipelines: [perSku],
        handoff: Effect.sync(() => Handoff.atVersion(Version.zero)),
        live: () => JsonlChanges.make({ path: join(projectRoot, "test/fixtures/debezium-real", file) })
      })
      const totals = yield* (yield* Aggregates).all(perSku)
      const letters = yield* (yield* DeadLetters).list(perSku.name)
      return { totals: Object.fromEntries(Array.from(totals).filter(([, v]) => v !== 0)), letters }
    }).pipe(Effect.provide(Layer.merge(Memory.layer(Memory.makeState()), Layer.succeed(References.MinimumLogLevel, "Warn"))))
  )

describe("records of the real Debezium connector", () => {
  // the capture's writes (README): order-1 and lime deleted; kiwi replaced with qty 10; plum set to 6
  for (const schemas of ["true", "false"]) {
    for (const capture of ["change-streams-update-full", "change-streams-update-full-with-pre-image"]) {
      it(`streaming, capture.mode ${capture.replace(/-/g, "_")}, schemas.enable=${schemas}: exact`, async () => {
        const { totals, letters } = await fold(`streaming-${capture}-schemas-${schemas}.jsonl`)
        expect(totals).toEqual({ kiwi: 10, plum: 6 })
        expect(letters).toEqual([])
      })
    }
    it(`Debezium's initial snapshot (op r, "true" then "last") then its stream, schemas.enable=${schemas}: exact`, async () => {
      const { totals, letters } = await fold(`snapshot-initial-change-streams-update-full-schemas-${schemas}.jsonl`)
      // the seeds pear (4) and fig (Int64 7), then the stream
      expect(totals).toEqual({ pear: 4, fig: 7, kiwi: 10, plum: 6 })
      expect(letters).toEqual([])
    })
  }
})

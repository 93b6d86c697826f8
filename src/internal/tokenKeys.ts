/**
 * Every key the library writes in the token store, and the shape of what it keeps there. One place
 * owns them so that no two writers can pick the same key and every reader decodes the value it
 * finds with the same schema the writer meant.
 *
 * | key | scope | name | value |
 * |---|---|---|---|
 * | a pipeline's bootstrap | the pipeline's name | `bootstrap` | {@link BootstrapState} |
 * | a source's committed positions | `@sources` | `position:<source>` | `{ [partition]: { seq, checkpoint } }` |
 * | a source's staged batch | `@sources` | `staged:<source>` | the batch, as `staging.encode` writes it |
 *
 * Pipeline names cannot start with `@` (`Pipeline.make` refuses them), so the sources' scope never
 * meets a pipeline's.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Handoff } from "../Handoff.ts"
import * as Version from "../Version.ts"

/** A key of the token store. */
export interface TokenKey {
  readonly scope: string
  readonly name: string
}

/** The scope of what belongs to a source, shared by every pipeline it feeds. */
export const sourcesScope = "@sources"

/** Where a pipeline's bootstrap state is kept. */
export const bootstrap = (pipeline: string): TokenKey => ({ scope: pipeline, name: "bootstrap" })

/** Where a source's committed positions are kept. */
export const position = (source: string): TokenKey => ({ scope: sourcesScope, name: `position:${source}` })

/** Where a source's staged batch is kept. */
export const staged = (source: string): TokenKey => ({ scope: sourcesScope, name: `staged:${source}` })

/** What the token store holds under {@link bootstrap}. */
export interface BootstrapState {
  readonly phase: "scanning" | "done"
  readonly handoff: Handoff
  readonly startedAt: number
  readonly finishedAt?: number | undefined
}

const BootstrapStateJson = Schema.Struct({
  phase: Schema.Literals(["scanning", "done"]),
  handoff: Schema.Struct({
    version: Schema.Tuple([Schema.Finite, Schema.Finite]),
    live: Schema.optional(Schema.Unknown),
    capturedAt: Schema.optional(Schema.Finite)
  }),
  startedAt: Schema.optional(Schema.Finite),
  finishedAt: Schema.optional(Schema.Finite)
})

const decodeBootstrapJson = Schema.decodeUnknownOption(BootstrapStateJson)

/** A saved bootstrap state, or `undefined` when the value is not one. */
export const decodeBootstrap = (u: unknown): BootstrapState | undefined =>
  Option.match(decodeBootstrapJson(u), {
    onNone: () => undefined,
    onSome: (s) => ({
      phase: s.phase,
      handoff: {
        version: Version.make(s.handoff.version[0], s.handoff.version[1]),
        live: s.handoff.live ?? null,
        capturedAt: s.handoff.capturedAt ?? 0
      },
      startedAt: s.startedAt ?? 0,
      finishedAt: s.finishedAt
    })
  })

/** The committed position of one partition of a source. */
export interface Committed {
  readonly seq: number
  readonly checkpoint: unknown
}

const CommittedJson = Schema.Struct({ seq: Schema.Finite, checkpoint: Schema.optional(Schema.Unknown) })
const decodeCommittedJson = Schema.decodeUnknownOption(CommittedJson)

/**
 * The saved positions of a source, partition by partition, as a prototype-free record (partition
 * names are data: `__proto__` is a partition like any other). A value that is not a record reads
 * as no positions: the source then starts from its beginning, which the ledger and the high-water
 * marks make safe.
 */
export const decodePositions = (u: unknown): Record<string, unknown> => {
  const out: Record<string, unknown> = Object.create(null)
  if (typeof u === "object" && u !== null && !Array.isArray(u)) for (const [k, v] of Object.entries(u)) out[k] = v
  return out
}

/** One partition's committed position in saved positions, if it has a readable one. */
export const committedOf = (positions: unknown, partition: string): Committed | undefined => {
  const entry = decodePositions(positions)[partition]
  return Option.match(decodeCommittedJson(entry), {
    onNone: () => undefined,
    onSome: (c) => ({ seq: c.seq, checkpoint: c.checkpoint ?? null })
  })
}

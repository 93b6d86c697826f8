/**
 * The checks of a query's arguments: keys (non-empty, well-formed, not too long, with their bucket
 * for a windowed pipeline), lists of keys (not too many) and sketch items (of their `itemType`).
 * Each refusal is an `InvalidArgument` problem naming the parameter.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Hash64 from "../../Hash64.ts"
import * as Window from "../../Window.ts"
import { InvalidArgument, type ItemType } from "../QueryApi.ts"
import type { Entry } from "./catalog.ts"

/** Limits of the arguments. */
export interface Limits {
  /** The longest key, in UTF-8 bytes. */
  readonly maxKeyBytes: number
  /** The most keys in one request. */
  readonly maxKeys: number
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const invalid = (parameter: string, detail: string) => Effect.fail(new InvalidArgument({ parameter, detail }))

/**
 * Whether a key names an aggregate (`"<key>|<bucket id>"` for a windowed pipeline: the plain key
 * routes) or a key whose buckets the window routes read (the key alone).
 */
export type KeyForm = "aggregate" | "windowed"

/** Why `key` is not a key of `entry`'s pipeline, if it is not; `now` for the example of a windowed key. */
const keyProblem = (entry: Entry, key: string, limits: Limits, now: number, form: KeyForm): string | undefined => {
  if (loneSurrogate.test(key)) return "a key must be well-formed Unicode (it has a lone surrogate)"
  const bytes = Buffer.byteLength(key, "utf8")
  if (bytes > limits.maxKeyBytes) return `a key must be at most ${limits.maxKeyBytes} UTF-8 bytes (this one is ${bytes})`
  const window = entry.pipeline.window
  if (window !== undefined && form === "aggregate") {
    const parts = Window.splitKey(key)
    if (parts === undefined || parts[0].length === 0 || Window.bucketOfId(window, parts[1]) === undefined) {
      return `pipeline ${entry.pipeline.name} is windowed by ${window.granularity}: its aggregate keys are <key>|<bucket id>, ` +
        `e.g. ${JSON.stringify(Window.key("c1", Window.bucketAt(window, now).id))} (the current bucket)`
    }
  }
  return undefined
}

/** `key`, when it is a valid key of `entry`'s pipeline. */
export const key = (entry: Entry, key: string, limits: Limits, form: KeyForm = "aggregate"): Effect.Effect<string, InvalidArgument> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const problem = keyProblem(entry, key, limits, now, form)
    return problem === undefined ? Effect.succeed(key) : invalid("key", problem)
  })

/** `keys` without repeats, in order, when there are at most `maxKeys` and each is valid. */
export const keys = (
  entry: Entry,
  keys: ReadonlyArray<string>,
  limits: Limits,
  parameter: string,
  form: KeyForm = "aggregate"
): Effect.Effect<ReadonlyArray<string>, InvalidArgument> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const unique = Array.from(new Set(keys))
    if (unique.length === 0) return invalid(parameter, "give at least one key")
    if (unique.length > limits.maxKeys) {
      return invalid(parameter, `at most ${limits.maxKeys} keys per request (this one has ${unique.length})`)
    }
    for (const k of unique) {
      const problem = keyProblem(entry, k, limits, now, form)
      if (problem !== undefined) return invalid(parameter, `${problem}: ${JSON.stringify(k.slice(0, 100))}`)
    }
    return Effect.succeed(unique)
  })

const INTEGER = /^-?(0|[1-9][0-9]*)$/

/** The sketch item `text` read as `type` (default: the string itself). */
export const item = (text: string, type: ItemType | undefined): Effect.Effect<Hash64.Hashable, InvalidArgument> => {
  switch (type ?? "string") {
    case "string":
      return loneSurrogate.test(text) ? invalid("item", "an item must be well-formed Unicode") : Effect.succeed(text)
    case "number": {
      const n = text.trim() === "" ? Number.NaN : Number(text)
      return Number.isFinite(n) ? Effect.succeed(n) : invalid("item", `itemType=number: ${JSON.stringify(text)} is not a finite number`)
    }
    case "bigint":
      return INTEGER.test(text)
        ? Effect.succeed(BigInt(text))
        : invalid("item", `itemType=bigint: ${JSON.stringify(text)} is not an integer in decimal digits`)
  }
  return invalid("itemType", `unknown item type ${JSON.stringify(type)}`)
}

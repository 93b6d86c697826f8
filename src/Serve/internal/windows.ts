/**
 * The window routes' arguments and reads: the window of a pipeline (or `NotWindowed`), the span of
 * buckets a request names (one bucket id, a range of ids, the last `n` up to the `Clock`'s now),
 * bounded by the server's limits, and the read of every key over it, merged by `Window.read`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Window from "../../Window.ts"
import { InvalidArgument, NotWindowed } from "../QueryApi.ts"
import type { Entry } from "./catalog.ts"

/** Limits of window reads. */
export interface Limits {
  /** The most buckets one request may span. */
  readonly maxBuckets: number
  /** The most aggregates (keys × buckets) one request may read. */
  readonly maxReads: number
}

/** The buckets of one read, oldest first. */
export interface Span {
  readonly window: Window.Window<any>
  readonly buckets: ReadonlyArray<Window.Bucket>
}

const invalid = (parameter: string, detail: string) => Effect.fail(new InvalidArgument({ parameter, detail }))

/** The window of `entry`'s pipeline, or `NotWindowed`. */
export const windowOf = (entry: Entry): Effect.Effect<Window.Window<any>, NotWindowed> =>
  entry.pipeline.window === undefined
    ? Effect.fail(
      new NotWindowed({
        pipeline: entry.info.name,
        detail: `pipeline ${entry.info.name} is not windowed: read its keys with /v1/pipelines/${entry.info.name}/keys`
      })
    )
    : Effect.succeed(entry.pipeline.window)

const example = (window: Window.Window<any>, now: number) => JSON.stringify(Window.bucketAt(window, now).id)

/** The bucket of id `text`, or `InvalidArgument` naming `parameter` with an example of the window's ids. */
const bucketOf = (window: Window.Window<any>, text: string, parameter: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const bucket = Window.bucketOfId(window, text)
    return bucket !== undefined
      ? Effect.succeed(bucket)
      : invalid(
        parameter,
        `${JSON.stringify(text.slice(0, 100))} is not a bucket id of this ${window.granularity} window ` +
          `(${window.timeZone}), e.g. ${example(window, now)} (the current bucket)`
      )
  })

/** One bucket. */
export const one = (window: Window.Window<any>, id: string): Effect.Effect<Span, InvalidArgument> =>
  Effect.map(bucketOf(window, id, "bucket"), (bucket) => ({ window, buckets: [bucket] }))

/** The buckets `from` to `to`, both included, when they are at most `maxBuckets`. */
export const between = (window: Window.Window<any>, from: string, to: string, limits: Limits): Effect.Effect<Span, InvalidArgument> =>
  Effect.gen(function*() {
    const first = yield* bucketOf(window, from, "from")
    const last = yield* bucketOf(window, to, "to")
    if (last.start < first.start) return yield* invalid("to", `the range ends (${to}) before it starts (${from})`)
    const buckets: Array<Window.Bucket> = []
    for (let b = first; b.start <= last.start; b = Window.bucketAt(window, b.end)) {
      if (buckets.length === limits.maxBuckets) {
        return yield* invalid("to", `a range spans at most ${limits.maxBuckets} buckets (${from} to ${to} spans more)`)
      }
      buckets.push(b)
    }
    return { window, buckets }
  })

/** The current bucket (by the `Clock`) and the `n - 1` before it, when `1 <= n <= maxBuckets`. */
export const last = (window: Window.Window<any>, n: number, limits: Limits): Effect.Effect<Span, InvalidArgument> =>
  Effect.gen(function*() {
    if (!Number.isSafeInteger(n) || n < 1 || n > limits.maxBuckets) {
      return yield* invalid("n", `n must be an integer from 1 to ${limits.maxBuckets} (it is ${n})`)
    }
    const now = yield* Clock.currentTimeMillis
    const buckets: Array<Window.Bucket> = [Window.bucketAt(window, now)]
    while (buckets.length < n) buckets.unshift(Window.bucketAt(window, buckets[0]!.start - 1))
    return { window, buckets }
  })

/** Refuses a read of more than `maxReads` aggregates. */
export const checkReads = (span: Span, keys: number, limits: Limits, parameter: string): Effect.Effect<void, InvalidArgument> =>
  keys * span.buckets.length > limits.maxReads
    ? invalid(
      parameter,
      `a window read reads at most ${limits.maxReads} aggregates (${keys} keys × ${span.buckets.length} buckets is more)`
    )
    : Effect.void

/** How the answer describes a span. */
export const describe = (span: Span) => ({
  granularity: span.window.granularity,
  timeZone: span.window.timeZone,
  from: span.buckets[0]!.id,
  to: span.buckets[span.buckets.length - 1]!.id,
  buckets: span.buckets.length
})

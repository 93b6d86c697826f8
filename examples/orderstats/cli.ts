/**
 * How every orderstats binary runs: under `NodeRuntime.runMain` (SIGINT and SIGTERM interrupt the
 * program, so sources close their cursors and consumers leave their groups), logs on stderr at
 * `LOG_LEVEL` (default `Info`), results on stdout, a failure as one line on stderr.
 *
 * Exit codes: `0` when the program finished, and also when it was stopped by SIGINT or SIGTERM (a
 * stopped worker is a normal end for a process manager; Node's usual 130/143 would read as
 * failures); `1` when it failed (the line on stderr says why).
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util"
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Effect, Exit, Layer, Logger, References } from "effect"
import type * as Runtime from "effect/Runtime"
import { ConfigurationError } from "../../src/Errors.ts"

/**
 * 0 for success and for a stop by signal (interruption only), 1 otherwise.
 */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)

/**
 * A failure as one line (typed errors: `Tag: message`); defects with their stack.
 */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (typeof error === "object" && error !== null && "_tag" in error && "message" in error) {
    return `${String((error as { _tag: unknown })._tag)}: ${String((error as { message: unknown }).message)}`
  }
  return Cause.hasDies(cause) ? Cause.pretty(cause) : error instanceof Error ? error.message : String(error)
}

const logging = Layer.unwrap(Effect.gen(function*() {
  const level = yield* Config.LogLevel("LOG_LEVEL").pipe(Config.withDefault("Info" as const))
  return Layer.mergeAll(Layer.succeed(Logger.LogToStderr, true), Layer.succeed(References.MinimumLogLevel, level))
}))

/**
 * Runs `program` as the process's main program (see the module doc); `name` prefixes the failure line.
 */
export const runMain = <A, E>(name: string, program: Effect.Effect<A, E>): void =>
  NodeRuntime.runMain(
    program.pipe(
      Effect.provide(logging),
      Effect.tapCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.sync(() => process.stderr.write(`${name}: ${describeCause(cause)}\n`))
      )
    ),
    { disableErrorReporting: true, teardown }
  )

/**
 * Parses command-line flags (no positionals unless `positionals`); a bad flag is a
 * `ConfigurationError` that ends with `usage`.
 */
export const flags = <const O extends ParseArgsOptionsConfig>(
  usage: string,
  options: O,
  args: ReadonlyArray<string> = process.argv.slice(2),
  positionals = false
) =>
  Effect.try({
    try: () => parseArgs({ args: [...args], options, strict: true, allowPositionals: positionals }),
    catch: (error) => new ConfigurationError({ detail: `${error instanceof Error ? error.message : String(error)}\n${usage}` })
  })

/**
 * How every orderstats binary runs: an `effect/cli` command under `NodeRuntime.runMain` (SIGINT
 * and SIGTERM interrupt the program, so sources close their cursors and consumers leave their
 * groups), logs on stderr at `LOG_LEVEL` (default `Info`), results on stdout.
 *
 * - `--help` lists the flags, then the environment variables the binary reads with their
 *   defaults (the {@link Environment} annotation of the command, from `config.ts`); `--version`
 *   prints the package's version.
 * - A bad flag or argument: the error, the usage line and a pointer to `--help`, on stderr.
 * - A failure: one line on stderr, `<name>: <Tag>: <message>`; a missing or malformed variable
 *   is named with what to set it to, and a failure reaching a server names that server's host
 *   and port (`servers.ts`), never its credentials.
 *
 * Exit codes: `0` when the program finished, and also when it was stopped by SIGINT or SIGTERM (a
 * stopped worker is a normal end for a process manager; Node's usual 130/143 would read as
 * failures); `1` when it failed or the command line was wrong.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Config, Console, Context, Effect, Exit, Layer, Logger, Option, References, SchemaIssue } from "effect"
import { CliConfig, CliError, CliOutput, Command, Flag, GlobalFlag, type HelpDoc } from "effect/cli"
import type * as Runtime from "effect/Runtime"
import * as Servers from "./servers.ts"
import * as Settings from "./config.ts"

/**
 * The environment variables a command reads, grouped, for its `--help` and its error messages.
 */
export class Environment extends Context.Service<Environment, ReadonlyArray<Settings.Section>>()("orderstats/cli/Environment") {}

/**
 * Describes a command: `description` heads its `--help`, `sections` list the variables it reads.
 */
export const describe = (description: string, sections: ReadonlyArray<Settings.Section>) =>
<Name extends string, Input, E, R>(self: Command.Command<Name, Input, {}, E, R>): Command.Command<Name, Input, {}, E, R> =>
  self.pipe(Command.withDescription(description), Command.annotate(Environment, sections))

/**
 * The `--json` flag every binary has.
 */
export const json = Flag.Boolean("json").pipe(Flag.withDescription("print the result as one JSON object on stdout"), Flag.withDefault(false))

// ---------------------------------------------------------------------------------------------
// help

const variablesOf = (sections: ReadonlyArray<Settings.Section>): ReadonlyArray<Settings.Variable> =>
  sections.flatMap((s) => s.variables)

/**
 * The ENVIRONMENT section of `--help`: per group, each variable with its default and description.
 */
export const environmentHelp = (sections: ReadonlyArray<Settings.Section>): string => {
  const all = variablesOf(sections)
  if (all.length === 0) return ""
  const nameWidth = Math.max(...all.map((v) => v.name.length))
  const defaultWidth = Math.max(...all.map((v) => v.fallback.length))
  const line = (v: Settings.Variable) => `    ${v.name.padEnd(nameWidth)}  ${v.fallback.padEnd(defaultWidth)}  ${v.description}`
  const groups = sections.map((s) => [`  ${s.title}`, ...s.variables.map(line)].join("\n"))
  return ["ENVIRONMENT", `    ${"variable".padEnd(nameWidth)}  default`, ...groups].join("\n")
}

const sectionsOf = (doc: HelpDoc.HelpDoc): ReadonlyArray<Settings.Section> => Context.getOrUndefined(doc.annotations, Environment) ?? []

/**
 * Help on stdout; a bad invocation as its errors (each line prefixed with `label`), the usage line
 * and a pointer to `--help` on stderr.
 */
const presenter = (label: string): CliOutput.Presenter => ({
  present: (event) =>
    Effect.gen(function*() {
      const formatter = yield* CliOutput.Formatter
      switch (event._tag) {
        case "Help":
          return yield* Console.log(`${formatter.formatHelpDoc(event.helpDoc).trimEnd()}\n\n${environmentHelp(sectionsOf(event.helpDoc))}\n`)
        case "InvalidInvocation": {
          const name = event.commandPath.join(" ")
          return yield* Console.error(
            [
              ...event.errors.map((error) => `${label}: ${formatter.formatCliError(error)}`),
              `usage: ${event.helpDoc.usage}`,
              `(${name} --help lists the flags and the environment variables)`
            ].join("\n")
          )
        }
        case "Version":
          return yield* CliOutput.defaultPresenter.present(event)
      }
    })
})

const cli = (label: string) =>
  Layer.mergeAll(
    NodeServices.layer,
    CliOutput.layerPresenter(presenter(label)),
    CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] })
  )

// ---------------------------------------------------------------------------------------------
// failures

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

const issuesOf = (error: Config.ConfigError): ReadonlyArray<{ readonly name: string; readonly message: string }> =>
  error.cause._tag === "SchemaError"
    ? SchemaIssue.makeFormatterStandardSchemaV1()(error.cause.issue).issues.map((issue) => ({
      name: (issue.path ?? []).map((key) => String(typeof key === "object" ? key.key : key)).join("_"),
      message: issue.message
    }))
    : [{ name: "", message: error.cause.message }]

/** ` (default: 1000)`, ` (unset: off)`, or nothing for a required variable. */
const fallbackOf = (variable: Settings.Variable): string =>
  variable.fallback === "(required)"
    ? ""
    : variable.fallback.startsWith("(")
    ? ` (unset: ${variable.fallback.slice(1, -1)})`
    : ` (default: ${variable.fallback})`

/**
 * What is wrong with the variable `name`, and what to set it to.
 */
export const describeVariable = (
  name: string,
  message: string,
  variables: ReadonlyArray<Settings.Variable>
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const known = variables.find((v) => v.name === name)
    const value = yield* Effect.catch(Config.option(Config.String(name)), () => Effect.succeed(Option.none<string>()))
    const what = known === undefined ? "" : `: set it to ${known.description}${fallbackOf(known)}`
    if (Option.isNone(value)) return `${name} is not set${what}`
    const shown = known === undefined || known.secret ? "" : `=${JSON.stringify(value.value)}`
    return `${name}${shown} is not valid (${message})${what}`
  })

const describeConfigError = (error: Config.ConfigError, variables: ReadonlyArray<Settings.Variable>) =>
  Effect.forEach(issuesOf(error), (issue) =>
    issue.name === "" ? Effect.succeed(`${error.cause._tag}: ${issue.message}`) : describeVariable(issue.name, issue.message, variables))

/**
 * The failure lines of `command`'s run: none for an interruption or a bad invocation (the
 * presenter printed it), a sentence per variable for a `ConfigError`, else the cause in one line
 * and the servers it concerns.
 */
const failureLines = (command: Command.Command.Any, cause: Cause.Cause<unknown>): Effect.Effect<ReadonlyArray<string>> => {
  if (Cause.hasInterruptsOnly(cause)) return Effect.succeed([])
  const error = Cause.squash(cause)
  if (CliError.isCliError(error)) return Effect.succeed([])
  if (error instanceof Config.ConfigError) {
    const variables = variablesOf(Context.getOrUndefined(command.annotations, Environment) ?? [])
    return describeConfigError(error, variables).pipe(
      Effect.map((lines) => [...lines, `(${command.name} --help lists every variable it reads)`])
    )
  }
  return Servers.describeError(error).pipe(Effect.map((servers) => [`${describeCause(cause)}${servers}`]))
}

// ---------------------------------------------------------------------------------------------
// running

/** The package's version, from the package.json above the source tree or dist/. */
const version = (): string => {
  for (const up of ["../..", "../../.."]) {
    try {
      return (JSON.parse(readFileSync(join(import.meta.dirname, up, "package.json"), "utf8")) as { version: string }).version
    } catch {
      // not there: one level up (dist/examples/orderstats)
    }
  }
  return "unknown"
}

const logging = Layer.unwrap(Effect.gen(function*() {
  const level = yield* Settings.LOG_LEVEL.config
  return Layer.mergeAll(Layer.succeed(Logger.LogToStderr, true), Layer.succeed(References.MinimumLogLevel, level))
}))

/**
 * Runs `command` with the process's arguments as the main program (see the module doc); `name`
 * prefixes its failure lines.
 */
export const runMain = <Name extends string, Input, E>(name: string, command: Command.Command<Name, Input, {}, E, never>): void =>
  NodeRuntime.runMain(
    Command.run(command.pipe(Command.provide(logging)), { version: version() }).pipe(
      Effect.tapCause((cause) =>
        failureLines(command, cause).pipe(
          Effect.flatMap((lines) => Effect.sync(() => lines.forEach((line) => process.stderr.write(`${name}: ${line}\n`))))
        )
      ),
      Effect.provide(cli(name))
    ),
    { disableErrorReporting: true, teardown }
  )

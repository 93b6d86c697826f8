/**
 * The package as users get it: its package.json, its public modules, child processes that run
 * npm, tsc and node with the Node running the tests, and what a fresh process loads.
 */
import { spawnSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { delimiter, dirname, join } from "node:path"

export const root = join(import.meta.dirname, "..", "..")

export interface Entry {
  readonly types: string
  readonly default: string
}

export interface PackageJson {
  readonly name: string
  readonly files: ReadonlyArray<string>
  readonly exports: Readonly<Record<string, Entry | string>>
  readonly dependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>
  readonly devDependencies?: Readonly<Record<string, string>>
}

export const packageJson = (dir: string = root): PackageJson =>
  JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson

/** What every install of the package has: its dependencies and its required peers. */
export const guaranteed = (pkg: PackageJson): ReadonlySet<string> =>
  new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}).filter((name) => pkg.peerDependenciesMeta?.[name]?.optional !== true)
  ])

export const isOptionalPeer = (pkg: PackageJson, name: string): boolean =>
  pkg.peerDependencies?.[name] !== undefined && pkg.peerDependenciesMeta?.[name]?.optional === true

const machinery = /(^|\/)internal\/|^Runtime\/Plan\.ts$|^index\.ts$|Main\.ts$/

/** The public modules, as paths under src without `.ts`: everything but `internal/`, the planner, commands and the index. */
export const publicModules = (): ReadonlyArray<string> =>
  readdirSync(join(root, "src"), { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".ts") && !machinery.test(path))
    .map((path) => path.slice(0, -".ts".length))
    .sort()

/** The namespaces src/index.ts re-exports: name -> module path under src without `.ts`. */
export const rootNamespaces = (): ReadonlyMap<string, string> =>
  new Map(
    Array.from(
      readFileSync(join(root, "src", "index.ts"), "utf8").matchAll(/^export \* as (\w+) from "\.\/(.+)\.ts"$/gm),
      (m) => [m[1]!, m[2]!] as const
    )
  )

/** The subpath a module is exported as: its namespace name in the root when it has one, else its file name. */
export const subpathOf = (module: string, namespaces: ReadonlyMap<string, string> = rootNamespaces()): string => {
  for (const [name, path] of namespaces) if (path === module) return `./${name}`
  return `./${module.split("/").pop()}`
}

export const entryOf = (module: string): Entry => ({
  types: `./dist/src/${module}.d.ts`,
  default: `./dist/src/${module}.js`
})

export interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** The environment of child processes: the Node running the tests first on PATH (npm and its scripts run on it). */
const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env["PATH"] ?? ""}`,
  npm_config_update_notifier: "false"
})

export const exec = (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs = 120_000): Run => {
  const r = spawnSync(command, args, { cwd, env: env(), encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20 })
  if (r.error !== undefined) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Runs a command that must succeed, and returns its standard output. */
export const execOk = (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs?: number): string => {
  const r = exec(command, args, cwd, timeoutMs)
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} (in ${cwd}) exited with ${r.status}\n${r.stdout}\n${r.stderr}`)
  }
  return r.stdout
}

export const node = (args: ReadonlyArray<string>, cwd: string): Run => exec(process.execPath, args, cwd)

/** Records every module a process loads (ES modules and CommonJS alike), then prints them. */
const probe = `
import { registerHooks } from "node:module"
const loaded = new Set()
registerHooks({ load: (url, context, nextLoad) => (loaded.add(url), nextLoad(url, context)) })
await import(process.argv[1])
process.stdout.write(JSON.stringify([...loaded]))
`

/** The npm package a module URL belongs to (the last `node_modules/` of its path), if any. */
export const packageOf = (url: string): string | undefined => {
  const at = url.lastIndexOf("/node_modules/")
  if (at < 0) return undefined
  const [scope, name] = url.slice(at + "/node_modules/".length).split("/")
  return scope!.startsWith("@") ? `${scope}/${name}` : scope
}

/** The npm packages a fresh Node process loads when it imports `specifier` from a module in `cwd`. */
export const packagesLoaded = (specifier: string, cwd: string = root): ReadonlySet<string> => {
  const r = node(["--input-type=module", "--eval", probe, specifier], cwd)
  if (r.status !== 0) throw new Error(`importing ${specifier} failed:\n${r.stderr}`)
  const urls = JSON.parse(r.stdout) as ReadonlyArray<string>
  return new Set(urls.flatMap((url) => packageOf(url) ?? []))
}

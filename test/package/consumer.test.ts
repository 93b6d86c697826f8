/**
 * The package as a user installs it: `npm pack` of a copy of the repository (its `prepack`
 * builds), then a fresh project with `effect` and the tarball alone, a program that imports
 * through the subpaths compiled under `nodenext` and under `bundler` resolution and run with node,
 * and the README's quick start compiled and run there.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execOk, node, packageJson, publicModules, root } from "./support.ts"

/** Top-level entries of the repository that a checkout does not have, or that only builds make. */
const notCopied = new Set(["node_modules", "dist", ".git", ".cache", ".services", ".state", "state"])

let work = ""
let pkg = ""
let app = ""
let tarball = ""

/** A copy of the repository, with its node_modules linked, packed with `npm pack` (which runs `prepack`). */
const pack = (): string => {
  cpSync(root, pkg, { recursive: true, filter: (path) => !notCopied.has(path.slice(root.length + 1).split("/")[0]!) })
  symlinkSync(join(root, "node_modules"), join(pkg, "node_modules"), "dir")
  // left over from an older build: the package build must not ship it
  mkdirSync(join(pkg, "dist", "src"), { recursive: true })
  writeFileSync(join(pkg, "dist", "src", "Removed.js"), "export {}\n")
  const [result] = JSON.parse(execOk("npm", ["pack", "--json", "--pack-destination", work], pkg)) as Array<{ filename: string }>
  return join(work, result!.filename)
}

/** A fresh project with `effect` and the tarball, nothing else: no client library. */
const install = (): void => {
  mkdirSync(app)
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
  const effect = `effect@${packageJson().devDependencies!["effect"]}`
  execOk("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", effect, tarball], app)
}

const totalsProgram = `
import { Effect, Schema, Stream } from "effect"
import * as Aggregates from "effect-monoid-streams/Aggregates"
import * as Fold from "effect-monoid-streams/Fold"
import * as MemoryStore from "effect-monoid-streams/MemoryStore"
import * as Monoid from "effect-monoid-streams/Monoid"
import * as Pipeline from "effect-monoid-streams/Pipeline"
import * as Source from "effect-monoid-streams/Source"

const Order = Schema.Struct({ _id: Schema.String, customer: Schema.String, cents: Schema.Int })

const totals = Pipeline.make("totals", {
  schema: Order,
  key: (order) => order.customer,
  value: (order) => order.cents,
  monoid: Monoid.sum
})

const order = (id: string, customer: string, cents: number) => Source.upsert(id, { _id: id, customer, cents })

const changes = Source.fromStream("orders", Stream.make(
  order("o1", "alice", 1250),
  order("o2", "bob", 700),
  order("o3", "carol", 300),
  order("o1", "alice", 1500), // an update
  order("o2", "carol", 700), // a move
  Source.remove("o3"), // a delete
  order("o4", "alice", 5),
  Source.remove("o5") // a delete of a document never seen
))

const program = Effect.gen(function*() {
  const summary = yield* changes.pipe(Fold.run([totals]))
  const stored = yield* Aggregates.Aggregates.use((store) => store.all(totals))
  return { records: summary.records, totals: Object.fromEntries(stored) }
}).pipe(Effect.provide(MemoryStore.layer()))

// the package's declarations reach the program: a sum combines numbers
// @ts-expect-error
export const typed = () => Monoid.sum.combine("a", "b")

console.log(JSON.stringify(await Effect.runPromise(program)))
`

const readmeRunner = `
import { Cause, Effect, Exit } from "effect"
import { folded } from "./readme.js"

const exit = await Effect.runPromiseExit(folded)
console.log(JSON.stringify(Exit.isSuccess(exit) ? { success: exit.value } : { failure: Cause.pretty(exit.cause) }))
`

/** The first TypeScript block of a Markdown text. */
const firstTsBlock = (markdown: string): string => {
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(markdown)?.[1]
  if (block === undefined) throw new Error("README.md has no ```ts block")
  return block
}

const tsconfig = (compilerOptions: Record<string, unknown>) =>
  JSON.stringify({
    compilerOptions: { target: "ES2022", strict: true, skipLibCheck: true, types: [], ...compilerOptions },
    include: ["src"]
  })

const writeProgram = (): void => {
  mkdirSync(join(app, "src"))
  writeFileSync(join(app, "src", "totals.ts"), totalsProgram)
  writeFileSync(join(app, "src", "readme.ts"), firstTsBlock(readFileSync(join(root, "README.md"), "utf8")))
  writeFileSync(join(app, "src", "run-readme.ts"), readmeRunner)
  writeFileSync(join(app, "tsconfig.nodenext.json"), tsconfig({ module: "nodenext", moduleResolution: "nodenext", outDir: "out" }))
  writeFileSync(join(app, "tsconfig.bundler.json"), tsconfig({ module: "esnext", moduleResolution: "bundler", noEmit: true }))
}

const tsc = (project: string): string =>
  execOk(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", project], app)

let built: string | undefined
/** Compiles the project under `nodenext` into out/ (once). */
const compiled = (): string => (built ??= tsc("tsconfig.nodenext.json"))

const runJson = (script: string): unknown => JSON.parse(execOk(process.execPath, [script], app))

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "ems-package-"))
  pkg = join(work, "pkg")
  app = join(work, "app")
  tarball = pack()
  install()
  writeProgram()
}, 150_000)

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true })
})

describe("npm pack", () => {
  const listed = (): ReadonlyArray<string> => {
    const [result] = JSON.parse(execOk("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], pkg)) as Array<{ files: Array<{ path: string }> }>
    return result!.files.map((f) => f.path)
  }

  it("lists dist (JS, declarations, source maps), README, LICENSE and CHANGELOG, and nothing else", () => {
    const files = listed()
    expect(files.filter((f) => !f.startsWith("dist/")).sort()).toEqual(["CHANGELOG.md", "LICENSE", "README.md", "package.json"])
    expect(files.filter((f) => f.startsWith("dist/") && !/^dist\/src\/.+\.(js|d\.ts|js\.map)$/.test(f))).toEqual([])
    expect(files.filter((f) => /^(test|bench|scripts|examples|src)\//.test(f))).toEqual([])
    // what the build left behind from removed sources is cleaned by prepack
    expect(files).not.toContain("dist/src/Removed.js")
  })

  it("has every public module's JS, declarations and source map, and every export's files", () => {
    const files = new Set(listed())
    for (const module of [...publicModules(), "index"]) {
      for (const ext of [".js", ".d.ts", ".js.map"]) expect(files, module + ext).toContain(`dist/src/${module}${ext}`)
    }
    for (const entry of Object.values(packageJson(pkg).exports)) {
      for (const target of typeof entry === "string" ? [entry] : [entry.types, entry.default]) {
        expect(files).toContain(target.slice(2))
      }
    }
  })

  it("ships source maps with their sources inlined (the .ts files are not in the tarball)", () => {
    const map = JSON.parse(
      readFileSync(join(app, "node_modules", "effect-monoid-streams", "dist", "src", "Monoid.js.map"), "utf8")
    ) as { sourcesContent?: Array<string> }
    expect(map.sourcesContent?.[0]).toContain("export const sum")
  })
})

describe("a fresh project with effect and the tarball", () => {
  it("compiles a program importing the subpaths under nodenext and under bundler resolution", () => {
    compiled()
    tsc("tsconfig.bundler.json")
  })

  it("folds upserts, updates, a move and deletes into the memory store exactly", () => {
    compiled()
    expect(runJson("out/totals.js")).toEqual({ records: 8, totals: { alice: 1505, bob: 0, carol: 700 } })
  })

  it("runs the README's quick start", () => {
    compiled()
    expect(runJson("out/run-readme.js")).toMatchObject({ success: { records: 3 } })
  })

  it.each([
    ["MongoSnapshot", "mongodb"],
    ["KafkaJs", "kafkajs"],
    ["DynamoDbStore", "@aws-sdk/client-dynamodb"],
    ["AggregateCache", "ioredis"],
    ["Laws", "fast-check"]
  ])("importing effect-monoid-streams/%s without %s fails naming the package", (subpath, client) => {
    const r = node(["--input-type=module", "--eval", `await import("effect-monoid-streams/${subpath}")`], app)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain(`Error [ERR_MODULE_NOT_FOUND]: Cannot find package '${client}' imported from`)
  })
})

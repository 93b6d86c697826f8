/**
 * `import-cost`: how long a fresh process takes to import each subpath of the package, against
 * importing `effect` alone.
 *
 * Every sample is a fresh `node` process that imports through the package's own exports (the
 * package imports itself by name, so this measures the build in dist/ as users load it), timed
 * inside the process around the `import()` alone (Node's start-up is not counted). Per run and
 * subpath, two processes:
 *
 * - *alone*: the subpath's import in a fresh process;
 * - *after effect*: `effect` first (its time is a sample of the `effect` baseline), then the
 *   subpath: what the subpath adds to an application that already loads Effect.
 *
 * *Minus effect* is the issue's definition of the cost: the median over the runs of alone minus
 * the `effect` baseline of the process that ran right after it (pairs of neighbouring processes,
 * so that a machine whose load drifts weighs on both sides of each difference alike). A module
 * that loads fewer of Effect's modules than `effect`'s index does (`Monoid` imports
 * `effect/Option`, not `effect`) comes out below zero there, so the table gives both figures.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { median } from "../lib/measure.ts"

/** The target for the core modules, in ms. */
export const TARGET_MS = 50

/** Imports `first` (unless "-") then `specifier`, and prints both times in ms. */
const probe = `
const time = async (specifier) => {
  const start = performance.now()
  await import(specifier)
  return performance.now() - start
}
const [specifier, first] = process.argv.slice(1)
const before = first === "-" ? 0 : await time(first)
process.stdout.write(JSON.stringify([before, await time(specifier)]))
`

const sample = (root: string, specifier: string, first: string): readonly [number, number] =>
  JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "--eval", probe, specifier, first], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
  ) as [number, number]

export interface Row {
  readonly specifier: string
  /** Re-exported by the root: loads no client library, and the target applies. */
  readonly core: boolean
  readonly aloneMs: number
  readonly minusEffectMs: number
  readonly afterEffectMs: number
}

export interface Result {
  readonly runs: number
  readonly effectMs: number
  readonly rows: ReadonlyArray<Row>
}

/** The subpaths of the package.json exports (but `./package.json`), as import specifiers. */
const specifiers = (root: string): ReadonlyArray<string> => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; exports: Record<string, unknown> }
  return Object.keys(pkg.exports)
    .filter((key) => key !== "./package.json")
    .map((key) => (key === "." ? pkg.name : `${pkg.name}${key.slice(1)}`))
}

/** The namespaces the root re-exports (the core modules). */
const core = (root: string): ReadonlySet<string> =>
  new Set(
    Array.from(readFileSync(join(root, "src", "index.ts"), "utf8").matchAll(/^export \* as (\w+) from/gm), (m) => m[1]!)
  )

/** Quick mode measures these (the root, the modules of the README's examples, one module per integration). */
const quickSubpaths = new Set(["", "/Monoid", "/Pipeline", "/Fold", "/Source", "/MemoryStore", "/EmbeddedStore", "/KafkaSource", "/KafkaJs", "/MongoSnapshot", "/DynamoDbStore"])

/** One run of one subpath: its import alone, then `effect` and the subpath in a second process. */
interface Run {
  readonly alone: number
  readonly effect: number
  readonly after: number
}

const runOnce = (root: string, specifier: string): Run => {
  const [, alone] = sample(root, specifier, "-")
  const [effect, after] = sample(root, specifier, "effect")
  return { alone, effect, after }
}

export const measure = (root: string, mode: "quick" | "full"): Result => {
  const runs = mode === "quick" ? 2 : 5
  const all = specifiers(root)
  const name = all[0]!
  const selected = mode === "quick" ? all.filter((s) => quickSubpaths.has(s.slice(name.length))) : all
  const samples = new Map(selected.map((s) => [s, [] as Array<Run>]))
  // run by run over every subpath, so that a busy spell of the machine spreads over all of them
  for (let run = 0; run < runs; run++) {
    for (const specifier of selected) samples.get(specifier)!.push(runOnce(root, specifier))
  }
  const namespaces = core(root)
  const rows = selected.map((specifier): Row => {
    const subpath = specifier.slice(name.length + 1)
    const of = samples.get(specifier)!
    return {
      specifier,
      core: subpath === "" || namespaces.has(subpath),
      aloneMs: median(of.map((r) => r.alone)),
      minusEffectMs: median(of.map((r) => r.alone - r.effect)),
      afterEffectMs: median(of.map((r) => r.after))
    }
  })
  const effectMs = median(Array.from(samples.values()).flatMap((of) => of.map((r) => r.effect)))
  return { runs, effectMs, rows }
}

const ms = (n: number) => n.toFixed(1)

/** Met when both the cost minus `effect` and the cost after `effect` are under the target. */
export const meetsTarget = (row: Row): boolean => row.minusEffectMs < TARGET_MS && row.afterEffectMs < TARGET_MS

export const table = (result: Result): ReadonlyArray<ReadonlyArray<string>> => [
  ["subpath", "kind", "alone ms", "minus effect ms", "after effect ms", `target < ${TARGET_MS} ms`],
  ...result.rows.map((row) => [
    row.specifier,
    row.core ? "core" : "integration",
    ms(row.aloneMs),
    ms(row.minusEffectMs),
    ms(row.afterEffectMs),
    row.core ? (meetsTarget(row) ? "met" : "NOT met") : ""
  ]),
  ["effect (baseline)", "", ms(result.effectMs), "", "", ""]
]

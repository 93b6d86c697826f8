/**
 * Self time per function of a V8 CPU profile (`--cpu-prof`):
 * `node dist/bench/profile.js <file.cpuprofile> [top=30] [--packages]`. Prints the heaviest
 * functions (name, file and line), each with its milliseconds and share of the profile; `(idle)`,
 * `(garbage collector)` and `(program)` are V8's own entries. With `--packages`, the self time per
 * npm package (`nm:<name>`), Node module (`node:...`) or file of this project instead. With
 * `--lines <part of a file's path>`, the self time per source line of that file's functions (V8's
 * `positionTicks`; a line of a function inlined from another file is counted under the caller's
 * file, so read such lines in the built file they name).
 */
import { readFileSync } from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly positionTicks?: ReadonlyArray<{ readonly line: number; readonly ticks: number }>
}
interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const byPackage = args.includes("--packages")
const linesAt = args.indexOf("--lines")
const linesOf = linesAt >= 0 ? args[linesAt + 1] : undefined
const [file, topText = "30"] = args.filter((a, i) => a !== "--packages" && i !== linesAt && (linesAt < 0 || i !== linesAt + 1))
if (file === undefined || (linesAt >= 0 && linesOf === undefined)) {
  process.stderr.write("usage: node dist/bench/profile.js <file.cpuprofile> [top] [--packages | --lines <path part>]\n")
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))

/** The npm package, Node module or project file a frame's code is in (V8's own entries as they are). */
const packageOf = (frame: Node["callFrame"]): string => {
  if (frame.url === "") return frame.functionName
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)
  if (inModules !== null) return `nm:${inModules[1]}`
  return frame.url.startsWith("file://") ? frame.url.replace(/^file:\/\/.*?\/(dist|src|bench|examples|test)\//, "$1/") : frame.url
}

const self = new Map<string, number>()
/** Each node's self time, for `--lines`. */
const ofNode = new Map<number, number>()
let total = 0
profile.samples.forEach((id, i) => {
  const frame = byId.get(id)!.callFrame
  const where = frame.url === "" ? "" : ` ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`
  const name = byPackage ? packageOf(frame) : `${frame.functionName === "" ? "(anonymous)" : frame.functionName}${where}`
  const micros = profile.timeDeltas[i] ?? 0
  self.set(name, (self.get(name) ?? 0) + micros)
  ofNode.set(id, (ofNode.get(id) ?? 0) + micros)
  total += micros
})
if (linesOf !== undefined) {
  // a node's self time shared among its lines in proportion to their ticks
  self.clear()
  for (const node of profile.nodes) {
    const ticks = node.positionTicks ?? []
    const all = ticks.reduce((n, t) => n + t.ticks, 0)
    if (!node.callFrame.url.includes(linesOf) || all === 0) continue
    const file = node.callFrame.url.split("/").slice(-2).join("/")
    for (const t of ticks) self.set(`${file}:${t.line}`, (self.get(`${file}:${t.line}`) ?? 0) + ((ofNode.get(node.id) ?? 0) * t.ticks) / all)
  }
}
for (const [name, micros] of [...self].sort((x, y) => y[1] - x[1]).slice(0, Number(topText))) {
  console.log(`${(micros / 1000).toFixed(1).padStart(9)} ms ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`)
}
console.log(`${(total / 1000).toFixed(0).padStart(9)} ms in all`)

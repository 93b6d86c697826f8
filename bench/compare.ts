/**
 * Compares two builds on one scenario's library side:
 * `node dist/bench/compare.js <distA> <distB> <scenario> [rounds] [quick|full]`.
 *
 * `distA` and `distB` are `dist` folders of two builds (for an older commit:
 * `git worktree add /tmp/old <rev> && cd /tmp/old && npm ci && npm run build`). Each round runs one
 * fresh process of A, then one of B (`<dist>/bench/run.js --child <scenario> library <mode>`), so a
 * busy spell of the machine weighs on both; prints the median, min and max seconds of each build
 * and B's median relative to A's. The memory-bound fold scenarios vary by ±15-20% from one run to
 * the next on a shared VM, so one run of each says little: use 8 rounds or more. Scenarios that a
 * parent prepares (Kafka, MongoDB) take their environment from this process's.
 */
import { execFileSync } from "node:child_process"
import { join, resolve } from "node:path"

const [distA, distB, scenario, roundsText = "8", mode = "full"] = process.argv.slice(2)
if (distA === undefined || distB === undefined || scenario === undefined || (mode !== "quick" && mode !== "full")) {
  process.stderr.write("usage: node dist/bench/compare.js <distA> <distB> <scenario> [rounds] [quick|full]\n")
  process.exit(2)
}
const rounds = Number(roundsText)

const once = (dist: string): number => {
  const out = execFileSync(process.execPath, ["--expose-gc", join(resolve(dist), "bench", "run.js"), "--child", scenario, "library", mode], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    stdio: ["ignore", "pipe", "inherit"]
  })
  return (JSON.parse(out.trim().split("\n").pop() ?? "") as { seconds: number }).seconds
}

const describe = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  const median = s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
  return { median, min: s[0]!, max: s[s.length - 1]! }
}

const a: Array<number> = []
const b: Array<number> = []
for (let i = 0; i < rounds; i++) {
  a.push(once(distA))
  b.push(once(distB))
}
const da = describe(a)
const db = describe(b)
const line = (name: string, dist: string, d: ReturnType<typeof describe>) =>
  `${name} ${dist}: median ${d.median.toFixed(3)} s [${d.min.toFixed(3)}-${d.max.toFixed(3)}] over ${rounds} runs`
console.log(`${scenario} (${mode}), library side, alternating single-run processes`)
console.log(line("A", distA, da))
console.log(line("B", distB, db))
console.log(`B / A (median seconds): ${(db.median / da.median).toFixed(3)}`)

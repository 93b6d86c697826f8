/**
 * Sketch insert and merge rates: ours, a plain in-place implementation of the same algorithm
 * (`plain.ts`), and npm packages when they are installed. Not part of `npm run bench`.
 *
 *   node bench/sketch/compare.ts                                    # ours and plain only
 *   SKETCH_COMPARE_DIR=/tmp/sketchbench node bench/sketch/compare.ts # also the npm packages
 *   SKETCH_BENCH_JSON=out.json ...                                  # also write the rows as JSON
 *
 * SKETCH_COMPARE_DIR is a directory whose `node_modules` holds the packages compared (they are
 * not dependencies of this project): in it, `npm install bloom-filters@3.0.4 bloomfilter@1.1.0
 * mnemonist@0.40.8 xxhash-wasm@1.1.0 @node-rs/xxhash@1.7.8`. A package that does not load is
 * skipped. Every rate is the median of SKETCH_BENCH_ROUNDS (default 5) timed rounds after a warm-up
 * round, in operations per second, on one core. `bench/sketch/README.md` has the figures and what
 * follows from them.
 */
import { writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as BloomFilter from "../../src/BloomFilter.ts"
import * as CountMinSketch from "../../src/CountMinSketch.ts"
import * as DecayedSum from "../../src/DecayedSum.ts"
import * as Hash64 from "../../src/Hash64.ts"
import * as HyperLogLog from "../../src/HyperLogLog.ts"
import * as MisraGries from "../../src/MisraGries.ts"
import { digest, hashItem } from "../../src/internal/hash64.ts"
import * as TopK from "../../src/TopK.ts"
import {
  PlainBloom,
  PlainCountMin,
  PlainDecayed,
  PlainHyperLogLog,
  plainCountsAdd,
  plainCountsMergeInto,
  plainMisraGriesAdd
} from "./plain.ts"

const compareDir = process.env["SKETCH_COMPARE_DIR"]
const rounds = Number(process.env["SKETCH_BENCH_ROUNDS"] ?? 5)

/** Loads a package from SKETCH_COMPARE_DIR, or `undefined` (no directory, not installed, fails to load). */
const load = async (name: string): Promise<any> => {
  if (compareDir === undefined) return undefined
  try {
    const resolved = createRequire(path.join(path.resolve(compareDir), "noop.js")).resolve(name)
    const mod = await import(pathToFileURL(resolved).href)
    return mod.default ?? mod
  } catch (e) {
    console.log(`(${name} not loaded: ${e instanceof Error ? e.message.split("\n")[0] : String(e)})`)
    return undefined
  }
}

/** Median ops/s over `rounds` rounds of `ops` operations each, after one warm-up round. */
const rate = (ops: number, round: () => void): number => {
  round()
  const samples: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint()
    round()
    samples.push((ops * 1e9) / Number(process.hrtime.bigint() - t0))
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!
}

interface Row {
  readonly section: string
  readonly what: string
  readonly value: number | string
  readonly note: string
}
const rows: Array<Row> = []
let section = ""
const heading = (title: string) => {
  section = title
  console.log(`\n# ${title}`)
}
const show = (value: number | string): string =>
  typeof value !== "number" ? value : value >= 1e6 ? `${(value / 1e6).toFixed(2)} M/s` : `${(value / 1e3).toFixed(1)} k/s`
const row = (what: string, value: number | string, note = "") => {
  rows.push({ section, what, value, note })
  console.log(`${what.padEnd(64)} ${show(value).padStart(12)}  ${note}`)
}

const N = 200_000
const strings = Array.from({ length: N }, (_, i) => `user-${i}-${(i * 2654435761) >>> 0}`)
let sink = 0

const [bf, jd, mnemonist, wasm, noders] = await Promise.all([
  load("bloom-filters"),
  load("bloomfilter"),
  load("mnemonist/bloom-filter.js"),
  load("xxhash-wasm"),
  load("@node-rs/xxhash")
])

// ------------------------------------------------------------------------------------ hashing
heading("64-bit hash of ~20-character strings")
row("ours: internal hashItem → two 32-bit words (what the sketches use)", rate(N, () => {
  for (const s of strings) {
    hashItem(s, 0)
    sink += digest.lo & 1
  }
}))
row("ours: Hash64.hash (pure JS XXH64, bigint result)", rate(N, () => {
  for (const s of strings) sink += Number(Hash64.hash(s) & 1n)
}))
if (wasm !== undefined) {
  const { h64, h64Raw } = await wasm()
  row("xxhash-wasm 1.1.0 h64(string) → bigint", rate(N, () => {
    for (const s of strings) sink += Number(h64(s) & 1n)
  }))
  row("xxhash-wasm 1.1.0 h64(string) → two 32-bit words", rate(N, () => {
    for (const s of strings) {
      const h = h64(s)
      sink += (Number(h >> 32n) ^ Number(h & 0xffffffffn)) & 1
    }
  }))
  const enc = new TextEncoder()
  let same = 0
  for (const s of strings.slice(0, 1000)) if (h64Raw(enc.encode(s), 0n) === Hash64.hash(s)) same++
  row("  xxhash-wasm agrees with ours", `${same}/1000`)
}
if (noders !== undefined) {
  row("@node-rs/xxhash 1.7.8 xxh64(string) → bigint (native)", rate(N, () => {
    for (const s of strings) sink += Number(noders.xxh64(s) & 1n)
  }))
  let same = 0
  for (const s of strings.slice(0, 1000)) if (noders.xxh64(s) === Hash64.hash(s)) same++
  row("  @node-rs/xxhash agrees with ours", `${same}/1000`)
}

// ------------------------------------------------------------------------------------ HyperLogLog
heading("HyperLogLog, precision 14 (16384 registers)")
const p14 = { precision: 14 }
row("insert  ours: fromIterable (one fresh array, in place)", rate(N, () => {
  sink += HyperLogLog.fromIterable(strings, p14).precision
}))
row("insert  ours: combine(acc, of(item)) (pipeline fold, pure)", rate(2_000, () => {
  const m = HyperLogLog.monoid(p14)
  let s = m.empty
  for (let i = 0; i < 2_000; i++) s = m.combine(s, HyperLogLog.of(strings[i]!, p14))
  sink += s.precision
}), "copies 16 KiB per item")
row("insert  plain: in place", rate(N, () => {
  const h = new PlainHyperLogLog(14)
  for (const s of strings) h.add(s)
  sink += h.p
}))
if (bf !== undefined) {
  row("insert  bloom-filters 3.0.4 HyperLogLog.update", rate(4_000, () => {
    const h = new bf.HyperLogLog(2 ** 14)
    for (let i = 0; i < 4_000; i++) h.update(strings[i]!)
    sink += h.nbRegisters
  }))
}
const hllA = HyperLogLog.fromIterable(strings.slice(0, N / 2), p14)
const hllB = HyperLogLog.fromIterable(strings.slice(N / 2), p14)
row("merge   ours: merge (new sketch, SWAR max)", rate(5_000, () => {
  for (let i = 0; i < 5_000; i++) sink += HyperLogLog.merge(hllA, hllB).precision
}))
{
  const a = new PlainHyperLogLog(14), b = new PlainHyperLogLog(14)
  strings.forEach((s, i) => (i < N / 2 ? a : b).add(s))
  row("merge   plain: new sketch, byte loop", rate(5_000, () => {
    for (let i = 0; i < 5_000; i++) sink += a.merge(b).p
  }))
  row("merge   plain: in place", rate(5_000, () => {
    for (let i = 0; i < 5_000; i++) a.mergeInto(b)
  }))
}
if (bf !== undefined) {
  const a = new bf.HyperLogLog(2 ** 14), b = new bf.HyperLogLog(2 ** 14)
  for (let i = 0; i < 20_000; i++) (i % 2 === 0 ? a : b).update(strings[i]!)
  row("merge   bloom-filters HyperLogLog.merge (new sketch)", rate(500, () => {
    for (let i = 0; i < 500; i++) sink += a.merge(b).nbRegisters
  }))
}
const accuracy = (estimate: (xs: ReadonlyArray<string>) => number) => {
  const errors: Array<number> = []
  for (const n of [100, 1_000, 10_000, 50_000]) {
    for (let trial = 0; trial < 2; trial++) {
      const xs = Array.from({ length: n }, (_, i) => `t${trial}-n${n}-${i}`)
      errors.push((estimate(xs) - n) / n)
    }
  }
  const mean = errors.reduce((a, b) => a + Math.abs(b), 0) / errors.length
  const worst = errors.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0)
  return `mean |err| ${(mean * 100).toFixed(2)}%, worst ${(worst * 100).toFixed(2)}%`
}
row("accuracy ours (n = 100..50k, 8 streams; σ = 0.81%)", accuracy((xs) => HyperLogLog.estimate(HyperLogLog.fromIterable(xs, p14))))
if (bf !== undefined) {
  row("accuracy bloom-filters (same streams)", accuracy((xs) => {
    const h = new bf.HyperLogLog(2 ** 14)
    for (const x of xs) h.update(x)
    return h.count()
  }))
}
row("size    ours: encoding of a 10-item / full sketch", `${HyperLogLog.encode(HyperLogLog.fromIterable(strings.slice(0, 10), p14)).length} / ${HyperLogLog.encode(hllA).length} B`)
if (bf !== undefined) {
  const h = new bf.HyperLogLog(2 ** 14)
  for (let i = 0; i < 10; i++) h.update(strings[i]!)
  row("size    bloom-filters saveAsJSON, 10 items", `${JSON.stringify(h.saveAsJSON()).length} B`, "JSON only")
}

// ------------------------------------------------------------------------------------ Count-Min
heading("Count-Min sketch, 272 × 5 (ε = 1%, δ = 0.7%)")
const cmsOptions = { width: 272, depth: 5 }
row("insert  ours: fromIterable (in place, overflow-checked)", rate(N, () => {
  sink += CountMinSketch.total(CountMinSketch.fromIterable(strings, cmsOptions))
}))
row("insert  ours: combine(acc, of(item)) (pipeline fold, pure)", rate(20_000, () => {
  const g = CountMinSketch.group(cmsOptions)
  let s = g.empty
  for (let i = 0; i < 20_000; i++) s = g.combine(s, CountMinSketch.of(strings[i]!, cmsOptions))
  sink += CountMinSketch.total(s)
}), "copies 11 KB per item")
row("insert  plain: in place", rate(N, () => {
  const c = new PlainCountMin(272, 5)
  for (const s of strings) c.add(s)
  sink += c.width
}))
if (bf !== undefined) {
  row("insert  bloom-filters CountMinSketch.update", rate(20_000, () => {
    const c = new bf.CountMinSketch(272, 5)
    for (let i = 0; i < 20_000; i++) c.update(strings[i]!)
    sink += c.sum
  }))
}
const cmsA = CountMinSketch.fromIterable(strings.slice(0, N / 2), cmsOptions)
const cmsB = CountMinSketch.fromIterable(strings.slice(N / 2), cmsOptions)
row("merge   ours: merge (new sketch, overflow-checked)", rate(20_000, () => {
  for (let i = 0; i < 20_000; i++) sink += CountMinSketch.total(CountMinSketch.merge(cmsA, cmsB))
}))
{
  const a = new PlainCountMin(272, 5), b = new PlainCountMin(272, 5)
  strings.forEach((s, i) => (i < N / 2 ? a : b).add(s))
  row("merge   plain: new sketch", rate(20_000, () => {
    for (let i = 0; i < 20_000; i++) sink += a.merge(b).width
  }))
  row("merge   plain: in place", rate(20_000, () => {
    for (let i = 0; i < 20_000; i++) a.mergeInto(b)
  }))
}
if (bf !== undefined) {
  const a = new bf.CountMinSketch(272, 5), b = new bf.CountMinSketch(272, 5)
  for (let i = 0; i < 2_000; i++) (i % 2 === 0 ? a : b).update(strings[i]!)
  row("merge   bloom-filters CountMinSketch.merge (in place)", rate(20_000, () => {
    for (let i = 0; i < 20_000; i++) a.merge(b)
  }))
}
row("size    ours: encoding of the 100k-item sketch", `${CountMinSketch.encode(cmsA).length} B`, `${272 * 5} counters`)

// ------------------------------------------------------------------------------------ Bloom
const bloomOptions = BloomFilter.optimal({ expectedItems: N, falsePositiveRate: 0.01 })
heading(`Bloom filter, ${N / 1000}k items at 1% (${bloomOptions.bits} bits, ${bloomOptions.hashes} hashes)`)
row("insert  ours: fromIterable", rate(N, () => {
  sink += BloomFilter.fromIterable(strings, bloomOptions).bits
}))
row("insert  ours: combine(acc, of(item)) (pipeline fold, pure)", rate(500, () => {
  const m = BloomFilter.monoid(bloomOptions)
  let s = m.empty
  for (let i = 0; i < 500; i++) s = m.combine(s, BloomFilter.of(strings[i]!, bloomOptions))
  sink += s.bits
}), "copies 240 KB per item")
row("insert  plain: in place", rate(N, () => {
  const f = new PlainBloom(bloomOptions.bits, bloomOptions.hashes)
  for (const s of strings) f.add(s)
  sink += f.bits
}))
if (bf !== undefined) {
  row("insert  bloom-filters BloomFilter.add", rate(20_000, () => {
    const f = new bf.BloomFilter(bloomOptions.bits, bloomOptions.hashes)
    for (let i = 0; i < 20_000; i++) f.add(strings[i]!)
    sink += f.size
  }), "no merge in its API")
}
if (jd !== undefined) {
  row("insert  bloomfilter 1.1.0 add (FNV-1a on UTF-16 units)", rate(N, () => {
    const f = new jd.BloomFilter(bloomOptions.bits, bloomOptions.hashes)
    for (const s of strings) f.add(s)
    sink += f.k
  }))
}
if (mnemonist !== undefined) {
  row("insert  mnemonist 0.40 BloomFilter.add (32-bit murmur)", rate(N, () => {
    const f = new mnemonist({ capacity: N, errorRate: 0.01 })
    for (const s of strings) f.add(s)
    sink += f.capacity
  }), "no merge in its API")
}
const bloom = BloomFilter.fromIterable(strings, bloomOptions)
const bloomB = BloomFilter.fromIterable(strings.map((s) => `${s}!`), bloomOptions)
row("merge   ours: merge (new filter, 32-bit OR)", rate(2_000, () => {
  for (let i = 0; i < 2_000; i++) sink += BloomFilter.merge(bloom, bloomB).bits
}))
{
  const a = new PlainBloom(bloomOptions.bits, bloomOptions.hashes), b = new PlainBloom(bloomOptions.bits, bloomOptions.hashes)
  strings.forEach((s) => (a.add(s), b.add(`${s}!`)))
  row("merge   plain: new filter, byte loop", rate(2_000, () => {
    for (let i = 0; i < 2_000; i++) sink += a.merge(b).bits
  }))
  row("merge   plain: in place", rate(2_000, () => {
    for (let i = 0; i < 2_000; i++) a.mergeInto(b)
  }))
}
if (jd !== undefined) {
  const a = new jd.BloomFilter(bloomOptions.bits, bloomOptions.hashes), b = new jd.BloomFilter(bloomOptions.bits, bloomOptions.hashes)
  strings.forEach((s) => (a.add(s), b.add(`${s}!`)))
  row("merge   bloomfilter: OR of its public buckets (new filter)", rate(2_000, () => {
    for (let i = 0; i < 2_000; i++) {
      const out = new Uint32Array(a.buckets.length)
      for (let j = 0; j < out.length; j++) out[j] = a.buckets[j] | b.buckets[j]
      sink += new jd.BloomFilter(out, a.k).k
    }
  }))
}
{
  let fp = 0
  for (let i = 0; i < 100_000; i++) if (BloomFilter.mightContain(bloom, `absent-${i}`)) fp++
  row("accuracy ours: false-positive rate at capacity", `${(fp / 1000).toFixed(2)}%`, "target 1%")
}

// ------------------------------------------------------------------------------------ top-k
heading("Top-k over a skewed stream (10k distinct pages)")
const zipf = Array.from({ length: N }, (_, i) => `page-${Math.floor(10_000 * (((i * 2654435761) % 4294967296) / 4294967296) ** 3)}`)
row("insert  ours: TopK.fromIterable (exact map)", rate(N, () => {
  sink += TopK.fromIterable(zipf).size
}))
row("insert  ours: TopK combine(acc, of(item)) (pipeline fold, pure)", rate(2_000, () => {
  let s = TopK.empty
  for (let i = 0; i < 2_000; i++) s = TopK.group.combine(s, TopK.of(zipf[i]!))
  sink += s.size
}), "copies the map per item")
row("insert  plain: counts in a mutable Map", rate(N, () => {
  const m = new Map<string, number>()
  for (const s of zipf) plainCountsAdd(m, s)
  sink += m.size
}))
const topA = TopK.fromIterable(zipf.slice(0, N / 2)), topB = TopK.fromIterable(zipf.slice(N / 2))
row(`merge   ours: TopK.merge (new map; ~${topA.size} keys each)`, rate(200, () => {
  for (let i = 0; i < 200; i++) sink += TopK.merge(topA, topB).size
}))
row("merge   plain: copy + add into a Map", rate(200, () => {
  for (let i = 0; i < 200; i++) {
    const m = new Map(topA)
    plainCountsMergeInto(m, topB)
    sink += m.size
  }
}))
const mg = { capacity: 100 }
row("insert  ours: MisraGries(k=100).fromIterable", rate(N, () => {
  sink += MisraGries.fromIterable(zipf, mg).total
}))
row("insert  plain: Misra–Gries on a mutable Map", rate(N, () => {
  const m = new Map<string, number>()
  for (const s of zipf) plainMisraGriesAdd(m, 100, s)
  sink += m.size
}))
const mgA = MisraGries.fromIterable(zipf.slice(0, N / 2), mg), mgB = MisraGries.fromIterable(zipf.slice(N / 2), mg)
row("merge   ours: MisraGries(k=100).merge", rate(20_000, () => {
  for (let i = 0; i < 20_000; i++) sink += MisraGries.merge(mgA, mgB).total
}))
if (bf !== undefined) {
  row("insert  bloom-filters TopK(10, 0.001, 0.99).add", rate(20_000, () => {
    const t = new bf.TopK(10, 0.001, 0.99)
    for (let i = 0; i < 20_000; i++) t.add(zipf[i]!)
    sink += 1
  }), "no merge in its API")
}

// ------------------------------------------------------------------------------------ decayed sum
heading("Decayed sum (half-life 1 hour)")
const ds = { halfLife: 3_600_000 }
const events = Array.from({ length: N }, (_, i) => DecayedSum.of(1, i * 1000, ds))
row("insert  ours: merge(acc, of(1, t)) (pure)", rate(N, () => {
  let s = DecayedSum.make(ds)
  for (const e of events) s = DecayedSum.merge(s, e)
  sink += s.value
}))
row("insert  plain: in place", rate(N, () => {
  const d = new PlainDecayed(3_600_000)
  for (let i = 0; i < N; i++) d.add(1, i * 1000)
  sink += d.value
}))

console.log(`\n(${sink !== 0 ? "ok" : "?"}; Node ${process.version}, ${rounds} rounds per figure)`)
const out = process.env["SKETCH_BENCH_JSON"]
if (out !== undefined) writeFileSync(out, JSON.stringify(rows, null, 2))

/**
 * Prints the median of several `compare.ts` runs as the markdown tables of `README.md`:
 *
 *   node bench/sketch/summarize.ts run1.json run2.json run3.json
 *
 * Each file is what `SKETCH_BENCH_JSON=file node bench/sketch/compare.ts` wrote; the runs must have
 * the same rows (the same packages installed).
 */
import { readFileSync } from "node:fs"

interface Row {
  readonly section: string
  readonly what: string
  readonly value: number | string
  readonly note: string
}

const runs = process.argv.slice(2).map((file) => JSON.parse(readFileSync(file, "utf8")) as ReadonlyArray<Row>)
if (runs.length === 0) throw new Error("usage: node bench/sketch/summarize.ts run1.json [run2.json ...]")
const rate = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M/s` : `${(v / 1e3).toFixed(1)} k/s`)
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

let section: string | undefined
runs[0]!.forEach((first, i) => {
  const values = runs.map((run) => {
    const row = run[i]
    if (row?.what !== first.what) throw new Error(`the runs differ at row ${i}: ${first.what}`)
    return row.value
  })
  if (first.section !== section) {
    section = first.section
    console.log(`\n### ${section}\n\n| row | median | runs | note |\n| --- | ---: | --- | --- |`)
  }
  const numbers = values.filter((v): v is number => typeof v === "number")
  const cells = numbers.length === values.length
    ? [rate(median(numbers)), numbers.map(rate).join(" / ")]
    : [String(values[0]), new Set(values).size > 1 ? values.join(" / ") : ""]
  console.log(`| ${first.what.replace(/\s+/g, " ").replace(/\|/g, "\\|")} | ${cells[0]} | ${cells[1]} | ${first.note} |`)
})

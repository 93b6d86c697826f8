/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for the tests: it
 * refuses what Prometheus would refuse (bad names, bad label syntax or escapes, a sample before or
 * outside its family's `# TYPE`, a family declared twice, a repeated series, an unknown type,
 * unparsable values) and checks histograms (cumulative buckets ending with `le="+Inf"`, equal to
 * `_count`, and a `_sum`).
 */

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "untyped"
  readonly help: string | undefined
  readonly samples: Array<Sample>
}

export type Exposition = ReadonlyMap<string, Family>

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

const fail = (line: number, message: string, text: string): never => {
  throw new Error(`line ${line}: ${message}: ${JSON.stringify(text)}`)
}

const parseValue = (text: string, line: number, raw: string): number => {
  if (text === "+Inf") return Number.POSITIVE_INFINITY
  if (text === "-Inf") return Number.NEGATIVE_INFINITY
  if (text === "NaN") return Number.NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail(line, "bad value", raw)
  return Number(text)
}

/** Reads `{a="1",b="x\"y"}` from `text` at `start` (just after the metric name); returns the labels and the index after `}`. */
const parseLabels = (text: string, start: number, line: number): [Record<string, string>, number] => {
  const labels: Record<string, string> = {}
  let i = start + 1
  while (true) {
    if (text[i] === "}") return [labels, i + 1]
    const eq = text.indexOf("=", i)
    if (eq < 0) fail(line, "label without =", text)
    const name = text.slice(i, eq)
    if (!LABEL_NAME.test(name)) fail(line, `bad label name ${name}`, text)
    if (name in labels) fail(line, `label ${name} twice`, text)
    if (text[eq + 1] !== "\"") fail(line, "label value not quoted", text)
    let value = ""
    let j = eq + 2
    for (; j < text.length && text[j] !== "\""; j++) {
      if (text[j] === "\\") {
        const next = text[++j]
        if (next === "n") value += "\n"
        else if (next === "\\" || next === "\"") value += next
        else fail(line, "bad escape in a label value", text)
      } else if (text[j] === "\n") {
        fail(line, "raw newline in a label value", text)
      } else {
        value += text[j]
      }
    }
    if (j >= text.length) fail(line, "unterminated label value", text)
    labels[name] = value
    i = j + 1
    if (text[i] === ",") i++
    else if (text[i] !== "}") fail(line, "expected , or }", text)
  }
}

/** The family a sample name belongs to (a histogram's `_bucket`, `_sum`, `_count` belong to it). */
const familyOf = (families: Map<string, Family>, name: string): Family | undefined => {
  const direct = families.get(name)
  if (direct !== undefined) return direct
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue
    const base = families.get(name.slice(0, -suffix.length))
    if (base !== undefined && (base.type === "histogram" || (base.type === "summary" && suffix !== "_bucket"))) return base
  }
  return undefined
}

const checkHistogram = (family: Family): void => {
  const series = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>()
  for (const s of family.samples) {
    const { le, ...rest } = s.labels
    const id = JSON.stringify(Object.entries(rest).sort())
    const entry = series.get(id) ?? { buckets: [] }
    series.set(id, entry)
    if (s.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`)
      entry.buckets.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), s.value])
    } else if (s.name.endsWith("_sum")) entry.sum = s.value
    else if (s.name.endsWith("_count")) entry.count = s.value
  }
  for (const [id, entry] of series) {
    const last = entry.buckets[entry.buckets.length - 1]
    if (last === undefined || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${family.name} ${id}: no le="+Inf" bucket last`)
    for (let k = 1; k < entry.buckets.length; k++) {
      if (!(entry.buckets[k]![0] > entry.buckets[k - 1]![0])) throw new Error(`${family.name} ${id}: buckets not in increasing le`)
      if (entry.buckets[k]![1] < entry.buckets[k - 1]![1]) throw new Error(`${family.name} ${id}: buckets not cumulative`)
    }
    if (entry.count !== last[1]) throw new Error(`${family.name} ${id}: _count ${entry.count} is not the +Inf bucket ${last[1]}`)
    if (entry.sum === undefined) throw new Error(`${family.name} ${id}: no _sum`)
  }
}

/** Parses an exposition; throws an `Error` naming the line at the first violation. */
export const parse = (text: string): Exposition => {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition must end with a newline")
  const families = new Map<string, Family>()
  const helps = new Map<string, string>()
  const seen = new Set<string>()
  let current: Family | undefined
  const lines = text.split("\n")
  lines.pop()
  lines.forEach((raw, index) => {
    const line = index + 1
    if (raw.trim() === "") return
    if (raw.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw)
      if (m === null) return // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string]
      if (!METRIC_NAME.test(name)) fail(line, "bad metric name", raw)
      if (kind === "HELP") {
        if (helps.has(name)) fail(line, "HELP twice", raw)
        helps.set(name, rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\"))
        return
      }
      if (families.has(name)) fail(line, "TYPE twice", raw)
      if (!TYPES.has(rest)) fail(line, "unknown type", raw)
      current = { name, type: rest as Family["type"], help: undefined, samples: [] }
      families.set(name, current)
      return
    }
    const nameEnd = raw.search(/[{ ]/)
    if (nameEnd <= 0) fail(line, "no metric name", raw)
    const name = raw.slice(0, nameEnd)
    if (!METRIC_NAME.test(name)) fail(line, "bad metric name", raw)
    const [labels, after] = raw[nameEnd] === "{" ? parseLabels(raw, nameEnd, line) : [{}, nameEnd]
    const fields = raw.slice(after).trim().split(/ +/)
    if (fields.length < 1 || fields.length > 2 || fields[0] === "") fail(line, "expected a value and an optional timestamp", raw)
    const value = parseValue(fields[0]!, line, raw)
    const family = familyOf(families, name)
    if (family === undefined) fail(line, "a sample without a TYPE", raw)
    if (family !== current) fail(line, "a sample outside its family's block", raw)
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (seen.has(series)) fail(line, "a series twice", raw)
    seen.add(series)
    family!.samples.push({ name, labels, value })
  })
  for (const family of families.values()) {
    ;(family as { help: string | undefined }).help = helps.get(family.name)
    if (family.type === "histogram") checkHistogram(family)
  }
  return families
}

/** The value of the sample `name` whose labels include `labels`, or `undefined`. */
export const valueOf = (exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined => {
  for (const family of exposition.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value
    }
  }
  return undefined
}

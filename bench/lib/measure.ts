/** What one benchmark run reports, and how runs are summarised. */

export interface Sample {
  /** records processed */
  readonly records: number
  readonly seconds: number
  /** store round trips (0 for ceilings without a store) */
  readonly roundTrips: number
  /** aggregate keys written (store writes) */
  readonly writes: number
  /** peak resident set size of the process, MiB */
  readonly peakRssMiB: number
  /**
   * every row or item written to the store (aggregate keys and ledger entries) or, for a store
   * ceiling, the raw writes it made; scenarios that compare write rates set it
   */
  readonly storeWrites?: number
  readonly extra?: Record<string, number>
}

export const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024

export const time = async (
  f: () => Promise<{ records: number; roundTrips?: number; writes?: number; storeWrites?: number; extra?: Record<string, number> }>
): Promise<Sample> => {
  const start = process.hrtime.bigint()
  const r = await f()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return {
    records: r.records,
    seconds,
    roundTrips: r.roundTrips ?? 0,
    writes: r.writes ?? 0,
    peakRssMiB: peakRssMiB(),
    ...(r.storeWrites === undefined ? {} : { storeWrites: r.storeWrites }),
    ...(r.extra === undefined ? {} : { extra: r.extra })
  }
}

export interface Summary {
  readonly runs: number
  readonly rate: { readonly median: number; readonly min: number; readonly max: number }
  readonly nsPerRecord: number
  readonly roundTripsPerRecord: number
  readonly writesPerRecord: number
  readonly peakRssMiB: number
  /** store writes per second: median [min-max] over the runs (when the samples count them) */
  readonly storeWritesPerSecond?: { readonly median: number; readonly min: number; readonly max: number }
  readonly extra?: Record<string, number>
}

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Each `extra` figure's median over the samples that report it. */
const medianExtra = (samples: ReadonlyArray<Sample>, keys: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.keys(keys).map((k) => [k, median(samples.flatMap((s) => s.extra?.[k] === undefined ? [] : [s.extra[k]]))]))

export const summarise = (samples: ReadonlyArray<Sample>): Summary => {
  const rates = samples.map((s) => s.records / s.seconds)
  const med = median(rates)
  const first = samples[0]!
  return {
    runs: samples.length,
    rate: { median: med, min: Math.min(...rates), max: Math.max(...rates) },
    nsPerRecord: 1e9 / med,
    roundTripsPerRecord: median(samples.map((s) => s.roundTrips / s.records)),
    writesPerRecord: median(samples.map((s) => s.writes / s.records)),
    peakRssMiB: Math.max(...samples.map((s) => s.peakRssMiB)),
    ...(samples.every((s) => s.storeWrites !== undefined)
      ? (() => {
        const w = samples.map((s) => s.storeWrites! / s.seconds)
        return { storeWritesPerSecond: { median: median(w), min: Math.min(...w), max: Math.max(...w) } }
      })()
      : {}),
    ...(first.extra === undefined ? {} : { extra: medianExtra(samples, first.extra) })
  }
}

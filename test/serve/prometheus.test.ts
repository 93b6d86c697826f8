/**
 * The `/metrics` exposition is effect's own Prometheus formatter (`effect/observability`'s
 * `PrometheusMetrics`): checked here against the tests' strict reader of the text format, for every
 * kind of effect metric and for label values that need escaping. The reader itself is checked on
 * texts it must accept and texts it must refuse.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import * as Prometheus from "./prometheus.ts"

describe("the Prometheus text format", () => {
  it.effect("effect's formatter writes every kind of metric as valid text, escaping label values", () =>
    Effect.gen(function*() {
      const counter = Metric.counter("t_requests", { description: "requests\nwith a \\ backslash" })
      const gauge = Metric.gauge("t_level")
      const histogram = Metric.histogram("t_ms", { boundaries: [1, 10, 100] })
      const summary = Metric.summary("t_size", { maxAge: "1 minute", maxSize: 100, quantiles: [0.5, 0.99] })
      const frequency = Metric.frequency("t_words")
      const tricky = { pipeline: "a \"quoted\" name\nwith a newline and a \\", source: "s" }
      yield* Metric.update(Metric.withAttributes(counter, tricky), 3)
      yield* Metric.update(Metric.withAttributes(counter, { pipeline: "plain", source: "s" }), 1)
      yield* Metric.update(gauge, -2.5)
      for (const x of [0.5, 5, 50, 500]) yield* Metric.update(Metric.withAttributes(histogram, { route: "/x" }), x)
      for (const x of [1, 2, 3]) yield* Metric.update(summary, x)
      yield* Metric.update(frequency, "a")
      yield* Metric.update(frequency, "b")
      yield* Metric.update(frequency, "a")

      const m = Prometheus.parse(yield* PrometheusMetrics.format())
      expect(m.get("t_requests")).toMatchObject({ type: "counter", help: "requests\nwith a \\ backslash" })
      expect(Prometheus.valueOf(m, "t_requests", tricky)).toBe(3)
      expect(Prometheus.valueOf(m, "t_requests", { pipeline: "plain" })).toBe(1)
      expect(Prometheus.valueOf(m, "t_level")).toBe(-2.5)
      expect(m.get("t_ms")?.type).toBe("histogram")
      expect(Prometheus.valueOf(m, "t_ms_bucket", { route: "/x", le: "10" })).toBe(2)
      expect(Prometheus.valueOf(m, "t_ms_bucket", { route: "/x", le: "+Inf" })).toBe(4)
      expect(Prometheus.valueOf(m, "t_ms_sum", { route: "/x" })).toBe(555.5)
      expect(m.get("t_size")?.type).toBe("summary")
      expect(Prometheus.valueOf(m, "t_size_count")).toBe(3)
      expect(Prometheus.valueOf(m, "t_words", { key: "a" })).toBe(2)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it("the reader accepts the format's forms", () => {
    const m = Prometheus.parse([
      "# a comment",
      "# HELP x_total Things.",
      "# TYPE x_total counter",
      "x_total{a=\"1\",b=\"two words\"} 12 1700000000000",
      "x_total 1e3",
      "",
      "# TYPE y gauge",
      "y +Inf",
      "y{k=\"\"} NaN",
      "# TYPE h histogram",
      "h_bucket{le=\"1\"} 0",
      "h_bucket{le=\"+Inf\"} 2",
      "h_sum 3.5",
      "h_count 2",
      ""
    ].join("\n"))
    expect(Prometheus.valueOf(m, "x_total", { b: "two words" })).toBe(12)
    expect(Prometheus.valueOf(m, "x_total", {})).toBe(12)
    expect(m.get("x_total")?.samples[1]?.value).toBe(1000)
    expect(Prometheus.valueOf(m, "y")).toBe(Number.POSITIVE_INFINITY)
    expect(m.get("x_total")?.help).toBe("Things.")
  })

  it("the reader refuses what Prometheus refuses", () => {
    const bad = [
      "x 1\n", // no TYPE
      "# TYPE x counter\nx 1", // no final newline
      "# TYPE x counter\n# TYPE x counter\nx 1\n", // TYPE twice
      "# TYPE x widget\nx 1\n", // unknown type
      "# TYPE 1x counter\n1x 1\n", // bad name
      "# TYPE x counter\nx{1a=\"v\"} 1\n", // bad label name
      "# TYPE x counter\nx{a=v} 1\n", // unquoted label value
      "# TYPE x counter\nx{a=\"v\\t\"} 1\n", // bad escape
      "# TYPE x counter\nx{a=\"v\"} one\n", // bad value
      "# TYPE x counter\nx 1\nx 2\n", // a series twice
      "# TYPE x counter\n# TYPE y gauge\nx 1\n", // a sample outside its block
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", // not cumulative
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", // no +Inf
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n" // count differs
    ]
    for (const text of bad) expect(() => Prometheus.parse(text), text).toThrow()
  })
})

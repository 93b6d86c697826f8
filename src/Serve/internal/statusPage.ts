/**
 * The status page (`GET /status`): the status of `GET /v1/status` rendered on the server as one
 * HTML page, every value escaped, with a search box whose little script reads a key's aggregate
 * from the JSON API (`v1/pipelines/:pipeline/keys/:key`, with the bearer token typed in the page
 * when the API requires one). The script runs under a per-response nonce (Content-Security-Policy);
 * the page loads nothing else. Elements carry `data-*` attributes naming what they show, for tools
 * and tests.
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import type { PipelineInfo, PipelineStatus, Status } from "../QueryApi.ts"

type PipelineStatusT = typeof PipelineStatus.Type

const ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }

/** `text` safe inside HTML text and double-quoted attributes. */
export const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)

const integer = (n: number): string => Math.round(n).toLocaleString("en-US")

const seconds = (s: number): string => s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`

const progressOf = (p: PipelineStatusT["progress"]): string => {
  if (p === null) return "—"
  if (p.estimated === null || p.estimated <= 0) return `${integer(p.scanned)} documents scanned`
  const percent = Math.min(100, (100 * p.scanned) / p.estimated)
  return `${integer(p.scanned)} / ${integer(p.estimated)} documents (${percent.toFixed(1)}%)`
}

const throughputOf = (p: PipelineStatusT): string =>
  p.throughput.map((t) => {
    const span = `last ${seconds(t.window)}`
    if (t.recordsPerSecond === null) return `<span data-span="${t.window}">${span}: —</span>`
    const partial = t.seconds < t.window - 1 ? ` (${seconds(t.seconds)} measured)` : ""
    return `<span data-span="${t.window}" data-rate="${t.recordsPerSecond}">${span}: ${t.recordsPerSecond.toFixed(1)}/s${partial}</span>`
  }).join("<br>")

const row = (p: PipelineStatusT): string => `<tr data-pipeline="${escape(p.name)}">
<th scope="row">${escape(p.name)}</th>
<td data-field="phase" class="phase-${p.phase.replace(" ", "-")}">${escape(p.phase)}</td>
<td data-field="progress"${p.progress === null ? "" : ` data-scanned="${p.progress.scanned}" data-estimated="${p.progress.estimated ?? ""}"`}>${
  escape(progressOf(p.progress))
}</td>
<td data-field="records">${integer(p.records)}</td>
<td data-field="throughput">${throughputOf(p)}</td>
<td data-field="lag">${p.changeStreamLagSeconds === null ? "—" : `${p.changeStreamLagSeconds.toFixed(1)} s`}</td>
<td data-field="dead-letters">${p.deadLetters.count === null ? "?" : integer(p.deadLetters.count)}</td>
</tr>`

const deadLetters = (p: PipelineStatusT): string => {
  const body = p.deadLetters.error !== undefined
    ? `<p class="error">${escape(p.deadLetters.error)}</p>`
    : p.deadLetters.recent.length === 0
    ? "<p>none</p>"
    : `<ol>${
      p.deadLetters.recent.map((l) =>
        `<li data-dead-letter data-doc-id="${escape(l.docId ?? "")}"><time>${new Date(l.at).toISOString()}</time> ` +
        `<code>${escape(l.partition)}#${l.seq}</code>${l.docId === null ? "" : ` document <code>${escape(l.docId)}</code>`}: ` +
        `<span data-field="reason">${escape(l.reason)}</span></li>`
      ).join("\n")
    }</ol>`
  return `<section data-dead-letters="${escape(p.name)}"><h3>${escape(p.name)}</h3>${body}</section>`
}

const kafka = (status: typeof Status.Type): string =>
  status.kafkaLag.length === 0 ? "" : `<h2>Kafka consumer lag</h2>
<table><thead><tr><th>group</th><th>topic</th><th>partition</th><th>lag</th></tr></thead><tbody>
${
    status.kafkaLag.map((l) =>
      `<tr data-kafka-lag><td>${escape(l.group)}</td><td>${escape(l.topic)}</td><td>${escape(l.partition)}</td><td data-field="lag">${
        integer(l.lag)
      }</td></tr>`
    ).join("\n")
  }</tbody></table>`

const SCRIPT = `
const form = document.getElementById("search")
form.addEventListener("submit", async (event) => {
  event.preventDefault()
  const out = document.getElementById("result")
  const pipeline = document.getElementById("pipeline").value
  const key = document.getElementById("key").value
  const token = document.getElementById("token")
  const headers = token !== null && token.value !== "" ? { authorization: "Bearer " + token.value } : {}
  out.dataset.state = "loading"
  out.textContent = "…"
  try {
    const response = await fetch("v1/pipelines/" + encodeURIComponent(pipeline) + "/keys/" + encodeURIComponent(key), { headers })
    const body = await response.json()
    if (!response.ok) {
      out.dataset.state = "error"
      out.textContent = body.detail ?? body.title ?? String(response.status)
      return
    }
    out.dataset.state = body.found ? "found" : "missing"
    out.textContent = JSON.stringify(body.value)
  } catch (error) {
    out.dataset.state = "error"
    out.textContent = String(error)
  }
})
`

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}.phase-live{color:#070}
.phase-bootstrapping{color:#a60}.error{color:#b00}code{font-size:90%}output{font-family:monospace;margin-left:1em}`

/** The page, and the Content-Security-Policy that lets its script (and only it) run. */
export const render = (
  status: typeof Status.Type,
  pipelines: ReadonlyArray<typeof PipelineInfo.Type>,
  options: { readonly tokenRequired: boolean }
): { readonly html: string; readonly csp: string } => {
  const nonce = randomBytes(16).toString("base64")
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pipelines status</title>
<meta name="viewport" content="width=device-width">
<style nonce="${nonce}">${STYLE}</style></head>
<body>
<h1>Pipelines</h1>
<p>As of <time data-field="at" datetime="${new Date(status.at).toISOString()}">${new Date(status.at).toISOString()}</time>
(<a href="status">refresh</a>, <a href="v1/status">JSON</a>, <a href="metrics">metrics</a>)</p>
<table id="pipelines"><thead><tr><th>pipeline</th><th>phase</th><th>bootstrap progress</th><th>records</th><th>throughput</th>
<th>change-stream lag</th><th>dead letters</th></tr></thead>
<tbody>
${status.pipelines.map(row).join("\n")}
</tbody></table>
${kafka(status)}
<h2>Read a key</h2>
<form id="search">
<select id="pipeline" aria-label="pipeline">${
    pipelines.map((p) => `<option value="${escape(p.name)}">${escape(p.name)}${p.windowed ? " (key|bucket)" : ""}</option>`).join("")
  }</select>
<input id="key" aria-label="key" placeholder="key" required>
${options.tokenRequired ? "<input id=\"token\" type=\"password\" aria-label=\"token\" placeholder=\"bearer token\">" : ""}
<button type="submit">Read</button><output id="result" data-state="idle"></output>
</form>
<h2>Recent dead letters</h2>
${status.pipelines.map(deadLetters).join("\n")}
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>
`
  return {
    html,
    csp: `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; form-action 'none'; base-uri 'none'`
  }
}

/**
 * The query server's outermost middleware, around every route (the API, `/metrics`, the docs) and
 * around the router's own "no route" answer:
 *
 * - an error response without a body (a path that matches no route, a method not served, a
 *   failure without a rendering) gets an RFC 9457 body (`about:blank`, the status and its title),
 *   so every 4xx and 5xx of the server is a problem;
 * - a `401` carries `WWW-Authenticate: Bearer` (RFC 6750);
 * - request bodies are limited to `maxBodyBytes` (effect reads them without a limit by default);
 * - a failure that reached it (a defect) is logged with its cause and answered with a 500 problem;
 *   an interruption (the client went away) passes through;
 * - each request is counted in `monoid_http_requests` (method, route template, status) and timed
 *   in `monoid_http_request_ms` (method, route template). Route templates keep the label values
 *   bounded (`/v1/pipelines/:pipeline/keys/:key`, `unmatched` for a path that matches none).
 *
 * @internal
 */
import { STATUS_CODES } from "node:http"
import * as ByteSize from "effect/ByteSize"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import { HttpIncomingMessage, HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"

const requests = Metric.counter("monoid_http_requests", { description: "HTTP requests answered by the query server" })
const durations = Metric.histogram("monoid_http_request_ms", {
  description: "time to answer an HTTP request of the query server, in milliseconds",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 14 })
})

const PROBLEM = "application/problem+json"

/** The problem body of a bodiless error response. */
const problemOf = (response: HttpServerResponse.HttpServerResponse, detail: string | undefined) =>
  HttpServerResponse.jsonUnsafe(
    {
      type: "about:blank",
      status: response.status,
      title: STATUS_CODES[response.status] ?? "Error",
      ...(detail === undefined ? {} : { detail })
    },
    { status: response.status, headers: response.headers, contentType: PROBLEM }
  )

const routeOf = Effect.map(
  Effect.serviceOption(HttpRouter.RouteContext),
  Option.match({ onNone: () => "unmatched", onSome: (context) => context.route.path })
)

/** The response of a failed request, and whether it must be logged (a defect or a 5xx). */
const responseOfFailure = (cause: Cause.Cause<unknown>) =>
  Effect.map(HttpServerError.causeResponse(cause), ([response]) => response)

const finish = (
  response: HttpServerResponse.HttpServerResponse,
  request: HttpServerRequest.HttpServerRequest,
  route: string
): HttpServerResponse.HttpServerResponse => {
  let out = response
  if (out.status >= 400 && out.body._tag === "Empty" && request.method !== "HEAD") {
    const detail = route === "unmatched" && out.status === 404
      ? `no route for ${request.method} ${request.url.split("?")[0]!.slice(0, 200)}`
      : undefined
    out = problemOf(out, detail)
  }
  if (out.status === 401 && out.headers["www-authenticate"] === undefined) {
    out = HttpServerResponse.setHeader(out, "www-authenticate", "Bearer")
  }
  return out
}

const record = (method: string, route: string, status: number, millis: number) =>
  Effect.andThen(
    Metric.update(Metric.withAttributes(requests, { method, route, status: String(status) }), 1),
    Metric.update(Metric.withAttributes(durations, { method, route }), millis)
  )

/** The middleware (see the module doc), as a global router layer; request bodies over `maxBodyBytes` are refused. */
export const layer = (options: { readonly maxBodyBytes: number }) => {
  const maxBodySize = ByteSize.bytes(options.maxBodyBytes)
  return HttpRouter.middleware((httpEffect) =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const request = yield* HttpServerRequest.HttpServerRequest
      // the route is read where the router left it: providing a service restores the context after
      const [exit, route] = yield* Effect.provideService(
        Effect.zip(Effect.exit(httpEffect), routeOf),
        HttpIncomingMessage.MaxBodySize,
        maxBodySize
      )
      if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
      let response: HttpServerResponse.HttpServerResponse
      if (Exit.isSuccess(exit)) {
        response = exit.value
      } else {
        response = yield* responseOfFailure(exit.cause)
        if (response.status >= 500) yield* Effect.logError(`${request.method} ${route} failed`, exit.cause)
      }
      response = finish(response, request, route)
      yield* record(request.method, route, response.status, (yield* Clock.currentTimeMillis) - started)
      return response
    }), { global: true })
}

/**
 * The bearer-token check of the query server: the presented token is compared with the configured
 * one in constant time (both hashed first, so neither their contents nor their lengths leak
 * through timing). The configured token stays `Redacted`.
 *
 * @internal
 */
import { createHash, timingSafeEqual } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { Unauthorized } from "../QueryApi.ts"

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** Whether a presented token is the configured one; everything passes when none is configured. */
export type Check = (presented: string | undefined) => boolean

/** The check of `token`; `undefined`: authentication is off. */
export const makeCheck = (token: Redacted.Redacted<string> | undefined): Check => {
  if (token === undefined) return () => true
  const expected = digest(Redacted.value(token))
  return (presented) => presented !== undefined && presented !== "" && timingSafeEqual(digest(presented), expected)
}

/** The token of an `Authorization: Bearer <token>` header value, if it has one. */
export const bearerOf = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  const match = /^Bearer +(\S+)$/i.exec(header.trim())
  return match?.[1]
}

/** The refusal of a presented token (or of none). */
export const unauthorized = (presented: string | undefined): Unauthorized =>
  new Unauthorized({
    detail: presented === undefined || presented === ""
      ? "a bearer token is required (Authorization: Bearer <token>)"
      : "the bearer token is not valid"
  })

/** Lets `effect` run when `presented` passes `check`, else fails with `Unauthorized`. */
export const guard = <A, E, R>(check: Check, presented: string | undefined, effect: Effect.Effect<A, E, R>) =>
  check(presented) ? effect : Effect.fail(unauthorized(presented))

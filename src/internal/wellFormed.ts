/**
 * Whether a string is well-formed UTF-16 (no lone surrogates), which UTF-8 can hold as it is:
 * DynamoDB's strings and SQLite's text are UTF-8, and a lone surrogate bound to either comes back
 * as U+FFFD. (`String.prototype.isWellFormed` is ES2024, past this package's target.)
 *
 * @internal
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** @internal */
export const isWellFormed = (s: string): boolean => !LONE_SURROGATE.test(s)

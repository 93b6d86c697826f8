/**
 * Writes `value` as an own, enumerable field `key` of `target`. A plain assignment cannot write a
 * field named `__proto__` (it sets the object's prototype instead), and document field names are
 * data: MongoDB, JSON and Extended JSON all allow that name.
 *
 * @internal
 */
export const setOwn = (target: Record<string, unknown>, key: string, value: unknown): void => {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

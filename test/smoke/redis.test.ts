/**
 * Smoke test of the Redis/Valkey test server through ioredis: INCRBY, GET, MGET, EXPIRE/TTL.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { redisUrl, requireService, uniqueName } from "../support/services.ts"

describe("Redis (smoke)", () => {
  let redis: Redis
  const prefix = uniqueName("smoke")

  beforeAll(async () => {
    await requireService("redis")
    redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 })
    await redis.connect()
  })

  afterAll(async () => {
    if (redis) {
      const keys = await redis.keys(`${prefix}:*`)
      if (keys.length > 0) await redis.del(...keys)
      await redis.quit()
    }
  })

  it("INCRBY, GET, MGET and EXPIRE", async () => {
    const a = `${prefix}:total:a`
    const b = `${prefix}:total:b`
    expect(await redis.incrby(a, 1250)).toBe(1250)
    expect(await redis.incrby(a, -250)).toBe(1000)
    expect(await redis.incrby(b, 7)).toBe(7)
    expect(await redis.get(a)).toBe("1000")
    expect(await redis.mget(a, b, `${prefix}:missing`)).toEqual(["1000", "7", null])

    expect(await redis.ttl(a)).toBe(-1) // no expiry yet
    expect(await redis.expire(a, 60)).toBe(1)
    const ttl = await redis.ttl(a)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60)
    expect(await redis.expire(`${prefix}:missing`, 60)).toBe(0)

    // an expiry that runs out: the key is gone
    expect(await redis.pexpire(b, 50)).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(await redis.get(b)).toBeNull()
    expect(await redis.exists(b)).toBe(0)
  })
})

import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two files at a time even on two cores (vitest's default there is one): most files wait on
    // servers and child processes, and the whole suite took 585 s instead of 758 s on the 2-core
    // CI machine class. Tests that time a process give it minutes, not seconds.
    maxWorkers: Math.max(2, availableParallelism() - 1)
  }
})

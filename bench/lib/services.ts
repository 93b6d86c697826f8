/** Endpoints for the benchmarks that need servers (read from the environment or .services/env). */
import { readFileSync } from "node:fs"
import { join } from "node:path"

let file: Record<string, string> | undefined
export const setting = (name: string): string | undefined => {
  if (process.env[name] !== undefined && process.env[name] !== "") return process.env[name]
  if (file === undefined) {
    file = {}
    try {
      for (const line of readFileSync(join(process.cwd(), ".services", "env"), "utf8").split("\n")) {
        const eq = line.indexOf("=")
        if (eq > 0 && !line.startsWith("#")) file[line.slice(0, eq).trim()] = line.slice(eq + 1).trim()
      }
    } catch {
      // no env file: only the environment counts
    }
  }
  return file[name]
}

export const required = (name: string): string => {
  const value = setting(name)
  if (value === undefined) throw new Error(`${name} is not set: run \`bash scripts/services.sh up\` (or npm run bench, which does)`)
  return value
}

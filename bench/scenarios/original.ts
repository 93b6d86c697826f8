/**
 * The Go original, Murmur (github.com/gallowaysoftware/murmur), on the whole-process events
 * workload: `events-1m-process-original{,-positional}` (issue 16 measured its target against it).
 *
 * bench/original/main.go is a small program of this repository that runs the original's own
 * parts over events-1m-process's file: its JSON-Lines source, its streaming runtime, and a
 * map-backed store (the original has no in-memory one). The original is not served by the Go
 * module proxy, so the program is built against a checkout named by `MURMUR_SRC` (`git clone
 * https://github.com/gallowaysoftware/murmur`; measured at effbded55fad33283eb76e3af57d7f24f9ff6153):
 * a copy of bench/original/go.mod whose replace points there, built into `.cache/bench-original/`.
 * Without `MURMUR_SRC`, or without a Go toolchain, the scenarios are skipped with a note.
 */
import { execFileSync, type ExecFileSyncOptions } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { findGo } from "./native.ts"

const here = dirname(fileURLToPath(import.meta.url))
/** The repository (this module runs from bench/scenarios or from dist/bench/scenarios). */
const root = join(here, "..", "..", here.includes("/dist/") ? ".." : "")

const MODULE = "github.com/gallowaysoftware/murmur"

/** The checkout of the original named by `MURMUR_SRC`, or why there is none. */
const checkout = (): { readonly path: string } | { readonly reason: string } => {
  const given = process.env["MURMUR_SRC"]
  if (given === undefined || given === "") {
    return { reason: `MURMUR_SRC is not set: clone ${MODULE} (git clone https://${MODULE}) and set MURMUR_SRC to it to compare with the Go original` }
  }
  const path = resolve(given)
  const goMod = join(path, "go.mod")
  if (!existsSync(goMod) || !readFileSync(goMod, "utf8").startsWith(`module ${MODULE}\n`)) {
    return { reason: `MURMUR_SRC=${given} is not a checkout of ${MODULE} (no go.mod naming that module)` }
  }
  return { path }
}

/** Why the scenarios cannot run here, or `undefined` when they can. */
export const skip = (): string | undefined => {
  const found = checkout()
  if ("reason" in found) return found.reason
  return findGo() === undefined ? "no Go toolchain (neither /usr/local/go/bin/go nor go on the PATH): install Go to build the Go original" : undefined
}

/** Builds bench/original against the checkout into .cache/bench-original/original; returns its path. */
export const build = (): string => {
  const go = findGo()
  const found = checkout()
  if (go === undefined || "reason" in found) throw new Error(skip())
  const dir = join(root, ".cache", "bench-original")
  mkdirSync(dir, { recursive: true })
  const modfile = join(dir, "go.mod")
  copyFileSync(join(root, "bench", "original", "go.mod"), modfile)
  const env = { ...process.env, GOTOOLCHAIN: "local", CGO_ENABLED: "0", GOFLAGS: "-mod=mod" }
  const cwd = join(root, "bench", "original")
  const options: ExecFileSyncOptions = { cwd, env, stdio: ["ignore", "inherit", "inherit"] }
  execFileSync(go, ["mod", "edit", `-modfile=${modfile}`, `-replace=${MODULE}=${found.path}`], options)
  const out = join(dir, "original")
  execFileSync(go, ["build", `-modfile=${modfile}`, "-o", out, "."], options)
  return out
}

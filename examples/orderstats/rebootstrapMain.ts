/**
 * rebootstrap.js: the `rebootstrap` command on its own (admin.js mounts the same command).
 */
import * as Cli from "./cli.ts"
import { command } from "./rebootstrap.ts"

Cli.runMain("rebootstrap", command)

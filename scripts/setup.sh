#!/usr/bin/env bash
# Source this file: Node >= 22.19 first on PATH (see ensure-node.sh), npm packages installed from the
# lockfile when node_modules is missing or older than it, and the TypeScript build in dist/ up to date.
_setup_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/ensure-node.sh
source "$_setup_root/scripts/ensure-node.sh" || return 1 2>/dev/null || exit 1
(
  set -e
  cd "$_setup_root"
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
  npx --no-install tsc -p tsconfig.build.json
) || { unset _setup_root; return 1 2>/dev/null || exit 1; }
unset _setup_root

#!/usr/bin/env bash
# Source this file (or run it): Node >= 22.19 first on PATH (see ensure-node.sh), npm packages
# installed from the lockfile when node_modules is missing or older than it, and the TypeScript
# build in dist/ up to date.
#
# The build is skipped when dist/.build-stamp is newer than every input (src, examples, bench, the
# tsconfig files, the installed packages): a run with nothing changed costs a `find`. Otherwise tsc
# runs incrementally (its state in dist/.tsbuildinfo, which goes when dist/ goes), re-checking only
# what changed. Concurrent setups (several `scripts/node` at once) take turns on a lock.
_setup_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/ensure-node.sh
source "$_setup_root/scripts/ensure-node.sh" || return 1 2>/dev/null || exit 1
# Node's compile cache (V8's code for every module loaded, kept on disk and checked against each
# file's contents): the binaries and the processes the tests start skip compiling what has not
# changed, about 0.2 s a start here. A NODE_COMPILE_CACHE of your own wins; empty turns it off.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE-$_setup_root/.cache/compile}"
(
  set -euo pipefail
  cd "$_setup_root"
  inputs=(src examples bench tsconfig*.json package.json node_modules/.package-lock.json)
  stamp=dist/.build-stamp

  up_to_date() {
    [ -f "$stamp" ] && [ -z "$(find "${inputs[@]}" -newer "$stamp" -print -quit 2>/dev/null)" ]
  }

  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
  up_to_date && exit 0
  mkdir -p .cache dist
  exec 8>.cache/build.lock
  command -v flock >/dev/null 2>&1 && flock 8
  # another setup may have built while this one waited for the lock
  up_to_date && exit 0
  started=$(date +%s.%N)
  # the stamp's time is the build's start: a file saved while tsc runs is newer, so it is built next time
  touch "$stamp.next"
  node node_modules/typescript/bin/tsc -p tsconfig.build.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
  mv -f "$stamp.next" "$stamp"
  echo "setup: built dist/ in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
) || { unset _setup_root; return 1 2>/dev/null || exit 1; }
unset _setup_root

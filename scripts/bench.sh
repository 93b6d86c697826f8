#!/usr/bin/env bash
# `npm run bench [-- --quick] [-- --only NAME,...]`: builds if needed, starts the servers the
# selected scenarios need (their `requires`, through scripts/services.sh), then runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every process compiles its modules afresh, as in the figures of bench/README.md, unless the
# caller sets NODE_COMPILE_CACHE (scripts/setup.sh turns Node's compile cache on otherwise).
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE-}"
source scripts/setup.sh
services="$(node dist/bench/run.js --requires "$@")"
if [ -n "$services" ]; then
  # shellcheck disable=SC2086 # one word per service
  bash scripts/services.sh up $services >&2
fi
exec node dist/bench/run.js "$@"

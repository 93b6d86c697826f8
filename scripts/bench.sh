#!/usr/bin/env bash
# `npm run bench [-- --quick] [-- --only NAME,...]`: builds if needed, starts the servers the
# selected scenarios need (their `requires`, through scripts/services.sh), then runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
services="$(node dist/bench/run.js --requires "$@")"
if [ -n "$services" ]; then
  # shellcheck disable=SC2086 # one word per service
  bash scripts/services.sh up $services >&2
fi
exec node dist/bench/run.js "$@"

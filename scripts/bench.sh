#!/usr/bin/env bash
# `npm run bench [-- --quick] [-- --only NAME,...]`: builds if needed, then runs the benchmark suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
exec node dist/bench/run.js "$@"

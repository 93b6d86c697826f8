#!/usr/bin/env bash
# The project's test command (README and .ci/run call exactly this).
# Builds, brings up the test servers unless the environment already points at running ones, runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
npx --no-install tsc --noEmit -p tsconfig.json
exec npx --no-install vitest run "$@"

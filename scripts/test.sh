#!/usr/bin/env bash
# The project's test command (README and .ci/run call exactly this).
# Builds, brings up the test servers unless the environment already points at running ones, runs vitest.
#
# Test servers: for each endpoint variable that is already set (MONGO_URI, KAFKA_BROKERS,
# DDB_ENDPOINT, DDB_TX_ENDPOINT, REDIS_URL) the server must answer, and it is used as is; the
# services whose variable is not set are started locally by scripts/services.sh (left running
# afterwards: `bash scripts/services.sh down` stops them) and their endpoints are exported from
# .services/env. Arguments are passed to vitest (e.g. `bash scripts/test.sh test/smoke`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
npx --no-install tsc --noEmit -p tsconfig.json

bash scripts/services.sh ensure
while IFS= read -r line; do
  case $line in '' | '#'*) continue ;; esac
  key=${line%%=*}
  [ -n "${!key:-}" ] || export "$key=${line#*=}"
done <.services/env

exec npx --no-install vitest run "$@"

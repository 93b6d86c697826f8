#!/usr/bin/env bash
# Build if needed, then run the orderstats example (embedded store, sample data when no flags are given).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
exec node dist/examples/orderstats/main.js "$@"

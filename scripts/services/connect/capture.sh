#!/usr/bin/env bash
# Captures real Debezium MongoDB records into test/fixtures/debezium-real/ (see REPORT.md).
# Needs: the Connect worker (run-connect.sh start) and a probe mongo-java-server
# (run-probe-mongo.sh start 27217 for streaming; ... start 27218 ShimMongoLauncher for snapshots).
#   capture.sh streaming [mongo-uri]     4 capture modes x schemas true/false, snapshot.mode=no_data
#   capture.sh snapshot  [mongo-uri]     snapshot.mode=initial (needs the shim), update_full, schemas true/false
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
OUT="$ROOT/test/fixtures/debezium-real"
export PATH="$ROOT/.cache/node/bin:$PATH"
mkdir -p "$OUT"
# the server's change events have no `ns`: add it before Debezium's own (literal) filter stage
NS_PIPELINE='cursor.pipeline=[{"$addFields":{"ns":{"db":"@DB@","coll":"@COLL@"}}}]'
COMMON=(cursor.pipeline.order=user_first filters.match.mode=literal "$NS_PIPELINE"
  key.converter=org.apache.kafka.connect.json.JsonConverter value.converter=org.apache.kafka.connect.json.JsonConverter)
run() { # run <file-stem> <schemas> settings...
  local stem=$1 schemas=$2; shift 2
  node "$ROOT/scripts/services/connect/probe.mjs" "$stem" "$OUT/$stem.jsonl" "${COMMON[@]}" \
    "key.converter.schemas.enable=$schemas" "value.converter.schemas.enable=$schemas" "$@" 2>&1 |
    grep -v -E 'TimeoutNegativeWarning|Timeout duration|trace-warnings' || true
}
case ${1:-} in
  streaming)
    export PROBE_MONGO=${2:-mongodb://127.0.0.1:27217}
    for mode in change_streams_update_full change_streams change_streams_with_pre_image change_streams_update_full_with_pre_image; do
      for schemas in true false; do
        run "streaming-${mode//_/-}-schemas-$schemas" "$schemas" "capture.mode=$mode" snapshot.mode=no_data
      done
    done ;;
  snapshot)
    export PROBE_MONGO=${2:-mongodb://127.0.0.1:27218} PROBE_SEED=1
    for schemas in true false; do
      run "snapshot-initial-change-streams-update-full-schemas-$schemas" "$schemas" capture.mode=change_streams_update_full snapshot.mode=initial
    done ;;
  *) sed -n '2,8p' "$0"; exit 2 ;;
esac

#!/usr/bin/env bash
# Formats a fresh KRaft log directory and then becomes the Kafka broker (exec), so the pid that
# scripts/services.sh recorded for this script is the broker's pid.
#   == bin/kafka-storage.sh format --standalone ... ; exec bin/kafka-server-start.sh ...
# Usage: run-broker.sh <java> <libs dir> <log4j2.properties> <server.properties> <log.dirs> <heap>
set -euo pipefail
java_bin=$1 libs=$2 log4j=$3 props=$4 data=$5 heap=$6

rm -rf "$data"
mkdir -p "$data"

# A cluster id is 16 random bytes in URL-safe base64 without padding (what `random-uuid` prints).
cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')

"$java_bin" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  "-Dlog4j2.configurationFile=$log4j" -cp "$libs/*" \
  kafka.tools.StorageTool format --standalone --cluster-id "$cluster_id" --config "$props"

# JVM flags: kafka-run-class.sh's defaults (KAFKA_JVM_PERFORMANCE_OPTS) with a small heap.
exec "$java_bin" -Xms128m "-Xmx$heap" \
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
  -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true \
  "-Dlog4j2.configurationFile=$log4j" -cp "$libs/*" \
  kafka.Kafka "$props"

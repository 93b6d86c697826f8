#!/usr/bin/env bash
# A second, private mongo-java-server for the Debezium probe (never the shared one on 27117), from the
# jars scripts/services.sh already downloaded (.cache/services/mongo/libs).
#   run-probe-mongo.sh start [port] [launcher-class]   (default 27217, the project's MongoLauncher;
#                                                      ShimMongoLauncher for the snapshot shim)
#   run-probe-mongo.sh stop
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
SPEC="$ROOT/scripts/services/connect/mongo"
STATE="$ROOT/.services/connect/mongo"
LIBS="$ROOT/.cache/services/mongo/libs"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAVAC="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
case ${1:-} in
  start)
    port=${2:-27217} main=${3:-MongoLauncher}
    [ -d "$LIBS" ] || { echo "no $LIBS: run scripts/services.sh up mongo once" >&2; exit 1; }
    mkdir -p "$STATE/classes"
    "$JAVAC" -nowarn -d "$STATE/classes" -cp "$LIBS/*" "$SPEC"/*.java "$ROOT/scripts/services/mongo/MongoLauncher.java"
    if [ -s "$STATE/mongo-$port.pid" ] && kill -0 "$(cat "$STATE/mongo-$port.pid")" 2>/dev/null; then
      echo "already running (pid $(cat "$STATE/mongo-$port.pid"))"; exit 0; fi
    (exec setsid "$JAVA" -Xms64m -Xmx1g -XX:+UseSerialGC -Djava.awt.headless=true \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$LIBS/*:$STATE/classes" \
      "$main" --host 127.0.0.1 --port "$port" --wire-version 9 </dev/null >"$STATE/mongo-$port.log" 2>&1) &
    echo $! >"$STATE/mongo-$port.pid"
    for _ in $(seq 1 100); do grep -q '^READY' "$STATE/mongo-$port.log" && break; sleep 0.1; done
    cat "$STATE/mongo-$port.log"; echo "pid $(cat "$STATE/mongo-$port.pid")" ;;
  stop)
    for f in "$STATE"/mongo-*.pid; do
      [ -e "$f" ] || continue
      pid=$(cat "$f")
      if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$STATE/classes"; then kill -TERM "$pid"; echo "stopped $pid"; fi
      rm -f "$f"
    done ;;
  *) sed -n '2,5p' "$0"; exit 2 ;;
esac

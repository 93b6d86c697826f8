#!/usr/bin/env bash
# Kafka Connect worker with the Debezium MongoDB connector as a plugin, on 127.0.0.1, without Docker.
# Not (yet) part of scripts/services.sh; this script keeps its own state under .services/connect/.
#
#   scripts/services/connect/run-connect.sh provision            download the jars (mvn copy-dependencies, once per pom hash)
#   scripts/services/connect/run-connect.sh start [standalone|distributed]
#                                                                 start the worker in the background, wait for its REST API
#   scripts/services/connect/run-connect.sh stop                  stop the worker this script started (recorded pid)
#   scripts/services/connect/run-connect.sh status                pid and whether the REST API answers
#
# Environment: CONNECT_REST_PORT (18083), CONNECT_BOOTSTRAP (KAFKA_BROKERS of .services/env, else
# 127.0.0.1:19092), CONNECT_SCHEMAS (true: JsonConverter envelopes with schemas; connectors may
# override it), CONNECT_GROUP (distributed mode: group id and internal topic prefix, default
# dbzprobe-connect), CONNECT_HEAP (512m), CONNECT_DISCOVERY (plugin.discovery, default service_load: every plugin here has
# ServiceLoader manifests; hybrid_warn scans the class path too and takes 2-3x longer),
# SERVICES_MAVEN_REPO, JAVA_HOME.
#
# Layout (git-ignored): .services/connect/{libs,plugins/debezium-connector-mongodb} (jars),
# run/ (generated worker properties, pid), logs/connect.log, data/ (standalone offsets file).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
SPEC="$ROOT/scripts/services/connect"
STATE="${CONNECT_STATE:-$ROOT/.services/connect}"
HOST=127.0.0.1
REST_PORT="${CONNECT_REST_PORT:-18083}"
SCHEMAS="${CONNECT_SCHEMAS:-true}"
GROUP="${CONNECT_GROUP:-dbzprobe-connect}"
HEAP="${CONNECT_HEAP:-512m}"
DISCOVERY="${CONNECT_DISCOVERY:-service_load}"
if [ -z "${CONNECT_BOOTSTRAP:-}" ]; then
  CONNECT_BOOTSTRAP=$(sed -n 's/^KAFKA_BROKERS=//p' "$ROOT/.services/env" 2>/dev/null | head -n 1)
fi
BOOTSTRAP="${CONNECT_BOOTSTRAP:-127.0.0.1:19092}"
PIDFILE="$STATE/run/connect.pid"
LOG="$STATE/logs/connect.log"

say() { printf 'connect: %s\n' "$*"; }
die() { printf 'connect: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
java_bin() { echo "${JAVA_HOME:+$JAVA_HOME/bin/}java"; }

provision() {
  command -v mvn >/dev/null 2>&1 || die "mvn (Maven) is needed (Debian: apt-get install maven)"
  local stamp repo_args=() profile out
  stamp=$(sha256sum "$SPEC/pom.xml" | cut -c1-16)
  if [ "$(cat "$STATE/libs/.stamp" 2>/dev/null)" = "$stamp" ] &&
    [ "$(cat "$STATE/plugins/debezium-connector-mongodb/.stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  [ -n "${SERVICES_MAVEN_REPO:-}" ] && repo_args=("-Dmaven.repo.local=$SERVICES_MAVEN_REPO")
  mkdir -p "$STATE/logs" "$STATE/plugins"
  for profile in worker plugin; do
    if [ $profile = worker ]; then out="$STATE/libs"; else out="$STATE/plugins/debezium-connector-mongodb"; fi
    say "downloading the $profile jars (mvn dependency:copy-dependencies -P $profile)"
    rm -rf "$out.tmp"
    if ! mvn -B -q "${repo_args[@]}" -f "$SPEC/pom.xml" -P "$profile" dependency:copy-dependencies \
      "-DoutputDirectory=$out.tmp" >"$STATE/logs/provision-maven-$profile.log" 2>&1; then
      tail -n 40 "$STATE/logs/provision-maven-$profile.log" >&2
      die "mvn dependency:copy-dependencies -P $profile failed"
    fi
    rm -rf "$out" && mv "$out.tmp" "$out"
    echo "$stamp" >"$out/.stamp"
  done
}

pid_alive() { # prints the recorded pid when that process is alive and is our worker
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(<"$PIDFILE")
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE/run/connect-" || return 1
  echo "$pid"
}

rest_answers() { curl -sf -o /dev/null --max-time 2 "http://$HOST:$REST_PORT/" 2>/dev/null; }

start() {
  local mode=${1:-standalone} t0 pid main
  case $mode in
    standalone) main=org.apache.kafka.connect.cli.ConnectStandalone ;;
    distributed) main=org.apache.kafka.connect.cli.ConnectDistributed ;;
    *) die "unknown mode $mode (standalone|distributed)" ;;
  esac
  if pid=$(pid_alive); then say "already running (pid $pid)"; return 0; fi
  rest_answers && die "port $REST_PORT on $HOST already answers HTTP (another worker?); set CONNECT_REST_PORT"
  provision
  mkdir -p "$STATE/run" "$STATE/logs" "$STATE/data"
  sed -e "s|@BOOTSTRAP@|$BOOTSTRAP|g" -e "s|@SCHEMAS@|$SCHEMAS|g" -e "s|@STATE@|$STATE|g" \
    -e "s|@REST_PORT@|$REST_PORT|g" -e "s|@GROUP@|$GROUP|g" -e "s|@DISCOVERY@|$DISCOVERY|g" \
    "$SPEC/connect-$mode.properties" >"$STATE/run/connect-$mode.properties"
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.prev"
  t0=$(now)
  (
    cd "$STATE/data"
    # the subshell writes its own pid and then execs java, so the recorded pid is the worker's
    exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
      "$(java_bin)" -Xms128m "-Xmx$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      "-Dlog4j2.configurationFile=$SPEC/log4j2.properties" -cp "$STATE/libs/*" \
      "$main" "$STATE/run/connect-$mode.properties" </dev/null >"$LOG" 2>&1 9>&-
  ) &
  local i
  for ((i = 0; i < 480; i++)); do
    if rest_answers && grep -q 'Kafka Connect started' "$LOG" 2>/dev/null; then
      say "$mode worker ready: REST http://$HOST:$REST_PORT ($(since "$t0") s, pid $(cat "$PIDFILE"), log ${LOG#"$ROOT"/})"
      return 0
    fi
    if [ -s "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      tail -n 40 "$LOG" >&2
      die "the worker exited during start-up"
    fi
    sleep 0.25
  done
  tail -n 40 "$LOG" >&2
  die "not ready within 120 s"
}

stop() {
  local pid i
  if ! pid=$(pid_alive); then say "not running"; rm -f "$PIDFILE"; return 0; fi
  kill -TERM "$pid"
  for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { say "no exit 20 s after SIGTERM; SIGKILL"; kill -KILL "$pid"; }
  rm -f "$PIDFILE"
  say "stopped (pid $pid)"
}

status() {
  local pid
  if pid=$(pid_alive); then
    if rest_answers; then say "running (pid $pid), REST http://$HOST:$REST_PORT answers"; return 0; fi
    say "running (pid $pid), REST does not answer"; return 1
  fi
  say "not running"; return 1
}

case ${1:-} in
  provision) provision ;;
  start) start "${2:-standalone}" ;;
  stop) stop ;;
  status) status ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac

#!/usr/bin/env bash
# Local test servers on 127.0.0.1, without Docker.
#
#   scripts/services.sh up     [service...]   provision what is missing, start what is not running, wait until ready
#   scripts/services.sh down   [service...]   stop the processes this script started (by recorded pid)
#   scripts/services.sh status [service...]   one line per service: pid, endpoint, whether it answers (exit 1 if one does not)
#   scripts/services.sh env                   write and print the endpoints file (.services/env)
#   scripts/services.sh ensure                for each endpoint variable already set in the environment, check it
#                                             answers; `up` the services whose variable is not set (scripts/test.sh);
#                                             never starts the optional services
#   scripts/services.sh connect start|stop|status
#                                             optional, not started by up/ensure: Kafka Connect 4.3 with the real
#                                             Debezium MongoDB connector 3.6.1 (REST 127.0.0.1:18083), for local runs
#                                             against the test servers; what it can and cannot do on mongo-java-server
#                                             is in docs/services.md (scripts/services/connect/run-connect.sh)
#
# Services (default: all):
#   kafka     Apache Kafka 4.1 (KRaft, single node) from Maven Central jars   127.0.0.1:19092 (controller 19093)
#   mongo     mongo-java-server 1.47 with its oplog (change streams)          127.0.0.1:27117
#   dynalite  dynalite (npm devDependency): DynamoDB API, no transactions     127.0.0.1:14567
#   moto      moto server (PyPI), DynamoDB with TransactWriteItems            127.0.0.1:15000
#   redis     valkey-server or redis-server (Debian), no persistence          127.0.0.1:16379
# Optional (only when named: `up toxiproxy`; `down` and `status` without names include it when it runs):
#   toxiproxy Toxiproxy 2.12 (built with `go install`), a latency proxy       API 127.0.0.1:18474
# Ports can be changed with SERVICES_<NAME>_PORT (e.g. SERVICES_MONGO_PORT=27217).
# Exit status 3: a tool a service is built with is missing (Go for toxiproxy); the suites that need
# that service skip on it.
#
# Layout (all ignored by git): .services/logs/<name>.log, .services/run/<name>.pid, .services/data/<name>/,
# .services/env; downloads under .cache/services/ (Maven's jars also land in Maven's local repository,
# ~/.m2/repository unless SERVICES_MAVEN_REPO names another folder).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPEC="$ROOT/scripts/services"
STATE="$ROOT/.services"
LOGS="$STATE/logs"
RUN="$STATE/run"
DATA="$STATE/data"
CACHE="$ROOT/.cache/services"
ENV_FILE="$STATE/env"

HOST=127.0.0.1
KAFKA_PORT="${SERVICES_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${SERVICES_KAFKA_CONTROLLER_PORT:-19093}"
MONGO_PORT="${SERVICES_MONGO_PORT:-27117}"
DYNALITE_PORT="${SERVICES_DYNALITE_PORT:-14567}"
MOTO_PORT="${SERVICES_MOTO_PORT:-15000}"
REDIS_PORT="${SERVICES_REDIS_PORT:-16379}"
TOXIPROXY_PORT="${SERVICES_TOXIPROXY_PORT:-18474}"
KAFKA_HEAP="${SERVICES_KAFKA_HEAP:-512m}"
MONGO_HEAP="${SERVICES_MONGO_HEAP:-2g}"
MONGO_WIRE_VERSION="${SERVICES_MONGO_WIRE_VERSION:-9}"

ALL_SERVICES=(kafka mongo dynalite moto redis)
# Not in `up`/`ensure` without names: building Toxiproxy takes about a minute on a fresh machine
# (docs/services.md), and only the latency tests and benchmarks use it; they start it themselves.
OPTIONAL_SERVICES=(toxiproxy)
# The Toxiproxy release `go install` builds (the newest the Go module proxy serves).
TOXIPROXY_VERSION=v2.12.0

say() { printf 'services: %s\n' "$*"; }
warn() { printf 'services: %s\n' "$*" >&2; }
die() { warn "$*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

port_of() {
  case $1 in
    kafka) echo "$KAFKA_PORT" ;; mongo) echo "$MONGO_PORT" ;; dynalite) echo "$DYNALITE_PORT" ;;
    moto) echo "$MOTO_PORT" ;; redis) echo "$REDIS_PORT" ;; toxiproxy) echo "$TOXIPROXY_PORT" ;;
  esac
}

# Seconds a start may take before it counts as failed.
ready_limit() {
  case $1 in kafka) echo 120 ;; mongo) echo 60 ;; dynalite) echo 30 ;; moto) echo 60 ;; redis | toxiproxy) echo 20 ;; esac
}

# A string that the command line of a process we started contains (it includes this checkout's
# path, so another checkout's servers or an unrelated process that reused the pid never match).
marker_of() {
  case $1 in
    kafka) echo "$RUN/kafka.properties" ;;
    mongo) echo "MongoLauncher --host $HOST --port $MONGO_PORT" ;;
    dynalite) echo "$ROOT/node_modules/dynalite/cli.js --host $HOST --port $DYNALITE_PORT" ;;
    moto) echo "$CACHE/moto/venv/bin/moto_server -H $HOST -p $MOTO_PORT" ;;
    redis) echo "$RUN/redis.conf" ;;
    toxiproxy) echo "$CACHE/toxiproxy/bin/toxiproxy-server -host $HOST -port $TOXIPROXY_PORT" ;;
  esac
}

is_service() { case $1 in kafka | mongo | dynalite | moto | redis | toxiproxy) return 0 ;; *) return 1 ;; esac; }

# ---------------------------------------------------------------------------------------------
# probes

# tcp_open HOST PORT: a TCP connection succeeds within 2 s
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

# http_answers HOST PORT: any HTTP response to GET /
http_answers() {
  local first
  first=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET / HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3 && head -c 8 <&3' "$1" "$2" 2>/dev/null) || return 1
  [[ $first == HTTP/1.* ]]
}

# toxiproxy_answers HOST PORT: GET /version answers with Toxiproxy's {"version": ...}
toxiproxy_answers() {
  local reply
  reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET /version HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3 && head -c 1024 <&3' "$1" "$2" 2>/dev/null) || return 1
  [[ $reply == HTTP/1.*'"version"'* ]]
}

# redis_answers HOST PORT: PING gets +PONG
redis_answers() {
  local reply
  reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && head -c 5 <&3' "$1" "$2" 2>/dev/null) || return 1
  [[ $reply == +PONG ]]
}

# answers NAME: the service on its port speaks its protocol (TCP only for Kafka's and Mongo's binary protocols)
answers() {
  case $1 in
    kafka) tcp_open "$HOST" "$KAFKA_PORT" && tcp_open "$HOST" "$KAFKA_CONTROLLER_PORT" ;;
    mongo) tcp_open "$HOST" "$MONGO_PORT" ;;
    dynalite) http_answers "$HOST" "$DYNALITE_PORT" ;;
    moto) http_answers "$HOST" "$MOTO_PORT" ;;
    redis) redis_answers "$HOST" "$REDIS_PORT" ;;
    toxiproxy) toxiproxy_answers "$HOST" "$TOXIPROXY_PORT" ;;
  esac
}

# ready NAME: started and serving (the log line a server prints once it is up, then the protocol probe)
ready() {
  local log="$LOGS/$1.log"
  case $1 in
    kafka) grep -q 'Kafka Server started' "$log" 2>/dev/null || return 1 ;;
    mongo) grep -q '^READY ' "$log" 2>/dev/null || return 1 ;;
    dynalite) grep -q 'Dynalite listening' "$log" 2>/dev/null || return 1 ;;
  esac
  answers "$1"
}

# ---------------------------------------------------------------------------------------------
# pids

# pid_of NAME: prints the recorded pid when that process is alive and is the one we started
pid_of() {
  local pidfile="$RUN/$1.pid" pid cmdline
  [ -s "$pidfile" ] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$(marker_of "$1")"* ]] || return 1
  echo "$pid"
}

# alive PID: the process exists and is not a zombie (an exited server waits for init to reap it)
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_pid() { # stop_pid NAME PID: SIGTERM, wait up to 20 s, then SIGKILL
  local name=$1 pid=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 200; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  warn "$name (pid $pid) did not stop within 20 s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# provisioning (idempotent; a stamp holding the hash of the inputs marks a finished step)

java_bin() {
  local j="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  command -v "$j" >/dev/null 2>&1 || die "java (17 or newer) is needed for Kafka and mongo-java-server; install a JDK (Debian: apt-get install openjdk-17-jdk-headless)"
  echo "$j"
}

check_java() {
  local j major
  j=$(java_bin)
  major=$("$j" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { print $2 }')
  [[ ${major%%.*} -ge 17 ]] 2>/dev/null || die "java $major found; Kafka 4 and mongo-java-server need Java 17 or newer (set JAVA_HOME)"
}

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

mvn_copy() { # mvn_copy POM OUTDIR
  command -v mvn >/dev/null 2>&1 || die "mvn (Maven) is needed to download the Kafka and mongo-java-server jars (Debian: apt-get install maven)"
  local repo_args=()
  [ -n "${SERVICES_MAVEN_REPO:-}" ] && repo_args=("-Dmaven.repo.local=$SERVICES_MAVEN_REPO")
  rm -rf "$2.tmp"
  if ! mvn -B -q "${repo_args[@]}" -f "$1" dependency:copy-dependencies "-DoutputDirectory=$2.tmp" >"$LOGS/provision-maven.log" 2>&1; then
    tail -n 40 "$LOGS/provision-maven.log" >&2
    die "mvn dependency:copy-dependencies failed for $1 (full log: $LOGS/provision-maven.log)"
  fi
  rm -rf "$2"
  mv "$2.tmp" "$2"
}

provision_kafka() {
  check_java
  setup_node
  local dir="$CACHE/kafka" stamp
  stamp=$(hash_of "$SPEC/kafka/pom.xml")
  [ "$(cat "$dir/libs/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
  say "kafka: downloading the broker's jars (mvn dependency:copy-dependencies)"
  mkdir -p "$dir"
  mvn_copy "$SPEC/kafka/pom.xml" "$dir/libs"
  echo "$stamp" >"$dir/libs/.stamp"
}

provision_mongo() {
  check_java
  local dir="$CACHE/mongo" stamp
  stamp=$(hash_of "$SPEC/mongo/pom.xml")
  if [ "$(cat "$dir/libs/.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "mongo: downloading mongo-java-server's jars (mvn dependency:copy-dependencies)"
    mkdir -p "$dir"
    mvn_copy "$SPEC/mongo/pom.xml" "$dir/libs"
    echo "$stamp" >"$dir/libs/.stamp"
  fi
  stamp=$(hash_of "$SPEC/mongo/pom.xml" "$SPEC/mongo/MongoLauncher.java")
  if [ "$(cat "$dir/classes/.stamp" 2>/dev/null)" != "$stamp" ]; then
    local javac="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
    command -v "$javac" >/dev/null 2>&1 || die "javac is needed to compile MongoLauncher.java (install a JDK, not only a JRE)"
    rm -rf "$dir/classes" && mkdir -p "$dir/classes"
    "$javac" -nowarn -d "$dir/classes" -cp "$dir/libs/*" "$SPEC/mongo/MongoLauncher.java"
    echo "$stamp" >"$dir/classes/.stamp"
  fi
}

NODE_BIN=""
# Node >= 22.19 (installs Node 24 into .cache/node when the machine's node is older) and the
# project's npm packages (dynalite is a devDependency; the Kafka warm-up uses kafkajs).
setup_node() {
  [ -n "$NODE_BIN" ] && return 0
  # shellcheck source=scripts/ensure-node.sh
  source "$ROOT/scripts/ensure-node.sh" >&2 || die "could not provide Node.js (scripts/ensure-node.sh)"
  NODE_BIN=$(command -v node)
  if [ ! -f "$ROOT/node_modules/dynalite/cli.js" ] || [ ! -f "$ROOT/node_modules/kafkajs/package.json" ]; then
    say "installing the project's npm packages (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) >&2
    [ -f "$ROOT/node_modules/dynalite/cli.js" ] || die "node_modules/dynalite is missing after npm ci (it is a devDependency)"
  fi
}

provision_dynalite() { setup_node; }

python_bin() {
  local p
  for p in "${SERVICES_PYTHON:-}" python3 python; do
    [ -n "$p" ] && command -v "$p" >/dev/null 2>&1 &&
      "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null && { echo "$p"; return 0; }
  done
  die "Python 3.9 or newer is needed for moto (Debian: apt-get install python3 python3-venv)"
}

provision_moto() {
  local dir="$CACHE/moto" py stamp
  py=$(python_bin)
  stamp=$( (cat "$SPEC/moto/requirements.txt"; "$py" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)
  [ "$(cat "$dir/venv/.stamp" 2>/dev/null)" = "$stamp" ] && [ -x "$dir/venv/bin/moto_server" ] && return 0
  say "moto: creating a Python virtualenv with moto (pip install -r scripts/services/moto/requirements.txt)"
  rm -rf "$dir/venv"
  mkdir -p "$dir"
  "$py" -m venv "$dir/venv" >"$LOGS/provision-moto.log" 2>&1 ||
    { cat "$LOGS/provision-moto.log" >&2; die "python -m venv failed (Debian: apt-get install python3-venv)"; }
  if ! "$dir/venv/bin/python" -m pip install -q --disable-pip-version-check -r "$SPEC/moto/requirements.txt" >>"$LOGS/provision-moto.log" 2>&1; then
    tail -n 40 "$LOGS/provision-moto.log" >&2
    die "pip install of moto failed (full log: $LOGS/provision-moto.log)"
  fi
  echo "$stamp" >"$dir/venv/.stamp"
}

REDIS_BIN=""
provision_redis() {
  local b
  for b in "${SERVICES_REDIS_SERVER:-}" valkey-server redis-server; do
    [ -n "$b" ] && command -v "$b" >/dev/null 2>&1 && { REDIS_BIN=$(command -v "$b"); return 0; }
  done
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "redis: installing redis-server from the distribution's packages (apt-get)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server) >"$LOGS/provision-redis.log" 2>&1 ||
      { tail -n 20 "$LOGS/provision-redis.log" >&2; die "apt-get install redis-server failed"; }
    REDIS_BIN=$(command -v redis-server) && return 0
  fi
  die "neither valkey-server nor redis-server is installed (Debian: apt-get install redis-server; or set SERVICES_REDIS_SERVER)"
}

# The Go toolchain: SERVICES_GO, else `go` on the PATH, else the official tarball's place. Exits 3
# (not die's 1) when there is none, so that the suites that need Toxiproxy can tell "cannot be
# built here" (they skip) from a build that failed (they fail).
go_bin() {
  local g
  for g in "${SERVICES_GO:-}" go /usr/local/go/bin/go; do
    [ -n "$g" ] && command -v "$g" >/dev/null 2>&1 && { command -v "$g"; return 0; }
  done
  warn "toxiproxy: Go is needed to build it (go install); install Go 1.23 or newer (https://go.dev/dl/), put it on the PATH or set SERVICES_GO"
  exit 3
}

provision_toxiproxy() {
  local dir="$CACHE/toxiproxy" go stamp t0
  go=$(go_bin) || exit 3
  stamp=$( (echo "$TOXIPROXY_VERSION"; "$go" version) | sha256sum | cut -c1-16)
  [ "$(cat "$dir/bin/.stamp" 2>/dev/null)" = "$stamp" ] && [ -x "$dir/bin/toxiproxy-server" ] && return 0
  say "toxiproxy: building $TOXIPROXY_VERSION (go install; about a minute on a fresh machine, ~2 s with Go's caches warm)"
  t0=$(now)
  rm -rf "$dir/bin.tmp" && mkdir -p "$dir/bin.tmp"
  # Go's own module and build caches (shared with the user's other Go work); GOTOOLCHAIN=local: build
  # with this Go, never download another toolchain
  if ! GOBIN="$dir/bin.tmp" GOTOOLCHAIN=local "$go" install \
    -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION#v}" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" >"$LOGS/provision-toxiproxy.log" 2>&1; then
    tail -n 40 "$LOGS/provision-toxiproxy.log" >&2
    die "go install of toxiproxy $TOXIPROXY_VERSION failed (full log: $LOGS/provision-toxiproxy.log)"
  fi
  # the package is named `server`: give the binary a name that says what it is (and that the pid check matches)
  mv "$dir/bin.tmp/server" "$dir/bin.tmp/toxiproxy-server"
  echo "$stamp" >"$dir/bin.tmp/.stamp"
  rm -rf "$dir/bin" && mv "$dir/bin.tmp" "$dir/bin"
  say "toxiproxy: built in $(since "$t0") s"
}

# ---------------------------------------------------------------------------------------------
# starting

# spawn NAME CMD...: starts CMD detached (own session, stdin closed, output to the service's log),
# working directory .services/data/NAME, and records its pid (written by the process itself, which
# then execs CMD, so the recorded pid is the server's even where setsid has to fork).
spawn() {
  local name=$1
  shift
  local log="$LOGS/$name.log"
  [ -f "$log" ] && mv -f "$log" "$log.prev"
  rm -f "$RUN/$name.pid"
  mkdir -p "$DATA/$name"
  local setsid=()
  command -v setsid >/dev/null 2>&1 && setsid=(setsid)
  (
    cd "$DATA/$name"
    exec "${setsid[@]}" bash -c 'echo $$ >"$0"; exec "$@"' "$RUN/$name.pid" "$@" </dev/null >"$log" 2>&1 9>&-
  ) &
}

start_kafka() {
  sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$DATA/kafka/kraft|g" "$SPEC/kafka/server.properties" >"$RUN/kafka.properties"
  spawn kafka bash "$SPEC/kafka/run-broker.sh" "$(java_bin)" "$CACHE/kafka/libs" \
    "$SPEC/kafka/log4j2.properties" "$RUN/kafka.properties" "$DATA/kafka/kraft" "$KAFKA_HEAP"
}

start_mongo() {
  spawn mongo "$(java_bin)" -Xms64m "-Xmx$MONGO_HEAP" -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$CACHE/mongo/libs/*:$CACHE/mongo/classes" \
    MongoLauncher --host "$HOST" --port "$MONGO_PORT" --wire-version "$MONGO_WIRE_VERSION"
}

start_dynalite() {
  spawn dynalite "$NODE_BIN" "$ROOT/node_modules/dynalite/cli.js" --host "$HOST" --port "$DYNALITE_PORT" \
    --createTableMs 0 --deleteTableMs 0 --updateTableMs 0
}

start_moto() {
  spawn moto "$CACHE/moto/venv/bin/moto_server" -H "$HOST" -p "$MOTO_PORT"
}

start_redis() {
  mkdir -p "$DATA/redis"
  cat >"$RUN/redis.conf" <<EOF
# written by scripts/services.sh: loopback only, no persistence
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize no
save ""
appendonly no
dir $DATA/redis
logfile ""
databases 16
proc-title-template "{title} {listen-addr} {config-file}"
EOF
  spawn redis "$REDIS_BIN" "$RUN/redis.conf"
}

start_toxiproxy() {
  # LOG_LEVEL=error: at info and warn it logs every client connection that opens or closes, and
  # the benchmarks open many
  LOG_LEVEL=error spawn toxiproxy "$CACHE/toxiproxy/bin/toxiproxy-server" -host "$HOST" -port "$TOXIPROXY_PORT"
}

# wait_ready NAME START_TIME: polls until ready; on failure prints the log's tail, stops the process
wait_ready() {
  local name=$1 t0=$2 limit deadline pid=""
  limit=$(ready_limit "$name")
  deadline=$(($(date +%s) + limit))
  while :; do
    [ -z "$pid" ] && [ -s "$RUN/$name.pid" ] && pid=$(<"$RUN/$name.pid")
    if ready "$name"; then
      if [ "$name" = kafka ] && ! "$NODE_BIN" --no-warnings "$SPEC/kafka/warmup.mjs" "$HOST:$KAFKA_PORT" 60000 >>"$LOGS/kafka.log" 2>&1; then
        warn "kafka: the broker answers but its group coordinator did not come up; last lines of $LOGS/kafka.log:"
        tail -n 40 "$LOGS/kafka.log" >&2 || true
        return 1
      fi
      say "$name: ready on $HOST:$(port_of "$name") (pid ${pid:-?}, $(since "$t0") s)"
      return 0
    fi
    if [ -n "$pid" ] && ! alive "$pid"; then
      warn "$name: the process exited before it was ready; last lines of $LOGS/$name.log:"
      tail -n 40 "$LOGS/$name.log" >&2 || true
      rm -f "$RUN/$name.pid"
      return 1
    fi
    if (($(date +%s) >= deadline)); then
      warn "$name: not ready within $limit s; last lines of $LOGS/$name.log:"
      tail -n 40 "$LOGS/$name.log" >&2 || true
      [ -n "$pid" ] && stop_pid "$name" "$pid"
      rm -f "$RUN/$name.pid"
      return 1
    fi
    sleep 0.25
  done
}

port_holder() { # a short description of whatever listens on PORT, if ss can tell
  command -v ss >/dev/null 2>&1 && ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1 | sed 's/  */ /g'
}

write_env() {
  mkdir -p "$STATE"
  cat >"$ENV_FILE.tmp" <<EOF
# Endpoints of the local test servers, written by scripts/services.sh (KEY=value lines, no quotes).
MONGO_URI=mongodb://$HOST:$MONGO_PORT
KAFKA_BROKERS=$HOST:$KAFKA_PORT
DDB_ENDPOINT=http://$HOST:$DYNALITE_PORT
DDB_TX_ENDPOINT=http://$HOST:$MOTO_PORT
REDIS_URL=redis://$HOST:$REDIS_PORT
TOXIPROXY_URL=http://$HOST:$TOXIPROXY_PORT
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
KAFKAJS_NO_PARTITIONER_WARNING=1
EOF
  mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

lock() { # serialise up/down/ensure of this checkout
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  command -v flock >/dev/null 2>&1 && { flock -w 900 9 || die "another scripts/services.sh is still running (lock $STATE/.lock)"; }
  return 0
}

cmd_up() {
  local services=("$@") name pid t0 failed=0
  local to_start=()
  mkdir -p "$LOGS" "$RUN" "$DATA" "$CACHE"
  lock
  write_env
  for name in "${services[@]}"; do
    if pid=$(pid_of "$name"); then
      if answers "$name"; then
        say "$name: already running on $HOST:$(port_of "$name") (pid $pid)"
        continue
      fi
      warn "$name: pid $pid is running but does not answer on $HOST:$(port_of "$name"); restarting it"
      stop_pid "$name" "$pid"
    fi
    rm -f "$RUN/$name.pid"
    if tcp_open "$HOST" "$(port_of "$name")" || { [ "$name" = kafka ] && tcp_open "$HOST" "$KAFKA_CONTROLLER_PORT"; }; then
      die "$name: port $(port_of "$name") on $HOST is taken by a process this checkout did not start ($(port_holder "$(port_of "$name")")). Stop it, or choose another port with SERVICES_${name^^}_PORT."
    fi
    to_start+=("$name")
  done
  ((${#to_start[@]})) || { say "all requested services are running; endpoints in ${ENV_FILE#"$ROOT"/}"; return 0; }

  t0=$(now)
  for name in "${to_start[@]}"; do "provision_$name"; done
  say "provisioned in $(since "$t0") s; starting: ${to_start[*]}"

  t0=$(now)
  for name in "${to_start[@]}"; do "start_$name"; done
  local waiters=() waiter
  for name in "${to_start[@]}"; do
    wait_ready "$name" "$t0" &
    waiters+=("$!")
  done
  for waiter in "${waiters[@]}"; do wait "$waiter" || failed=1; done
  ((failed == 0)) || die "some services failed to start (logs in ${LOGS#"$ROOT"/}/)"
  say "endpoints in ${ENV_FILE#"$ROOT"/}"
}

cmd_down() {
  local services=("$@") name pid i t0
  lock
  for ((i = ${#services[@]} - 1; i >= 0; i--)); do
    name=${services[i]}
    if pid=$(pid_of "$name"); then
      t0=$(now)
      stop_pid "$name" "$pid"
      say "$name: stopped (pid $pid, $(since "$t0") s)"
    else
      say "$name: not running (nothing recorded by this checkout)"
    fi
    rm -f "$RUN/$name.pid"
  done
}

cmd_status() {
  local services=("$@") name pid state all_ok=0
  for name in "${services[@]}"; do
    if pid=$(pid_of "$name"); then
      state="running (pid $pid)"
    elif answers "$name"; then
      state="not started by us"
    else
      state="not running"
    fi
    if answers "$name"; then
      printf '%-9s %-17s %-24s answers\n' "$name" "$HOST:$(port_of "$name")" "$state"
    else
      printf '%-9s %-17s %-24s DOES NOT ANSWER\n' "$name" "$HOST:$(port_of "$name")" "$state"
      all_ok=1
    fi
  done
  return "$all_ok"
}

# host:port of an endpoint variable's value (first host; the scheme's default port when none is given)
endpoint_hostport() {
  local var=$1 v=$2 default_port rest hostpart
  case $var in
    MONGO_URI) default_port=27017 ;; KAFKA_BROKERS) default_port=9092 ;; REDIS_URL) default_port=6379 ;;
    *) [[ $v == https://* ]] && default_port=443 || default_port=80 ;;
  esac
  rest=${v#*://}
  rest=${rest##*@}
  rest=${rest%%[/?]*}
  hostpart=${rest%%,*}
  if [[ $hostpart == \[* ]]; then
    [[ $hostpart == *\]:* ]] && echo "${hostpart%%]*}] ${hostpart##*]:}" || echo "$hostpart $default_port"
  elif [[ $hostpart == *:* ]]; then
    echo "${hostpart%%:*} ${hostpart##*:}"
  else
    echo "$hostpart $default_port"
  fi
}

cmd_ensure() {
  local pairs=(MONGO_URI:mongo KAFKA_BROKERS:kafka DDB_ENDPOINT:dynalite DDB_TX_ENDPOINT:moto REDIS_URL:redis)
  local pair var name hp host port missing=() bad=0
  for pair in "${pairs[@]}"; do
    var=${pair%%:*} name=${pair#*:}
    if [ -n "${!var:-}" ]; then
      [[ ${!var} == mongodb+srv://* ]] && { say "$var=${!var} (SRV: not probed)"; continue; }
      read -r host port <<<"$(endpoint_hostport "$var" "${!var}")"
      host=${host#[}
      host=${host%]}
      if tcp_open "$host" "$port"; then
        say "$var=${!var} is set and reachable; not starting $name"
      else
        warn "$var=${!var} is set but $host:$port does not accept connections. Start that server, or unset $var to use the local one (scripts/services.sh up $name)."
        bad=1
      fi
    else
      missing+=("$name")
    fi
  done
  ((bad == 0)) || exit 1
  if ((${#missing[@]})); then
    cmd_up "${missing[@]}"
  else
    write_env
  fi
}

usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"; }

main() {
  local cmd=${1:-help}
  [ $# -gt 0 ] && shift
  if [ "$cmd" = connect ]; then exec bash "$SPEC/connect/run-connect.sh" "$@"; fi
  local services=("$@") name
  if ((${#services[@]} == 0)); then
    services=("${ALL_SERVICES[@]}")
    # `down` and `status` without names also cover the optional services that run (CI's `down`
    # stops a Toxiproxy the latency tests started)
    if [ "$cmd" = down ] || [ "$cmd" = status ]; then
      for name in "${OPTIONAL_SERVICES[@]}"; do
        if pid_of "$name" >/dev/null; then services+=("$name"); fi
      done
    fi
  fi
  for name in "${services[@]}"; do
    is_service "$name" || die "unknown service '$name' (known: ${ALL_SERVICES[*]} ${OPTIONAL_SERVICES[*]})"
  done
  case $cmd in
    up) cmd_up "${services[@]}" ;;
    down) cmd_down "${services[@]}" ;;
    status) cmd_status "${services[@]}" ;;
    env) write_env && grep -v '^#' "$ENV_FILE" ;;
    ensure) cmd_ensure ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"

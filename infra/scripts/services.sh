#!/usr/bin/env bash
# Installs, starts and stops the real servers that the tests and local runs
# need: one Apache Kafka 3.9.1 KRaft node (broker+controller), one Redis, and
# one ClickHouse server (the ClickHouse inside the npm chdb package's
# libchdb.so, run by the small launcher in infra/clickhouse/launcher.c).
#
#   infra/scripts/services.sh up     [SERVICE...]  install what is missing, start (on the data kept by `stop`), wait until ready
#   infra/scripts/services.sh stop   [SERVICE...]  stop, keep the data (Kafka topics and offsets, ClickHouse tables, Redis keys)
#   infra/scripts/services.sh down   [SERVICE...]  stop and drop the data (fresh state next time)
#   infra/scripts/services.sh kill9  [SERVICE...]  SIGKILL the servers (a crash, for fault injection), keep the data
#   infra/scripts/services.sh status [SERVICE...]  exit 0 if all named are up and ready, else 1
#   infra/scripts/services.sh chromium             install Debian's chromium (/usr/bin/chromium) when missing,
#                                                  for the browser tests of the export report
#
# SERVICE is kafka, redis, clickhouse or all; several may be named
# (`up kafka clickhouse`); none means all.
#
# Environment (all optional):
#   PTEL_SERVICES_HOME          where everything is downloaded/written (default <repo>/.local/services)
#   PTEL_KAFKA_PORT             Kafka PLAINTEXT listener on 127.0.0.1 (default 19092)
#   PTEL_KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1 (default 19093)
#   PTEL_REDIS_PORT             Redis on 127.0.0.1 (default 16379)
#   PTEL_CLICKHOUSE_HTTP_PORT   ClickHouse HTTP interface on 127.0.0.1 (default 18123)
#   PTEL_CLICKHOUSE_TCP_PORT    ClickHouse native protocol on 127.0.0.1 (default 19000)
#   PTEL_SERVICES_TIMEOUT       seconds to wait for readiness (default 90)
#   PTEL_KAFKA_HEAP_OPTS        Kafka heap flags (default "-Xmx512m -Xms256m")
#   JAVA_HOME                   Java to use (else `java` on PATH; Java 11+ needed)
#
# ClickHouse needs the repository's node_modules (`npm ci`: the chdb package
# ships libchdb.so) and gcc (installed with apt-get when missing) to build the
# launcher once. It has the single user `default` with no password.
#
# Kafka's and ClickHouse's data live under $PTEL_SERVICES_HOME/data, Redis's
# in $PTEL_SERVICES_HOME/redis; logs (each server's output too) under
# $PTEL_SERVICES_HOME/logs. After `up`, $PTEL_SERVICES_HOME/env holds
# PTEL_TEST_KAFKA_BROKERS=..., PTEL_TEST_REDIS_URL=... and
# PTEL_TEST_CLICKHOUSE_URL=... lines for the servers that are running
# (`set -a; . "$PTEL_SERVICES_HOME/env"; set +a`).
# Messages go to stderr; `status` prints its report on stdout.
# shellcheck disable=SC2015,SC2016,SC2094 # A && B || die, bash -c scripts, redis log file: all intended
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

KAFKA_VERSION=3.9.1
KAFKA_POM="$REPO_ROOT/infra/kafka/pom.xml"
MAVEN_DEPENDENCY_GOAL="org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"
HOST=127.0.0.1
KAFKA_PORT="${PTEL_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${PTEL_KAFKA_CONTROLLER_PORT:-19093}"
REDIS_PORT="${PTEL_REDIS_PORT:-16379}"
CLICKHOUSE_HTTP_PORT="${PTEL_CLICKHOUSE_HTTP_PORT:-18123}"
CLICKHOUSE_TCP_PORT="${PTEL_CLICKHOUSE_TCP_PORT:-19000}"
READY_TIMEOUT="${PTEL_SERVICES_TIMEOUT:-90}"
KAFKA_HEAP_OPTS="${PTEL_KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
STOP_TIMEOUT=30

log() { printf 'services: %s\n' "$*" >&2; }
die() {
  printf 'services: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat >&2 <<EOF
usage: $(basename "$0") up|stop|down|kill9|status [kafka|redis|clickhouse|all]...
       $(basename "$0") chromium
EOF
  exit 2
}

# ---------------------------------------------------------------- arguments

[ $# -ge 1 ] || usage
ACTION="$1"
shift
case "$ACTION" in
  up | stop | down | kill9 | status) ;;
  chromium) [ $# -eq 0 ] || usage ;;
  *) usage ;;
esac
[ $# -ge 1 ] || set -- all
WANT_KAFKA=0 WANT_REDIS=0 WANT_CLICKHOUSE=0
for target in "$@"; do
  case "$target" in
    kafka) WANT_KAFKA=1 ;;
    redis) WANT_REDIS=1 ;;
    clickhouse) WANT_CLICKHOUSE=1 ;;
    all) WANT_KAFKA=1 WANT_REDIS=1 WANT_CLICKHOUSE=1 ;;
    *)
      printf 'services: unknown service "%s" (kafka, redis, clickhouse or all)\n' "$target" >&2
      usage
      ;;
  esac
done
TARGETS="$*"

check_port_var() { # NAME VALUE
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 65535 ] ||
    die "$1=$2 is not a valid TCP port"
}
check_port_var PTEL_KAFKA_PORT "$KAFKA_PORT"
check_port_var PTEL_KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
check_port_var PTEL_REDIS_PORT "$REDIS_PORT"
check_port_var PTEL_CLICKHOUSE_HTTP_PORT "$CLICKHOUSE_HTTP_PORT"
check_port_var PTEL_CLICKHOUSE_TCP_PORT "$CLICKHOUSE_TCP_PORT"
check_distinct_ports() { # NAME=PORT...
  local -a all=("$@")
  local i j
  for ((i = 0; i < ${#all[@]}; i++)); do
    for ((j = i + 1; j < ${#all[@]}; j++)); do
      [ "${all[i]#*=}" != "${all[j]#*=}" ] ||
        die "${all[i]%%=*} and ${all[j]%%=*} are both ${all[i]#*=}; they must differ"
    done
  done
}
check_distinct_ports PTEL_KAFKA_PORT="$KAFKA_PORT" PTEL_KAFKA_CONTROLLER_PORT="$KAFKA_CONTROLLER_PORT" \
  PTEL_REDIS_PORT="$REDIS_PORT" PTEL_CLICKHOUSE_HTTP_PORT="$CLICKHOUSE_HTTP_PORT" \
  PTEL_CLICKHOUSE_TCP_PORT="$CLICKHOUSE_TCP_PORT"
[[ "$READY_TIMEOUT" =~ ^[0-9]+$ ]] || die "PTEL_SERVICES_TIMEOUT=$READY_TIMEOUT is not a number of seconds"

# ---------------------------------------------------------------- layout

SERVICES_HOME="${PTEL_SERVICES_HOME:-$REPO_ROOT/.local/services}"
mkdir -p "$SERVICES_HOME"
SERVICES_HOME="$(cd "$SERVICES_HOME" && pwd)" # absolute from here on

RUN_DIR="$SERVICES_HOME/run"   # pid files
LOG_DIR="$SERVICES_HOME/logs"  # server and install logs
DATA_DIR="$SERVICES_HOME/data" # the servers' data: kept by `stop` and `kill9`, dropped by `down`
ENV_FILE="$SERVICES_HOME/env"

KAFKA_HOME="$SERVICES_HOME/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_LIBS_MARKER="$KAFKA_LIBS/.ptel-complete"
KAFKA_CONF="$SERVICES_HOME/kafka/config"
KAFKA_DATA="$DATA_DIR/kafka"
KAFKA_PID="$RUN_DIR/kafka.pid"
KAFKA_LOG="$LOG_DIR/kafka-server.log"
KAFKA_STDOUT="$LOG_DIR/kafka-stdout.log"

REDIS_DIR="$SERVICES_HOME/redis" # its working directory and data (append-only file)
REDIS_PID="$RUN_DIR/redis.pid"
REDIS_LOG="$LOG_DIR/redis.log"

CLICKHOUSE_SRC="$REPO_ROOT/infra/clickhouse/launcher.c"
CLICKHOUSE_HOME="$SERVICES_HOME/clickhouse"
CLICKHOUSE_BIN="$CLICKHOUSE_HOME/ptel-clickhouse"
CLICKHOUSE_BIN_MARKER="$CLICKHOUSE_BIN.sha256"
CLICKHOUSE_DATA="$DATA_DIR/clickhouse"
CLICKHOUSE_PID="$RUN_DIR/clickhouse.pid"
CLICKHOUSE_STOP_FIFO="$RUN_DIR/clickhouse.stop"
CLICKHOUSE_LOG="$LOG_DIR/clickhouse.log"

mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR"

# One services.sh at a time per services home (parallel CI steps, two shells).
if command -v flock >/dev/null 2>&1; then
  # fd 9 must not leak into the servers (closed with 9>&- where they start),
  # or they would hold the lock for as long as they run.
  exec 9>"$SERVICES_HOME/.lock"
  if ! flock -n 9; then
    log "waiting for another services.sh run (lock $SERVICES_HOME/.lock)"
    flock -w 600 9 || die "another services.sh still holds $SERVICES_HOME/.lock after 600 s"
  fi
fi

# ---------------------------------------------------------------- helpers

now_ms() { # milliseconds since the epoch (bash 5's clock, else date's)
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local t="${EPOCHREALTIME/[.,]/}"
    printf '%s\n' "${t:0:-3}"
  else
    date +%s%3N
  fi
}

port_open() { # PORT -> 0 if something accepts TCP connections on 127.0.0.1:PORT
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

port_owner() { # PORT -> " (held by ...)" when ss can tell, else nothing
  command -v ss >/dev/null 2>&1 || return 0
  local who
  who="$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*' | head -n 1 | sed 's/users:((//')" || true
  [ -z "$who" ] || printf ' (held by %s)' "$who"
}

port_in_use_error() { # PORT VAR
  die "port $1 on $HOST is already in use by another process$(port_owner "$1"); set $2 to a free port (or stop that process)"
}

# Reads a pid file; succeeds (printing the pid) only if that process is alive
# and is really ours (guards against pid reuse after a reboot). A stale pid
# file is removed.
live_pid() { # PIDFILE KIND
  local file="$1" kind="$2" pid
  [ -f "$file" ] || return 1
  pid="$(tr -dc '0-9' <"$file" 2>/dev/null || true)"
  if [ -n "$pid" ] && proc_alive "$pid" && is_ours "$pid" "$kind"; then
    printf '%s\n' "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

is_ours() { # PID kafka|redis|clickhouse
  local cmd
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true)"
  case "$2" in
    kafka) [[ "$cmd" == *kafka.Kafka* && "$cmd" == *"$KAFKA_CONF/server.properties"* ]] ;;
    clickhouse) [[ "$cmd" == "$CLICKHOUSE_BIN "* && "$cmd" == *" --path=$CLICKHOUSE_DATA "* ]] ;;
    # redis-server rewrites its argv into a process title, so look at its
    # binary name and its working directory (--dir) instead.
    redis) [[ "$(cat "/proc/$1/comm" 2>/dev/null || true)" == redis* ]] &&
      [ "$(readlink "/proc/$1/cwd" 2>/dev/null || true)" = "$REDIS_DIR" ] ;;
  esac
}

# A server of ours whose pid file was lost (deleted by hand, services home
# wiped while running, ...): find it by its unmistakable command line / cwd.
find_orphan() { # KIND -> pid
  local d pid
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    [ "$pid" != "$$" ] || continue
    if is_ours "$pid" "$1" 2>/dev/null; then
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "need root (or password-less sudo) to run: $*"
  fi
}

APT_UPDATED=0
apt_install() { # PACKAGE...
  command -v apt-get >/dev/null 2>&1 ||
    die "$* is missing and apt-get is not available here; install it by hand"
  local apt_log="$LOG_DIR/apt.log"
  local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  log "installing $* with apt-get (log: $apt_log)"
  if [ "$APT_UPDATED" = 0 ]; then
    if ! as_root "${apt[@]}" update >"$apt_log" 2>&1 </dev/null; then
      tail -n 30 "$apt_log" >&2
      die "apt-get update failed (full log: $apt_log)"
    fi
    APT_UPDATED=1
  fi
  if ! as_root "${apt[@]}" install -y "$@" >>"$apt_log" 2>&1 </dev/null; then
    tail -n 30 "$apt_log" >&2
    die "apt-get install $* failed (full log: $apt_log)"
  fi
}

JAVA=""
java_major() {
  "$1" -version 2>&1 | sed -n 's/.* version "\([0-9][0-9]*\)\(\.\([0-9]*\)\)\{0,1\}.*/\1 \3/p' | head -n 1 |
    awk '{ print ($1 == 1 ? $2 : $1) }'
}
ensure_java() {
  [ -z "$JAVA" ] || return 0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    JAVA="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    JAVA="$(command -v java)"
  else
    apt_install openjdk-17-jre-headless
    JAVA="$(command -v java)" || die "java still not found after installing openjdk-17-jre-headless"
  fi
  local major
  major="$(java_major "$JAVA")"
  [ -n "$major" ] && [ "$major" -ge 11 ] ||
    die "Kafka $KAFKA_VERSION needs Java 11 or newer; $JAVA is version '${major:-unknown}' (set JAVA_HOME)"
}

ensure_maven() {
  command -v mvn >/dev/null 2>&1 || apt_install maven
  command -v mvn >/dev/null 2>&1 || die "mvn still not found after installing maven"
}

# ---------------------------------------------------------------- kafka

kafka_tool() { # TIMEOUT_SECONDS CLASS ARGS... (a small, quiet JVM for the command-line tools)
  local limit="$1"
  shift
  timeout "$limit" "$JAVA" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$KAFKA_CONF/tools-log4j.properties" \
    -cp "$KAFKA_LIBS/*" "$@"
}

install_kafka() {
  local want
  want="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
  if [ -f "$KAFKA_LIBS_MARKER" ] && [ "$(cat "$KAFKA_LIBS_MARKER")" = "$want" ]; then
    return 0
  fi
  ensure_maven
  local tmp="$KAFKA_HOME/libs.partial" mvn_log="$LOG_DIR/maven.log"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "fetching Apache Kafka $KAFKA_VERSION jars with Maven (log: $mvn_log)"
  local -a args=(-B -q -Dstyle.color=never -f "$KAFKA_POM" "$MAVEN_DEPENDENCY_GOAL"
    -DoutputDirectory="$tmp" -DincludeScope=runtime)
  # Offline first: works from Maven's local cache (~/.m2) with no network and
  # costs a second when the cache is empty; then the normal online attempt.
  if ! mvn -o "${args[@]}" >"$mvn_log" 2>&1 </dev/null; then
    printf '\n---- (offline attempt above failed: not all in the local cache) online attempt ----\n' >>"$mvn_log"
    if ! mvn "${args[@]}" >>"$mvn_log" 2>&1 </dev/null; then
      grep -v '^\s*$' "$mvn_log" | tail -n 40 >&2 || true
      rm -rf "$tmp"
      die "Maven could not fetch the Kafka jars (full log: $mvn_log)"
    fi
  fi
  [ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || die "Maven ran but kafka_2.13-$KAFKA_VERSION.jar is missing in $tmp"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  printf '%s\n' "$want" >"$KAFKA_LIBS_MARKER"
}

write_kafka_config() {
  mkdir -p "$KAFKA_CONF"
  cat >"$KAFKA_CONF/server.properties" <<EOF
# Generated by infra/scripts/services.sh; rewritten at every start.
# One KRaft node, broker and controller in one process, for tests and local runs.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA

# Single node: every replication factor and ISR is 1.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
delete.topic.enable=true
unclean.leader.election.enable=false

# Fast groups for tests.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000

# Small footprint and short retention (throwaway data).
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=6
log.retention.check.interval.ms=60000
log.segment.bytes=67108864
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
EOF

  cat >"$KAFKA_CONF/log4j.properties" <<EOF
# Generated by infra/scripts/services.sh.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_LOG
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel\$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.authorizer.logger=WARN
EOF

  cat >"$KAFKA_CONF/tools-log4j.properties" <<'EOF'
# Generated by infra/scripts/services.sh: command-line tools log warnings to stderr.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF

  cat >"$KAFKA_CONF/admin.properties" <<'EOF'
# Generated by infra/scripts/services.sh: client settings for the readiness check.
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF
}

# A random KRaft cluster id: 16 random bytes, URL-safe base64 without padding,
# not starting with '-' (what `kafka-storage.sh random-uuid` produces).
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" == -* ]] || break
  done
  printf '%s\n' "$id"
}

kafka_ready() { # proves the broker answers metadata requests, not just that the port is open
  port_open "$KAFKA_PORT" || return 1
  [ -f "$KAFKA_CONF/admin.properties" ] || write_kafka_config
  kafka_tool 30 org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
    --command-config "$KAFKA_CONF/admin.properties" --list >/dev/null 2>&1 </dev/null
}

start_kafka() { # sets KAFKA_STARTED=1 when it launched a new process
  local pid
  if pid="$(live_pid "$KAFKA_PID" kafka)" || pid="$(find_orphan kafka)"; then
    printf '%s\n' "$pid" >"$KAFKA_PID"
    log "kafka already running (pid $pid)"
    return 0
  fi
  port_open "$KAFKA_PORT" && port_in_use_error "$KAFKA_PORT" PTEL_KAFKA_PORT
  port_open "$KAFKA_CONTROLLER_PORT" && port_in_use_error "$KAFKA_CONTROLLER_PORT" PTEL_KAFKA_CONTROLLER_PORT

  write_kafka_config
  # The data kept by `stop` (or a kill) is formatted already: the node restarts on it with its
  # cluster id, topics and committed offsets. Only an empty data folder gets a new cluster.
  local cluster_id format_log="$LOG_DIR/kafka-format.log"
  cluster_id="$(sed -n 's/^cluster\.id=//p' "$KAFKA_DATA/meta.properties" 2>/dev/null || true)"
  if [ -n "$cluster_id" ]; then
    log "kafka restarts on the data in $KAFKA_DATA"
  else
    rm -rf "$KAFKA_DATA"
    mkdir -p "$KAFKA_DATA"
    cluster_id="$(new_cluster_id)"
    if ! kafka_tool 120 kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$KAFKA_CONF/server.properties" >"$format_log" 2>&1 </dev/null; then
      cat "$format_log" >&2
      rm -rf "$KAFKA_DATA"
      die "formatting the Kafka storage in $KAFKA_DATA failed"
    fi
  fi

  # Keep the previous run's log for post-mortems, start a clean one.
  [ ! -f "$KAFKA_LOG" ] || mv -f "$KAFKA_LOG" "$KAFKA_LOG.prev"
  : >"$KAFKA_STDOUT"
  rm -f "$KAFKA_PID"
  local -a heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  local launched_ms
  launched_ms="$(now_ms)"
  log "starting kafka $KAFKA_VERSION on $HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT, cluster $cluster_id)"
  # setsid + nohup: the broker outlives this script and its terminal/process
  # group; every standard stream is redirected so that callers capturing our
  # output are not held open. The child writes its own pid, then execs java.
  (
    cd "$SERVICES_HOME"
    exec nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PID" \
      "$JAVA" -server "${heap[@]}" \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$KAFKA_CONF/log4j.properties" \
      -Dkafka.logs.dir="$LOG_DIR" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF/server.properties"
  ) </dev/null >>"$KAFKA_STDOUT" 2>&1 9>&- &
  for _ in $(seq 1 50); do # the pid file appears within milliseconds
    [ -s "$KAFKA_PID" ] && break
    sleep 0.1
  done
  [ -s "$KAFKA_PID" ] || die "kafka did not start (no pid file); see $KAFKA_STDOUT"
  KAFKA_STARTED=1
  KAFKA_LAUNCHED_MS="$launched_ms"
}

proc_alive() { # PID; a zombie (our own child killed during `up`, not yet reaped) counts as dead
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)"
  [ "$state" != Z ]
}

stop_pid() { # NAME PID
  local name="$1" pid="$2" waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while proc_alive "$pid"; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 5)) ]; then
      log "$name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        proc_alive "$pid" || break
        sleep 0.1
      done
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

kill9_pid() { # NAME PID: a crash, as SIGKILL makes one
  log "killing $1 (pid $2) with SIGKILL"
  kill -KILL "$2" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    proc_alive "$2" || return 0
    sleep 0.1
  done
  die "$1 (pid $2) is still alive 10 s after SIGKILL"
}

# Stops one server: `stop` (SIGTERM, then SIGKILL after STOP_TIMEOUT), `kill9`
# (SIGKILL at once) or `down` (stop, then drop the data).
stop_service() { # NAME PIDFILE stop|kill9|down DATA...
  local name="$1" file="$2" how="$3" pid
  shift 3
  if pid="$(live_pid "$file" "$name")" || pid="$(find_orphan "$name")"; then
    if [ "$how" = kill9 ]; then
      kill9_pid "$name" "$pid"
    else
      log "stopping $name (pid $pid)"
      stop_pid "$name" "$pid"
    fi
  fi
  rm -f "$file"
  if [ "$how" = down ]; then rm -rf "$@"; fi
}

stop_kafka() { stop_service kafka "$KAFKA_PID" "$1" "$KAFKA_DATA"; }

# ---------------------------------------------------------------- redis

REDIS_SERVER="" REDIS_CLI=""
install_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis-server
    command -v redis-server >/dev/null 2>&1 || die "redis-server still not found after apt-get install redis-server"
  fi
  REDIS_SERVER="$(command -v redis-server)"
  REDIS_CLI="$(command -v redis-cli || true)"
}

redis_ready() { # PING -> PONG
  local reply
  if [ -n "$REDIS_CLI" ] || REDIS_CLI="$(command -v redis-cli)"; then
    reply="$(timeout 5 "$REDIS_CLI" -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null </dev/null)" || return 1
    [ "$reply" = PONG ]
  else # no redis-cli: speak RESP over bash's /dev/tcp
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
      printf "PING\r\n" >&3; IFS= read -r line <&3; [[ "$line" == "+PONG"* ]]' "$HOST" "$REDIS_PORT" 2>/dev/null
  fi
}

start_redis() {
  local pid
  if pid="$(live_pid "$REDIS_PID" redis)" || pid="$(find_orphan redis)"; then
    printf '%s\n' "$pid" >"$REDIS_PID"
    log "redis already running (pid $pid)"
    return 0
  fi
  port_open "$REDIS_PORT" && port_in_use_error "$REDIS_PORT" PTEL_REDIS_PORT
  mkdir -p "$REDIS_DIR"
  rm -f "$REDIS_PID"
  log "starting redis ($("$REDIS_SERVER" --version | grep -o 'v=[0-9.]*' | cut -c3-)) on $HOST:$REDIS_PORT"
  # --daemonize: redis forks, detaches and writes its own pid file. The
  # append-only file (flushed every second) keeps the keys over `stop`, and
  # over a kill but for the last second.
  if ! (cd "$REDIS_DIR" && "$REDIS_SERVER" --port "$REDIS_PORT" --bind "$HOST" --protected-mode yes \
    --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" \
    --save '' --appendonly yes --appendfsync everysec) </dev/null >>"$REDIS_LOG" 2>&1 9>&-; then
    tail -n 20 "$REDIS_LOG" >&2
    die "redis-server failed to start (log: $REDIS_LOG)"
  fi
  REDIS_STARTED=1
}

stop_redis() { stop_service redis "$REDIS_PID" "$1" "$REDIS_DIR/appendonlydir" "$REDIS_DIR/dump.rdb"; }

# ---------------------------------------------------------------- clickhouse

# The chdb package's library holds a whole ClickHouse (clickhouse-local), which
# serves ClickHouse's HTTP and native interfaces when its command-line entry
# point is run with listen ports and a query that starts the listeners.
LIBCHDB=""
find_libchdb() {
  local arch
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no chdb library is published for $(uname -m); the ClickHouse server needs linux x86_64 or arm64" ;;
  esac
  LIBCHDB="$REPO_ROOT/node_modules/@chdb/lib-linux-$arch-gnu/libchdb.so"
  [ -f "$LIBCHDB" ] ||
    die "$LIBCHDB is missing: the ClickHouse server runs the library of the npm chdb package; run \`npm ci\` in $REPO_ROOT"
}

build_clickhouse_launcher() { # compiles infra/clickhouse/launcher.c once (again when it changes)
  local want
  want="$(sha256sum "$CLICKHOUSE_SRC" | cut -d' ' -f1)"
  if [ -x "$CLICKHOUSE_BIN" ] && [ -f "$CLICKHOUSE_BIN_MARKER" ] && [ "$(cat "$CLICKHOUSE_BIN_MARKER")" = "$want" ]; then
    return 0
  fi
  command -v gcc >/dev/null 2>&1 || apt_install gcc libc6-dev
  command -v gcc >/dev/null 2>&1 || die "gcc still not found after apt-get install gcc"
  mkdir -p "$CLICKHOUSE_HOME"
  local build_log="$LOG_DIR/clickhouse-build.log"
  log "building the ClickHouse launcher $CLICKHOUSE_BIN"
  if ! gcc -O2 -Wall -Wextra -o "$CLICKHOUSE_BIN.partial" "$CLICKHOUSE_SRC" -ldl -lpthread >"$build_log" 2>&1 </dev/null; then
    cat "$build_log" >&2
    rm -f "$CLICKHOUSE_BIN.partial"
    die "gcc could not build $CLICKHOUSE_SRC (log: $build_log)"
  fi
  mv -f "$CLICKHOUSE_BIN.partial" "$CLICKHOUSE_BIN"
  printf '%s\n' "$want" >"$CLICKHOUSE_BIN_MARKER"
}

sql_string() { # TEXT -> a ClickHouse string literal
  local t="${1//\\/\\\\}"
  printf "'%s'" "${t//\'/\\\'}"
}

clickhouse_ready() { # GET /ping answers "Ok."
  port_open "$CLICKHOUSE_HTTP_PORT" || return 1
  local reply
  reply="$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET /ping HTTP/1.0\r\nHost: %s:%s\r\n\r\n" "$0" "$1" >&3; cat <&3' \
    "$HOST" "$CLICKHOUSE_HTTP_PORT" 2>/dev/null)" || return 1
  reply="${reply//$'\r'/}"
  [[ "$reply" == "HTTP/1."?" 200 "* && "$reply" == *$'\n\nOk.' ]]
}

start_clickhouse() { # sets CLICKHOUSE_STARTED=1 when it launched a new process
  local pid
  if pid="$(live_pid "$CLICKHOUSE_PID" clickhouse)" || pid="$(find_orphan clickhouse)"; then
    printf '%s\n' "$pid" >"$CLICKHOUSE_PID"
    log "clickhouse already running (pid $pid)"
    return 0
  fi
  port_open "$CLICKHOUSE_HTTP_PORT" && port_in_use_error "$CLICKHOUSE_HTTP_PORT" PTEL_CLICKHOUSE_HTTP_PORT
  port_open "$CLICKHOUSE_TCP_PORT" && port_in_use_error "$CLICKHOUSE_TCP_PORT" PTEL_CLICKHOUSE_TCP_PORT

  if [ -n "$(find "$CLICKHOUSE_DATA" -mindepth 1 -print -quit 2>/dev/null)" ]; then
    log "clickhouse restarts on the data in $CLICKHOUSE_DATA"
  fi
  mkdir -p "$CLICKHOUSE_DATA"
  [ ! -f "$CLICKHOUSE_LOG" ] || mv -f "$CLICKHOUSE_LOG" "$CLICKHOUSE_LOG.prev"
  : >"$CLICKHOUSE_LOG"
  rm -f "$CLICKHOUSE_PID"
  # The query starts the listeners, then reads the launcher's FIFO until the
  # launcher closes it on SIGTERM: the server runs for as long as that read.
  local query
  query="SYSTEM START LISTEN QUERIES ALL; SELECT count() FROM file($(sql_string "$CLICKHOUSE_STOP_FIFO"), 'LineAsString') FORMAT Null"
  local launched_ms
  launched_ms="$(now_ms)"
  log "starting clickhouse ($(basename "$(dirname "$LIBCHDB")")) on http://$HOST:$CLICKHOUSE_HTTP_PORT (native $HOST:$CLICKHOUSE_TCP_PORT)"
  (
    cd "$CLICKHOUSE_DATA"
    exec nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$CLICKHOUSE_PID" \
      "$CLICKHOUSE_BIN" "$LIBCHDB" "$CLICKHOUSE_STOP_FIFO" clickhouse \
      --path="$CLICKHOUSE_DATA" --listen_host="$HOST" \
      --http_port="$CLICKHOUSE_HTTP_PORT" --tcp_port="$CLICKHOUSE_TCP_PORT" \
      --logger.console=1 --log-level=information \
      --multiquery --query="$query"
  ) </dev/null >>"$CLICKHOUSE_LOG" 2>&1 9>&- &
  for _ in $(seq 1 50); do
    [ -s "$CLICKHOUSE_PID" ] && break
    sleep 0.1
  done
  [ -s "$CLICKHOUSE_PID" ] || die "clickhouse did not start (no pid file); see $CLICKHOUSE_LOG"
  CLICKHOUSE_STARTED=1
  CLICKHOUSE_LAUNCHED_MS="$launched_ms"
}

stop_clickhouse() { stop_service clickhouse "$CLICKHOUSE_PID" "$1" "$CLICKHOUSE_DATA" "$CLICKHOUSE_STOP_FIFO"; }

# ---------------------------------------------------------------- chromium

CHROMIUM=/usr/bin/chromium
ensure_chromium() {
  if [ ! -x "$CHROMIUM" ]; then
    apt_install chromium
    [ -x "$CHROMIUM" ] || die "$CHROMIUM still not found after apt-get install chromium"
  fi
  log "chromium ready: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
}

# ---------------------------------------------------------------- env file

write_env() { # lists the services that are running now; no file when none is
  local tmp="$ENV_FILE.tmp" any=0
  : >"$tmp"
  if live_pid "$KAFKA_PID" kafka >/dev/null; then
    printf 'PTEL_TEST_KAFKA_BROKERS=%s:%s\n' "$HOST" "$KAFKA_PORT" >>"$tmp"
    any=1
  fi
  if live_pid "$REDIS_PID" redis >/dev/null; then
    printf 'PTEL_TEST_REDIS_URL=redis://%s:%s\n' "$HOST" "$REDIS_PORT" >>"$tmp"
    any=1
  fi
  if live_pid "$CLICKHOUSE_PID" clickhouse >/dev/null; then
    printf 'PTEL_TEST_CLICKHOUSE_URL=http://%s:%s\n' "$HOST" "$CLICKHOUSE_HTTP_PORT" >>"$tmp"
    any=1
  fi
  if [ "$any" = 1 ]; then mv -f "$tmp" "$ENV_FILE"; else rm -f "$tmp" "$ENV_FILE"; fi
}

# ---------------------------------------------------------------- actions

fail_startup() { # NAME REASON LOGFILE... : show the logs, stop what we started (keeping its data), exit 1
  local name="$1" reason="$2"
  shift 2
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    printf 'services: ---- last lines of %s ----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
  if [ "$name" = kafka ] && [ "${KAFKA_STARTED:-0}" = 1 ]; then stop_kafka stop; fi
  if [ "$name" = redis ] && [ "${REDIS_STARTED:-0}" = 1 ]; then stop_redis stop; fi
  if [ "$name" = clickhouse ] && [ "${CLICKHOUSE_STARTED:-0}" = 1 ]; then stop_clickhouse stop; fi
  write_env
  die "$name $reason"
}

since_launch() { # STARTED LAUNCHED_MS -> " (N ms after launch)" for a server this run launched
  [ "$1" = 1 ] || return 0
  printf ' (%s ms after launch)' "$(($(now_ms) - $2))"
}

wait_ready() {
  local started_at=$SECONDS deadline=$((SECONDS + READY_TIMEOUT))
  local kafka_ok=$((1 - WANT_KAFKA)) redis_ok=$((1 - WANT_REDIS)) clickhouse_ok=$((1 - WANT_CLICKHOUSE))
  local late="was not ready within ${READY_TIMEOUT}s (PTEL_SERVICES_TIMEOUT)"
  while :; do
    if [ "$redis_ok" = 0 ]; then
      if redis_ready; then
        redis_ok=1
        log "redis ready on $HOST:$REDIS_PORT"
      elif [ "$((SECONDS - started_at))" -ge 5 ] && ! live_pid "$REDIS_PID" redis >/dev/null; then
        # redis writes its pid file right after daemonizing: none after 5 s
        # (or a dead pid) means it exited.
        fail_startup redis "exited during startup" "$REDIS_LOG"
      fi
    fi
    if [ "$clickhouse_ok" = 0 ]; then
      if ! live_pid "$CLICKHOUSE_PID" clickhouse >/dev/null; then
        fail_startup clickhouse "exited during startup" "$CLICKHOUSE_LOG"
      fi
      if clickhouse_ready; then
        clickhouse_ok=1
        log "clickhouse ready on http://$HOST:$CLICKHOUSE_HTTP_PORT$(since_launch "$CLICKHOUSE_STARTED" "$CLICKHOUSE_LAUNCHED_MS")"
      fi
    fi
    if [ "$kafka_ok" = 0 ]; then
      if ! live_pid "$KAFKA_PID" kafka >/dev/null; then
        fail_startup kafka "exited during startup" "$KAFKA_LOG" "$KAFKA_STDOUT"
      fi
      if kafka_ready; then
        kafka_ok=1
        log "kafka ready on $HOST:$KAFKA_PORT$(since_launch "$KAFKA_STARTED" "$KAFKA_LAUNCHED_MS")"
      fi
    fi
    [ "$kafka_ok" = 1 ] && [ "$redis_ok" = 1 ] && [ "$clickhouse_ok" = 1 ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      [ "$kafka_ok" = 1 ] || fail_startup kafka "$late" "$KAFKA_LOG" "$KAFKA_STDOUT"
      [ "$clickhouse_ok" = 1 ] || fail_startup clickhouse "$late" "$CLICKHOUSE_LOG"
      fail_startup redis "$late" "$REDIS_LOG"
    fi
    sleep 0.2
  done
}

do_up() {
  KAFKA_STARTED=0 REDIS_STARTED=0 CLICKHOUSE_STARTED=0 KAFKA_LAUNCHED_MS=0 CLICKHOUSE_LAUNCHED_MS=0
  if [ "$WANT_CLICKHOUSE" = 1 ]; then # cheap checks first: nothing starts when they fail
    find_libchdb
    build_clickhouse_launcher
  fi
  if [ "$WANT_KAFKA" = 1 ]; then
    ensure_java
    install_kafka
    start_kafka # boots in the background while redis is installed/started
  fi
  if [ "$WANT_REDIS" = 1 ]; then
    install_redis
    start_redis
  fi
  [ "$WANT_CLICKHOUSE" = 0 ] || start_clickhouse # last: ready in well under a second
  wait_ready
  write_env
  log "environment for tests written to $ENV_FILE"
}

do_stop() { # stop|kill9|down
  [ "$WANT_KAFKA" = 0 ] || stop_kafka "$1"
  [ "$WANT_REDIS" = 0 ] || stop_redis "$1"
  [ "$WANT_CLICKHOUSE" = 0 ] || stop_clickhouse "$1"
  write_env
  case "$1" in
    stop) log "stopped $TARGETS (data kept)" ;;
    kill9) log "killed $TARGETS (data kept)" ;;
    down) log "stopped $TARGETS and dropped the data" ;;
  esac
}

do_status() {
  local all_ok=0 pid
  if [ "$WANT_KAFKA" = 1 ]; then
    if pid="$(live_pid "$KAFKA_PID" kafka)" || pid="$(find_orphan kafka)"; then
      printf '%s\n' "$pid" >"$KAFKA_PID"
      ensure_java
      if kafka_ready; then
        echo "kafka: running and ready on $HOST:$KAFKA_PORT (pid $pid)"
      else
        echo "kafka: running (pid $pid) but not answering on $HOST:$KAFKA_PORT"
        all_ok=1
      fi
    else
      echo "kafka: down"
      all_ok=1
    fi
  fi
  if [ "$WANT_REDIS" = 1 ]; then
    if pid="$(live_pid "$REDIS_PID" redis)" || pid="$(find_orphan redis)"; then
      printf '%s\n' "$pid" >"$REDIS_PID"
      if redis_ready; then
        echo "redis: running and ready on $HOST:$REDIS_PORT (pid $pid)"
      else
        echo "redis: running (pid $pid) but not answering PING on $HOST:$REDIS_PORT"
        all_ok=1
      fi
    else
      echo "redis: down"
      all_ok=1
    fi
  fi
  if [ "$WANT_CLICKHOUSE" = 1 ]; then
    if pid="$(live_pid "$CLICKHOUSE_PID" clickhouse)" || pid="$(find_orphan clickhouse)"; then
      printf '%s\n' "$pid" >"$CLICKHOUSE_PID"
      if clickhouse_ready; then
        echo "clickhouse: running and ready on http://$HOST:$CLICKHOUSE_HTTP_PORT (pid $pid)"
      else
        echo "clickhouse: running (pid $pid) but not answering /ping on http://$HOST:$CLICKHOUSE_HTTP_PORT"
        all_ok=1
      fi
    else
      echo "clickhouse: down"
      all_ok=1
    fi
  fi
  return "$all_ok"
}

case "$ACTION" in
  up) do_up ;;
  stop | kill9 | down) do_stop "$ACTION" ;;
  status) do_status ;;
  chromium) ensure_chromium ;;
esac

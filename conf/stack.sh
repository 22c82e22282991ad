#!/usr/bin/env bash
# conf/stack.sh — the local seckill stack: private Redis, MariaDB, RabbitMQ,
# the FastCGI pool (spawn-fcgi + multiwatch), the background jobs and nginx,
# all under one run dir, on private loopback ports. With SECKILL_FRONT=lighttpd,
# lighttpd takes nginx's place and its mod_fastcgi spawns the pool itself.
#
#   conf/stack.sh start|stop|status|restart-pool
#
# Environment (defaults in brackets):
#   SECKILL_SRCDIR     source tree with templates/ static/ sql/ conf/ [dir above this script]
#   SECKILL_BUILDDIR   build tree with fcgi-app/seckill-fcgi, jobs/* [current dir]
#   SECKILL_RUN_DIR    data, logs, pid files, generated configs, socket [./run]
#   SECKILL_HTTP_PORT [8080]  SECKILL_REDIS_PORT [16379]
#   SECKILL_MYSQL_PORT [13306]  SECKILL_AMQP_PORT [15682] (Erlang dist port = +10000)
#   SECKILL_SEED       1: load sql/seed.sql into a newly created database [1]
#   SECKILL_CONF       config file for the binaries [$SECKILL_SRCDIR/conf/seckill.conf]
#   SECKILL_FRONT      nginx (with a spawn-fcgi + multiwatch pool) or lighttpd (whose
#                      mod_fastcgi spawns the pool) [the front already running in the
#                      run dir, else nginx]; written to $SECKILL_RUN_DIR/front at start.
#                      stop, status and restart-pool act on the front that runs.
#
# Processes are only ever stopped through the pid files this script wrote.
# `status` exits 0 when every part is running, 3 otherwise.

# Also when started as "sh conf/stack.sh" (make's $(SHELL) is /bin/sh).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail

PROG=${0##*/}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

die() {
    [ "${IN_STEP:-0}" = 1 ] && printf 'FAILED\n'
    IN_STEP=0
    printf '%s: ERROR: %s\n' "$PROG" "$*" >&2
    exit 1
}

SRCDIR=${SECKILL_SRCDIR:-$SCRIPT_DIR/..}
[ -d "$SRCDIR" ] || die "SECKILL_SRCDIR=$SRCDIR is not a directory"
SRCDIR=$(cd "$SRCDIR" && pwd -P)
BUILDDIR=${SECKILL_BUILDDIR:-.}
[ -d "$BUILDDIR" ] || die "SECKILL_BUILDDIR=$BUILDDIR is not a directory"
BUILDDIR=$(cd "$BUILDDIR" && pwd -P)
RUN=$(realpath -m -- "${SECKILL_RUN_DIR:-./run}")
# These paths go unquoted into the generated nginx/redis configs.
for _d in "$RUN" "$SRCDIR"; do
    case $_d in
    *[[:space:]\"\'\;\{\}\$\#]*) die "path '$_d' contains whitespace or one of \" ' ; { } \$ # (not supported in the generated configs)" ;;
    esac
done

HTTP_PORT=${SECKILL_HTTP_PORT:-8080}
REDIS_PORT=${SECKILL_REDIS_PORT:-16379}
MYSQL_PORT=${SECKILL_MYSQL_PORT:-13306}
AMQP_PORT=${SECKILL_AMQP_PORT:-15682}
for _p in HTTP_PORT REDIS_PORT MYSQL_PORT AMQP_PORT; do
    [[ ${!_p} =~ ^[0-9]+$ ]] && [ "${!_p}" -ge 1 ] && [ "${!_p}" -le 65535 ] ||
        die "SECKILL_$_p=${!_p} is not a port number"
done
[ "$AMQP_PORT" -le 55535 ] || die "SECKILL_AMQP_PORT=$AMQP_PORT: the dist port (+10000) would exceed 65535"
DIST_PORT=$((AMQP_PORT + 10000))
NODE=sk${AMQP_PORT}@localhost
SEED=${SECKILL_SEED:-1}
CONF=${SECKILL_CONF:-$SRCDIR/conf/seckill.conf}
case ${SECKILL_FRONT:-} in
'' | nginx | lighttpd) ;;
*) die "SECKILL_FRONT=$SECKILL_FRONT: use nginx or lighttpd" ;;
esac

FCGI_BIN=$BUILDDIR/fcgi-app/seckill-fcgi
JOBS=(seckill-consumer seckill-retry seckill-timeout seckill-heal)
RMQ_SBIN=/usr/lib/rabbitmq/bin

PID=$RUN/pid
LOG=$RUN/log
FCGI_SOCK=$RUN/fcgi.sock
MYSQL_SOCK=$RUN/mysql.sock

# What the binaries (FastCGI workers, jobs, --dump-config) see. The port
# variables double as the config overrides http.port, redis.port, ...
export SECKILL_CONF=$CONF
export SECKILL_APP_RUN_DIR=$RUN
export SECKILL_APP_TEMPLATES=$SRCDIR/templates
export SECKILL_HTTP_PORT=$HTTP_PORT SECKILL_REDIS_PORT=$REDIS_PORT
export SECKILL_MYSQL_PORT=$MYSQL_PORT SECKILL_AMQP_PORT=$AMQP_PORT

if [ "$(id -u)" -eq 0 ]; then IS_ROOT=1; else IS_ROOT=0; fi

# ---------------------------------------------------------------- helpers

now_ms() { date +%s%3N; }
T0=0
IN_STEP=0 # a "==> ... " line waits for its ok/FAILED
begin() { # begin "starting redis on ..."
    T0=$(now_ms)
    IN_STEP=1
    printf '==> %s ... ' "$*"
}
end_step_failed() {
    [ "$IN_STEP" = 1 ] && printf 'FAILED\n'
    IN_STEP=0
}
elapsed() {
    local d=$(($(now_ms) - T0))
    printf '%d.%d s' $((d / 1000)) $((d % 1000 / 100))
}
ok() {
    printf 'ok (%s)%s\n' "$(elapsed)" "${1:+, $1}"
    IN_STEP=0
}
note() { printf '%s\n' "$*"; }
# fail PART LOGFILE MESSAGE...: end the current line, show the log, exit 1
fail() {
    local part=$1 logf=$2
    shift 2
    end_step_failed
    printf '%s: ERROR: %s: %s\n' "$PROG" "$part" "$*" >&2
    if [ -n "$logf" ]; then
        printf '%s: see %s' "$PROG" "$logf" >&2
        if [ -s "$logf" ]; then
            printf ', last lines:\n' >&2
            tail -n 15 "$logf" | sed 's/^/    | /' >&2
        else
            printf '\n' >&2
        fi
    fi
    exit 1
}

# alive PID [CMDLINE-SUBSTRING]: the process exists, is no zombie and (when
# given) its command line contains the substring, so that a stale pid file
# whose pid was reused is never mistaken for our server.
alive() {
    local pid=$1 want=${2:-} state cmd
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
    if [ -n "$want" ]; then
        cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
        [[ $cmd == *"$want"* ]] || return 1
    fi
    return 0
}
readpid() { # readpid FILE: prints the pid or nothing
    local p=
    [ -f "$1" ] && read -r p <"$1" 2>/dev/null || true
    printf '%s' "${p//[^0-9]/}"
}
# await_pid PIDFILE WANT: waits up to 5 s for PIDFILE to name a live WANT; prints its pid, or fails
await_pid() {
    local pid _
    for _ in $(seq 1 50); do
        pid=$(readpid "$1")
        [ -n "$pid" ] && alive "$pid" "$2" && { printf '%s' "$pid"; return 0; }
        sleep 0.1
    done
    return 1
}
# running PIDFILE WANT: prints the live pid, or fails
running() {
    local p
    p=$(readpid "$1")
    [ -n "$p" ] && alive "$p" "$2" && printf '%s' "$p"
}
children() { # direct children of a pid (selected by parent pid, not by name)
    ps -o pid= --ppid "$1" 2>/dev/null || true
}
# wait_gone PID SECONDS
wait_gone() {
    local pid=$1 n=$(($2 * 10))
    while [ "$n" -gt 0 ]; do
        alive "$pid" || return 0
        sleep 0.1
        n=$((n - 1))
    done
    ! alive "$pid"
}
# kill_pid NAME PID [TIMEOUT]: SIGTERM, wait, then SIGKILL the pid and the
# children it had (so that a killed supervisor leaves no orphans).
kill_pid() {
    local name=$1 pid=$2 timeout=${3:-15} kids
    kids=$(children "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$timeout"; then
        printf '(no exit after %d s, SIGKILL) ' "$timeout"
        kill -KILL "$pid" 2>/dev/null || true
        local k
        for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
        wait_gone "$pid" 5 || die "$name: pid $pid survives SIGKILL"
    fi
}
# stop_by_pidfile NAME PIDFILE WANT [TIMEOUT]
stop_by_pidfile() {
    local name=$1 pidf=$2 want=$3 timeout=${4:-15} pid
    pid=$(readpid "$pidf")
    if [ -z "$pid" ]; then
        note "==> $name: not running"
        rm -f "$pidf"
        return 0
    fi
    if ! alive "$pid" "$want"; then
        note "==> $name: not running (removing stale pid file $pidf)"
        rm -f "$pidf"
        return 0
    fi
    begin "stopping $name (pid $pid)"
    kill_pid "$name" "$pid" "$timeout"
    rm -f "$pidf"
    ok
}

port_busy() { # something listens on the TCP port (any local address)?
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}
port_owner() {
    command -v ss >/dev/null 2>&1 || return 0
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\))).*$/ (\1)/p' | head -n 1
}
need_port() { # need_port PART PORT LOG
    if port_busy "$2"; then
        fail "$1" "" "port 127.0.0.1:$2 is already in use by another process$(port_owner "$2"); choose other SECKILL_*_PORT values or stop it"
    fi
}

sed_repl() { # escape a string for the replacement side of s|...|...| (newlines too)
    printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g'
}
# render TEMPLATE OUTPUT NAME=VALUE...
render() {
    local in=$1 out=$2 kv args=()
    shift 2
    [ -f "$in" ] || die "template $in is missing"
    for kv in "$@"; do
        args+=(-e "s|@${kv%%=*}@|$(sed_repl "${kv#*=}")|g")
    done
    sed "${args[@]}" "$in" >"$out.tmp"
    if grep -q '@[A-Z_][A-Z_]*@' "$out.tmp"; then
        die "$in: unknown placeholder(s): $(grep -o '@[A-Z_][A-Z_]*@' "$out.tmp" | sort -u | tr '\n' ' ')"
    fi
    mv -f "$out.tmp" "$out"
}

need_cmd() {
    command -v "$1" >/dev/null 2>&1 || die "$1 not found${2:+ ($2)}"
}

check_sock_path() { # unix socket paths are limited to 107 bytes
    [ "${#1}" -lt 108 ] || die "socket path $1 is longer than 107 bytes; use a shorter SECKILL_RUN_DIR"
}

# ---------------------------------------------------------------- config

declare -A CFG=()
CONFIG_LOADED=0
# All use of the binary's configuration is here: --check-config validates
# $SECKILL_CONF plus the SECKILL_* overrides, --dump-config prints the
# effective "section.key = value" lines.
load_config() {
    [ "$CONFIG_LOADED" = 1 ] && return 0
    local out line
    [ -x "$FCGI_BIN" ] || die "config: $FCGI_BIN is missing or not executable (build it first: make)"
    begin "checking config $CONF"
    if ! out=$("$FCGI_BIN" --check-config 2>&1); then
        end_step_failed
        printf '%s\n' "$out" | sed 's/^/    | /' >&2
        die "config: $FCGI_BIN --check-config rejected $CONF (and the SECKILL_* environment)"
    fi
    if ! out=$("$FCGI_BIN" --dump-config 2>&1); then
        end_step_failed
        printf '%s\n' "$out" | sed 's/^/    | /' >&2
        die "config: $FCGI_BIN --dump-config failed"
    fi
    while IFS= read -r line; do
        if [[ $line =~ ^[[:space:]]*([A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])?[[:space:]]*$ ]]; then
            CFG[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]-}
        fi
    done <<<"$out"
    CONFIG_LOADED=1
    ok "${#CFG[@]} keys"
    # app.public_url defaults to port 8080; follow a non-default HTTP port
    # unless the URL was set explicitly.
    if [ -z "${SECKILL_APP_PUBLIC_URL:-}" ] && [ "$(cfg app.public_url '')" = "http://127.0.0.1:8080" ] &&
        [ "$HTTP_PORT" != 8080 ]; then
        export SECKILL_APP_PUBLIC_URL="http://127.0.0.1:$HTTP_PORT"
        CFG[app.public_url]=$SECKILL_APP_PUBLIC_URL
    fi
}
cfg() { # cfg KEY DEFAULT
    local v=${CFG[$1]-}
    printf '%s' "${v:-$2}"
}

# ---------------------------------------------------------------- redis

start_redis() {
    local pid pidf=$PID/redis.pid logf=$LOG/redis.log _
    if pid=$(running "$pidf" redis-server); then
        note "==> redis on 127.0.0.1:$REDIS_PORT: already running (pid $pid)"
        return 0
    fi
    begin "starting redis on 127.0.0.1:$REDIS_PORT"
    need_port redis "$REDIS_PORT"
    rm -f "$pidf"
    mkdir -p "$RUN/redis"
    render "$SRCDIR/conf/redis.conf.in" "$RUN/redis.conf" RUN="$RUN" REDIS_PORT="$REDIS_PORT"
    redis-server "$RUN/redis.conf" </dev/null >>"$logf" 2>&1 ||
        fail redis "$logf" "redis-server did not start"
    for _ in $(seq 1 100); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then
            pid=$(readpid "$pidf")
            ok "pid ${pid:-?}"
            return 0
        fi
        sleep 0.1
    done
    fail redis "$logf" "no PONG on 127.0.0.1:$REDIS_PORT within 10 s"
}

stop_redis() {
    local pid pidf=$PID/redis.pid
    pid=$(readpid "$pidf")
    if [ -n "$pid" ] && alive "$pid" redis-server; then
        begin "stopping redis (pid $pid)"
        # SHUTDOWN flushes the AOF; only sent when the pid file shows our redis.
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
        wait_gone "$pid" 15 || kill_pid redis "$pid" 5
        rm -f "$pidf"
        ok
    else
        stop_by_pidfile redis "$pidf" redis-server
    fi
}

# ---------------------------------------------------------------- mariadb

MYSQL=()
mysql_init() {
    MYSQL=(mariadb --no-defaults --protocol=socket --socket="$MYSQL_SOCK" -uroot
        --default-character-set=utf8mb4 --batch --skip-column-names)
}
sql_str() { # SQL string literal
    local s=${1//\\/\\\\}
    s=${s//\'/\\\'}
    printf "'%s'" "$s"
}
sql_ident() { # SQL identifier
    # shellcheck disable=SC2016
    printf '`%s`' "${1//\`/\`\`}"
}

start_mariadb() {
    local pid pidf=$PID/mariadb.pid logf=$LOG/mariadb.log _ bgpid up
    local args=()
    mysql_init
    if pid=$(running "$pidf" mariadbd); then
        note "==> mariadb on 127.0.0.1:$MYSQL_PORT: already running (pid $pid)"
    else
        check_sock_path "$MYSQL_SOCK"
        if [ ! -d "$RUN/mysql/mysql" ]; then
            begin "initialising mariadb datadir $RUN/mysql"
            mariadb-install-db --no-defaults --datadir="$RUN/mysql" \
                --auth-root-authentication-method=normal --skip-test-db \
                </dev/null >>"$LOG/mariadb-install.log" 2>&1 ||
                fail mariadb "$LOG/mariadb-install.log" "mariadb-install-db failed"
            ok
        fi
        begin "starting mariadb on 127.0.0.1:$MYSQL_PORT"
        need_port mariadb "$MYSQL_PORT"
        rm -f "$pidf"
        args=(--no-defaults --datadir="$RUN/mysql" --socket="$MYSQL_SOCK" --port="$MYSQL_PORT"
            --bind-address=127.0.0.1 --pid-file="$pidf" --log-error="$logf"
            --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
            --default-time-zone=+00:00 --skip-name-resolve)
        [ "$IS_ROOT" = 1 ] && args+=(--user=root)
        setsid mariadbd "${args[@]}" </dev/null >>"$logf" 2>&1 &
        bgpid=$!
        up=0
        for _ in $(seq 1 300); do
            if mariadb-admin --no-defaults --protocol=socket --socket="$MYSQL_SOCK" -uroot \
                --connect-timeout=2 ping >/dev/null 2>&1; then
                up=1
                break
            fi
            alive "$bgpid" || fail mariadb "$logf" "mariadbd exited during startup"
            sleep 0.1
        done
        [ "$up" = 1 ] || fail mariadb "$logf" "no answer to mariadb-admin ping within 30 s"
        pid=$(readpid "$pidf")
        ok "pid ${pid:-$bgpid}"
    fi
    setup_database
}

# Database, user, migrations, seed. Runs on every start (new migrations are
# applied to an already running server too).
setup_database() {
    local db user pw dbq created=0 mlog=$LOG/migrations.log out had fresh=0
    local admin=$BUILDDIR/jobs/seckill-admin
    db=$(cfg mysql.database seckill)
    user=$(cfg mysql.user seckill)
    pw=$(cfg mysql.password seckill)
    dbq=$(sql_ident "$db")
    begin "mariadb: database $db, user $user"
    if [ -z "$("${MYSQL[@]}" -e "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=$(sql_str "$db")" 2>>"$mlog")" ]; then
        created=1
    fi
    "${MYSQL[@]}" >>"$mlog" 2>&1 <<EOF || fail mariadb "$mlog" "creating database $db / user $user failed"
CREATE DATABASE IF NOT EXISTS $dbq CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS $(sql_str "$user")@'127.0.0.1' IDENTIFIED BY $(sql_str "$pw");
CREATE USER IF NOT EXISTS $(sql_str "$user")@'localhost' IDENTIFIED BY $(sql_str "$pw");
ALTER USER $(sql_str "$user")@'127.0.0.1' IDENTIFIED BY $(sql_str "$pw");
ALTER USER $(sql_str "$user")@'localhost' IDENTIFIED BY $(sql_str "$pw");
GRANT ALL PRIVILEGES ON $dbq.* TO $(sql_str "$user")@'127.0.0.1';
GRANT ALL PRIVILEGES ON $dbq.* TO $(sql_str "$user")@'localhost';
EOF
    if [ "$created" = 1 ]; then ok created; else ok exists; fi

    # Migration 0 (sql/schema.sql), then sql/migrations/NNN-*.sql, each once, recorded in
    # schema_migrations: seckill-admin migrate does it (as on an installed system), as the
    # configured user, with the source tree's sql/.
    [ -x "$admin" ] || die "$admin is missing or not executable (build it first: make)"
    had=$(schema_recorded "$db")
    begin "mariadb: seckill-admin migrate --dir $SRCDIR/sql"
    printf -- '-- %s seckill-admin migrate --dir %s\n' "$(date '+%F %T')" "$SRCDIR/sql" >>"$mlog"
    if ! out=$("$admin" migrate --dir "$SRCDIR/sql" 2>&1); then
        printf '%s\n' "$out" >>"$mlog"
        fail mariadb "$mlog" "seckill-admin migrate failed"
    fi
    printf '%s\n' "$out" >>"$mlog"
    ok
    printf '%s\n' "$out" | sed 's/^/    /'

    # Seed a database whose schema was created just now (that is a new
    # database, also when an earlier start died between the two steps).
    [ "$had" = 0 ] && [ "$(schema_recorded "$db")" = 1 ] && fresh=1
    if [ "$fresh" = 1 ] && [ "$SEED" = 1 ]; then
        if [ -f "$SRCDIR/sql/seed.sql" ]; then
            begin "mariadb: loading demo data sql/seed.sql"
            "${MYSQL[@]}" "$db" <"$SRCDIR/sql/seed.sql" >>"$mlog" 2>&1 ||
                fail mariadb "$mlog" "loading $SRCDIR/sql/seed.sql failed"
            ok
        else
            note "==> mariadb: no sql/seed.sql, no demo data"
        fi
    fi
}

# schema_recorded DB: prints 1 when DB's schema_migrations records migration 0 (schema.sql), else 0
schema_recorded() {
    local n
    n=$("${MYSQL[@]}" -e "SELECT COUNT(*) FROM information_schema.TABLES
        WHERE TABLE_SCHEMA=$(sql_str "$1") AND TABLE_NAME='schema_migrations'" 2>>"$LOG/migrations.log") || n=0
    if [ "$n" = 1 ]; then
        n=$("${MYSQL[@]}" -e "SELECT COUNT(*) FROM $(sql_ident "$1").schema_migrations
            WHERE version='000-schema'" 2>>"$LOG/migrations.log") || n=0
    fi
    if [ "$n" = 1 ]; then echo 1; else echo 0; fi
}

stop_mariadb() {
    stop_by_pidfile mariadb "$PID/mariadb.pid" mariadbd 30
}

# ---------------------------------------------------------------- rabbitmq

# This stack's RabbitMQ environment, for the server and for rabbitmqctl (same
# HOME: the Erlang cookie lives there). Use as: env "${RMQ_ENV[@]}" CMD...
RMQ_ENV=(
    HOME="$RUN/rabbitmq/home"
    RABBITMQ_NODENAME="$NODE"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$AMQP_PORT"
    RABBITMQ_DIST_PORT="$DIST_PORT"
    RABBITMQ_MNESIA_BASE="$RUN/rabbitmq/mnesia"
    RABBITMQ_LOG_BASE="$LOG"
    RABBITMQ_LOGS="$LOG/rabbitmq.log"
    RABBITMQ_PID_FILE="$PID/rabbitmq.pid"
    RABBITMQ_ENABLED_PLUGINS_FILE="$RUN/rabbitmq/enabled_plugins"
    RABBITMQ_CONFIG_FILE="$RUN/rabbitmq/rabbitmq.conf"
    RABBITMQ_ADVANCED_CONFIG_FILE="$RUN/rabbitmq/advanced.config"
    # a file that does not exist: keeps /etc/rabbitmq/rabbitmq-env.conf out
    RABBITMQ_CONF_ENV_FILE="$RUN/rabbitmq/rabbitmq-env.conf"
    # Erlang distribution and a newly started epmd on loopback only
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    # The CLI's own Erlang node listens on no port: by default it takes one of 35672-35682,
    # which is the node's distribution port when SECKILL_AMQP_PORT is 25672 (or a neighbour's)
    RABBITMQ_CTL_ERL_ARGS="-dist_listen false"
    ERL_EPMD_ADDRESS=127.0.0.1
)
rmqctl() { timeout 90 env "${RMQ_ENV[@]}" "$RMQ_SBIN/rabbitmqctl" -n "$NODE" "$@"; }

start_rabbitmq() {
    local pid pidf=$PID/rabbitmq.pid wrapf=$PID/rabbitmq-server.pid logf=$LOG/rabbitmq.log
    local clog=$LOG/rabbitmq-console.log bgpid out
    if pid=$(running "$pidf" beam); then
        note "==> rabbitmq $NODE on 127.0.0.1:$AMQP_PORT: already running (pid $pid)"
        return 0
    fi
    begin "starting rabbitmq $NODE on 127.0.0.1:$AMQP_PORT (dist $DIST_PORT)"
    need_port rabbitmq "$AMQP_PORT"
    need_port "rabbitmq (Erlang distribution)" "$DIST_PORT"
    rm -f "$pidf" "$wrapf"
    mkdir -p "$RUN/rabbitmq/home" "$RUN/rabbitmq/mnesia"
    : >"$RUN/rabbitmq/enabled_plugins"
    cat >"$RUN/rabbitmq/rabbitmq.conf" <<EOF
# generated by conf/stack.sh: AMQP on loopback only
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
loopback_users.guest = true
log.file.level = info
log.console = false
EOF
    env "${RMQ_ENV[@]}" setsid "$RMQ_SBIN/rabbitmq-server" </dev/null >>"$clog" 2>&1 &
    bgpid=$!
    echo "$bgpid" >"$wrapf"
    if ! out=$(rmqctl wait "$pidf" --timeout 60 2>&1); then
        printf '%s\n' "$out" >>"$clog"
        alive "$bgpid" || fail rabbitmq "$clog" "rabbitmq-server exited during startup (also see $logf)"
        fail rabbitmq "$logf" "$NODE did not come up within 60 s (also see $clog)"
    fi
    pid=$(readpid "$pidf")
    ok "pid ${pid:-?}"
}

stop_rabbitmq() {
    local pid pidf=$PID/rabbitmq.pid wrapf=$PID/rabbitmq-server.pid wpid out
    pid=$(readpid "$pidf")
    if [ -n "$pid" ] && alive "$pid" beam; then
        begin "stopping rabbitmq $NODE (pid $pid)"
        if ! out=$(rmqctl stop "$pidf" 2>&1); then
            printf '(rabbitmqctl stop failed: %s) ' "$(printf '%s' "$out" | tail -n 1)"
        fi
        wait_gone "$pid" 15 || kill_pid rabbitmq "$pid" 5
        ok
    else
        note "==> rabbitmq: not running${pid:+ (removing stale pid file $pidf)}"
    fi
    rm -f "$pidf"
    # The rabbitmq-server shell wrapper exits with the VM.
    wpid=$(readpid "$wrapf")
    if [ -n "$wpid" ] && alive "$wpid" rabbitmq-server; then
        kill_pid "rabbitmq-server wrapper" "$wpid" 5
    fi
    rm -f "$wrapf"
    stop_epmd_if_idle
}

# epmd is shared by every Erlang node on the machine (two stacks side by side
# register with the same one). Erlang starts it on demand and it outlives the
# node; stop it only when no node at all is registered any more (epmd -kill
# itself refuses while nodes are registered).
stop_epmd_if_idle() {
    local names
    command -v epmd >/dev/null 2>&1 || return 0
    names=$(epmd -names 2>/dev/null) || return 0 # not running
    if ! grep -q '^name ' <<<"$names"; then
        begin "stopping epmd (no Erlang node registered any more)"
        epmd -kill >/dev/null 2>&1 || true
        ok
    fi
}

# ---------------------------------------------------------------- fastcgi pool

start_pool() {
    local pid pidf=$PID/fcgi.pid logf=$LOG/fcgi.log workers mw _
    if pid=$(running "$pidf" multiwatch); then
        note "==> fastcgi pool on $FCGI_SOCK: already running (multiwatch pid $pid)"
        return 0
    fi
    load_config
    workers=$(cfg fcgi.workers 4)
    [[ $workers =~ ^[0-9]+$ ]] && [ "$workers" -ge 1 ] || die "fcgi.workers = $workers is not a positive number"
    mw=$(command -v multiwatch) || die "multiwatch not found (apt-get install -y multiwatch)"
    check_sock_path "$FCGI_SOCK"
    begin "starting fastcgi pool ($workers workers) on $FCGI_SOCK"
    rm -f "$pidf"
    # spawn-fcgi points the child's stdout/stderr at /dev/null: a tiny sh
    # in between sends them to the log, then execs multiwatch (same pid, the
    # one in the pid file). multiwatch forwards SIGTERM to the workers (-s TERM)
    # and respawns a worker that dies.
    # shellcheck disable=SC2016,SC2094
    spawn-fcgi -s "$FCGI_SOCK" -M 0666 -P "$pidf" -- \
        /bin/sh -c 'exec >>"$0" 2>&1; exec "$@"' "$logf" \
        "$mw" -f "$workers" -s TERM -- "$FCGI_BIN" \
        </dev/null >>"$logf" 2>&1 || fail "fastcgi pool" "$logf" "spawn-fcgi failed"
    for _ in $(seq 1 20); do
        pid=$(readpid "$pidf")
        [ -n "$pid" ] && alive "$pid" multiwatch && [ -S "$FCGI_SOCK" ] && break
        sleep 0.1
    done
    pid=$(readpid "$pidf")
    [ -n "$pid" ] && alive "$pid" multiwatch || fail "fastcgi pool" "$logf" "multiwatch is not running"
    sleep 0.2
    alive "$pid" multiwatch || fail "fastcgi pool" "$logf" "multiwatch exited (workers failing to start?)"
    ok "multiwatch pid $pid"
}

stop_pool() {
    stop_by_pidfile "fastcgi pool" "$PID/fcgi.pid" multiwatch 15
    if [ -S "$FCGI_SOCK" ] && ! running "$PID/fcgi.pid" multiwatch >/dev/null; then
        rm -f "$FCGI_SOCK"
    fi
}

# ---------------------------------------------------------------- jobs

# Supervisor for one job binary (internal command "__supervise"): restarts
# it 1 s after it dies and logs each (re)start with a timestamp; SIGTERM stops
# the child, then the loop.
SELF=$SCRIPT_DIR/${BASH_SOURCE[0]##*/}
supervise() { # supervise NAME BIN LOG PIDFILE
    local name=$1 bin=$2 log=$3 pidf=$4 child='' rc
    set +e
    exec </dev/null >>"$log" 2>&1
    trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi
          echo "$(date "+%F %T") supervisor: stopped"; exit 0' TERM INT HUP
    echo "$$" >"$pidf"
    while :; do
        "$bin" &
        child=$!
        echo "$(date '+%F %T') supervisor: started $name (pid $child)"
        wait "$child"
        rc=$?
        child=''
        echo "$(date '+%F %T') supervisor: $name exited with status $rc; restarting in 1 s"
        sleep 1 &
        wait $!
    done
}

start_jobs() {
    local name bin pidf logf pid _
    for name in "${JOBS[@]}"; do
        bin=$BUILDDIR/jobs/$name
        [ -x "$bin" ] || continue
        pidf=$PID/$name.pid
        logf=$LOG/$name.log
        if pid=$(running "$pidf" "__supervise $name "); then
            note "==> $name: already running (supervisor pid $pid)"
            continue
        fi
        load_config
        begin "starting $name"
        rm -f "$pidf"
        setsid bash "$SELF" __supervise "$name" "$bin" "$logf" "$pidf" </dev/null >/dev/null 2>&1 &
        for _ in $(seq 1 50); do
            pid=$(readpid "$pidf")
            [ -n "$pid" ] && break
            sleep 0.1
        done
        [ -n "$pid" ] && alive "$pid" "__supervise $name " || fail "$name" "$logf" "supervisor did not start"
        ok "supervisor pid $pid"
    done
}

stop_jobs() {
    local name
    for name in "${JOBS[@]}"; do
        [ -f "$PID/$name.pid" ] || continue
        stop_by_pidfile "$name" "$PID/$name.pid" "__supervise $name " 15
    done
}

# ---------------------------------------------------------------- nginx

start_nginx() {
    local pid pidf=$PID/nginx.pid logf=$LOG/nginx-error.log user out _
    if pid=$(running "$pidf" nginx); then
        note "==> nginx on http://127.0.0.1:$HTTP_PORT/: already running (pid $pid)"
        return 0
    fi
    begin "starting nginx on 127.0.0.1:$HTTP_PORT"
    need_port nginx "$HTTP_PORT"
    rm -f "$pidf"
    mkdir -p "$RUN/nginx/tmp" "$RUN/nginx/logs" "$RUN/nginx/extra"
    if [ "$IS_ROOT" = 1 ]; then
        user='user root;'
    else
        user='# user: not root, the workers keep the invoking user'
    fi
    # Rate limits from the config; with ratelimit.enabled = off, none at all (load tests).
    local zones api all rate burst total
    if [ "$(cfg ratelimit.enabled on)" = on ]; then
        rate=$(cfg ratelimit.api_rate 20) burst=$(cfg ratelimit.api_burst 40)
        total=$(cfg ratelimit.total_rate 20000)
        zones="    limit_req_zone \$binary_remote_addr zone=perip:10m rate=${rate}r/s;
    limit_req_zone \$server_name zone=total:1m rate=${total}r/s;"
        api="            limit_req zone=perip burst=$burst nodelay;
            limit_req zone=total burst=$((total / 10 + 1)) nodelay;"
        all="            limit_req zone=total burst=$((total / 10 + 1)) nodelay;"
    else
        zones="    # ratelimit.enabled = off: no limit_req zones"
        api="            # ratelimit.enabled = off"
        all="            # ratelimit.enabled = off"
    fi
    render "$SRCDIR/conf/nginx.conf.in" "$RUN/nginx.conf" \
        RUN="$RUN" SRCDIR="$SRCDIR" HTTP_PORT="$HTTP_PORT" USER_DIRECTIVE="$user" \
        LIMIT_ZONES="$zones" LIMIT_API="$api" LIMIT_ALL="$all"
    if ! out=$(nginx -t -q -c "$RUN/nginx.conf" -p "$RUN/nginx/" -e "$logf" 2>&1); then
        printf '%s\n' "$out" >>"$logf"
        fail nginx "$logf" "configuration test of $RUN/nginx.conf failed"
    fi
    # shellcheck disable=SC2094
    nginx -c "$RUN/nginx.conf" -p "$RUN/nginx/" -e "$logf" </dev/null >>"$logf" 2>&1 ||
        fail nginx "$logf" "nginx did not start"
    pid=$(await_pid "$pidf" nginx) || fail nginx "$logf" "nginx is not running"
    ok "pid $pid"
}

stop_nginx() {
    stop_by_pidfile nginx "$PID/nginx.pid" nginx 15
}

# ---------------------------------------------------------------- lighttpd

# lighttpd's own error answers (it refuses a request, no worker answers, a body over
# server.max-request-size, a missing static file), JSON like the app's: status code message.
LIGHTTPD_ERRORS=(
    "400 bad_request the request is not valid"
    "403 forbidden access denied"
    "404 not_found not found"
    "405 method_not_allowed method not allowed"
    "408 timeout the request took too long"
    "411 length_required a Content-Length is required"
    "413 too_large request body too large"
    "414 too_large request URI too long"
    "416 range_not_satisfiable range not satisfiable"
    "417 expectation_failed expectation failed"
    "431 too_large request headers too large"
    "500 internal internal server error"
    "501 not_implemented not implemented"
    "502 unavailable service temporarily unavailable"
    "503 unavailable service temporarily unavailable"
    "504 unavailable service temporarily unavailable"
    "505 http_version_not_supported HTTP version not supported"
)

lt_str() { # a lighttpd config string literal
    local v=${1//\\/\\\\}
    v=${v//\"/\\\"}
    printf '"%s"' "$v"
}

# The workers lighttpd spawns: children of the lighttpd pid that run seckill-fcgi.
lighttpd_workers() {
    local k
    for k in $(children "$1"); do
        alive "$k" seckill-fcgi && printf '%s ' "$k"
    done
    return 0
}

start_lighttpd() {
    local pid pidf=$PID/lighttpd.pid logf=$LOG/lighttpd-error.log conf=$RUN/lighttpd.conf
    local workers out errdir=$RUN/lighttpd/errors types='' fenv='' hosts='' limits e st code msg v n _
    if pid=$(running "$pidf" lighttpd); then
        note "==> lighttpd on http://127.0.0.1:$HTTP_PORT/: already running (pid $pid, fastcgi workers: $(lighttpd_workers "$pid"))"
        return 0
    fi
    load_config
    workers=$(cfg fcgi.workers 4)
    [[ $workers =~ ^[0-9]+$ ]] && [ "$workers" -ge 1 ] || die "fcgi.workers = $workers is not a positive number"
    [ -x "$FCGI_BIN" ] || die "$FCGI_BIN is missing or not executable (build it first: make)"
    check_sock_path "$FCGI_SOCK-$((workers - 1))-0"
    begin "starting lighttpd on 127.0.0.1:$HTTP_PORT ($workers fastcgi workers on $FCGI_SOCK-N-0)"
    need_port lighttpd "$HTTP_PORT"
    rm -f "$pidf"
    for n in $(seq 0 $((workers - 1))); do
        rm -f "$FCGI_SOCK-$n-0"
        # one backend of one process per worker, taken in turn (see lighttpd.conf.in)
        hosts+="            \"seckill-$n\" => var.seckill_worker + ( \"socket\" => $(lt_str "$FCGI_SOCK-$n") ),"$'\n'
    done
    mkdir -p "$RUN/lighttpd/tmp" "$RUN/lighttpd/empty" "$errdir"
    for e in "${LIGHTTPD_ERRORS[@]}"; do
        read -r st code msg <<<"$e"
        printf '{"error":"%s","message":"%s"}\n' "$code" "$msg" >"$errdir/json-$st.html"
        types+="    \"json-$st.html\" => \"application/json; charset=utf-8\","$'\n'
    done
    # Every SECKILL_* setting (the run dir, templates, config file, ports and any override
    # such as SECKILL_RATELIMIT_API_RATE) goes to the workers explicitly; lighttpd passes its
    # environment on as well, so nothing is lost either way.
    while IFS= read -r n; do
        v=${!n}
        [[ $v == *$'\n'* ]] && die "$n contains a newline (not supported in lighttpd.conf)"
        fenv+="    $(lt_str "$n") => $(lt_str "$v"),"$'\n'
    done < <(compgen -e | grep -E '^SECKILL_[A-Z0-9_]+$' | LC_ALL=C sort)
    if [ "$(cfg ratelimit.enabled on)" = on ]; then
        limits="# nginx limits requests per client IP on /api/ (ratelimit.api_rate = $(cfg ratelimit.api_rate 20) r/s,
# burst $(cfg ratelimit.api_burst 40)) and for all clients together (ratelimit.total_rate =
# $(cfg ratelimit.total_rate 20000) r/s), answering 429 in JSON. lighttpd 1.4.69 cannot express
# either: it has no request-rate limit, and mod_evasive (a per-IP connection cap) was removed
# in 1.4.68 in favour of a mod_magnet Lua script (package lighttpd-modules-lua, not part of
# this setup). The app's own Redis limits (login, register and captcha per IP, buys per user,
# QR polling) apply behind either front. What is left here is a cap on simultaneous
# connections, all clients together:
server.max-connections = 1024"
    else
        limits="# ratelimit.enabled = off: no connection cap beyond lighttpd's default (load tests)."
    fi
    render "$SRCDIR/conf/lighttpd.conf.in" "$conf" \
        RUN="$RUN" SRCDIR="$SRCDIR" HTTP_PORT="$HTTP_PORT" FCGI_BIN="$FCGI_BIN" \
        FCGI_WORKERS="$workers" FCGI_ENV="${fenv%$'\n'}" FCGI_HOSTS="${hosts%$'\n'}" LIMITS="$limits" ERROR_TYPES="${types%$'\n'}"
    if ! out=$(lighttpd -tt -f "$conf" 2>&1); then
        printf '%s\n' "$out" >>"$logf"
        fail lighttpd "$logf" "configuration test of $conf failed"
    fi
    # lighttpd daemonizes once it listens and has spawned the workers (a worker that cannot
    # start makes it exit non-zero); the workers' stderr goes to log/fcgi.log.
    # shellcheck disable=SC2094
    lighttpd -f "$conf" </dev/null >>"$logf" 2>&1 || fail lighttpd "$logf" "lighttpd did not start (also see $LOG/fcgi.log)"
    pid=$(await_pid "$pidf" lighttpd) || fail lighttpd "$logf" "lighttpd is not running"
    local w=()
    for _ in $(seq 1 50); do
        read -r -a w <<<"$(lighttpd_workers "$pid")"
        [ "${#w[@]}" -ge "$workers" ] && break
        sleep 0.1
    done
    [ "${#w[@]}" -ge "$workers" ] || fail lighttpd "$LOG/fcgi.log" "only ${#w[@]} of $workers fastcgi workers are running"
    ok "pid $pid, fastcgi workers: ${w[*]}"
}

stop_lighttpd() {
    local pidf=$PID/lighttpd.pid pid kids k sock _
    pid=$(readpid "$pidf")
    kids=
    if [ -n "$pid" ] && alive "$pid" lighttpd; then kids=$(lighttpd_workers "$pid"); fi
    # On SIGTERM lighttpd sends SIGTERM to the workers it spawned and removes their sockets.
    stop_by_pidfile lighttpd "$pidf" lighttpd 15
    # It does not wait for them: give each 10 s, then SIGKILL (only while the pid still runs
    # seckill-fcgi, so that a reused pid is never hit).
    for k in $kids; do
        for _ in $(seq 1 100); do
            alive "$k" seckill-fcgi || break
            sleep 0.1
        done
        if alive "$k" seckill-fcgi; then kill -KILL "$k" 2>/dev/null || true; fi
    done
    for sock in "$FCGI_SOCK"-*; do
        if [ -S "$sock" ]; then rm -f "$sock"; fi
    done
    return 0
}

# ---------------------------------------------------------------- front selection

# The front whose processes run in this run dir (nothing when none does).
running_front() {
    if running "$PID/lighttpd.pid" lighttpd >/dev/null; then
        echo lighttpd
    elif running "$PID/nginx.pid" nginx >/dev/null || running "$PID/fcgi.pid" multiwatch >/dev/null; then
        echo nginx
    fi
    return 0
}
# The front the last start chose ($RUN/front), else SECKILL_FRONT, else nginx.
recorded_front() {
    local f=
    [ -f "$RUN/front" ] && read -r f <"$RUN/front" 2>/dev/null
    case $f in nginx | lighttpd) ;; *) f=${SECKILL_FRONT:-nginx} ;; esac
    echo "$f"
}

# ---------------------------------------------------------------- commands

wait_healthy() {
    local url=http://127.0.0.1:$HTTP_PORT/healthz code=000 f body _
    begin "waiting for $url"
    for _ in $(seq 1 120); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null) || true
        [ "$code" = 200 ] && { ok; return 0; }
        sleep 0.5
    done
    end_step_failed
    body=$(curl -s --max-time 2 "$url" 2>/dev/null) || true
    printf '%s: ERROR: healthz: no 200 within 60 s (last status %s%s)\n' "$PROG" "$code" "${body:+: $body}" >&2
    for f in "$LOG/fcgi.log" "$LOG/nginx-error.log" "$LOG/lighttpd-error.log" "$LOG/redis.log" "$LOG/mariadb.log" "$LOG/rabbitmq.log"; do
        [ -s "$f" ] || continue
        printf '%s: last lines of %s:\n' "$PROG" "$f" >&2
        tail -n 8 "$f" | sed 's/^/    | /' >&2
    done
    exit 1
}

print_banner() {
    local url
    url=$(cfg app.public_url "http://127.0.0.1:$HTTP_PORT")
    printf '\nseckill is up: %s/   (front %s, run dir %s)\n' "${url%/}" "$FRONT" "$RUN"
    if [ "$SEED" = 1 ] && [ -f "$SRCDIR/sql/seed.sql" ]; then
        grep -E '^--[[:space:]]*demo login:' "$SRCDIR/sql/seed.sql" | sed -e 's/^--[[:space:]]*/  /' || true
    fi
    printf 'stop with: %s stop\n' "$0"
}

preflight() {
    need_cmd redis-server "apt-get install -y redis-server"
    need_cmd redis-cli "apt-get install -y redis-tools"
    need_cmd mariadbd "apt-get install -y mariadb-server"
    need_cmd mariadb-install-db "apt-get install -y mariadb-server"
    need_cmd mariadb "apt-get install -y mariadb-client"
    need_cmd mariadb-admin "apt-get install -y mariadb-client"
    [ -x "$RMQ_SBIN/rabbitmq-server" ] || die "$RMQ_SBIN/rabbitmq-server not found (apt-get install -y rabbitmq-server)"
    if [ "$FRONT" = lighttpd ]; then
        need_cmd lighttpd "apt-get install -y lighttpd"
    else
        need_cmd nginx "apt-get install -y nginx"
        need_cmd spawn-fcgi "apt-get install -y spawn-fcgi"
        need_cmd multiwatch "apt-get install -y multiwatch"
    fi
    need_cmd curl "apt-get install -y curl"
    need_cmd setsid
}

# Before starting anything: the ports of every part that is not running yet
# must be free (a clear error instead of a half-started stack).
check_ports() {
    running "$PID/redis.pid" redis-server >/dev/null || need_port redis "$REDIS_PORT"
    running "$PID/mariadb.pid" mariadbd >/dev/null || need_port mariadb "$MYSQL_PORT"
    if ! running "$PID/rabbitmq.pid" beam >/dev/null; then
        need_port rabbitmq "$AMQP_PORT"
        need_port "rabbitmq (Erlang distribution = amqp port + 10000)" "$DIST_PORT"
    fi
    [ -n "$(running_front)" ] || need_port "$FRONT" "$HTTP_PORT"
}

FRONT=nginx
# pick_front: SECKILL_FRONT, else the front running in this run dir, else nginx
pick_front() {
    FRONT=${SECKILL_FRONT:-}
    [ -n "$FRONT" ] || FRONT=$(running_front)
    [ -n "$FRONT" ] || FRONT=nginx
}

cmd_start() {
    local t_all other
    t_all=$(now_ms)
    pick_front
    preflight
    mkdir -p "$RUN" "$PID" "$LOG"
    other=$(running_front)
    if [ -n "$other" ] && [ "$other" != "$FRONT" ]; then
        die "the $other front runs in $RUN; stop the stack first ($0 stop), then start it with SECKILL_FRONT=$FRONT"
    fi
    check_ports
    load_config
    start_redis
    start_mariadb
    start_rabbitmq
    if [ "$FRONT" = lighttpd ]; then
        # lighttpd spawns the FastCGI pool itself
        start_jobs
        start_lighttpd
    else
        start_pool
        start_jobs
        start_nginx
    fi
    echo "$FRONT" >"$RUN/front"
    wait_healthy
    T0=$t_all
    printf '==> stack started in %s\n' "$(elapsed)"
    print_banner
}

cmd_stop() {
    if [ ! -d "$RUN" ]; then
        note "==> nothing to stop: $RUN does not exist"
        return 0
    fi
    local front
    front=$(running_front)
    [ -n "$front" ] || front=$(recorded_front)
    stop_jobs
    # Each front by its pid files; the other one only when something of it is left.
    if [ "$front" = lighttpd ] || [ -f "$PID/lighttpd.pid" ]; then
        stop_lighttpd
    fi
    if [ "$front" = nginx ] || [ -f "$PID/nginx.pid" ] || [ -f "$PID/fcgi.pid" ]; then
        stop_nginx
        stop_pool
    fi
    stop_rabbitmq
    stop_mariadb
    stop_redis
}

cmd_restart_pool() {
    [ -d "$RUN" ] || die "$RUN does not exist (start the stack first)"
    FRONT=$(running_front)
    [ -n "$FRONT" ] || FRONT=${SECKILL_FRONT:-$(recorded_front)}
    load_config
    if [ "$FRONT" = lighttpd ]; then
        # The pool belongs to lighttpd: restarting the pool is restarting lighttpd.
        need_cmd lighttpd "apt-get install -y lighttpd"
        stop_lighttpd
        start_lighttpd
    else
        stop_pool
        start_pool
    fi
}

cmd_status() {
    local all=0 name pid
    status_line() { # status_line LABEL PIDFILE WANT
        pid=$(readpid "$2")
        if [ -z "$pid" ]; then
            printf '%-18s stopped\n' "$1"
            all=1
        elif alive "$pid" "$3"; then
            printf '%-18s running (pid %s)\n' "$1" "$pid"
        else
            printf '%-18s dead (stale pid file %s)\n' "$1" "$2"
            all=1
        fi
    }
    local front kids
    front=$(running_front)
    if [ -n "$front" ]; then
        printf '%-18s %s\n' front "$front"
    else
        front=$(recorded_front)
        printf '%-18s %s (not running)\n' front "$front"
    fi
    status_line redis "$PID/redis.pid" redis-server
    status_line mariadb "$PID/mariadb.pid" mariadbd
    status_line rabbitmq "$PID/rabbitmq.pid" beam
    if [ "$front" = lighttpd ]; then
        if pid=$(running "$PID/lighttpd.pid" lighttpd); then
            kids=$(lighttpd_workers "$pid")
            if [ -n "$kids" ]; then
                printf '%-18s running (spawned by lighttpd: %s)\n' "fastcgi pool" "${kids% }"
            else
                printf '%-18s no worker running under lighttpd pid %s\n' "fastcgi pool" "$pid"
                all=1
            fi
        else
            printf '%-18s stopped\n' "fastcgi pool"
            all=1
        fi
    else
        status_line "fastcgi pool" "$PID/fcgi.pid" multiwatch
    fi
    for name in "${JOBS[@]}"; do
        if [ -f "$PID/$name.pid" ] || [ -x "$BUILDDIR/jobs/$name" ]; then
            status_line "$name" "$PID/$name.pid" "__supervise $name "
        fi
    done
    if [ "$front" = lighttpd ]; then
        status_line lighttpd "$PID/lighttpd.pid" lighttpd
    else
        status_line nginx "$PID/nginx.pid" nginx
    fi
    return $((all ? 3 : 0))
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    restart-pool) cmd_restart_pool ;;
    __supervise) shift; supervise "$@" ;;
    *)
        printf 'usage: %s start|stop|status|restart-pool\n' "$PROG" >&2
        exit 2
        ;;
esac

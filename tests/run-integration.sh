#!/usr/bin/env bash
# Starts the real stack (Redis, MariaDB, RabbitMQ, the FastCGI pool, nginx) on private ports in
# a fresh run folder, runs every tests/integration/t*.sh against it over HTTP, stops the stack.
# TAP on stdout. SECKILL_TEST_FILTER=t0001 runs only matching test files.
set -u
SRCDIR=${SECKILL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${SECKILL_BUILDDIR:-$(pwd)}
export SECKILL_SRCDIR=$SRCDIR SECKILL_BUILDDIR=$BUILDDIR

# Four free loopback ports in a row (and AMQP's dist port, +10000, free too).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_ports() {
	local base tries=0
	while [ $tries -lt 50 ]; do
		base=$((21000 + (RANDOM % 900) * 10))
		if port_free $base && port_free $((base + 1)) && port_free $((base + 2)) &&
			port_free $((base + 3)) && port_free $((base + 10003)); then
			echo $base
			return 0
		fi
		tries=$((tries + 1))
	done
	return 1
}
base=$(pick_ports) || { echo "Bail out! no free ports"; exit 1; }
export SECKILL_HTTP_PORT=$base SECKILL_REDIS_PORT=$((base + 1))
export SECKILL_MYSQL_PORT=$((base + 2)) SECKILL_AMQP_PORT=$((base + 3))
export SECKILL_APP_PUBLIC_URL=http://127.0.0.1:$base
export SECKILL_CONF=$SRCDIR/conf/seckill.conf SECKILL_APP_TEMPLATES=$SRCDIR/templates
# One client (127.0.0.1) plays every buyer here: the per-IP limits are raised so that only the
# tests about limits meet them (they lower them again for themselves).
export SECKILL_RATELIMIT_API_RATE=200 SECKILL_RATELIMIT_API_BURST=200
export SECKILL_RATELIMIT_CAPTCHA_PER_IP=100000 SECKILL_RATELIMIT_LOGIN_PER_IP=1000
export SECKILL_RATELIMIT_REGISTER_PER_IP=1000 SECKILL_SESSION_CACHE_MS=1000

mkdir -p "$BUILDDIR/tests/output"
RUN=$(mktemp -d "$BUILDDIR/tests/output/stack.XXXXXX")
chmod 755 "$RUN"
export SECKILL_RUN_DIR=$RUN SECKILL_SEED=1 SECKILL_APP_RUN_DIR=$RUN
export TAP_COUNT_FILE=$RUN/tap-count HTTP_TMP=$RUN/http
mkdir -p "$HTTP_TMP"
echo 0 >"$TAP_COUNT_FILE"
export BASE=http://127.0.0.1:$base

. "$SRCDIR/tests/lib/tap.sh"
stack() { bash "$SRCDIR/conf/stack.sh" "$@"; }
finish() {
	local n
	stack stop >"$RUN/stack-stop.log" 2>&1 || echo "# stack stop failed: see $RUN/stack-stop.log"
	n=$(cat "$TAP_COUNT_FILE")
	echo "1..$n"
	# Keep the run folder (data, logs) only when something failed.
	if [ -e "$TAP_COUNT_FILE.failed" ] || [ "$n" = 0 ]; then
		echo "# logs kept in $RUN"
	else
		rm -rf "$RUN"
	fi
}
trap finish EXIT

echo "# starting the stack in $RUN (http $base)"
if ! stack start >"$RUN/stack-start.log" 2>&1; then
	sed 's/^/# /' "$RUN/stack-start.log" | tail -40
	for f in "$RUN"/log/*.log; do [ -f "$f" ] && { echo "# == $f"; tail -15 "$f" | sed 's/^/# /'; }; done
	fail "the stack starts"
	exit 1
fi

for t in "$SRCDIR"/tests/integration/t*.sh; do
	case $t in *"${SECKILL_TEST_FILTER:-}"*) ;; *) continue ;; esac
	echo "# ---- ${t##*/}"
	# Each file runs in its own shell with the helpers; a crash in one does not stop the others.
	bash -c '. "$1"/tests/lib/tap.sh; . "$1"/tests/lib/http.sh; . "$1"/tests/lib/stack.sh; . "$2"' _ "$SRCDIR" "$t" ||
		fail "${t##*/} runs to its end (exit $?)"
done

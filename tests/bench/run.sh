#!/usr/bin/env bash
# make bench: starts its own stack (rate limits, captcha and hidden paths off, as API.md allows
# for load tests), creates buyers and a sale with far fewer units than buyers, and measures in
# the same run, behind the same nginx, a libfcgi hello-world floor and the buy endpoint.
# Prints req/s, p50/p99 and the ratio, then checks that exactly the stock was sold.
# Knobs: BENCH_USERS (2000), BENCH_STOCK (500), BENCH_SECONDS (10), BENCH_CONNECTIONS (64).
set -u
SRCDIR=${SECKILL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILDDIR=${SECKILL_BUILDDIR:-$(pwd)}
USERS=${BENCH_USERS:-2000} STOCK=${BENCH_STOCK:-500} SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64} THREADS=${BENCH_THREADS:-2}
export SECKILL_SRCDIR=$SRCDIR SECKILL_BUILDDIR=$BUILDDIR

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)"; exit 1; }
base=${BENCH_PORT_BASE:-31000}
export SECKILL_HTTP_PORT=$base SECKILL_REDIS_PORT=$((base + 1))
export SECKILL_MYSQL_PORT=$((base + 2)) SECKILL_AMQP_PORT=$((base + 3))
export SECKILL_APP_PUBLIC_URL=http://127.0.0.1:$base
export SECKILL_CONF=$SRCDIR/conf/seckill.conf SECKILL_SEED=0
export SECKILL_RATELIMIT_ENABLED=off SECKILL_SECKILL_CAPTCHA=off SECKILL_SECKILL_HIDDEN_PATH=off
mkdir -p "$BUILDDIR/tests/output"
RUN=$(mktemp -d "$BUILDDIR/tests/output/bench.XXXXXX")
chmod 755 "$RUN"
export SECKILL_RUN_DIR=$RUN SECKILL_APP_RUN_DIR=$RUN
ADMIN=$BUILDDIR/jobs/seckill-admin
BASE=http://127.0.0.1:$base
stack() { bash "$SRCDIR/conf/stack.sh" "$@"; }

hello_pid=""
cleanup() {
	[ -n "$hello_pid" ] && kill "$hello_pid" 2>/dev/null
	stack stop >"$RUN/stack-stop.log" 2>&1
	rm -rf "$RUN"
}
trap cleanup EXIT

echo "==> starting a private stack (rate limits, captcha and hidden paths off)"
stack start >"$RUN/stack-start.log" 2>&1 || { tail -30 "$RUN/stack-start.log"; exit 1; }
workers=$("$BUILDDIR/fcgi-app/seckill-fcgi" --dump-config | sed -n 's/^fcgi.workers = //p')

echo "==> the floor: libfcgi hello world, $workers workers, behind the same nginx"
spawn-fcgi -s "$RUN/hello.sock" -M 0666 -P "$RUN/pid/hello.pid" -- \
	"$(command -v multiwatch)" -f "$workers" -- "$BUILDDIR/tests/bench/hello-fcgi" >/dev/null
hello_pid=$(cat "$RUN/pid/hello.pid")
cat >"$RUN/nginx/extra/bench.conf" <<CONF
location = /bench/hello {
    fastcgi_pass unix:$RUN/hello.sock;
}
CONF
nginx -s reload -c "$RUN/nginx.conf" -p "$RUN/nginx/" 2>/dev/null
for i in $(seq 1 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/bench/hello")" = 200 ] && break
	sleep 0.1
done

echo "==> $USERS buyers, one sale of $STOCK units"
"$ADMIN" users gen --count "$USERS" --prefix bench_ --out "$RUN/users" || exit 1
act=$("$ADMIN" activity create --title "Bench rush" --stock "$STOCK" --price-cents 100 \
	--starts-in -1 --duration 3600) || exit 1
"$ADMIN" warm "$act" >/dev/null 2>&1

run_wrk() { # NAME SCRIPT PATH [ARGS...]
	local name=$1 script=$2 path=$3; shift 3
	wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --latency -s "$script" "$BASE$path" -- "$@" \
		2>&1 | grep '^RESULT' | sed "s/^RESULT/$name/"
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# The same requests for floor and rush (POST with a buyer's Bearer token): only the answering
# differs. The floor is measured before and after the rush and averaged, so that a machine
# that speeds up or slows down meanwhile (shared, noisy) moves both sides alike.
wrk -t 1 -c 8 -d 1s -s "$SRCDIR/tests/bench/rush.lua" "$BASE/bench/hello" -- "$RUN/users" \
	/bench/hello >/dev/null 2>&1
floor1=$(run_wrk floor "$SRCDIR/tests/bench/rush.lua" /bench/hello "$RUN/users" /bench/hello)
# Before a sale opens its buyers are already on the site (product page, captcha, path: all
# logged in), so their sessions are in the pool's cache. Play that part (not measured): each
# buyer asks /api/me a few times. Then the sale opens.
wrk -t "$THREADS" -c "$CONNS" -d 3s -s "$SRCDIR/tests/bench/rush.lua" "$BASE/api/me" -- \
	"$RUN/users" /api/me GET >/dev/null 2>&1
rush=$(run_wrk rush "$SRCDIR/tests/bench/rush.lua" "/api/activities/$act/seckill/direct" \
	"$RUN/users" "/api/activities/$act/seckill/direct")
floor2=$(run_wrk floor "$SRCDIR/tests/bench/rush.lua" /bench/hello "$RUN/users" /bench/hello)
[ -n "${BENCH_STEADY:-}" ] && run_wrk steady "$SRCDIR/tests/bench/rush.lua" "/api/activities/$act/seckill/direct" \
	"$RUN/users" "/api/activities/$act/seckill/direct"
echo "$floor1"
echo "$rush"
echo "$floor2"
mean() { awk "BEGIN { printf \"%.${3:-0}f\", ($1 + $2) / 2 }"; }
frps=$(mean "$(field "$floor1" rps)" "$(field "$floor2" rps)")
fp50=$(mean "$(field "$floor1" p50_ms)" "$(field "$floor2" p50_ms)" 2)
fp99=$(mean "$(field "$floor1" p99_ms)" "$(field "$floor2" p99_ms)" 2)
rrps=$(field "$rush" rps)
ratio=$(awk "BEGIN { printf \"%.2f\", $rrps / $frps }")
echo
printf '%-34s %10s %10s %10s\n' "" "req/s" "p50 ms" "p99 ms"
printf '%-34s %10s %10s %10s\n' "floor (libfcgi hello world)" "$frps" "$fp50" "$fp99"
printf '%-34s %10s %10s %10s\n' "  before / after the rush" "$(field "$floor1" rps) / $(field "$floor2" rps)" "" ""
printf '%-34s %10s %10s %10s\n' "rush (buy endpoint, $USERS buyers)" "$rrps" "$(field "$rush" p50_ms)" "$(field "$rush" p99_ms)"
echo "ratio rush / floor: $ratio   (target >= 0.85)"

# Exactly the stock was sold, once per buyer.
sql() { mariadb -S "$RUN/mysql.sock" -uroot -N -B seckill -e "$1"; }
sold=$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act")
buyers=$(sql "SELECT COUNT(DISTINCT user_id) FROM outbox WHERE activity_id = $act")
left=$(redis-cli -p "$SECKILL_REDIS_PORT" GET "sk:{a$act}:stock")
held=$(redis-cli -p "$SECKILL_REDIS_PORT" HLEN "sk:{a$act}:buyers")
echo "sold: $sold outbox rows for $buyers buyers, Redis stock left $left, Redis buyers $held"
status=0
if [ "$sold" = "$STOCK" ] && [ "$buyers" = "$STOCK" ] && [ "$left" = 0 ] && [ "$held" = "$STOCK" ]; then
	echo "check: exactly $STOCK units sold, one per buyer: ok"
else
	echo "check: FAILED (wanted $STOCK sold to $STOCK buyers, stock 0)"
	status=1
fi
[ "$(field "$rush" errors)" = 0 ] && [ "$(field "$rush" non2xx)" = 0 ] ||
	{ echo "check: the rush saw errors or non-2xx answers: FAILED"; status=1; }
awk "BEGIN { exit !($ratio >= 0.85) }" && echo "target 0.85x the floor: met" ||
	echo "target 0.85x the floor: NOT met"

# The consumer: how many orders a second it turns into MySQL rows. Pause it, let every buyer
# win a unit of an unlimited sale (messages pile up), then let it go and time the drain.
echo
echo "==> the order consumer: $USERS queued orders"
sup=$(cat "$RUN/pid/seckill-consumer.pid" 2>/dev/null)
child=$(pgrep -P "$sup" 2>/dev/null | head -1)
if [ -z "$child" ]; then
	echo "consumer: not running, skipped"
else
	act2=$("$ADMIN" activity create --title "Bench orders" --stock -1 --price-cents 100 \
		--starts-in -1 --duration 3600)
	kill -STOP "$child"
	cut -f3 "$RUN/users" | xargs -P 8 -I{} curl -s -o /dev/null -X POST \
		-H "Authorization: Bearer {}" "$BASE/api/activities/$act2/seckill/direct"
	queued=$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act2")
	t0=$(date +%s%N)
	kill -CONT "$child"
	while [ "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $act2")" -lt "$queued" ]; do
		sleep 0.05
		[ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 120 ] && break
	done
	t1=$(date +%s%N)
	made=$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $act2")
	ms=$(( (t1 - t0) / 1000000 ))
	echo "consumer: $made orders from $queued messages in $ms ms: $(awk "BEGIN { printf \"%.0f\", $made * 1000 / ($ms > 0 ? $ms : 1) }") orders/s"
	[ "$made" = "$queued" ] || { echo "check: the consumer did not make every order: FAILED"; status=1; }
fi
exit $status

#!/usr/bin/env bash
# make bench: the product measured as a user would, each figure against a baseline taken in
# the same run on the same machine (shared and noisy: only ratios are compared).
#
# It starts a stack of its own (rate limits, captcha and hidden paths off, as API.md allows for
# load tests) with BENCH_USERS distinct buyers, then measures:
#   rush        a sale of BENCH_STOCK units, every buyer pressing buy: req/s >= 0.85x and p99
#               <= 2x a libfcgi hello world behind the same nginx (the floor), measured just
#               before and just after; three sales, each against the floors on either side, and
#               the median of the three ratios is the verdict (one 6 s p99 on a shared machine
#               swings by 2x on its own); all three pairs are printed
#   sold out    the buyers who lost, pressing again: >= 0.95x the floor
#   duplicate   the winners, pressing again: >= 0.95x the floor
#   drain       a backlog of BENCH_BACKLOG won units turned into order rows: >= 5,400
#               orders/s, then reconcile clean
#   microcache  a refresh storm on the product page: >= 0.5x nginx serving the same bytes
#               from a file
#   captcha     captcha PNGs: >= 0.3x the floor
#   QR          QR login PNGs: >= 0.3x the floor
#   memory      RSS per worker after 100,000 requests of every kind: <= 8 MiB, and within 10%
#               of its size after 10,000
#   the run     <= 5 minutes
# and that exactly the stock was sold, once per buyer. Prints one table and one line
# "BENCH key=value ..." for machines; exits 1 when a target is missed or a check fails.
# Knobs: BENCH_USERS (100000), BENCH_STOCK (500), BENCH_BACKLOG (20000), BENCH_SECONDS (6),
# BENCH_CONNECTIONS (64), BENCH_THREADS (2), BENCH_PORT_BASE (31000).
set -u
SRCDIR=${SECKILL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILDDIR=${SECKILL_BUILDDIR:-$(pwd)}
USERS=${BENCH_USERS:-100000} STOCK=${BENCH_STOCK:-500} BACKLOG=${BENCH_BACKLOG:-20000}
SECS=${BENCH_SECONDS:-6} CONNS=${BENCH_CONNECTIONS:-64} THREADS=${BENCH_THREADS:-2}
export SECKILL_SRCDIR=$SRCDIR SECKILL_BUILDDIR=$BUILDDIR
LUA=$SRCDIR/tests/bench/load.lua

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)"; exit 1; }
[ "$BACKLOG" -le "$USERS" ] || { echo "bench: BENCH_BACKLOG must not exceed BENCH_USERS"; exit 1; }
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
sql() { mariadb -S "$RUN/mysql.sock" -uroot -N -B seckill -e "$1"; }
rcli() { redis-cli -p "$SECKILL_REDIS_PORT" "$@"; }
queue_depth() {
	HOME=$RUN/rabbitmq/home RABBITMQ_CTL_ERL_ARGS="-dist_listen false" \
		/usr/lib/rabbitmq/bin/rabbitmqctl -q -n "sk${SECKILL_AMQP_PORT}@localhost" \
		list_queues name messages 2>/dev/null | awk -v q="$1" '$1 == q { print $2 }'
}
now_ms() { date +%s%3N; }
# up PATH: waits (5 s at most) until PATH answers 200
up() {
	local i
	for i in $(seq 1 50); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE$1")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}
T_START=$(now_ms)

hello_pid=""
cleanup() {
	[ -n "$hello_pid" ] && kill "$hello_pid" 2>/dev/null
	stack stop >"$RUN/stack-stop.log" 2>&1
	rm -rf "$RUN"
}
trap cleanup EXIT
step() { printf '==> [%3ds] %s\n' $((($(now_ms) - T_START) / 1000)) "$*"; }

step "starting a private stack (rate limits, captcha and hidden paths off)"
stack start >"$RUN/stack-start.log" 2>&1 || { tail -30 "$RUN/stack-start.log"; exit 1; }
workers=$("$BUILDDIR/fcgi-app/seckill-fcgi" --dump-config | sed -n 's/^fcgi.workers = //p')
multiwatch=$(cat "$RUN/pid/fcgi.pid")

# The floor: a libfcgi hello world (as many workers, the same nginx); the file baseline:
# nginx serving from a file the very bytes of the product page.
spawn-fcgi -s "$RUN/hello.sock" -M 0666 -P "$RUN/pid/hello.pid" -- \
	"$(command -v multiwatch)" -f "$workers" -- "$BUILDDIR/tests/bench/hello-fcgi" >/dev/null
hello_pid=$(cat "$RUN/pid/hello.pid")
cat >"$RUN/nginx/extra/bench.conf" <<CONF
location = /bench/hello {
    fastcgi_pass unix:$RUN/hello.sock;
}
location = /bench/page.html {
    alias $RUN/page.html;
    default_type text/html;
}
CONF
nginx -s reload -c "$RUN/nginx.conf" -p "$RUN/nginx/" 2>/dev/null
up /bench/hello

step "$USERS buyers (seckill-admin users gen)"
t0=$(now_ms)
"$ADMIN" users gen --count "$USERS" --prefix bench_ --out "$RUN/users" 2>&1 |
	awk -v n="$USERS" -F'[ /]+' '/^users gen:/ { if ($3 * 10 >= (p + 1) * n) { p = int($3 * 10 / n); printf "    %s / %s\n", $3, n } next } { print }'
[ "$(wc -l <"$RUN/users")" = "$USERS" ] || { echo "bench: users gen failed"; exit 1; }
gen_s=$(awk "BEGIN { printf \"%.1f\", ($(now_ms) - $t0) / 1000 }")
echo "    $USERS buyers with signed tokens in $gen_s s"
RUSH_ACTS=()
for i in 1 2 3; do
	a=$("$ADMIN" activity create --title "Bench rush $i" --stock "$STOCK" --price-cents 100 \
		--starts-in -1 --duration 3600) || exit 1
	"$ADMIN" warm "$a" >/dev/null 2>&1
	RUSH_ACTS+=("$a")
done
act=${RUSH_ACTS[0]}

# wrk_run NAME [wrk options] -- [load.lua arguments]: one measured load; prints its RESULT line
wrk_run() {
	local name=$1; shift
	wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --latency -s "$LUA" "$BASE/" "$@" 2>&1 |
		grep '^RESULT' | sed "s/^RESULT/$name/"
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
mean() { awk "BEGIN { printf \"%.${3:-0}f\", ($1 + $2) / 2 }"; }
floor() { wrk_run floor -- users="$RUN/users" method=POST path=/bench/hello; }
ERRORS=""
# clean RESULT: the run met no error and no answer but 2xx
clean() { [ "$(field "$1" errors)" = 0 ] && [ "$(field "$1" non2xx)" = 0 ] || ERRORS="$ERRORS ${1%% *}"; }

step "rush: $USERS buyers, three sales of $STOCK units, the floor before, between and after"
wrk -t 1 -c 8 -d 1s -s "$LUA" "$BASE/" -- users="$RUN/users" method=POST path=/bench/hello >/dev/null 2>&1
FLOORS=("$(floor)") RUSHES=()
for i in 0 1 2; do
	RUSHES+=("$(wrk_run rush -- users="$RUN/users" method=POST \
		path="/api/activities/${RUSH_ACTS[i]}/seckill/direct")")
	FLOORS+=("$(floor)")
	clean "${RUSHES[i]}"
done
floor2=${FLOORS[3]}

# Who won and who lost, for the runs of sold-out and duplicate answers alone.
sql "SELECT user_id FROM outbox WHERE activity_id = $act" >"$RUN/winner-ids"
awk -F'\t' 'NR == FNR { w[$1] = 1; next } ($1 in w) { print > W; next } { print > L }' \
	W="$RUN/winners" L="$RUN/losers" "$RUN/winner-ids" "$RUN/users"
step "sold-out and duplicate answers alone, then the floor again"
soldout=$(wrk_run sold_out -- users="$RUN/losers" method=POST path="/api/activities/$act/seckill/direct")
dup=$(wrk_run duplicate -- users="$RUN/winners" method=POST path="/api/activities/$act/seckill/direct")
floor3=$(floor)
clean "$soldout"
clean "$dup"
a_so=$(curl -s -X POST -H "Authorization: Bearer $(head -1 "$RUN/losers" | cut -f3)" \
	"$BASE/api/activities/$act/seckill/direct" | jq -r .status)
a_dup=$(curl -s -X POST -H "Authorization: Bearer $(head -1 "$RUN/winners" | cut -f3)" \
	"$BASE/api/activities/$act/seckill/direct" | jq -r .status)

step "captcha and QR PNGs, then the floor again"
# images PATH COUNT OUT: COUNT images minted by POST PATH, their GET lines into OUT
images() {
	seq 1 "$2" | xargs -P 4 -I{} curl -s -X POST "$BASE$1" | jq -r '"GET " + .image' >"$3"
}
images /api/captcha 256 "$RUN/captchas"
images /api/qr 256 "$RUN/qrs"
captcha=$(wrk_run captcha -- paths="$RUN/captchas")
qr=$(wrk_run qr -- paths="$RUN/qrs")
floor4=$(floor)
clean "$captcha"
clean "$qr"
png_ok=$(curl -s "$BASE$(head -1 "$RUN/captchas" | cut -d' ' -f2)" | head -c 4 | od -An -c | tr -d ' \n')

step "a refresh storm on the product page (microcache), against the same bytes from a file"
curl -s "$BASE/activity/$act" >"$RUN/page.html"
file1=$(wrk_run file -- path=/bench/page.html)
micro=$(wrk_run microcache -- path="/activity/$act")
file2=$(wrk_run file -- path=/bench/page.html)
clean "$micro"
cached=$(for i in 1 2; do curl -s -o /dev/null -D - "$BASE/activity/$act"; done | tr -d '\r' | sed -n 's/^X-Cache: //ip' | tail -1)

# The drain: the consumer paused, every one of BACKLOG buyers wins a unit (their messages pile
# up in the queue), then it goes on and the time to the last order row is taken.
step "the order drain: a backlog of $BACKLOG won units"
act2=$("$ADMIN" activity create --title "Bench orders" --stock "$BACKLOG" --price-cents 100 \
	--starts-in -1 --duration 3600)
"$ADMIN" warm "$act2" >/dev/null 2>&1
consumer=$(pgrep -P "$(cat "$RUN/pid/seckill-consumer.pid")" | head -1)
kill -STOP "$consumer"
wrk -t 1 -c "$CONNS" -d 60s -s "$LUA" "$BASE/" -- users="$RUN/users" from=1 \
	to="$BACKLOG" each=1 method=POST \
	path="/api/activities/$act2/seckill/direct" >/dev/null 2>&1
# wrk stops at BACKLOG answers, and a request past the last buyer (the first again, answered
# duplicate at once) can count before the last winners' answers: wait for their rows.
for i in $(seq 1 100); do
	queued=$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act2")
	[ "$queued" = "$BACKLOG" ] && break
	sleep 0.1
done
for i in $(seq 1 60); do
	[ "$(queue_depth seckill.orders)" = "$queued" ] && break
	sleep 0.5
done
in_queue=$(queue_depth seckill.orders)
echo "    $queued units won, $in_queue messages waiting in the queue"
t0=$(now_ms)
kill -CONT "$consumer"
made=0
while [ "$made" -lt "$queued" ] && [ $(($(now_ms) - t0)) -lt 60000 ]; do
	sleep 0.05
	made=$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $act2")
done
drain_ms=$(($(now_ms) - t0))
drain=$(awk "BEGIN { printf \"%.0f\", $made * 1000 / ($drain_ms > 0 ? $drain_ms : 1) }")
echo "    $made orders in $drain_ms ms"
for i in $(seq 1 40); do
	[ "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act2 AND status IN ('pending', 'sent')")" = 0 ] && break
	sleep 0.25
done
reconcile=$("$ADMIN" reconcile "$act2" 2>&1)
reconcile_rc=$?

# Memory: a fresh pool, then every kind of request the workers answer.
step "memory: worker RSS after 10,000 and 100,000 requests of every kind"
stack restart-pool >"$RUN/pool.log" 2>&1
up /healthz
multiwatch=$(cat "$RUN/pid/fcgi.pid")
cap1=$(head -1 "$RUN/captchas" | cut -d' ' -f2) qr1=$(head -1 "$RUN/qrs" | cut -d' ' -f2)
cat >"$RUN/mix" <<MIX
POST /api/activities/$act/seckill/direct
GET /api/me
GET /api/activities/$act/result
POST /api/captcha
GET $cap1
GET /api/orders
GET /orders
GET /api/sessions
GET $qr1
POST /api/activities/$act2/seckill/direct
GET /activity/$act
GET /api/activities/$act
MIX
mix() { # mix REQUESTS: that many more
	wrk -t 1 -c "$CONNS" -d 120s -s "$LUA" "$BASE/" -- users="$RUN/users" paths="$RUN/mix" \
		limit="$1" 2>&1 | grep '^ANSWERS'
}
rss() { # the workers' resident sizes in KiB, one line
	local p
	for p in $(pgrep -P "$multiwatch"); do awk '/^VmRSS:/ { printf "%s ", $2 }' "/proc/$p/status"; done
}
mix1=$(mix 10000)
rss10=$(rss)
mix2=$(mix 90000)
rss100=$(rss)
echo "    after 10k: $rss10 KiB; after 100k: $rss100 KiB"
rss_max=$(awk -v a="$rss100" 'BEGIN { n = split(a, x, " "); m = 0; for (i = 1; i <= n; i++) if (x[i] > m) m = x[i]; printf "%.1f", m / 1024 }')
rss_growth=$(awk -v a="$rss10" -v b="$rss100" 'BEGIN { n = split(a, x, " "); split(b, y, " "); g = 0
	for (i = 1; i <= n; i++) if (x[i] > 0 && (y[i] - x[i]) / x[i] > g) g = (y[i] - x[i]) / x[i]
	printf "%.1f", 100 * g }')
total_s=$((($(now_ms) - T_START) / 1000))

# ---- the verdicts ---------------------------------------------------------------------------
MISSED=0
TABLE=""
# verdict LABEL FIGURE BASELINE RATIO TARGET-TEXT CONDITION(awk, on r = ratio or figure)
verdict() {
	local v
	if awk -v r="$4" "BEGIN { exit !($6) }"; then v=met; else v="MISSED"; MISSED=$((MISSED + 1)); fi
	TABLE+=$(printf '%-30s %14s %14s %7s %10s  %s' "$1" "$2" "$3" "$4" "$5" "$v")$'\n'
}
ratio() { awk "BEGIN { printf \"%.2f\", $1 / ($2 > 0 ? $2 : 1) }"; }
# median3 A B C: the index (0, 1 or 2) of the median of three numbers
median3() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { if ((a - b) * (c - a) >= 0) print 0
	else if ((b - a) * (c - b) >= 0) print 1; else print 2 }'; }
# Each rush against the mean of the floors on either side of it; the median pair decides.
RR=() RP=() FR=() FP=() PAIRS=""
for i in 0 1 2; do
	FR+=("$(mean "$(field "${FLOORS[i]}" rps)" "$(field "${FLOORS[i + 1]}" rps)")")
	FP+=("$(mean "$(field "${FLOORS[i]}" p99_ms)" "$(field "${FLOORS[i + 1]}" p99_ms)" 2)")
	RR+=("$(ratio "$(field "${RUSHES[i]}" rps)" "${FR[i]}")")
	RP+=("$(ratio "$(field "${RUSHES[i]}" p99_ms)" "${FP[i]}")")
	PAIRS+="    rush $((i + 1)): $(field "${RUSHES[i]}" rps) req/s (${RR[i]}x the floor's ${FR[i]}),"
	PAIRS+=" p99 $(field "${RUSHES[i]}" p99_ms) ms (${RP[i]}x the floor's ${FP[i]})"$'\n'
done
m=$(median3 "${RR[@]}")
rush_rps=$(field "${RUSHES[m]}" rps) f12=${FR[m]} r_rush=${RR[m]}
m=$(median3 "${RP[@]}")
rush_p99=$(field "${RUSHES[m]}" p99_ms) f12p99=${FP[m]} r_p99=${RP[m]}
f23=$(mean "$(field "$floor2" rps)" "$(field "$floor3" rps)")
f34=$(mean "$(field "$floor3" rps)" "$(field "$floor4" rps)")
fmean=$(mean "$(field "$file1" rps)" "$(field "$file2" rps)")
r_so=$(ratio "$(field "$soldout" rps)" "$f23")
r_dup=$(ratio "$(field "$dup" rps)" "$f23")
r_cap=$(ratio "$(field "$captcha" rps)" "$f34")
r_qr=$(ratio "$(field "$qr" rps)" "$f34")
r_micro=$(ratio "$(field "$micro" rps)" "$fmean")
verdict "rush, req/s ($USERS buyers)" "$rush_rps" "$f12" "$r_rush" ">= 0.85x" "r >= 0.85"
verdict "rush, p99 ms" "$rush_p99" "$f12p99" "$r_p99" "<= 2x" "r <= 2"
verdict "sold-out answers, req/s" "$(field "$soldout" rps)" "$f23" "$r_so" ">= 0.95x" "r >= 0.95"
verdict "duplicate answers, req/s" "$(field "$dup" rps)" "$f23" "$r_dup" ">= 0.95x" "r >= 0.95"
verdict "captcha PNG, req/s" "$(field "$captcha" rps)" "$f34" "$r_cap" ">= 0.3x" "r >= 0.3"
verdict "QR PNG, req/s" "$(field "$qr" rps)" "$f34" "$r_qr" ">= 0.3x" "r >= 0.3"
verdict "product page (microcache)" "$(field "$micro" rps)" "$fmean (file)" "$r_micro" ">= 0.5x" "r >= 0.5"
verdict "order drain, orders/s" "$drain" "-" "-" ">= 5400" "$drain >= 5400"
verdict "worker RSS after 100k, MiB" "$rss_max" "-" "-" "<= 8" "$rss_max <= 8"
verdict "RSS growth 10k -> 100k, %" "$rss_growth" "-" "-" "<= 10" "$rss_growth <= 10"
verdict "the whole run, s" "$total_s" "-" "-" "<= 300" "$total_s <= 300"

# ---- the checks -----------------------------------------------------------------------------
FAILED=0
check() { # LABEL CONDITION...
	local label=$1; shift
	if "$@"; then echo "check: $label: ok"; else echo "check: $label: FAILED"; FAILED=$((FAILED + 1)); fi
}
sales_ok=1 sales=""
for a in "${RUSH_ACTS[@]}"; do
	s=$(sql "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM outbox WHERE activity_id = $a" | tr '\t' :)
	s+=":$(rcli GET "sk:{a$a}:stock"):$(rcli HLEN "sk:{a$a}:buyers")"
	[ "$s" = "$STOCK:$STOCK:0:$STOCK" ] || sales_ok=0
	sales+=" $s"
done
echo
for i in 0 1 2; do echo "${FLOORS[i]}"; echo "${RUSHES[i]}"; done
echo "$floor2"; echo "$soldout"; echo "$dup"; echo "$floor3"
echo "$captcha"; echo "$qr"; echo "$floor4"; echo "$file1"; echo "$micro"; echo "$file2"
echo "mix: $mix1 then $mix2"
echo
check "each rush sold exactly $STOCK units, one per buyer (rows:buyers:Redis left:holders$sales)" \
	test "$sales_ok" = 1
check "the losers heard sold_out, the winners duplicate" test "$a_so:$a_dup" = "sold_out:duplicate"
check "every run answered 2xx without errors${ERRORS:+ (not:$ERRORS)}" test -z "$ERRORS"
check "the captcha is a PNG" test "$png_ok" = 211PNG
check "the product page came from the microcache (X-Cache: $cached)" test "$cached" = HIT
check "all $BACKLOG won units queued ($queued) and in the queue ($in_queue)" \
	test "$queued:$in_queue" = "$BACKLOG:$BACKLOG"
check "every queued unit became one order ($made)" test "$made" = "$queued"
check "reconcile after the drain: ${reconcile##*$'\n'}" test "$reconcile_rc" = 0
echo
printf '%-30s %14s %14s %7s %10s  %s\n' "" "figure" "baseline" "ratio" "target" ""
printf '%s' "$TABLE"
echo "the three rushes (the median of each ratio above):"
printf '%s' "$PAIRS"
echo "floor (libfcgi hello world, $workers workers): $(for f in "${FLOORS[@]}" "$floor3" "$floor4"; do printf '%s ' "$(field "$f" rps)"; done)req/s over the run"
echo "BENCH users=$USERS rush_rps=$rush_rps floor_rps=$f12 rush_ratio=$r_rush" \
	"rush_p99_ms=$rush_p99 floor_p99_ms=$f12p99 p99_ratio=$r_p99" \
	"soldout_ratio=$r_so duplicate_ratio=$r_dup captcha_ratio=$r_cap qr_ratio=$r_qr" \
	"microcache_ratio=$r_micro drain_orders_per_s=$drain rss_mib=$rss_max" \
	"rss_growth_pct=$rss_growth run_s=$total_s users_gen_s=$gen_s missed=$MISSED failed=$FAILED"
if [ "$MISSED" -gt 0 ] || [ "$FAILED" -gt 0 ]; then
	echo "bench: $MISSED target(s) MISSED, $FAILED check(s) FAILED"
	exit 1
fi
echo "bench: every target met, every check ok"

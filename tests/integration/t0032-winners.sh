# The winners' writer: a worker whose winner waits for MySQL goes on answering everyone else;
# the winners of the moment go into one INSERT; a lost reply to such an INSERT is settled row by
# row (queued, one order each, no unit given back); a worker told to stop answers the winners it
# still holds before it leaves.
if [ "$SECKILL_FRONT" = lighttpd ]; then
	skip "the winners' writer (run once, under nginx)" "it does not depend on the front"
	return 0 2>/dev/null || exit 0
fi
. "$SECKILL_SRCDIR/tests/lib/sale.sh"
. "$SECKILL_SRCDIR/tests/lib/proxy.sh"
out=$HTTP_TMP/winners
mkdir -p "$out"
"$ADMIN" users gen --count 40 --prefix winner_ --out "$out/users" 2>/dev/null
# One worker, so that every request meets the one whose winner waits.
pool_restart() { env SECKILL_FCGI_WORKERS=1 "$@" bash "$SECKILL_SRCDIR/conf/stack.sh" restart-pool >>"$out/pool.log" 2>&1; }
worker() { pgrep -P "$(cat "$SECKILL_RUN_DIR/pid/fcgi.pid")" -f seckill-fcgi; }
holder_id() { sql "SELECT id FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(1.5)%'"; }
# lock_outbox: a session of ours holds the outbox table for 1.5 s (less than seckill.attempt_ms
# and mysql.timeout), so that every outbox insert waits for it
lock_outbox() {
	sql "LOCK TABLES outbox WRITE; SELECT SLEEP(1.5); UNLOCK TABLES" >/dev/null 2>&1 &
	holder=$!
	wait_for 5 'test -n "$(holder_id)"'
}
held() { rcli HLEN "sk:{a$1}:buyers"; }
orders() { sql "SELECT COUNT(*) FROM orders WHERE activity_id = $1"; }
FIRED=()
fire_all() { # fire_all ACTIVITY FROM TO: those buyers' buys in the background, answers in $out/w.N
	local i
	for i in $(seq "$2" "$3"); do
		rm -f "$out/w.$i" "$out/t.$i"
		buy_fire "$i" "$1" direct "$out/t.$i" >"$out/w.$i" &
		FIRED+=($!)
	done
}
fired_wait() { wait "$holder" "${FIRED[@]}"; FIRED=(); }
answers() { local i; for i in $(seq "$1" "$2"); do cat "$out/w.$i"; done | sort | uniq -c | tr -s ' ' | tr '\n' ','; }
pool_restart SECKILL_SECKILL_HIDDEN_PATH=off SECKILL_SECKILL_CAPTCHA=off
ok "one worker serves the pool" test "$(worker | wc -l)" = 1

# --- a winner waits for MySQL: the worker answers the others meanwhile, and the winners of the
# moment are written together ---
a1=$(sale 'Writer' 20)
gone=$(sale 'Gone' 1)
"$ADMIN" warm "$a1" >/dev/null
"$ADMIN" warm "$gone" >/dev/null
is "a first buyer takes the only unit of another sale" "$(buy_fire 30 "$gone" direct)" queued
rows0=$(metric_now seckill_outbox_rows_total) ins0=$(metric_now seckill_outbox_inserts_total)
lock_outbox
fire_all "$a1" 1 1
wait_for 5 'test "$(held "$a1")" = 1'
fire_all "$a1" 2 9
wait_for 5 'test "$(held "$a1")" = 9'
is "nine buyers took their units while the outbox is locked" "$(held "$a1")" 9
t0=$(date +%s%3N)
so=$(buy_fire 31 "$gone" direct) page=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/activities/$a1")
t1=$(date +%s%3N)
is "meanwhile a loser hears sold out" "$so" sold_out
is "and the sale's page answers" "$page" 200
ok "both within 700 ms, while the winners still wait ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 700 -a -z "$(cat "$out/w.1")"
fired_wait
is "once MySQL lets go, the nine hear queued" "$(answers 1 9)" " 9 queued,"
ok "the first winner had waited for the lock ($(cat "$out/t.1") s)" awk -v t="$(cat "$out/t.1")" 'BEGIN { exit !(t >= 0.8) }'
is "nine outbox rows" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $a1")" 9
rows=$(($(metric_now seckill_outbox_rows_total) - rows0)) ins=$(($(metric_now seckill_outbox_inserts_total) - ins0))
is "the writer counted the nine rows" "$rows" 9
ok "written by at most 3 INSERTs ($ins): the eight that queued up went together" test "$ins" -ge 1 -a "$ins" -le 3
wait_for 15 'test "$(orders "$a1")" = 9'
is "nine orders" "$(orders "$a1")" 9
is "every winner's result says created" "$(for i in $(seq 1 9); do result "$i" "$a1"; done | sort -u)" created
invariants "$a1" "written together"

# --- the reply to an INSERT of several rows is lost: each row settled alone, nothing given back ---
a2=$(sale 'Batch reply lost' 20)
"$ADMIN" warm "$a2" >/dev/null
mport=$(proxy_start mysql "$SECKILL_MYSQL_PORT")
ok "a fault proxy stands before MariaDB" test -n "$mport"
pool_restart SECKILL_SECKILL_HIDDEN_PATH=off SECKILL_SECKILL_CAPTCHA=off SECKILL_MYSQL_PORT="$mport"
is "a buyer through the proxy is queued" "$(buy_fire 32 "$a2" direct)" queued
proxy_mode mysql "swallow UNION ALL SELECT '"
lock_outbox
fire_all "$a2" 10 10
wait_for 5 'test "$(held "$a2")" = 2'
fire_all "$a2" 11 15
wait_for 5 'test "$(held "$a2")" = 7'
fired_wait
like "the proxy swallowed the reply to the INSERT of several rows" "$(cat "$out/mysql.ctl")" '^fired'
is "every buyer hears queued" "$(answers 10 15)" " 6 queued,"
is "Redis gave no unit back" "$(rcli GET "sk:{a$a2}:stock")" 13
like "the worker says how it settled them" "$(cat "$SECKILL_RUN_DIR"/log/fcgi.log)" 'rows lost its reply; settled row by row'
is "no row was voided" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $a2 AND status = 'void'")" 0
wait_for 15 'test "$(orders "$a2")" = 7'
is "seven orders, one per buyer" "$(sql "SELECT COUNT(DISTINCT user_id) FROM orders WHERE activity_id = $a2")" 7
invariants "$a2" "batch reply lost"
proxy_stop mysql

# --- a worker told to stop while its winners wait: it answers them, then leaves ---
pool_restart SECKILL_SECKILL_HIDDEN_PATH=off SECKILL_SECKILL_CAPTCHA=off
a3=$(sale 'Stopping' 10)
"$ADMIN" warm "$a3" >/dev/null
w0=$(worker)
lock_outbox
fire_all "$a3" 20 23
wait_for 5 'test "$(held "$a3")" = 4'
kill -TERM "$w0"
fired_wait
is "the four winners of the stopping worker hear queued" "$(answers 20 23)" " 4 queued,"
wait_for 5 '! kill -0 "$w0" 2>/dev/null'
ok "then it left" sh -c "! kill -0 $w0 2>/dev/null"
wait_for 15 'test "$(orders "$a3")" = 4'
is "four orders" "$(orders "$a3")" 4
invariants "$a3" "stopping worker"
bash "$SECKILL_SRCDIR/conf/stack.sh" restart-pool >>"$out/pool.log" 2>&1

# Never wrong when a reply is lost. Each scenario names the fault and the promise it checks,
# then ends with: no buyer left "queued" past the healing bound, units add up (created + left
# = total, Redis = MySQL), reconcile exits 0, nobody sold twice, the repairs counted.
# The healing bound under test: heal.grace 3 s + heal.interval 1 s here (10 s + 2 s by default).
if [ "$SECKILL_FRONT" = lighttpd ]; then
	# What is tested here lies behind the FastCGI pool (Redis, MariaDB, the healer); the front
	# only carries the requests, and the nginx run has driven every scenario already.
	skip "the fault scenarios (run once, under nginx)" "they do not depend on the front"
	return 0 2>/dev/null || exit 0
fi
. "$SECKILL_SRCDIR/tests/lib/sale.sh"
. "$SECKILL_SRCDIR/tests/lib/proxy.sh"
out=$HTTP_TMP/faults
mkdir -p "$out"
FAST="SECKILL_ORDER_PAY_TIMEOUT=600 SECKILL_OUTBOX_GRACE=1 SECKILL_OUTBOX_RETRY_INTERVAL=1 SECKILL_ORDER_SWEEP_INTERVAL=2 SECKILL_HEAL_GRACE=3 SECKILL_HEAL_INTERVAL=1"
jobs_restart $FAST
ok "the jobs (the healer among them) run with short timeouts" test -n "$(job_child seckill-heal)"
"$ADMIN" users gen --count 80 --prefix fault_ --out "$out/users" 2>/dev/null
repair_count() { metric_now "seckill_heal_repairs_total{kind=\"$1\"}"; }
# settled ACTIVITY USERS...: every buyer's result is final (not queued)
settled() { local a=$1 u; shift; for u in "$@"; do [ "$(result "$u" "$a")" != queued ] || return 1; done; }
# adds_up ACTIVITY TOTAL LABEL: live orders + MySQL stock = total, and Redis = MySQL
adds_up() {
	local live left
	wait_for 20 "quiet $1"
	live=$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $1 AND status <> 'cancelled'")
	left=$(sql "SELECT stock_left FROM activities WHERE id = $1")
	is "$3: orders + stock left = $2" "$((live + left))" "$2"
	wait_for 8 'test "$(rcli GET "sk:{a'"$1"'}:stock")" = "$(sql "SELECT stock_left FROM activities WHERE id = '"$1"'")"'
	is "$3: Redis stock = MySQL stock" "$(rcli GET "sk:{a$1}:stock")" "$left"
	invariants "$1" "$3"
}
pool_restart() { env "$@" bash "$SECKILL_SRCDIR/conf/stack.sh" restart-pool >>"$out/pool.log" 2>&1; }
# the FastCGI workers' pids (children of multiwatch, or of lighttpd)
workers() {
	local f
	for f in "$SECKILL_RUN_DIR/pid/fcgi.pid" "$SECKILL_RUN_DIR/pid/lighttpd.pid"; do
		[ -f "$f" ] && pgrep -P "$(cat "$f")" -f seckill-fcgi
	done
}
RPID=$(cat "$SECKILL_RUN_DIR/pid/redis.pid")
MPID=$(cat "$SECKILL_RUN_DIR/pid/mariadb.pid")

# --- a 3-second Redis stall while 8 buyers press buy: nobody is told a lie ---
a1=$(sale 'Redis stall' 5)
"$ADMIN" warm "$a1" >/dev/null
for i in 1 2 3 4 5 6 7 8; do buy_path "$i" "$a1" >"$out/p$i"; done
kill -STOP "$RPID"
for i in 1 2 3 4 5 6 7 8; do buy_fire "$i" "$a1" "$(cat "$out/p$i")" >"$out/s$i" & done
sleep 3
kill -CONT "$RPID"
wait
said=$(cat "$out"/s[1-8] | sort | uniq -c | tr -s ' ' | tr '\n' ',')
diag "the stalled buyers were told: $said"
unlike "no buyer of the stall is told queued for a unit nobody recorded" "$(cat "$out"/s[1-8])" 'queued|sold_out|duplicate'
like "each is told unconfirmed (202) or unavailable (503)" "$(cat "$out"/s[1-8] | sort -u | tr '\n' ' ')" '^((unconfirmed|unavailable) )+$'
wait_for 8 'settled "$a1" 1 2 3 4 5 6 7 8'
ok "their results settle within the bound" settled "$a1" 1 2 3 4 5 6 7 8
is "the stall took no unit: Redis stock is whole" "$(rcli GET "sk:{a$a1}:stock")" 5
for i in 1 2 3 4 5 6 7 8; do buy "$i" "$a1" >"$out/s$i"; done
is "after the stall five of them win, three hear sold out" "$(cat "$out"/s[1-8] | sort | uniq -c | tr -s ' ' | tr '\n' ',')" " 5 queued, 3 sold_out,"
adds_up "$a1" 5 "Redis stall"

# --- the take ran, but its reply was lost: the buyer is told the truth (queued) ---
a2=$(sale 'Take reply lost' 5)
"$ADMIN" warm "$a2" >/dev/null
rport=$(proxy_start redis "$SECKILL_REDIS_PORT")
ok "a fault proxy stands before Redis" test -n "$rport"
pool_restart SECKILL_REDIS_PORT="$rport"
p=$(buy_path 10 "$a2")
proxy_mode redis "swallow {a$a2}:path:"
st=$(buy_fire 10 "$a2" "$p")
like "the proxy swallowed the take's reply" "$(cat "$out/redis.ctl")" '^fired'
is "the buyer whose take's reply was lost hears queued (it took the unit)" "$st" queued
wait_for 10 'test "$(result 10 "$a2")" = created'
is "and gets the order" "$(result 10 "$a2")" created
is "the same buyer again is a duplicate" "$(buy 10 "$a2")" duplicate
adds_up "$a2" 5 "take reply lost"

# --- MySQL committed the outbox row, but the reply was lost: queued, one order, no give-back ---
a3=$(sale 'Insert reply lost' 5)
"$ADMIN" warm "$a3" >/dev/null
mport=$(proxy_start mysql "$SECKILL_MYSQL_PORT")
pool_restart SECKILL_MYSQL_PORT="$mport"
p=$(buy_path 11 "$a3")
proxy_mode mysql "swallow \"activity_id\":$a3,\"user_id\":$(user 11 1)"
st=$(buy_fire 11 "$a3" "$p")
like "the proxy swallowed the outbox insert's reply" "$(cat "$out/mysql.ctl")" '^fired'
is "the buyer whose insert's reply was lost hears queued" "$st" queued
is "Redis did not get the unit back" "$(rcli GET "sk:{a$a3}:stock")" 4
wait_for 10 'test "$(result 11 "$a3")" = created'
is "one order is made" "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a3")" 1
like "the worker says how it settled it" "$(cat "$SECKILL_RUN_DIR"/log/fcgi.log)" 'lost its reply, but it was written'
adds_up "$a3" 5 "insert reply lost"
pool_restart
proxy_stop redis
proxy_stop mysql

# --- workers killed while Redis stalls: the takes run after, their units come back ---
a4=$(sale 'Workers killed' 6)
"$ADMIN" warm "$a4" >/dev/null
aw=$(sale 'Warm-up' 100)	# so that the workers have loaded the take script before the stall
for i in 60 61 62 63 64 65 66 67; do buy "$i" "$aw" >/dev/null; done
orphans=$(repair_count orphan_hold)
for i in 20 21 22 23; do buy_path "$i" "$a4" >"$out/p$i"; done
kill -STOP "$RPID"
for i in 20 21 22 23; do buy_fire "$i" "$a4" "$(cat "$out/p$i")" >"$out/k$i" & done
sleep 0.5
kill -9 $(workers) 2>/dev/null
sleep 1	# still within seckill.attempt_ms: Redis runs the four takes when it wakes
kill -CONT "$RPID"
wait
held=$(rcli HLEN "sk:{a$a4}:buyers")
diag "units held right after the stall, by attempts whose workers died: $held"
wait_for 20 'settled "$a4" 20 21 22 23 && test "$(rcli GET "sk:{a$a4}:stock")" = 6'
ok "the killed buyers' results settle within the bound" settled "$a4" 20 21 22 23
is "no unit is left taken without an order" "$(rcli GET "sk:{a$a4}:stock") $(rcli HLEN "sk:{a$a4}:buyers")" "6 0"
like "each is told failed, with the reason, or none" "$(for i in 20 21 22 23; do result "$i" "$a4"; done | sort -u | tr '\n' ' ')" '^((failed|none) )+$'
if [ "$(result 20 "$a4")" = failed ]; then
	like "the reason says what happened" "$(result 20 "$a4" .reason)" 'try again'
fi
if [ "$held" -gt 0 ]; then
	is "the healer gave each back and counted it in /metrics" "$(($(repair_count orphan_hold) - orphans))" "$held"
fi
for i in 20 21 22 23; do buy "$i" "$a4" >"$out/k$i"; done
is "they may buy again, and win" "$(cat "$out"/k2[0-3] | sort -u)" queued
adds_up "$a4" 6 "workers killed"

# --- a unit held with no outbox row (a worker died right after the take) ---
a5=$(sale 'Orphan' 3)
"$ADMIN" warm "$a5" >/dev/null
old=$(printf '%012x' $(( $(date +%s%3N) - 60000 )))0123456789abcdef0123
rcli HSET "sk:{a$a5}:buyers" "$(user 24 1)" "$old" >/dev/null
rcli DECR "sk:{a$a5}:stock" >/dev/null
is "while it is held, the buyer's result is queued" "$(result 24 "$a5")" queued
wait_for 10 'test "$(rcli GET "sk:{a$a5}:stock")" = 3'
is "the healer gives the orphaned unit back" "$(rcli GET "sk:{a$a5}:stock")" 3
is "the buyer's result becomes failed" "$(result 24 "$a5")" failed
is "a late insert of that attempt can never land" "$(sql "SELECT status FROM outbox WHERE id = '$old'")" failed
like "the repair is listed for the dashboard" "$(sql "SELECT kind FROM repairs WHERE activity_id = $a5")" orphan_hold
adds_up "$a5" 3 "orphaned unit"

# --- Redis rolled back to older data (a restart from an older AOF) ---
a6=$(sale 'Rolled back' 3)
"$ADMIN" warm "$a6" >/dev/null
is "a first buyer wins" "$(buy 30 "$a6")" queued
wait_for 10 'test "$(result 30 "$a6")" = created'
rebuilds=$(repair_count rebuild)
job_stop seckill-heal	# the buy path itself must rebuild it before it sells
rcli SHUTDOWN >/dev/null 2>&1
wait_for 10 '! kill -0 "$RPID" 2>/dev/null'
cp -a "$SECKILL_RUN_DIR/redis" "$out/redis-old"
redis-server "$SECKILL_RUN_DIR/redis.conf" >>"$out/restart.log" 2>&1
wait_for 10 'test "$(rcli PING 2>/dev/null)" = PONG'
RPID=$(cat "$SECKILL_RUN_DIR/pid/redis.pid")
is "two more buyers win" "$(buy 31 "$a6") $(buy 32 "$a6")" "queued queued"
wait_for 10 'test "$(result 32 "$a6")" = created && test "$(result 31 "$a6")" = created'
is "a fourth hears sold out" "$(buy 33 "$a6")" sold_out
rcli SHUTDOWN NOSAVE >/dev/null 2>&1
wait_for 10 '! kill -0 "$RPID" 2>/dev/null'
rm -rf "$SECKILL_RUN_DIR/redis" && cp -a "$out/redis-old" "$SECKILL_RUN_DIR/redis"
redis-server "$SECKILL_RUN_DIR/redis.conf" >>"$out/restart.log" 2>&1
wait_for 10 'test "$(rcli PING 2>/dev/null)" = PONG'
RPID=$(cat "$SECKILL_RUN_DIR/pid/redis.pid")
is "Redis came back with the older data" "$(rcli HLEN "sk:{a$a6}:buyers")" 1
sleep 1.1	# the workers' sold-out flags look at Redis again
is "the buyers who hold orders are told duplicate, not queued again" "$(buy 31 "$a6") $(buy 32 "$a6")" "duplicate duplicate"
is "the sale still reads sold out" "$(buy 33 "$a6")" sold_out
is "Redis was rebuilt from MySQL before it sold again" "$(rcli GET "sk:{a$a6}:stock") $(rcli HLEN "sk:{a$a6}:buyers")" "0 3"
ok "the rebuild is counted" test "$(repair_count rebuild)" -gt "$rebuilds"
jobs_restart $FAST
# A unit comes back (the order is cancelled): every worker's flag reopens.
sql "UPDATE orders SET pay_deadline = UTC_TIMESTAMP(3) - INTERVAL 10 SECOND, created_at = pay_deadline WHERE activity_id = $a6 AND user_id = $(user 32 1)"
wait_for 15 'test "$(rcli GET "sk:{a$a6}:stock")" = 1'
sleep 1.1
is "after a cancel the next buyer gets the unit (no stale sold-out flag)" "$(buy 33 "$a6")" queued
adds_up "$a6" 3 "Redis rolled back"

# --- Redis emptied mid-sale: rebuilt, nobody sold twice ---
a7=$(sale 'Emptied' 4)
is "a buyer wins" "$(buy 40 "$a7")" queued
wait_for 10 'test "$(result 40 "$a7")" = created'
rcli FLUSHALL >/dev/null
is "after FLUSHALL the holder is still a duplicate" "$(buy 40 "$a7")" duplicate
is "another buyer wins" "$(buy 41 "$a7")" queued
adds_up "$a7" 4 "Redis emptied"

# --- Redis one unit above MySQL: the unit MySQL never had is not given back (no phantom) ---
a8=$(sale 'Phantom' 2)
"$ADMIN" warm "$a8" >/dev/null
job_stop seckill-heal	# it would set the stock right before anyone bought
rcli INCR "sk:{a$a8}:stock" >/dev/null
phantoms=$(repair_count phantom)
for i in 50 51 52; do buy "$i" "$a8" >"$out/f$i"; done
is "Redis (wrongly) sold three" "$(cat "$out"/f5[0-2] | sort -u)" queued
wait_for 15 'quiet "$a8"'
is "MySQL made two orders" "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a8")" 2
is "the third buyer is told failed: sold out" "$(for i in 50 51 52; do result "$i" "$a8"; done | sort | tr '\n' ' ')" "created created failed "
is "the phantom unit was dropped, not given back" "$(rcli GET "sk:{a$a8}:stock")" 0
is "and counted" "$(($(repair_count phantom) - phantoms))" 1
jobs_restart $FAST
adds_up "$a8" 2 "phantom unit"

# --- a poison message parked in the dead-letter queue: its unit goes back, its buyer knows ---
a9=$(sale 'Parked' 3)
"$ADMIN" warm "$a9" >/dev/null
parked=$(repair_count parked)
ref=$(printf '%012x' "$(date +%s%3N)")fedcba9876543210fedc
rcli HSET "sk:{a$a9}:buyers" 999999 "$ref" >/dev/null
rcli DECR "sk:{a$a9}:stock" >/dev/null
sql "INSERT INTO outbox (id, activity_id, user_id, payload, next_attempt_at) VALUES ('$ref', $a9, 999999,
	'{\"message_id\":\"$ref\",\"activity_id\":$a9,\"user_id\":999999,\"amount_cents\":100}', UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)"
wait_for 15 'test "$(sql "SELECT status FROM outbox WHERE id = '\''$ref'\''")" = failed'
is "the parked message's row fails" "$(sql "SELECT status FROM outbox WHERE id = '$ref'")" failed
like "with the reason" "$(sql "SELECT last_error FROM outbox WHERE id = '$ref'")" 'unknown user'
is "its unit is back in Redis" "$(rcli GET "sk:{a$a9}:stock") $(rcli HEXISTS "sk:{a$a9}:buyers" 999999)" "3 0"
is "the repair is counted" "$(($(repair_count parked) - parked))" 1
adds_up "$a9" 3 "parked message"

# --- a QR code confirmed while MariaDB hangs is not burnt: the next poll logs the PC in ---
qjar=$out/qr.jar
http POST /api/qr -c "$qjar"
QR=$(json .qr_id)
http POST "/api/mobile/qr/$QR/scan" -H "Authorization: Bearer $(user 70 3)"
http POST "/api/mobile/qr/$QR/confirm" -H "Authorization: Bearer $(user 70 3)" -H "$J" --data '{}'
is "the phone confirms" "$(json .status)" confirmed
kill -STOP "$MPID"
sleep "$(fcgi_conf qr.interval)"
http GET "/api/qr/$QR/status" -b "$qjar" -c "$qjar"
kill -CONT "$MPID"
is "the poll that cannot make the session answers 503" "$STATUS" 503
sleep "$(fcgi_conf qr.interval)"
http GET "/api/qr/$QR/status" -b "$qjar" -c "$qjar"
is "the next poll still gets the login" "$STATUS $(json .status)" "200 confirmed"
like "with a session cookie" "$(printf '%s\n' "$HEADERS" | grep -i '^set-cookie: sid=')" 'sid='
sleep "$(fcgi_conf qr.interval)"
http GET "/api/qr/$QR/status" -b "$qjar"
is "and only once" "$STATUS" 410

# --- /healthz answers within 100 ms (plus the trip) whatever hangs ---
http GET /healthz
is "healthz is 200 before" "$STATUS" 200
kill -STOP "$MPID"
sleep 3	# a ping under way for over a second, or one that timed out, means down
worst=0
for i in 1 2 3 4 5 6; do
	t=$(curl -s -o "$out/hz" -w '%{time_total}' "$BASE/healthz")
	worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
done
kill -CONT "$MPID"
ok "healthz answered in at most 0.3 s while MariaDB hung (worst $worst s)" awk "BEGIN { exit !($worst < 0.3) }"
is "and named mysql down" "$(jq -r .mysql "$out/hz")" down
wait_for 10 'test "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/healthz")" = 200'
http GET /healthz
is "healthz is 200 again once MariaDB wakes" "$STATUS" 200

jobs_restart

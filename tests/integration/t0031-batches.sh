# The consumer works in batches: a backlog becomes orders many per transaction and one ack, a
# crash inside a batch's transaction loses and doubles nothing, a lost reply to its COMMIT
# leaves the orders made once, and two consumers on one queue (every message there twice) make
# each order exactly once.
if [ "$SECKILL_FRONT" = lighttpd ]; then
	skip "the consumer's batches (run once, under nginx)" "they do not depend on the front"
	return 0 2>/dev/null || exit 0
fi
. "$SECKILL_SRCDIR/tests/lib/sale.sh"
. "$SECKILL_SRCDIR/tests/lib/proxy.sh"
out=$HTTP_TMP/batches
mkdir -p "$out"
SLOW="SECKILL_OUTBOX_GRACE=1 SECKILL_OUTBOX_RETRY_INTERVAL=1"
"$ADMIN" users gen --count 160 --prefix batch_ --out "$out/users" 2>/dev/null
# buy_all ACTIVITY FROM TO: those buyers, ten at a time; prints how many were queued
buy_all() {
	local i
	rm -f "$out"/b.*
	for i in $(seq "$2" "$3"); do
		buy "$i" "$1" >"$out/b.$i" &
		[ $(((i - $2) % 10)) = 9 ] && wait
	done
	wait
	cat "$out"/b.* | grep -c '^queued$'
}
orders() { sql "SELECT COUNT(*) FROM orders WHERE activity_id = $1"; }
# backlog ACTIVITY N: waits until the relay has put the sale's N messages in the queue
backlog() { wait_for 15 'test "$(queue_depth seckill.orders)" = "'"$2"'"'; }
holder_id() { sql "SELECT id FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(60)'"; }
lock_waits() { sql "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'"; }
consumer_log() { cat "$SECKILL_RUN_DIR/log/seckill-consumer.log"; }

# --- a backlog of 48 drains in batches of 16: a few transactions, not 48 ---
jobs_restart $SLOW
job_stop seckill-consumer
a1=$(sale 'Batches' 100)
is "48 buyers are queued while no consumer runs" "$(buy_all "$a1" 1 48)" 48
backlog "$a1" 48
is "their messages wait in the queue" "$(queue_depth seckill.orders)" 48
delayed=$(queue_depth seckill.delay.900s)
jobs_restart $SLOW SECKILL_CONSUMER_BATCH=16 SECKILL_CONSUMER_BATCH_MS=300
wait_for 20 'test "$(orders "$a1")" = 48'
is "the consumer made the 48 orders" "$(orders "$a1")" 48
like "it says how it batches" "$(consumer_log)" 'batches of up to 16 messages or 300 ms'
# One multi-row INSERT stamps its rows with one time: the count of stamps is the count of
# transactions that made orders.
txns=$(sql "SELECT COUNT(DISTINCT created_at) FROM orders WHERE activity_id = $a1")
ok "they were made in at most 6 transactions ($txns)" test "$txns" -le 6
is "MySQL's stock went down by 48" "$(sql "SELECT stock_left FROM activities WHERE id = $a1")" 52
is "every order has its dedup row" "$(sql "SELECT COUNT(*) FROM message_processing p JOIN orders o ON o.id = p.order_id WHERE o.activity_id = $a1")" 48
wait_for 10 'test "$(queue_depth seckill.orders)" = 0'
is "the batch was acknowledged (the queue is empty)" "$(queue_depth seckill.orders)" 0
is "every order's payment timeout is scheduled" "$(queue_depth seckill.delay.900s)" $((${delayed:-0} + 48))
invariants "$a1" "batches"

# --- the consumer killed inside a batch's transaction: nothing made, then all made once ---
job_stop seckill-consumer
a2=$(sale 'Killed in a batch' 30)
is "30 buyers are queued" "$(buy_all "$a2" 49 78)" 30
backlog "$a2" 30
last=$(sql "SELECT id FROM outbox WHERE activity_id = $a2 ORDER BY id DESC LIMIT 1")
# A transaction of ours holds the dedup key of the batch's last message: the batch has written
# its orders and stock and waits at its last statement, just before COMMIT.
sql "BEGIN; INSERT INTO message_processing (message_id) VALUES ('$last'); SELECT SLEEP(60); ROLLBACK" >/dev/null 2>&1 &
holder=$!
wait_for 5 'test -n "$(holder_id)"'
jobs_restart $SLOW SECKILL_CONSUMER_BATCH=40 SECKILL_CONSUMER_BATCH_MS=300
wait_for 10 'test "$(lock_waits)" -ge 1'
ok "the batch waits inside its transaction" test "$(lock_waits)" -ge 1
is "nothing of it is visible before its commit" "$(orders "$a2")" 0
kill -9 "$(job_child seckill-consumer)"
sql "KILL $(holder_id)"	# our transaction ends, rolled back
wait "$holder"
wait_for 20 'test "$(orders "$a2")" = 30'
is "after the kill every buyer has one order" "$(sql "SELECT COUNT(DISTINCT user_id) FROM orders WHERE activity_id = $a2")" 30
is "and no order is there twice" "$(orders "$a2")" 30
is "MySQL's stock went down by 30, once" "$(sql "SELECT stock_left FROM activities WHERE id = $a2")" 0
invariants "$a2" "killed in a batch"

# --- the reply to a batch's COMMIT is lost: the orders stand, made once ---
job_stop seckill-consumer
a3=$(sale 'Commit reply lost' 20)
is "20 buyers are queued" "$(buy_all "$a3" 79 98)" 20
backlog "$a3" 20
mport=$(proxy_start mysql "$SECKILL_MYSQL_PORT")
proxy_mode mysql "swallow COMMIT"
# This consumer alone talks to MariaDB through the proxy.
env SECKILL_CONSUMER_BATCH=40 SECKILL_CONSUMER_BATCH_MS=300 SECKILL_MYSQL_PORT="$mport" \
	"$SECKILL_BUILDDIR/jobs/seckill-consumer" >"$out/consumer-proxied.log" 2>&1 &
proxied=$!
wait_for 15 'test "$(queue_depth seckill.orders)" = 0'
like "the proxy swallowed the COMMIT's reply" "$(cat "$out/mysql.ctl")" '^fired'
wait_for 10 'test "$(orders "$a3")" = 20'
is "the 20 orders are made" "$(orders "$a3")" 20
is "none twice" "$(sql "SELECT COUNT(DISTINCT message_id) FROM orders WHERE activity_id = $a3")" 20
is "MySQL's stock went down by 20, once" "$(sql "SELECT stock_left FROM activities WHERE id = $a3")" 0
is "every buyer's result says created" "$(for i in $(seq 79 98); do result "$i" "$a3"; done | sort -u)" created
like "the consumer says MySQL failed and tries again" "$(cat "$out/consumer-proxied.log")" 'MySQL failed; retrying'
invariants "$a3" "commit reply lost"
kill "$proxied"
wait "$proxied"
proxy_stop mysql

# --- two consumers on one sale at once, every message in the queue twice: each order once ---
job_stop seckill-consumer
a4=$(sale 'Two consumers' 60)
BATCH8="SECKILL_CONSUMER_BATCH=8 SECKILL_CONSUMER_PREFETCH=16 SECKILL_CONSUMER_BATCH_MS=50"
jobs_restart $SLOW $BATCH8
env $BATCH8 "$SECKILL_BUILDDIR/jobs/seckill-consumer" >"$out/consumer2.log" 2>&1 &
second=$!
first=$(job_child seckill-consumer)
# Both subscribed, as RabbitMQ counts them (a consumer says "consuming" before it connects).
consumers() { rmqctl list_queues name consumers | awk -v q="$1" '$1 == q { print $2 }'; }
wait_for 15 'test "$(consumers seckill.orders)" = 2'
is "two consumers are subscribed" "$(consumers seckill.orders)" 2
# Both stopped while the queue fills (each holds its prefetch), then let go at one instant.
kill -STOP "$first" "$second"
is "60 buyers are queued" "$(buy_all "$a4" 99 158)" 60
backlog "$a4" 60
# The rows pending again: the retry job sends each message a second time.
sql "UPDATE outbox SET status = 'pending', next_attempt_at = UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE WHERE activity_id = $a4"
backlog "$a4" 120
is "each message is in the queue twice" "$(queue_depth seckill.orders)" 120
kill -CONT "$first" "$second"
wait_for 20 'test "$(queue_depth seckill.orders)" = 0'
is "the two consumers emptied the queue" "$(queue_depth seckill.orders)" 0
kill "$second"
wait "$second"
job_stop seckill-consumer
is "60 orders are made" "$(orders "$a4")" 60
is "one per buyer" "$(sql "SELECT COUNT(DISTINCT user_id) FROM orders WHERE activity_id = $a4")" 60
is "MySQL's stock went down by 60, once" "$(sql "SELECT stock_left FROM activities WHERE id = $a4")" 0
# made LOG: "created duplicates" of the consumer's last report
made() { sed -n 's/.* \([0-9]*\) orders created, \([0-9]*\) duplicates.*/\1 \2/p' "$1" | tail -1; }
m1=$(made "$SECKILL_RUN_DIR/log/seckill-consumer.log") m2=$(made "$out/consumer2.log")
ok "both consumers made orders ($m1 / $m2)" test "${m1%% *}" -gt 0 -a "${m2%% *}" -gt 0
is "between them, 60 orders and 60 copies known as such" "$((${m1%% *} + ${m2%% *})) $((${m1##* } + ${m2##* }))" "60 60"
invariants "$a4" "two consumers"
jobs_restart

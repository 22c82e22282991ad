# The order pipeline end to end, and its faults. After each fault the invariants hold: no
# oversell, one order per user and activity, every queued buyer resolved, stock conserved in
# Redis and MySQL (reconcile exits 0).
. "$SECKILL_SRCDIR/tests/lib/sale.sh"
out=$HTTP_TMP/pipeline
mkdir -p "$out"
# Short timeouts for this file: payment 4 s, outbox grace 1 s, sweep every 2 s.
FAST="SECKILL_ORDER_PAY_TIMEOUT=4 SECKILL_OUTBOX_GRACE=1 SECKILL_OUTBOX_RETRY_INTERVAL=1 SECKILL_ORDER_SWEEP_INTERVAL=2 SECKILL_OUTBOX_MAX_SEND=50"
jobs_restart $FAST
ok "the jobs run again with short timeouts" test -n "$(job_child seckill-consumer)"
"$ADMIN" users gen --count 60 --prefix pipe_ --out "$out/users" 2>/dev/null

# --- queued -> created -> paid ---
a1=$("$ADMIN" activity create --title 'Pipeline' --stock 3 --price-cents 2500 --starts-in -1 --duration 600)
is "a buyer is queued" "$(buy 1 "$a1")" queued
wait_for 10 'test "$(result 1 "$a1")" = created'
is "the result turns to created" "$(result 1 "$a1")" created
oid=$(result 1 "$a1" .order_id)
like "the result names the order" "$oid" '^[0-9]+$'
is "the order is unpaid with the price" "$(sql "SELECT CONCAT(status, ' ', amount_cents) FROM orders WHERE id = $oid")" "unpaid 2500"
is "MySQL stock went down by one" "$(sql "SELECT stock_left FROM activities WHERE id = $a1")" 2
http POST "/api/orders/$oid/pay" -H "Authorization: Bearer $(user 1 3)"
is "paying is 200" "$STATUS" 200
is "the order is paid" "$(json .order.status)" paid
http POST "/api/orders/$oid/pay" -H "Authorization: Bearer $(user 1 3)"
is "paying again changes nothing" "$(sql "SELECT COUNT(*) FROM payments WHERE order_id = $oid")" 1

# --- unpaid -> cancelled on time -> bought by someone else ---
is "a second buyer is queued" "$(buy 2 "$a1")" queued
is "a third buyer is queued" "$(buy 3 "$a1")" queued
is "a fourth finds it sold out" "$(buy 4 "$a1")" sold_out
wait_for 10 'test "$(result 2 "$a1")" = created'
oid2=$(result 2 "$a1" .order_id)
sql "UPDATE orders SET status = 'paid', paid_at = UTC_TIMESTAMP(3) WHERE activity_id = $a1 AND user_id = $(user 3 1)"
wait_for 12 'test "$(sql "SELECT status FROM orders WHERE id = $oid2")" = cancelled'
is "the unpaid order is cancelled after the payment timeout" "$(sql "SELECT CONCAT(status, ' ', cancel_reason) FROM orders WHERE id = $oid2")" "cancelled timeout"
is "its unit is back in MySQL" "$(sql "SELECT stock_left FROM activities WHERE id = $a1")" 1
is "its unit is back in Redis" "$(rcli GET "sk:{a$a1}:stock")" 1
sleep 1.1
is "someone else buys the unit" "$(buy 4 "$a1")" queued
wait_for 10 'test "$(result 4 "$a1")" = created'
is "and gets an order" "$(result 4 "$a1")" created
is "the buyer whose order was cancelled now finds it sold out" "$(buy 2 "$a1")" sold_out
invariants "$a1" "end to end"

# --- the same message delivered twice ---
ref=$(sql "SELECT message_id FROM orders WHERE id = $oid")
sql "UPDATE outbox SET status = 'pending', next_attempt_at = UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE WHERE id = '$ref'"
wait_for 10 'test "$(sql "SELECT status FROM outbox WHERE id = '\''$ref'\''")" = sent'
sleep 1
is "a redelivered message makes no second order" "$(sql "SELECT COUNT(*) FROM orders WHERE message_id = '$ref'")" 1
is "the redelivery is known to the dedup table" "$(sql "SELECT COUNT(*) FROM message_processing WHERE message_id = '$ref'")" 1
sql "UPDATE outbox SET status = 'consumed' WHERE id = '$ref'"

# --- the consumer killed with kill -9 mid-stream ---
a2=$("$ADMIN" activity create --title 'Crash' --stock 20 --price-cents 100 --starts-in -1 --duration 600)
for i in $(seq 5 24); do buy "$i" "$a2" >"$out/crash$i" & done
for k in 1 2 3; do sleep 0.3; kill -9 "$(job_child seckill-consumer)" 2>/dev/null; done
wait
is "20 buyers were queued" "$(cat "$out"/crash* | grep -c queued)" 20
wait_for 20 'test "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a2")" = 20'
is "after the crashes every buyer has one order" "$(sql "SELECT COUNT(DISTINCT user_id) FROM orders WHERE activity_id = $a2")" 20
like "the supervisor restarted the consumer" "$(cat "$SECKILL_RUN_DIR/log/seckill-consumer.log")" 'restart'
invariants "$a2" "consumer crash"

# --- RabbitMQ stopped while buyers are winning, then started ---
a3=$("$ADMIN" activity create --title 'Broker down' --stock 10 --price-cents 100 --starts-in -1 --duration 600)
not_sent=$(metric_now seckill_relay_not_sent_total)
rmqctl stop_app >/dev/null 2>&1
for i in 25 26 27; do is "a buyer wins while the broker is down" "$(buy "$i" "$a3")" queued; done
wait_for 10 'test "$(($(metric_now seckill_relay_not_sent_total) - not_sent))" -ge 3'
is "/metrics counts the 3 rows the relays could not send" "$(($(metric_now seckill_relay_not_sent_total) - not_sent))" 3
like "their outbox rows wait as pending" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $a3 AND status = 'pending'")" '^[1-3]$'
wait_for 5 'test "$(curl -s "$BASE/healthz" | jq -r .amqp)" = down'
http GET /healthz
is "healthz names amqp while the broker is down" "$(json .amqp)" down
rmqctl start_app >/dev/null 2>&1
wait_for 30 'test "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a3")" = 3'
is "once it is back the retry job drains them into orders" "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a3")" 3
invariants "$a3" "broker down"

# --- RabbitMQ hangs (SIGSTOP): a winner is answered at once all the same ---
# (The row is in MySQL; the worker's relay waits for the broker, not the buyer.)
a3h=$("$ADMIN" activity create --title 'Broker hung' --stock 5 --price-cents 100 --starts-in -1 --duration 600)
rpid=$(cat "$SECKILL_RUN_DIR/pid/rabbitmq.pid")
kill -STOP "$rpid"
st57=$(buy 57 "$a3h" "$out/t57")
st58=$(buy 58 "$a3h" "$out/t58")
kill -CONT "$rpid"
is "buyers win while the broker hangs" "$st57 $st58" "queued queued"
ok "... and are answered at once, not after the broker's timeout ($(cat "$out/t57") s, $(cat "$out/t58") s)" \
	awk "BEGIN { exit !($(cat "$out/t57") < 0.5 && $(cat "$out/t58") < 0.5) }"
wait_for 30 'test "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a3h")" = 2'
is "once the broker wakes both orders are made" "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a3h")" 2
invariants "$a3h" "broker hung"

# --- two retry jobs at once never send one row twice ---
a3c=$("$ADMIN" activity create --title 'Two retry jobs' --stock 30 --price-cents 100 --starts-in -1 --duration 600)
job_stop seckill-retry
rmqctl stop_app >/dev/null 2>&1
for i in $(seq 43 56); do buy "$i" "$a3c" >/dev/null; done
# The web workers' relays try each row once (counted), in the background of the answers.
wait_for 10 'test "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $a3c AND send_count = 1")" = 14'
rmqctl start_app >/dev/null 2>&1
is "14 rows wait, each sent once by the web" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $a3c AND status = 'pending' AND send_count = 1")" 14
sql "UPDATE outbox SET next_attempt_at = UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE WHERE activity_id = $a3c"
env $FAST "$SECKILL_BUILDDIR/jobs/seckill-retry" --once 2>/dev/null &
env $FAST "$SECKILL_BUILDDIR/jobs/seckill-retry" --once 2>/dev/null &
wait
is "two retry jobs at once sent no row twice" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $a3c AND send_count > 2")" 0
jobs_restart $FAST
wait_for 20 'test "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a3c")" = 14'
is "in the end each row was sent exactly once more" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $a3c AND send_count = 2")" 14
is "and every one became one order" "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a3c")" 14
invariants "$a3c" "two retry jobs"

# --- publishing fails until outbox.max_send: the row fails, the unit comes back ---
a3b=$("$ADMIN" activity create --title 'Given up' --stock 10 --price-cents 100 --starts-in -1 --duration 600)
jobs_restart ${FAST/MAX_SEND=50/MAX_SEND=2}
rmqctl stop_app >/dev/null 2>&1
is "a buyer wins while publishing fails" "$(buy 28 "$a3b")" queued
is "the unit is taken in Redis" "$(rcli GET "sk:{a$a3b}:stock")" 9
ref28=$(sql "SELECT id FROM outbox WHERE activity_id = $a3b AND user_id = $(user 28 1)")
wait_for 20 'test "$(sql "SELECT status FROM outbox WHERE id = '\''$ref28'\''")" = failed'
is "after max_send the outbox row is failed" "$(sql "SELECT status FROM outbox WHERE id = '$ref28'")" failed
is "it was sent max_send times" "$(sql "SELECT send_count FROM outbox WHERE id = '$ref28'")" 2
is "the buyer's result is failed" "$(result 28 "$a3b")" failed
is "the unit is back in Redis" "$(rcli GET "sk:{a$a3b}:stock")" 10
rmqctl start_app >/dev/null 2>&1
jobs_restart $FAST
invariants "$a3b" "publish failing"

# --- MariaDB stopped under the consumer: no ack, delivered again later ---
a4=$("$ADMIN" activity create --title 'DB down' --stock 10 --price-cents 100 --starts-in -1 --duration 600)
cpid=$(job_child seckill-consumer)
kill -STOP "$cpid"	# the messages reach it while it is paused
for i in 30 31 32; do buy "$i" "$a4" >/dev/null; done
mpid=$(cat "$SECKILL_RUN_DIR/pid/mariadb.pid")
kill -STOP "$mpid"
kill -CONT "$cpid"
sleep 4
like "the messages wait unacknowledged" "$(rmqctl list_queues name messages_unacknowledged | awk '$1 == "seckill.orders" { print $2 }')" '^[1-9]'
is "the consumer is still running" "$(job_child seckill-consumer)" "$cpid"
kill -CONT "$mpid"
wait_for 30 'test "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a4")" = 3'
is "when MariaDB is back the orders are made" "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $a4")" 3
invariants "$a4" "database down"

# --- poison messages go to the dead-letter queue, the rest flow ---
a5=$("$ADMIN" activity create --title 'Poison' --stock 10 --price-cents 100 --starts-in -1 --duration 600)
sql "INSERT INTO outbox (id, activity_id, user_id, payload, next_attempt_at) VALUES
	('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1', $a5, $(user 40 1), '{\"not\":\"an order\"}', UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE),
	('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2', $a5, $(user 41 1),
	 '{\"message_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2\",\"activity_id\":999999,\"user_id\":$(user 41 1),\"amount_cents\":1}',
	 UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)"
wait_for 15 'test "$(queue_depth seckill.dead)" -ge 2 2>/dev/null'
like "bad messages are parked in the dead-letter queue" "$(queue_depth seckill.dead)" '^([2-9]|[1-9][0-9]+)$'
like "the consumer says why" "$(cat "$SECKILL_RUN_DIR/log/seckill-consumer.log")" 'parked in seckill.dead'
is "a buyer after them still gets an order" "$(buy 42 "$a5")" queued
wait_for 10 'test "$(result 42 "$a5")" = created'
is "the order is made" "$(result 42 "$a5")" created

# --- reconcile notices a broken invariant ---
sql "UPDATE activities SET stock_left = stock_left - 1 WHERE id = $a4"
"$ADMIN" reconcile "$a4" >"$out/rec" 2>&1
is "reconcile exits 1 when MySQL stock is off" "$?" 1
like "and says what is wrong" "$(cat "$out/rec")" 'BROKEN'
sql "UPDATE activities SET stock_left = stock_left + 1 WHERE id = $a4"

jobs_restart
http GET /healthz
is "healthz is 200 after the faults" "$STATUS" 200

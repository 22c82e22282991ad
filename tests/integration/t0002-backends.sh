# A backend that hangs or dies gives a fast 503 naming it, never a crash or a stuck pool; when it
# comes back, so does the service.
pidof_part() { cat "$SECKILL_RUN_DIR/pid/$1.pid"; }

# wait_status PATH WANT SECONDS: polls until PATH answers WANT; prints the seconds it took.
# (Run it in $(...): its own STATUS does not reach the caller, its exit code does.)
wait_status() {
	local start=$SECONDS
	while [ $((SECONDS - start)) -le "$3" ]; do
		http GET "$1"
		[ "$STATUS" = "$2" ] && { echo $((SECONDS - start)); return 0; }
		sleep 0.3
	done
	echo never
	return 1
}

# hang PART: SIGSTOP it (a hung server: connections open, nothing answers).
# /healthz answers from the pool's status, refreshed at most once a second per backend, so a
# hang shows within a couple of seconds, and every answer comes at once whatever hangs.
for part in redis mariadb rabbitmq; do
	pid=$(pidof_part $part)
	key=$part; [ $part = mariadb ] && key=mysql; [ $part = rabbitmq ] && key=amqp
	kill -STOP "$pid"
	# Wait for this part to show (a 503 alone may still be the previous part, just resumed).
	start=$SECONDS
	until [ "$(curl -s --max-time 5 "$BASE/healthz" | jq -r ".$key")" = down ]; do
		[ $((SECONDS - start)) -gt 5 ] && break
		sleep 0.3
	done
	ok "healthz names $key down within 5 s of $part hanging ($((SECONDS - start))s)" \
		test $((SECONDS - start)) -le 5
	t0=$(date +%s%N)
	http GET /healthz
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	is "healthz is 503 while $part hangs" "$STATUS" 503
	is "healthz names $key as down" "$(json ".$key")" down
	is "healthz says unavailable" "$(json .error)" unavailable
	if [ "$ms" -lt 300 ]; then pass "503 came within 300 ms ($ms ms) with $part hung"
	else fail "503 came within 300 ms ($ms ms) with $part hung"; fi
	if [ $part = mariadb ]; then
		http GET /api/activities
		is "the API answers 503 while mysql hangs" "$STATUS" 503
		is "503 error code unavailable" "$(json .error)" unavailable
		http GET /
		is "the home page answers 503 while mysql hangs" "$STATUS" 503
		like "the 503 page explains" "$BODY" 'unavailable'
	fi
	# Many requests at once while hung: the pool must not pile up for good.
	for i in $(seq 1 8); do curl -s -o /dev/null --max-time 30 "$BASE/healthz" & done
	wait
	kill -CONT "$pid"
	if took=$(wait_status /healthz 200 15); then pass "healthz is 200 again after $part resumes (${took}s)"
	else fail "healthz is 200 again after $part resumes"; fi
done

# Redis restarted (not only paused): workers reconnect by themselves.
redis_pid=$(pidof_part redis)
redis-cli -p "$SECKILL_REDIS_PORT" shutdown nosave >/dev/null 2>&1
took=$(wait_status /healthz 503 5)
http GET /healthz
is "healthz is 503 with redis gone (after ${took}s)" "$STATUS" 503
is "healthz names redis" "$(json .redis)" down
bash "$SECKILL_SRCDIR/conf/stack.sh" start >"$SECKILL_RUN_DIR/restart.log" 2>&1
ok "the stack script brings redis back" test "$(pidof_part redis)" != "$redis_pid"
if took=$(wait_status /healthz 200 15); then pass "healthz is 200 after redis restarted (${took}s)"
else fail "healthz is 200 after redis restarted"; fi
# Every worker finds its old connection closed and opens a new one, without failing a request.
redis_pid=$(pidof_part redis)
redis-cli -p "$SECKILL_REDIS_PORT" shutdown nosave >/dev/null 2>&1
bash "$SECKILL_SRCDIR/conf/stack.sh" start >>"$SECKILL_RUN_DIR/restart.log" 2>&1
sleep 1.2
good=0
for i in $(seq 1 12); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -d '' "$BASE/api/captcha")" = 200 ] && good=$((good + 1))
done
is "after a quick Redis restart no request fails (12 of 12)" "$good" 12

# RabbitMQ drops every connection: the next check reconnects.
HOME=$SECKILL_RUN_DIR/rabbitmq/home /usr/lib/rabbitmq/bin/rabbitmqctl -n "sk${SECKILL_AMQP_PORT}@localhost" \
	close_all_connections "test" >/dev/null 2>&1
if took=$(wait_status /healthz 200 10); then pass "healthz is 200 after the broker closed all connections (${took}s)"
else fail "healthz is 200 after the broker closed all connections"; fi

# RabbitMQ restarted by the stack script while every port of the CLI's default range
# (35672-35682) is taken, as when SECKILL_AMQP_PORT=25672 puts the node's own distribution port
# there: the script's rabbitmqctl listens on none, so the start still completes.
rm -f "$SECKILL_RUN_DIR/held-ports"
perl -e '
use Socket;
my @held;
for my $p (35672 .. 35682) {
	socket(my $s, PF_INET, SOCK_STREAM, 0) or next;
	bind($s, pack_sockaddr_in($p, inet_aton("127.0.0.1"))) && listen($s, 1) or next;
	push @held, $s;
}
open(my $f, ">", $ARGV[0]) or die; print $f scalar(@held), "\n"; close $f;
sleep 120;
' "$SECKILL_RUN_DIR/held-ports" &
holder=$!
wait_for 5 '[ -s "$SECKILL_RUN_DIR/held-ports" ]'
rabbit_pid=$(pidof_part rabbitmq)
kill "$rabbit_pid"
wait_for 30 '! kill -0 "$rabbit_pid" 2>/dev/null'
stack_start() { bash "$SECKILL_SRCDIR/conf/stack.sh" start >>"$SECKILL_RUN_DIR/restart.log" 2>&1; }
ok "the stack script restarts RabbitMQ with the CLI's default ports all taken ($(cat "$SECKILL_RUN_DIR/held-ports") of 11 held here)" \
	stack_start
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
ok "RabbitMQ runs again under a new pid" test "$(pidof_part rabbitmq)" != "$rabbit_pid"
if took=$(wait_status /healthz 200 20); then pass "healthz is 200 after RabbitMQ restarted (${took}s)"
else fail "healthz is 200 after RabbitMQ restarted"; fi

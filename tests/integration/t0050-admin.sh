# The admin dashboard: only administrators see it, and its numbers are the system's own
# (what reconcile, RabbitMQ and /metrics say), the titles escaped; the chart is a 720x240 PNG.
J='Content-Type: application/json'
out=$HTTP_TMP/admin
mkdir -p "$out"

# ---- who may look ----
http GET /admin
is "anonymous /admin is 303" "$STATUS" 303
like "... to the login form, and back here after" "$(header location)" '^/login\?next=(/|%2F)admin$'
http GET /api/admin/stats
is "anonymous stats are 401" "$STATUS" 401
http GET /admin/chart.png
is "anonymous chart is 401 (an image is not sent to a form)" "$STATUS" 401

login() {	# login NAME PASSWORD JAR
	rm -f "$3"
	curl -s -c "$3" -H "$J" --data "{\"username\":\"$1\",\"password\":\"$2\"}" "$BASE/api/login" >/dev/null
}
ujar=$out/jar.alice
login alice alice-demo-pass "$ujar"
http GET /admin -b "$ujar"
is "a user gets 403 on /admin" "$STATUS" 403
like "... a page saying it is for administrators" "$BODY" 'for administrators'
http GET /api/admin/stats -b "$ujar"
is "a user gets 403 on the stats" "$STATUS" 403
is "... code forbidden" "$(json .error)" forbidden
http GET /admin/chart.png -b "$ujar"
is "a user gets 403 on the chart" "$STATUS" 403
is "... in JSON" "$(json .error)" forbidden

# ---- a sale to look at: 3 units, 5 buyers; then one order paid and one cancelled ----
act=$("$ADMIN" activity create --title 'Admin <view> & "count"' --stock 3 --price-cents 500 \
	--starts-in -1 --duration 600)
like "an activity for the dashboard" "$act" '^[0-9]+$'
"$ADMIN" users gen --count 5 --prefix adm_ --out "$out/users" 2>/dev/null
# Many users: a progress line per thousand (each on its own line when not on a terminal).
"$ADMIN" users gen --count 2000 --prefix many_ --out "$out/many" 2>"$out/many.err"
is "users gen writes 2000 users" "$(wc -l <"$out/many")" 2000
is "users gen shows its progress, a line each" "$(cat "$out/many.err")" "users gen: 1000 / 2000
users gen: 2000 / 2000"
user() { sed -n "$1p" "$out/users" | cut -f"$2"; }	# user N FIELD (1 id, 3 token)
buy() {	# buy N: captcha (answer read from Redis), path, buy; prints the status
	local tok c p
	tok=$(user "$1" 3)
	c=$(curl -s -X POST -H "Authorization: Bearer $tok" "$BASE/api/captcha" | jq -r .captcha_id)
	p=$(curl -s -X POST -H "Authorization: Bearer $tok" -H "$J" \
		--data "{\"captcha_id\":\"$c\",\"captcha_answer\":\"$(rcli GET "captcha:$c")\"}" \
		"$BASE/api/activities/$act/path" | jq -r .path)
	curl -s -X POST -H "Authorization: Bearer $tok" "$BASE/api/activities/$act/seckill/$p" | jq -r .status
}
for i in 1 2 3 4 5; do buy "$i"; done >"$out/buys"
is "three buyers were queued" "$(grep -c '^queued$' "$out/buys")" 3
is "two found it sold out" "$(grep -c '^sold_out$' "$out/buys")" 2
wait_for 20 'test "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $act")" = 3'
is "the consumer made the 3 orders" "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $act")" 3
o1=$(sql "SELECT id FROM orders WHERE activity_id = $act AND user_id = $(user 1 1)")
http POST "/api/orders/$o1/pay" -H "Authorization: Bearer $(user 1 3)"
is "buyer 1 pays" "$(json .order.status)" paid
sql "UPDATE orders SET created_at = UTC_TIMESTAMP(3) - INTERVAL 20 SECOND,
	pay_deadline = UTC_TIMESTAMP(3) - INTERVAL 10 SECOND WHERE activity_id = $act AND user_id = $(user 2 1)"
"$SECKILL_BUILDDIR/jobs/seckill-timeout" --sweep 2>/dev/null
is "buyer 2's overdue order is cancelled" "$(sql "SELECT status FROM orders WHERE activity_id = $act AND user_id = $(user 2 1)")" cancelled

# A poison message for the dead-letter queue (an outbox row of no sale, so it shows nowhere
# else); once parked, the row is marked failed so that the retry job stops sending it.
dead0=$(queue_depth seckill.dead)
sql "INSERT INTO outbox (id, activity_id, user_id, payload, next_attempt_at) VALUES
	('adadadadadadadadadadadadadad0050', 999050, $(user 5 1), '{\"not\":\"an order\"}',
	UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)"
wait_for 20 'test "$(queue_depth seckill.dead)" -gt "${dead0:-0}" 2>/dev/null'
sql "UPDATE outbox SET status = 'failed' WHERE id = 'adadadadadadadadadadadadadad0050'"
like "a dead letter is parked" "$(queue_depth seckill.dead)" '^[1-9][0-9]*$'

rec=$("$ADMIN" reconcile "$act")
like "reconcile finds the sale consistent" "$rec" ': ok$'
# reconcile's numbers, in its order: initial, redis stock, mysql stock, orders unpaid paid
# cancelled, outbox pending sent consumed failed
rec_nums=$(printf '%s' "${rec#*\": }" | grep -oE -- '-?[0-9]+' | head -10 | tr '\n' ' ')
is "reconcile's view" "$rec_nums" "3 1 1 1 1 1 0 0 3 0 "

# ---- the admin's view ----
jar=$out/jar.admin
login admin admin-demo-pass "$jar"
http GET /api/admin/stats -b "$jar"
is "the admin gets the stats" "$STATUS" 200
is "the stats are not stored" "$(header cache-control)" no-store
cp "$HTTP_TMP/body" "$out/stats.json"
A=".activities[] | select(.id == $act)"
is "the stats say what reconcile says" "$(json "$A"' | [.stock_total, .redis_stock, .stock_left,
	.orders.unpaid, .orders.paid, .orders.cancelled, .outbox.pending, .outbox.sent,
	.outbox.consumed, .outbox.failed] | map(tostring) | join(" ")') " "$rec_nums"
is "... Redis holds the 2 live buyers" "$(json "$A | .redis_buyers")" 2
is "... and checks it as reconcile does" "$(json "$A | .check")" ok
is "the title comes unchanged in JSON" "$(json "$A | .title")" 'Admin <view> & "count"'
is "the seed's ended sale of yesterday is not recent" "$(json '[.activities[] | select(.id == 4)] | length')" 0
is "the backends are up" "$(json '.backends | [.redis, .mysql, .amqp] | join(" ")')" "ok ok ok"

# Queues: the numbers RabbitMQ gives (a read may race a message, so allow a few tries).
queue_of() { jq -r ".queues[] | select(.name == \"$1\") | .messages" "$out/stats.json"; }
delayq=$(json '.queues[] | select(.role == "delay") | .name')
like "the delay queue is the one of the payment timeout" "$delayq" '^seckill\.delay\.[0-9]+s$'
for q in seckill.orders seckill.timeout "$delayq" seckill.dead; do
	wait_for 10 'curl -s -b "$jar" -o "$out/stats.json" "$BASE/api/admin/stats";
		test "$(queue_of "$q")" = "$(queue_depth "$q")"'
	is "queue $q: as RabbitMQ counts" "$(queue_of "$q")" "$(queue_depth "$q")"
done
like "the delay queue holds the timeouts of the orders" "$(queue_of "$delayq")" '^[1-9][0-9]*$'
like "the dead letter is counted" "$(queue_of seckill.dead)" '^[1-9][0-9]*$'
is "the consumer is counted" "$(jq -r '.queues[] | select(.role == "orders") | .consumers' "$out/stats.json")" 1

# Counters: the same shared numbers as /metrics.
http GET /api/admin/stats -b "$jar"
cp "$HTTP_TMP/body" "$out/stats.json"
http GET /metrics
metric() { printf '%s\n' "$BODY" | awk -v m="$1" '$1 == m { print $2 }'; }
S() { jq -r "$1" "$out/stats.json"; }
is "queued outcomes as /metrics" "$(S .outcomes.queued)" "$(metric seckill_outcome_queued_total)"
is "sold-out outcomes as /metrics" "$(S .outcomes.sold_out) $(S .outcomes.sold_out_local)" \
	"$(metric seckill_outcome_sold_out_total) $(metric seckill_outcome_sold_out_local_total)"
is "duplicates as /metrics" "$(S .outcomes.duplicate)" "$(metric seckill_outcome_duplicate_total)"
is "rate-limit rejections as /metrics" "$(S .ratelimited)" "$(metric seckill_ratelimit_rejections_total)"
ok "at least our 3 sales were counted" test "$(S .outcomes.queued)" -ge 3
ok "the last 10 minutes saw our 3 sales (and no more than ever)" \
	test "$(S .last_10m.sales)" -ge 3 -a "$(S .last_10m.sales)" -le "$(S .outcomes.queued)"
ok "the last 10 minutes saw our requests" test "$(S .last_10m.requests)" -ge 30

# The page: the same numbers in the row of the sale, the title escaped.
http GET /admin -b "$jar"
is "the admin gets /admin" "$STATUS" 200
is "the page is not stored" "$(header cache-control)" no-store
like "the page escapes the title" "$BODY" 'Admin &lt;view&gt; &amp; &quot;count&quot;'
unlike "... and never shows it raw" "$BODY" '<view>'
row=$(printf '%s\n' "$BODY" | sed -n "/<tr id=\"activity-$act\"/,/<\/tr>/p")
cells=$(printf '%s\n' "$row" | sed -n 's/.*data-f="\([a-z_.]*\)">\([^<]*\)<.*/\1=\2/p' | tr '\n' ' ')
is "the row shows the numbers" "$cells" "redis_stock=1 stock_left=1 stock_total=3 redis_buyers=2 orders.unpaid=1 orders.paid=1 orders.cancelled=1 outbox.pending=0 outbox.sent=0 outbox.consumed=3 outbox.failed=0 check=OK "
like "the row has the sale's status badge" "$row" 'class="badge badge-active"'
qrow=$(printf '%s\n' "$BODY" | sed -n '/<tr id="queue-dead"/,/<\/tr>/p')
like "the dead-letter row shows its count and asks for a look" "$qrow" 'data-f="messages">[1-9][0-9]*<.*|Look'
like "the tiles show the queued outcomes" "$BODY" "data-k=\"outcomes.queued\">$(S .outcomes.queued)<"
like "the chart is on the page" "$BODY" '<img [^>]*src="/admin/chart.png"'
is "no inline script: every script has a src" "$(grep -o '<script[^>]*>' <<<"$BODY" | grep -vc ' src=')" 0
like "the page loads admin.js" "$BODY" '<script src="/static/js/admin.js" defer>'
http GET /static/js/admin.js
is "admin.js is served" "$STATUS" 200

# The chart.
http GET /admin/chart.png -b "$jar"
is "the chart is 200" "$STATUS" 200
is "the chart is a PNG" "$(header content-type)" image/png
is "the chart is not stored" "$(header cache-control)" no-store
is "the chart starts like a PNG" "$(head -c 8 "$HTTP_TMP/body" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
is "the chart is 720x240 (IHDR)" "$(od -An -tx1 -j12 -N12 "$HTTP_TMP/body" | tr -d ' \n')" 49484452000002d0000000f0
cp "$HTTP_TMP/body" "$out/chart.png"

# RabbitMQ down: the page still answers, saying so.
rmqctl stop_app >/dev/null 2>&1
http GET /api/admin/stats -b "$jar"
is "with the broker stopped the stats still answer" "$STATUS" 200
is "... saying RabbitMQ is down" "$(json .backends.amqp)" down
is "... and the queue depths unknown" "$(json '[.queues[].messages] | map(tostring) | join(" ")')" "null null null null"
is "... the sales still counted" "$(json "$A | .orders.paid")" 1
http GET /admin -b "$jar"
is "the page still answers" "$STATUS" 200
like "... showing RabbitMQ down" "$BODY" 'badge-backend-down" data-backend="amqp">RabbitMQ down'
rmqctl start_app >/dev/null 2>&1
wait_for 30 'test "$(curl -s -b "$jar" "$BASE/api/admin/stats" | jq -r .backends.amqp)" = ok'
http GET /api/admin/stats -b "$jar"
is "once the broker is back the queues are read again" "$(json .backends.amqp)" ok
like "... the dead letters still there" "$(json '.queues[] | select(.role == "dead") | .messages')" '^[1-9][0-9]*$'

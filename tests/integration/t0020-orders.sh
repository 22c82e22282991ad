# Orders and payment: own orders only, pay once (also under a double-click storm), no pay after
# a cancel or past the deadline, a pay racing the timeout cancel has one winner, the pages.
# Orders are inserted directly here (the consumer makes them in production).
J='Content-Type: application/json'
out=$HTTP_TMP/orders
mkdir -p "$out"

"$ADMIN" users gen --count 3 --prefix ord_ --out "$out/users" 2>/dev/null
is "users gen writes 3 order users" "$(wc -l <"$out/users")" 3
IFS=$'\t' read -r uid1 _ tok1 < <(sed -n 1p "$out/users")
IFS=$'\t' read -r uid2 _ tok2 < <(sed -n 2p "$out/users")
IFS=$'\t' read -r uid3 _ tok3 < <(sed -n 3p "$out/users")
A1="Authorization: Bearer $tok1"
A2="Authorization: Bearer $tok2"
A3="Authorization: Bearer $tok3"

# Unlimited stock: orders made by hand took no unit, so a cancel has nothing to give back.
title=$'Phone <b>&"\' deal'
title_html='Phone &lt;b&gt;&amp;&quot;&#39; deal'
# sale [TITLE]: a new open sale, prints its id (one live order per user and sale)
sale() {
	"$ADMIN" activity create --title "${1:-Orders test}" --stock -1 --price-cents 1999 \
		--starts-in -60 --duration 3600
}
# new_order USER SALE [CREATED_SQL DEADLINE_SQL]: an unpaid order, prints its id
new_order() {
	sql "INSERT INTO orders (user_id, activity_id, message_id, amount_cents, created_at, pay_deadline)
		VALUES ($1, $2, REPLACE(UUID(), '-', ''), 1999, ${3:-UTC_TIMESTAMP(3)},
		${4:-UTC_TIMESTAMP(3) + INTERVAL 15 MINUTE}); SELECT LAST_INSERT_ID()"
}
payments() { sql "SELECT COUNT(*) FROM payments WHERE order_id = $1"; }
status_of() { sql "SELECT status FROM orders WHERE id = $1"; }
cancel_sql() {
	sql "UPDATE orders SET status = 'cancelled', cancelled_at = UTC_TIMESTAMP(3),
		cancel_reason = 'timeout' WHERE id = $1 AND status = 'unpaid'"
}

act=$(sale "$title")
like "a sale with HTML in its title" "$act" '^[0-9]+$'
actb=$(sale)

# ---- the list: own orders, newest first ----
http GET /api/orders -H "$A1"
is "a user without orders gets 200" "$STATUS" 200
is "... and an empty list" "$(json '.orders | length')" 0
o1=$(new_order "$uid1" "$act")
sleep 0.01
o2=$(new_order "$uid1" "$actb")
o3=$(new_order "$uid2" "$act")
like "orders inserted" "$o1 $o2 $o3" '^[0-9]+ [0-9]+ [0-9]+$'
http GET /api/orders -H "$A1"
is "the list is 200" "$STATUS" 200
is "the list is JSON" "$(header content-type)" "application/json; charset=utf-8"
is "the list is personal: not cached" "$(header cache-control)" no-store
is "the list holds only the caller's orders, newest first" "$(json '[.orders[].id] | map(tostring) | join(" ")')" "$o2 $o1"
is "an order has every field of O" \
	"$(json '.orders[1] | [has("id", "activity_id", "status", "amount_cents", "created_at", "pay_deadline")] | all')" true
is "status unpaid" "$(json '.orders[1].status')" unpaid
is "activity_id" "$(json '.orders[1].activity_id')" "$act"
is "amount_cents" "$(json '.orders[1].amount_cents')" 1999
is "the title comes unescaped in JSON" "$(json '.orders[1].title')" "$title"
like "created_at is epoch ms" "$(json '.orders[1].created_at')" '^1[0-9]{12}$'
is "pay_deadline is 15 minutes after created_at" "$(json '.orders[1].pay_deadline - .orders[1].created_at')" 900000
is "no paid_at while unpaid" "$(json '.orders[1] | has("paid_at")')" false

# ---- one order; someone else's is not there ----
http GET "/api/orders/$o1" -H "$A1"
is "the own order is 200" "$STATUS" 200
is "... with the order" "$(json .order.id) $(json .order.status)" "$o1 unpaid"
http GET "/api/orders/$o3" -H "$A1"
is "another user's order is 404" "$STATUS" 404
is "404 code not_found" "$(json .error)" not_found
missing_body=$BODY
http GET /api/orders/999999999 -H "$A1"
is "a missing order is 404" "$STATUS" 404
is "another user's order reads exactly like a missing one" "$missing_body" "$BODY"
http POST "/api/orders/$o3/pay" -H "$A1"
is "paying another user's order is 404" "$STATUS" 404
is "... it stays unpaid" "$(status_of "$o3")" unpaid
is "... and nothing was charged" "$(payments "$o3")" 0

# ---- pay, and pay again ----
http POST "/api/orders/$o1/pay" -H "$A1"
is "pay is 200" "$STATUS" 200
is "pay answers the order, paid" "$(json .order.id) $(json .order.status)" "$o1 paid"
like "paid_at is epoch ms" "$(json .order.paid_at)" '^1[0-9]{12}$'
paid_at=$(json .order.paid_at)
is "the order is paid in MySQL" "$(status_of "$o1")" paid
is "one payment row" "$(payments "$o1")" 1
is "the payment is for the order's amount, by the fake gateway" \
	"$(sql "SELECT CONCAT(amount_cents, ' ', gateway) FROM payments WHERE order_id = $o1")" "1999 fake"
like "the gateway ref is 16 random bytes in hex" \
	"$(sql "SELECT gateway_ref FROM payments WHERE order_id = $o1")" '^[0-9a-f]{32}$'
http POST "/api/orders/$o1/pay" -H "$A1"
is "paying again is 200" "$STATUS" 200
is "... and says paid" "$(json .order.status)" paid
is "... with the first paid_at" "$(json .order.paid_at)" "$paid_at"
is "paying again charges nothing" "$(payments "$o1")" 1
http GET "/api/orders/$o1" -H "$A1"
is "the order reads paid, with paid_at" "$(json .order.status) $(json .order.paid_at)" "paid $paid_at"

# ---- cancelled, and past the deadline ----
actc=$(sale)
oc=$(new_order "$uid1" "$actc")
cancel_sql "$oc"
http POST "/api/orders/$oc/pay" -H "$A1"
is "paying a cancelled order is 409" "$STATUS" 409
is "409 code order_cancelled" "$(json .error)" order_cancelled
is "... nothing charged" "$(payments "$oc")" 0
is "... it stays cancelled" "$(status_of "$oc")" cancelled
http GET "/api/orders/$oc" -H "$A1"
is "a cancelled order says so" "$(json .order.status)" cancelled
actd=$(sale)
od=$(new_order "$uid1" "$actd" "UTC_TIMESTAMP(3) - INTERVAL 20 MINUTE" "UTC_TIMESTAMP(3) - INTERVAL 5 MINUTE")
http POST "/api/orders/$od/pay" -H "$A1"
is "paying past the deadline is 409" "$STATUS" 409
is "409 code order_cancelled (past the deadline)" "$(json .error)" order_cancelled
like "the message says the window closed" "$(json .message)" 'payment window closed'
is "... nothing charged past the deadline" "$(payments "$od")" 0
like "... and it is not paid" "$(status_of "$od")" '^(unpaid|cancelled)$'

# ---- malformed ids, no session, no CSRF ----
for bad in abc 0 -1 1.5 01 1e3 99999999999999999999 "%27%20OR%201%3D1"; do
	http GET "/api/orders/$bad" -H "$A1"
	is "GET /api/orders/$bad is 404" "$STATUS" 404
	http POST "/api/orders/$bad/pay" -H "$A1"
	is "POST /api/orders/$bad/pay is 404" "$STATUS" 404
done
http GET /api/orders
is "the list without a session is 401" "$STATUS" 401
is "401 code login_required" "$(json .error)" login_required
http GET "/api/orders/$o2"
is "an order without a session is 401" "$STATUS" 401
http POST "/api/orders/$o2/pay"
is "pay without a session is 401" "$STATUS" 401
is "... and charges nothing" "$(payments "$o2")" 0

jar=$HTTP_TMP/jar.orders
rm -f "$jar"
curl -s -c "$jar" -H "$J" --data '{"username":"alice","password":"alice-demo-pass"}' "$BASE/api/login" >/dev/null
csrf=$(awk '$6 == "csrf" { print $7 }' "$jar")
alice=$(sql "SELECT id FROM users WHERE username = 'alice'")
oa=$(new_order "$alice" "$act")
oa2=$(new_order "$alice" "$actb")
http GET /api/orders -b "$jar"
is "a browser session lists its orders (GET needs no CSRF)" "$(json '[.orders[].id] | map(tostring) | join(" ")')" "$oa2 $oa"
http POST "/api/orders/$oa2/pay" -b "$jar"
is "a cookie session paying without the CSRF header is 403" "$STATUS" 403
is "403 code csrf" "$(json .error)" csrf
is "... and charges nothing" "$(payments "$oa2")" 0
http POST "/api/orders/$oa2/pay" -b "$jar" -H "X-CSRF-Token: $csrf"
is "with the CSRF header it pays" "$STATUS $(json .order.status)" "200 paid"

# ---- a double-click storm: 20 pays of one order at once ----
actp=$(sale)
op=$(new_order "$uid2" "$actp")
for i in $(seq 1 20); do
	curl -s -o "$out/pay$i" -w '%{http_code}\n' -X POST -H "$A2" "$BASE/api/orders/$op/pay" >"$out/code$i" &
done
wait
is "20 concurrent pays all answer 200" "$(cat "$out"/code* | sort | uniq -c | awk '{ print $1 " " $2 }')" "20 200"
is "... all say paid" "$(cat "$out"/pay* | jq -r .order.status | sort | uniq -c | awk '{ print $1 " " $2 }')" "20 paid"
is "... all with the same paid_at" "$(cat "$out"/pay* | jq -r .order.paid_at | sort -u | wc -l)" 1
is "... exactly one payment row" "$(payments "$op")" 1
is "... the order is paid" "$(status_of "$op")" paid

# ---- a pay racing the timeout job's cancel: one winner, never both ----
paid_n=0 cancelled_n=0 bad=0
for round in 1 2 3 4 5 6; do
	actr=$(sale)
	or=$(new_order "$uid3" "$actr")
	curl -s -o "$out/race$round" -w '%{http_code}' -X POST -H "$A3" "$BASE/api/orders/$or/pay" >"$out/racecode$round" &
	cancel_sql "$or" &
	wait
	st=$(status_of "$or")
	n=$(payments "$or")
	code=$(cat "$out/racecode$round")
	if [ "$st $n $code" = "paid 1 200" ]; then
		paid_n=$((paid_n + 1))
	elif [ "$st $n $code" = "cancelled 0 409" ]; then
		cancelled_n=$((cancelled_n + 1))
	else
		bad=$((bad + 1))
		diag "round $round: order $or is $st with $n payment(s), the pay answered $code"
	fi
done
diag "pay vs cancel: the pay won $paid_n, the cancel won $cancelled_n"
is "a pay racing a cancel: paid with one payment or cancelled with none, and the answer agrees" "$bad" 0

# ---- MySQL fails halfway: the payment row goes with the rollback ----
actf=$(sale)
of=$(new_order "$uid3" "$actf")
# The paid update breaks a CHECK (amount_cents >= 0) after the payment row was inserted.
sql "CREATE TRIGGER test_orders_refuse_paid BEFORE UPDATE ON orders FOR EACH ROW
	SET NEW.amount_cents = IF(NEW.status = 'paid', -1, NEW.amount_cents)"
http POST "/api/orders/$of/pay" -H "$A3"
sql "DROP TRIGGER test_orders_refuse_paid"
is "a pay the database refuses is 503" "$STATUS" 503
is "503 code unavailable" "$(json .error)" unavailable
is "... the order stays unpaid" "$(status_of "$of")" unpaid
is "... and the payment row was rolled back" "$(payments "$of")" 0
http POST "/api/orders/$of/pay" -H "$A3"
is "once MySQL takes it, the same pay goes through" "$STATUS $(json .order.status) $(payments "$of")" "200 paid 1"

# ---- the pages ----
http GET /orders -b "$jar"
is "/orders is 200" "$STATUS" 200
is "/orders is HTML" "$(header content-type)" "text/html; charset=utf-8"
is "/orders is personal: not cached" "$(header cache-control)" no-store
like "/orders shows the escaped title" "$BODY" "$title_html"
unlike "/orders never shows it raw" "$BODY" '<b>&'
like "/orders links each order" "$BODY" "href=\"/orders/$oa\""
like "/orders shows the price" "$BODY" '¥19\.99'
like "/orders shows the status badges" "$BODY" 'badge-unpaid'
like "/orders marks the paid one" "$BODY" 'badge-paid'
unlike "/orders shows nobody else's orders" "$BODY" "href=\"/orders/$o1\""
http GET "/orders/$oa" -b "$jar"
is "/orders/{id} is 200" "$STATUS" 200
is "/orders/{id} is personal: not cached" "$(header cache-control)" no-store
like "/orders/{id} shows the escaped title" "$BODY" "$title_html"
unlike "/orders/{id} never shows it raw" "$BODY" '<b>&'
like "/orders/{id} has the Pay button with the price" "$BODY" 'data-action="pay">Pay ¥19\.99 now<'
like "/orders/{id} carries the deadline for the countdown" "$BODY" 'data-deadline-ms="1[0-9]{12}"'
like "/orders/{id} loads orders.js" "$BODY" 'src="/static/js/orders.js"'
http GET "/orders/$oa2" -b "$jar"
unlike "a paid order has no Pay button" "$BODY" 'data-action="pay"'
like "... and says paid" "$BODY" 'badge-paid'
http GET "/orders/$od" -H "$A1"
unlike "an order past its deadline has no Pay button" "$BODY" 'data-action="pay"'
like "... and says the window closed (or cancelled, once the timeout job ran)" "$BODY" \
	'data-view="(closed|cancelled)">'
http GET "/orders/$oc" -H "$A1"
like "a cancelled order gives the reason" "$BODY" 'not paid before the payment deadline'
http GET "/orders/$o1" -b "$jar"
is "someone else's order page is 404" "$STATUS" 404
is "... an HTML page" "$(header content-type)" "text/html; charset=utf-8"
unlike "... that does not show the order" "$BODY" "$title_html"
http GET /orders/abc -b "$jar"
is "a malformed order page is 404" "$STATUS" 404
http GET /orders
is "anonymous /orders is sent to log in" "$STATUS" 303
like "... with the way back" "$(header location)" '^/login\?next=(/|%2F)orders$'
http GET "/orders/$oa"
is "anonymous /orders/{id} is sent to log in" "$STATUS" 303
http GET /static/js/orders.js
is "orders.js is served" "$STATUS" 200

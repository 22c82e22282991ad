# The sale: captcha, hidden path, the stock script under a rush, duplicates, limits, escaping.
J='Content-Type: application/json'
out=$HTTP_TMP/seckill
mkdir -p "$out"

act=$("$ADMIN" activity create --title 'Rush <test> & "five"' --stock 5 --price-cents 1999 \
	--starts-in -1 --duration 600)
like "seckill-admin creates an activity" "$act" '^[0-9]+$'
"$ADMIN" users gen --count 30 --prefix rush_ --out "$out/users" 2>/dev/null
is "seckill-admin users gen writes 30 users" "$(wc -l <"$out/users")" 30
like "users gen lines are id, name, token" "$(head -1 "$out/users")" $'^[0-9]+\trush_1\t[A-Za-z0-9_-]{90,344}$'
warm=$("$ADMIN" warm "$act")
# (The healer may have loaded the open sale already, within its interval.)
like "warm loads the stock" "$warm" "activity $act: (already )?loaded, stock 5"
is "Redis holds the stock" "$(rcli GET "sk:{a$act}:stock")" 5
like "warm again changes nothing" "$("$ADMIN" warm "$act")" "already loaded, stock 5"

# captcha_for TOKEN: mints a captcha and prints "id answer"
captcha_for() {
	local id
	id=$(curl -s -X POST -H "Authorization: Bearer $1" "$BASE/api/captcha" | jq -r .captcha_id)
	echo "$id $(rcli GET "captcha:$id")"
}
# path_for TOKEN [ACTIVITY]: captcha, then the hidden path (for $act by default)
path_for() {
	local c
	c=($(captcha_for "$1"))
	curl -s -X POST -H "Authorization: Bearer $1" -H "$J" \
		--data "{\"captcha_id\":\"${c[0]}\",\"captcha_answer\":\"${c[1]}\"}" \
		"$BASE/api/activities/${2:-$act}/path" | jq -r .path
}

# 30 buyers, each with a valid path, fire at once.
i=0
while IFS=$'\t' read -r uid name token; do
	i=$((i + 1))
	echo "$token $(path_for "$token")" >"$out/p$i"
done <"$out/users"
like "each buyer got a path" "$(cat "$out"/p* | awk '{ print $2 }' | sort -u | wc -l)" '^30$'
published=$(metric_now seckill_relay_published_total)
for i in $(seq 1 30); do
	read -r token path <"$out/p$i"
	curl -s -o "$out/r$i" -w '%{http_code}\n' -X POST -H "Authorization: Bearer $token" \
		"$BASE/api/activities/$act/seckill/$path" >"$out/s$i" &
done
wait
is "no answer was an error" "$(cat "$out"/s* | sort | uniq -c | awk '{ print $2 }' | tr '\n' ' ')" "200 "
is "exactly 5 buyers were queued" "$(cat "$out"/r* | jq -r .status | grep -c '^queued$')" 5
is "the other 25 were sold out" "$(cat "$out"/r* | jq -r .status | grep -c '^sold_out$')" 25
is "Redis stock is 0" "$(rcli GET "sk:{a$act}:stock")" 0
is "Redis holds 5 buyers" "$(rcli HLEN "sk:{a$act}:buyers")" 5
is "5 outbox rows in MySQL" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act")" 5
# Confirmed rows are marked sent in batches, within 200 ms (or taken by the consumer first).
wait_for 3 'test "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act AND status IN ('\''sent'\'', '\''consumed'\'')")" = 5'
is "all 5 published and confirmed" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act AND status IN ('sent', 'consumed')")" 5
wait_for 3 'test "$(($(metric_now seckill_relay_published_total) - published))" -ge 5'
is "/metrics counts the 5 the relays published" "$(($(metric_now seckill_relay_published_total) - published))" 5
wait_for 3 'test "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act AND send_count = 1")" = 5'
is "each counted as sent exactly once" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act AND send_count = 1")" 5
refs=$(cat "$out"/r* | jq -r 'select(.status == "queued") | .order_ref' | sort | tr '\n' ' ')
is "order_ref is the outbox id" "$(sql "SELECT id FROM outbox WHERE activity_id = $act ORDER BY id" | tr '\n' ' ')" "$refs"

winner=$(grep -l queued "$out"/r* | head -1); winner=${winner##*/r}
loser=$(grep -l sold_out "$out"/r* | head -1); loser=${loser##*/r}
read -r wtoken wpath <"$out/p$winner"
read -r ltoken lpath <"$out/p$loser"
http POST "/api/activities/$act/seckill/$wpath" -H "Authorization: Bearer $wtoken"
is "a winner trying again is told duplicate" "$(json .status)" duplicate
http POST "/api/activities/$act/seckill/$lpath" -H "Authorization: Bearer $ltoken"
is "a loser trying again is told sold out" "$(json .status)" sold_out
# Every other buyer three times more (within the limit of 5 a minute), over all the workers,
# whose flags hold the holders from one reply: winners duplicate, never sold out; losers sold
# out.
answers=""
for r in "$out"/r*; do
	i=${r##*/r}
	[ "$i" = "$winner" ] || [ "$i" = "$loser" ] && continue
	read -r tok path <"$out/p$i"
	want=$(jq -r 'if .status == "queued" then "duplicate" else "sold_out" end' "$r")
	for k in 1 2 3; do
		got=$(curl -s -X POST -H "Authorization: Bearer $tok" "$BASE/api/activities/$act/seckill/$path" |
			jq -r .status)
		[ "$got" = "$want" ] || answers="$answers $i:$got"
	done
done
is "every winner again: duplicate; every loser: sold out" "${answers:-all right}" "all right"
http GET "/api/activities/$act/result" -H "Authorization: Bearer $wtoken"
like "the winner's result is queued or created" "$(json .status)" '^(queued|created)$'
http GET "/api/activities/$act/result" -H "Authorization: Bearer $ltoken"
is "the loser's result is none" "$(json .status)" none
http GET /metrics
like "sold-out answers come from the worker flag" "$BODY" 'seckill_outcome_sold_out_local_total [1-9]'

# A unit comes back (the winner's order is cancelled unpaid): the flag reopens within a second.
wuid=$(sed -n "${winner}p" "$out/users" | cut -f1)
for i in $(seq 1 50); do
	[ "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $act")" = 5 ] && break
	sleep 0.2
done
is "the consumer created the 5 orders" "$(sql "SELECT COUNT(*) FROM orders WHERE activity_id = $act")" 5
sql "UPDATE orders SET created_at = UTC_TIMESTAMP(3) - INTERVAL 20 SECOND,
	pay_deadline = UTC_TIMESTAMP(3) - INTERVAL 10 SECOND WHERE activity_id = $act AND user_id = $wuid"
"$SECKILL_BUILDDIR/jobs/seckill-timeout" --sweep 2>/dev/null
is "the overdue order is cancelled" "$(sql "SELECT status FROM orders WHERE activity_id = $act AND user_id = $wuid")" cancelled
sleep 1.2
got=""
for try in 1 2 3 4 5 6; do
	p=$(path_for "$ltoken")
	http POST "/api/activities/$act/seckill/$p" -H "Authorization: Bearer $ltoken"
	got=$(json .status)
	[ "$got" = queued ] && break
	sleep 0.3
done
is "after a unit came back, a loser buys it" "$got" queued
is "stock is 0 again" "$(rcli GET "sk:{a$act}:stock")" 0

# Captcha rules.
read -r _ tok3 <<<"$(sed -n 3p "$out/users" | cut -f1,3 | tr '\t' ' ')"
act2=$("$ADMIN" activity create --title 'Captcha checks' --stock 100 --price-cents 100 --starts-in -1 --duration 600)
c=($(captcha_for "$tok3"))
http GET "/captcha/${c[0]}.png"
is "the captcha image is 200" "$STATUS" 200
is "the captcha image is a PNG" "$(header content-type)" image/png
is "the captcha image starts like a PNG" "$(head -c 8 "$HTTP_TMP/body" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
http GET /captcha/0123456789abcdef0123456789abcdef.png
is "an unknown captcha image is 404" "$STATUS" 404
http GET /captcha/nothex.png
is "a malformed captcha id is 404" "$STATUS" 404
http POST "/api/activities/$act2/path" -H "Authorization: Bearer $tok3" -H "$J" \
	--data "{\"captcha_id\":\"${c[0]}\",\"captcha_answer\":\"WRONG\"}"
is "a wrong captcha answer is 403" "$STATUS" 403
is "403 code bad_captcha" "$(json .error)" bad_captcha
http POST "/api/activities/$act2/path" -H "Authorization: Bearer $tok3" -H "$J" \
	--data "{\"captcha_id\":\"${c[0]}\",\"captcha_answer\":\"${c[1]}\"}"
is "a captcha is used up by any attempt" "$STATUS" 403
c=($(captcha_for "$tok3"))
lower=$(printf '%s' "${c[1]}" | tr 'A-Z' 'a-z')
http POST "/api/activities/$act2/path" -H "Authorization: Bearer $tok3" -H "$J" \
	--data "{\"captcha_id\":\"${c[0]}\",\"captcha_answer\":\"$lower\"}"
is "the answer is case-insensitive" "$STATUS" 200
like "the path is an opaque token" "$(json .path)" '^[0-9a-f]{32}$'
is "the path says how long it lasts" "$(json .expires_in)" 60
p3=$(json .path)
c=($(captcha_for "$tok3"))
rcli PEXPIRE "captcha:${c[0]}" 1 >/dev/null; sleep 0.05
http POST "/api/activities/$act2/path" -H "Authorization: Bearer $tok3" -H "$J" \
	--data "{\"captcha_id\":\"${c[0]}\",\"captcha_answer\":\"${c[1]}\"}"
is "an expired captcha is 403" "$STATUS" 403
http POST "/api/activities/$act2/path" -H "Authorization: Bearer $tok3" -H "$J" --data '{}'
is "a path request without a captcha is 400" "$STATUS" 400

# Paths: bound to user and activity.
read -r _ tok4 <<<"$(sed -n 4p "$out/users" | cut -f1,3 | tr '\t' ' ')"
http POST "/api/activities/$act2/seckill/$p3" -H "Authorization: Bearer $tok4"
is "another user's path is 403" "$STATUS" 403
is "403 code bad_path" "$(json .error)" bad_path
http POST "/api/activities/$act2/seckill/0123456789abcdef0123456789abcdef" -H "Authorization: Bearer $tok3"
is "a made-up path is 403" "$STATUS" 403
http POST "/api/activities/$act2/seckill/direct" -H "Authorization: Bearer $tok3"
is "'direct' is refused while hidden paths are on" "$STATUS" 403
http POST "/api/activities/$act/seckill/$p3" -H "Authorization: Bearer $tok3"
is "a path for another activity is 403" "$STATUS" 403
http POST "/api/activities/$act2/seckill/$p3" -H "Authorization: Bearer $tok3"
is "the right path buys" "$(json .status)" queued
rcli SET "sk:{a$act2}:path:$(sed -n 4p "$out/users" | cut -f1)" x EX 1 >/dev/null
c=($(captcha_for "$tok4"))
p4=$(curl -s -X POST -H "Authorization: Bearer $tok4" -H "$J" \
	--data "{\"captcha_id\":\"${c[0]}\",\"captcha_answer\":\"${c[1]}\"}" "$BASE/api/activities/$act2/path" | jq -r .path)
rcli PEXPIRE "sk:{a$act2}:path:$(sed -n 4p "$out/users" | cut -f1)" 1 >/dev/null; sleep 0.05
http POST "/api/activities/$act2/seckill/$p4" -H "Authorization: Bearer $tok4"
is "an expired path is 403" "$STATUS" 403

# Not active yet / any more.
act3=$("$ADMIN" activity create --title 'Later' --stock 10 --price-cents 100 --starts-in 3600 --duration 600)
c=($(captcha_for "$tok3"))
http POST "/api/activities/$act3/path" -H "Authorization: Bearer $tok3" -H "$J" \
	--data "{\"captcha_id\":\"${c[0]}\",\"captcha_answer\":\"${c[1]}\"}"
is "a path before the start is 409" "$STATUS" 409
is "409 code not_active" "$(json .error)" not_active
http POST "/api/activities/$act3/seckill/0123456789abcdef0123456789abcdef" -H "Authorization: Bearer $tok3"
is "buying before the start is 409" "$STATUS" 409
http POST "/api/activities/4/seckill/0123456789abcdef0123456789abcdef" -H "Authorization: Bearer $tok3"
is "buying after the end is 409" "$STATUS" 409
http POST "/api/activities/99999/seckill/0123456789abcdef0123456789abcdef" -H "Authorization: Bearer $tok3"
is "buying an unknown activity is 404" "$STATUS" 404

# Authentication and CSRF.
http POST "/api/activities/$act2/path" -H "$J" --data '{}'
is "a path without a session is 401" "$STATUS" 401
http POST "/api/activities/$act2/seckill/$p3"
is "buying without a session is 401" "$STATUS" 401
http GET "/api/activities/$act2/result"
is "result without a session is 401" "$STATUS" 401
jar=$HTTP_TMP/jar.seckill
curl -s -c "$jar" -H "$J" --data '{"username":"alice","password":"alice-demo-pass"}' "$BASE/api/login" >/dev/null
http POST "/api/activities/$act2/seckill/$p3" -b "$jar"
is "a cookie session without the CSRF header is 403" "$STATUS" 403
is "403 code csrf" "$(json .error)" csrf
http POST /api/captcha -b "$jar" -H "X-CSRF-Token: $(awk '$6 == "csrf" { print $7 }' "$jar")"
is "a browser session gets a captcha" "$STATUS" 200

# Limits: 5 buy attempts per user and minute, then 429 with Retry-After.
read -r _ tok5 <<<"$(sed -n 5p "$out/users" | cut -f1,3 | tr '\t' ' ')"
for i in 1 2 3 4 5; do
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $tok5" "$BASE/api/activities/$act2/seckill/0123456789abcdef0123456789abcdef"
done
http POST "/api/activities/$act2/seckill/0123456789abcdef0123456789abcdef" -H "Authorization: Bearer $tok5"
is "the 6th buy attempt in a minute is 429" "$STATUS" 429
like "429 carries Retry-After" "$(header retry-after)" '^[0-9]+$'
# nginx's per-IP limit on the API: a burst far above it gets 429s, in JSON. lighttpd cannot
# limit request rates (mod_evasive is gone since 1.4.68): there the whole burst must reach the
# pool and be answered.
curl -s -Z --parallel-max 32 -w '\n%{http_code}\n' "$BASE/api/activities/1?n=[1-1200]" >"$out/burst" 2>/dev/null
if [ "${SECKILL_FRONT:-nginx}" = lighttpd ]; then
	skip "a burst over the per-IP limit meets 429" "lighttpd 1.4.69 has no per-IP request rate limit"
	is "the whole burst is answered 200 without a rate limit" "$(grep -c '^200$' "$out/burst")" 1200
else
	like "a burst over the per-IP limit meets 429" "$(grep -c '^429$' "$out/burst")" '^[1-9][0-9]*$'
fi
is "the burst saw no 5xx" "$(grep -c '^5[0-9][0-9]$' "$out/burst")" 0
if [ "${SECKILL_FRONT:-nginx}" = lighttpd ]; then
	skip "nginx's 429 is JSON" "lighttpd answers no 429 of its own"
else
	like "nginx's 429 is JSON" "$(cat "$out/burst")" '"error":"rate_limited"'
	sleep 1.5
fi

# Escaping: the title with HTML and SQL metacharacters is stored as is, shown escaped.
http GET "/activity/$act"
is "the product page is 200" "$STATUS" 200
like "the product page escapes the title" "$BODY" 'Rush &lt;test&gt; &amp; &quot;five&quot;'
unlike "the product page never shows it raw" "$BODY" '<test>'
is "the product page may be kept a second" "$(header cache-control)" "public, max-age=1"
http GET "/activity/$act"
if [ "${SECKILL_FRONT:-nginx}" = lighttpd ]; then
	skip "a refresh comes from nginx's microcache" "lighttpd 1.4 has no response cache"
else
	is "a refresh comes from nginx's microcache" "$(header x-cache)" HIT
fi
http GET /
like "the home page escapes the title" "$BODY" 'Rush &lt;test&gt; &amp; &quot;five&quot;'
sqlt=$("$ADMIN" activity create --title "x'); DROP TABLE activities; -- <i>" --stock 1 --price-cents 1 --starts-in -1 --duration 60)
is "SQL metacharacters in a title are stored as they are" "$(sql "SELECT title FROM activities WHERE id = $sqlt")" "x'); DROP TABLE activities; -- <i>"
http GET "/api/activities/$sqlt"
is "the API returns the title unchanged" "$(json .activity.title)" "x'); DROP TABLE activities; -- <i>"

# Redis loses the activity (restarted empty): the next buy rebuilds stock and buyers from MySQL.
act4=$("$ADMIN" activity create --title 'Rebuild' --stock 3 --price-cents 100 --starts-in -1 --duration 600)
read -r _ tok6 <<<"$(sed -n 6p "$out/users" | cut -f1,3 | tr '\t' ' ')"
read -r _ tok7 <<<"$(sed -n 7p "$out/users" | cut -f1,3 | tr '\t' ' ')"
p6=$(path_for "$tok6" "$act4")
http POST "/api/activities/$act4/seckill/$p6" -H "Authorization: Bearer $tok6"
is "a buy on a sale never warmed warms it on demand" "$(json .status)" queued
rcli DEL "sk:{a$act4}:stock" "sk:{a$act4}:buyers" >/dev/null
p6=$(path_for "$tok6" "$act4")
http POST "/api/activities/$act4/seckill/$p6" -H "Authorization: Bearer $tok6"
is "after Redis lost it, the winner is still known (from MySQL)" "$(json .status)" duplicate
is "the rebuilt stock counts the unit already sold" "$(rcli GET "sk:{a$act4}:stock")" 2

# MySQL refuses the winner's outbox row: the unit goes back to Redis, the buyer hears 503.
p7=$(path_for "$tok7" "$act4")
sql "CREATE TRIGGER test_outbox_refuse BEFORE INSERT ON outbox FOR EACH ROW
	SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'"
http POST "/api/activities/$act4/seckill/$p7" -H "Authorization: Bearer $tok7"
sql "DROP TRIGGER test_outbox_refuse"
is "a winner that cannot be recorded gets 503" "$STATUS" 503
is "503 code unavailable" "$(json .error)" unavailable
is "the unit went back to Redis" "$(rcli GET "sk:{a$act4}:stock")" 2
is "the buyer holds nothing" "$(rcli HEXISTS "sk:{a$act4}:buyers" "$(sed -n 7p "$out/users" | cut -f1)")" 0
p7=$(path_for "$tok7" "$act4")
http POST "/api/activities/$act4/seckill/$p7" -H "Authorization: Bearer $tok7"
is "once MySQL takes it again the same buyer wins" "$(json .status)" queued
is "outbox rows match the units sold" "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $act4")" 2

http GET /healthz
is "healthz is still 200 after the sale" "$STATUS $BODY" "200 {\"redis\":\"ok\",\"mysql\":\"ok\",\"amqp\":\"ok\"}"

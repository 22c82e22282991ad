# Buyers for the sale tests (sourced after tap.sh, http.sh and stack.sh). Needs $out (a folder
# of the test's own). user N FIELD: field 1 (id) or 3 (token) of the Nth generated user.
J='Content-Type: application/json'
user() { sed -n "$1p" "$out/users" | cut -f"$2"; }
# buy_path N ACTIVITY: a captcha solved and a path asked for; prints the path
buy_path() {
	local tok c
	tok=$(user "$1" 3)
	c=$(curl -s -X POST -H "Authorization: Bearer $tok" "$BASE/api/captcha" | jq -r .captcha_id)
	curl -s -X POST -H "Authorization: Bearer $tok" -H "$J" \
		--data "{\"captcha_id\":\"$c\",\"captcha_answer\":\"$(rcli GET "captcha:$c")\"}" \
		"$BASE/api/activities/$2/path" | jq -r .path
}
# buy_fire N ACTIVITY PATH [TIMEFILE]: the buy itself; prints its status ("queued", "sold_out",
# "duplicate", "unconfirmed") or the error code ("unavailable"); with TIMEFILE, writes there
# how long it took, in seconds
buy_fire() {
	local res
	res=$(curl -s -X POST -H "Authorization: Bearer $(user "$1" 3)" -w '\n%{time_total}' \
		--max-time 30 "$BASE/api/activities/$2/seckill/$3")
	[ -n "${4:-}" ] && printf '%s\n' "${res##*$'\n'}" >"$4"
	printf '%s\n' "${res%$'\n'*}" | jq -r '.status // .error'
}
# buy N ACTIVITY [TIMEFILE]: both
buy() { buy_fire "$1" "$2" "$(buy_path "$1" "$2")" "${3:-}"; }
# sale TITLE STOCK: a new sale, open for ten minutes at 1.00; prints its id
sale() { "$ADMIN" activity create --title "$1" --stock "$2" --price-cents 100 --starts-in -1 --duration 600; }
result() { curl -s -H "Authorization: Bearer $(user "$1" 3)" "$BASE/api/activities/$2/result" | jq -r "${3:-.status}"; }
quiet() {	# quiet ACTIVITY: no outbox row in flight
	[ "$(sql "SELECT COUNT(*) FROM outbox WHERE activity_id = $1 AND status IN ('pending', 'sent')")" = 0 ]
}
invariants() {	# invariants ACTIVITY LABEL
	wait_for 20 "quiet $1"
	ok "$2: every queued buyer is resolved" quiet "$1"
	is "$2: no user holds two live orders" "$(sql "SELECT COUNT(*) FROM (SELECT user_id FROM orders
		WHERE activity_id = $1 AND status <> 'cancelled' GROUP BY user_id HAVING COUNT(*) > 1) d")" 0
	local rec; rec=$("$ADMIN" reconcile "$1" 2>&1)
	is "$2: reconcile exits 0" "$?" 0
	like "$2: reconcile says ok" "$rec" ': ok'
}

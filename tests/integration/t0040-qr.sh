# QR login: the PC asks for a code, a logged-in phone scans and confirms, the PC gets a session
# once. Every other move is refused.
out=$HTTP_TMP/qr
mkdir -p "$out"
"$ADMIN" users gen --count 2 --prefix qrphone_ --out "$out/users" 2>/dev/null
phone1=$(sed -n 1p "$out/users" | cut -f3)
phone2=$(sed -n 2p "$out/users" | cut -f3)
pcjar=$out/pc.jar
interval=$(fcgi_conf qr.interval)

new_code() {	# new_code JAR: a fresh code for that browser; sets QR (id) and QRURL
	http POST /api/qr -c "$1" -A 'Mozilla/5.0 (PC test) <script>alert(1)</script>'
	QR=$(json .qr_id) QRURL=$(json .qr_url)
}
poll() { sleep "$interval"; http GET "/api/qr/$QR/status" -b "$1" -c "$1"; }

new_code "$pcjar"
is "POST /api/qr is 200" "$STATUS" 200
like "the QR id has 128 bits" "$QR" '^[0-9a-f]{32}$'
is "qr_url points at the phone page" "$QRURL" "$SECKILL_APP_PUBLIC_URL/m/qr/$QR"
is "the image path" "$(json .image)" "/qr/$QR.png"
is "expires_in is qr.ttl" "$(json .expires_in)" "$(fcgi_conf qr.ttl)"
is "interval is qr.interval" "$(json .interval)" "$interval"
like "the poll secret is an HttpOnly, Strict cookie" "$(printf '%s\n' "$HEADERS" | grep -i '^set-cookie: qrs=')" 'HttpOnly.*SameSite=Strict'
http GET "/qr/$QR.png"
is "the QR image is a PNG" "$(header content-type)" image/png
cp "$HTTP_TMP/body" "$out/code.png"
is "the image decodes to qr_url" "$(zbarimg --raw -q "$out/code.png" 2>/dev/null)" "$QRURL"
http GET /qr/0123456789abcdef0123456789abcdef.png
is "an unknown code's image is 404" "$STATUS" 404

poll "$pcjar"
is "a fresh code is pending" "$(json .status)" pending
http GET "/api/qr/$QR/status" -b "$pcjar"
is "polling faster than the interval is 429" "$STATUS" 429
is "429 code slow_down" "$(json .error)" slow_down
sleep "$interval"
http GET "/api/qr/$QR/status"
is "another browser (no secret) polling is 403" "$STATUS" 403
http GET "/api/qr/$QR/status" -H 'Cookie: qrs=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
is "a wrong secret is 403" "$STATUS" 403
http GET /api/qr/0123456789abcdef0123456789abcdef/status -b "$pcjar"
is "an unknown code is 404" "$STATUS" 404

http POST "/api/mobile/qr/$QR/confirm" -H "Authorization: Bearer $phone1"
is "confirm before scan is 409" "$STATUS" 409
is "409 code bad_state" "$(json .error)" bad_state
http POST "/api/mobile/qr/$QR/scan"
is "scanning without a token is 401" "$STATUS" 401
http POST "/api/mobile/qr/$QR/scan" -H "Authorization: Bearer ${phone1}x"
is "scanning with a bad token is 401" "$STATUS" 401
http POST "/api/mobile/qr/0123456789abcdef0123456789abcdef/scan" -H "Authorization: Bearer $phone1"
is "scanning an unknown code is 404" "$STATUS" 404

http POST "/api/mobile/qr/$QR/scan" -H "Authorization: Bearer $phone1"
is "the phone scans" "$(json .status)" scanned
is "the phone sees the PC's IP" "$(json .pc.ip)" 127.0.0.1
is "the phone sees the PC's browser" "$(json .pc.user_agent)" 'Mozilla/5.0 (PC test) <script>alert(1)</script>'
like "the phone sees when it was asked" "$(json .pc.created_at)" '^[0-9]{13}$'
http POST "/api/mobile/qr/$QR/scan" -H "Authorization: Bearer $phone2"
is "a second scan is 409" "$STATUS" 409
poll "$pcjar"
is "the PC sees scanned" "$(json .status)" scanned
is "the PC sees who scanned" "$(json .user.username)" qrphone_1
http POST "/api/mobile/qr/$QR/confirm" -H "Authorization: Bearer $phone2"
is "a second phone cannot confirm" "$STATUS" 403
http POST "/api/mobile/qr/$QR/confirm" -H "Authorization: Bearer $phone1"
is "the scanning phone confirms" "$(json .status)" confirmed
http POST "/api/mobile/qr/$QR/deny" -H "Authorization: Bearer $phone1"
is "no move after confirmed but consumption" "$STATUS" 409
poll "$pcjar"
is "the PC sees confirmed" "$(json .status)" confirmed
is "with the user" "$(json .user.username)" qrphone_1
like "and gets a session cookie" "$(printf '%s\n' "$HEADERS" | grep -i '^set-cookie: sid=')" 'HttpOnly'
http GET /api/me -b "$pcjar"
is "the PC is logged in" "$(json .user.username)" qrphone_1
poll "$pcjar"
is "the session is delivered once: then 410" "$STATUS" 410
is "410 code consumed" "$(json .error)" consumed
is "every step is in the audit table" \
	"$(sql "SELECT CONCAT(state, ' ', scanned_at IS NOT NULL, decided_at IS NOT NULL, consumed_at IS NOT NULL, ' ', session_hash IS NOT NULL) FROM qr_logins ORDER BY id DESC LIMIT 1")" "consumed 111 1"
is "the audit keeps no raw QR id" "$(sql "SELECT COUNT(*) FROM qr_logins WHERE qr_id_hash = '$QR'")" 0

# Deny: the PC is told, and gets no session.
jar2=$out/pc2.jar
new_code "$jar2"
http POST "/api/mobile/qr/$QR/scan" -H "Authorization: Bearer $phone2"
http POST "/api/mobile/qr/$QR/deny" -H "Authorization: Bearer $phone2"
is "the phone denies" "$(json .status)" denied
poll "$jar2"
is "the PC sees denied" "$(json .status)" denied
unlike "and no session" "$HEADERS" 'set-cookie: sid='
http POST "/api/mobile/qr/$QR/confirm" -H "Authorization: Bearer $phone2"
is "denied is final" "$STATUS" 409

# Expiry.
jar3=$out/pc3.jar
new_code "$jar3"
rcli HSET "qr:$QR" expires_ms "$(( $(date +%s%3N) - 1 ))" >/dev/null
poll "$jar3"
is "a code past its lifetime is expired" "$(json .status)" expired
http POST "/api/mobile/qr/$QR/scan" -H "Authorization: Bearer $phone1"
is "scanning an expired code is 410" "$STATUS" 410
is "410 code expired" "$(json .error)" expired

# The phone's page escapes what the PC sent (the attacker picks the user agent).
jar4=$out/pc4.jar
new_code "$jar4"
http GET "/m/qr/$QR"
is "the phone page needs a login" "$STATUS" 303
pjar=$out/phone.jar
curl -s -c "$pjar" -H 'Content-Type: application/json' --data '{"username":"bob","password":"bob-demo-pass"}' "$BASE/api/login" >/dev/null
http GET "/m/qr/$QR" -b "$pjar"
is "the phone page is 200 for a logged-in phone browser" "$STATUS" 200
unlike "the phone page never shows the user agent raw" "$BODY" '<script>alert'
http POST "/api/mobile/qr/$QR/scan" -b "$pjar"
is "a phone browser needs the CSRF token to scan" "$STATUS" 403
http POST "/api/mobile/qr/$QR/scan" -b "$pjar" -H "X-CSRF-Token: $(awk '$6 == "csrf" { print $7 }' "$pjar")"
is "a phone browser scans with it" "$(json .status)" scanned

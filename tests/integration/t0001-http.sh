# The HTTP basics through the front (nginx or lighttpd, $SECKILL_FRONT): health, the home page,
# static files, errors, headers, metrics.
FRONT=${SECKILL_FRONT:-nginx}

http GET /healthz
is "GET /healthz is 200" "$STATUS" 200
is "healthz: redis ok" "$(json .redis)" ok
is "healthz: mysql ok" "$(json .mysql)" ok
is "healthz: amqp ok" "$(json .amqp)" ok
like "healthz is JSON" "$(header content-type)" '^application/json; charset=utf-8$'

http GET /
is "GET / is 200" "$STATUS" 200
like "home is HTML" "$(header content-type)" '^text/html; charset=utf-8$'
like "home lists the seeded activities (UTF-8 title)" "$BODY" '限量版机械键盘'
like "home escapes HTML in titles" "$BODY" 'Headphones &lt;Pro&gt; &amp; &quot;Max&quot;'
unlike "home never shows a title's raw HTML" "$BODY" '<Pro>'
like "home links to the product page" "$BODY" 'href="/activity/1"'
like "home uses the stylesheet" "$BODY" '/static/css/seckill.css'
like "CSP forbids inline script" "$(header content-security-policy)" "script-src 'self'"
like "CSP forbids framing" "$(header content-security-policy)" "frame-ancestors 'none'"
is "X-Content-Type-Options" "$(header x-content-type-options)" nosniff
is "X-Frame-Options" "$(header x-frame-options)" DENY
is "the home page may be kept a second (microcache)" "$(header cache-control)" "public, max-age=1"
http GET /no-such-page
is "personal or error pages are not cached" "$(header cache-control)" no-store
unlike "no inline script on the home page" "$BODY" '<script>|<script [^>]*>[^<]|onclick=|style="'

http HEAD /
is "HEAD / is 200" "$STATUS" 200
# The raw answer to HEAD: headers, then nothing.
raw=$(exec 3<>"/dev/tcp/127.0.0.1/${BASE##*:}"; printf 'HEAD / HTTP/1.0\r\nHost: x\r\n\r\n' >&3; timeout 5 cat <&3)
like "HEAD / answers with headers" "$raw" 'Content-Length: [1-9]'
unlike "HEAD / sends no body" "$raw" '<html|<!doctype'

http GET /static/css/seckill.css
is "static CSS is served" "$STATUS" 200
like "static CSS has its type" "$(header content-type)" '^text/css'
is "static files may be kept an hour" "$(header cache-control)" "max-age=3600"
http GET /static/js/seckill.js
is "static JS is served" "$STATUS" 200
http GET /static/nope.css
is "a missing static file is 404" "$STATUS" 404

http GET /api/activities
is "GET /api/activities is 200" "$STATUS" 200
like "activities carry server_time" "$(json .server_time)" '^[0-9]{13}$'
is "the four seeded activities" "$(json '.activities | length')" 4
is "an activity has the API fields" "$(json '.activities[0] | keys | sort | join(",")')" \
	"description,ends_at,id,price_cents,starts_at,status,stock_left,stock_total,title"
is "status of the open sale" "$(json '.activities[] | select(.id == 1) | .status')" active
is "status of the next sale" "$(json '.activities[] | select(.id == 2) | .status')" upcoming
is "unlimited stock is -1" "$(json '.activities[] | select(.id == 3) | .stock_total')" -1
http GET /api/activities/4
is "GET /api/activities/4 is 200" "$STATUS" 200
is "the past sale has ended" "$(json .activity.status)" ended
is "times are epoch milliseconds" "$(json '.activity.starts_at | tostring | length')" 13

# Not found: JSON under /api/, a page elsewhere.
http GET /no/such/page
is "unknown page is 404" "$STATUS" 404
like "404 page is HTML" "$(header content-type)" '^text/html'
like "404 page says so" "$BODY" 'Page not found'
like "404 page has the layout" "$BODY" 'seckill.css'
http GET /api/nope
is "unknown API path is 404" "$STATUS" 404
is "404 JSON error code" "$(json .error)" not_found
like "404 JSON has a message" "$(json .message)" '.'
http GET /api/activities/999999
is "unknown activity is 404" "$STATUS" 404
is "unknown activity: not_found" "$(json .error)" not_found
for bad in abc 0 -1 1e3 99999999999999999999 '1%20' '%31'; do
	http GET "/api/activities/$bad"
	if [ "$bad" = '%31' ]; then
		is "activity id '%31' decodes to 1" "$STATUS" 200
	else
		is "malformed activity id '$bad' is 404" "$STATUS" 404
	fi
done

# Wrong method: 405 with Allow.
http POST /api/activities -H 'Content-Type: application/json' --data '{}'
is "POST on a GET API is 405" "$STATUS" 405
is "405 JSON error code" "$(json .error)" method_not_allowed
is "405 names the allowed methods" "$(header allow)" "GET, HEAD"
http DELETE /
is "DELETE / is 405" "$STATUS" 405
like "405 page is HTML" "$(header content-type)" '^text/html'

# A POST without a body and without Content-Length (bare curl -X POST): nginx passes it on;
# lighttpd requires a Content-Length on every POST and answers 411 itself, in JSON.
raw=$(exec 3<>"/dev/tcp/127.0.0.1/${BASE##*:}"
	printf 'POST /api/logout HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; timeout 5 cat <&3)
if [ "$FRONT" = lighttpd ]; then
	like "a POST without Content-Length is 411 under lighttpd" "$raw" '^HTTP/1\.1 411 '
	like "lighttpd's 411 is JSON" "$raw" '"error":"length_required"'
else
	like "a POST without Content-Length reaches the app (401)" "$raw" '^HTTP/1\.1 401 '
fi

# Bad input: 400, never 500.
http GET '/api/activities/%zz'
is "bad escape in the path is 400" "$STATUS" 400
is "bad escape: bad_request" "$(json .error)" bad_request
http GET '/api/activities?x=%zz'
is "bad escape in the query is 400" "$STATUS" 400
http GET '/api/activities/%00'
is "NUL in the path is 400" "$STATUS" 400
http GET '/api/activities?x=%C3%28'
is "invalid UTF-8 in the query is 400" "$STATUS" 400
http GET '/?q=%ff'
is "invalid UTF-8 on a page is 400" "$STATUS" 400
like "400 page is HTML" "$(header content-type)" '^text/html'
http POST /api/activities -H 'Content-Type: application/json' --data '{"a":'
is "broken JSON body is 400" "$STATUS" 400
http POST /api/activities -H 'Content-Type: application/json' --data '[1,2]'
is "a JSON array body is 400" "$STATUS" 400
http POST /api/activities -H 'Content-Type: application/x-www-form-urlencoded' --data 'a=%G1'
is "bad escape in a form body is 400" "$STATUS" 400
http POST /api/activities -H 'Content-Type: text/xml' --data '<a/>'
is "an unsupported body type is 415" "$STATUS" 415

# Too large: the app's limit (http.max_body) and the front's (nginx client_max_body_size,
# lighttpd server.max-request-size: 1 MB), both JSON.
head -c 20000 /dev/zero | tr '\0' a >"$HTTP_TMP/big"
http POST /api/activities -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary "@$HTTP_TMP/big"
is "a body over http.max_body is 413" "$STATUS" 413
is "413 JSON error code" "$(json .error)" too_large
head -c 2000000 /dev/zero | tr '\0' a >"$HTTP_TMP/huge"
http POST /api/activities -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary "@$HTTP_TMP/huge"
is "a 2 MB body is 413" "$STATUS" 413
is "$FRONT's 413 is JSON too" "$(json .error)" too_large

# A long query string and many parameters do no harm.
q=$(for i in $(seq 1 300); do printf 'k%d=v&' "$i"; done)
http GET "/api/activities?$q"
is "too many query parameters is 400" "$STATUS" 400

# After all of that, the pool is whole and healthy.
http GET /healthz
is "healthz still 200 after bad requests" "$STATUS" 200
if grep -Eq 'AddressSanitizer|runtime error|Segmentation|core dumped' "$SECKILL_RUN_DIR"/log/fcgi.log; then
	fail "no worker crashed"
	diag "$(grep -E 'AddressSanitizer|runtime error|Segmentation' "$SECKILL_RUN_DIR"/log/fcgi.log | head -3)"
else
	pass "no worker crashed"
fi

# /metrics counts for the whole pool: 24 requests spread over the workers all show up.
http GET /metrics
before=$(printf '%s\n' "$BODY" | sed -n 's/^seckill_http_requests_total{route="\/healthz",status="200"} //p')
for i in $(seq 1 24); do curl -s -o /dev/null "$BASE/healthz"; done
http GET /metrics
after=$(printf '%s\n' "$BODY" | sed -n 's/^seckill_http_requests_total{route="\/healthz",status="200"} //p')
is "metrics count requests across the pool" "$((after - ${before:-0}))" 24
like "metrics is Prometheus text" "$(header content-type)" '^text/plain; version=0.0.4'
like "metrics has TYPE lines" "$BODY" '# TYPE seckill_http_requests_total counter'
like "metrics counts 404s by route" "$BODY" 'seckill_http_requests_total\{route="unmatched",status="404"\} [0-9]+'
like "metrics say they are pool-wide" "$BODY" 'seckill_metrics_shared 1'

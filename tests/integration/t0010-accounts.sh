# Accounts: register, login (cookie + CSRF), me, logout, mobile login (Bearer), limits, storage.
J='Content-Type: application/json'
jar=$HTTP_TMP/jar.accounts
rm -f "$jar"

http POST /api/register -H "$J" --data '{"username":"carol_t","password":"carol-pass-1"}'
is "register answers 201" "$STATUS" 201
is "register returns the username" "$(json .user.username)" carol_t
like "register returns an id" "$(json .user.id)" '^[0-9]+$'
http POST /api/register --data 'username=carol_t&password=another-pass'
is "a taken username is 409 (form body)" "$STATUS" 409
is "409 code username_taken" "$(json .error)" username_taken
http POST /api/register -H "$J" --data '{"username":"CAROL_T","password":"another-pass"}'
is "usernames differ not only by case" "$STATUS" 409
for bad in ab "$(printf 'x%.0s' $(seq 1 33))" 'bad name' '<b>x</b>' "a'; DROP TABLE users; --" 'ü_ber'; do
	http POST /api/register -H "$J" --data "$(jq -nc --arg u "$bad" '{username:$u,password:"long-enough-1"}')"
	is "register refuses username '$bad'" "$STATUS" 400
done
http POST /api/register -H "$J" --data '{"username":"dave_t","password":"short"}'
is "a short password is 400" "$STATUS" 400
like "the message says why" "$(json .message)" 'at least 8'
http POST /api/register -H "$J" --data '{"username":"dave_t"}'
is "a missing password is 400" "$STATUS" 400
is "users table survived SQL metacharacters" "$(sql 'SELECT COUNT(*) > 0 FROM users')" 1

hash=$(sql "SELECT password_hash FROM users WHERE username = 'carol_t'")
like "passwords are stored as argon2id hashes" "$hash" '^\$argon2id\$'
unlike "the password itself is not stored" "$hash" 'carol-pass-1'

http POST /api/login -H "$J" --data '{"username":"carol_t","password":"wrong-pass-1"}'
is "a wrong password is 401" "$STATUS" 401
is "401 code bad_credentials" "$(json .error)" bad_credentials
http POST /api/login -H "$J" --data '{"username":"nobody_here","password":"whatever-1"}'
is "an unknown user is 401 too" "$STATUS" 401
http POST /api/login -H "$J" --data "{\"username\":\"' OR '1'='1\",\"password\":\"' OR '1'='1\"}"
is "SQL in the login fields is just a wrong login" "$STATUS" 401

http POST /api/login -H "$J" -c "$jar" --data '{"username":"carol_t","password":"carol-pass-1"}'
is "login is 200" "$STATUS" 200
is "login returns the role" "$(json .user.role)" user
sid_cookie=$(printf '%s\n' "$HEADERS" | grep -i '^set-cookie: sid=')
csrf_cookie=$(printf '%s\n' "$HEADERS" | grep -i '^set-cookie: csrf=')
like "sid is HttpOnly" "$sid_cookie" 'HttpOnly'
like "sid is SameSite=Lax" "$sid_cookie" 'SameSite=Lax'
like "sid has Path=/" "$sid_cookie" 'Path=/'
unlike "csrf is readable by scripts" "$csrf_cookie" 'HttpOnly'
csrf=$(awk '$6 == "csrf" { print $7 }' "$jar")
sid=$(awk '$6 == "sid" || $6 ~ /sid$/ { print $7 }' "$jar" | tail -1)
like "the session token is a signed token (base64url)" "$sid" '^[A-Za-z0-9_-]{90,344}$'
is "sessions keep only a hash of the token" \
	"$(sql "SELECT COUNT(*) FROM sessions WHERE token_hash = '$sid' OR HEX(token_hash) = '$sid'")" 0

http GET /api/me -b "$jar"
is "me with the session is 200" "$STATUS" 200
is "me names the user" "$(json .user.username)" carol_t
is "personal answers are not cached" "$(header cache-control)" no-store
alive=0
for i in $(seq 1 20); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$BASE/api/me")" = 200 ] && alive=$((alive + 1))
done
is "the session works in every worker (20 of 20 tries 200)" "$alive" 20
http GET /api/me
is "me without a session is 401" "$STATUS" 401
is "401 code login_required" "$(json .error)" login_required
http GET /api/me -H 'Cookie: sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
is "a forged session is 401" "$STATUS" 401

http POST /api/logout -b "$jar"
is "logout without the CSRF token is 403" "$STATUS" 403
is "403 code csrf" "$(json .error)" csrf
http POST /api/logout -b "$jar" -H "X-CSRF-Token: wrong$csrf"
is "logout with a wrong CSRF token is 403" "$STATUS" 403
http POST /api/logout -b "$jar" -H "X-CSRF-Token: $csrf"
is "logout with the CSRF header is 200" "$STATUS" 200
like "logout clears the cookie" "$(printf '%s\n' "$HEADERS" | grep -i '^set-cookie: sid=')" 'Max-Age=0'
# A logout writes the token's hash into the revocation set all the pool's workers map: it is
# refused at once, whichever worker answers next.
dead=0
for i in $(seq 1 20); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$BASE/api/me")" = 401 ] && dead=$((dead + 1))
done
is "after logout the session is dead at once, in every worker (20 of 20 tries 401)" "$dead" 20

http POST /api/login -H "$J" -c "$jar" --data '{"username":"carol_t","password":"carol-pass-1"}'
csrf=$(awk '$6 == "csrf" { print $7 }' "$jar")
http POST /api/logout -b "$jar" --data "csrf=$csrf"
is "logout with the csrf form field is 200" "$STATUS" 200

http POST /api/mobile/login -H "$J" --data '{"username":"carol_t","password":"carol-pass-1"}'
is "mobile login without a device is 400" "$STATUS" 400
http POST /api/mobile/login -H "$J" \
	--data '{"username":"carol_t","password":"carol-pass-1","device_id":"phone-1","device_name":"Carol'"'"'s phone"}'
is "mobile login is 200" "$STATUS" 200
token=$(json .token)
like "mobile login returns a signed token" "$token" '^[A-Za-z0-9_-]{90,344}$'
like "mobile login says how long it lasts" "$(json .expires_in)" '^[0-9]+$'
is "mobile login returns the user" "$(json .user.username)" carol_t
http GET /api/me -H "Authorization: Bearer $token"
is "the Bearer token works" "$STATUS" 200
for i in $(seq 1 20); do curl -s -o /dev/null -H "Authorization: Bearer $token" "$BASE/api/me"; done
http POST /api/logout -H "Authorization: Bearer ${token}x"
is "a bad Bearer token is 401" "$STATUS" 401
http POST /api/mobile/login -H "$J" \
	--data '{"username":"carol_t","password":"carol-pass-1","device_id":"phone-1","device_name":"again"}'
token2=$(json .token)
dead=0
for i in $(seq 1 20); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$BASE/api/me")" = 401 ] &&
		dead=$((dead + 1))
done
is "a new login on the same device ends the old token at once (20 of 20 tries 401)" "$dead" 20
http POST /api/logout -H "Authorization: Bearer $token2"
is "Bearer logout needs no CSRF token" "$STATUS" 200

# Guessing one account's password: after login_per_user failures, 429 even with the right one.
for i in $(seq 1 10); do
	curl -s -o /dev/null -H "$J" --data '{"username":"carol_t","password":"guess-'"$i"'-x"}' "$BASE/api/login"
done
http POST /api/login -H "$J" --data '{"username":"carol_t","password":"carol-pass-1"}'
is "password guessing is stopped with 429" "$STATUS" 429
like "429 says when to retry" "$(header retry-after)" '^[0-9]+$'
is "429 code rate_limited" "$(json .error)" rate_limited

http GET /login
is "the login page is 200" "$STATUS" 200
like "the login page has the form" "$BODY" 'type="password"'
http GET '/login?next=%22%3E%3Cscript%3E'
unlike "the next parameter cannot inject markup" "$BODY" '"><script>'
http GET /register
is "the register page is 200" "$STATUS" 200

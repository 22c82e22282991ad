# Configuration and templates are checked at start: a mistake stops the start with the key or
# the file and line named.
FCGI=$SECKILL_BUILDDIR/fcgi-app/seckill-fcgi
export SECKILL_CONF=$SECKILL_SRCDIR/conf/seckill.conf SECKILL_APP_TEMPLATES=$SECKILL_SRCDIR/templates
tmp=$(mktemp -d)

out=$("$FCGI" --check-config 2>&1); rc=$?
is "the shipped config and templates are valid" "$rc" 0

printf 'http.port = 8080\nhttp.bogus = 1\n' >"$tmp/bad.conf"
out=$("$FCGI" -c "$tmp/bad.conf" --check-config 2>&1); rc=$?
is "an unknown key stops the start" "$rc" 2
like "the unknown key is named with its line" "$out" "bad.conf:2: unknown key 'http.bogus'"

printf 'http.max_body = lots\n' >"$tmp/bad2.conf"
out=$("$FCGI" -c "$tmp/bad2.conf" --check-config 2>&1); rc=$?
is "a bad value stops the start" "$rc" 2
like "the bad value's key is named" "$out" "http.max_body: 'lots' is not an integer"

out=$(SECKILL_ORDER_PAY_TIMEOUT=soon "$FCGI" --check-config 2>&1); rc=$?
is "a bad environment override stops the start" "$rc" 2
like "the variable is named" "$out" 'SECKILL_ORDER_PAY_TIMEOUT'

out=$(SECKILL_ORDER_PAY_TIMEOUT=5 "$FCGI" --dump-config 2>&1)
like "the environment overrides the file" "$out" 'order.pay_timeout = 5'

cp -r "$SECKILL_SRCDIR/templates" "$tmp/templates"
printf '<p>{{> partial}}</p>\n' >>"$tmp/templates/home.html"
out=$(SECKILL_APP_TEMPLATES=$tmp/templates "$FCGI" --check-config 2>&1); rc=$?
is "an unknown template tag stops the start" "$rc" 2
like "the template file and line are named" "$out" 'home.html:[0-9]+: unknown tag'

rm "$tmp/templates/home.html"
out=$(SECKILL_APP_TEMPLATES=$tmp/templates "$FCGI" --check-config 2>&1); rc=$?
is "a missing template stops the start" "$rc" 2
like "the missing template is named" "$out" 'home.html is missing'
rm -rf "$tmp"

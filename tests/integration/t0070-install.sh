# The installed system: `make install DESTDIR=…` with the prefix configure was given; the schema
# made by the installed `seckill-admin migrate` in an empty database; the pool started by the
# command line of the installed systemd unit (spawn-fcgi + multiwatch, run by hand); the installed
# nginx site, its paths moved into the test's folder, included by the least main nginx.conf;
# then what a buyer sees through it. Its own Redis, a database of its own on the stack's MariaDB
# and a vhost of its own on the stack's RabbitMQ: nothing of the stack's data is touched.
if [ "${SECKILL_FRONT:-nginx}" != nginx ]; then
	skip "the installed tree through the installed nginx site" \
		"it brings its own nginx: run once, in the nginx run"
	return 0
fi
J='Content-Type: application/json'
T=$(mktemp -d "$SECKILL_RUN_DIR/install.XXXXXX")
chmod 755 "$T"
D=$T/dest
DB=seckill_inst VHOST=seckill_inst
mkdir -p "$T/log" "$T/redis" "$T/nginx/sites-enabled" "$T/nginx/cache" "$T/nginx/tmp"

# free_port FIRST: FIRST or, when it is taken, a free one further on
free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
# Two ports past the stack's four (HTTP, Redis, MariaDB, AMQP: base … base+3).
HP=$(free_port $((SECKILL_HTTP_PORT + 7)))
RP=$(free_port $((HP + 1)))
msql() { mariadb -S "$SECKILL_RUN_DIR/mysql.sock" -uroot -N -B "$@"; }
POOL_PID=
stop_pid() {	# stop_pid PID: SIGTERM, and up to 10 s for it to go
	local i
	[ -n "$1" ] && kill -TERM "$1" 2>/dev/null || return 0
	for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
}
# What this file started, by pid, and what it made on the stack's servers.
stop_all() {
	stop_pid "$(cat "$T/nginx/nginx.pid" 2>/dev/null)"
	stop_pid "$POOL_PID"
	stop_pid "$(cat "$T/redis.pid" 2>/dev/null)"
	msql -e "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS ${DB}_used;
		DROP USER IF EXISTS 'skinst'@'127.0.0.1'" 2>/dev/null
	rmqctl delete_vhost "$VHOST" >/dev/null 2>&1
}
trap stop_all EXIT

# ---- make install DESTDIR=… ----
prefix=$(sed -n 's/^prefix = //p' "$SECKILL_BUILDDIR/Makefile")
# Run from make check: the outer make's job server is not this make's.
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$SECKILL_BUILDDIR" install DESTDIR="$D") >"$T/log/install.log" 2>&1
rc=$?
is "make install DESTDIR=… succeeds" "$rc" 0
[ "$rc" = 0 ] || diag "$(tail -15 "$T/log/install.log")"
# Where it all went, read from the installed unit (its paths are filled in at make time).
unit=$(cd "$D" 2>/dev/null && find . -path '*/systemd/seckill-fcgi.service' | head -1)
unit=${unit#.}
pkgdata=${unit%/systemd/seckill-fcgi.service}
exec_line=$(sed -n 's/^ExecStart=//p' "$D$unit" 2>/dev/null)
conf_path=$(sed -n 's/^Environment=SECKILL_CONF=//p' "$D$unit" 2>/dev/null)
runtime=/run/$(sed -n 's/^RuntimeDirectory=//p' "$D$unit" 2>/dev/null)
fcgi_bin=${exec_line##* }
bindir=${fcgi_bin%/*}
like "the unit is installed under the configured prefix ($prefix)" "$unit" "^$prefix/.+/systemd/seckill-fcgi.service$"
like "... and starts the installed seckill-fcgi" "$fcgi_bin" "^$prefix/.*/seckill-fcgi$"
missing=
for f in "$bindir"/seckill-{fcgi,admin,consumer,retry,timeout,heal}; do [ -x "$D$f" ] || missing+=" $f"; done
for f in "$pkgdata"/{templates/layout.html,static/css/seckill.css,sql/schema.sql,examples/nginx-site.conf} "$conf_path"; do
	[ -f "$D$f" ] || missing+=" $f"
done
is "binaries, templates, static files, SQL, the site and the configuration are installed" "$missing" ""

# The operator's part: point the installed seckill.conf at the servers (last value wins).
CONF=$D$conf_path
cat >>"$CONF" <<EOF

# t0070: this test's servers and folders
app.public_url = http://127.0.0.1:$HP
app.run_dir = $T$runtime
app.templates = $D$pkgdata/templates
redis.port = $RP
mysql.port = $SECKILL_MYSQL_PORT
mysql.user = skinst
mysql.password = skinst-pass
mysql.database = $DB
amqp.port = $SECKILL_AMQP_PORT
amqp.vhost = $VHOST
EOF
# inst CMD...: as systemd runs the installed programs: no environment but their configuration
INST_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$T" SECKILL_CONF="$CONF")
inst() { "${INST_ENV[@]}" "$@"; }
ADM=$D$bindir/seckill-admin

redis-server --port "$RP" --bind 127.0.0.1 --daemonize yes --pidfile "$T/redis.pid" \
	--dir "$T/redis" --logfile "$T/log/redis.log" --save '' --appendonly no
wait_for 10 '[ "$(redis-cli -p "$RP" ping 2>/dev/null)" = PONG ]'
is "a Redis of its own answers" "$(redis-cli -p "$RP" ping)" PONG
msql -e "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS ${DB}_used;
	CREATE DATABASE $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
	CREATE DATABASE ${DB}_used; CREATE TABLE ${DB}_used.t (i INT);
	CREATE USER IF NOT EXISTS 'skinst'@'127.0.0.1' IDENTIFIED BY 'skinst-pass';
	GRANT ALL PRIVILEGES ON $DB.* TO 'skinst'@'127.0.0.1';
	GRANT ALL PRIVILEGES ON ${DB}_used.* TO 'skinst'@'127.0.0.1'"
is "an empty database of its own" "$(msql -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB'")" 0
rmqctl add_vhost "$VHOST" >/dev/null && rmqctl set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null
is "a RabbitMQ vhost of its own" "$?" 0

# ---- seckill-admin migrate, installed ----
nfiles=$(($(ls "$D$pkgdata"/sql/migrations/[0-9][0-9][0-9]-*.sql | wc -l) + 1))
out=$(inst "$ADM" migrate --dir "$D$pkgdata/sql" 2>&1)
is "migrate exits 0" "$?" 0
is "... and applies schema.sql and each migration, once" "$(grep -c '^applied ' <<<"$out")" "$nfiles"
like "... migration 0 first, as 000-schema (the name stack.sh recorded)" "$(head -1 <<<"$out")" '^applied 000-schema '
want=$( (echo 000-schema; cd "$D$pkgdata/sql/migrations" && ls [0-9][0-9][0-9]-*.sql | sed 's/\.sql$//') | LC_ALL=C sort | tr '\n' ' ')
is "schema_migrations records every file by its name" \
	"$(msql "$DB" -e 'SELECT version FROM schema_migrations ORDER BY version' | tr '\n' ' ')" "$want"
is "the schema is there (the signing key of migration 002 too)" "$(msql "$DB" -e 'SELECT COUNT(*) FROM signing_keys')" 1
out=$(inst "$ADM" migrate --dir "$D$pkgdata/sql" 2>&1)
is "a second migrate exits 0" "$?" 0
like "... applies nothing and says so" "$out" '^schema up to date at .*nothing to apply'
is "... and records nothing more" "$(msql "$DB" -e 'SELECT COUNT(*) FROM schema_migrations')" "$nfiles"

# Its errors: each names the cause and exits non-zero.
cp -r "$D$pkgdata/sql" "$T/badsql"
printf 'ALTER TABLE no_such_table ADD COLUMN x INT;\n' >"$T/badsql/migrations/099-broken.sql"
out=$(inst "$ADM" migrate --dir "$T/badsql" 2>&1)
is "a failing migration: migrate exits 1" "$?" 1
like "... naming the file, the statement and MySQL's error" "$out" '099-broken.sql failed at its statement 1: .*no_such_table'
is "... and it is not recorded" "$(msql "$DB" -e "SELECT COUNT(*) FROM schema_migrations WHERE version = '099-broken'")" 0
out=$(inst env SECKILL_MYSQL_DATABASE=${DB}_used "$ADM" migrate --dir "$D$pkgdata/sql" 2>&1)
is "a database with tables that migrate did not make: exits 1" "$?" 1
like "... and says why, touching nothing" "$out" "holds 1 table but schema_migrations has no 000-schema"
out=$(inst "$ADM" migrate --dir "$T/nowhere" 2>&1)
is "a folder without schema.sql: exits 1" "$?" 1
like "... naming it" "$out" "$T/nowhere/schema.sql: No such file"
if [ ! -e "$pkgdata/sql" ]; then
	out=$(inst "$ADM" migrate 2>&1)
	like "without --dir it reads the installed datadir ($pkgdata/sql)" "$out" "$pkgdata/sql/schema.sql: No such file"
else
	skip "without --dir it reads the installed datadir" "$pkgdata/sql exists on this machine"
fi
closed=$(free_port $((RP + 1)))
out=$(inst env SECKILL_MYSQL_PORT="$closed" "$ADM" migrate --dir "$D$pkgdata/sql" 2>&1)
is "MySQL unreachable: exits 1" "$?" 1
like "... saying where it tried" "$out" "cannot connect to MySQL 127.0.0.1:$closed as skinst, database $DB"

# ---- the pool, as the unit starts it ----
read -r -a cmd <<<"$exec_line"
like "the unit runs the pool under spawn-fcgi and multiwatch" "${cmd[*]}" '^/usr/bin/spawn-fcgi .* -- /usr/bin/multiwatch .*-- '
workers=$(sed -n 's/.*multiwatch.* -f \([0-9][0-9]*\) .*/\1/p' <<<"$exec_line")
for i in "${!cmd[@]}"; do
	cmd[i]=${cmd[i]//$runtime\//$T$runtime/}	# RuntimeDirectory= in the test's folder
	[ "${cmd[i]}" = "$fcgi_bin" ] && cmd[i]=$D$fcgi_bin
done
diag "pool: ${cmd[*]}"
mkdir -p "$T$runtime" && chmod 0750 "$T$runtime"	# RuntimeDirectory=, RuntimeDirectoryMode=
"${INST_ENV[@]}" "${cmd[@]}" </dev/null >>"$T/log/fcgi.log" 2>&1 &
POOL_PID=$!	# env, then spawn-fcgi -n, then multiwatch: one process, the unit's main pid
wait_for 10 '[ -S "$T$runtime/fcgi.sock" ] && [ "$(pgrep -c -P "$POOL_PID")" = "$workers" ]'
is "the pool listens on the unit's socket with the unit's $workers workers" "$(pgrep -c -P "$POOL_PID")" "$workers"

# ---- the installed nginx site ----
site=$D$pkgdata/examples/nginx-site.conf
sed -e "s|^\( *\)listen 80;|\1listen 127.0.0.1:$HP;|" -e "s|$runtime/|$T$runtime/|g" \
	-e "s|/var/cache/nginx/seckill|$T/nginx/cache|g" -e "s|$pkgdata/|$D$pkgdata/|g" \
	"$site" >"$T/nginx/sites-enabled/seckill"
unlike "the site's port, socket, cache and files all moved into the test's folder" \
	"$(grep -v '^ *#' "$T/nginx/sites-enabled/seckill")" "listen 80;|[ :]$runtime/|/var/cache/|[ ]$pkgdata/"
cp /etc/nginx/fastcgi_params "$T/nginx/"	# the site includes Debian's, next to nginx.conf
# As root, nginx's workers run as nobody, which may not reach the files or the 0660 socket; a
# real system runs them as www-data, the unit's group.
user=
[ "$(id -u)" = 0 ] && user='user root;'
cat >"$T/nginx/nginx.conf" <<EOF
# The least around a site that Debian's nginx.conf has: mime types and the include.
$user
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/log/nginx-error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $T/log/nginx-access.log;
    client_body_temp_path $T/nginx/tmp/client_body;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    proxy_temp_path $T/nginx/tmp/proxy;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    include $T/nginx/sites-enabled/*;
}
EOF
ngx=(nginx -c "$T/nginx/nginx.conf" -p "$T/nginx/" -e "$T/log/nginx-error.log")
out=$("${ngx[@]}" -t 2>&1)
is "nginx -t accepts the installed site" "$?" 0
unlike "... without a warning" "$out" '\[(warn|error|crit|alert|emerg)\]'
"${ngx[@]}" >>"$T/log/nginx-error.log" 2>&1
wait_for 5 '[ -s "$T/nginx/nginx.pid" ]'

# ---- a smoke run, as a buyer ----
BASE=http://127.0.0.1:$HP
act=$(inst "$ADM" activity create --title 'Installed <sale>' --stock 5 --price-cents 100 \
	--starts-in -1 --duration 600)
like "the installed admin creates a sale" "$act" '^[0-9]+$'
inst "$ADM" users gen --count 1 --prefix inst_ --out "$T/users" 2>/dev/null
tok=$(cut -f3 "$T/users")

wait_for 10 'test "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/healthz")" = 200'
http GET /healthz
is "GET /healthz is 200" "$STATUS" 200
is "... with every backend ok" "$(json '[.redis, .mysql, .amqp] | join(",")')" ok,ok,ok
http GET /
home=$BODY
is "GET / is 200" "$STATUS" 200
like "... lists the sale, escaped, from the installed templates" "$BODY" 'Installed &lt;sale&gt;'
ok "... and the microcache keeps it" wait_for 3 '[ -n "$(find "$T/nginx/cache" -type f)" ]'
# Within the second the home page is kept: a cache key that left out the URI would answer this
# with the home page.
http GET "/activity/$act"
is "the product page is 200" "$STATUS" 200
like "... and shows the sale" "$BODY" 'Installed &lt;sale&gt;'
ok "... and is not the home page kept in the cache" test "$BODY" != "$home"
ok "... two answers, two cache entries" wait_for 3 '[ "$(find "$T/nginx/cache" -type f | wc -l)" -ge 2 ]'
http GET /static/css/seckill.css
is "static CSS is served" "$STATUS" 200
like "... as text/css" "$(header content-type)" '^text/css'
ok "... the installed file" cmp -s "$HTTP_TMP/body" "$D$pkgdata/static/css/seckill.css"

c=$(curl -s -X POST -H "Authorization: Bearer $tok" "$BASE/api/captcha" | jq -r .captcha_id)
path=$(curl -s -X POST -H "Authorization: Bearer $tok" -H "$J" \
	--data "{\"captcha_id\":\"$c\",\"captcha_answer\":\"$(redis-cli -p "$RP" GET "captcha:$c")\"}" \
	"$BASE/api/activities/$act/path" | jq -r .path)
like "a buyer solves the captcha and gets the hidden path" "$path" '^[A-Za-z0-9_-]{8,}$'
http POST "/api/activities/$act/seckill/$path" -H "Authorization: Bearer $tok"
is "the buy is answered 200" "$STATUS" 200
is "... queued" "$(json .status)" queued
is "... its outbox row is in the test's database" "$(msql "$DB" -e "SELECT COUNT(*) FROM outbox WHERE activity_id = $act")" 1

# ---- and stopped as systemctl stop does: SIGTERM to the main process ----
wpids=$(pgrep -P "$POOL_PID")
kill -TERM "$POOL_PID"
alive() {	# any of the pool's processes still there (and not a zombie)
	local p
	for p in "$POOL_PID" $wpids; do
		grep -qs '^State:[[:space:]]*[^Z]' "/proc/$p/status" && return 0
	done
	return 1
}
ok "the pool stops on SIGTERM, workers and all" wait_for 10 '! alive'

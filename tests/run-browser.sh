#!/usr/bin/env bash
# Browser tests: starts the real stack on private ports in a fresh run folder (as
# tests/run-integration.sh does), runs tests/browser/e2e.mjs (Debian chromium driven by npm
# playwright-core) against it, stops the stack. TAP on stdout, the plan at the end.
#
# playwright-core comes from tests/browser/package-lock.json: `npm ci` installs it into
# tests/browser/node_modules when that is missing; when the source tree is read-only (make
# distcheck) into $BUILDDIR/tests/output/node instead, found through NODE_PATH.
# Screenshots stay in $BUILDDIR/tests/output/browser/; the stack's run folder (data, logs) is
# $BUILDDIR/tests/output/browser-stack.*, removed when every check passed.
#
# Without node, npm, chromium or zbarimg the run is skipped (1..0 # SKIP), except under CI=true
# or SECKILL_BROWSER_REQUIRED=1, where that is a failure. ./setup installs them.
set -u
SRCDIR=${SECKILL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${SECKILL_BUILDDIR:-$(pwd)}
export SECKILL_SRCDIR=$SRCDIR SECKILL_BUILDDIR=$BUILDDIR
T_START=$SECONDS

CHROMIUM=${SECKILL_CHROMIUM:-/usr/bin/chromium}
missing=""
for c in node npm zbarimg redis-cli curl; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ -x "$CHROMIUM" ] || missing="$missing $CHROMIUM"
if [ -n "$missing" ]; then
	if [ "${CI:-}" = true ] || [ "${SECKILL_BROWSER_REQUIRED:-0}" = 1 ]; then
		echo "Bail out! missing:$missing (./setup installs nodejs npm chromium zbar-tools)"
		exit 1
	fi
	echo "1..0 # SKIP missing:$missing (./setup installs nodejs npm chromium zbar-tools)"
	exit 0
fi

# ---- playwright-core (node_modules is never committed: npm ci from the lock file)
PKG=$SRCDIR/tests/browser
mkdir -p "$BUILDDIR/tests/output"
npm_ci() { # npm_ci DIR: installs the locked dependencies into DIR/node_modules, once at a time
	local dir=$1
	(
		flock -w 300 9 || exit 1
		[ -f "$dir/node_modules/playwright-core/package.json" ] && exit 0
		cd "$dir" && timeout 300 npm ci --no-audit --no-fund --loglevel=error
	) 9>"$BUILDDIR/tests/output/.npm-ci.lock" >"$BUILDDIR/tests/output/npm-ci.log" 2>&1 &&
		rm -f "$BUILDDIR/tests/output/npm-ci.log"
}
# The npm registry out of reach (no network, a TLS proxy whose CA this system lacks): the
# browser tests cannot get playwright-core. Under CI (or SECKILL_BROWSER_REQUIRED=1) that is a
# failure; elsewhere the run is skipped, loudly, with npm's own words.
npm_failed() {
	sed 's/^/# npm: /' "$BUILDDIR/tests/output/npm-ci.log" | tail -20
	if [ "${CI:-}" = true ] || [ -n "${SECKILL_BROWSER_REQUIRED:-}" ]; then
		echo "Bail out! npm ci in $1 failed: see $BUILDDIR/tests/output/npm-ci.log"
		exit 1
	fi
	echo "1..0 # SKIP npm could not install playwright-core in $1 (registry out of reach?)"
	exit 0
}
if [ -f "$PKG/node_modules/playwright-core/package.json" ]; then
	:
elif [ -w "$PKG" ] && [ -n "$(find "$PKG" -maxdepth 0 -perm -u+w)" ]; then
	# (the mode bits too: root may write anywhere, but distcheck's a-w sources stay untouched)
	echo "# npm ci in $PKG"
	npm_ci "$PKG" || npm_failed "$PKG"
else
	# Read-only sources (make distcheck): the package files copied into the build tree, under
	# tests/output/ with everything else this run writes (`make clean` removes it).
	DEST=$BUILDDIR/tests/output/node
	if [ ! -f "$DEST/node_modules/playwright-core/package.json" ]; then
		echo "# $PKG is read-only: npm ci in $DEST"
		mkdir -p "$DEST"
		cp "$PKG/package.json" "$PKG/package-lock.json" "$DEST/" && chmod u+w "$DEST"/package*.json
		npm_ci "$DEST" || npm_failed "$DEST"
	fi
	export NODE_PATH=$DEST/node_modules${NODE_PATH:+:$NODE_PATH}
fi

# ---- the stack, on free private ports, configured as for the integration tests
. "$SRCDIR/tests/lib/runner.sh"
runner_env
# One front is enough here: nginx, unless SECKILL_FRONT names lighttpd ("both" means nginx).
case ${SECKILL_FRONT:-nginx} in lighttpd) export SECKILL_FRONT=lighttpd ;; *) export SECKILL_FRONT=nginx ;; esac

RUN=""
stack() { bash "$SRCDIR/conf/stack.sh" "$@"; }
OUT=$BUILDDIR/tests/output/browser
export SECKILL_BROWSER_OUT=$OUT

# shellcheck disable=SC2317 # (called by the EXIT trap)
finish() {
	local n _
	if [ -n "${NODE_PID:-}" ] && kill -0 "$NODE_PID" 2>/dev/null; then
		# interrupted: timeout passes the TERM on to node, which closes chromium
		kill -TERM "$NODE_PID" 2>/dev/null
		for _ in $(seq 1 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
		n=$(($(cat "$TAP_COUNT_FILE") + 1))
		echo "$n" >"$TAP_COUNT_FILE"
		echo x >"$TAP_COUNT_FILE.failed"
		echo "not ok $n - the browser run was interrupted"
	fi
	if [ -n "$RUN" ]; then
		stack stop >"$RUN/stack-stop.log" 2>&1 || echo "# stack stop failed: see $RUN/stack-stop.log"
	fi
	[ -n "${BROWSER_TMP:-}" ] && rm -rf "$BROWSER_TMP"
	n=$(cat "$TAP_COUNT_FILE" 2>/dev/null || echo 0)
	echo "1..$n"
	echo "# run-browser.sh: $((SECONDS - T_START)) s in all; screenshots in $OUT"
	# Keep the run folder (data, logs) only when something failed.
	if [ -e "$TAP_COUNT_FILE.failed" ] || [ "$n" = 0 ]; then
		echo "# logs kept in $RUN"
	elif [ -n "$RUN" ]; then
		rm -rf "$RUN"
	fi
}

# Two runs started at the same moment (make -j) may pick the same ports: one more try then.
started=0
for attempt in 1 2; do
	base=$(pick_ports) || { echo "Bail out! no free ports"; exit 1; }
	export SECKILL_HTTP_PORT=$base SECKILL_REDIS_PORT=$((base + 1))
	export SECKILL_MYSQL_PORT=$((base + 2)) SECKILL_AMQP_PORT=$((base + 3))
	export SECKILL_APP_PUBLIC_URL=http://127.0.0.1:$base
	export BASE=http://127.0.0.1:$base
	RUN=$(mktemp -d "$BUILDDIR/tests/output/browser-stack.XXXXXX")
	chmod 755 "$RUN"
	export SECKILL_RUN_DIR=$RUN SECKILL_APP_RUN_DIR=$RUN
	export TAP_COUNT_FILE=$RUN/tap-count
	echo 0 >"$TAP_COUNT_FILE"
	if [ $attempt = 1 ]; then
		trap finish EXIT
		trap 'exit 143' TERM INT HUP   # (so that the EXIT trap stops the stack)
	fi
	echo "# starting the stack ($SECKILL_FRONT) in $RUN (http $base)"
	t=$SECONDS
	if stack start >"$RUN/stack-start.log" 2>&1; then
		started=1
		echo "# stack up in $((SECONDS - t)) s"
		break
	fi
	if [ $attempt = 1 ] && grep -q 'already in use' "$RUN/stack-start.log"; then
		echo "# ports taken meanwhile, trying others"
		stack stop >"$RUN/stack-stop.log" 2>&1
		rm -rf "$RUN"
		continue
	fi
	break
done
if [ $started != 1 ]; then
	sed 's/^/# /' "$RUN/stack-start.log" | tail -40
	for f in "$RUN"/log/*.log; do [ -f "$f" ] && { echo "# == $f"; tail -15 "$f" | sed 's/^/# /'; }; done
	echo "not ok 1 - the stack starts"
	echo 1 >"$TAP_COUNT_FILE"
	echo x >"$TAP_COUNT_FILE.failed"
	exit 1
fi

# ---- the browser run, bounded (e2e.mjs has its own budget; this is the outer wall)
# A fresh screenshot folder per run; it is kept afterwards.
mkdir -p "$OUT"
rm -f "$OUT"/*.png
export SECKILL_CHROMIUM=$CHROMIUM
# chromium's fresh --user-data-dir (made by playwright under TMPDIR) and its singleton socket
# go in a short folder of their own: a unix socket's path has at most 107 bytes, and under a
# deep build tree (make distcheck's _build/sub) chromium could not make it and exited at once.
BROWSER_TMP=$(mktemp -d /tmp/seckill-browser.XXXXXX)
# In the background, so that a TERM or INT to this script is handled at once (finish stops it).
TMPDIR=$BROWSER_TMP timeout -k 10 "${SECKILL_BROWSER_TIMEOUT:-170}" node "$SRCDIR/tests/browser/e2e.mjs" &
NODE_PID=$!
wait $NODE_PID
rc=$?
NODE_PID=""
if [ $rc -ne 0 ] && [ ! -e "$TAP_COUNT_FILE.failed" ]; then
	n=$(($(cat "$TAP_COUNT_FILE") + 1))
	echo $n >"$TAP_COUNT_FILE"
	echo x >"$TAP_COUNT_FILE.failed"
	echo "not ok $n - e2e.mjs runs to its end (exit $rc)"
fi
exit 0

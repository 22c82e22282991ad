#!/usr/bin/env bash
# Starts the real stack (Redis, MariaDB, RabbitMQ, the FastCGI pool, the HTTP front) on private
# ports in a fresh run folder, runs every tests/integration/t*.sh against it over HTTP, stops the
# stack. Once per front: SECKILL_FRONT=nginx or SECKILL_FRONT=lighttpd runs that one; unset (or
# "both"), nginx first, then lighttpd, each with its own stack, run folder and ports. One TAP
# stream on stdout, numbered on across the runs, every test name prefixed "[nginx] " or
# "[lighttpd] "; the tests read SECKILL_FRONT for the checks that differ.
# SECKILL_TEST_FILTER=t0001 runs only matching test files.
set -u
SRCDIR=${SECKILL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${SECKILL_BUILDDIR:-$(pwd)}
export SECKILL_SRCDIR=$SRCDIR SECKILL_BUILDDIR=$BUILDDIR

case ${SECKILL_FRONT:-both} in
both) FRONTS="nginx lighttpd" ;;
nginx | lighttpd) FRONTS=$SECKILL_FRONT ;;
*) echo "Bail out! SECKILL_FRONT=$SECKILL_FRONT: use nginx, lighttpd or both"; exit 1 ;;
esac

. "$SRCDIR/tests/lib/runner.sh"
runner_env

mkdir -p "$BUILDDIR/tests/output"
# The TAP counter outlives the runs: the numbers go on from one front to the next.
TAPDIR=$(mktemp -d "$BUILDDIR/tests/output/tap.XXXXXX")
export TAP_COUNT_FILE=$TAPDIR/tap-count
echo 0 >"$TAP_COUNT_FILE"
. "$SRCDIR/tests/lib/tap.sh"
stack() { bash "$SRCDIR/conf/stack.sh" "$@"; }
failures() { if [ -f "$TAP_COUNT_FILE.failed" ]; then wc -l <"$TAP_COUNT_FILE.failed"; else echo 0; fi; }

# lighttpd 1.4.69 answers 411 Length Required (its JSON length_required) to a POST without
# Content-Length, with no setting to allow it; nginx passes such a POST on. Browsers send
# "Content-Length: 0" with a POST that has no body, and `curl -d ''` does too, but the test files
# use bare `curl -X POST` (directly and through http()). Under lighttpd their curl therefore
# adds "Content-Length: 0" to a POST without a body; t0001 checks the 411 itself.
CURL_POST_CL0='curl() {
	local a prev= post=0 body=0
	for a in "$@"; do
		case $a in
		-d* | --data* | -F* | --form* | -T* | --upload-file | --json) body=1 ;;
		POST) [ "$prev" = -X ] && post=1 ;;
		-XPOST) post=1 ;;
		esac
		prev=$a
	done
	if [ "$post" = 1 ] && [ "$body" = 0 ]; then
		command curl -H "Content-Length: 0" "$@"
	else
		command curl "$@"
	fi
}'

# run_front FRONT: one whole run (stack start, every test file, stack stop) in a subshell, so
# that its ports and run folder stay its own.
run_front() (
	front=$1
	export SECKILL_FRONT=$front TAP_PREFIX="[$front] "
	base=$(pick_ports "${LAST_BASE:-}") || { echo "Bail out! no free ports"; exit 1; }
	echo "$base" >"$TAPDIR/last-base"
	export SECKILL_HTTP_PORT=$base SECKILL_REDIS_PORT=$((base + 1))
	export SECKILL_MYSQL_PORT=$((base + 2)) SECKILL_AMQP_PORT=$((base + 3))
	export SECKILL_APP_PUBLIC_URL=http://127.0.0.1:$base
	RUN=$(mktemp -d "$BUILDDIR/tests/output/stack.XXXXXX")
	chmod 755 "$RUN"
	export SECKILL_RUN_DIR=$RUN SECKILL_APP_RUN_DIR=$RUN HTTP_TMP=$RUN/http
	export BASE=http://127.0.0.1:$base
	mkdir -p "$HTTP_TMP"
	failed_before=$(failures)
	n_before=$(cat "$TAP_COUNT_FILE")
	t0=$SECONDS
	finish() {
		stack stop >"$RUN/stack-stop.log" 2>&1 || echo "# [$front] stack stop failed: see $RUN/stack-stop.log"
		# Keep the run folder (data, logs) only when something failed.
		if [ "$(failures)" != "$failed_before" ] || [ "$(cat "$TAP_COUNT_FILE")" = "$n_before" ]; then
			echo "# [$front] logs kept in $RUN"
		else
			rm -rf "$RUN"
		fi
		echo "# [$front] done in $((SECONDS - t0)) s"
	}
	trap finish EXIT
	trap 'exit 143' TERM INT HUP

	echo "# [$front] starting the stack in $RUN (http $base)"
	if ! stack start >"$RUN/stack-start.log" 2>&1; then
		sed 's/^/# /' "$RUN/stack-start.log" | tail -40
		for f in "$RUN"/log/*.log; do [ -f "$f" ] && { echo "# == $f"; tail -15 "$f" | sed 's/^/# /'; }; done
		fail "the stack starts"
		exit 1
	fi

	for t in "$SRCDIR"/tests/integration/t*.sh; do
		case $t in *"${SECKILL_TEST_FILTER:-}"*) ;; *) continue ;; esac
		echo "# ---- [$front] ${t##*/}"
		# Each file runs in its own shell with the helpers; a crash in one does not stop the others.
		bash -c '. "$1"/tests/lib/tap.sh; . "$1"/tests/lib/http.sh; . "$1"/tests/lib/stack.sh
			[ "$SECKILL_FRONT" = lighttpd ] && eval "$3"
			. "$2"' _ "$SRCDIR" "$t" "$CURL_POST_CL0" ||
			fail "${t##*/} runs to its end (exit $?)"
	done
)

end() {
	local n
	n=$(cat "$TAP_COUNT_FILE")
	echo "1..$n"
	rm -rf "$TAPDIR"
}
trap end EXIT

for front in $FRONTS; do
	LAST_BASE=$(cat "$TAPDIR/last-base" 2>/dev/null) run_front "$front"
done

# The fault proxy in front of Redis or MariaDB (sourced by integration tests; needs $out, a
# folder of the test's own). proxy_start NAME TARGET_PORT prints the proxy's port.
PROXY=$SECKILL_BUILDDIR/tests/faultproxy
proxy_start() {
	local port
	for port in $(seq $((SECKILL_HTTP_PORT + 5)) $((SECKILL_HTTP_PORT + 9))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		echo pass >"$out/$1.ctl"
		"$PROXY" "$port" "$2" "$out/$1.ctl" "$out/$1.pid" >/dev/null 2>>"$out/$1.log" &
		wait_for 5 "test -s '$out/$1.pid'" && { echo "$port"; return 0; }
	done
	return 1
}
# proxy_mode NAME MODE: written whole (rename), then given the proxy's 25 ms look and some
proxy_mode() { printf '%s\n' "$2" >"$out/$1.ctl.new" && mv "$out/$1.ctl.new" "$out/$1.ctl" && sleep 0.2; }
proxy_stop() { kill "$(cat "$out/$1.pid")" 2>/dev/null; }

# TAP helpers for the integration tests (sourced). Each check prints one "ok"/"not ok" line;
# the driver counts them through $TAP_COUNT_FILE and prints the plan at the end.
TAP_COUNT_FILE=${TAP_COUNT_FILE:-$(mktemp)}

tap_next() {
	local n
	n=$(($(cat "$TAP_COUNT_FILE" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$TAP_COUNT_FILE"
	echo "$n"
}

# TAP_PREFIX (e.g. "[nginx] ") goes in front of every test name: the driver runs the suite once
# per front and numbers the runs on.
pass() { echo "ok $(tap_next) - ${TAP_PREFIX:-}$*"; }
fail() { echo "not ok $(tap_next) - ${TAP_PREFIX:-}$*"; echo x >>"$TAP_COUNT_FILE.failed"; }
diag() { printf '# %s\n' "$@"; }
# skip DESC REASON: a check that does not apply here (counted as SKIP, not as a pass)
skip() { echo "ok $(tap_next) - ${TAP_PREFIX:-}$1 # SKIP $2"; }

# is DESC GOT WANT
is() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1"; diag "got:  '$2'" "want: '$3'"; fi
}

# like DESC TEXT EXTENDED_REGEX
like() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then pass "$1"; else
		fail "$1"; diag "no match for /$3/ in:" "$(printf '%s' "$2" | head -c 600)"; fi
}

# unlike DESC TEXT EXTENDED_REGEX
unlike() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then
		fail "$1"; diag "unexpected /$3/ in:" "$(printf '%s' "$2" | grep -E -- "$3" | head -3)"
	else pass "$1"; fi
}

# ok DESC COMMAND...: passes when the command succeeds
ok() {
	local d=$1; shift
	if "$@"; then pass "$d"; else fail "$d"; diag "command failed: $*"; fi
}

# HTTP helpers for the integration tests (sourced). Needs $BASE (http://127.0.0.1:PORT).
# http METHOD PATH [curl args...] sets STATUS, BODY, HEADERS (lower-cased names).
HTTP_TMP=${HTTP_TMP:-$(mktemp -d)}

http() {
	local method=$1 path=$2 how; shift 2
	# HEAD needs --head: with -X HEAD curl would wait for a body that never comes.
	if [ "$method" = HEAD ]; then how=(--head); else how=(-X "$method"); fi
	STATUS=$(curl -s -o "$HTTP_TMP/body" -D "$HTTP_TMP/head" -w '%{http_code}' \
		--max-time 20 "${how[@]}" "$@" "$BASE$path") || STATUS=000
	BODY=$(tr -d '\0' <"$HTTP_TMP/body" 2>/dev/null)
	HEADERS=$(tr -d '\r' <"$HTTP_TMP/head" 2>/dev/null | sed 's/^\([^:]*\):/\L\1:/')
}

# header NAME: the value of a response header of the last http call
header() {
	printf '%s\n' "$HEADERS" | sed -n "s/^$1: //p" | tail -1
}

# json FILTER: a jq filter on $BODY, raw output ("" when BODY is not JSON)
json() {
	jq -r "$1" <<<"$BODY" 2>/dev/null
}

# metric_now NAME: the pool's value of a /metrics counter now (0 when absent)
metric_now() { curl -s "$BASE/metrics" | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'; }

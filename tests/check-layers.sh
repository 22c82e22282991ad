#!/usr/bin/env bash
# The layers, checked: handlers (fcgi-app/page_*.c) translate HTTP and call services; only
# services talk to the stores (db_*, store_*, mq_* calls; db_field_* row getters aside); Redis
# keys are spelled by the module that owns them, never in a handler; and no include runs upward
# (a store or a service does not include the handlers' pages.h, a store no service header).
# TAP: one line per rule, naming each offending line.
set -u
SRC=${SECKILL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$SRC/fcgi-app" || exit 1
n=0 failed=0
rule() { # rule DESCRIPTION OFFENDING-LINES
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		failed=$((failed + 1))
		echo "not ok $n - $1"
		printf '%s\n' "$2" | sed 's/^/# /'
	fi
}
pages=$(ls page_*.c)
rule "handlers call no store (db_*, store_*, mq_* outside the row getters)" \
	"$(grep -nE '\b(db|store|mq)_[a-z0-9_]+\(' $pages | grep -vE '\bdb_field_(int|str|bytes)\(' || true)"
rule "handlers include no store header (db.h, store.h, mq.h)" \
	"$(grep -nE '#include "(store|mq)\.h"' $pages || true)"
rule "handlers spell no Redis key (sk:, qr:, captcha:, rl:)" \
	"$(grep -nE '"(sk:\{|qr:|captcha:|rl:)' $pages || true)"
rule "only the handlers and the route table include pages.h" \
	"$(grep -lE '#include "pages\.h"' *.c | grep -vE '^(page_.*|routes|app)\.c$' || true)"
rule "the stores include no service or handler header" \
	"$(grep -nE '#include "(seckill|order|qr|account|activity|captcha_issue|heal|pages|app)\.h"' db.c store.c mq.c || true)"
echo "1..$n"
[ "$failed" = 0 ]

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "shm.h"
#include "xmem.h"

static const int metrics_codes[] = {
	200, 201, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405, 409, 410, 413, 415, 429,
	500, 502, 503, 0
};
#define METRICS_NCODES (int)(sizeof metrics_codes / sizeof metrics_codes[0])

#define METRICS_HEAL "seckill_heal_repairs_total"
#define METRICS_HEAL_HELP "Repairs of what a fault left behind, by kind."

static const struct { const char *name, *help, *kind; } metrics_names[MC_COUNTERS] = {
	[MC_RATELIMITED] = { "seckill_ratelimit_rejections_total",
		"Requests refused by the application's rate limits." },
	[MC_SECKILL_QUEUED] = { "seckill_outcome_queued_total",
		"Buy attempts that took a unit (order queued)." },
	[MC_SECKILL_SOLD_OUT] = { "seckill_outcome_sold_out_total",
		"Buy attempts answered sold out by the stock script." },
	[MC_SECKILL_SOLD_OUT_LOCAL] = { "seckill_outcome_sold_out_local_total",
		"Buy attempts answered sold out by the worker's flag, without Redis." },
	[MC_SECKILL_DUPLICATE] = { "seckill_outcome_duplicate_total",
		"Buy attempts by users who already hold the activity." },
	[MC_SECKILL_UNAVAILABLE] = { "seckill_outcome_unavailable_total",
		"Buy attempts answered 503 because a backend failed." },
	[MC_BACKEND_REDIS_DOWN] = { "seckill_backend_redis_failures_total",
		"Requests that found Redis unreachable." },
	[MC_BACKEND_MYSQL_DOWN] = { "seckill_backend_mysql_failures_total",
		"Requests that found MySQL unreachable." },
	[MC_BACKEND_AMQP_DOWN] = { "seckill_backend_amqp_failures_total",
		"Requests that found RabbitMQ unreachable." },
	[MC_RELAY_PUBLISHED] = { "seckill_relay_published_total",
		"Winners' outbox rows the workers' relays published, confirmed by the broker." },
	[MC_RELAY_NOT_SENT] = { "seckill_relay_not_sent_total",
		"Winners' outbox rows the relays could not send (left pending for seckill-retry)." },
	[MC_SECKILL_UNCONFIRMED] = { "seckill_outcome_unconfirmed_total",
		"Buy attempts answered 202 unconfirmed: a reply was lost; /result settles them." },
	[MC_OUTBOX_ROWS] = { "seckill_outbox_rows_total",
		"Winners' outbox rows written by the workers' writers." },
	[MC_OUTBOX_INSERTS] = { "seckill_outbox_inserts_total",
		"The INSERTs (one commit each) that wrote them: rows / inserts went together." },
	[MC_HEAL_ORPHAN] = { METRICS_HEAL, METRICS_HEAL_HELP, "orphan_hold" },
	[MC_HEAL_RELEASE] = { METRICS_HEAL, METRICS_HEAL_HELP, "release" },
	[MC_HEAL_STOCK] = { METRICS_HEAL, METRICS_HEAL_HELP, "stock" },
	[MC_HEAL_REBUILD] = { METRICS_HEAL, METRICS_HEAL_HELP, "rebuild" },
	[MC_HEAL_PARKED] = { METRICS_HEAL, METRICS_HEAL_HELP, "parked" },
	[MC_HEAL_PHANTOM] = { METRICS_HEAL, METRICS_HEAL_HELP, "phantom" },
};

#define METRICS_MAGIC 0x736b6d6574726963ULL	/* "skmetric" */

struct metrics_shm {
	struct shm_head head;
	uint64_t requests[METRICS_ROUTES][METRICS_NCODES];
	uint64_t micros[METRICS_ROUTES];
	uint64_t counters[MC_COUNTERS];
	struct metrics_second {
		uint64_t second;	/* the epoch second counted here; 0: never used */
		uint64_t requests, sales;
	} series[METRICS_SERIES];
};

static struct metrics_shm *metrics;
static int metrics_shared;

static int
metrics_code_index(int status)
{
	for (int i = 0; i < METRICS_NCODES - 1; i++)
		if (metrics_codes[i] == status)
			return i;
	return METRICS_NCODES - 1;
}

static void
metrics_private(void)
{
	if (metrics == NULL)
		metrics = xcalloc(1, sizeof *metrics);
	metrics_shared = 0;
}

int
metrics_open(const char *run_dir)
{
	void *p;

	metrics_close();
	if ((p = shm_map(run_dir, "metrics.shm", sizeof *metrics, METRICS_MAGIC)) == NULL) {
		log_warn("metrics: counting for this worker only");
		metrics_private();
		return -1;
	}
	metrics = p;
	metrics_shared = 1;
	return 0;
}

void
metrics_close(void)
{
	if (metrics == NULL)
		return;
	if (metrics_shared)
		shm_unmap(metrics, sizeof *metrics);
	else
		free(metrics);
	metrics = NULL;
}

/*
 * Counts one event of the current second in its ring slot. A slot still stamped with an older
 * second belongs to the first writer that moves the stamp on (compare-and-swap), which zeroes
 * it; a writer that sees the new stamp before the zeroing may lose its count. A stamp from the
 * future (the clock stepped back) is left alone and the event not counted.
 */
static void
metrics_second_add(int sale)
{
	uint64_t now = (uint64_t)(clock_wall_ms() / 1000), stamp;
	struct metrics_second *s = &metrics->series[now % METRICS_SERIES];

	for (int tries = 0; ; tries++) {
		stamp = __atomic_load_n(&s->second, __ATOMIC_ACQUIRE);
		if (stamp == now)
			break;
		if (stamp > now || tries == 4)
			return;
		if (__atomic_compare_exchange_n(&s->second, &stamp, now, 0, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&s->requests, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&s->sales, 0, __ATOMIC_RELEASE);
			break;
		}
	}
	__atomic_add_fetch(sale ? &s->sales : &s->requests, 1, __ATOMIC_RELAXED);
}

void
metrics_series(long long last, int n, unsigned long long *requests, unsigned long long *sales)
{
	if (metrics == NULL)
		metrics_private();
	if (n > METRICS_SERIES)
		n = METRICS_SERIES;
	for (int i = 0; i < n; i++) {
		long long sec = last - (n - 1) + i;
		const struct metrics_second *s;
		unsigned long long r = 0, q = 0;

		if (sec > 0) {
			s = &metrics->series[(uint64_t)sec % METRICS_SERIES];
			r = __atomic_load_n(&s->requests, __ATOMIC_ACQUIRE);
			q = __atomic_load_n(&s->sales, __ATOMIC_ACQUIRE);
			/* Read the stamp last: counts read under it belong to that second (or are
			 * a reset in progress, 0, which a chart can live with). */
			if (__atomic_load_n(&s->second, __ATOMIC_ACQUIRE) != (uint64_t)sec)
				r = q = 0;
		}
		if (requests != NULL)
			requests[i] = r;
		if (sales != NULL)
			sales[i] = q;
	}
}

void
metrics_request(int route, int status, long long micros)
{
	if (metrics == NULL)
		metrics_private();
	if (route < 0 || route >= METRICS_ROUTES - 1)
		route = METRICS_ROUTES - 1;
	__atomic_add_fetch(&metrics->requests[route][metrics_code_index(status)], 1,
	    __ATOMIC_RELAXED);
	__atomic_add_fetch(&metrics->micros[route], (uint64_t)(micros > 0 ? micros : 0),
	    __ATOMIC_RELAXED);
	metrics_second_add(0);
}

void
metrics_add(enum metrics_counter c, unsigned long long n)
{
	if (metrics == NULL)
		metrics_private();
	__atomic_add_fetch(&metrics->counters[c], n, __ATOMIC_RELAXED);
	for (unsigned long long i = 0; c == MC_SECKILL_QUEUED && i < n; i++)
		metrics_second_add(1);
}

void
metrics_inc(enum metrics_counter c)
{
	metrics_add(c, 1);
}

unsigned long long
metrics_get(enum metrics_counter c)
{
	return metrics ? __atomic_load_n(&metrics->counters[c], __ATOMIC_RELAXED) : 0;
}

unsigned long long
metrics_requests(int route, int status)
{
	if (metrics == NULL)
		return 0;
	if (route < 0 || route >= METRICS_ROUTES - 1)
		route = METRICS_ROUTES - 1;
	return __atomic_load_n(&metrics->requests[route][metrics_code_index(status)],
	    __ATOMIC_RELAXED);
}

static void
metrics_label(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(out, '\\');
		if (*s == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *s);
	}
}

void
metrics_render(struct buf *out, const struct route *routes, int nroutes)
{
	if (metrics == NULL)
		metrics_private();
	buf_puts(out, "# HELP seckill_http_requests_total HTTP requests answered by the pool, "
	    "by route and status.\n# TYPE seckill_http_requests_total counter\n");
	for (int r = 0; r < METRICS_ROUTES; r++) {
		const char *name = r < nroutes && r < METRICS_ROUTES - 1 ? routes[r].name :
		    r == METRICS_ROUTES - 1 ? "unmatched" : NULL;
		if (name == NULL)
			continue;
		for (int k = 0; k < METRICS_NCODES; k++) {
			uint64_t v = __atomic_load_n(&metrics->requests[r][k], __ATOMIC_RELAXED);
			if (v == 0)
				continue;
			buf_puts(out, "seckill_http_requests_total{route=\"");
			metrics_label(out, name);
			if (metrics_codes[k])
				buf_printf(out, "\",status=\"%d\"} %llu\n", metrics_codes[k],
				    (unsigned long long)v);
			else
				buf_printf(out, "\",status=\"other\"} %llu\n", (unsigned long long)v);
		}
	}
	buf_puts(out, "# HELP seckill_http_request_seconds_total Time spent answering, by route.\n"
	    "# TYPE seckill_http_request_seconds_total counter\n");
	for (int r = 0; r < METRICS_ROUTES; r++) {
		const char *name = r < nroutes && r < METRICS_ROUTES - 1 ? routes[r].name :
		    r == METRICS_ROUTES - 1 ? "unmatched" : NULL;
		uint64_t us = __atomic_load_n(&metrics->micros[r], __ATOMIC_RELAXED);
		if (name == NULL || us == 0)
			continue;
		buf_puts(out, "seckill_http_request_seconds_total{route=\"");
		metrics_label(out, name);
		buf_printf(out, "\"} %.6f\n", (double)us / 1e6);
	}
	for (int c = 0; c < MC_COUNTERS; c++) {
		unsigned long long v = __atomic_load_n(&metrics->counters[c], __ATOMIC_RELAXED);
		/* A labelled family: HELP and TYPE once, before its first member. */
		if (c == 0 || strcmp(metrics_names[c - 1].name, metrics_names[c].name) != 0)
			buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", metrics_names[c].name,
			    metrics_names[c].help, metrics_names[c].name);
		if (metrics_names[c].kind != NULL)
			buf_printf(out, "%s{kind=\"%s\"} %llu\n", metrics_names[c].name,
			    metrics_names[c].kind, v);
		else
			buf_printf(out, "%s %llu\n", metrics_names[c].name, v);
	}
	buf_printf(out, "# HELP seckill_metrics_shared 1 when these counters cover the whole pool.\n"
	    "# TYPE seckill_metrics_shared gauge\nseckill_metrics_shared %d\n", metrics_shared);
}

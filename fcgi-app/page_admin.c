/*
 * The operator's dashboard (role admin): the page /admin, its numbers as JSON at
 * GET /api/admin/stats (static/js/admin.js reloads them every 2 s), and the chart
 * /admin/chart.png of requests and sales per second over the last 10 minutes (libgd).
 *
 * Per current or recent sale: Redis stock and buyers, MySQL stock_left, orders and outbox rows
 * by status, all MySQL numbers from one snapshot, and the same checks as
 * `seckill-admin reconcile`. Then the RabbitMQ queue depths (passive declares on the worker's
 * connection), and the pool-wide counters of metrics.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>
#include <gd.h>
#include <gdfonts.h>
#include <json-c/json.h>

#include "activity.h"
#include "app.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "heal.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"
#include "pages.h"
#include "pngenc.h"
#include "req.h"
#include "resp.h"
#include "seckill.h"
#include "store.h"
#include "xmem.h"

/* Current and recent sales: not ended, or ended in the last day. Open ones first (the latest
 * opened on top), then upcoming ones (the soonest first), then ended ones. */
#define ADMIN_ACTIVITIES "SELECT id, title, stock_total, stock_left, starts_at, ends_at" \
	" FROM activities WHERE ends_at > UTC_TIMESTAMP(3) - INTERVAL 1 DAY" \
	" ORDER BY ends_at <= UTC_TIMESTAMP(3), starts_at > UTC_TIMESTAMP(3)," \
	" IF(starts_at > UTC_TIMESTAMP(3), 0, -UNIX_TIMESTAMP(starts_at)), starts_at, id DESC" \
	" LIMIT 50"

static const char admin_activities_sql[] = ADMIN_ACTIVITIES;
/* The counts of those same sales (a derived table: IN () takes no LIMIT). */
static const char admin_orders_sql[] = "SELECT o.activity_id, o.status, COUNT(*) AS n"
	" FROM orders o JOIN (" ADMIN_ACTIVITIES ") a ON a.id = o.activity_id"
	" GROUP BY o.activity_id, o.status";
static const char admin_outbox_sql[] = "SELECT o.activity_id, o.status, COUNT(*) AS n"
	" FROM outbox o JOIN (" ADMIN_ACTIVITIES ") a ON a.id = o.activity_id"
	" GROUP BY o.activity_id, o.status";

static const char *const admin_order_states[] = { "unpaid", "paid", "cancelled", NULL };
static const char *const admin_outbox_states[] = { "pending", "sent", "consumed", "failed",
	"void", NULL };

/* {"unpaid":0,...} for the states, filled from rows of (activity_id, status, n) of activity. */
static struct json_object *
admin_by_status(struct json_object *rows, long long activity, const char *const *states)
{
	struct json_object *o = json_object_new_object();

	for (int k = 0; states[k] != NULL; k++) {
		long long n = 0;
		for (size_t i = 0; i < json_object_array_length(rows); i++) {
			struct json_object *row = json_object_array_get_idx(rows, i);
			if (db_field_int(row, "activity_id") == activity &&
			    strcmp(db_field_str(row, "status", ""), states[k]) == 0)
				n = db_field_int(row, "n");
		}
		json_object_object_add(o, states[k], json_object_new_int64(n));
	}
	return o;
}

/* A stock for people: "∞" for unlimited (-1). */
static struct json_object *
admin_stock_text(long long stock)
{
	char s[24];

	if (stock < 0)
		return json_object_new_string("∞");
	snprintf(s, sizeof s, "%lld", stock);
	return json_object_new_string(s);
}

/*
 * Adds the numbers and reconcile's verdict to one activity row (from admin_activities_sql).
 * redis_ok is cleared when Redis fails, so that the rest of the page does not wait on it.
 */
static void
admin_activity(struct json_object *row, struct json_object *orders, struct json_object *outbox,
    long long now_ms, int *redis_ok)
{
	long long id = db_field_int(row, "id"), total = db_field_int(row, "stock_total");
	long long left = db_field_int(row, "stock_left"), rstock = 0, held = 0;
	struct json_object *o = admin_by_status(orders, id, admin_order_states);
	struct json_object *x = admin_by_status(outbox, id, admin_outbox_states);
	const char *status, *check = "unknown", *check_label = "Unknown";
	char problems[512] = "";
	struct heal_report rep;
	int rs = -1, h = -1;

	json_object_object_add(row, "orders", o);
	json_object_object_add(row, "outbox", x);
	/* Redis's side and the verdict of `seckill-admin reconcile`: the same module, the same
	 * checks, one read. */
	if (*redis_ok) {
		if ((h = heal_sale(id, 0, &rep)) < 0 && rep.redis_down)
			*redis_ok = 0;
		if (h == 0) {
			rs = rep.redis_loaded ? 0 : 1;
			rstock = rep.redis_left;
			held = rep.held;
			check = rep.broken ? "broken" : rep.in_flight ? "in_flight" : "ok";
			check_label = rep.broken ? "Mismatch" : rep.in_flight ? "In flight" : "OK";
			snprintf(problems, sizeof problems, "%s", rep.problems);
		}
	}
	json_object_object_add(row, "redis_loaded", json_object_new_boolean(rs == 0));
	json_object_object_add(row, "redis_stock", rs == 0 ? json_object_new_int64(rstock) : NULL);
	json_object_object_add(row, "redis_buyers", rs == 0 ? json_object_new_int64(held) : NULL);
	json_object_object_add(row, "redis_stock_text", rs == 0 ? admin_stock_text(rstock) :
	    json_object_new_string(rs > 0 ? "–" : "?"));
	json_object_object_add(row, "redis_buyers_text", rs == 0 ? admin_stock_text(held) :
	    json_object_new_string(rs > 0 ? "–" : "?"));
	json_object_object_add(row, "stock_left_text", admin_stock_text(left));
	json_object_object_add(row, "stock_total_text", admin_stock_text(total));
	json_object_object_add(row, "check", json_object_new_string(check));
	json_object_object_add(row, "check_label", json_object_new_string(check_label));
	json_object_object_add(row, "problems", json_object_new_string(problems));

	status = activity_status(now_ms, db_field_int(row, "starts_at"), db_field_int(row, "ends_at"),
	    total, rs == 0 ? rstock : left);
	json_object_object_add(row, "status", json_object_new_string(status));
	json_object_object_add(row, "status_label", json_object_new_string(
	    strcmp(status, "upcoming") == 0 ? "Upcoming" :
	    strcmp(status, "active") == 0 ? "On sale" :
	    strcmp(status, "sold_out") == 0 ? "Sold out" : "Ended"));
}

/* The activities with their numbers (a new array), or NULL when MySQL failed. */
static struct json_object *
admin_activities(long long now_ms, int *redis_ok)
{
	struct json_object *rows = NULL, *orders = NULL, *outbox = NULL;
	int began;

	/* One snapshot for the three reads (REPEATABLE READ): the counts agree with stock_left. */
	began = db_begin() == 0;
	if (db_select_json(admin_activities_sql, &rows, "") != 0 ||
	    db_select_json(admin_orders_sql, &orders, "") != 0 ||
	    db_select_json(admin_outbox_sql, &outbox, "") != 0) {
		json_object_put(rows);
		rows = NULL;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		admin_activity(json_object_array_get_idx(rows, i), orders, outbox, now_ms, redis_ok);
out:
	if (began)
		db_rollback();
	json_object_put(orders);
	json_object_put(outbox);
	return rows;
}

/*
 * Ready messages and consumers of a queue, by a passive declare on the worker's connection:
 * 0 ok, -1 failed (a missing queue closes the channel: the connection is dropped, and the next
 * mq_get opens it again and declares the topology).
 */
static int
admin_queue_depth(amqp_connection_state_t c, const char *name, long long *messages,
    long long *consumers)
{
	amqp_queue_declare_ok_t *ok;
	amqp_rpc_reply_t r;
	char why[256];

	ok = amqp_queue_declare(c, 1, amqp_cstring_bytes(name), 1, 0, 0, 0, amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	if (ok == NULL || r.reply_type != AMQP_RESPONSE_NORMAL) {
		log_err("amqp: queue %s: %s", name, mq_reply_text(r, why, sizeof why));
		mq_drop();
		return -1;
	}
	*messages = ok->message_count;
	*consumers = ok->consumer_count;
	amqp_maybe_release_buffers(c);
	return 0;
}

/*
 * The queues (a new array); *amqp_ok cleared when any could not be read. Each asks mq_get()
 * anew: after a failed declare dropped the connection the next queue opens another (mq_get
 * answers at once while the broker is known to be down, for backend.retry_ms).
 */
static struct json_object *
admin_queues(int *amqp_ok)
{
	char delay[64];
	const char *const queues[][3] = {
		{ MQ_ORDERS_QUEUE, "orders", "Orders waiting for the consumer" },
		{ MQ_TIMEOUT_QUEUE, "timeout", "Payment deadlines due, waiting for the canceller" },
		{ delay, "delay", "Payment deadlines not yet due (a TTL queue, no consumer)" },
		{ MQ_DEAD_QUEUE, "dead", "Dead letters: messages that can never become orders" },
	};
	struct json_object *list = json_object_new_array();

	snprintf(delay, sizeof delay, MQ_DELAY_QUEUE_FMT, conf.order_pay_timeout);
	*amqp_ok = 1;
	for (size_t i = 0; i < sizeof queues / sizeof queues[0]; i++) {
		struct json_object *q = json_object_new_object();
		amqp_connection_state_t c = mq_get();
		long long messages = 0, consumers = 0;
		int look, got;

		got = c != NULL && admin_queue_depth(c, queues[i][0], &messages, &consumers) == 0;
		if (!got)
			*amqp_ok = 0;
		json_object_object_add(q, "name", json_object_new_string(queues[i][0]));
		json_object_object_add(q, "role", json_object_new_string(queues[i][1]));
		json_object_object_add(q, "about", json_object_new_string(queues[i][2]));
		json_object_object_add(q, "messages", got ? json_object_new_int64(messages) : NULL);
		json_object_object_add(q, "consumers", got ? json_object_new_int64(consumers) : NULL);
		json_object_object_add(q, "messages_text", got ? admin_stock_text(messages) :
		    json_object_new_string("?"));
		json_object_object_add(q, "consumers_text", got ? admin_stock_text(consumers) :
		    json_object_new_string("?"));
		/* Worth a look: dead letters at all, or work waiting with nobody to take it. */
		look = got && messages > 0 && (strcmp(queues[i][1], "dead") == 0 ||
		    (strcmp(queues[i][1], "delay") != 0 && consumers == 0));
		json_object_object_add(q, "state", json_object_new_string(!got ? "unknown" :
		    look ? "broken" : "ok"));
		json_object_object_add(q, "state_label", json_object_new_string(!got ? "Unknown" :
		    look ? "Look" : "OK"));
		json_object_array_add(list, q);
	}
	return list;
}

static void
admin_counter(struct json_object *o, const char *key, enum metrics_counter c)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)metrics_get(c)));
}

/* The healer's latest repairs (a new array; empty when MySQL fails), newest first. */
static struct json_object *
admin_repairs(void)
{
	struct json_object *rows = NULL;

	if (db_select_json("SELECT activity_id, kind, detail, created_at,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS when_text FROM repairs"
	    " ORDER BY id DESC LIMIT 20", &rows, "") != 0)
		return json_object_new_array();
	return rows;
}

/* Everything the dashboard shows (a new object), or NULL when MySQL failed. */
static struct json_object *
admin_stats(void)
{
	unsigned long long requests[METRICS_SERIES], sales[METRICS_SERIES];
	long long now_ms = clock_wall_ms();
	unsigned long long sum_r = 0, sum_s = 0, peak = 0;
	struct json_object *stats, *acts, *o;
	int redis_ok = 1, amqp_ok;

	if ((acts = admin_activities(now_ms, &redis_ok)) == NULL)
		return NULL;
	stats = json_object_new_object();
	json_object_object_add(stats, "now_ms", json_object_new_int64(now_ms));
	json_object_object_add(stats, "activities", acts);
	json_object_object_add(stats, "no_activities",
	    json_object_new_boolean(json_object_array_length(acts) == 0));
	json_object_object_add(stats, "queues", admin_queues(&amqp_ok));
	o = json_object_new_object();
	json_object_object_add(o, "mysql", json_object_new_string("ok"));
	json_object_object_add(o, "redis", json_object_new_string(redis_ok ? "ok" : "down"));
	json_object_object_add(o, "amqp", json_object_new_string(amqp_ok ? "ok" : "down"));
	json_object_object_add(stats, "backends", o);
	admin_counter(stats, "ratelimited", MC_RATELIMITED);
	o = json_object_new_object();
	admin_counter(o, "queued", MC_SECKILL_QUEUED);
	admin_counter(o, "sold_out", MC_SECKILL_SOLD_OUT);
	admin_counter(o, "sold_out_local", MC_SECKILL_SOLD_OUT_LOCAL);
	admin_counter(o, "duplicate", MC_SECKILL_DUPLICATE);
	admin_counter(o, "unavailable", MC_SECKILL_UNAVAILABLE);
	json_object_object_add(stats, "outcomes", o);
	/* The chart's numbers, summed: the last 600 whole seconds. */
	metrics_series(now_ms / 1000 - 1, METRICS_SERIES, requests, sales);
	for (int i = 0; i < METRICS_SERIES; i++) {
		sum_r += requests[i];
		sum_s += sales[i];
		peak = requests[i] > peak ? requests[i] : peak;
	}
	o = json_object_new_object();
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)sum_r));
	json_object_object_add(o, "sales", json_object_new_int64((int64_t)sum_s));
	json_object_object_add(o, "peak_rps", json_object_new_int64((int64_t)peak));
	json_object_object_add(stats, "last_10m", o);
	json_object_object_add(stats, "repairs", admin_repairs());
	json_object_object_add(stats, "no_repairs", json_object_new_boolean(json_object_array_length(
	    json_object_object_get(stats, "repairs")) == 0));
	o = json_object_new_object();
	admin_counter(o, "orphan_hold", MC_HEAL_ORPHAN);
	admin_counter(o, "release", MC_HEAL_RELEASE);
	admin_counter(o, "stock", MC_HEAL_STOCK);
	admin_counter(o, "rebuild", MC_HEAL_REBUILD);
	admin_counter(o, "parked", MC_HEAL_PARKED);
	admin_counter(o, "phantom", MC_HEAL_PHANTOM);
	json_object_object_add(stats, "heal", o);
	return stats;
}

int
page_admin(struct req *req, struct resp *resp)
{
	struct json_object *stats;
	int status;

	if ((stats = admin_stats()) == NULL)
		return app_unavailable(req, resp, "database");
	/* Live numbers: the default Cache-Control (no-store) stays. */
	status = app_page(req, resp, 200, "admin", "Admin dashboard", stats);
	json_object_put(stats);
	return status;
}

int
api_admin_stats(struct req *req, struct resp *resp)
{
	struct json_object *stats;

	if ((stats = admin_stats()) == NULL)
		return app_unavailable(req, resp, "database");
	resp_json(resp, 200, stats);
	json_object_put(stats);
	return 200;
}

/* ---- the chart ---------------------------------------------------------------------------- */

#define CHART_W 720
#define CHART_H 240
#define CHART_LEFT 54		/* plot area: room for the axis labels around it */
#define CHART_RIGHT (CHART_W - 46)
#define CHART_TOP 40
#define CHART_BOTTOM (CHART_H - 30)
#define CHART_STEPS 4		/* horizontal grid lines above the base line */
#define CHART_PT 7.5		/* label size, points */

struct chart {
	gdImagePtr im;
	int ft;			/* 1 while FreeType draws; 0 after a failure: libgd's small font */
};

/* Says once per process that the chart's font failed (the page reloads it every 2 s). */
static void
chart_font_failed(struct chart *c, const char *err)
{
	static int told;

	if (!told)
		log_warn("chart: font %s: %s; using libgd's built-in font", conf.captcha_font, err);
	told = 1;
	c->ft = 0;
}

/* The width of s in pixels, as chart_text draws it. */
static int
chart_width(struct chart *c, const char *s)
{
	int brect[8];
	char *err;

	if (c->ft) {
		err = gdImageStringFT(NULL, brect, 0, conf.captcha_font, CHART_PT, 0.0, 0, 0,
		    (char *)s);
		if (err == NULL)
			return brect[2] - brect[0];
		chart_font_failed(c, err);
	}
	return (int)strlen(s) * gdFontGetSmall()->w;
}

/* Draws s with its baseline at y; align -1 left of x, 0 centred on x, 1 right of x. */
static void
chart_text(struct chart *c, int x, int y, int align, int colour, const char *s)
{
	int brect[8], w = align < 0 ? 0 : chart_width(c, s);
	char *err;

	x = align < 0 ? x : align == 0 ? x - w / 2 : x - w;
	if (c->ft) {
		err = gdImageStringFT(c->im, brect, colour, conf.captcha_font, CHART_PT, 0.0, x, y,
		    (char *)s);
		if (err == NULL)
			return;
		chart_font_failed(c, err);
	}
	gdImageString(c->im, gdFontGetSmall(), x, y - gdFontGetSmall()->h + 3,
	    (unsigned char *)s, colour);
}

/* The grid step for values up to max: 1, 2 or 5 times a power of ten, CHART_STEPS of them
 * reaching max. */
static unsigned long long
chart_step(unsigned long long max)
{
	unsigned long long p = 1;

	for (;;) {
		if (p * CHART_STEPS >= max)
			return p;
		if (p * 2 * CHART_STEPS >= max)
			return p * 2;
		if (p * 5 * CHART_STEPS >= max)
			return p * 5;
		p *= 10;
	}
}

static int
chart_y(unsigned long long v, unsigned long long top)
{
	return CHART_BOTTOM - (int)((double)v * (CHART_BOTTOM - CHART_TOP) / (double)top + 0.5);
}

static int
chart_x(int i, int n)
{
	return CHART_LEFT + (int)((double)i * (CHART_RIGHT - CHART_LEFT) / (n - 1) + 0.5);
}

/* A legend entry at x: a swatch and the label in colour; returns where the next may start. */
static int
chart_legend(struct chart *c, int x, int colour, const char *label)
{
	gdImageFilledRectangle(c->im, x, 15, x + 14, 18, colour);
	chart_text(c, x + 20, 21, -1, colour, label);
	return x + 20 + chart_width(c, label) + 18;
}

/* The PNG (free it with gdFree) and its length, or NULL (logged). */
/* The drawing as an RGB PNG (free with pngenc_free); NULL when it cannot be encoded. */
static void *
chart_encode(gdImagePtr im, int *len)
{
	unsigned char *rgb = xmalloc((size_t)CHART_H * 3 * CHART_W), *rows[CHART_H];
	void *png;

	for (int y = 0; y < CHART_H; y++) {
		rows[y] = rgb + (size_t)y * 3 * CHART_W;
		for (int x = 0; x < CHART_W; x++) {
			int c = gdImageTrueColorPixel(im, x, y);

			rows[y][3 * x] = (unsigned char)gdTrueColorGetRed(c);
			rows[y][3 * x + 1] = (unsigned char)gdTrueColorGetGreen(c);
			rows[y][3 * x + 2] = (unsigned char)gdTrueColorGetBlue(c);
		}
	}
	if ((png = pngenc_encode(CHART_W, CHART_H, PNGENC_RGB8, NULL, 0, rows, len)) == NULL)
		log_err("chart: PNG encoding failed");
	free(rgb);
	return png;
}

static void *
chart_png(int *len)
{
	unsigned long long requests[METRICS_SERIES], sales[METRICS_SERIES];
	const int n = METRICS_SERIES;
	long long now = clock_wall_ms() / 1000;
	unsigned long long max_r = 0, max_s = 0, sum_s = 0, step_r, step_s;
	int white, plot, grid, axis, ink, muted, blue, blue_fill, red;
	struct chart c = { NULL, 1 };
	gdPoint area[METRICS_SERIES + 2];
	char s[64], s2[64];
	void *png;
	int x;

	*len = 0;
	metrics_series(now - 1, n, requests, sales);
	for (int i = 0; i < n; i++) {
		max_r = requests[i] > max_r ? requests[i] : max_r;
		max_s = sales[i] > max_s ? sales[i] : max_s;
		sum_s += sales[i];
	}
	step_r = chart_step(max_r);
	step_s = chart_step(max_s);
	if ((c.im = gdImageCreateTrueColor(CHART_W, CHART_H)) == NULL) {
		log_err("chart: cannot create a %dx%d image", CHART_W, CHART_H);
		return NULL;
	}
	white = gdTrueColor(255, 255, 255);
	plot = gdTrueColor(251, 252, 253);
	grid = gdTrueColor(230, 232, 236);
	axis = gdTrueColor(160, 166, 176);
	ink = gdTrueColor(29, 33, 41);
	muted = gdTrueColor(123, 130, 144);
	blue = gdTrueColor(29, 95, 209);
	blue_fill = gdTrueColorAlpha(29, 95, 209, 100);
	red = gdTrueColor(232, 56, 27);

	gdImageFilledRectangle(c.im, 0, 0, CHART_W - 1, CHART_H - 1, white);
	gdImageFilledRectangle(c.im, CHART_LEFT, CHART_TOP, CHART_RIGHT, CHART_BOTTOM, plot);

	/* The title, and the legend right-aligned with the plot. */
	chart_text(&c, 12, 21, -1, ink, "Last 10 minutes, per second");
	snprintf(s, sizeof s, "requests/s (peak %llu)", max_r);
	snprintf(s2, sizeof s2, "sales/s (%llu in 10 min)", sum_s);
	x = CHART_RIGHT - (20 + chart_width(&c, s) + 18 + 20 + chart_width(&c, s2));
	x = chart_legend(&c, x, blue, s);
	chart_legend(&c, x, red, s2);

	/* Grid: CHART_STEPS lines, the left scale for requests, the right one for sales. */
	for (int k = 0; k <= CHART_STEPS; k++) {
		int y = chart_y((unsigned long long)k, CHART_STEPS);

		if (k > 0)
			gdImageLine(c.im, CHART_LEFT, y, CHART_RIGHT, y, grid);
		snprintf(s, sizeof s, "%llu", step_r * (unsigned long long)k);
		chart_text(&c, CHART_LEFT - 7, y + 4, 1, blue, s);
		snprintf(s, sizeof s, "%llu", step_s * (unsigned long long)k);
		chart_text(&c, CHART_RIGHT + 7, y + 4, -1, red, s);
	}
	/* A line a minute, labelled every other minute. */
	for (int m = 0; m <= 10; m++) {
		x = chart_x(n - 1 - m * 60 < 0 ? 0 : n - 1 - m * 60, n);
		if (m > 0 && m < 10)
			gdImageDashedLine(c.im, x, CHART_TOP, x, CHART_BOTTOM - 1, grid);
		gdImageLine(c.im, x, CHART_BOTTOM, x, CHART_BOTTOM + 4, axis);
		if (m % 2 == 0) {
			if (m == 0)
				snprintf(s, sizeof s, "now");
			else
				snprintf(s, sizeof s, "-%d min", m);
			chart_text(&c, x, CHART_BOTTOM + 17, m == 10 ? -1 : m == 0 ? 1 : 0, muted,
			    s);
		}
	}

	/* Requests: a soft area under a line. */
	for (int i = 0; i < n; i++) {
		area[i].x = chart_x(i, n);
		area[i].y = chart_y(requests[i], step_r * CHART_STEPS);
	}
	area[n].x = CHART_RIGHT;
	area[n].y = CHART_BOTTOM;
	area[n + 1].x = CHART_LEFT;
	area[n + 1].y = CHART_BOTTOM;
	gdImageFilledPolygon(c.im, area, n + 2, blue_fill);
	gdImageSetThickness(c.im, 2);
	for (int i = 1; i < n; i++)
		gdImageLine(c.im, chart_x(i - 1, n), chart_y(requests[i - 1], step_r * CHART_STEPS),
		    chart_x(i, n), chart_y(requests[i], step_r * CHART_STEPS), blue);
	/* Sales: on top, in the accent colour, with their own scale. */
	for (int i = 1; i < n; i++)
		gdImageLine(c.im, chart_x(i - 1, n), chart_y(sales[i - 1], step_s * CHART_STEPS),
		    chart_x(i, n), chart_y(sales[i], step_s * CHART_STEPS), red);
	gdImageSetThickness(c.im, 1);

	/* Axes last, over the lines' ends. */
	gdImageLine(c.im, CHART_LEFT, CHART_BOTTOM, CHART_RIGHT, CHART_BOTTOM, axis);
	gdImageLine(c.im, CHART_LEFT, CHART_TOP, CHART_LEFT, CHART_BOTTOM, blue);
	gdImageLine(c.im, CHART_RIGHT, CHART_TOP, CHART_RIGHT, CHART_BOTTOM, red);

	png = chart_encode(c.im, len);
	gdImageDestroy(c.im);
	return png;
}

int
page_admin_chart(struct req *req, struct resp *resp)
{
	void *png;
	int len;

	if ((png = chart_png(&len)) == NULL)
		return app_fail(req, resp, 503, "unavailable", "Cannot draw the chart now.");
	resp_png(resp, png, (size_t)len);
	pngenc_free(png);
	return 200;
}

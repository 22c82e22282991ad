/*
 * The operator's dashboard, its numbers (see dashboard.h): per current or recent sale, Redis
 * stock and buyers, MySQL stock_left, orders and outbox rows by status, all MySQL numbers from
 * one snapshot, and the same checks as `seckill-admin reconcile`. Then the RabbitMQ queue
 * depths (passive declares on the worker's connection), the pool-wide counters of metrics.c
 * and the healer's latest repairs.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <amqp.h>
#include <json-c/json.h>

#include "activity.h"
#include "clock.h"
#include "conf.h"
#include "dashboard.h"
#include "db.h"
#include "heal.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"

/* Current and recent sales: not ended, or ended in the last day. Open ones first (the latest
 * opened on top), then upcoming ones (the soonest first), then ended ones. */
#define DASHBOARD_ACTIVITIES "SELECT id, title, stock_total, stock_left, starts_at, ends_at" \
	" FROM activities WHERE ends_at > UTC_TIMESTAMP(3) - INTERVAL 1 DAY" \
	" ORDER BY ends_at <= UTC_TIMESTAMP(3), starts_at > UTC_TIMESTAMP(3)," \
	" IF(starts_at > UTC_TIMESTAMP(3), 0, -UNIX_TIMESTAMP(starts_at)), starts_at, id DESC" \
	" LIMIT 50"

static const char dashboard_activities_sql[] = DASHBOARD_ACTIVITIES;
/* The counts of those same sales (a derived table: IN () takes no LIMIT). */
static const char dashboard_orders_sql[] = "SELECT o.activity_id, o.status, COUNT(*) AS n"
	" FROM orders o JOIN (" DASHBOARD_ACTIVITIES ") a ON a.id = o.activity_id"
	" GROUP BY o.activity_id, o.status";
static const char dashboard_outbox_sql[] = "SELECT o.activity_id, o.status, COUNT(*) AS n"
	" FROM outbox o JOIN (" DASHBOARD_ACTIVITIES ") a ON a.id = o.activity_id"
	" GROUP BY o.activity_id, o.status";

static const char *const dashboard_order_states[] = { "unpaid", "paid", "cancelled", NULL };
static const char *const dashboard_outbox_states[] = { "pending", "sent", "consumed", "failed",
	"void", NULL };

/* {"unpaid":0,...} for the states, filled from rows of (activity_id, status, n) of activity. */
static struct json_object *
dashboard_by_status(struct json_object *rows, long long activity, const char *const *states)
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
dashboard_stock_text(long long stock)
{
	char s[24];

	if (stock < 0)
		return json_object_new_string("∞");
	snprintf(s, sizeof s, "%lld", stock);
	return json_object_new_string(s);
}

/*
 * Adds the numbers and reconcile's verdict to one activity row (from dashboard_activities_sql).
 * redis_ok is cleared when Redis fails, so that the rest of the page does not wait on it.
 */
static void
dashboard_activity(struct json_object *row, struct json_object *orders,
    struct json_object *outbox, long long now_ms, int *redis_ok)
{
	long long id = db_field_int(row, "id"), total = db_field_int(row, "stock_total");
	long long left = db_field_int(row, "stock_left"), rstock = 0, held = 0;
	struct json_object *o = dashboard_by_status(orders, id, dashboard_order_states);
	struct json_object *x = dashboard_by_status(outbox, id, dashboard_outbox_states);
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
	json_object_object_add(row, "redis_stock_text", rs == 0 ? dashboard_stock_text(rstock) :
	    json_object_new_string(rs > 0 ? "–" : "?"));
	json_object_object_add(row, "redis_buyers_text", rs == 0 ? dashboard_stock_text(held) :
	    json_object_new_string(rs > 0 ? "–" : "?"));
	json_object_object_add(row, "stock_left_text", dashboard_stock_text(left));
	json_object_object_add(row, "stock_total_text", dashboard_stock_text(total));
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
dashboard_activities(long long now_ms, int *redis_ok)
{
	struct json_object *rows = NULL, *orders = NULL, *outbox = NULL;
	int began;

	/* One snapshot for the three reads (REPEATABLE READ): the counts agree with stock_left. */
	began = db_begin() == 0;
	if (db_select_json(dashboard_activities_sql, &rows, "") != 0 ||
	    db_select_json(dashboard_orders_sql, &orders, "") != 0 ||
	    db_select_json(dashboard_outbox_sql, &outbox, "") != 0) {
		json_object_put(rows);
		rows = NULL;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		dashboard_activity(json_object_array_get_idx(rows, i), orders, outbox, now_ms,
		    redis_ok);
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
dashboard_queue_depth(amqp_connection_state_t c, const char *name, long long *messages,
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
dashboard_queues(int *amqp_ok)
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

		got = c != NULL && dashboard_queue_depth(c, queues[i][0], &messages, &consumers) == 0;
		if (!got)
			*amqp_ok = 0;
		json_object_object_add(q, "name", json_object_new_string(queues[i][0]));
		json_object_object_add(q, "role", json_object_new_string(queues[i][1]));
		json_object_object_add(q, "about", json_object_new_string(queues[i][2]));
		json_object_object_add(q, "messages", got ? json_object_new_int64(messages) : NULL);
		json_object_object_add(q, "consumers", got ? json_object_new_int64(consumers) : NULL);
		json_object_object_add(q, "messages_text", got ? dashboard_stock_text(messages) :
		    json_object_new_string("?"));
		json_object_object_add(q, "consumers_text", got ? dashboard_stock_text(consumers) :
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
dashboard_counter(struct json_object *o, const char *key, enum metrics_counter c)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)metrics_get(c)));
}

/* The healer's latest repairs (a new array; empty when MySQL fails), newest first. */
static struct json_object *
dashboard_repairs(void)
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
dashboard_build(void)
{
	unsigned long long requests[METRICS_SERIES], sales[METRICS_SERIES];
	long long now_ms = clock_wall_ms();
	unsigned long long sum_r = 0, sum_s = 0, peak = 0;
	struct json_object *stats, *acts, *o;
	int redis_ok = 1, amqp_ok;

	if ((acts = dashboard_activities(now_ms, &redis_ok)) == NULL)
		return NULL;
	stats = json_object_new_object();
	json_object_object_add(stats, "now_ms", json_object_new_int64(now_ms));
	json_object_object_add(stats, "activities", acts);
	json_object_object_add(stats, "no_activities",
	    json_object_new_boolean(json_object_array_length(acts) == 0));
	json_object_object_add(stats, "queues", dashboard_queues(&amqp_ok));
	o = json_object_new_object();
	json_object_object_add(o, "mysql", json_object_new_string("ok"));
	json_object_object_add(o, "redis", json_object_new_string(redis_ok ? "ok" : "down"));
	json_object_object_add(o, "amqp", json_object_new_string(amqp_ok ? "ok" : "down"));
	json_object_object_add(stats, "backends", o);
	dashboard_counter(stats, "ratelimited", MC_RATELIMITED);
	o = json_object_new_object();
	dashboard_counter(o, "queued", MC_SECKILL_QUEUED);
	dashboard_counter(o, "sold_out", MC_SECKILL_SOLD_OUT);
	dashboard_counter(o, "sold_out_local", MC_SECKILL_SOLD_OUT_LOCAL);
	dashboard_counter(o, "duplicate", MC_SECKILL_DUPLICATE);
	dashboard_counter(o, "unavailable", MC_SECKILL_UNAVAILABLE);
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
	json_object_object_add(stats, "repairs", dashboard_repairs());
	json_object_object_add(stats, "no_repairs", json_object_new_boolean(json_object_array_length(
	    json_object_object_get(stats, "repairs")) == 0));
	o = json_object_new_object();
	dashboard_counter(o, "orphan_hold", MC_HEAL_ORPHAN);
	dashboard_counter(o, "release", MC_HEAL_RELEASE);
	dashboard_counter(o, "stock", MC_HEAL_STOCK);
	dashboard_counter(o, "rebuild", MC_HEAL_REBUILD);
	dashboard_counter(o, "parked", MC_HEAL_PARKED);
	dashboard_counter(o, "phantom", MC_HEAL_PHANTOM);
	json_object_object_add(stats, "heal", o);
	return stats;
}

enum dashboard_outcome
dashboard_stats(struct json_object **stats)
{
	*stats = dashboard_build();
	return *stats != NULL ? DASHBOARD_OK : DASHBOARD_UNAVAILABLE_DB;
}

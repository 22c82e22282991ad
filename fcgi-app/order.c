#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "heal.h"
#include "metrics.h"
#include "log.h"
#include "mq.h"
#include "order.h"
#include "seckill.h"
#include "xmem.h"

static int
order_get_int(struct json_object *o, const char *key, long long *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

int
order_parse(const char *body, size_t len, struct order_msg *m, const char **why)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = json_tokener_parse_ex(tok, body, (int)len), *v;
	int rc = -1;

	memset(m, 0, sizeof *m);
	*why = "payload is not a JSON object";
	if (o == NULL || !json_object_is_type(o, json_type_object))
		goto out;
	*why = "message_id is missing or not 32 hex digits";
	if (!json_object_object_get_ex(o, "message_id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !seckill_is_ref(json_object_get_string(v)))
		goto out;
	snprintf(m->message_id, sizeof m->message_id, "%s", json_object_get_string(v));
	*why = "activity_id, user_id or amount_cents is missing or not a number";
	if (order_get_int(o, "activity_id", &m->activity_id) != 0 ||
	    order_get_int(o, "user_id", &m->user_id) != 0 ||
	    order_get_int(o, "amount_cents", &m->amount_cents) != 0 ||
	    m->activity_id <= 0 || m->user_id <= 0 || m->amount_cents < 0)
		goto out;
	*why = NULL;
	rc = 0;
out:
	if (o != NULL)
		json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

/* One value of the first row of a query: 0 found, 1 no row, -1 failure. */
static int
order_select_one(struct json_object **rows, struct json_object **row)
{
	if (*rows == NULL)
		return -1;
	if (json_object_array_length(*rows) == 0)
		return 1;
	*row = json_object_array_get_idx(*rows, 0);
	return 0;
}

/* How a rejected message's unit is settled in Redis. */
enum order_unit {
	UNIT_BACK,		/* it goes back to stock (MySQL never counted it either) */
	UNIT_PHANTOM,		/* Redis had a unit MySQL did not: forgotten, not given back */
	UNIT_KEEP_LIVE,		/* the user holds another live order: Redis keeps them under it */
};

/*
 * Settles a message without an order: whatever the open transaction did is rolled back, then
 * in a transaction of its own the dedup row (rejected) and the outbox row failed with the
 * reason (so /result says failed and why), commit; then Redis, idempotently.
 */
static enum order_outcome
order_reject(const struct order_msg *m, const char *why, enum order_unit unit,
    const char *live_ref)
{
	int g;

	db_rollback();
	if (db_begin() != 0)
		goto retry;
	if (db_exec("INSERT INTO message_processing (message_id, result) VALUES (?, 'rejected')",
	    NULL, NULL, "s", m->message_id) != 0) {
		db_rollback();
		return db_last_errno() == DB_ER_DUP_ENTRY ? ORDER_ALREADY : ORDER_RETRY;
	}
	if (db_exec("UPDATE outbox SET status = 'failed', last_error = ?,"
	    " updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND status IN ('pending', 'sent')",
	    NULL, NULL, "ss", why, m->message_id) != 0 || db_commit() != 0)
		goto retry;
	if (unit == UNIT_PHANTOM)
		g = seckill_release(m->activity_id, m->user_id, m->message_id, 0, NULL);
	else
		g = seckill_release(m->activity_id, m->user_id, m->message_id, 1,
		    unit == UNIT_KEEP_LIVE ? live_ref : NULL);
	if (g < 0)
		log_warn("order %s: rejected, but Redis could not settle the unit yet (the healer"
		    " will)", m->message_id);
	else if (g == 1 && unit == UNIT_PHANTOM) {
		metrics_inc(MC_HEAL_PHANTOM);
		heal_log(m->activity_id, "phantom", "Redis sold a unit MySQL did not have: the"
		    " buyer's hold was dropped, no unit given back");
	}
	return ORDER_REJECTED;
retry:
	db_rollback();
	return ORDER_RETRY;
}

int
order_park(const char *message_id, const char *why)
{
	struct json_object *rows = NULL, *row;
	unsigned long long n = 0;
	int rc = -1;

	if (!seckill_is_ref(message_id))
		return 0;
	if (db_select_json("SELECT activity_id, user_id FROM outbox WHERE id = ?", &rows, "s",
	    message_id) != 0)
		return -1;
	if (json_object_array_length(rows) == 0) {
		rc = 0;
		goto out;
	}
	row = json_object_array_get_idx(rows, 0);
	if (db_exec("UPDATE outbox SET status = 'failed', last_error = ?,"
	    " updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND status IN ('pending', 'sent')", &n,
	    NULL, "ss", why, message_id) != 0)
		goto out;
	rc = 0;
	if (n == 1) {
		long long activity = db_field_int(row, "activity_id");
		char detail[256];
		if (seckill_give_back(activity, db_field_int(row, "user_id"), message_id) < 0)
			log_warn("outbox %s: parked; Redis gets the unit back from the healer",
			    message_id);
		snprintf(detail, sizeof detail, "message %.12s… parked (%s): its row failed, its"
		    " unit given back", message_id, why);
		metrics_inc(MC_HEAL_PARKED);
		heal_log(activity, "parked", detail);
		rc = 1;
	}
out:
	json_object_put(rows);
	return rc;
}

enum order_outcome
order_create(const struct order_msg *m, long long *order_id, const char **why)
{
	struct json_object *rows = NULL, *row;
	unsigned long long n, id;
	enum order_outcome out = ORDER_RETRY;

	*why = NULL;
	if (db_begin() != 0)
		return ORDER_RETRY;
	/* The dedup key first: a second delivery of a handled message stops here. */
	if (db_exec("INSERT INTO message_processing (message_id) VALUES (?)", NULL, NULL, "s",
	    m->message_id) != 0) {
		out = db_last_errno() == DB_ER_DUP_ENTRY ? ORDER_ALREADY : ORDER_RETRY;
		goto rollback;
	}
	/* The outbox row is the guard against the retry job giving the message up meanwhile. */
	if (db_exec("UPDATE outbox SET status = 'consumed', updated_at = UTC_TIMESTAMP(3)"
	    " WHERE id = ? AND status IN ('pending', 'sent')", &n, NULL, "s", m->message_id) != 0)
		goto rollback;
	if (n == 0) {
		db_select_json("SELECT status, activity_id, user_id FROM outbox WHERE id = ?", &rows,
		    "s", m->message_id);
		switch (order_select_one(&rows, &row)) {
		case 1:
			*why = "no outbox row for this message";
			out = ORDER_POISON;
			goto rollback;
		case 0:
			if (strcmp(db_field_str(row, "status", ""), "failed") == 0 ||
			    strcmp(db_field_str(row, "status", ""), "void") == 0) {
				json_object_put(rows);
				*why = "the outbox gave this message up before it arrived";
				return order_reject(m, *why, UNIT_BACK, NULL);
			}
			*why = "outbox row already consumed by another message";
			out = ORDER_POISON;
			goto rollback;
		default:
			goto rollback;
		}
	}
	db_select_json("SELECT stock_total FROM activities WHERE id = ?", &rows, "i", m->activity_id);
	switch (order_select_one(&rows, &row)) {
	case 1:
		*why = "unknown activity";
		out = ORDER_POISON;
		goto rollback;
	case -1:
		goto rollback;
	}
	long long total = db_field_int(row, "stock_total");
	json_object_put(rows);
	rows = NULL;
	if (db_exec("INSERT INTO orders (user_id, activity_id, message_id, amount_cents, pay_deadline)"
	    " VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3) + INTERVAL ? SECOND)", NULL, &id, "iisii",
	    m->user_id, m->activity_id, m->message_id, m->amount_cents,
	    (long long)conf.order_pay_timeout) != 0) {
		if (db_last_errno() == DB_ER_DUP_ENTRY && strstr(db_last_error(), "uq_orders_message") != NULL) {
			/* This message made its order before (its dedup row was pruned). */
			db_rollback();
			return ORDER_ALREADY;
		}
		if (db_last_errno() == DB_ER_DUP_ENTRY) {
			char live[SECKILL_REF_LEN + 1] = "";
			db_rollback();
			if (db_select_json("SELECT message_id FROM orders WHERE user_id = ? AND"
			    " activity_id = ? AND status <> 'cancelled' LIMIT 1", &rows, "ii",
			    m->user_id, m->activity_id) == 0 && json_object_array_length(rows) == 1)
				snprintf(live, sizeof live, "%s", db_field_str(
				    json_object_array_get_idx(rows, 0), "message_id", ""));
			json_object_put(rows);
			*why = "you already hold a live order for this sale";
			return order_reject(m, *why, live[0] ? UNIT_KEEP_LIVE : UNIT_BACK, live);
		}
		if (db_last_errno() == DB_ER_NO_REFERENCED_ROW) {	/* no such user */
			*why = "unknown user";
			out = ORDER_POISON;
		}
		goto rollback;
	}
	if (total >= 0) {
		if (db_exec("UPDATE activities SET stock_left = stock_left - 1,"
		    " updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND stock_left > 0", &n, NULL, "i",
		    m->activity_id) != 0)
			goto rollback;
		if (n == 0) {
			/* MySQL has no unit left for it: never oversell, whatever Redis said. The unit
			 * Redis sold never existed: it is not given back (the healer sets Redis's
			 * stock to MySQL's once the sale is quiet). */
			*why = "sold out: the sale had no unit left for this order";
			log_err("order %s: activity %lld has no stock left in MySQL: rejected",
			    m->message_id, m->activity_id);
			return order_reject(m, *why, UNIT_PHANTOM, NULL);
		}
	}
	if (db_exec("UPDATE message_processing SET order_id = ? WHERE message_id = ?", NULL, NULL,
	    "is", (long long)id, m->message_id) != 0 || db_commit() != 0)
		goto rollback;
	*order_id = (long long)id;
	return ORDER_CREATED;
rollback:
	json_object_put(rows);
	db_rollback();
	return out;
}

/* ---- the batch ---- */

/* The index of the row of rows whose column key is the string ref, -1 when none. */
static int
order_row_of(struct json_object *rows, const char *key, const char *ref)
{
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		if (strcmp(db_field_str(json_object_array_get_idx(rows, i), key, ""), ref) == 0)
			return (int)i;
	return -1;
}

/* Makes q the statement head, the refs of the messages picked (pick[i] != 0; all when pick is
 * NULL) as a quoted, comma-separated list, then tail. */
static void
order_ref_list(struct buf *q, const char *head, const struct order_msg *m, int n,
    const unsigned char *pick, const char *tail)
{
	int first = 1;

	buf_reset(q);
	buf_puts(q, head);
	for (int i = 0; i < n; i++)
		if (pick == NULL || pick[i]) {
			buf_printf(q, "%s'%s'", first ? "" : ",", m[i].message_id);
			first = 0;
		}
	buf_puts(q, tail);
}

static int
order_batch_run(struct buf *q, struct json_object **rows, unsigned long long *affected)
{
	return db_query(q->data, q->len, rows, affected);
}

int
order_create_batch(const struct order_msg *m, int n, enum order_outcome *out,
    long long *order_id)
{
	struct json_object *outbox = NULL, *done = NULL, *acts = NULL, *made = NULL;
	unsigned char *take = xcalloc((size_t)n, 1);
	long long *left = xcalloc((size_t)n, sizeof *left);
	int *act_of = xcalloc((size_t)n, sizeof *act_of), ntake = 0, rc = -1;
	unsigned long long changed;
	struct buf q;

	buf_init(&q);
	for (int i = 0; i < n; i++) {
		out[i] = ORDER_ALONE;
		order_id[i] = 0;
		/* Refs are checked by order_parse; they are inlined below, so check again. */
		if (!seckill_is_ref(m[i].message_id)) {
			rc = 0;
			goto out;
		}
	}
	if (db_begin() != 0)
		goto fail;
	/* The guard rows first, locked in key order (so two consumers never deadlock on them),
	 * then the dedup rows: a message another consumer is handling waits here for its end. */
	order_ref_list(&q, "SELECT id, status FROM outbox WHERE id IN (", m, n, NULL,
	    ") ORDER BY id FOR UPDATE");
	if (order_batch_run(&q, &outbox, NULL) != 0)
		goto fail;
	order_ref_list(&q, "SELECT message_id FROM message_processing WHERE message_id IN (", m,
	    n, NULL, ")");
	if (order_batch_run(&q, &done, NULL) != 0)
		goto fail;
	for (int i = 0; i < n; i++) {
		int r = order_row_of(outbox, "id", m[i].message_id), dup = 0;
		const char *st = r < 0 ? "" : db_field_str(json_object_array_get_idx(outbox,
		    (size_t)r), "status", "");

		if (order_row_of(done, "message_id", m[i].message_id) >= 0) {
			out[i] = ORDER_ALREADY;
			continue;
		}
		for (int j = 0; j < i && !dup; j++)
			dup = strcmp(m[j].message_id, m[i].message_id) == 0 ||
			    (take[j] && m[j].user_id == m[i].user_id &&
			    m[j].activity_id == m[i].activity_id);
		if (!dup && (strcmp(st, "pending") == 0 || strcmp(st, "sent") == 0))
			take[i] = 1;	/* a candidate; the stock decides */
	}
	/* The sales' rows, locked: how many units MySQL still has for this batch. */
	buf_reset(&q);
	buf_puts(&q, "SELECT id, stock_total, stock_left FROM activities WHERE id IN (");
	for (int i = 0; i < n; i++)
		if (take[i]) {
			buf_printf(&q, "%s%lld", ntake ? "," : "", m[i].activity_id);
			ntake++;
		}
	buf_puts(&q, ") ORDER BY id FOR UPDATE");
	if (ntake == 0) {
		db_rollback();
		rc = 0;
		goto out;
	}
	ntake = 0;
	if (order_batch_run(&q, &acts, NULL) != 0)
		goto fail;
	for (size_t a = 0; a < json_object_array_length(acts); a++) {
		struct json_object *row = json_object_array_get_idx(acts, a);
		left[a] = db_field_int(row, "stock_total") < 0 ? -1 : db_field_int(row, "stock_left");
	}
	for (int i = 0; i < n; i++) {
		act_of[i] = -1;
		if (!take[i])
			continue;
		for (size_t a = 0; a < json_object_array_length(acts); a++)
			if (db_field_int(json_object_array_get_idx(acts, a), "id") == m[i].activity_id)
				act_of[i] = (int)a;
		/* An unknown sale, or no unit left in MySQL: order_create says why, alone. */
		if (act_of[i] < 0 || left[act_of[i]] == 0) {
			take[i] = 0;
			continue;
		}
		if (left[act_of[i]] > 0)
			left[act_of[i]]--;
		ntake++;
	}
	if (ntake == 0) {
		db_rollback();
		rc = 0;
		goto out;
	}
	order_ref_list(&q, "UPDATE outbox SET status = 'consumed', updated_at = UTC_TIMESTAMP(3)"
	    " WHERE status IN ('pending', 'sent') AND id IN (", m, n, take, ")");
	if (order_batch_run(&q, NULL, &changed) != 0)
		goto fail;
	if (changed != (unsigned long long)ntake)
		goto alone;		/* cannot be, the rows are locked; if it were: one by one */
	buf_reset(&q);
	buf_puts(&q, "INSERT INTO orders (user_id, activity_id, message_id, amount_cents,"
	    " pay_deadline) VALUES ");
	for (int i = 0, first = 1; i < n; i++)
		if (take[i]) {
			buf_printf(&q, "%s(%lld,%lld,'%s',%lld,UTC_TIMESTAMP(3) + INTERVAL %ld SECOND)",
			    first ? "" : ",", m[i].user_id, m[i].activity_id, m[i].message_id,
			    m[i].amount_cents, conf.order_pay_timeout);
			first = 0;
		}
	if (order_batch_run(&q, NULL, NULL) != 0) {
		/* A user who holds a live order, an unknown user: one by one, each with its why. */
		if (db_last_errno() == DB_ER_DUP_ENTRY || db_last_errno() == DB_ER_NO_REFERENCED_ROW)
			goto alone;
		goto fail;
	}
	for (size_t a = 0; a < json_object_array_length(acts); a++) {
		struct json_object *row = json_object_array_get_idx(acts, a);
		long long k = 0;

		for (int i = 0; i < n; i++)
			k += take[i] && act_of[i] == (int)a;
		if (k == 0 || db_field_int(row, "stock_total") < 0)
			continue;
		buf_reset(&q);
		buf_printf(&q, "UPDATE activities SET stock_left = stock_left - %lld,"
		    " updated_at = UTC_TIMESTAMP(3) WHERE id = %lld AND stock_left >= %lld", k,
		    db_field_int(row, "id"), k);
		if (order_batch_run(&q, NULL, &changed) != 0)
			goto fail;
		if (changed != 1)
			goto alone;	/* the row is locked: cannot be; never oversell if it were */
	}
	order_ref_list(&q, "SELECT id, message_id FROM orders WHERE message_id IN (", m, n, take,
	    ")");
	if (order_batch_run(&q, &made, NULL) != 0)
		goto fail;
	buf_reset(&q);
	buf_puts(&q, "INSERT INTO message_processing (message_id, order_id) VALUES ");
	for (int i = 0, first = 1; i < n; i++)
		if (take[i]) {
			int r = order_row_of(made, "message_id", m[i].message_id);
			if (r < 0)
				goto alone;
			order_id[i] = db_field_int(json_object_array_get_idx(made, (size_t)r), "id");
			buf_printf(&q, "%s('%s',%lld)", first ? "" : ",", m[i].message_id,
			    order_id[i]);
			first = 0;
		}
	if (order_batch_run(&q, NULL, NULL) != 0) {
		if (db_last_errno() == DB_ER_DUP_ENTRY)
			goto alone;
		goto fail;
	}
	/* A lost reply to this COMMIT fails the batch; its redelivery finds the dedup rows. */
	if (db_commit() != 0)
		goto fail;
	for (int i = 0; i < n; i++) {
		if (take[i]) {
			out[i] = ORDER_CREATED;
			continue;
		}
		/* A second copy of a message this batch made an order for. */
		for (int j = 0; j < i && out[i] == ORDER_ALONE; j++)
			if (take[j] && strcmp(m[j].message_id, m[i].message_id) == 0)
				out[i] = ORDER_ALREADY;
	}
	rc = 0;
	goto out;
alone:
	db_rollback();
	for (int i = 0; i < n; i++)
		if (out[i] != ORDER_ALREADY)
			out[i] = ORDER_ALONE, order_id[i] = 0;
	rc = 0;
	goto out;
fail:
	db_rollback();
	for (int i = 0; i < n; i++)
		out[i] = ORDER_RETRY, order_id[i] = 0;
out:
	json_object_put(outbox);
	json_object_put(done);
	json_object_put(acts);
	json_object_put(made);
	buf_free(&q);
	free(take);
	free(left);
	free(act_of);
	return rc;
}

int
order_schedule_timeout(long long order_id)
{
	char body[64], key[64], ref[24];
	int n;

	n = snprintf(body, sizeof body, "{\"order_id\":%lld}", order_id);
	snprintf(key, sizeof key, MQ_DELAY_KEY_FMT, conf.order_pay_timeout);
	snprintf(ref, sizeof ref, "order-%lld", order_id);
	return mq_publish(key, body, (size_t)n, ref);
}

enum order_cancel
order_cancel(long long order_id, const char *reason)
{
	struct json_object *rows = NULL, *row;
	unsigned long long n;
	long long activity, user, total;
	char ref[SECKILL_REF_LEN + 1];

	if (db_begin() != 0)
		return CANCEL_RETRY;
	/* Only the order row is locked (the sale's row is hot); the deadline is MariaDB's clock,
	 * the same the payment checks, so the two agree on the moment. */
	db_select_json("SELECT o.user_id, o.activity_id, o.message_id, o.status,"
	    " o.pay_deadline <= UTC_TIMESTAMP(3) AS due,"
	    " (SELECT a.stock_total FROM activities a WHERE a.id = o.activity_id) AS stock_total"
	    " FROM orders o WHERE o.id = ? FOR UPDATE", &rows, "i", order_id);
	switch (order_select_one(&rows, &row)) {
	case 1:
		json_object_put(rows);
		db_rollback();
		return CANCEL_MISSING;
	case -1:
		db_rollback();
		return CANCEL_RETRY;
	}
	if (strcmp(db_field_str(row, "status", ""), "unpaid") != 0 || !db_field_int(row, "due")) {
		enum order_cancel c = strcmp(db_field_str(row, "status", ""), "unpaid") != 0 ?
		    CANCEL_NOOP : CANCEL_NOT_DUE;
		json_object_put(rows);
		db_rollback();
		return c;
	}
	activity = db_field_int(row, "activity_id");
	user = db_field_int(row, "user_id");
	total = db_field_int(row, "stock_total");
	snprintf(ref, sizeof ref, "%s", db_field_str(row, "message_id", ""));
	json_object_put(rows);
	/* Compare-and-set: only the one who changed the row gives the unit back. */
	if (db_exec("UPDATE orders SET status = 'cancelled', cancelled_at = UTC_TIMESTAMP(3),"
	    " cancel_reason = ? WHERE id = ? AND status = 'unpaid'", &n, NULL, "si", reason,
	    order_id) != 0)
		goto retry;
	if (n == 1 && total >= 0 && db_exec("UPDATE activities SET stock_left = stock_left + 1,"
	    " updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND stock_left < stock_total", NULL, NULL,
	    "i", activity) != 0)
		goto retry;
	if (db_commit() != 0)
		goto retry;
	if (n == 0)
		return CANCEL_NOOP;
	/* Redis after the commit, idempotently (only the holder of this ref gives it back); if
	 * Redis is down now, the sweep gives it back later. */
	if (seckill_give_back(activity, user, ref) < 0)
		log_warn("order %lld: cancelled; Redis will get the unit back at the next sweep",
		    order_id);
	log_info("order %lld cancelled (%s): unit back to activity %lld", order_id, reason,
	    activity);
	return CANCEL_DONE;
retry:
	db_rollback();
	return CANCEL_RETRY;
}

int
order_sweep(void)
{
	struct json_object *rows = NULL;
	int cancelled = 0;

	if (db_select_json("SELECT id FROM orders WHERE status = 'unpaid'"
	    " AND pay_deadline < UTC_TIMESTAMP(3) - INTERVAL 2 SECOND ORDER BY pay_deadline LIMIT 1000",
	    &rows, "") != 0)
		return -1;
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		if (order_cancel(db_field_int(json_object_array_get_idx(rows, i), "id"), "sweep") ==
		    CANCEL_DONE)
			cancelled++;
	json_object_put(rows);
	rows = NULL;
	/* Units of cancelled orders (and failed outbox rows) that Redis may still hold. */
	if (db_select_json("(SELECT user_id, activity_id, message_id FROM orders"
	    " WHERE status = 'cancelled' AND cancelled_at > UTC_TIMESTAMP(3) - INTERVAL 1 DAY"
	    " ORDER BY cancelled_at DESC LIMIT 500) UNION ALL (SELECT user_id, activity_id, id"
	    " FROM outbox WHERE status = 'failed' AND updated_at > UTC_TIMESTAMP(3) - INTERVAL 1 DAY"
	    " ORDER BY updated_at DESC LIMIT 500)", &rows, "") != 0)
		return -1;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		if (seckill_give_back(db_field_int(row, "activity_id"), db_field_int(row, "user_id"),
		    db_field_str(row, "message_id", "")) == 1)
			log_info("sweep: gave back a unit Redis still held for %s",
			    db_field_str(row, "message_id", ""));
	}
	json_object_put(rows);
	return cancelled;
}

static int outbox_retry_claimed(struct json_object *rows);

int
outbox_retry_pass(void)
{
	struct json_object *rows = NULL;
	size_t n;

	/*
	 * Claim first, publish after: a short transaction takes due rows with SKIP LOCKED (a
	 * second job takes other rows, never the same) and moves their next attempt a minute
	 * ahead, a lease. Only then are they published, each settled by its own update. A
	 * conflict while claiming rolls back before anything was sent; a job that dies
	 * mid-way leaves rows that come due again when the lease ends.
	 */
	for (int attempt = 0; attempt < 3; attempt++) {
		if (db_begin() != 0)
			return -1;
		if (db_select_json("SELECT id, activity_id, user_id, payload, send_count FROM outbox"
		    " WHERE status = 'pending' AND next_attempt_at <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND"
		    " ORDER BY next_attempt_at LIMIT 100 FOR UPDATE SKIP LOCKED", &rows, "i",
		    (long long)conf.outbox_grace) != 0)
			goto fail;
		n = json_object_array_length(rows);
		for (size_t i = 0; i < n; i++)
			if (db_exec("UPDATE outbox SET next_attempt_at = UTC_TIMESTAMP(3) +"
			    " INTERVAL 60 SECOND WHERE id = ?", NULL, NULL, "s",
			    db_field_str(json_object_array_get_idx(rows, i), "id", "")) != 0)
				goto fail;
		if (db_commit() == 0)
			return outbox_retry_claimed(rows);
fail:
		db_rollback();
		json_object_put(rows);
		rows = NULL;
		/* Two jobs claiming at once may deadlock on the index: nothing was sent; again. */
		if (db_last_errno() != DB_ER_LOCK_DEADLOCK)
			return -1;
	}
	return -1;
}

/* Publishes the claimed rows and settles each; returns how many (frees rows). */
static int
outbox_retry_claimed(struct json_object *rows)
{
	size_t n = json_object_array_length(rows);
	int handled = 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		const char *id = db_field_str(row, "id", ""), *payload = db_field_str(row, "payload", "");
		long long sends = db_field_int(row, "send_count");
		unsigned long long changed = 0;

		if (sends >= conf.outbox_max_send) {
			if (db_exec("UPDATE outbox SET status = 'failed', last_error = 'gave up after"
			    " outbox.max_send sends', updated_at = UTC_TIMESTAMP(3) WHERE id = ?"
			    " AND status = 'pending'", &changed, NULL, "s", id) != 0)
				break;
			if (changed == 1) {
				log_warn("outbox %s: given up after %lld sends; unit back to stock", id,
				    sends);
				if (seckill_give_back(db_field_int(row, "activity_id"),
				    db_field_int(row, "user_id"), id) < 0)
					log_warn("outbox %s: Redis will get the unit back at the next"
					    " sweep", id);
			}
		} else if (mq_publish(MQ_ORDERS_KEY, payload, strlen(payload), id) == 0) {
			/* The consumer may have taken it already: count the send all the same. */
			if (db_exec("UPDATE outbox SET send_count = send_count + 1,"
			    " status = IF(status = 'pending', 'sent', status),"
			    " updated_at = UTC_TIMESTAMP(3) WHERE id = ?", NULL, NULL, "s", id) != 0)
				break;
		} else {
			/* Not confirmed: again later, a little later each time. */
			if (db_exec("UPDATE outbox SET send_count = send_count + 1,"
			    " last_error = 'publish not confirmed', updated_at = UTC_TIMESTAMP(3),"
			    " next_attempt_at = UTC_TIMESTAMP(3) + INTERVAL ? SECOND WHERE id = ?"
			    " AND status = 'pending'", NULL, NULL, "is",
			    (long long)conf.outbox_grace * (sends > 0 ? sends : 1), id) != 0)
				break;
		}
		handled++;
	}
	json_object_put(rows);
	return handled;
}

/* ---- the buyer's side: list, get, pay ---- */

/* The order columns, with the sale's title (a plain read: no lock on the hot activity row). */
#define ORDER_COLUMNS "o.id, o.activity_id, a.title, o.status, o.amount_cents, o.created_at," \
	" o.pay_deadline, o.paid_at, o.cancelled_at, o.cancel_reason," \
	" o.pay_deadline <= UTC_TIMESTAMP(3) AS overdue" \
	" FROM orders o LEFT JOIN activities a ON a.id = o.activity_id"

static const char order_list_sql[] = "SELECT " ORDER_COLUMNS
	" WHERE o.user_id = ? ORDER BY o.created_at DESC, o.id DESC LIMIT 500";
static const char order_one_sql[] = "SELECT " ORDER_COLUMNS
	" WHERE o.id = ? AND o.user_id = ?";
/* The pay transaction's first step: the row lock that settles a pay racing a cancel. */
static const char order_lock_sql[] = "SELECT status, amount_cents,"
	" pay_deadline <= UTC_TIMESTAMP(3) AS overdue FROM orders"
	" WHERE id = ? AND user_id = ? FOR UPDATE";
static const char order_payment_sql[] = "INSERT INTO payments (order_id, amount_cents, gateway,"
	" gateway_ref) VALUES (?, ?, 'fake', ?)";
static const char order_paid_sql[] = "UPDATE orders SET status = 'paid',"
	" paid_at = UTC_TIMESTAMP(3) WHERE id = ? AND status = 'unpaid'";

#define ORDER_PAY_TRIES 3	/* a deadlock runs the whole transaction again */

int
order_status_is(struct json_object *row, const char *status)
{
	const char *s = db_field_str(row, "status", NULL);
	return s != NULL && strcmp(s, status) == 0;
}

int
order_list(long long user, struct json_object **rows)
{
	*rows = NULL;
	return db_select_json(order_list_sql, rows, "i", user) != 0 ? -1 : 0;
}

int
order_get(long long id, long long user, struct json_object **row)
{
	return db_select_row(order_one_sql, row, "ii", id, user);
}

/* One run of the pay transaction; ORDER_PAY_FAILED with *deadlock set when MySQL said 1213. */
static enum order_pay
order_pay_once(long long id, long long user, struct json_object **row, int *deadlock)
{
	struct json_object *locked = NULL;
	unsigned char raw[16];
	char ref[sizeof raw * 2 + 1];
	unsigned long long changed = 0;
	enum order_pay rc = ORDER_PAY_FAILED;
	int charged = 0, duplicate = 0, found;

	*row = NULL;
	*deadlock = 0;
	if (db_begin() != 0)
		goto out;
	if ((found = db_select_row(order_lock_sql, &locked, "ii", id, user)) != 0) {
		if (found > 0)
			rc = ORDER_PAY_ABSENT;
		goto out;
	}
	if (order_status_is(locked, "cancelled")) {
		rc = ORDER_PAY_CANCELLED;
		goto out;
	}
	if (order_status_is(locked, "unpaid")) {
		if (db_field_int(locked, "overdue")) {
			/* The timeout job cancels it and gives the unit back. */
			rc = ORDER_PAY_CLOSED;
			goto out;
		}
		randombytes_buf(raw, sizeof raw);
		sodium_bin2hex(ref, sizeof ref, raw, sizeof raw);
		if (db_exec(order_payment_sql, NULL, NULL, "iis", id,
		    db_field_int(locked, "amount_cents"), ref) != 0) {
			duplicate = db_last_errno() == DB_ER_DUP_ENTRY;
			goto out;
		}
		if (db_exec(order_paid_sql, &changed, NULL, "i", id) != 0)
			goto out;
		if (changed != 1) {
			/* Cannot happen under the row lock; never charge without the order. */
			log_err("order %lld: locked unpaid, but the paid update changed %llu rows",
			    id, changed);
			goto out;
		}
		charged = 1;
	}
	if (order_get(id, user, row) != 0)
		goto out;
	/* A COMMIT lost with the connection may have landed: paying again then answers paid. */
	if (charged && db_commit() != 0)
		goto out;
	rc = ORDER_PAY_PAID;
out:
	if (rc == ORDER_PAY_FAILED && db_last_errno() == DB_ER_LOCK_DEADLOCK)
		*deadlock = 1;
	if (rc != ORDER_PAY_PAID) {
		json_object_put(*row);
		*row = NULL;
	}
	if (rc != ORDER_PAY_PAID || !charged)
		db_rollback();	/* nothing changed, or something failed: end the transaction */
	json_object_put(locked);
	if (duplicate) {
		/* Another request paid it first (a double click): the order as it is now. */
		if (order_get(id, user, row) == 0 && order_status_is(*row, "paid"))
			return ORDER_PAY_PAID;
		json_object_put(*row);
		*row = NULL;
		log_err("order %lld: a payment exists but the order is not paid", id);
	}
	return rc;
}

enum order_pay
order_pay(long long id, long long user, struct json_object **row)
{
	enum order_pay rc;
	int deadlock, tries = 0;

	do
		rc = order_pay_once(id, user, row, &deadlock);
	while (rc == ORDER_PAY_FAILED && deadlock && ++tries < ORDER_PAY_TRIES);
	return rc;
}

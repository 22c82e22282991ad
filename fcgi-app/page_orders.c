/*
 * Orders and payment: GET /api/orders, GET /api/orders/{id}, POST /api/orders/{id}/pay (a
 * simulated gateway), and the pages /orders and /orders/{id}. Every lookup is by id AND the
 * caller's user id, so another user's order reads exactly like one that does not exist.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <sodium.h>

#include "activity.h"
#include "app.h"
#include "db.h"
#include "log.h"
#include "pages.h"
#include "req.h"
#include "resp.h"
#include "session.h"

/* The order columns, with the sale's title (a plain read: no lock on the hot activity row). */
#define ORDERS_COLUMNS "o.id, o.activity_id, a.title, o.status, o.amount_cents, o.created_at," \
	" o.pay_deadline, o.paid_at, o.cancelled_at, o.cancel_reason," \
	" o.pay_deadline <= UTC_TIMESTAMP(3) AS overdue" \
	" FROM orders o LEFT JOIN activities a ON a.id = o.activity_id"

static const char orders_list_sql[] = "SELECT " ORDERS_COLUMNS
	" WHERE o.user_id = ? ORDER BY o.created_at DESC, o.id DESC LIMIT 500";
static const char orders_one_sql[] = "SELECT " ORDERS_COLUMNS
	" WHERE o.id = ? AND o.user_id = ?";
/* The pay transaction's first step: the row lock that settles a pay racing a cancel. */
static const char orders_lock_sql[] = "SELECT status, amount_cents,"
	" pay_deadline <= UTC_TIMESTAMP(3) AS overdue FROM orders"
	" WHERE id = ? AND user_id = ? FOR UPDATE";
static const char orders_payment_sql[] = "INSERT INTO payments (order_id, amount_cents, gateway,"
	" gateway_ref) VALUES (?, ?, 'fake', ?)";
static const char orders_paid_sql[] = "UPDATE orders SET status = 'paid',"
	" paid_at = UTC_TIMESTAMP(3) WHERE id = ? AND status = 'unpaid'";

#define ORDERS_PAY_TRIES 3	/* a deadlock (1213) runs the whole transaction again */

static int
orders_is(struct json_object *o, const char *status)
{
	const char *s = db_field_str(o, "status", NULL);
	return s != NULL && strcmp(s, status) == 0;
}

/* The order of the path's :id: 0 with *id set, -1 when the id is malformed. */
static int
orders_parse_id(struct req *req, long long *id)
{
	return activity_parse_id(req_path_param(req, "id"), id);
}

/* The caller's order id as a row of ORDERS_COLUMNS: 0 found (*row new), 1 absent, -1 failure. */
static int
orders_load(long long id, long long user, struct json_object **row)
{
	struct json_object *rows = NULL;
	int rc = 1;

	*row = NULL;
	if (db_select_json(orders_one_sql, &rows, "ii", id, user) != 0)
		return -1;
	if (json_object_array_length(rows) == 1) {
		*row = json_object_get(json_object_array_get_idx(rows, 0));
		rc = 0;
	}
	json_object_put(rows);
	return rc;
}

/* The API.md order object O (a new object) from a row of ORDERS_COLUMNS. */
static struct json_object *
orders_api(struct json_object *row)
{
	static const char *const keys[] = { "id", "activity_id", "title", "status",
		"amount_cents", "created_at", "pay_deadline" };
	struct json_object *o = json_object_new_object(), *v;

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_object_get_ex(row, keys[i], &v) && v != NULL)
			json_object_object_add(o, keys[i], json_object_get(v));
	if (orders_is(row, "paid") && json_object_object_get_ex(row, "paid_at", &v) && v != NULL)
		json_object_object_add(o, "paid_at", json_object_get(v));
	if (orders_is(row, "cancelled")) {
		if (json_object_object_get_ex(row, "cancelled_at", &v) && v != NULL)
			json_object_object_add(o, "cancelled_at", json_object_get(v));
		if (json_object_object_get_ex(row, "cancel_reason", &v) && v != NULL)
			json_object_object_add(o, "cancel_reason", json_object_get(v));
	}
	return o;
}

/* 200 {"order":O}; returns the status. */
static int
orders_answer(struct resp *resp, struct json_object *row)
{
	struct json_object *out = json_object_new_object();

	json_object_object_add(out, "order", orders_api(row));
	resp_json(resp, 200, out);
	json_object_put(out);
	return 200;
}

static void
orders_time(struct json_object *row, const char *key, const char *prefix)
{
	char name[32], iso[32];
	long long ms;
	struct json_object *v;
	struct tm tm;
	time_t t;

	if (!json_object_object_get_ex(row, key, &v) || v == NULL)
		return;
	ms = json_object_get_int64(v);
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(name, sizeof name, "%s_ms", prefix);
	json_object_object_add(row, name, json_object_new_int64(ms));
	snprintf(name, sizeof name, "%s_iso", prefix);
	json_object_object_add(row, name, json_object_new_string(iso));
}

/* Adds the page-only fields to a row of ORDERS_COLUMNS: labels and preformatted values. */
static void
orders_decorate(struct json_object *row)
{
	const char *reason = db_field_str(row, "cancel_reason", NULL);
	int unpaid = orders_is(row, "unpaid"), overdue = db_field_int(row, "overdue") != 0;
	char price[64];

	if (db_field_str(row, "title", NULL) == NULL) {
		snprintf(price, sizeof price, "Flash sale #%lld", db_field_int(row, "activity_id"));
		json_object_object_add(row, "title", json_object_new_string(price));
	}
	activity_price(db_field_int(row, "amount_cents"), price, sizeof price);
	json_object_object_add(row, "price", json_object_new_string(price));
	json_object_object_add(row, "status_label", json_object_new_string(
	    unpaid ? (overdue ? "Window closed" : "Awaiting payment") :
	    orders_is(row, "paid") ? "Paid" : "Cancelled"));
	json_object_object_add(row, "is_paid", json_object_new_boolean(orders_is(row, "paid")));
	json_object_object_add(row, "is_cancelled",
	    json_object_new_boolean(orders_is(row, "cancelled")));
	json_object_object_add(row, "can_pay", json_object_new_boolean(unpaid && !overdue));
	/* Unpaid past the deadline: the timeout job is about to cancel it; it cannot be paid. */
	json_object_object_add(row, "window_closed", json_object_new_boolean(unpaid && overdue));
	if (reason != NULL)
		json_object_object_add(row, "cancel_text", json_object_new_string(
		    strcmp(reason, "user") == 0 ? "You cancelled this order." :
		    strcmp(reason, "admin") == 0 ? "The shop cancelled this order." :
		    "It was not paid before the payment deadline, so the unit went back on sale."));
	orders_time(row, "created_at", "created");
	orders_time(row, "pay_deadline", "deadline");
	orders_time(row, "paid_at", "paid");
	orders_time(row, "cancelled_at", "cancelled");
}

int
api_orders(struct req *req, struct resp *resp)
{
	struct json_object *rows = NULL, *out = NULL, *list;
	int status;

	if (db_select_json(orders_list_sql, &rows, "i", req->auth->user_id) != 0) {
		status = app_unavailable(req, resp, "database");
		goto out;
	}
	out = json_object_new_object();
	list = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		json_object_array_add(list, orders_api(json_object_array_get_idx(rows, i)));
	json_object_object_add(out, "orders", list);
	resp_json(resp, 200, out);
	status = 200;
out:
	json_object_put(rows);
	json_object_put(out);
	return status;
}

int
api_order(struct req *req, struct resp *resp)
{
	struct json_object *row = NULL;
	long long id;
	int rc, status;

	if (orders_parse_id(req, &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such order.");
	if ((rc = orders_load(id, req->auth->user_id, &row)) < 0)
		status = app_unavailable(req, resp, "database");
	else if (rc > 0)
		status = app_fail(req, resp, 404, "not_found", "No such order.");
	else
		status = orders_answer(resp, row);
	json_object_put(row);
	return status;
}

enum orders_pay {
	PAY_PAID,		/* paid now, or paid before (nothing charged again); *row set */
	PAY_ABSENT,		/* no such order of this user */
	PAY_CANCELLED,
	PAY_CLOSED,		/* unpaid, but the deadline passed */
	PAY_DUPLICATE,		/* the payment insert met a payment already there (1062) */
	PAY_DEADLOCK,		/* 1213: nothing happened, run it again */
	PAY_FAILED,		/* the database failed: nothing happened */
};

/*
 * One run of the pay transaction: lock the order row, check it, charge (the fake gateway) and
 * mark it paid, and read the order back before COMMIT so the answer never depends on a read
 * after the payment is final. Whatever does not reach COMMIT is rolled back.
 */
static enum orders_pay
orders_pay_once(long long id, long long user, struct json_object **row)
{
	struct json_object *rows = NULL, *locked;
	unsigned char raw[16];
	char ref[sizeof raw * 2 + 1];
	unsigned long long changed = 0;
	enum orders_pay rc = PAY_FAILED;
	int charged = 0;
	unsigned err;

	*row = NULL;
	if (db_begin() != 0)
		goto out;
	if (db_select_json(orders_lock_sql, &rows, "ii", id, user) != 0)
		goto out;
	if (json_object_array_length(rows) == 0) {
		rc = PAY_ABSENT;
		goto out;
	}
	locked = json_object_array_get_idx(rows, 0);
	if (orders_is(locked, "cancelled")) {
		rc = PAY_CANCELLED;
		goto out;
	}
	if (orders_is(locked, "unpaid")) {
		if (db_field_int(locked, "overdue")) {
			/* The timeout job cancels it and gives the unit back. */
			rc = PAY_CLOSED;
			goto out;
		}
		randombytes_buf(raw, sizeof raw);
		sodium_bin2hex(ref, sizeof ref, raw, sizeof raw);
		if (db_exec(orders_payment_sql, NULL, NULL, "iis", id,
		    db_field_int(locked, "amount_cents"), ref) != 0) {
			if (db_last_errno() == 1062)
				rc = PAY_DUPLICATE;
			goto out;
		}
		if (db_exec(orders_paid_sql, &changed, NULL, "i", id) != 0)
			goto out;
		if (changed != 1) {
			/* Cannot happen under the row lock; never charge without the order. */
			log_err("order %lld: locked unpaid, but the paid update changed %llu rows",
			    id, changed);
			goto out;
		}
		charged = 1;
	}
	if (orders_load(id, user, row) != 0)
		goto out;
	/* A COMMIT lost with the connection may have landed: paying again then answers paid. */
	if (charged && db_commit() != 0)
		goto out;
	rc = PAY_PAID;
out:
	err = db_last_errno();
	if (rc != PAY_PAID) {
		json_object_put(*row);
		*row = NULL;
		if (rc == PAY_FAILED && err == 1213)
			rc = PAY_DEADLOCK;
	}
	if (rc != PAY_PAID || !charged)
		db_rollback();	/* nothing changed, or something failed: end the transaction */
	json_object_put(rows);
	return rc;
}

int
api_order_pay(struct req *req, struct resp *resp)
{
	struct json_object *row = NULL;
	long long id, user = req->auth->user_id;
	enum orders_pay rc;
	int status, tries = 0;

	if (orders_parse_id(req, &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such order.");
	do
		rc = orders_pay_once(id, user, &row);
	while (rc == PAY_DEADLOCK && ++tries < ORDERS_PAY_TRIES);
	switch (rc) {
	case PAY_PAID:
		status = orders_answer(resp, row);
		break;
	case PAY_ABSENT:
		status = app_fail(req, resp, 404, "not_found", "No such order.");
		break;
	case PAY_CANCELLED:
		status = app_fail(req, resp, 409, "order_cancelled",
		    "This order was cancelled; it can no longer be paid.");
		break;
	case PAY_CLOSED:
		status = app_fail(req, resp, 409, "order_cancelled",
		    "The payment window closed; this order is being cancelled.");
		break;
	case PAY_DUPLICATE:
		/* Another request paid it first (a double click): answer the order as it is now. */
		if (orders_load(id, user, &row) == 0 && orders_is(row, "paid")) {
			status = orders_answer(resp, row);
			break;
		}
		log_err("order %lld: a payment exists but the order is not paid", id);
		status = app_unavailable(req, resp, "database");
		break;
	case PAY_DEADLOCK:
	case PAY_FAILED:
	default:
		status = app_unavailable(req, resp, "database");
		break;
	}
	json_object_put(row);
	return status;
}

int
page_orders(struct req *req, struct resp *resp)
{
	struct json_object *rows = NULL, *data = NULL;
	int status;

	if (db_select_json(orders_list_sql, &rows, "i", req->auth->user_id) != 0) {
		status = app_unavailable(req, resp, "database");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		orders_decorate(json_object_array_get_idx(rows, i));
	data = json_object_new_object();
	json_object_object_add(data, "orders", json_object_get(rows));
	json_object_object_add(data, "empty",
	    json_object_new_boolean(json_object_array_length(rows) == 0));
	/* Personal: the default Cache-Control (no-store) stays. */
	status = app_page(req, resp, 200, "orders", "My orders", data);
out:
	json_object_put(rows);
	json_object_put(data);
	return status;
}

int
page_order(struct req *req, struct resp *resp)
{
	struct json_object *row = NULL, *data = NULL;
	char title[48];
	long long id;
	int rc, status;

	if (orders_parse_id(req, &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such order.");
	if ((rc = orders_load(id, req->auth->user_id, &row)) < 0) {
		status = app_unavailable(req, resp, "database");
		goto out;
	}
	if (rc > 0) {
		status = app_fail(req, resp, 404, "not_found", "No such order.");
		goto out;
	}
	orders_decorate(row);
	data = json_object_new_object();
	json_object_object_add(data, "order", json_object_get(row));
	snprintf(title, sizeof title, "Order #%lld", id);
	/* Personal: the default Cache-Control (no-store) stays. */
	status = app_page(req, resp, 200, "order", title, data);
out:
	json_object_put(row);
	json_object_put(data);
	return status;
}

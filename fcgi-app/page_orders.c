/*
 * Orders and payment: GET /api/orders, GET /api/orders/{id}, POST /api/orders/{id}/pay (a
 * simulated gateway), and the pages /orders and /orders/{id}. Every lookup is by id AND the
 * caller's user id, so another user's order reads exactly like one that does not exist.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "activity.h"
#include "app.h"
#include "db.h"
#include "order.h"
#include "pages.h"
#include "req.h"
#include "resp.h"
#include "session.h"

static int
orders_is(struct json_object *o, const char *status)
{
	return order_status_is(o, status);
}

/* The order of the path's :id: 0 with *id set, -1 when the id is malformed. */
static int
orders_parse_id(struct req *req, long long *id)
{
	return req_path_id(req, "id", id);
}

/* The API.md order object O (a new object) from an order row (order.h). */
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

/* Adds the page-only fields to an order row (order.h): labels and preformatted values. */
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

	if (order_list(req->auth->user_id, &rows) != 0) {
		status = app_unavailable(req, resp, BACKEND_MYSQL);
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
	if ((rc = order_get(id, req->auth->user_id, &row)) < 0)
		status = app_unavailable(req, resp, BACKEND_MYSQL);
	else if (rc > 0)
		status = app_fail(req, resp, 404, "not_found", "No such order.");
	else
		status = orders_answer(resp, row);
	json_object_put(row);
	return status;
}

int
api_order_pay(struct req *req, struct resp *resp)
{
	struct json_object *row = NULL;
	long long id;
	int status;

	if (orders_parse_id(req, &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such order.");
	switch (order_pay(id, req->auth->user_id, &row)) {
	case ORDER_PAY_PAID:
		status = orders_answer(resp, row);
		break;
	case ORDER_PAY_ABSENT:
		status = app_fail(req, resp, 404, "not_found", "No such order.");
		break;
	case ORDER_PAY_CANCELLED:
		status = app_fail(req, resp, 409, "order_cancelled",
		    "This order was cancelled; it can no longer be paid.");
		break;
	case ORDER_PAY_CLOSED:
		status = app_fail(req, resp, 409, "order_cancelled",
		    "The payment window closed; this order is being cancelled.");
		break;
	case ORDER_PAY_FAILED:
	default:
		status = app_unavailable(req, resp, BACKEND_MYSQL);
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

	if (order_list(req->auth->user_id, &rows) != 0) {
		status = app_unavailable(req, resp, BACKEND_MYSQL);
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
	if ((rc = order_get(id, req->auth->user_id, &row)) < 0) {
		status = app_unavailable(req, resp, BACKEND_MYSQL);
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

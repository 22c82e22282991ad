/*
 * The sale: POST /api/captcha, GET /captcha/{id}.png, POST /api/activities/{id}/path,
 * POST /api/activities/{id}/seckill/{path}, GET /api/activities/{id}/result, and the product
 * page /activity/{id}.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "activity.h"
#include "app.h"
#include "captcha.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "pages.h"
#include "ratelimit.h"
#include "relay.h"
#include "req.h"
#include "resp.h"
#include "seckill.h"
#include "session.h"
#include "store.h"

/* {"status":...[,"order_ref":...]}: written directly (the hot path; the values are fixed
 * words and hex refs, nothing to escape). */
static int
sk_json_status(struct resp *resp, const char *status, const char *ref)
{
	resp->status = 200;
	resp->content_type = "application/json; charset=utf-8";
	buf_reset(&resp->body);
	buf_puts(&resp->body, "{\"status\":\"");
	buf_puts(&resp->body, status);
	if (ref != NULL) {
		buf_puts(&resp->body, "\",\"order_ref\":\"");
		buf_puts(&resp->body, ref);
	}
	buf_puts(&resp->body, "\"}");
	return 200;
}

int
api_captcha(struct req *req, struct resp *resp)
{
	char id[SECKILL_REF_LEN + 1], text[8], key[96], image[64];
	struct json_object *o;
	redisReply *r;
	long retry;
	int rc;

	snprintf(key, sizeof key, "rl:captcha:ip:%s", req->remote_addr);
	if ((rc = ratelimit_hit(key, conf.ratelimit_captcha_per_ip, 60, &retry)) < 0)
		return app_unavailable(req, resp, "redis");
	if (rc > 0)
		return app_too_many(req, resp, retry, "rate_limited", "Too many captchas; wait a little.");
	seckill_ref(id);
	captcha_text(text, 5);
	snprintf(key, sizeof key, "captcha:%s", id);
	if ((r = store_command("SET %s %s EX %ld", key, text, conf.seckill_captcha_ttl)) == NULL)
		return app_unavailable(req, resp, "redis");
	freeReplyObject(r);
	snprintf(image, sizeof image, "/captcha/%s.png", id);
	o = json_object_new_object();
	json_object_object_add(o, "captcha_id", json_object_new_string(id));
	json_object_object_add(o, "image", json_object_new_string(image));
	json_object_object_add(o, "expires_in", json_object_new_int64(conf.seckill_captcha_ttl));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

int
page_captcha_png(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id");
	char key[96];
	redisReply *r;
	void *png;
	int len, status;

	if (!seckill_is_ref(id))
		return app_fail(req, resp, 404, "not_found", "No such captcha.");
	snprintf(key, sizeof key, "captcha:%s", id);
	if ((r = store_command("GET %s", key)) == NULL)
		return app_unavailable(req, resp, "redis");
	if (r->type != REDIS_REPLY_STRING) {
		status = app_fail(req, resp, 404, "not_found", "This captcha expired or was used.");
	} else if ((png = captcha_png(r->str, &len)) == NULL) {
		status = app_fail(req, resp, 503, "unavailable", "Cannot draw the captcha now.");
	} else {
		resp_png(resp, png, (size_t)len);
		captcha_free(png);
		status = 200;
	}
	freeReplyObject(r);
	return status;
}

/* Looks up the activity of the path's :id; 0 with *a filled, else the status answered. */
static int
sk_activity_of(struct req *req, struct resp *resp, struct seckill_activity *a)
{
	long long id;
	int rc;

	if (activity_parse_id(req_path_param(req, "id"), &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such activity.");
	if ((rc = seckill_activity(id, a)) < 0)
		return app_unavailable(req, resp, "database");
	if (rc > 0)
		return app_fail(req, resp, 404, "not_found", "No such activity.");
	return 0;
}

static int
sk_not_active(struct req *req, struct resp *resp, const struct seckill_activity *a)
{
	long long now = clock_wall_ms();

	if (now < a->starts_ms)
		return app_fail(req, resp, 409, "not_active", "This sale has not started yet.");
	if (now >= a->ends_ms)
		return app_fail(req, resp, 409, "not_active", "This sale has ended.");
	return 0;
}

int
api_path(struct req *req, struct resp *resp)
{
	struct seckill_activity a;
	char path[SECKILL_REF_LEN + 1];
	struct json_object *o;
	int status;

	if ((status = sk_activity_of(req, resp, &a)) != 0 ||
	    (status = sk_not_active(req, resp, &a)) != 0)
		return status;
	if (conf.seckill_captcha) {
		const char *id = req_param(req, "captcha_id");
		const char *answer = req_param(req, "captcha_answer");
		char key[96];
		redisReply *r;
		int good;

		if (id == NULL || answer == NULL)
			return app_fail(req, resp, 400, "bad_request",
			    "captcha_id and captcha_answer are required");
		if (!seckill_is_ref(id))
			return app_fail(req, resp, 403, "bad_captcha", "Wrong or expired captcha.");
		/* Any attempt uses the captcha up: GETDEL reads and removes it at once. */
		snprintf(key, sizeof key, "captcha:%s", id);
		if ((r = store_command("GETDEL %s", key)) == NULL)
			return app_unavailable(req, resp, "redis");
		good = r->type == REDIS_REPLY_STRING && strcasecmp(r->str, answer) == 0;
		freeReplyObject(r);
		if (!good)
			return app_fail(req, resp, 403, "bad_captcha", "Wrong or expired captcha.");
	}
	if (seckill_path_new(a.id, req->auth->user_id, path, conf.seckill_path_ttl) != 0)
		return app_unavailable(req, resp, "redis");
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "expires_in", json_object_new_int64(conf.seckill_path_ttl));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

/* The winner's half: the outbox row in MySQL, handed to the relay. 0 ok, -1 give back. */
static int
sk_record_winner(const struct seckill_activity *a, long long user, const char *ref)
{
	char payload[512];
	int n;

	n = snprintf(payload, sizeof payload, "{\"message_id\":\"%s\",\"activity_id\":%lld,"
	    "\"user_id\":%lld,\"amount_cents\":%lld,\"created_at\":%lld}", ref, a->id, user,
	    a->price_cents, clock_wall_ms());
	if (db_exec("INSERT INTO outbox (id, activity_id, user_id, payload) VALUES (?, ?, ?, ?)",
	    NULL, NULL, "siis", ref, a->id, user, payload) != 0)
		return -1;
	/* From here the order cannot be lost: a row not sent stays pending for the retry job. */
	if (relay_submit(ref, payload, (size_t)n) != 0)
		log_warn("outbox %s: the relay is full; the retry job sends it", ref);
	return 0;
}

int
api_seckill(struct req *req, struct resp *resp)
{
	struct seckill_activity a;
	const char *path = req_path_param(req, "path");
	char ref[SECKILL_REF_LEN + 1];
	long retry;
	int status;

	if ((status = sk_activity_of(req, resp, &a)) != 0 ||
	    (status = sk_not_active(req, resp, &a)) != 0)
		return status;
	if (!conf.seckill_hidden_path && strcmp(path, "direct") == 0)
		path = "";
	else if (!seckill_is_ref(path))
		return app_fail(req, resp, 403, "bad_path", "This buy link is not valid.");
	switch (seckill_take(a.id, req->auth->user_id, path, ref, &retry)) {
	case SK_QUEUED:
		if (sk_record_winner(&a, req->auth->user_id, ref) != 0) {
			/* MySQL refused the outbox row: the unit goes back, the buyer hears 503. */
			if (seckill_give_back(a.id, req->auth->user_id, ref) < 0)
				log_err("activity %lld: could not give back %s of user %lld: reconcile",
				    a.id, ref, req->auth->user_id);
			metrics_inc(MC_SECKILL_UNAVAILABLE);
			return app_unavailable(req, resp, "database");
		}
		return sk_json_status(resp, "queued", ref);
	case SK_SOLD_OUT:
		return sk_json_status(resp, "sold_out", NULL);
	case SK_DUPLICATE:
		return sk_json_status(resp, "duplicate", NULL);
	case SK_BAD_PATH:
		return app_fail(req, resp, 403, "bad_path", "This buy link is not valid or expired.");
	case SK_RATE_LIMITED:
		return app_too_many(req, resp, retry, "rate_limited", "Too many attempts; wait a little.");
	case SK_NOT_WARMED:
		metrics_inc(MC_SECKILL_UNAVAILABLE);
		return app_unavailable(req, resp, "stock");
	case SK_FAILED:
	default:
		metrics_inc(MC_SECKILL_UNAVAILABLE);
		return app_unavailable(req, resp, "redis");
	}
}

int
api_result(struct req *req, struct resp *resp)
{
	struct seckill_activity a;
	struct json_object *rows = NULL, *v, *o;
	char ref[SECKILL_REF_LEN + 1];
	const char *state = "none";
	long long order_id = 0, user;
	int status, held;

	if ((status = sk_activity_of(req, resp, &a)) != 0)
		return status;
	user = req->auth->user_id;
	if ((held = seckill_held(a.id, user, ref)) < 0)
		return app_unavailable(req, resp, "redis");
	/* A live order wins; else the ref's outbox row; else the user's latest outbox row. */
	if (db_select_json("SELECT id FROM orders WHERE user_id = ? AND activity_id = ?"
	    " AND status <> 'cancelled' ORDER BY id DESC LIMIT 1", &rows, "ii", user, a.id) != 0)
		return app_unavailable(req, resp, "database");
	if (json_object_array_length(rows) == 1) {
		json_object_object_get_ex(json_object_array_get_idx(rows, 0), "id", &v);
		order_id = json_object_get_int64(v);
		state = "created";
	} else {
		json_object_put(rows);
		rows = NULL;
		if ((held == 0 ? db_select_json("SELECT status FROM outbox WHERE id = ?", &rows, "s",
		    ref) : db_select_json("SELECT status FROM outbox WHERE user_id = ? AND"
		    " activity_id = ? ORDER BY created_at DESC LIMIT 1", &rows, "ii", user, a.id)) != 0)
			return app_unavailable(req, resp, "database");
		if (json_object_array_length(rows) == 1) {
			json_object_object_get_ex(json_object_array_get_idx(rows, 0), "status", &v);
			state = strcmp(json_object_get_string(v), "failed") == 0 ? "failed" :
			    strcmp(json_object_get_string(v), "consumed") == 0 ? "none" : "queued";
		} else if (held == 0) {
			state = "queued";
		}
	}
	json_object_put(rows);
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(state));
	if (order_id)
		json_object_object_add(o, "order_id", json_object_new_int64(order_id));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

int
page_activity(struct req *req, struct resp *resp)
{
	struct json_object *rows = NULL, *data = NULL, *row;
	long long id, stock;
	int status;

	if (activity_parse_id(req_path_param(req, "id"), &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such sale.");
	if (db_select_json("SELECT " ACTIVITY_COLUMNS " FROM activities WHERE id = ?", &rows, "i",
	    id) != 0)
		return app_unavailable(req, resp, "database");
	if (json_object_array_length(rows) == 0) {
		status = app_fail(req, resp, 404, "not_found", "No such sale.");
		goto out;
	}
	row = json_object_array_get_idx(rows, 0);
	/* Redis has the live stock; MySQL's lags behind the order consumer. */
	if (seckill_stock(id, &stock) == 0)
		json_object_object_add(row, "stock_left", json_object_new_int64(stock));
	activity_decorate(row, clock_wall_ms());
	data = json_object_new_object();
	json_object_object_add(data, "activity", json_object_get(row));
	status = app_page(req, resp, 200, "activity", "Flash sale", data);
	/* The same for everyone (personal parts load through the API): nginx may keep it 1 s. */
	resp->cache_control = "public, max-age=1";
out:
	json_object_put(rows);
	json_object_put(data);
	return status;
}

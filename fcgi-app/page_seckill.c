/*
 * The sale: POST /api/captcha, GET /captcha/{id}.png, POST /api/activities/{id}/path,
 * POST /api/activities/{id}/seckill/{path}, GET /api/activities/{id}/result, and the product
 * page /activity/{id}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "activity.h"
#include "app.h"
#include "captcha.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "later.h"
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
#include "winners.h"
#include "xmem.h"

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

/* A buy's answer (req only for the pages' error format: the API's is JSON either way). */
static int
sk_answer(struct req *req, struct resp *resp, enum seckill_outcome out, const char *ref,
    long retry)
{
	switch (out) {
	case SK_QUEUED:
		return sk_json_status(resp, "queued", ref);
	case SK_SOLD_OUT:
		return sk_json_status(resp, "sold_out", NULL);
	case SK_DUPLICATE:
		return sk_json_status(resp, "duplicate", NULL);
	case SK_UNCONFIRMED:
		/* A reply was lost and nobody can tell yet whether a unit was taken: /result will. */
		sk_json_status(resp, "unconfirmed", NULL);
		resp->status = 202;
		return 202;
	case SK_BAD_PATH:
		return app_fail(req, resp, 403, "bad_path", "This buy link is not valid or expired.");
	case SK_RATE_LIMITED:
		return app_too_many(req, resp, retry, "rate_limited", "Too many attempts; wait a little.");
	case SK_FAILED_DB:
		return app_unavailable(req, resp, "database");
	case SK_NOT_WARMED:
		return app_unavailable(req, resp, "stock");
	case SK_FAILED:
	default:
		return app_unavailable(req, resp, "redis");
	}
}

/* The winner's answer, in the winners' writer once the outbox row is committed (or not). */
static void
sk_winner_done(struct winner *w)
{
	struct req api = { .is_api = 1, .route = -1 };
	struct resp resp;

	resp_init(&resp);
	sk_answer(&api, &resp, w->w.outcome, w->w.ref, 0);
	later_send(w->arg, &resp);
	resp_free(&resp);
	free(w);
}

/* The main loop holds the request now: the writer takes the winner, or this thread records it. */
static void
sk_winner_later(void *arg, struct later *held)
{
	struct winner *w = arg;

	w->arg = held;
	if (winners_submit(w) != 0) {
		seckill_record_winners(&w->w, 1);
		sk_winner_done(w);
	}
}

int
api_seckill(struct req *req, struct resp *resp)
{
	struct seckill_activity a;
	const char *path = req_path_param(req, "path");
	char ref[SECKILL_REF_LEN + 1];
	enum seckill_outcome out;
	struct winner *w;
	long retry = 0;
	int status;

	if ((status = sk_activity_of(req, resp, &a)) != 0 ||
	    (status = sk_not_active(req, resp, &a)) != 0)
		return status;
	if (!conf.seckill_hidden_path && strcmp(path, "direct") == 0)
		path = "";
	else if (!seckill_is_ref(path))
		return app_fail(req, resp, 403, "bad_path", "This buy link is not valid.");
	if ((out = seckill_take(a.id, req->auth->user_id, path, ref, &retry)) != SK_QUEUED)
		return sk_answer(req, resp, out, ref, retry);
	/* A unit is ours: its row is written with the other winners' of the moment, and the
	 * answer follows from the writer; this worker goes on to the next buyer. */
	w = xcalloc(1, sizeof *w);
	w->w = (struct seckill_winner){ .act = a, .user = req->auth->user_id };
	memcpy(w->w.ref, ref, sizeof w->w.ref);
	w->done = sk_winner_done;
	resp_later(resp, sk_winner_later, w);
	return 200;
}

int
api_result(struct req *req, struct resp *resp)
{
	struct seckill_activity a;
	struct seckill_result res;
	struct json_object *o;
	int status;

	if ((status = sk_activity_of(req, resp, &a)) != 0)
		return status;
	if (seckill_result(a.id, req->auth->user_id, &res) != 0)
		return app_unavailable(req, resp, "database");
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(res.status));
	if (res.order_id)
		json_object_object_add(o, "order_id", json_object_new_int64(res.order_id));
	if (res.reason[0])
		json_object_object_add(o, "reason", json_object_new_string(res.reason));
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

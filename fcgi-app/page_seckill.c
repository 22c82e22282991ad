/*
 * The sale: POST /api/captcha, GET /captcha/{id}.png, POST /api/activities/{id}/path,
 * POST /api/activities/{id}/seckill/{path} and GET /api/activities/{id}/result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "activity.h"
#include "app.h"
#include "captcha.h"
#include "captcha_issue.h"
#include "clock.h"
#include "conf.h"
#include "later.h"
#include "log.h"
#include "metrics.h"
#include "pages.h"
#include "relay.h"
#include "req.h"
#include "resp.h"
#include "seckill.h"
#include "session.h"
#include "winners.h"
#include "xmem.h"

/* {"status":...[,"order_ref":...]}: written directly (the hot path; the values are fixed
 * words and hex refs, nothing to escape). */
static int
buy_json_status(struct resp *resp, const char *status, const char *ref)
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
	char id[SECKILL_REF_LEN + 1], image[64];
	struct json_object *o;
	long retry = 0;

	switch (captcha_issue(req->remote_addr, id, &retry)) {
	case CAPTCHA_OK:
		break;
	case CAPTCHA_LIMITED:
		return app_too_many(req, resp, retry, "rate_limited", "Too many captchas; wait a little.");
	default:
		return app_unavailable(req, resp, BACKEND_REDIS);
	}
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
	char text[CAPTCHA_MAX_TEXT + 1];
	void *png;
	int len;

	if (!seckill_is_ref(id))
		return app_fail(req, resp, 404, "not_found", "No such captcha.");
	switch (captcha_text_of(id, text, sizeof text)) {
	case CAPTCHA_OK:
		break;
	case CAPTCHA_NO_REDIS:
		return app_unavailable(req, resp, BACKEND_REDIS);
	default:
		return app_fail(req, resp, 404, "not_found", "This captcha expired or was used.");
	}
	if ((png = captcha_png(text, &len)) == NULL)
		return app_fail(req, resp, 503, "unavailable", "Cannot draw the captcha now.");
	resp_png(resp, png, (size_t)len);
	captcha_free(png);
	return 200;
}

/* Looks up the activity of the path's :id; 0 with *a filled, else the status answered. */
static int
buy_activity_of(struct req *req, struct resp *resp, struct seckill_activity *a)
{
	long long id;
	int rc;

	if (req_path_id(req, "id", &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such activity.");
	if ((rc = seckill_activity(id, a)) < 0)
		return app_unavailable(req, resp, BACKEND_MYSQL);
	if (rc > 0)
		return app_fail(req, resp, 404, "not_found", "No such activity.");
	return 0;
}

static int
buy_not_active(struct req *req, struct resp *resp, const struct seckill_activity *a)
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

	if ((status = buy_activity_of(req, resp, &a)) != 0 ||
	    (status = buy_not_active(req, resp, &a)) != 0)
		return status;
	if (conf.seckill_captcha) {
		const char *id = req_param(req, "captcha_id");
		const char *answer = req_param(req, "captcha_answer");
		enum captcha_outcome c;

		if (id == NULL || answer == NULL)
			return app_fail(req, resp, 400, "bad_request",
			    "captcha_id and captcha_answer are required");
		if (!seckill_is_ref(id))
			return app_fail(req, resp, 403, "bad_captcha", "Wrong or expired captcha.");
		if ((c = captcha_check(id, answer)) == CAPTCHA_NO_REDIS)
			return app_unavailable(req, resp, BACKEND_REDIS);
		if (c != CAPTCHA_OK)
			return app_fail(req, resp, 403, "bad_captcha", "Wrong or expired captcha.");
	}
	if (seckill_path_new(a.id, req->auth->user_id, path, conf.seckill_path_ttl) != 0)
		return app_unavailable(req, resp, BACKEND_REDIS);
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "expires_in", json_object_new_int64(conf.seckill_path_ttl));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

/* A buy's answer (req only for the pages' error format: the API's is JSON either way). */
static int
buy_answer(struct req *req, struct resp *resp, enum seckill_outcome out, const char *ref,
    long retry)
{
	switch (out) {
	case SK_QUEUED:
		return buy_json_status(resp, "queued", ref);
	case SK_SOLD_OUT:
		return buy_json_status(resp, "sold_out", NULL);
	case SK_DUPLICATE:
		return buy_json_status(resp, "duplicate", NULL);
	case SK_UNCONFIRMED:
		/* A reply was lost and nobody can tell yet whether a unit was taken: /result will. */
		buy_json_status(resp, "unconfirmed", NULL);
		resp->status = 202;
		return 202;
	case SK_BAD_PATH:
		return app_fail(req, resp, 403, "bad_path", "This buy link is not valid or expired.");
	case SK_RATE_LIMITED:
		return app_too_many(req, resp, retry, "rate_limited", "Too many attempts; wait a little.");
	case SK_FAILED_DB:
		return app_unavailable(req, resp, BACKEND_MYSQL);
	case SK_NOT_WARMED:
		return app_unavailable(req, resp, BACKEND_STOCK);
	case SK_FAILED:
	default:
		return app_unavailable(req, resp, BACKEND_REDIS);
	}
}

/* The winner's answer, in the winners' writer once the outbox row is committed (or not). */
static void
buy_winner_done(struct winner *w)
{
	struct req api = { .is_api = 1, .route = -1 };
	struct resp resp;

	resp_init(&resp);
	buy_answer(&api, &resp, w->w.outcome, w->w.ref, 0);
	later_send(w->arg, &resp);
	resp_free(&resp);
	free(w);
}

/* The main loop holds the request now: the writer takes the winner, or this thread records it. */
static void
buy_winner_later(void *arg, struct later *held)
{
	struct winner *w = arg;

	w->arg = held;
	if (winners_submit(w) != 0) {
		seckill_record_winners(&w->w, 1);
		buy_winner_done(w);
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

	if ((status = buy_activity_of(req, resp, &a)) != 0 ||
	    (status = buy_not_active(req, resp, &a)) != 0)
		return status;
	if (!conf.seckill_hidden_path && strcmp(path, "direct") == 0)
		path = "";
	else if (!seckill_is_ref(path))
		return app_fail(req, resp, 403, "bad_path", "This buy link is not valid.");
	if ((out = seckill_take(a.id, req->auth->user_id, path, ref, &retry)) != SK_QUEUED)
		return buy_answer(req, resp, out, ref, retry);
	/* A unit is ours: its row is written with the other winners' of the moment, and the
	 * answer follows from the writer; this worker goes on to the next buyer. */
	w = xcalloc(1, sizeof *w);
	w->w = (struct seckill_winner){ .act = a, .user = req->auth->user_id };
	memcpy(w->w.ref, ref, sizeof w->w.ref);
	w->done = buy_winner_done;
	resp_later(resp, buy_winner_later, w);
	return 200;
}

int
api_result(struct req *req, struct resp *resp)
{
	struct seckill_activity a;
	struct seckill_result res;
	struct json_object *o;
	int status;

	if ((status = buy_activity_of(req, resp, &a)) != 0)
		return status;
	if (seckill_result(a.id, req->auth->user_id, &res) != 0)
		return app_unavailable(req, resp, BACKEND_MYSQL);
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

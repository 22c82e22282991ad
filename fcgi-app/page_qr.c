/*
 * QR login, the HTTP side: a PC browser asks for a code (POST /api/qr) and polls its status
 * with a secret cookie; a logged-in phone scans it, sees who is asking, and confirms or denies;
 * the PC then receives a fresh session, once. The state machine is qr.c's; these handlers
 * parse, call it, and turn its outcome into the answer.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "app.h"
#include "conf.h"
#include "pages.h"
#include "qr.h"
#include "qrimg.h"
#include "req.h"
#include "resp.h"
#include "seckill.h"
#include "session.h"

/* Cookies are Secure when the site is served over https. */
static unsigned
qr_cookie_secure(void)
{
	return strncmp(conf.app_public_url, "https:", 6) == 0 ? COOKIE_SECURE : 0;
}

static int
qr_not_found(struct req *req, struct resp *resp)
{
	return app_fail(req, resp, 404, "not_found", "No such QR code.");
}

int
api_qr_new(struct req *req, struct resp *resp)
{
	struct qr_code code;
	struct json_object *o;
	char image[64];
	long retry;

	switch (qr_issue(req->remote_addr, req->user_agent, &code, &retry)) {
	case QR_OK:
		break;
	case QR_RATE_LIMITED:
		return app_too_many(req, resp, retry, "rate_limited",
		    "Too many QR codes; wait a little.");
	default:
		return app_unavailable(req, resp, BACKEND_REDIS);
	}
	snprintf(image, sizeof image, "/qr/%s.png", code.id);
	resp_cookie(resp, "qrs", code.secret, conf.qr_ttl + 300, COOKIE_HTTPONLY |
	    COOKIE_SAMESITE_STRICT | qr_cookie_secure());
	o = json_object_new_object();
	json_object_object_add(o, "qr_id", json_object_new_string(code.id));
	json_object_object_add(o, "qr_url", json_object_new_string(code.url));
	json_object_object_add(o, "image", json_object_new_string(image));
	json_object_object_add(o, "expires_in", json_object_new_int64(conf.qr_ttl));
	json_object_object_add(o, "interval", json_object_new_int64(conf.qr_interval));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

int
page_qr_png(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id");
	char url[600];
	void *png;
	int len;

	if (!seckill_is_ref(id))
		return qr_not_found(req, resp);
	switch (qr_find(id, url, sizeof url)) {
	case QR_OK:
		break;
	case QR_NOT_FOUND:
		return qr_not_found(req, resp);
	default:
		return app_unavailable(req, resp, BACKEND_REDIS);
	}
	if ((png = qrimg_png(url, 8, &len)) == NULL)
		return app_fail(req, resp, 503, "unavailable", "Cannot draw the QR code now.");
	resp_png(resp, png, (size_t)len);
	qrimg_free(png);
	return 200;
}

int
api_qr_status(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id");
	struct json_object *o, *u;
	struct qr_poll p;

	if (!seckill_is_ref(id))
		return qr_not_found(req, resp);
	switch (qr_poll(id, req_cookie(req, "qrs"), req, &p)) {
	case QR_OK:
		break;
	case QR_NOT_FOUND:
		return qr_not_found(req, resp);
	case QR_FORBIDDEN:
		return app_fail(req, resp, 403, "forbidden",
		    "Only the browser that asked for this code may poll it.");
	case QR_SLOW_DOWN:
		return app_too_many(req, resp, conf.qr_interval, "slow_down",
		    "Polling too fast; wait the interval.");
	case QR_CONSUMED:
		return app_fail(req, resp, 410, "consumed", "This code was used already.");
	case QR_UNAVAILABLE_DB:
		return app_unavailable(req, resp, BACKEND_MYSQL);
	default:
		return app_unavailable(req, resp, BACKEND_REDIS);
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(p.state));
	json_object_object_add(o, "interval", json_object_new_int64(conf.qr_interval));
	if (strcmp(p.state, "scanned") == 0) {
		u = json_object_new_object();
		json_object_object_add(u, "username", json_object_new_string(p.scanner));
		json_object_object_add(o, "user", u);
	} else if (strcmp(p.state, "confirmed") == 0) {
		u = json_object_new_object();
		json_object_object_add(u, "id", json_object_new_int64(p.user.id));
		json_object_object_add(u, "username", json_object_new_string(p.user.username));
		json_object_object_add(u, "role", json_object_new_string(p.user.role));
		json_object_object_add(o, "user", u);
		resp_cookie(resp, "sid", p.token, conf.session_web_ttl,
		    COOKIE_HTTPONLY | COOKIE_SAMESITE_LAX | qr_cookie_secure());
		resp_cookie(resp, "csrf", p.csrf, conf.session_web_ttl,
		    COOKIE_SAMESITE_LAX | qr_cookie_secure());
	}
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

/* A phone's step that was refused, or a backend that failed. */
static int
qr_phone_fail(struct req *req, struct resp *resp, enum qr_outcome out)
{
	switch (out) {
	case QR_NOT_FOUND:
		return qr_not_found(req, resp);
	case QR_EXPIRED:
		return app_fail(req, resp, 410, "expired", "This code expired; ask for a new one.");
	case QR_NOT_SCANNER:
		return app_fail(req, resp, 403, "forbidden", "Another phone scanned this code.");
	case QR_UNAVAILABLE_REDIS:
		return app_unavailable(req, resp, BACKEND_REDIS);
	default:
		return app_fail(req, resp, 409, "bad_state", "This code cannot take that step now.");
	}
}

int
api_qr_scan(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id");
	struct json_object *o, *pc;
	enum qr_outcome out;
	struct qr_pc p;

	if (!seckill_is_ref(id))
		return qr_not_found(req, resp);
	if ((out = qr_scan(id, req->auth, req->remote_addr, req->arena, &p)) != QR_OK)
		return qr_phone_fail(req, resp, out);
	o = json_object_new_object();
	pc = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("scanned"));
	json_object_object_add(pc, "ip", json_object_new_string(p.ip));
	json_object_object_add(pc, "user_agent", json_object_new_string(p.user_agent));
	json_object_object_add(pc, "created_at", json_object_new_int64(p.created_ms));
	json_object_object_add(o, "pc", pc);
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

/* confirm or deny: the answer names the state the code moved to. */
static int
qr_decided(struct req *req, struct resp *resp, enum qr_outcome out, const char *state)
{
	struct json_object *o;

	if (out != QR_OK)
		return qr_phone_fail(req, resp, out);
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(state));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

int
api_qr_confirm(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id");

	if (!seckill_is_ref(id))
		return qr_not_found(req, resp);
	return qr_decided(req, resp, qr_confirm(id, req->auth), "confirmed");
}

int
api_qr_deny(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id");

	if (!seckill_is_ref(id))
		return qr_not_found(req, resp);
	return qr_decided(req, resp, qr_deny(id, req->auth), "denied");
}

int
page_qr_phone(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id");
	struct json_object *data;
	int status;

	if (!seckill_is_ref(id))
		return qr_not_found(req, resp);
	data = json_object_new_object();
	json_object_object_add(data, "qr_id", json_object_new_string(id));
	status = app_page(req, resp, 200, "qr_phone", "Log in on a computer", data);
	json_object_put(data);
	return status;
}

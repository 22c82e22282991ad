#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "app.h"
#include "arena.h"
#include "captcha.h"
#include "clock.h"
#include "html.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "req.h"
#include "resp.h"
#include "router.h"
#include "session.h"
#include "tmpl.h"

struct app app;

/* Every template a handler uses: a missing one stops the start, not a request. */
static const char *const app_templates[] = { "layout", "home", "error", "activity", "login",
	"register", "orders", "order", "qr_phone", "admin", NULL };

int
app_init(char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return -1;
	}
	app.tmpl = tmpl_set_load(conf.app_templates, app_templates, err, errlen);
	if (app.tmpl == NULL)
		return -1;
	if (captcha_init(conf.captcha_font) != 0) {
		snprintf(err, errlen, "seckill.captcha_font %s cannot be used", conf.captcha_font);
		return -1;
	}
	return 0;
}

void
app_free(void)
{
	tmpl_set_free(app.tmpl);
	app.tmpl = NULL;
	captcha_shutdown();
	metrics_close();
}

int
app_page(struct req *req, struct resp *resp, int status, const char *name, const char *title,
    struct json_object *data)
{
	const struct tmpl *page = tmpl_set_get(app.tmpl, name);
	const struct tmpl *layout = tmpl_set_get(app.tmpl, "layout");
	struct json_object *outer = json_object_new_object();
	struct json_object *ctx[2];
	struct buf body;

	/* Page first, into its own buffer; then the layout around it. */
	buf_init(&body);
	json_object_object_add(outer, "title", json_object_new_string(title));
	json_object_object_add(outer, "server_ms", json_object_new_int64(clock_wall_ms()));
	json_object_object_add(outer, "nav", json_object_new_string(name));
	ctx[0] = outer;
	ctx[1] = data ? data : outer;
	tmpl_render(page, ctx, 2, &body);
	json_object_object_add(outer, "content", json_object_new_string_len(body.data ? body.data : "",
	    (int)body.len));
	buf_free(&body);

	resp->status = status;
	resp->content_type = "text/html; charset=utf-8";
	buf_reset(&resp->body);
	tmpl_render(layout, ctx, 2, &resp->body);
	json_object_put(outer);
	(void)req;
	return status;
}

int
app_fail(struct req *req, struct resp *resp, int status, const char *code, const char *message)
{
	struct json_object *data;
	static const struct { int status; const char *heading; } headings[] = {
		{ 400, "Bad request" }, { 401, "Please log in" }, { 403, "Not allowed" },
		{ 404, "Page not found" }, { 405, "Method not allowed" },
		{ 409, "Not possible right now" }, { 413, "Too large" },
		{ 415, "Unsupported request" }, { 429, "Slow down" },
		{ 503, "Temporarily unavailable" },
	};
	const char *heading = "Something went wrong";

	if (req->is_api || (req->route >= 0 && (app_routes[req->route].flags & R_API)))
		return resp_error(resp, status, code, message);
	for (size_t i = 0; i < sizeof headings / sizeof headings[0]; i++)
		if (headings[i].status == status)
			heading = headings[i].heading;
	data = json_object_new_object();
	json_object_object_add(data, "status", json_object_new_int(status));
	json_object_object_add(data, "heading", json_object_new_string(heading));
	json_object_object_add(data, "message", json_object_new_string(message));
	app_page(req, resp, status, "error", heading, data);
	json_object_put(data);
	return status;
}

int
app_too_many(struct req *req, struct resp *resp, long secs, const char *code,
    const char *message)
{
	char v[24];

	snprintf(v, sizeof v, "%ld", secs > 0 ? secs : 1);
	resp_header(resp, "Retry-After", v);
	return app_fail(req, resp, 429, code, message);
}

int
app_unavailable(struct req *req, struct resp *resp, enum backend backend)
{
	static const char *const names[] = {
		[BACKEND_REDIS] = "redis", [BACKEND_MYSQL] = "database", [BACKEND_AMQP] = "amqp",
		[BACKEND_STOCK] = "stock", [BACKEND_HASHING] = "password hashing",
	};
	char msg[160];

	if (backend == BACKEND_REDIS)
		metrics_inc(MC_BACKEND_REDIS_DOWN);
	else if (backend == BACKEND_MYSQL)
		metrics_inc(MC_BACKEND_MYSQL_DOWN);
	else if (backend == BACKEND_AMQP)
		metrics_inc(MC_BACKEND_AMQP_DOWN);
	snprintf(msg, sizeof msg, "The %s backend is unavailable; nothing was changed. "
	    "Please try again in a moment.", names[backend]);
	resp_header(resp, "Retry-After", "1");
	return app_fail(req, resp, 503, "unavailable", msg);
}

/* Checks the route's flags before its handler runs: 0 to go on, else the status answered. */
static int
app_preconditions(struct req *req, struct resp *resp, const struct route *rt)
{
	struct auth *auth;
	int rc;

	if (!(rt->flags & (R_AUTH | R_ADMIN)))
		return 0;
	/* The caller lives as long as the request: in its arena, reached by req->auth. */
	auth = arena_alloc(req->arena, sizeof *auth);
	rc = session_lookup(req, auth);
	if (rc < 0)
		return app_unavailable(req, resp, BACKEND_MYSQL);
	if (rc > 0) {
		const char *sid = req_cookie(req, "sid");

		/* A session that ended elsewhere (revoked, expired): its cookies go too, so the
		 * page's script stops asking /api/me with them. */
		if (sid != NULL && sid[0] != '\0') {
			resp_cookie(resp, "sid", "", 0, COOKIE_HTTPONLY | COOKIE_SAMESITE_LAX);
			resp_cookie(resp, "csrf", "", 0, COOKIE_SAMESITE_LAX);
		}
		/* GET /api/me?optional=1: the nav of a cached page asking who is there; nobody is
		 * an answer, not an error (no 401 in a logged-out visitor's console). */
		if (rt->flags & R_OPTIONAL) {
			const char *opt = req_param(req, "optional");
			if (opt != NULL && strcmp(opt, "1") == 0) {
				struct json_object *o = json_object_new_object();
				json_object_object_add(o, "user", NULL);
				resp_json(resp, 200, o);
				json_object_put(o);
				return 200;
			}
		}
		if (!req->is_api && !(rt->flags & R_API) &&
		    (req->method == REQ_GET || req->method == REQ_HEAD)) {
			/* A page: send the browser to the login form, and back here after. */
			struct buf loc;
			buf_init(&loc);
			buf_puts(&loc, "/login?next=");
			html_url_arg(&loc, req->uri);
			resp_header(resp, "Location", buf_str(&loc));
			buf_free(&loc);
			return app_fail(req, resp, 303, "login_required", "Please log in.");
		}
		return app_fail(req, resp, 401, "login_required", "Please log in first.");
	}
	req->auth = auth;
	if ((rt->flags & R_CSRF) && req->method == REQ_POST && !session_csrf_ok(req, auth))
		return app_fail(req, resp, 403, "csrf",
		    "The request lacks the CSRF token (header X-CSRF-Token or field csrf).");
	if ((rt->flags & R_ADMIN) && strcmp(auth->role, "admin") != 0)
		return app_fail(req, resp, 403, "forbidden", "This page is for administrators.");
	return 0;
}

void
app_handle(struct req *req, struct resp *resp, int parse_status)
{
	unsigned allowed;
	int status;

	req->started_us = clock_mono_us();
	resp->head_only = req->method == REQ_HEAD;
	if (parse_status != 0) {
		status = app_fail(req, resp, parse_status,
		    parse_status == 413 ? "too_large" :
		    parse_status == 415 ? "unsupported_media_type" : "bad_request",
		    req->error ? req->error : "bad request");
		goto out;
	}
	req->route = router_match(app_routes, app_nroutes, req, &allowed);
	if (req->route == ROUTER_NOT_FOUND) {
		status = app_fail(req, resp, 404, "not_found", "There is nothing at this address.");
		goto out;
	}
	if (req->route == ROUTER_BAD_METHOD) {
		char allow[96], msg[160];
		router_allow_header(allowed, allow, sizeof allow);
		resp_header(resp, "Allow", allow);
		snprintf(msg, sizeof msg, "%s is not allowed here; use %s.", req->method_name, allow);
		req->route = -1;
		status = app_fail(req, resp, 405, "method_not_allowed", msg);
		goto out;
	}
	if ((status = app_preconditions(req, resp, &app_routes[req->route])) == 0)
		status = app_routes[req->route].handler(req, resp);
	resp->status = status;
out:
	if (resp->later != NULL)
		return;		/* counted when it is answered */
	metrics_request(req->route, resp->status, clock_mono_us() - req->started_us);
}

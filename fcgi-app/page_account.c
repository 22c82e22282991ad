/*
 * Accounts: POST /api/register, /api/login, /api/logout, /api/mobile/login, GET /api/me, and
 * the /login and /register pages.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "account.h"
#include "app.h"
#include "conf.h"
#include "pages.h"
#include "req.h"
#include "resp.h"
#include "session.h"

static struct json_object *
user_json(long long id, const char *username, const char *role)
{
	struct json_object *u = json_object_new_object();

	json_object_object_add(u, "id", json_object_new_int64(id));
	json_object_object_add(u, "username", json_object_new_string(username));
	if (role != NULL)
		json_object_object_add(u, "role", json_object_new_string(role));
	return u;
}

int
api_register(struct req *req, struct resp *resp)
{
	const char *name = req_param(req, "username"), *pw = req_param(req, "password");
	struct account acc;
	struct json_object *o;
	long retry = 0;

	if (name == NULL || !account_username_ok(name))
		return app_fail(req, resp, 400, "bad_request",
		    "username must be 3 to 32 letters, digits or underscores");
	if (pw == NULL || !account_password_ok(pw))
		return app_fail(req, resp, 400, "bad_request",
		    "password must be at least 8 characters (at most 1024)");
	switch (account_register(req->remote_addr, name, pw, &acc, &retry)) {
	case ACCOUNT_OK:
		break;
	case ACCOUNT_LIMITED_IP:
		return app_too_many(req, resp, retry, "rate_limited", "Too many new accounts from your address.");
	case ACCOUNT_TAKEN:
		return app_fail(req, resp, 409, "username_taken", "That username is taken.");
	case ACCOUNT_NO_HASH:
		return app_unavailable(req, resp, BACKEND_HASHING);
	case ACCOUNT_NO_REDIS:
		return app_unavailable(req, resp, BACKEND_REDIS);
	default:
		return app_unavailable(req, resp, BACKEND_MYSQL);
	}
	o = json_object_new_object();
	json_object_object_add(o, "user", user_json(acc.id, name, NULL));
	resp_json(resp, 201, o);
	json_object_put(o);
	return 201;
}

/*
 * The shared half of both logins. Returns 0 with acc filled, or the status already answered.
 */
static int
login_check(struct req *req, struct resp *resp, const char *name, const char *pw,
    struct account *acc)
{
	long retry = 0;

	if (name == NULL || pw == NULL || *name == '\0' || *pw == '\0')
		return app_fail(req, resp, 400, "bad_request", "username and password are required");
	switch (account_login(req->remote_addr, name, pw, acc, &retry)) {
	case ACCOUNT_OK:
		return 0;
	case ACCOUNT_LIMITED_IP:
		return app_too_many(req, resp, retry, "rate_limited", "Too many login attempts; wait a little.");
	case ACCOUNT_LIMITED_USER:
		return app_too_many(req, resp, retry, "rate_limited",
		    "Too many failed logins for this account; wait a few minutes.");
	case ACCOUNT_BAD_CREDENTIALS:
		return app_fail(req, resp, 401, "bad_credentials", "Wrong username or password.");
	case ACCOUNT_NO_REDIS:
		return app_unavailable(req, resp, BACKEND_REDIS);
	default:
		return app_unavailable(req, resp, BACKEND_MYSQL);
	}
}

int
api_login(struct req *req, struct resp *resp)
{
	char token[SESSION_TOKEN_MAX + 1], csrf[SESSION_CSRF_LEN + 1];
	struct account acc;
	struct json_object *o;
	unsigned secure = strncmp(conf.app_public_url, "https:", 6) == 0 ? COOKIE_SECURE : 0;
	int status;

	status = login_check(req, resp, req_param(req, "username"),
	    req_param(req, "password"), &acc);
	if (status != 0)
		return status;
	if (session_create(acc.id, acc.username, acc.role, SESSION_WEB, "password", req, NULL, NULL,
	    conf.session_web_ttl, token, csrf) != 0)
		return app_unavailable(req, resp, BACKEND_MYSQL);
	resp_cookie(resp, "sid", token, conf.session_web_ttl,
	    COOKIE_HTTPONLY | COOKIE_SAMESITE_LAX | secure);
	resp_cookie(resp, "csrf", csrf, conf.session_web_ttl, COOKIE_SAMESITE_LAX | secure);
	o = json_object_new_object();
	json_object_object_add(o, "user", user_json(acc.id, acc.username, acc.role));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

int
api_mobile_login(struct req *req, struct resp *resp)
{
	const char *dev = req_param(req, "device_id"), *devname = req_param(req, "device_name");
	char token[SESSION_TOKEN_MAX + 1];
	struct account acc;
	struct json_object *o;
	int status;

	if (dev == NULL || *dev == '\0' || strlen(dev) > 128)
		return app_fail(req, resp, 400, "bad_request", "device_id (1 to 128 characters) is required");
	if (devname == NULL || *devname == '\0' || strlen(devname) > 100)
		return app_fail(req, resp, 400, "bad_request", "device_name (1 to 100 characters) is required");
	status = login_check(req, resp, req_param(req, "username"),
	    req_param(req, "password"), &acc);
	if (status != 0)
		return status;
	/* One token per device: a new login on the same device ends the old one, in every worker. */
	if (session_revoke_device(acc.id, dev) != 0)
		return app_unavailable(req, resp, BACKEND_MYSQL);
	if (session_create(acc.id, acc.username, acc.role, SESSION_MOBILE, "password", req, dev, devname,
	    conf.session_mobile_ttl, token, NULL) != 0)
		return app_unavailable(req, resp, BACKEND_MYSQL);
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "expires_in", json_object_new_int64(conf.session_mobile_ttl));
	json_object_object_add(o, "user", user_json(acc.id, acc.username, acc.role));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

int
api_logout(struct req *req, struct resp *resp)
{
	struct json_object *o;

	if (session_revoke(req->auth->hash, req->auth->expires_ms) != 0)
		return app_unavailable(req, resp, BACKEND_MYSQL);
	if (!req->auth->via_bearer) {
		resp_cookie(resp, "sid", "", 0, COOKIE_HTTPONLY | COOKIE_SAMESITE_LAX);
		resp_cookie(resp, "csrf", "", 0, COOKIE_SAMESITE_LAX);
	}
	o = json_object_new_object();
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

int
api_me(struct req *req, struct resp *resp)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "user", user_json(req->auth->user_id,
	    req->auth->username, req->auth->role));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

/* A local path to go back to after logging in; anything else becomes "". */
static const char *
login_next(struct req *req)
{
	const char *next = req_param(req, "next");

	if (next == NULL || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
	    strlen(next) > 512)
		return "";
	return next;
}

int
page_login(struct req *req, struct resp *resp)
{
	struct json_object *data = json_object_new_object();
	int status;

	json_object_object_add(data, "next", json_object_new_string(login_next(req)));
	status = app_page(req, resp, 200, "login", "Log in", data);
	json_object_put(data);
	return status;
}

int
page_register(struct req *req, struct resp *resp)
{
	struct json_object *data = json_object_new_object();
	int status;

	json_object_object_add(data, "next", json_object_new_string(login_next(req)));
	status = app_page(req, resp, 200, "register", "Register", data);
	json_object_put(data);
	return status;
}

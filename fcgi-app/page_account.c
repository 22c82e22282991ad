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
#include "db.h"
#include "pages.h"
#include "ratelimit.h"
#include "req.h"
#include "resp.h"
#include "session.h"

static struct json_object *
account_user_json(long long id, const char *username, const char *role)
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
	char hash[ACCOUNT_HASH_MAX], key[96];
	unsigned long long id;
	struct json_object *o;
	long retry;
	int rc;

	if (name == NULL || !account_username_ok(name))
		return app_fail(req, resp, 400, "bad_request",
		    "username must be 3 to 32 letters, digits or underscores");
	if (pw == NULL || !account_password_ok(pw))
		return app_fail(req, resp, 400, "bad_request",
		    "password must be at least 8 characters (at most 1024)");
	snprintf(key, sizeof key, "rl:register:ip:%s", req->remote_addr);
	if ((rc = ratelimit_hit(key, conf.ratelimit_register_per_ip, 3600, &retry)) < 0)
		return app_unavailable(req, resp, "redis");
	if (rc > 0)
		return app_too_many(req, resp, retry, "rate_limited", "Too many new accounts from your address.");
	if (account_hash(pw, hash) != 0)
		return app_unavailable(req, resp, "password hashing");
	if (db_exec("INSERT INTO users (username, password_hash) VALUES (?, ?)", NULL, &id, "ss",
	    name, hash) != 0) {
		if (db_last_errno() == 1062)
			return app_fail(req, resp, 409, "username_taken", "That username is taken.");
		return app_unavailable(req, resp, "database");
	}
	o = json_object_new_object();
	json_object_object_add(o, "user", account_user_json((long long)id, name, NULL));
	resp_json(resp, 201, o);
	json_object_put(o);
	return 201;
}

/*
 * The shared half of both logins: limits, lookup, password. Returns 0 with the user's id and
 * role filled, or the status already answered.
 */
static int
account_check_login(struct req *req, struct resp *resp, const char *name, const char *pw,
    long long *id, char *role, size_t rolelen, char *canon, size_t canonlen)
{
	struct json_object *rows = NULL, *row = NULL;
	char key[96];
	const char *hash = NULL;
	long retry;
	int rc, status = 0;

	if (name == NULL || pw == NULL || *name == '\0' || *pw == '\0')
		return app_fail(req, resp, 400, "bad_request", "username and password are required");
	snprintf(key, sizeof key, "rl:login:ip:%s", req->remote_addr);
	if ((rc = ratelimit_hit(key, conf.ratelimit_login_per_ip, 300, &retry)) < 0)
		return app_unavailable(req, resp, "redis");
	if (rc > 0)
		return app_too_many(req, resp, retry, "rate_limited", "Too many login attempts; wait a little.");
	/* Failed attempts per username (any case): counted on failure, checked first. */
	snprintf(key, sizeof key, "rl:login:user:%.40s", name);
	for (char *p = key; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (conf.ratelimit_enabled) {
		long n = ratelimit_peek(key);
		if (n < 0)
			return app_unavailable(req, resp, "redis");
		if (n >= conf.ratelimit_login_per_user)
			return app_too_many(req, resp, 300, "rate_limited",
			    "Too many failed logins for this account; wait a few minutes.");
	}
	if (!account_username_ok(name) || !account_password_ok(pw)) {
		account_verify(NULL, pw);
	} else if (db_select_json("SELECT id, username, role, password_hash FROM users"
	    " WHERE username = ?", &rows, "s", name) != 0) {
		return app_unavailable(req, resp, "database");
	} else if (json_object_array_length(rows) == 1) {
		row = json_object_array_get_idx(rows, 0);
		hash = db_field_str(row, "password_hash", NULL);
	}
	if (!account_verify(hash, pw)) {
		ratelimit_hit(key, conf.ratelimit_login_per_user, 300, &retry);
		status = app_fail(req, resp, 401, "bad_credentials", "Wrong username or password.");
		goto out;
	}
	*id = db_field_int(row, "id");
	snprintf(role, rolelen, "%s", db_field_str(row, "role", ""));
	snprintf(canon, canonlen, "%s", db_field_str(row, "username", ""));
out:
	json_object_put(rows);
	return status;
}

int
api_login(struct req *req, struct resp *resp)
{
	char role[16], name[40], token[SESSION_TOKEN_MAX + 1], csrf[SESSION_CSRF_LEN + 1];
	long long id;
	struct json_object *o;
	unsigned secure = strncmp(conf.app_public_url, "https:", 6) == 0 ? COOKIE_SECURE : 0;
	int status;

	status = account_check_login(req, resp, req_param(req, "username"),
	    req_param(req, "password"), &id, role, sizeof role, name, sizeof name);
	if (status != 0)
		return status;
	if (session_create(id, name, role, SESSION_WEB, "password", req, NULL, NULL,
	    conf.session_web_ttl, token, csrf) != 0)
		return app_unavailable(req, resp, "database");
	resp_cookie(resp, "sid", token, conf.session_web_ttl,
	    COOKIE_HTTPONLY | COOKIE_SAMESITE_LAX | secure);
	resp_cookie(resp, "csrf", csrf, conf.session_web_ttl, COOKIE_SAMESITE_LAX | secure);
	o = json_object_new_object();
	json_object_object_add(o, "user", account_user_json(id, name, role));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

int
api_mobile_login(struct req *req, struct resp *resp)
{
	const char *dev = req_param(req, "device_id"), *devname = req_param(req, "device_name");
	char role[16], name[40], token[SESSION_TOKEN_MAX + 1];
	long long id;
	struct json_object *o;
	int status;

	if (dev == NULL || *dev == '\0' || strlen(dev) > 128)
		return app_fail(req, resp, 400, "bad_request", "device_id (1 to 128 characters) is required");
	if (devname == NULL || *devname == '\0' || strlen(devname) > 100)
		return app_fail(req, resp, 400, "bad_request", "device_name (1 to 100 characters) is required");
	status = account_check_login(req, resp, req_param(req, "username"),
	    req_param(req, "password"), &id, role, sizeof role, name, sizeof name);
	if (status != 0)
		return status;
	/* One token per device: a new login on the same device ends the old one, in every worker. */
	struct json_object *old = NULL;
	if (db_select_json("SELECT token_hash, expires_at FROM sessions WHERE user_id = ?"
	    " AND kind = 'mobile'"
	    " AND device_id = ? AND revoked_at IS NULL", &old, "is", id, dev) != 0)
		return app_unavailable(req, resp, "database");
	if (db_exec("UPDATE sessions SET revoked_at = UTC_TIMESTAMP(3) WHERE user_id = ?"
	    " AND kind = 'mobile' AND device_id = ? AND revoked_at IS NULL", NULL, NULL, "is", id,
	    dev) != 0) {
		json_object_put(old);
		return app_unavailable(req, resp, "database");
	}
	for (size_t i = 0; i < json_object_array_length(old); i++) {
		struct json_object *v;
		json_object_object_get_ex(json_object_array_get_idx(old, i), "token_hash", &v);
		if (json_object_get_string_len(v) == SESSION_HASH_LEN)
			session_forget((const unsigned char *)json_object_get_string(v),
			    db_field_int(json_object_array_get_idx(old, i), "expires_at"));
	}
	json_object_put(old);
	if (session_create(id, name, role, SESSION_MOBILE, "password", req, dev, devname,
	    conf.session_mobile_ttl, token, NULL) != 0)
		return app_unavailable(req, resp, "database");
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "expires_in", json_object_new_int64(conf.session_mobile_ttl));
	json_object_object_add(o, "user", account_user_json(id, name, role));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

int
api_logout(struct req *req, struct resp *resp)
{
	struct json_object *o;

	if (session_revoke(req->auth->hash, req->auth->expires_ms) != 0)
		return app_unavailable(req, resp, "database");
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

	json_object_object_add(o, "user", account_user_json(req->auth->user_id,
	    req->auth->username, req->auth->role));
	resp_json(resp, 200, o);
	json_object_put(o);
	return 200;
}

/* A local path to go back to after logging in; anything else becomes "". */
static const char *
account_next(struct req *req)
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

	json_object_object_add(data, "next", json_object_new_string(account_next(req)));
	status = app_page(req, resp, 200, "login", "Log in", data);
	json_object_put(data);
	return status;
}

int
page_register(struct req *req, struct resp *resp)
{
	struct json_object *data = json_object_new_object();
	int status;

	json_object_object_add(data, "next", json_object_new_string(account_next(req)));
	status = app_page(req, resp, 200, "register", "Register", data);
	json_object_put(data);
	return status;
}

/*
 * QR login: a PC browser asks for a code (POST /api/qr) and polls its status with a secret
 * cookie; a logged-in phone scans it, sees who is asking, and confirms or denies; the PC then
 * receives a fresh session, once. State lives in Redis (hash qr:<id>); every move is one Lua
 * compare-and-set, so no other move is possible. Every change is also written to qr_logins.
 *
 *   pending -> scanned -> confirmed -> consumed,  or -> denied / expired
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "app.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "pages.h"
#include "qrimg.h"
#include "ratelimit.h"
#include "req.h"
#include "resp.h"
#include "seckill.h"
#include "session.h"
#include "store.h"

/*
 * KEYS qr:<id>; ARGV op now_ms then per op:
 *   poll    secret_hash min_interval_ms
 *   scan    user_id username session
 *   confirm|deny  user_id session
 *   delivered|undeliver  (none): a poll that saw confirmed moved the code to delivering, a
 *           lease of 5 s, while it makes the session; then it is consumed, or confirmed again
 *           when the session could not be made (so a MySQL failure never burns the code)
 * A code past its expires_ms while pending or scanned becomes expired first.
 */
static struct store_script qr_script = { "qr_move",
	"local st = redis.call('HGET', KEYS[1], 'state')\n"
	"if not st then return {'missing'} end\n"
	"local now = tonumber(ARGV[2])\n"
	"if (st == 'pending' or st == 'scanned') and now >= tonumber(redis.call('HGET', KEYS[1], 'expires_ms')) then\n"
	"  redis.call('HSET', KEYS[1], 'state', 'expired'); st = 'expired'\n"
	"end\n"
	"local op = ARGV[1]\n"
	"if op == 'poll' then\n"
	"  if redis.call('HGET', KEYS[1], 'secret') ~= ARGV[3] then return {'forbidden'} end\n"
	"  local last = tonumber(redis.call('HGET', KEYS[1], 'last_poll') or '0')\n"
	"  if now - last < tonumber(ARGV[4]) then return {'slow_down'} end\n"
	"  redis.call('HSET', KEYS[1], 'last_poll', ARGV[2])\n"
	"  if st == 'delivering' then\n"
	"    if now < tonumber(redis.call('HGET', KEYS[1], 'deliver_until') or '0') then return {'slow_down'} end\n"
	"    st = 'confirmed'\n"
	"  end\n"
	"  if st == 'confirmed' then\n"
	"    redis.call('HSET', KEYS[1], 'state', 'delivering', 'deliver_until', tostring(now + 5000))\n"
	"    return {'confirmed', redis.call('HGET', KEYS[1], 'user_id')}\n"
	"  end\n"
	"  if st == 'scanned' then return {'scanned', redis.call('HGET', KEYS[1], 'username')} end\n"
	"  return {st}\n"
	"end\n"
	"if op == 'delivered' or op == 'undeliver' then\n"
	"  if st ~= 'delivering' then return {'bad_state', st} end\n"
	"  redis.call('HSET', KEYS[1], 'state', op == 'delivered' and 'consumed' or 'confirmed')\n"
	"  return {'ok'}\n"
	"end\n"
		"if st == 'expired' then return {'expired'} end\n"
	"if op == 'scan' then\n"
	"  if st ~= 'pending' then return {'bad_state', st} end\n"
	"  redis.call('HSET', KEYS[1], 'state', 'scanned', 'user_id', ARGV[3], 'username', ARGV[4], 'scanner', ARGV[5])\n"
	"  return {'scanned', redis.call('HGET', KEYS[1], 'pc_ip'), redis.call('HGET', KEYS[1], 'pc_ua'), redis.call('HGET', KEYS[1], 'created_ms')}\n"
	"end\n"
	"if st ~= 'scanned' then return {'bad_state', st} end\n"
	"if redis.call('HGET', KEYS[1], 'scanner') ~= ARGV[4] then return {'not_scanner'} end\n"
	"local to = op == 'confirm' and 'confirmed' or 'denied'\n"
	"redis.call('HSET', KEYS[1], 'state', to)\n"
	"return {to}\n", "" };

static void
qr_hash(const char *s, unsigned char out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)s, strlen(s), NULL, 0);
}

/* The audit row: one per code, each state change stamped (a failed write is only logged). */
static void
qr_audit(const char *id, const char *state, const struct req *req, const unsigned char *session)
{
	unsigned char h[32];
	int rc;

	qr_hash(id, h);
	if (strcmp(state, "scanned") == 0)
		rc = db_exec("UPDATE qr_logins SET state = 'scanned', user_id = ?, device_id = ?,"
		    " phone_ip = ?, scanned_at = UTC_TIMESTAMP(3), changed_at = UTC_TIMESTAMP(3)"
		    " WHERE qr_id_hash = ?", NULL, NULL, "issb", req->auth->user_id,
		    req->auth->device[0] ? req->auth->device : "browser", req->remote_addr, h,
		    sizeof h);
	else if (strcmp(state, "consumed") == 0)
		rc = db_exec("UPDATE qr_logins SET state = 'consumed', session_hash = ?,"
		    " consumed_at = UTC_TIMESTAMP(3), changed_at = UTC_TIMESTAMP(3)"
		    " WHERE qr_id_hash = ?", NULL, NULL, "bb", session, (size_t)SESSION_HASH_LEN, h,
		    sizeof h);
	else if (strcmp(state, "expired") == 0)
		rc = db_exec("UPDATE qr_logins SET state = 'expired', changed_at = UTC_TIMESTAMP(3)"
		    " WHERE qr_id_hash = ? AND state IN ('pending', 'scanned')", NULL, NULL, "b", h,
		    sizeof h);
	else
		rc = db_exec("UPDATE qr_logins SET state = ?, decided_at = UTC_TIMESTAMP(3),"
		    " changed_at = UTC_TIMESTAMP(3) WHERE qr_id_hash = ?", NULL, NULL, "sb", state, h,
		    sizeof h);
	if (rc != 0)
		log_warn("qr %.8s: audit of %s not written", id, state);
}

static void
qr_url(char *out, size_t outlen, const char *id)
{
	size_t n = strlen(conf.app_public_url);

	while (n > 0 && conf.app_public_url[n - 1] == '/')
		n--;
	snprintf(out, outlen, "%.*s/m/qr/%s", (int)n, conf.app_public_url, id);
}

int
api_qr_new(struct req *req, struct resp *resp)
{
	char id[SECKILL_REF_LEN + 1], secret[SESSION_SECRET_LEN + 1], key[64], url[600], image[64];
	char sh_hex[65], now_s[24], exp_s[24], ttl_s[24];
	unsigned char sh[32], idh[32];
	const char *argv[19];
	long long now = clock_wall_ms();
	struct json_object *o;
	redisReply *r;
	long retry;
	int rc;

	snprintf(key, sizeof key, "rl:qr:ip:%s", req->remote_addr);
	if ((rc = ratelimit_hit(key, conf.ratelimit_captcha_per_ip, 60, &retry)) < 0)
		return app_unavailable(req, resp, "redis");
	if (rc > 0)
		return app_too_many(req, resp, retry, "rate_limited",
		    "Too many QR codes; wait a little.");
	seckill_ref(id);
	session_token(secret);
	qr_hash(secret, sh);
	sodium_bin2hex(sh_hex, sizeof sh_hex, sh, sizeof sh);
	snprintf(key, sizeof key, "qr:%s", id);
	snprintf(now_s, sizeof now_s, "%lld", now);
	snprintf(exp_s, sizeof exp_s, "%lld", now + conf.qr_ttl * 1000);
	/* The key outlives the code a little, so a late poll hears "expired", not 404. */
	snprintf(ttl_s, sizeof ttl_s, "%ld", conf.qr_ttl + 300);
	argv[0] = "HSET"; argv[1] = key;
	argv[2] = "state"; argv[3] = "pending";
	argv[4] = "secret"; argv[5] = sh_hex;
	argv[6] = "pc_ip"; argv[7] = req->remote_addr;
	argv[8] = "pc_ua"; argv[9] = req->user_agent;
	argv[10] = "created_ms"; argv[11] = now_s;
	argv[12] = "expires_ms"; argv[13] = exp_s;
	if ((r = store_command_argv(14, argv, NULL)) == NULL)
		return app_unavailable(req, resp, "redis");
	freeReplyObject(r);
	if ((r = store_command("EXPIRE %s %s", key, ttl_s)) == NULL)
		return app_unavailable(req, resp, "redis");
	freeReplyObject(r);
	qr_hash(id, idh);
	if (db_exec("INSERT INTO qr_logins (qr_id_hash, pc_ip, pc_user_agent, expires_at)"
	    " VALUES (?, ?, LEFT(?, 512), UTC_TIMESTAMP(3) + INTERVAL ? SECOND)", NULL, NULL, "bssi",
	    idh, sizeof idh, req->remote_addr, req->user_agent, (long long)conf.qr_ttl) != 0)
		log_warn("qr %.8s: audit row not written", id);
	qr_url(url, sizeof url, id);
	snprintf(image, sizeof image, "/qr/%s.png", id);
	resp_cookie(resp, "qrs", secret, conf.qr_ttl + 300, COOKIE_HTTPONLY | COOKIE_SAMESITE_STRICT |
	    (strncmp(conf.app_public_url, "https:", 6) == 0 ? COOKIE_SECURE : 0));
	o = json_object_new_object();
	json_object_object_add(o, "qr_id", json_object_new_string(id));
	json_object_object_add(o, "qr_url", json_object_new_string(url));
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
	char key[64], url[600];
	redisReply *r;
	void *png;
	int len, exists;

	if (!seckill_is_ref(id))
		return app_fail(req, resp, 404, "not_found", "No such QR code.");
	snprintf(key, sizeof key, "qr:%s", id);
	if ((r = store_command("EXISTS %s", key)) == NULL)
		return app_unavailable(req, resp, "redis");
	exists = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	if (!exists)
		return app_fail(req, resp, 404, "not_found", "No such QR code.");
	qr_url(url, sizeof url, id);
	if ((png = qrimg_png(url, 8, &len)) == NULL)
		return app_fail(req, resp, 503, "unavailable", "Cannot draw the QR code now.");
	resp_png(resp, png, (size_t)len);
	qrimg_free(png);
	return 200;
}

/* Runs one move; the reply (caller frees) or NULL when Redis failed. */
static redisReply *
qr_move(const char *id, const char *op, const char *a3, const char *a4, const char *a5)
{
	char key[64], now_s[24];
	const char *argv[6];
	int n = 3;

	snprintf(key, sizeof key, "qr:%s", id);
	snprintf(now_s, sizeof now_s, "%lld", clock_wall_ms());
	argv[0] = key; argv[1] = op; argv[2] = now_s;
	if (a3) argv[n++] = a3;
	if (a4) argv[n++] = a4;
	if (a5) argv[n++] = a5;
	return store_eval(&qr_script, 1, n, argv);
}

static const char *
qr_reply_word(redisReply *r, size_t i)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements <= i ||
	    r->element[i]->type != REDIS_REPLY_STRING)
		return "";
	return r->element[i]->str;
}

int
api_qr_status(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id"), *secret = req_cookie(req, "qrs"), *st;
	char sh_hex[65], min_ms[24], token[SESSION_TOKEN_MAX + 1], csrf[SESSION_CSRF_LEN + 1];
	unsigned char sh[32], th[32];
	struct json_object *o = NULL, *rows = NULL, *row, *v, *u;
	redisReply *r;
	int status;

	if (!seckill_is_ref(id))
		return app_fail(req, resp, 404, "not_found", "No such QR code.");
	qr_hash(secret ? secret : "", sh);
	sodium_bin2hex(sh_hex, sizeof sh_hex, sh, sizeof sh);
	/* Polls may come a little early (timers drift): a quarter of the interval of slack. */
	snprintf(min_ms, sizeof min_ms, "%ld", conf.qr_interval * 750);
	if ((r = qr_move(id, "poll", sh_hex, min_ms, NULL)) == NULL)
		return app_unavailable(req, resp, "redis");
	st = qr_reply_word(r, 0);
	if (strcmp(st, "missing") == 0) {
		status = app_fail(req, resp, 404, "not_found", "No such QR code.");
		goto out;
	}
	if (strcmp(st, "forbidden") == 0 || secret == NULL) {
		status = app_fail(req, resp, 403, "forbidden",
		    "Only the browser that asked for this code may poll it.");
		goto out;
	}
	if (strcmp(st, "slow_down") == 0) {
		status = app_too_many(req, resp, conf.qr_interval, "slow_down",
		    "Polling too fast; wait the interval.");
		goto out;
	}
	if (strcmp(st, "consumed") == 0) {
		status = app_fail(req, resp, 410, "consumed", "This code was used already.");
		goto out;
	}
	if (strcmp(st, "expired") == 0)
		qr_audit(id, "expired", req, NULL);
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(st));
	json_object_object_add(o, "interval", json_object_new_int64(conf.qr_interval));
	if (strcmp(st, "scanned") == 0) {
		u = json_object_new_object();
		json_object_object_add(u, "username", json_object_new_string(qr_reply_word(r, 1)));
		json_object_object_add(o, "user", u);
	} else if (strcmp(st, "confirmed") == 0) {
		long long uid = 0;
		sscanf(qr_reply_word(r, 1), "%lld", &uid);
		/* The code is being delivered (a lease): consumed once the session exists, and
		 * confirmed again if it cannot be made now, so the next poll gets it. */
		if (db_select_json("SELECT id, username, role FROM users WHERE id = ?", &rows, "i",
		    uid) != 0 || json_object_array_length(rows) != 1 ||
		    session_create(uid, db_field_str(json_object_array_get_idx(rows, 0), "username",
		    ""), db_field_str(json_object_array_get_idx(rows, 0), "role", "user"), SESSION_WEB,
		    "qr", req, NULL, NULL, conf.session_web_ttl, token, csrf) != 0) {
			redisReply *u2 = qr_move(id, "undeliver", NULL, NULL, NULL);
			if (u2 != NULL)
				freeReplyObject(u2);
			log_err("qr %.8s: confirmed for user %lld but no session could be made now;"
			    " the next poll tries again", id, uid);
			status = app_unavailable(req, resp, "database");
			goto out;
		}
		redisReply *d = qr_move(id, "delivered", NULL, NULL, NULL);
		if (d == NULL || strcmp(qr_reply_word(d, 0), "ok") != 0)
			log_warn("qr %.8s: session delivered, but the code could not be marked consumed",
			    id);
		if (d != NULL)
			freeReplyObject(d);
		row = json_object_array_get_idx(rows, 0);
		u = json_object_new_object();
		json_object_object_get_ex(row, "id", &v);
		json_object_object_add(u, "id", json_object_get(v));
		json_object_object_get_ex(row, "username", &v);
		json_object_object_add(u, "username", json_object_get(v));
		json_object_object_get_ex(row, "role", &v);
		json_object_object_add(u, "role", json_object_get(v));
		json_object_object_add(o, "user", u);
		unsigned secure = strncmp(conf.app_public_url, "https:", 6) == 0 ? COOKIE_SECURE : 0;
		resp_cookie(resp, "sid", token, conf.session_web_ttl,
		    COOKIE_HTTPONLY | COOKIE_SAMESITE_LAX | secure);
		resp_cookie(resp, "csrf", csrf, conf.session_web_ttl, COOKIE_SAMESITE_LAX | secure);
		session_hash(token, th);
		qr_audit(id, "consumed", req, th);
	}
	resp_json(resp, 200, o);
	status = 200;
out:
	freeReplyObject(r);
	json_object_put(o);
	json_object_put(rows);
	return status;
}

/* The scanner's identity for confirm/deny: its session (the very token that scanned). */
static void
qr_scanner(const struct req *req, char *out)
{
	sodium_bin2hex(out, 2 * SESSION_HASH_LEN + 1, req->auth->hash, SESSION_HASH_LEN);
}

static int
qr_phone_fail(struct req *req, struct resp *resp, const char *word)
{
	if (strcmp(word, "missing") == 0)
		return app_fail(req, resp, 404, "not_found", "No such QR code.");
	if (strcmp(word, "expired") == 0)
		return app_fail(req, resp, 410, "expired", "This code expired; ask for a new one.");
	if (strcmp(word, "not_scanner") == 0)
		return app_fail(req, resp, 403, "forbidden", "Another phone scanned this code.");
	return app_fail(req, resp, 409, "bad_state", "This code cannot take that step now.");
}

int
api_qr_scan(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id");
	char uid[24], scanner[2 * SESSION_HASH_LEN + 1];
	struct json_object *o, *pc;
	redisReply *r;
	long long created = 0;
	int status;

	if (!seckill_is_ref(id))
		return app_fail(req, resp, 404, "not_found", "No such QR code.");
	snprintf(uid, sizeof uid, "%lld", req->auth->user_id);
	qr_scanner(req, scanner);
	if ((r = qr_move(id, "scan", uid, req->auth->username, scanner)) == NULL)
		return app_unavailable(req, resp, "redis");
	if (strcmp(qr_reply_word(r, 0), "scanned") != 0) {
		status = qr_phone_fail(req, resp, qr_reply_word(r, 0));
		goto out;
	}
	qr_audit(id, "scanned", req, NULL);
	sscanf(qr_reply_word(r, 3), "%lld", &created);
	o = json_object_new_object();
	pc = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("scanned"));
	json_object_object_add(pc, "ip", json_object_new_string(qr_reply_word(r, 1)));
	json_object_object_add(pc, "user_agent", json_object_new_string(qr_reply_word(r, 2)));
	json_object_object_add(pc, "created_at", json_object_new_int64(created));
	json_object_object_add(o, "pc", pc);
	resp_json(resp, 200, o);
	json_object_put(o);
	status = 200;
out:
	freeReplyObject(r);
	return status;
}

static int
qr_decide(struct req *req, struct resp *resp, const char *op, const char *state)
{
	const char *id = req_path_param(req, "id");
	char uid[24], scanner[2 * SESSION_HASH_LEN + 1];
	struct json_object *o;
	redisReply *r;
	int status;

	if (!seckill_is_ref(id))
		return app_fail(req, resp, 404, "not_found", "No such QR code.");
	snprintf(uid, sizeof uid, "%lld", req->auth->user_id);
	qr_scanner(req, scanner);
	if ((r = qr_move(id, op, uid, scanner, NULL)) == NULL)
		return app_unavailable(req, resp, "redis");
	if (strcmp(qr_reply_word(r, 0), state) != 0) {
		status = qr_phone_fail(req, resp, qr_reply_word(r, 0));
		goto out;
	}
	qr_audit(id, state, req, NULL);
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(state));
	resp_json(resp, 200, o);
	json_object_put(o);
	status = 200;
out:
	freeReplyObject(r);
	return status;
}

int
api_qr_confirm(struct req *req, struct resp *resp)
{
	return qr_decide(req, resp, "confirm", "confirmed");
}

int
api_qr_deny(struct req *req, struct resp *resp)
{
	return qr_decide(req, resp, "deny", "denied");
}

int
page_qr_phone(struct req *req, struct resp *resp)
{
	const char *id = req_path_param(req, "id");
	struct json_object *data;
	int status;

	if (!seckill_is_ref(id))
		return app_fail(req, resp, 404, "not_found", "No such QR code.");
	data = json_object_new_object();
	json_object_object_add(data, "qr_id", json_object_new_string(id));
	status = app_page(req, resp, 200, "qr_phone", "Log in on a computer", data);
	json_object_put(data);
	return status;
}

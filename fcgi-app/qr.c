/*
 * QR login, the state machine (see qr.h): the Redis hash qr:<id> moved by one Lua script, the
 * qr_logins audit rows in MySQL, and the session a confirmed code turns into, once.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "arena.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "qr.h"
#include "ratelimit.h"
#include "req.h"
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

static void
qr_key(char *out, size_t outlen, const char *id)
{
	snprintf(out, outlen, "qr:%s", id);
}

/*
 * The audit row: one per code, each state change stamped (a failed write is only logged).
 * phone and phone_ip with "scanned", session (its hash) with "consumed".
 */
static void
qr_audit(const char *id, const char *state, const struct auth *phone, const char *phone_ip,
    const unsigned char *session)
{
	unsigned char h[32];
	int rc;

	qr_hash(id, h);
	if (strcmp(state, "scanned") == 0)
		rc = db_exec("UPDATE qr_logins SET state = 'scanned', user_id = ?, device_id = ?,"
		    " phone_ip = ?, scanned_at = UTC_TIMESTAMP(3), changed_at = UTC_TIMESTAMP(3)"
		    " WHERE qr_id_hash = ?", NULL, NULL, "issb", phone->user_id,
		    phone->device[0] ? phone->device : "browser", phone_ip, h, sizeof h);
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

void
qr_url(char *out, size_t outlen, const char *id)
{
	size_t n = strlen(conf.app_public_url);

	while (n > 0 && conf.app_public_url[n - 1] == '/')
		n--;
	snprintf(out, outlen, "%.*s/m/qr/%s", (int)n, conf.app_public_url, id);
}

enum qr_outcome
qr_issue(const char *pc_ip, const char *pc_ua, struct qr_code *out, long *retry_after)
{
	char key[64], sh_hex[65], now_s[24], exp_s[24], ttl_s[24];
	unsigned char sh[32], idh[32];
	const char *argv[19];
	long long now = clock_wall_ms();
	redisReply *r;
	int rc;

	snprintf(key, sizeof key, "rl:qr:ip:%s", pc_ip);
	if ((rc = ratelimit_hit(key, conf.ratelimit_captcha_per_ip, 60, retry_after)) < 0)
		return QR_UNAVAILABLE_REDIS;
	if (rc > 0)
		return QR_RATE_LIMITED;
	seckill_ref(out->id);
	session_token(out->secret);
	qr_hash(out->secret, sh);
	sodium_bin2hex(sh_hex, sizeof sh_hex, sh, sizeof sh);
	qr_key(key, sizeof key, out->id);
	snprintf(now_s, sizeof now_s, "%lld", now);
	snprintf(exp_s, sizeof exp_s, "%lld", now + conf.qr_ttl * 1000);
	/* The key outlives the code a little, so a late poll hears "expired", not 404. */
	snprintf(ttl_s, sizeof ttl_s, "%ld", conf.qr_ttl + 300);
	argv[0] = "HSET"; argv[1] = key;
	argv[2] = "state"; argv[3] = "pending";
	argv[4] = "secret"; argv[5] = sh_hex;
	argv[6] = "pc_ip"; argv[7] = pc_ip;
	argv[8] = "pc_ua"; argv[9] = pc_ua;
	argv[10] = "created_ms"; argv[11] = now_s;
	argv[12] = "expires_ms"; argv[13] = exp_s;
	if ((r = store_command_argv(14, argv, NULL)) == NULL)
		return QR_UNAVAILABLE_REDIS;
	freeReplyObject(r);
	if ((r = store_command("EXPIRE %s %s", key, ttl_s)) == NULL)
		return QR_UNAVAILABLE_REDIS;
	freeReplyObject(r);
	qr_hash(out->id, idh);
	if (db_exec("INSERT INTO qr_logins (qr_id_hash, pc_ip, pc_user_agent, expires_at)"
	    " VALUES (?, ?, LEFT(?, 512), UTC_TIMESTAMP(3) + INTERVAL ? SECOND)", NULL, NULL, "bssi",
	    idh, sizeof idh, pc_ip, pc_ua, (long long)conf.qr_ttl) != 0)
		log_warn("qr %.8s: audit row not written", out->id);
	qr_url(out->url, sizeof out->url, out->id);
	return QR_OK;
}

enum qr_outcome
qr_find(const char *id, char *url, size_t urllen)
{
	char key[64];
	redisReply *r;
	int exists;

	qr_key(key, sizeof key, id);
	if ((r = store_command("EXISTS %s", key)) == NULL)
		return QR_UNAVAILABLE_REDIS;
	exists = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	if (!exists)
		return QR_NOT_FOUND;
	qr_url(url, urllen, id);
	return QR_OK;
}

/* Runs one move; the reply (caller frees) or NULL when Redis failed. */
static redisReply *
qr_move(const char *id, const char *op, const char *a3, const char *a4, const char *a5)
{
	char key[64], now_s[24];
	const char *argv[6];
	int n = 3;

	qr_key(key, sizeof key, id);
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

/*
 * The delivery of a confirmed code (the poll moved it to delivering, a lease): the session for
 * user uid, then the code is consumed; when the session cannot be made now the code is
 * confirmed again, so the next poll gets it.
 */
static enum qr_outcome
qr_consume(const char *id, long long uid, const struct req *req, struct qr_poll *out)
{
	unsigned char th[32];
	struct json_object *rows = NULL, *row;
	enum qr_outcome res;
	redisReply *d;

	if (db_select_json("SELECT id, username, role FROM users WHERE id = ?", &rows, "i",
	    uid) != 0 || json_object_array_length(rows) != 1 ||
	    session_create(uid, db_field_str(json_object_array_get_idx(rows, 0), "username",
	    ""), db_field_str(json_object_array_get_idx(rows, 0), "role", "user"), SESSION_WEB,
	    "qr", req, NULL, NULL, conf.session_web_ttl, out->token, out->csrf) != 0) {
		redisReply *u2 = qr_move(id, "undeliver", NULL, NULL, NULL);
		if (u2 != NULL)
			freeReplyObject(u2);
		log_err("qr %.8s: confirmed for user %lld but no session could be made now;"
		    " the next poll tries again", id, uid);
		res = QR_UNAVAILABLE_DB;
		goto out;
	}
	d = qr_move(id, "delivered", NULL, NULL, NULL);
	if (d == NULL || strcmp(qr_reply_word(d, 0), "ok") != 0)
		log_warn("qr %.8s: session delivered, but the code could not be marked consumed",
		    id);
	if (d != NULL)
		freeReplyObject(d);
	row = json_object_array_get_idx(rows, 0);
	out->user.id = db_field_int(row, "id");
	snprintf(out->user.username, sizeof out->user.username, "%s",
	    db_field_str(row, "username", ""));
	snprintf(out->user.role, sizeof out->user.role, "%s", db_field_str(row, "role", ""));
	session_hash(out->token, th);
	qr_audit(id, "consumed", NULL, NULL, th);
	res = QR_OK;
out:
	json_object_put(rows);
	return res;
}

enum qr_outcome
qr_poll(const char *id, const char *secret, const struct req *req, struct qr_poll *out)
{
	char sh_hex[65], min_ms[24];
	unsigned char sh[32];
	enum qr_outcome res = QR_OK;
	redisReply *r;
	const char *st;

	memset(out, 0, sizeof *out);
	qr_hash(secret ? secret : "", sh);
	sodium_bin2hex(sh_hex, sizeof sh_hex, sh, sizeof sh);
	/* Polls may come a little early (timers drift): a quarter of the interval of slack. */
	snprintf(min_ms, sizeof min_ms, "%ld", conf.qr_interval * 750);
	if ((r = qr_move(id, "poll", sh_hex, min_ms, NULL)) == NULL)
		return QR_UNAVAILABLE_REDIS;
	st = qr_reply_word(r, 0);
	if (strcmp(st, "missing") == 0)
		res = QR_NOT_FOUND;
	else if (strcmp(st, "forbidden") == 0 || secret == NULL)
		res = QR_FORBIDDEN;
	else if (strcmp(st, "slow_down") == 0)
		res = QR_SLOW_DOWN;
	else if (strcmp(st, "consumed") == 0)
		res = QR_CONSUMED;
	if (res != QR_OK)
		goto out;
	if (strcmp(st, "expired") == 0)
		qr_audit(id, "expired", NULL, NULL, NULL);
	snprintf(out->state, sizeof out->state, "%s", st);
	if (strcmp(st, "scanned") == 0) {
		snprintf(out->scanner, sizeof out->scanner, "%s", qr_reply_word(r, 1));
	} else if (strcmp(st, "confirmed") == 0) {
		long long uid = 0;
		sscanf(qr_reply_word(r, 1), "%lld", &uid);
		res = qr_consume(id, uid, req, out);
	}
out:
	freeReplyObject(r);
	return res;
}

/* A phone's move that did not happen, by the script's word. */
static enum qr_outcome
qr_refused(const char *word)
{
	if (strcmp(word, "missing") == 0)
		return QR_NOT_FOUND;
	if (strcmp(word, "expired") == 0)
		return QR_EXPIRED;
	if (strcmp(word, "not_scanner") == 0)
		return QR_NOT_SCANNER;
	return QR_WRONG_STATE;
}

/* The scanner's identity for confirm/deny: its session (the very token that scanned). */
static void
qr_scanner(const struct auth *phone, char *out)
{
	sodium_bin2hex(out, 2 * SESSION_HASH_LEN + 1, phone->hash, SESSION_HASH_LEN);
}

enum qr_outcome
qr_scan(const char *id, const struct auth *phone, const char *phone_ip, struct arena *a,
    struct qr_pc *pc)
{
	char uid[24], scanner[2 * SESSION_HASH_LEN + 1];
	enum qr_outcome res;
	redisReply *r;

	memset(pc, 0, sizeof *pc);
	snprintf(uid, sizeof uid, "%lld", phone->user_id);
	qr_scanner(phone, scanner);
	if ((r = qr_move(id, "scan", uid, phone->username, scanner)) == NULL)
		return QR_UNAVAILABLE_REDIS;
	if (strcmp(qr_reply_word(r, 0), "scanned") != 0) {
		res = qr_refused(qr_reply_word(r, 0));
		goto out;
	}
	qr_audit(id, "scanned", phone, phone_ip, NULL);
	sscanf(qr_reply_word(r, 3), "%lld", &pc->created_ms);
	pc->ip = arena_strdup(a, qr_reply_word(r, 1));
	pc->user_agent = arena_strdup(a, qr_reply_word(r, 2));
	res = QR_OK;
out:
	freeReplyObject(r);
	return res;
}

/* confirm or deny (op), which moves the code to state. */
static enum qr_outcome
qr_decide(const char *id, const struct auth *phone, const char *op, const char *state)
{
	char uid[24], scanner[2 * SESSION_HASH_LEN + 1];
	enum qr_outcome res;
	redisReply *r;

	snprintf(uid, sizeof uid, "%lld", phone->user_id);
	qr_scanner(phone, scanner);
	if ((r = qr_move(id, op, uid, scanner, NULL)) == NULL)
		return QR_UNAVAILABLE_REDIS;
	if (strcmp(qr_reply_word(r, 0), state) != 0) {
		res = qr_refused(qr_reply_word(r, 0));
		goto out;
	}
	qr_audit(id, state, phone, NULL, NULL);
	res = QR_OK;
out:
	freeReplyObject(r);
	return res;
}

enum qr_outcome
qr_confirm(const char *id, const struct auth *phone)
{
	return qr_decide(id, phone, "confirm", "confirmed");
}

enum qr_outcome
qr_deny(const char *id, const struct auth *phone)
{
	return qr_decide(id, phone, "deny", "denied");
}

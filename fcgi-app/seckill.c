#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "seckill.h"
#include "store.h"
#include "xmem.h"

/*
 * Keys: sk:{a<id>}:stock   units left (-1 unlimited); absent = not warmed
 *       sk:{a<id>}:buyers  hash user id -> ref of the unit they hold
 *       sk:{a<id>}:ver     bumped whenever units come back (flags reopen)
 *       sk:{a<id>}:path:<user>, sk:{a<id>}:rl:<user>
 */
#define SK_KEY(buf, id, what) snprintf(buf, sizeof buf, "sk:{a%lld}:%s", (long long)(id), what)

/* KEYS stock buyers ver path rl; ARGV user ref path limit window. Checks first, writes last. */
static struct store_script seckill_take_script = { "seckill_take",
	"local stock = redis.call('GET', KEYS[1])\n"
	"if not stock then return {'not_warmed'} end\n"
	"if ARGV[4] ~= '0' then\n"
	"  local n = redis.call('INCR', KEYS[5])\n"
	"  if n == 1 then redis.call('EXPIRE', KEYS[5], ARGV[5]) end\n"
	"  if n > tonumber(ARGV[4]) then return {'rate_limited', tostring(redis.call('TTL', KEYS[5]))} end\n"
	"end\n"
	"if ARGV[3] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[3] then return {'bad_path'} end\n"
	"local held = redis.call('HGET', KEYS[2], ARGV[1])\n"
	"if held then return {'duplicate', held} end\n"
	"stock = tonumber(stock)\n"
	"if stock ~= -1 and stock <= 0 then\n"
	"  return {'sold_out', redis.call('GET', KEYS[3]) or '0'}\n"
	"end\n"
	"if stock > 0 then redis.call('DECR', KEYS[1]) end\n"
	"redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
	"return {'queued', tostring(stock)}\n", "" };

/* KEYS stock buyers ver; ARGV user ref. Only the holder of that very ref gives it back. */
static struct store_script seckill_give_script = { "seckill_give_back",
	"if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end\n"
	"redis.call('HDEL', KEYS[2], ARGV[1])\n"
	"local s = tonumber(redis.call('GET', KEYS[1]) or '-2')\n"
	"if s >= 0 then redis.call('INCR', KEYS[1]) end\n"
	"redis.call('INCR', KEYS[3])\n"
	"return 1\n", "" };

/* KEYS stock buyers ver; ARGV stock, then user/ref pairs. Only when there is no stock key. */
static struct store_script seckill_warm_script = { "seckill_warm",
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
	"redis.call('DEL', KEYS[2])\n"
	"for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end\n"
	"redis.call('SET', KEYS[1], ARGV[1])\n"
	"redis.call('INCR', KEYS[3])\n"
	"return 1\n", "" };

/* ---- the worker's activity cache ----------------------------------------------------------- */

#define SK_CACHE 64

static struct {
	struct seckill_activity a;
	long long until;	/* monotonic ms */
	int absent;
} sk_acts[SK_CACHE];

int
seckill_activity(long long id, struct seckill_activity *out)
{
	unsigned slot = (unsigned)(id % SK_CACHE);
	struct json_object *rows = NULL, *row;
	long long now = clock_mono_ms();
	int rc = 1;

	if (sk_acts[slot].a.id == id && sk_acts[slot].until > now) {
		if (sk_acts[slot].absent)
			return 1;
		*out = sk_acts[slot].a;
		return 0;
	}
	if (db_select_json("SELECT id, title, price_cents, stock_total, starts_at, ends_at"
	    " FROM activities WHERE id = ?", &rows, "i", id) != 0)
		return -1;
	memset(&sk_acts[slot], 0, sizeof sk_acts[slot]);
	sk_acts[slot].a.id = id;
	sk_acts[slot].until = now + 1000;
	sk_acts[slot].absent = 1;
	if (json_object_array_length(rows) == 1) {
		struct seckill_activity *a = &sk_acts[slot].a;
		row = json_object_array_get_idx(rows, 0);
		snprintf(a->title, sizeof a->title, "%s", db_field_str(row, "title", ""));
		a->price_cents = db_field_int(row, "price_cents");
		a->stock_total = db_field_int(row, "stock_total");
		a->starts_ms = db_field_int(row, "starts_at");
		a->ends_ms = db_field_int(row, "ends_at");
		sk_acts[slot].absent = 0;
		*out = *a;
		rc = 0;
	}
	json_object_put(rows);
	return rc;
}

void
seckill_ref(char *out)
{
	unsigned char raw[SECKILL_REF_LEN / 2];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(out, SECKILL_REF_LEN + 1, raw, sizeof raw);
}

int
seckill_is_ref(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == SECKILL_REF_LEN;
}

int
seckill_path_new(long long activity, long long user, char *token_out, long ttl_s)
{
	char key[96], what[48];
	redisReply *r;
	int rc;

	seckill_ref(token_out);
	snprintf(what, sizeof what, "path:%lld", user);
	SK_KEY(key, activity, what);
	if ((r = store_command("SET %s %s EX %ld", key, token_out, ttl_s)) == NULL)
		return -1;
	rc = r->type == REDIS_REPLY_STATUS ? 0 : -1;
	freeReplyObject(r);
	return rc;
}

/* ---- the sold-out flag ---------------------------------------------------------------------- */

struct sk_flag {
	long long activity;
	long long ver;			/* the activity's ver when it sold out */
	long long checked;		/* monotonic ms of the last ver check */
	long long *winners;		/* sorted user ids holding a unit then */
	size_t nwinners;
	int sold_out;
};

static struct sk_flag sk_flags[SK_CACHE];

void
seckill_flags_clear(void)
{
	for (size_t i = 0; i < SK_CACHE; i++) {
		free(sk_flags[i].winners);
		memset(&sk_flags[i], 0, sizeof sk_flags[i]);
	}
}

static int
sk_cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* Raises the flag after the script said sold out, with the list of who holds a unit. */
static void
sk_flag_raise(long long activity, long long ver)
{
	struct sk_flag *f = &sk_flags[(unsigned)(activity % SK_CACHE)];
	char key[64];
	redisReply *r;

	SK_KEY(key, activity, "buyers");
	if ((r = store_command("HKEYS %s", key)) == NULL)
		return;
	if (r->type == REDIS_REPLY_ARRAY) {
		free(f->winners);
		f->winners = xmalloc((r->elements + 1) * sizeof *f->winners);
		for (size_t i = 0; i < r->elements; i++)
			f->winners[i] = atoll(r->element[i]->str);
		f->nwinners = r->elements;
		qsort(f->winners, f->nwinners, sizeof *f->winners, sk_cmp_ll);
		f->activity = activity;
		f->ver = ver;
		f->checked = clock_mono_ms();
		f->sold_out = 1;
	}
	freeReplyObject(r);
}

/*
 * The flag's answer without the script: SK_SOLD_OUT or SK_DUPLICATE, or -1 to go on to Redis.
 * Once a second it asks Redis whether units came back (ver changed), and lowers the flag.
 */
static int
sk_flag_check(long long activity, long long user)
{
	struct sk_flag *f = &sk_flags[(unsigned)(activity % SK_CACHE)];
	long long now;

	if (!f->sold_out || f->activity != activity)
		return -1;
	now = clock_mono_ms();
	if (now - f->checked >= 1000) {
		char key[64];
		redisReply *r;
		SK_KEY(key, activity, "ver");
		if ((r = store_command("GET %s", key)) == NULL)
			return -1;
		long long ver = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
		freeReplyObject(r);
		if (ver != f->ver) {
			f->sold_out = 0;
			return -1;
		}
		f->checked = now;
	}
	if (bsearch(&user, f->winners, f->nwinners, sizeof *f->winners, sk_cmp_ll) != NULL)
		return SK_DUPLICATE;
	return SK_SOLD_OUT;
}

/* ---- taking, giving back, warming ----------------------------------------------------------- */

enum seckill_outcome
seckill_take(long long activity, long long user, const char *path, char *ref, long *retry_after)
{
	char k_stock[64], k_buyers[64], k_ver[64], k_path[96], k_rl[96], what[48], uid[24];
	char limit[24], window[8] = "60";
	const char *argv[10];
	enum seckill_outcome out = SK_FAILED;
	int flag, warmed = 0;
	redisReply *r;

	*retry_after = 0;
	if ((flag = sk_flag_check(activity, user)) >= 0) {
		metrics_inc(flag == SK_SOLD_OUT ? MC_SECKILL_SOLD_OUT_LOCAL : MC_SECKILL_DUPLICATE);
		return (enum seckill_outcome)flag;
	}
	SK_KEY(k_stock, activity, "stock");
	SK_KEY(k_buyers, activity, "buyers");
	SK_KEY(k_ver, activity, "ver");
	snprintf(what, sizeof what, "path:%lld", user);
	SK_KEY(k_path, activity, what);
	snprintf(what, sizeof what, "rl:%lld", user);
	SK_KEY(k_rl, activity, what);
	snprintf(uid, sizeof uid, "%lld", user);
	snprintf(limit, sizeof limit, "%ld", conf.ratelimit_enabled ? conf.ratelimit_buy_per_user : 0);
	seckill_ref(ref);
	argv[0] = k_stock; argv[1] = k_buyers; argv[2] = k_ver; argv[3] = k_path; argv[4] = k_rl;
	argv[5] = uid; argv[6] = ref; argv[7] = path; argv[8] = limit; argv[9] = window;
again:
	if ((r = store_eval(&seckill_take_script, 5, 10, argv)) == NULL)
		return SK_FAILED;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		goto out;
	const char *what_s = r->element[0]->str;
	const char *arg = r->elements > 1 && r->element[1]->type == REDIS_REPLY_STRING ?
	    r->element[1]->str : NULL;
	if (strcmp(what_s, "queued") == 0) {
		out = SK_QUEUED;
		metrics_inc(MC_SECKILL_QUEUED);
	} else if (strcmp(what_s, "sold_out") == 0) {
		out = SK_SOLD_OUT;
		metrics_inc(MC_SECKILL_SOLD_OUT);
		sk_flag_raise(activity, arg ? atoll(arg) : 0);
	} else if (strcmp(what_s, "duplicate") == 0) {
		out = SK_DUPLICATE;
		metrics_inc(MC_SECKILL_DUPLICATE);
		if (arg != NULL)
			snprintf(ref, SECKILL_REF_LEN + 1, "%s", arg);
	} else if (strcmp(what_s, "bad_path") == 0) {
		out = SK_BAD_PATH;
	} else if (strcmp(what_s, "rate_limited") == 0) {
		out = SK_RATE_LIMITED;
		*retry_after = arg && atol(arg) > 0 ? atol(arg) : 1;
		metrics_inc(MC_RATELIMITED);
	} else if (strcmp(what_s, "not_warmed") == 0 && !warmed) {
		/* Redis lost the activity (or it is new): rebuild it from MySQL, then once more. */
		freeReplyObject(r);
		warmed = 1;
		int w = seckill_warm(activity);
		if (w < 0)
			return SK_FAILED;
		if (w == 2)
			return SK_NOT_WARMED;
		goto again;
	} else {
		out = SK_NOT_WARMED;
	}
out:
	freeReplyObject(r);
	return out;
}

int
seckill_give_back(long long activity, long long user, const char *ref)
{
	char k_stock[64], k_buyers[64], k_ver[64], uid[24];
	const char *argv[5];
	redisReply *r;
	int rc = -1;

	SK_KEY(k_stock, activity, "stock");
	SK_KEY(k_buyers, activity, "buyers");
	SK_KEY(k_ver, activity, "ver");
	snprintf(uid, sizeof uid, "%lld", user);
	argv[0] = k_stock; argv[1] = k_buyers; argv[2] = k_ver; argv[3] = uid; argv[4] = ref;
	if ((r = store_eval(&seckill_give_script, 3, 5, argv)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_INTEGER)
		rc = (int)r->integer;
	freeReplyObject(r);
	return rc;
}

int
seckill_warm(long long activity)
{
	struct json_object *act = NULL, *held = NULL, *v;
	char k_stock[64], k_buyers[64], k_ver[64], stock_s[24];
	const char **argv = NULL;
	long long total, stock;
	size_t n;
	int rc = -1;
	redisReply *r;

	if (db_select_json("SELECT stock_total FROM activities WHERE id = ?", &act, "i",
	    activity) != 0)
		return -1;
	if (json_object_array_length(act) == 0) {
		rc = 2;
		goto out;
	}
	json_object_object_get_ex(json_object_array_get_idx(act, 0), "stock_total", &v);
	total = json_object_get_int64(v);
	/* Who holds a unit: live orders, and winners whose order is not created yet. */
	if (db_select_json("SELECT user_id, message_id AS ref FROM orders"
	    " WHERE activity_id = ? AND status <> 'cancelled'"
	    " UNION ALL SELECT o.user_id, o.id FROM outbox o"
	    " WHERE o.activity_id = ? AND o.status IN ('pending', 'sent')"
	    " AND NOT EXISTS (SELECT 1 FROM orders x WHERE x.message_id = o.id)",
	    &held, "ii", activity, activity) != 0)
		goto out;
	n = json_object_array_length(held);
	stock = total < 0 ? -1 : total - (long long)n;
	if (stock < -1 || (total >= 0 && stock < 0))
		stock = 0;
	snprintf(stock_s, sizeof stock_s, "%lld", stock);
	SK_KEY(k_stock, activity, "stock");
	SK_KEY(k_buyers, activity, "buyers");
	SK_KEY(k_ver, activity, "ver");
	argv = xmalloc((4 + 2 * n) * sizeof *argv);
	argv[0] = k_stock; argv[1] = k_buyers; argv[2] = k_ver; argv[3] = stock_s;
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(held, i);
		json_object_object_get_ex(row, "user_id", &v);
		argv[4 + 2 * i] = json_object_get_string(v);
		json_object_object_get_ex(row, "ref", &v);
		argv[5 + 2 * i] = json_object_get_string(v);
	}
	if ((r = store_eval(&seckill_warm_script, 3, (int)(4 + 2 * n), argv)) == NULL)
		goto out;
	if (r->type == REDIS_REPLY_INTEGER) {
		rc = (int)r->integer;
		if (rc == 1)
			log_info("activity %lld warmed: stock %lld, %zu holders", activity, stock, n);
	}
	freeReplyObject(r);
out:
	free(argv);
	json_object_put(act);
	json_object_put(held);
	return rc;
}

int
seckill_held(long long activity, long long user, char *ref)
{
	char key[64];
	redisReply *r;
	int rc = 1;

	SK_KEY(key, activity, "buyers");
	if ((r = store_command("HGET %s %lld", key, user)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STRING) {
		snprintf(ref, SECKILL_REF_LEN + 1, "%s", r->str);
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

int
seckill_stock(long long activity, long long *stock)
{
	char key[64];
	redisReply *r;
	int rc = 1;

	SK_KEY(key, activity, "stock");
	if ((r = store_command("GET %s", key)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STRING) {
		*stock = atoll(r->str);
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "buf.h"
#include "activity.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "heal.h"
#include "metrics.h"
#include "relay.h"
#include "seckill.h"
#include "store.h"
#include "ticker.h"
#include "xmem.h"

/*
 * Keys: sk:{a<id>}:stock   units left (-1 unlimited); absent = not warmed
 *       sk:{a<id>}:buyers  hash user id -> ref of the unit they hold
 *       sk:{a<id>}:ver     bumped whenever units come back (flags reopen); never goes back
 *       sk:{a<id>}:stamp   run_id of the Redis whose copy was last checked against MySQL: a
 *                          Redis restarted from older data, or a replica promoted, has another
 *                          run_id, so the sale is rebuilt from MySQL before it sells again
 *       sk:{a<id>}:path:<user>, sk:{a<id>}:rl:<user>
 *
 * A ref (order_ref, outbox id, message id) is 12 hex digits of its attempt's start in epoch ms,
 * then 20 random ones: whoever finds a holder in Redis knows how old its attempt is. An attempt
 * has seckill.attempt_ms to take its unit and write its outbox row; the take script (by Redis's
 * clock) and the outbox insert (by MySQL's) refuse it after that, so once the deadline has
 * passed, what Redis and MySQL say about it is final and the healer may settle it.
 */
#define SK_KEY(buf, id, what) seckill_key(buf, sizeof buf, id, what)

void
seckill_key(char *buf, size_t len, long long activity, const char *what)
{
	snprintf(buf, len, "sk:{a%lld}:%s", activity, what);
}

/* KEYS stock buyers ver path rl stamp; ARGV user ref path limit window deadline_ms run_id.
 * Checks first, writes last. The same attempt (ref) asked twice gets the same answer. */
static struct store_script seckill_take_script = { "seckill_take",
	"local t = redis.call('TIME')\n"
	"if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[6]) then\n"
	"  return {'late'}\n"
	"end\n"
	"local stock = redis.call('GET', KEYS[1])\n"
	"if not stock then return {'not_warmed'} end\n"
	"if redis.call('GET', KEYS[6]) ~= ARGV[7] then return {'unverified'} end\n"
	"local held = redis.call('HGET', KEYS[2], ARGV[1])\n"
	"if held == ARGV[2] then return {'queued', 'again'} end\n"
	"if ARGV[4] ~= '0' then\n"
	"  local n = redis.call('INCR', KEYS[5])\n"
	"  if n == 1 then redis.call('EXPIRE', KEYS[5], ARGV[5]) end\n"
	"  if n > tonumber(ARGV[4]) then return {'rate_limited', tostring(redis.call('TTL', KEYS[5]))} end\n"
	"end\n"
	"if ARGV[3] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[3] then return {'bad_path'} end\n"
	"if held then return {'duplicate', held} end\n"
	"stock = tonumber(stock)\n"
	"if stock ~= -1 and stock <= 0 then\n"
	"  return {'sold_out', redis.call('GET', KEYS[3]) or '0'}\n"
	"end\n"
	"if stock > 0 then redis.call('DECR', KEYS[1]) end\n"
	"redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
	"return {'queued', tostring(stock)}\n", "" };

/* KEYS buyers; ARGV user. The user's ref ('' for none) and Redis's clock in ms. */
static struct store_script seckill_check_script = { "seckill_check",
	"local t = redis.call('TIME')\n"
	"return {redis.call('HGET', KEYS[1], ARGV[1]) or '',"
	" tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))}\n", "" };

/*
 * KEYS stock buyers ver; ARGV user ref restock [new_ref]. Only the holder of that very ref is
 * released; with restock 1 its unit goes back to the stock. With new_ref the user stays a
 * holder under that ref (the live order MySQL knows) instead of being forgotten.
 */
static struct store_script seckill_give_script = { "seckill_give_back",
	"if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end\n"
	"if ARGV[4] and ARGV[4] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])\n"
	"else redis.call('HDEL', KEYS[2], ARGV[1]) end\n"
	"if ARGV[3] == '1' then\n"
	"  local s = tonumber(redis.call('GET', KEYS[1]) or '-2')\n"
	"  if s >= 0 then redis.call('INCR', KEYS[1]) end\n"
	"end\n"
	"redis.call('INCR', KEYS[3])\n"
	"return 1\n", "" };

/*
 * KEYS stock buyers ver stamp; ARGV run_id now_ms keep_after_ms total units, then user/ref
 * pairs of the units MySQL knows (live orders, outbox rows not yet orders). Unless the copy is
 * there and stamped by this very Redis already: the holders become MySQL's, plus the holders
 * Redis has whose attempt is younger than keep_after_ms (they may be writing their outbox row
 * now: the healer settles them), the stock the rest, ver moves past any value it had (a flag
 * raised before never matches again), and the stamp says this Redis is checked.
 */
static struct store_script seckill_rebuild_script = { "seckill_rebuild",
	"local stamp = redis.call('GET', KEYS[4])\n"
	"if stamp == ARGV[1] and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
	"local keep, extra = {}, 0\n"
	"local old = redis.call('HGETALL', KEYS[2])\n"
	"for i = 1, #old, 2 do\n"
	"  local t = tonumber(string.sub(old[i + 1], 1, 12), 16)\n"
	"  if t and t > tonumber(ARGV[3]) then keep[old[i]] = old[i + 1] end\n"
	"end\n"
	"redis.call('DEL', KEYS[2])\n"
	"for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); keep[ARGV[i]] = nil end\n"
	"for u, r in pairs(keep) do redis.call('HSET', KEYS[2], u, r); extra = extra + 1 end\n"
	"local total, stock = tonumber(ARGV[4]), -1\n"
	"if total >= 0 then stock = math.max(0, total - tonumber(ARGV[5]) - extra) end\n"
	"redis.call('SET', KEYS[1], stock)\n"
	"local v = tonumber(redis.call('GET', KEYS[3]) or '0')\n"
	"if v < tonumber(ARGV[2]) then v = tonumber(ARGV[2]) else v = v + 1 end\n"
	"redis.call('SET', KEYS[3], v)\n"
	"redis.call('SET', KEYS[4], ARGV[1])\n"
	"if stamp then return 3 end\n"
	"return 1\n", "" };

/* ---- the worker's activity cache ----------------------------------------------------------- */

#define SK_CACHE 64
#define SK_STALE_MS 300000	/* how long a sale runs on its last read while MySQL is away */

/*
 * A sale's terms, read once per worker and then again in the background every second (the
 * ticker), so that a request waits for MySQL only the first time this worker meets a sale.
 * While MySQL is away the sale goes on with what was read last (its terms do not change while
 * it runs), for SK_STALE_MS. The ticker writes, the request thread reads: under sk_acts_lock.
 */
static struct {
	struct seckill_activity a;
	long long until;	/* monotonic ms: read it again after */
	long long read_at;	/* monotonic ms of the last answer MySQL gave */
	int absent, wanted;
} sk_acts[SK_CACHE];
static pthread_mutex_t sk_acts_lock = PTHREAD_MUTEX_INITIALIZER;
static int sk_acts_background;

/* Reads activity id from MySQL into its slot: 0 found, 1 absent, -1 failure. */
static int
seckill_activity_read(long long id, struct seckill_activity *out)
{
	unsigned slot = (unsigned)(id % SK_CACHE);
	struct json_object *row = NULL;
	struct seckill_activity a;
	int rc;

	if ((rc = activity_load(id, &row)) < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.id = id;
	if (rc == 0) {
		snprintf(a.title, sizeof a.title, "%s", db_field_str(row, "title", ""));
		a.price_cents = db_field_int(row, "price_cents");
		a.stock_total = db_field_int(row, "stock_total");
		a.starts_ms = db_field_int(row, "starts_at");
		a.ends_ms = db_field_int(row, "ends_at");
	}
	json_object_put(row);
	pthread_mutex_lock(&sk_acts_lock);
	sk_acts[slot].a = a;
	sk_acts[slot].read_at = clock_mono_ms();
	sk_acts[slot].until = sk_acts[slot].read_at + 1000;
	sk_acts[slot].absent = rc;
	sk_acts[slot].wanted = 0;
	pthread_mutex_unlock(&sk_acts_lock);
	if (out != NULL)
		*out = a;
	return rc;
}

int
seckill_activity(long long id, struct seckill_activity *out)
{
	unsigned slot = (unsigned)(id % SK_CACHE);
	long long now = clock_mono_ms();
	int rc = -1;

	pthread_mutex_lock(&sk_acts_lock);
	if (sk_acts[slot].a.id == id && sk_acts[slot].read_at != 0) {
		if (sk_acts[slot].until > now ||
		    (sk_acts_background && now - sk_acts[slot].read_at < SK_STALE_MS)) {
			/* Due again: the ticker reads it; this request goes on with what we have. */
			if (sk_acts[slot].until <= now)
				sk_acts[slot].wanted = 1;
			rc = sk_acts[slot].absent;
			*out = sk_acts[slot].a;
		}
	}
	pthread_mutex_unlock(&sk_acts_lock);
	if (rc >= 0)
		return rc;
	return seckill_activity_read(id, out);
}

/* The ticker's task: reads again the sales requests found due. */
static void
seckill_activity_tick(void)
{
	long long ids[SK_CACHE];
	int n = 0;

	pthread_mutex_lock(&sk_acts_lock);
	for (int i = 0; i < SK_CACHE; i++)
		if (sk_acts[i].wanted)
			ids[n++] = sk_acts[i].a.id;
	pthread_mutex_unlock(&sk_acts_lock);
	for (int i = 0; i < n; i++)
		if (seckill_activity_read(ids[i], NULL) < 0) {
			/* MySQL away: ask again in a second, not every tick. */
			pthread_mutex_lock(&sk_acts_lock);
			for (int j = 0; j < SK_CACHE; j++)
				if (sk_acts[j].a.id == ids[i]) {
					sk_acts[j].until = clock_mono_ms() + 1000;
					sk_acts[j].wanted = 0;
				}
			pthread_mutex_unlock(&sk_acts_lock);
			break;
		}
}

void
seckill_activity_background(void)
{
	if (!sk_acts_background && ticker_add(seckill_activity_tick) == 0)
		sk_acts_background = 1;
}

void
seckill_ref(char *out)
{
	unsigned char raw[SECKILL_REF_LEN / 2];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(out, SECKILL_REF_LEN + 1, raw, sizeof raw);
}

void
seckill_attempt_ref(char *out, long long start_ms)
{
	unsigned char raw[10];

	snprintf(out, 13, "%012llx", (unsigned long long)start_ms & 0xffffffffffffULL);
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(out + 12, SECKILL_REF_LEN - 12 + 1, raw, sizeof raw);
}

long long
seckill_ref_time(const char *ref)
{
	long long t = 0;

	if (!seckill_is_ref(ref))
		return 0;
	for (int i = 0; i < 12; i++)
		t = t * 16 + (ref[i] <= '9' ? ref[i] - '0' : ref[i] - 'a' + 10);
	return t;
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
	char run[41];			/* ... in the Redis of this run_id */
	long long checked;		/* monotonic ms of the last ver check */
	long long *winners;		/* sorted user ids holding a unit then */
	size_t nwinners;
	int sold_out;
	int all_winners;		/* winners is the whole list (not too many to keep) */
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

/* KEYS buyers; ARGV cap. The holders' user ids in one string, space-separated, or their count
 * when more than cap. One string, not an array: a reply object per holder would take some
 * 90 bytes of the worker's heap each (2 MiB for a sale of 20,000 units), if only for a moment. */
static struct store_script seckill_holders_script = { "seckill_holders",
	"local n = redis.call('HLEN', KEYS[1])\n"
	"if n > tonumber(ARGV[1]) then return n end\n"
	"return table.concat(redis.call('HKEYS', KEYS[1]), ' ')\n", "" };

/* More holders than this and the flag answers only "sold out"; holders go on to Redis. */
#define SK_FLAG_MAX_WINNERS 65536

/*
 * Raises the flag after the script said sold out, with the list of who holds a unit (read
 * once per raise, and only while it is small enough to keep; a sale of more units answers its
 * holders from Redis).
 */
static void
sk_flag_raise(long long activity, long long ver)
{
	struct sk_flag *f = &sk_flags[(unsigned)(activity % SK_CACHE)];
	char key[64], cap[16];
	const char *argv[2] = { key, cap };
	redisReply *r;

	SK_KEY(key, activity, "buyers");
	snprintf(cap, sizeof cap, "%d", SK_FLAG_MAX_WINNERS);
	if ((r = store_eval(&seckill_holders_script, 1, 2, argv)) == NULL)
		return;
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_INTEGER) {
		free(f->winners);
		f->winners = NULL;
		f->nwinners = 0;
		f->all_winners = r->type == REDIS_REPLY_STRING;
		if (f->all_winners) {
			/* Each id takes two characters at least ("7 "). */
			size_t max = r->len / 2 + 1;
			char *p = r->str, *end;

			f->winners = xmalloc(max * sizeof *f->winners);
			while (f->nwinners < max) {
				long long id = strtoll(p, &end, 10);

				if (end == p)
					break;
				f->winners[f->nwinners++] = id;
				p = end;
			}
			qsort(f->winners, f->nwinners, sizeof *f->winners, sk_cmp_ll);
		}
		f->activity = activity;
		f->ver = ver;
		snprintf(f->run, sizeof f->run, "%s", store_run_id());
		f->checked = clock_mono_ms();
		f->sold_out = 1;
	}
	freeReplyObject(r);
}

/*
 * The flag's answer without the script: SK_SOLD_OUT or SK_DUPLICATE, or -1 to go on to Redis.
 * Once a second it asks Redis whether units came back (ver changed, or another Redis answers
 * now), and lowers the flag.
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
		if (ver != f->ver || strcmp(f->run, store_run_id()) != 0) {
			f->sold_out = 0;
			return -1;
		}
		f->checked = now;
	}
	if (bsearch(&user, f->winners, f->nwinners, sizeof *f->winners, sk_cmp_ll) != NULL)
		return SK_DUPLICATE;
	return f->all_winners ? SK_SOLD_OUT : -1;
}

/* ---- taking, giving back, rebuilding -------------------------------------------------------- */

/*
 * After the take's reply was lost: asks Redis, on a new connection, whether the attempt holds
 * the unit. Once Redis's clock is past the deadline the answer is final (the script refuses a
 * late take); before that, waits for the deadline once. SK_QUEUED, SK_FAILED (nothing taken)
 * or SK_UNCONFIRMED (Redis does not answer).
 */
static enum seckill_outcome
sk_settle_take(const char *k_buyers, const char *uid, const char *ref, long long deadline)
{
	const char *argv[2] = { k_buyers, uid };

	for (int round = 0; round < 2; round++) {
		redisReply *r;
		long long now;
		int held;

		if (store_fresh() == NULL || (r = store_eval(&seckill_check_script, 1, 2, argv)) == NULL)
			return SK_UNCONFIRMED;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return SK_UNCONFIRMED;
		}
		held = strcmp(r->element[0]->str, ref) == 0;
		now = atoll(r->element[1]->str);
		freeReplyObject(r);
		if (held)
			return SK_QUEUED;
		if (now > deadline)
			return SK_FAILED;
		clock_sleep_ms(deadline - now + 5);
	}
	return SK_UNCONFIRMED;
}

static enum seckill_outcome
sk_take(long long activity, long long user, const char *path, char *ref, long *retry_after)
{
	char k_stock[64], k_buyers[64], k_ver[64], k_path[96], k_rl[96], k_stamp[64], what[48];
	char uid[24], limit[24], window[8] = "60", deadline_s[24], run[41];
	const char *argv[13];
	enum seckill_outcome out = SK_FAILED;
	long long start = clock_wall_ms(), deadline = start + conf.seckill_attempt_ms;
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
	SK_KEY(k_stamp, activity, "stamp");
	snprintf(what, sizeof what, "path:%lld", user);
	SK_KEY(k_path, activity, what);
	snprintf(what, sizeof what, "rl:%lld", user);
	SK_KEY(k_rl, activity, what);
	snprintf(uid, sizeof uid, "%lld", user);
	snprintf(limit, sizeof limit, "%ld", conf.ratelimit_enabled ? conf.ratelimit_buy_per_user : 0);
	snprintf(deadline_s, sizeof deadline_s, "%lld", deadline);
	seckill_attempt_ref(ref, start);
	argv[0] = k_stock; argv[1] = k_buyers; argv[2] = k_ver; argv[3] = k_path; argv[4] = k_rl;
	argv[5] = k_stamp;
	argv[6] = uid; argv[7] = ref; argv[8] = path; argv[9] = limit; argv[10] = window;
	argv[11] = deadline_s; argv[12] = run;
again:
	if (store_get() == NULL)
		return SK_FAILED;
	/* The stamp this connection's Redis must carry (copied: a reconnect may change it). */
	snprintf(run, sizeof run, "%s", store_run_id());
	if ((r = store_eval(&seckill_take_script, 6, 13, argv)) == NULL) {
		if (!store_lost())
			return SK_FAILED;
		/* Sent, but no answer: it may have run. Ask before anyone says "nothing changed". */
		out = sk_settle_take(k_buyers, uid, ref, deadline);
		log_warn("activity %lld: the take of %s (user %lld) lost its reply: %s", activity, ref,
		    user, out == SK_QUEUED ? "it took a unit" : out == SK_FAILED ?
		    "it took nothing" : "still unknown");
		if (out == SK_QUEUED)
			metrics_inc(MC_SECKILL_QUEUED);
		return out;
	}
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
	} else if (strcmp(what_s, "late") == 0) {
		/* Redis got to it after the deadline and took nothing: nothing changed. */
		log_warn("activity %lld: Redis ran the take of user %lld after its deadline", activity,
		    user);
		out = SK_FAILED;
	} else if ((strcmp(what_s, "not_warmed") == 0 || strcmp(what_s, "unverified") == 0) &&
	    !warmed) {
		/* Redis lost the sale, or restarted (maybe from older data), or it is new: rebuild it
		 * from MySQL before it sells, then once more. */
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

static int
sk_give(long long activity, long long user, const char *ref, int restock, const char *new_ref)
{
	char k_stock[64], k_buyers[64], k_ver[64], uid[24];
	const char *argv[7];
	redisReply *r;
	int rc = -1;

	SK_KEY(k_stock, activity, "stock");
	SK_KEY(k_buyers, activity, "buyers");
	SK_KEY(k_ver, activity, "ver");
	snprintf(uid, sizeof uid, "%lld", user);
	argv[0] = k_stock; argv[1] = k_buyers; argv[2] = k_ver; argv[3] = uid; argv[4] = ref;
	argv[5] = restock ? "1" : "0"; argv[6] = new_ref ? new_ref : "";
	if ((r = store_eval(&seckill_give_script, 3, 7, argv)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_INTEGER)
		rc = (int)r->integer;
	freeReplyObject(r);
	return rc;
}

int
seckill_give_back(long long activity, long long user, const char *ref)
{
	return sk_give(activity, user, ref, 1, NULL);
}

int
seckill_release(long long activity, long long user, const char *ref, int restock,
    const char *live_ref)
{
	return sk_give(activity, user, ref, restock, live_ref);
}

int
seckill_warm(long long activity)
{
	struct json_object *act = NULL, *held = NULL, *v;
	char k_stock[64], k_buyers[64], k_ver[64], k_stamp[64], run[41], now_s[24], keep_s[24];
	char total_s[24], units_s[24];
	const char **argv = NULL;
	long long total, now;
	size_t n;
	int rc = -1;
	redisReply *r;

	if (store_get() == NULL)
		return -1;
	snprintf(run, sizeof run, "%s", store_run_id());
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
	now = clock_wall_ms();
	snprintf(now_s, sizeof now_s, "%lld", now);
	snprintf(keep_s, sizeof keep_s, "%lld", now - conf.seckill_attempt_ms - 1000);
	snprintf(total_s, sizeof total_s, "%lld", total);
	snprintf(units_s, sizeof units_s, "%zu", n);
	SK_KEY(k_stock, activity, "stock");
	SK_KEY(k_buyers, activity, "buyers");
	SK_KEY(k_ver, activity, "ver");
	SK_KEY(k_stamp, activity, "stamp");
	argv = xmalloc((9 + 2 * n) * sizeof *argv);
	argv[0] = k_stock; argv[1] = k_buyers; argv[2] = k_ver; argv[3] = k_stamp;
	argv[4] = run; argv[5] = now_s; argv[6] = keep_s; argv[7] = total_s; argv[8] = units_s;
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(held, i);
		json_object_object_get_ex(row, "user_id", &v);
		argv[9 + 2 * i] = json_object_get_string(v);
		json_object_object_get_ex(row, "ref", &v);
		argv[10 + 2 * i] = json_object_get_string(v);
	}
	if ((r = store_eval(&seckill_rebuild_script, 4, (int)(9 + 2 * n), argv)) == NULL)
		goto out;
	if (r->type == REDIS_REPLY_INTEGER) {
		rc = (int)r->integer;
		/* Another Redis's stamp (a restart, maybe from older data) or units that were held
		 * (Redis was emptied): that is a repair, not a first load. */
		if (rc == 3 || (rc == 1 && n > 0)) {
			log_warn("activity %lld rebuilt from MySQL in Redis %.8s (%s): %zu units held",
			    activity, run, rc == 3 ? "another Redis had it" : "Redis had lost it", n);
			metrics_inc(MC_HEAL_REBUILD);
			heal_log(activity, "rebuild", rc == 3 ? "Redis restarted or replaced: rebuilt"
			    " from MySQL" : "Redis had lost the sale: rebuilt from MySQL");
		} else if (rc == 1) {
			log_info("activity %lld loaded into Redis", activity);
		}
		if (rc == 3)
			rc = 1;
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

/* ---- the buy and its result ----------------------------------------------------------------- */

/*
 * The outbox insert whose reply was lost: settled on a fresh connection by writing a void row
 * under the same id. If that insert wins, the real one never committed and never will (the
 * primary key), so the unit may go back; if it meets the real row, the buy went through.
 * 0 the row exists, 1 it never will, -1 unknown.
 */
static int
sk_settle_outbox(const char *ref, long long activity, long long user, const char *payload)
{
	struct json_object *rows = NULL;
	int rc = -1;

	if (db_fresh() == NULL)
		return -1;
	if (db_exec("INSERT INTO outbox (id, activity_id, user_id, payload, status, last_error)"
	    " VALUES (?, ?, ?, ?, 'void', 'the buy lost its reply before the row was written')",
	    NULL, NULL, "siis", ref, activity, user, payload) == 0)
		return 1;
	if (db_last_errno() != DB_ER_DUP_ENTRY)
		return -1;
	if (db_select_json("SELECT status FROM outbox WHERE id = ?", &rows, "s", ref) == 0 &&
	    json_object_array_length(rows) == 1)
		rc = strcmp(db_field_str(json_object_array_get_idx(rows, 0), "status", ""), "void") == 0
		    ? 1 : 0;
	json_object_put(rows);
	return rc;
}

/* The outbox payload of a winner (the order message): its length, or -1 if it does not fit. */
static int
sk_payload(char *buf, size_t len, const struct seckill_winner *w)
{
	int n = snprintf(buf, len, "{\"message_id\":\"%s\",\"activity_id\":%lld,"
	    "\"user_id\":%lld,\"amount_cents\":%lld,\"created_at\":%lld}", w->ref, w->act.id,
	    w->user, w->act.price_cents, clock_wall_ms());

	return n > 0 && (size_t)n < len ? n : -1;
}

static long long
sk_deadline(const struct seckill_winner *w)
{
	return seckill_ref_time(w->ref) + conf.seckill_attempt_ms;
}

/* A row is in the outbox: from here the order cannot be lost (a row the relay does not send
 * stays pending for the retry job). */
static enum seckill_outcome
sk_recorded(const struct seckill_winner *w, const char *payload, int len)
{
	if (relay_submit(w->ref, payload, (size_t)len) != 0)
		log_warn("outbox %s: the relay is full; the retry job sends it", w->ref);
	return SK_QUEUED;
}

/*
 * One winner's outbox row in MySQL, refused by MySQL's clock past the attempt's deadline, then
 * handed to the relay. SK_QUEUED, SK_FAILED (no row: give the unit back) or SK_UNCONFIRMED.
 */
static enum seckill_outcome
sk_record_winner(const struct seckill_winner *w)
{
	long long deadline = sk_deadline(w);
	unsigned long long n = 0;
	char payload[512];
	int len = sk_payload(payload, sizeof payload, w), settled;

	if (len < 0 || clock_wall_ms() > deadline)
		return SK_FAILED;
	if (db_exec("INSERT INTO outbox (id, activity_id, user_id, payload)"
	    " SELECT ?, ?, ?, ? FROM DUAL WHERE UTC_TIMESTAMP(3) < FROM_UNIXTIME(? / 1000)",
	    &n, NULL, "siisi", w->ref, w->act.id, w->user, payload, deadline) == 0) {
		metrics_inc(MC_OUTBOX_INSERTS);
		metrics_add(MC_OUTBOX_ROWS, n);
		if (n == 0) {
			log_warn("outbox %s: MySQL got to it after the attempt's deadline", w->ref);
			return SK_FAILED;
		}
	} else if (!db_lost()) {
		return SK_FAILED;
	} else if ((settled = sk_settle_outbox(w->ref, w->act.id, w->user, payload)) != 0) {
		log_warn("outbox %s: the insert lost its reply; %s", w->ref, settled > 0 ?
		    "it was not written (voided)" : "still unknown: the healer settles it");
		return settled > 0 ? SK_FAILED : SK_UNCONFIRMED;
	} else {
		log_warn("outbox %s: the insert lost its reply, but it was written", w->ref);
	}
	return sk_recorded(w, payload, len);
}

/*
 * Several winners' rows in one INSERT (one commit, one flush of MySQL's log for them all), all
 * or none: every row carries the earliest of their deadlines. 1 when it settled them (each
 * outcome set), 0 when nothing was written and each must be recorded alone.
 */
static int
sk_record_together(struct seckill_winner *w, int n)
{
	char (*payload)[512] = xcalloc((size_t)n, sizeof *payload);
	int *len = xcalloc((size_t)n, sizeof *len);
	long long deadline = sk_deadline(&w[0]);
	unsigned long long written = 0;
	struct buf q;
	int done = 0;

	buf_init(&q);
	buf_puts(&q, "INSERT INTO outbox (id, activity_id, user_id, payload) ");
	for (int i = 0; i < n; i++) {
		if (sk_deadline(&w[i]) < deadline)
			deadline = sk_deadline(&w[i]);
		/* Inlined: the ref is checked, the rest are numbers and the payload's fixed words. */
		if (!seckill_is_ref(w[i].ref) ||
		    (len[i] = sk_payload(payload[i], sizeof payload[i], &w[i])) < 0)
			goto out;
	}
	if (clock_wall_ms() > deadline)
		goto out;
	for (int i = 0; i < n; i++)
		buf_printf(&q, "%sSELECT '%s', %lld, %lld, '%s' FROM DUAL"
		    " WHERE UTC_TIMESTAMP(3) < FROM_UNIXTIME(%lld / 1000)", i ? " UNION ALL " : "",
		    w[i].ref, w[i].act.id, w[i].user, payload[i], deadline);
	if (db_query(q.data, q.len, NULL, &written) == 0) {
		metrics_inc(MC_OUTBOX_INSERTS);
		metrics_add(MC_OUTBOX_ROWS, written);
		if (written != (unsigned long long)n) {
			if (written != 0)	/* one statement, one clock: cannot be */
				log_err("outbox: %llu of %d rows written together", written, n);
			goto out;
		}
		for (int i = 0; i < n; i++)
			w[i].outcome = sk_recorded(&w[i], payload[i], len[i]);
		done = 1;
	} else if (db_lost()) {
		/* Written whole or not at all; each row settles alone. */
		for (int i = 0; i < n; i++) {
			int settled = sk_settle_outbox(w[i].ref, w[i].act.id, w[i].user, payload[i]);

			w[i].outcome = settled == 0 ? sk_recorded(&w[i], payload[i], len[i]) :
			    settled > 0 ? SK_FAILED : SK_UNCONFIRMED;
		}
		log_warn("outbox: an insert of %d rows lost its reply; settled row by row", n);
		done = 1;
	}
out:
	buf_free(&q);
	free(payload);
	free(len);
	return done;
}

void
seckill_record_winners(struct seckill_winner *w, int n)
{
	if (n <= 0)
		return;
	if (n == 1 || !sk_record_together(w, n))
		for (int i = 0; i < n; i++)
			w[i].outcome = sk_record_winner(&w[i]);
	for (int i = 0; i < n; i++) {
		if (w[i].outcome == SK_FAILED) {
			/* No row, and none will come: the unit goes back (only this attempt's), 503. */
			w[i].outcome = SK_FAILED_DB;
			if (seckill_give_back(w[i].act.id, w[i].user, w[i].ref) < 0) {
				log_err("activity %lld: could not give back %s of user %lld: the healer"
				    " will", w[i].act.id, w[i].ref, w[i].user);
				w[i].outcome = SK_UNCONFIRMED;
			}
		}
		if (w[i].outcome == SK_FAILED_DB)
			metrics_inc(MC_SECKILL_UNAVAILABLE);
		else if (w[i].outcome == SK_UNCONFIRMED)
			metrics_inc(MC_SECKILL_UNCONFIRMED);
	}
}

enum seckill_outcome
seckill_take(long long activity, long long user, const char *path, char *ref, long *retry_after)
{
	enum seckill_outcome out = sk_take(activity, user, path, ref, retry_after);

	if (out == SK_FAILED || out == SK_NOT_WARMED)
		metrics_inc(MC_SECKILL_UNAVAILABLE);
	else if (out == SK_UNCONFIRMED)
		metrics_inc(MC_SECKILL_UNCONFIRMED);
	return out;
}

int
seckill_result(long long activity, long long user, struct seckill_result *res)
{
	struct json_object *rows = NULL, *row;
	char ref[SECKILL_REF_LEN + 1];
	int held, rc = -1;

	memset(res, 0, sizeof *res);
	res->status = "none";
	if ((held = seckill_held(activity, user, ref)) < 0)
		return -1;
	/* A live order wins; else the held ref's outbox row; else the user's latest row. */
	if (db_select_json("SELECT id FROM orders WHERE user_id = ? AND activity_id = ?"
	    " AND status <> 'cancelled' ORDER BY id DESC LIMIT 1", &rows, "ii", user, activity) != 0)
		return -1;
	if (json_object_array_length(rows) == 1) {
		res->order_id = db_field_int(json_object_array_get_idx(rows, 0), "id");
		res->status = "created";
		rc = 0;
		goto out;
	}
	json_object_put(rows);
	rows = NULL;
	if ((held == 0 ? db_select_json("SELECT status, last_error FROM outbox WHERE id = ?", &rows,
	    "s", ref) : db_select_json("SELECT status, last_error FROM outbox WHERE user_id = ?"
	    " AND activity_id = ? AND status <> 'void' ORDER BY created_at DESC LIMIT 1", &rows,
	    "ii", user, activity)) != 0)
		return -1;
	rc = 0;
	if (json_object_array_length(rows) == 1) {
		const char *st;
		row = json_object_array_get_idx(rows, 0);
		st = db_field_str(row, "status", "");
		if (strcmp(st, "failed") == 0) {
			res->status = "failed";
			snprintf(res->reason, sizeof res->reason, "%s",
			    db_field_str(row, "last_error", "the order could not be created"));
		} else if (strcmp(st, "pending") == 0 || strcmp(st, "sent") == 0) {
			res->status = "queued";
		} else if (held == 0 && strcmp(st, "void") != 0) {
			/* Consumed, and no live order: the order was cancelled. */
			res->status = "none";
		}
	} else if (held == 0) {
		/* Held, no row yet: the attempt is writing it, or the healer will settle it. */
		res->status = "queued";
	}
out:
	json_object_put(rows);
	return rc;
}

#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "metrics.h"
#include "ratelimit.h"
#include "store.h"

static struct store_script ratelimit_script = { "ratelimit",
	"local n = redis.call('INCR', KEYS[1])\n"
	"local ttl = redis.call('PTTL', KEYS[1])\n"
	"if n == 1 or ttl < 0 then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
	"  ttl = tonumber(ARGV[1])\n"
	"end\n"
	"return {n, ttl}\n", "" };

int
ratelimit_hit(const char *key, long limit, long window_s, long *retry_after)
{
	char win[32];
	const char *argv[2];
	redisReply *r;
	int rc = -1;

	*retry_after = 0;
	if (!conf.ratelimit_enabled)
		return 0;
	snprintf(win, sizeof win, "%ld", window_s * 1000);
	argv[0] = key;
	argv[1] = win;
	if ((r = store_eval(&ratelimit_script, 1, 2, argv)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		long long n = r->element[0]->integer, ttl = r->element[1]->integer;
		rc = n > limit;
		if (rc) {
			*retry_after = (long)((ttl + 999) / 1000);
			if (*retry_after < 1)
				*retry_after = 1;
			metrics_inc(MC_RATELIMITED);
		}
	}
	freeReplyObject(r);
	return rc;
}

long
ratelimit_peek(const char *key)
{
	redisReply *r;
	long n = -1;

	if (!conf.ratelimit_enabled)
		return 0;
	if ((r = store_command("GET %s", key)) == NULL)
		return -1;
	n = r->type == REDIS_REPLY_STRING ? atol(r->str) : r->type == REDIS_REPLY_NIL ? 0 : -1;
	freeReplyObject(r);
	return n;
}

static void
ratelimit_key(char *key, size_t size, const char *what, const char *who)
{
	snprintf(key, size, "rl:%s:%.64s", what, who);
}

int
ratelimit_count(const char *what, const char *who, long limit, long window_s,
    long *retry_after)
{
	char key[128];

	ratelimit_key(key, sizeof key, what, who);
	return ratelimit_hit(key, limit, window_s, retry_after);
}

long
ratelimit_count_peek(const char *what, const char *who)
{
	char key[128];

	ratelimit_key(key, sizeof key, what, who);
	return ratelimit_peek(key);
}

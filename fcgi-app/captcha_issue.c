#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "captcha.h"
#include "captcha_issue.h"
#include "conf.h"
#include "ratelimit.h"
#include "store.h"

static void
captcha_key(char *key, size_t size, const char *id)
{
	snprintf(key, size, "captcha:%s", id);
}

enum captcha_outcome
captcha_issue(const char *ip, char id[SECKILL_REF_LEN + 1], long *retry_after)
{
	char text[8], key[96];
	redisReply *r;
	int rc;

	if ((rc = ratelimit_count("captcha:ip", ip, conf.ratelimit_captcha_per_ip, 60,
	    retry_after)) != 0)
		return rc < 0 ? CAPTCHA_NO_REDIS : CAPTCHA_LIMITED;
	seckill_ref(id);
	captcha_text(text, 5);
	captcha_key(key, sizeof key, id);
	if ((r = store_command("SET %s %s EX %ld", key, text, conf.seckill_captcha_ttl)) == NULL)
		return CAPTCHA_NO_REDIS;
	freeReplyObject(r);
	return CAPTCHA_OK;
}

enum captcha_outcome
captcha_text_of(const char *id, char *text, size_t size)
{
	enum captcha_outcome rc = CAPTCHA_GONE;
	char key[96];
	redisReply *r;

	captcha_key(key, sizeof key, id);
	if ((r = store_command("GET %s", key)) == NULL)
		return CAPTCHA_NO_REDIS;
	if (r->type == REDIS_REPLY_STRING && r->len < size) {
		memcpy(text, r->str, r->len + 1);
		rc = CAPTCHA_OK;
	}
	freeReplyObject(r);
	return rc;
}

enum captcha_outcome
captcha_check(const char *id, const char *answer)
{
	enum captcha_outcome rc;
	char key[96];
	redisReply *r;

	/* Any attempt uses the captcha up: GETDEL reads and removes it at once. */
	captcha_key(key, sizeof key, id);
	if ((r = store_command("GETDEL %s", key)) == NULL)
		return CAPTCHA_NO_REDIS;
	rc = r->type != REDIS_REPLY_STRING ? CAPTCHA_GONE :
	    strcasecmp(r->str, answer) == 0 ? CAPTCHA_OK : CAPTCHA_WRONG;
	freeReplyObject(r);
	return rc;
}

/*
 * Captchas as a use case: issuing one (its answer kept in Redis for seckill.captcha_ttl, the
 * issues counted per address), reading its text back to draw it, and checking an answer, which
 * uses the captcha up whatever the answer. The drawing itself is captcha.h.
 */
#ifndef SK_CAPTCHA_ISSUE_H
#define SK_CAPTCHA_ISSUE_H
#include <stddef.h>

#include "seckill.h"

enum captcha_outcome {
	CAPTCHA_OK,		/* issued, found, or the answer is right */
	CAPTCHA_GONE,		/* no such captcha: expired, used, never issued */
	CAPTCHA_WRONG,		/* the answer is wrong (the captcha is used up all the same) */
	CAPTCHA_LIMITED,	/* too many issued to this address: *retry_after seconds */
	CAPTCHA_NO_REDIS,	/* Redis failed: nothing done */
};

/* A new captcha for the address ip: its id (SECKILL_REF_LEN hex digits) into id. */
enum captcha_outcome captcha_issue(const char *ip, char id[SECKILL_REF_LEN + 1],
    long *retry_after);
/* The text of captcha id (a checked ref), to draw it, into text (CAPTCHA_MAX_TEXT + 1). */
enum captcha_outcome captcha_text_of(const char *id, char *text, size_t size);
/* Checks answer (any case) against captcha id and uses the captcha up. */
enum captcha_outcome captcha_check(const char *id, const char *answer);

#endif

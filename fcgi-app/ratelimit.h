/*
 * Application rate limits in Redis (atomic fixed windows, shared by every worker and host).
 * nginx limit_req is the first wall; these count per user, per username and per IP.
 * All of them are off with ratelimit.enabled = off.
 */
#ifndef SK_RATELIMIT_H
#define SK_RATELIMIT_H

/*
 * Counts one hit on key ("rl:login:ip:1.2.3.4"); 0 allowed, 1 over limit hits per window_s
 * (*retry_after set to the seconds left), -1 when Redis failed.
 */
int ratelimit_hit(const char *key, long limit, long window_s, long *retry_after);
/* Current count on key without counting (0 when absent); -1 when Redis failed. */
long ratelimit_peek(const char *key);
/* The same on the key of what is counted ("login:ip") and whose ("1.2.3.4"): the module spells
 * its keys ("rl:login:ip:1.2.3.4"); who is cut at 64 bytes. */
int ratelimit_count(const char *what, const char *who, long limit, long window_s,
    long *retry_after);
long ratelimit_count_peek(const char *what, const char *who);

#endif

/*
 * The sale itself: the Redis keys of an activity (all hash-tagged {a<id>} so a cluster keeps
 * them in one slot), the atomic stock script, giving a unit back, warming from MySQL, and the
 * worker's sold-out flag that answers a sold-out rush without touching Redis.
 */
#ifndef SK_SECKILL_H
#define SK_SECKILL_H
#include <stddef.h>

#define SECKILL_REF_LEN 32	/* order_ref / message id: 16 random bytes in hex */

enum seckill_outcome {
	SK_QUEUED,		/* a unit taken; ref recorded for the user */
	SK_SOLD_OUT,
	SK_DUPLICATE,		/* the user already holds the activity */
	SK_BAD_PATH,
	SK_RATE_LIMITED,	/* *retry_after set */
	SK_NOT_WARMED,		/* no stock key and MySQL could not rebuild it */
	SK_FAILED,		/* Redis failed: nothing taken, nothing changed */
	SK_FAILED_DB,		/* MySQL could not record the winner: the unit went back */
	SK_UNCONFIRMED,		/* a reply was lost and no backend can tell yet: /result settles it */
};

struct seckill_activity {
	long long id;
	long long price_cents;
	long long stock_total;
	long long starts_ms, ends_ms;
	char title[201];
};

/* A sale's Redis key "sk:{a<id>}:<what>" (what: stock, buyers, ver, stamp ...) into buf. */
void seckill_key(char *buf, size_t len, long long activity, const char *what);

/*
 * The activity from this worker's cache (read again every second) or MySQL: 0 found, 1 absent,
 * -1 failure. After seckill_activity_background() the ticker reads it again, and only the
 * first request of a worker for a sale waits for MySQL.
 */
int seckill_activity(long long id, struct seckill_activity *out);
void seckill_activity_background(void);
/* A fresh random ref (SECKILL_REF_LEN hex chars + NUL). */
void seckill_ref(char *out);
/* An attempt's ref: its start (epoch ms, 12 hex digits) then 20 random hex digits. */
void seckill_attempt_ref(char *out, long long start_ms);
/* The start of the attempt a ref names (epoch ms), 0 when it is not a ref. */
long long seckill_ref_time(const char *ref);
/* 1 when s has the shape of a ref: SECKILL_REF_LEN lower-case hex digits (also the shape of
 * captcha ids, paths and QR ids). */
int seckill_is_ref(const char *s);
/* Path keys and tokens: stores a new path for the user; 0 ok, -1 Redis failed. */
int seckill_path_new(long long activity, long long user, char *token_out, long ttl_s);

/* A winner whose outbox row is still to be written: the second half of a buy. */
struct seckill_winner {
	struct seckill_activity act;
	long long user;
	char ref[SECKILL_REF_LEN + 1];
	enum seckill_outcome outcome;	/* what seckill_record_winners made of it */
};
/*
 * The buy's second half, for n winners at once: their outbox rows in one INSERT and one
 * commit when their deadlines allow (else row by row), handed to the relay; a unit whose row
 * was not written goes back. Each outcome is then the buyer's answer (SK_QUEUED,
 * SK_FAILED_DB or SK_UNCONFIRMED). An outbox insert whose reply is lost is settled on a fresh
 * connection before any give-back.
 */
void seckill_record_winners(struct seckill_winner *w, int n);

/* What /result says of a user's attempt at a sale. */
struct seckill_result {
	const char *status;		/* "none", "queued", "created", "failed" */
	long long order_id;		/* with "created" */
	char reason[256];		/* with "failed" */
};
/* 0 filled, -1 Redis or MySQL failed. */
int seckill_result(long long activity, long long user, struct seckill_result *out);

/*
 * The buy's first half, one attempt: the sold-out flag, then the stock script (warming the
 * activity from MySQL first if Redis has no stock for it). path is the token to check ("" when
 * hidden paths are off). On SK_QUEUED a unit is taken and ref holds the new order ref: the
 * caller then records the winner (seckill_record_winners; a unit never recorded is given back
 * by the healer). On SK_DUPLICATE ref holds the held one, if known. Never guesses: a take whose
 * reply is lost is asked about on a fresh connection; SK_FAILED means nothing changed,
 * SK_UNCONFIRMED that nobody could tell yet (the healer settles it within heal.grace).
 */
enum seckill_outcome seckill_take(long long activity, long long user, const char *path,
    char *ref, long *retry_after);
/* Gives the unit of (user, ref) back to Redis stock, once; 1 given back, 0 was not held, -1 failure. */
int seckill_give_back(long long activity, long long user, const char *ref);
/*
 * Forgets that (user, ref) holds a unit; restock 0 puts no unit back (MySQL never had it: a
 * phantom). With live_ref the user stays a holder under that ref (the live order MySQL has).
 * 1 done, 0 was not held, -1 failure.
 */
int seckill_release(long long activity, long long user, const char *ref, int restock,
    const char *live_ref);
/*
 * Loads the activity's stock and buyers into Redis from MySQL unless it is there already and
 * checked by this very Redis (stock_total - live orders - outbox rows not yet turned into
 * orders; holders of attempts still within their deadline are kept). 1 loaded, 0 was there,
 * 2 no such activity, -1 failure.
 */
int seckill_warm(long long activity);
/* The user's ref in Redis: 0 found (ref filled), 1 none, -1 failure. */
int seckill_held(long long activity, long long user, char *ref);
/* Redis stock (-1 unlimited): 0 found, 1 not warmed, -1 failure. */
int seckill_stock(long long activity, long long *stock);
/* Forgets this worker's flags (tests). */
void seckill_flags_clear(void);

#endif

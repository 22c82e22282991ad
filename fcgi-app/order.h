/*
 * Orders, the asynchronous half: turning an order message into an order (the consumer),
 * cancelling an unpaid order and giving its unit back (the timeout job and the sweep), and
 * the outbox's re-send and give-up (the retry job). Each is one MySQL transaction that is
 * safe to repeat; Redis is told after the commit, idempotently.
 */
#ifndef SK_ORDER_H
#define SK_ORDER_H
#include <stddef.h>

#include "seckill.h"

struct order_msg {
	char message_id[SECKILL_REF_LEN + 1];
	long long activity_id, user_id, amount_cents;
};

enum order_outcome {
	ORDER_CREATED,		/* the order exists now */
	ORDER_ALREADY,		/* this message was handled before: nothing to do */
	ORDER_REJECTED,		/* settled without an order (outbox failed, or a conflict); unit back */
	ORDER_POISON,		/* can never succeed (bad payload, unknown activity or message) */
	ORDER_RETRY,		/* MySQL failed: nothing changed, try again later */
	ORDER_ALONE,		/* the batch left it (anything unusual): order_create decides */
};

/* Parses an order message; 0 ok, -1 with *why set. */
int order_parse(const char *body, size_t len, struct order_msg *m, const char **why);
/* The consumer's transaction; *order_id set on ORDER_CREATED, *why on REJECTED/POISON. */
enum order_outcome order_create(const struct order_msg *m, long long *order_id,
    const char **why);
/*
 * The consumer's fast path: n messages in one transaction (their outbox rows locked, one
 * multi-row insert of orders and of dedup rows, one stock update per sale, one commit).
 * out[i] becomes ORDER_CREATED (order_id[i] set), ORDER_ALREADY (handled before, or a second
 * copy in this batch) or ORDER_ALONE: not settled here (a failed or unknown outbox row, a
 * conflict, no unit left in MySQL), for order_create to decide alone. Returns 0 committed (or
 * nothing to commit), -1 MySQL failed and nothing changed: every out[i] is ORDER_RETRY.
 */
int order_create_batch(const struct order_msg *m, int n, enum order_outcome *out,
    long long *order_id);
/*
 * A message parked in the dead-letter queue: its outbox row (if any, still pending or sent)
 * fails with the reason and its unit goes back, so the buyer's result says failed and why.
 * 1 settled, 0 nothing to settle, -1 MySQL failed.
 */
int order_park(const char *message_id, const char *why);
/* Publishes the payment-timeout message for an order (the TTL queue). 0 ok, -1 failed. */
int order_schedule_timeout(long long order_id);

enum order_cancel {
	CANCEL_DONE,		/* cancelled now, unit back in MySQL and Redis */
	CANCEL_NOOP,		/* paid or cancelled already */
	CANCEL_NOT_DUE,		/* its deadline has not passed */
	CANCEL_MISSING,		/* no such order */
	CANCEL_RETRY,		/* MySQL failed */
};

/* Cancels an unpaid order past its deadline (compare-and-set); reason 'timeout' or 'sweep'. */
enum order_cancel order_cancel(long long order_id, const char *reason);
/*
 * The sweep: cancels unpaid orders past their deadline whose message was lost, and gives back
 * to Redis any unit of a recently cancelled order that Redis still holds. Returns how many
 * orders it cancelled, -1 when MySQL failed.
 */
int order_sweep(void);

/*
 * The retry job's pass: re-sends due pending outbox rows (send_count + 1 each time) and gives
 * up those at outbox.max_send (row failed, unit back to Redis). Several jobs may run at once.
 * Returns rows handled, -1 when MySQL failed.
 */
int outbox_retry_pass(void);

/* ---- the buyer's side ---- */

struct json_object;

/*
 * The rows below are objects with id, activity_id, title (null when the sale is gone), status,
 * amount_cents, created_at, pay_deadline, paid_at, cancelled_at, cancel_reason (times in epoch
 * ms) and overdue (the deadline has passed). Every lookup is by id AND user, so another user's
 * order reads exactly like one that does not exist.
 */
/* The user's orders, newest first, at most 500: 0 (*rows a new array), -1 MySQL failed. */
int order_list(long long user, struct json_object **rows);
/* One order of the user: 0 found (*row new), 1 no such order, -1 MySQL failed. */
int order_get(long long id, long long user, struct json_object **row);
/* Whether a row's status is status. */
int order_status_is(struct json_object *row, const char *status);

enum order_pay {
	ORDER_PAY_PAID,		/* paid now, or before (nothing charged twice); *row is the order */
	ORDER_PAY_ABSENT,	/* no such order of this user */
	ORDER_PAY_CANCELLED,	/* cancelled: it can no longer be paid */
	ORDER_PAY_CLOSED,	/* unpaid, but its payment window closed (being cancelled) */
	ORDER_PAY_FAILED,	/* MySQL failed: nothing was charged */
};

/*
 * Pays an order through the simulated gateway, in one transaction: the row lock settles a pay
 * racing a cancel, the order is read back before COMMIT (the answer never depends on a read
 * after the payment is final), a deadlock runs it again, and a payment that raced this one
 * (a double click) answers the order as paid. *row (new) on ORDER_PAY_PAID, else NULL.
 */
enum order_pay order_pay(long long id, long long user, struct json_object **row);

#endif

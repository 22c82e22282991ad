/*
 * QR login, the state machine: a PC browser asks for a code and polls it with a secret; a
 * logged-in phone scans it and confirms or denies; the PC then receives a fresh session, once.
 * The live state is a Redis hash per code, every move one Lua compare-and-set, so no other
 * move is possible; every change is also written to the qr_logins audit rows in MySQL (a
 * failed audit write is only logged).
 *
 *   pending -> scanned -> confirmed -> consumed,  or -> denied / expired
 *
 * Each use case returns an enum qr_outcome that the handler (page_qr.c) maps to HTTP. Code ids
 * have the shape of a ref (seckill_is_ref); the handler checks that before calling here.
 */
#ifndef SK_QR_H
#define SK_QR_H
#include <stddef.h>

#include "seckill.h"
#include "session.h"

struct arena;
struct req;

enum qr_outcome {
	QR_OK,
	QR_NOT_FOUND,		/* no such code (never issued, or its key is gone) */
	QR_FORBIDDEN,		/* a poll without the secret of the browser that asked */
	QR_SLOW_DOWN,		/* polled again before the interval (or while being delivered) */
	QR_CONSUMED,		/* its session was delivered already */
	QR_EXPIRED,		/* past its lifetime: a phone can no longer move it */
	QR_WRONG_STATE,		/* the move is not possible from the current state */
	QR_NOT_SCANNER,		/* confirm or deny from another phone than the one that scanned */
	QR_RATE_LIMITED,	/* too many codes from this address: *retry_after set */
	QR_UNAVAILABLE_REDIS,	/* Redis failed: nothing moved */
	QR_UNAVAILABLE_DB,	/* MySQL failed making the session: the code stays confirmed */
};

/* A new code: its id, the poll secret (the PC's cookie) and the URL the image encodes. */
struct qr_code {
	char id[SECKILL_REF_LEN + 1];
	char secret[SESSION_SECRET_LEN + 1];
	char url[600];
};

/* What a poll answers with QR_OK. */
struct qr_poll {
	char state[16];			/* "pending", "scanned", "confirmed", "denied", "expired" */
	char scanner[64];		/* scanned: the username of who scanned */
	struct {			/* confirmed: the user now logged in on the PC */
		long long id;
		char username[64];
		char role[16];
	} user;
	char token[SESSION_TOKEN_MAX + 1];	/* confirmed: the new web session */
	char csrf[SESSION_CSRF_LEN + 1];
};

/* The PC that asked for a code, as the scanning phone is shown it (strings in the arena). */
struct qr_pc {
	const char *ip, *user_agent;
	long long created_ms;
};

/* The URL a code's image encodes: <app.public_url>/m/qr/<id>. */
void qr_url(char *out, size_t outlen, const char *id);

/*
 * Issues a code for the PC at pc_ip (pc_ua its browser), after the per-IP limit: QR_OK (out
 * filled), QR_RATE_LIMITED or QR_UNAVAILABLE_REDIS.
 */
enum qr_outcome qr_issue(const char *pc_ip, const char *pc_ua, struct qr_code *out,
    long *retry_after);
/* Whether the code exists (for its image): QR_OK (url filled), QR_NOT_FOUND or
 * QR_UNAVAILABLE_REDIS. */
enum qr_outcome qr_find(const char *id, char *url, size_t urllen);
/*
 * The PC's poll with its secret (NULL: none presented). QR_OK with out->state; on
 * "confirmed" the code has been consumed and out->user, token and csrf hold the new session
 * (req: the PC's request, whose address and browser the session records). Else QR_NOT_FOUND,
 * QR_FORBIDDEN, QR_SLOW_DOWN, QR_CONSUMED, QR_UNAVAILABLE_REDIS, or QR_UNAVAILABLE_DB when
 * the session could not be made (the code stays confirmed: the next poll tries again).
 */
enum qr_outcome qr_poll(const char *id, const char *secret, const struct req *req,
    struct qr_poll *out);
/*
 * The phone (its session phone, from phone_ip) scans the code: QR_OK with the PC's details
 * (copied into a), QR_NOT_FOUND, QR_EXPIRED, QR_WRONG_STATE or QR_UNAVAILABLE_REDIS.
 */
enum qr_outcome qr_scan(const char *id, const struct auth *phone, const char *phone_ip,
    struct arena *a, struct qr_pc *pc);
/* The phone that scanned confirms, or denies: QR_OK, QR_NOT_FOUND, QR_EXPIRED,
 * QR_NOT_SCANNER, QR_WRONG_STATE or QR_UNAVAILABLE_REDIS. */
enum qr_outcome qr_confirm(const char *id, const struct auth *phone);
enum qr_outcome qr_deny(const char *id, const struct auth *phone);

#endif

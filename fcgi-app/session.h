/*
 * Sessions: browser sessions (cookie sid + double-submit csrf) and mobile/CLI Bearer tokens.
 * Tokens are 256-bit random strings given to the client once; the database keeps only their
 * hash. Each worker caches a lookup for session.cache_ms, so the hot path does not ask MySQL
 * for every request. A logout reaches every worker of the host at once (through the pool's
 * shared file); workers on other hosts drop the session within session.cache_ms.
 */
#ifndef SK_SESSION_H
#define SK_SESSION_H
#include <stddef.h>

struct req;

#define SESSION_TOKEN_LEN 43	/* base64url of 32 bytes, no padding */
#define SESSION_HASH_LEN 32

enum session_kind { SESSION_WEB, SESSION_MOBILE };

struct auth {
	long long user_id;
	char username[40];
	char role[8];			/* "user" or "admin" */
	enum session_kind kind;
	int via_bearer;			/* Authorization: Bearer (no CSRF needed) */
	char csrf[SESSION_TOKEN_LEN + 1];
	char device[129];		/* mobile tokens: the device they are bound to */
	unsigned char hash[SESSION_HASH_LEN];
};

/* A fresh random token (and nothing else): SESSION_TOKEN_LEN chars + NUL into out. */
void session_token(char *out);
void session_hash(const char *token, unsigned char out[SESSION_HASH_LEN]);

/*
 * Creates a session for user_id valid ttl_s seconds; token (and for web, csrf) receive the
 * secrets (SESSION_TOKEN_LEN + 1 bytes each). device_* only for mobile. 0 ok, -1 failure.
 */
int session_create(long long user_id, enum session_kind kind, const char *method,
    const struct req *req, const char *device_id, const char *device_name, long ttl_s,
    char *token, char *csrf);
/* Finds the caller's session: 0 found (out filled), 1 none or invalid, -1 backend failure. */
int session_lookup(const struct req *req, struct auth *out);
/* Revokes the session with this hash (and forgets it in this worker). 0 ok, -1 failure. */
int session_revoke(const unsigned char hash[SESSION_HASH_LEN]);
/* Drops the session with this hash from every worker's cache of this host (not the database). */
void session_forget(const unsigned char hash[SESSION_HASH_LEN]);
/* 1 when a cookie-authenticated request carries the session's CSRF token. */
int session_csrf_ok(const struct req *req, const struct auth *a);
/* Empties this worker's cache (tests). */
void session_cache_clear(void);

#endif

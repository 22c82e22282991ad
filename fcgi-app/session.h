/*
 * Sessions: browser sessions (cookie sid + double-submit csrf) and mobile/CLI Bearer tokens.
 * Tokens are 256-bit random strings given to the client once; the database keeps only their
 * hash. The pool caches a lookup for session.cache_ms in a file all its workers map, so the
 * hot path does not ask MySQL for every request. A logout drops the session from that cache
 * at once; pools on other hosts drop it within session.cache_ms.
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
/* Revokes the session with this hash (and forgets it in the pool). 0 ok, -1 failure. */
int session_revoke(const unsigned char hash[SESSION_HASH_LEN]);
/*
 * Drops the session with this hash from the pool's cache (not the database). Call it after
 * the database says revoked, so that no worker caches it again from an older read.
 */
void session_forget(const unsigned char hash[SESSION_HASH_LEN]);
/* 1 when a cookie-authenticated request carries the session's CSRF token. */
int session_csrf_ok(const struct req *req, const struct auth *a);
/*
 * Maps the pool's cache ($run_dir/sessions.shm); 0 shared, -1 (logged) a cache for this
 * worker only. Without a call the cache is this process's own.
 */
int session_cache_open(const char *run_dir);
void session_cache_close(void);

#endif

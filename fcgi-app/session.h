/*
 * Sessions: browser sessions (cookie sid + double-submit csrf) and mobile/CLI Bearer tokens.
 *
 * A token carries what a request needs (user, name, role, kind, device, expiry, 128 random
 * bits) under a MAC made with a server key, and names that key (key id), so a request is
 * verified with no lookup at all. Keys live in MySQL (signing_keys); the newest signs, an
 * older one verifies until its tokens have expired (`seckill-admin keys rotate`). A new key
 * signs only SESSION_KEY_LEAD_S after it is made, when every worker has loaded it, so a token
 * naming a key a worker does not know is refused without a lookup. The database keeps only a
 * token's hash, for listing and revocation.
 *
 * Revocation: every pool keeps the hashes of revoked, unexpired tokens in a file its workers
 * map ($app.run_dir/revoked.shm). One worker at a time reads the feed (the sessions revoked in
 * MySQL since its last read) once a second into it; a worker that revokes writes it at once.
 * So a revocation reaches every worker of the host at once and every other host within a
 * second. Redis plays no part: a Redis outage changes nothing here. While MySQL is down the
 * pool keeps what it knows; revocations made elsewhere reach it when MySQL answers again.
 * Until the pool's first read has completed (a fresh boot), tokens are looked up in MySQL.
 */
#ifndef SK_SESSION_H
#define SK_SESSION_H
#include <stddef.h>
#include <stdint.h>

struct req;

#define SESSION_TOKEN_MAX 344	/* base64url of the longest claims + MAC */
#define SESSION_SECRET_LEN 43	/* base64url of 32 bytes, no padding */
#define SESSION_CSRF_LEN SESSION_SECRET_LEN
#define SESSION_HASH_LEN 32
#define SESSION_KEY_LEN 32
#define SESSION_KEYS_LOAD_S 5	/* workers reload the keys this often */
#define SESSION_KEY_LEAD_S 15	/* a rotated-in key signs this long after it is made */

enum session_kind { SESSION_WEB, SESSION_MOBILE };

struct auth {
	long long user_id;
	char username[40];
	char role[8];			/* "user" or "admin" */
	enum session_kind kind;
	int via_bearer;			/* Authorization: Bearer (no CSRF needed) */
	char csrf[SESSION_CSRF_LEN + 1];
	char device[129];		/* mobile tokens: the device they are bound to */
	long long expires_ms;		/* wall ms: the token's end */
	unsigned char hash[SESSION_HASH_LEN];
};

/* A fresh random secret of 32 bytes, base64url (SESSION_SECRET_LEN chars + NUL into out). */
void session_token(char *out);
void session_hash(const char *token, unsigned char out[SESSION_HASH_LEN]);

/*
 * Signs claims into token (SESSION_TOKEN_MAX + 1 bytes) with the newest key, and derives the
 * session's CSRF token into csrf (SESSION_CSRF_LEN + 1) when csrf is not NULL. The claims are
 * user_id, username, role, kind, device (mobile) and expires_ms. 0 ok, -1 no key loaded.
 */
int session_sign(const struct auth *claims, char *token, char *csrf);
/*
 * Verifies a presented token by its MAC and expiry alone (not revocation): 0 valid (out
 * filled, hash included), 1 invalid or expired, 2 signed with a key this process does not
 * know (yet).
 */
int session_verify(const char *token, long long now_ms, struct auth *out);

/*
 * Creates a session for user_id valid ttl_s seconds; token (SESSION_TOKEN_MAX + 1) and for
 * web csrf (SESSION_CSRF_LEN + 1) receive the secrets. device_* only for mobile. The row
 * records the token's hash. 0 ok, -1 failure.
 */
int session_create(long long user_id, const char *username, const char *role,
    enum session_kind kind, const char *method, const struct req *req, const char *device_id,
    const char *device_name, long ttl_s, char *token, char *csrf);
/* Finds the caller's session: 0 found (out filled), 1 none or invalid, -1 backend failure. */
int session_lookup(const struct req *req, struct auth *out);
/* Revokes the session with this hash, valid until until_ms (and tells the pool). 0 ok, -1. */
int session_revoke(const unsigned char hash[SESSION_HASH_LEN], long long until_ms);
/*
 * Tells the pool a session is revoked (its row says so already): every worker refuses it from
 * now on. until_ms is when the token expires anyway (0: not known, keep it a session lifetime).
 */
void session_forget(const unsigned char hash[SESSION_HASH_LEN], long long until_ms);
/* Ends the user's live mobile sessions of that device (a new login on it), in MySQL and in
 * every worker's revocation set. 0, -1 MySQL failed. */
int session_revoke_device(long long user, const char *device_id);
/* 1 when a cookie-authenticated request carries the session's CSRF token. */
int session_csrf_ok(const struct req *req, const struct auth *a);

/*
 * Loads the signing keys from MySQL (the newest signs). 0 ok (at least one key), -1 failure.
 * Called at start and by the feed; seckill-admin calls it before signing.
 */
int session_keys_load(void);
/* Installs a key by hand (unit tests; the newest kid signs). until_ms 0: no end. */
void session_key_put(uint32_t kid, const unsigned char secret[SESSION_KEY_LEN],
    long long until_ms);

/*
 * Maps the pool's revocation set ($run_dir/revoked.shm) and reads its feed in the ticker.
 * 0 shared, -1 (logged) a set for this process only.
 */
int session_pool_open(const char *run_dir);
void session_pool_close(void);
/* One read of the feed now, whatever the schedule (tests and jobs): 0 ok, -1 MySQL failed. */
int session_feed_read(void);
/* 1 once the pool's set holds every revocation MySQL had at some read (trusted). */
int session_feed_ready(void);

#endif

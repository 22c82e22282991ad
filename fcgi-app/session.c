#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "req.h"
#include "session.h"
#include "shm.h"
#include "ticker.h"
#include "xmem.h"

/*
 * A token is base64url (no padding) of the claims followed by their MAC (keyed BLAKE2b-256):
 *
 *   version 1 | key id (4, big-endian) | kind (1) | role (1) | user id (8) | expires, wall ms (8)
 *   | nonce (16 random bytes) | name length (1) | name | device length (1) | device | MAC (32)
 *
 * The nonce makes every token unguessable and unique even for one user in one millisecond;
 * the CSRF token of a web session is a keyed hash of it, so it needs no lookup either.
 */
#define TOKEN_VERSION 1
#define TOKEN_FIXED 39			/* the claims up to the name */
#define TOKEN_MAC 32
#define TOKEN_NAME_MAX 39
#define TOKEN_DEVICE_MAX 128
#define TOKEN_RAW_MAX (TOKEN_FIXED + 1 + TOKEN_NAME_MAX + 1 + TOKEN_DEVICE_MAX + TOKEN_MAC)
#define LEGACY_TOKEN_LEN SESSION_SECRET_LEN	/* the random tokens of before: in MySQL */

/* ---- keys: this process's copy of signing_keys, newest first, under a seqlock ---- */

#define SESSION_KEYS 16

struct session_key {
	uint32_t kid;
	long long from_ms;		/* wall ms from which it signs (it verifies at once) */
	long long until_ms;		/* wall ms after which it verifies nothing; 0 no end */
	unsigned char secret[SESSION_KEY_LEN];
};

static struct {
	uint32_t seq;			/* odd while being written */
	int n;
	long long legacy_until_ms;	/* unsigned tokens of before are looked up until then */
	struct session_key k[SESSION_KEYS];
} keyring;
static pthread_mutex_t keyring_write = PTHREAD_MUTEX_INITIALIZER;

static void
keyring_set(const struct session_key *keys, int n, long long legacy_until_ms)
{
	pthread_mutex_lock(&keyring_write);
	__atomic_add_fetch(&keyring.seq, 1, __ATOMIC_ACQ_REL);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(keyring.k, keys, sizeof keys[0] * (size_t)n);
	keyring.n = n;
	keyring.legacy_until_ms = legacy_until_ms;
	__atomic_add_fetch(&keyring.seq, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&keyring_write);
}

/*
 * Copies the key with this kid into out (kid 0: the newest that signs at now_ms): 0 found,
 * 1 not, 2 newer than all this process knows.
 */
static int
keyring_get(uint32_t kid, long long now_ms, struct session_key *out)
{
	for (;;) {
		uint32_t seq = __atomic_load_n(&keyring.seq, __ATOMIC_ACQUIRE);
		int rc = 1;

		if (seq & 1)
			continue;
		if (kid != 0 && (keyring.n == 0 || kid > keyring.k[0].kid))
			rc = 2;
		else
			for (int i = 0; i < keyring.n && rc == 1; i++)
				if (kid == 0 ? keyring.k[i].from_ms <= now_ms &&
				    (keyring.k[i].until_ms == 0 || keyring.k[i].until_ms > now_ms) :
				    keyring.k[i].kid == kid) {
					*out = keyring.k[i];
					rc = 0;
				}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&keyring.seq, __ATOMIC_RELAXED) == seq)
			return rc;
	}
}

void
session_key_put(uint32_t kid, const unsigned char secret[SESSION_KEY_LEN], long long until_ms)
{
	struct session_key keys[SESSION_KEYS], k = { .kid = kid, .until_ms = until_ms };
	long long legacy;
	int n = 0;

	memcpy(k.secret, secret, SESSION_KEY_LEN);
	pthread_mutex_lock(&keyring_write);
	for (int i = 0; i < keyring.n; i++)
		if (keyring.k[i].kid != kid)
			keys[n++] = keyring.k[i];
	legacy = keyring.legacy_until_ms;
	pthread_mutex_unlock(&keyring_write);
	if (n == SESSION_KEYS)
		n--;
	/* Newest first. */
	int at = 0;
	while (at < n && keys[at].kid > kid)
		at++;
	memmove(&keys[at + 1], &keys[at], sizeof keys[0] * (size_t)(n - at));
	keys[at] = k;
	keyring_set(keys, n + 1, legacy);
	sodium_memzero(&k, sizeof k);
}

int
session_keys_load(void)
{
	struct session_key keys[SESSION_KEYS];
	struct json_object *rows = NULL;
	long long legacy = 0;
	int n = 0;

	if (db_select_json("SELECT kid, secret, signs_from, expires_at,"
	    " (SELECT MAX(legacy_until) FROM signing_keys) AS legacy_until FROM signing_keys"
	    " WHERE expires_at IS NULL OR expires_at > UTC_TIMESTAMP(3)"
	    " ORDER BY kid DESC LIMIT 16", &rows, "") != 0)
		return -1;
	for (size_t i = 0; i < json_object_array_length(rows) && n < SESSION_KEYS; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i), *v;

		if (!json_object_object_get_ex(row, "secret", &v) ||
		    json_object_get_string_len(v) != SESSION_KEY_LEN)
			continue;
		keys[n].kid = (uint32_t)db_field_int(row, "kid");
		keys[n].from_ms = db_field_int(row, "signs_from");
		keys[n].until_ms = db_field_int(row, "expires_at");
		legacy = db_field_int(row, "legacy_until");
		memcpy(keys[n].secret, json_object_get_string(v), SESSION_KEY_LEN);
		n++;
	}
	json_object_put(rows);
	if (n == 0) {
		log_err("sessions: signing_keys holds no live key (run seckill-admin migrate, then"
		    " seckill-admin keys rotate)");
		return -1;
	}
	keyring_set(keys, n, legacy);
	sodium_memzero(keys, sizeof keys);
	return 0;
}

/* ---- tokens ---- */

void
session_token(char *out)
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, SESSION_SECRET_LEN + 1, raw, sizeof raw,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void
session_hash(const char *token, unsigned char out[SESSION_HASH_LEN])
{
	crypto_generichash(out, SESSION_HASH_LEN, (const unsigned char *)token, strlen(token),
	    NULL, 0);
}

static void
put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
session_csrf_of(const struct session_key *k, const unsigned char nonce[16], char *csrf)
{
	unsigned char msg[24] = "sk-csrf:", mac[32];

	memcpy(msg + 8, nonce, 16);
	crypto_generichash(mac, sizeof mac, msg, sizeof msg, k->secret, SESSION_KEY_LEN);
	sodium_bin2base64(csrf, SESSION_CSRF_LEN + 1, mac, sizeof mac,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
session_sign(const struct auth *c, char *token, char *csrf)
{
	unsigned char raw[TOKEN_RAW_MAX];
	struct session_key k;
	size_t ulen = strlen(c->username), dlen = c->kind == SESSION_MOBILE ? strlen(c->device) : 0;
	size_t n = 0;

	if (keyring_get(0, clock_wall_ms(), &k) != 0)
		return -1;
	if (ulen > TOKEN_NAME_MAX)
		ulen = TOKEN_NAME_MAX;
	if (dlen > TOKEN_DEVICE_MAX)
		dlen = TOKEN_DEVICE_MAX;
	raw[n++] = TOKEN_VERSION;
	put_be(raw + n, k.kid, 4), n += 4;
	raw[n++] = c->kind == SESSION_WEB ? 0 : 1;
	raw[n++] = strcmp(c->role, "admin") == 0 ? 1 : 0;
	put_be(raw + n, (uint64_t)c->user_id, 8), n += 8;
	put_be(raw + n, (uint64_t)c->expires_ms, 8), n += 8;
	randombytes_buf(raw + n, 16), n += 16;
	raw[n++] = (unsigned char)ulen;
	memcpy(raw + n, c->username, ulen), n += ulen;
	raw[n++] = (unsigned char)dlen;
	memcpy(raw + n, c->device, dlen), n += dlen;
	crypto_generichash(raw + n, TOKEN_MAC, raw, n, k.secret, SESSION_KEY_LEN);
	if (csrf != NULL)
		session_csrf_of(&k, raw + 23, csrf);
	n += TOKEN_MAC;
	sodium_bin2base64(token, SESSION_TOKEN_MAX + 1, raw, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(&k, sizeof k);
	return 0;
}

int
session_verify(const char *token, long long now_ms, struct auth *out)
{
	unsigned char raw[TOKEN_RAW_MAX], mac[TOKEN_MAC];
	struct session_key k;
	size_t len = strlen(token), n, ulen, dlen;
	const char *end;
	int rc;

	if (len > SESSION_TOKEN_MAX || sodium_base642bin(raw, sizeof raw, token, len, NULL, &n,
	    &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || *end != '\0')
		return 1;
	if (n < TOKEN_FIXED + 2 + TOKEN_MAC || raw[0] != TOKEN_VERSION || raw[5] > 1 || raw[6] > 1)
		return 1;
	ulen = raw[TOKEN_FIXED];
	if (ulen > TOKEN_NAME_MAX || TOKEN_FIXED + 1 + ulen + 1 + TOKEN_MAC > n)
		return 1;
	dlen = raw[TOKEN_FIXED + 1 + ulen];
	if (dlen > TOKEN_DEVICE_MAX || TOKEN_FIXED + 1 + ulen + 1 + dlen + TOKEN_MAC != n)
		return 1;
	if (get_be(raw + 1, 4) == 0)
		return 1;
	if ((rc = keyring_get((uint32_t)get_be(raw + 1, 4), now_ms, &k)) != 0)
		return rc;
	if (k.until_ms != 0 && k.until_ms <= now_ms)
		return 1;
	n -= TOKEN_MAC;
	crypto_generichash(mac, sizeof mac, raw, n, k.secret, SESSION_KEY_LEN);
	if (crypto_verify_32(mac, raw + n) != 0) {
		sodium_memzero(&k, sizeof k);
		return 1;
	}
	if ((long long)get_be(raw + 15, 8) <= now_ms) {
		sodium_memzero(&k, sizeof k);
		return 1;
	}
	memset(out, 0, sizeof *out);
	out->kind = raw[5] == 0 ? SESSION_WEB : SESSION_MOBILE;
	snprintf(out->role, sizeof out->role, "%s", raw[6] ? "admin" : "user");
	out->user_id = (long long)get_be(raw + 7, 8);
	out->expires_ms = (long long)get_be(raw + 15, 8);
	memcpy(out->username, raw + TOKEN_FIXED + 1, ulen);
	memcpy(out->device, raw + TOKEN_FIXED + 1 + ulen + 1, dlen);
	if (out->kind == SESSION_WEB)
		session_csrf_of(&k, raw + 23, out->csrf);
	session_hash(token, out->hash);
	sodium_memzero(&k, sizeof k);
	return 0;
}

/* ---- the pool's revocation set ---- */

/*
 * Open addressing, linear probing, keyed by the first 8 bytes of a token's hash (0 is "free").
 * Two tables: the feed rebuilds the inactive one without expired entries and switches when
 * the active one fills. Lookups read only the key array; expiries sit beside it.
 */
#define REVOKE_SLOTS 65536		/* power of two: 512 KiB of keys a lookup may touch */
#define REVOKE_FULL (REVOKE_SLOTS / 4 * 3)
#define REVOKE_SHM_MAGIC 0x736b7265766f6b65ULL	/* "skrevoke" */
#define FEED_EVERY_MS 1000
#define FEED_SLACK_MS 10000		/* a row stamped before a read may commit after it */
#define KEYS_EVERY_MS (SESSION_KEYS_LOAD_S * 1000)

struct revoke_shm {
	struct shm_head head;
	uint32_t active;		/* the table in use: 0 or 1 */
	uint32_t ready;			/* 1 once a read has completed since the file was made */
	uint32_t full;			/* 1 while no entry fits: lookups go to MySQL */
	uint32_t used[2];
	int64_t next_read;		/* CLOCK_MONOTONIC ms: the next read is due (claimed by CAS) */
	int64_t watermark;		/* MySQL's wall ms when the last complete read began */
	int64_t read_ok_at;		/* CLOCK_MONOTONIC ms of the last complete read */
	uint64_t keys[2][REVOKE_SLOTS];
	int64_t until[2][REVOKE_SLOTS];
};

static struct revoke_shm *revoked;
static int revoked_shared, feed_started;

static struct revoke_shm *
revoke_set(void)
{
	if (revoked == NULL)
		revoked = xcalloc(1, sizeof *revoked);
	return revoked;
}

static uint64_t
revoke_key(const unsigned char hash[SESSION_HASH_LEN])
{
	uint64_t k;

	memcpy(&k, hash, sizeof k);	/* the hash is uniform: its first bytes index well */
	return k != 0 ? k : 1;
}

/* Adds key to table t (or keeps the later expiry): 0 ok, -1 the table is full. */
static int
revoke_add(struct revoke_shm *r, unsigned t, uint64_t key, int64_t until)
{
	unsigned i = (unsigned)key & (REVOKE_SLOTS - 1);

	for (unsigned probes = 0; probes < REVOKE_SLOTS; probes++, i = (i + 1) & (REVOKE_SLOTS - 1)) {
		uint64_t k = __atomic_load_n(&r->keys[t][i], __ATOMIC_ACQUIRE);

		if (k == 0) {
			if (__atomic_load_n(&r->used[t], __ATOMIC_RELAXED) >= REVOKE_FULL)
				return -1;
			if (!__atomic_compare_exchange_n(&r->keys[t][i], &k, key, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				if (k != key) {
					/* Another key took the slot: look at it again. */
					i = (i - 1) & (REVOKE_SLOTS - 1);
					continue;
				}
			} else {
				__atomic_add_fetch(&r->used[t], 1, __ATOMIC_RELAXED);
			}
			k = key;
		}
		if (k == key) {
			int64_t old = __atomic_load_n(&r->until[t][i], __ATOMIC_RELAXED);
			while (old < until && !__atomic_compare_exchange_n(&r->until[t][i], &old,
			    until, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				;
			return 0;
		}
	}
	return -1;
}

static int
revoke_has(struct revoke_shm *r, uint64_t key)
{
	unsigned t = __atomic_load_n(&r->active, __ATOMIC_ACQUIRE) & 1;
	unsigned i = (unsigned)key & (REVOKE_SLOTS - 1);

	if (__atomic_load_n(&r->used[t], __ATOMIC_RELAXED) == 0)
		return 0;
	for (unsigned probes = 0; probes < REVOKE_SLOTS; probes++, i = (i + 1) & (REVOKE_SLOTS - 1)) {
		uint64_t k = __atomic_load_n(&r->keys[t][i], __ATOMIC_ACQUIRE);

		if (k == key)
			return 1;
		if (k == 0)
			return 0;
	}
	return 0;
}

/* Copies the live entries of table from into table to. */
static void
revoke_copy(struct revoke_shm *r, unsigned from, unsigned to, int64_t now)
{
	for (unsigned i = 0; i < REVOKE_SLOTS; i++) {
		uint64_t k = __atomic_load_n(&r->keys[from][i], __ATOMIC_ACQUIRE);
		int64_t until = __atomic_load_n(&r->until[from][i], __ATOMIC_RELAXED);

		/* until 0: being written right now; keep it. */
		if (k != 0 && (until == 0 || until > now))
			revoke_add(r, to, k, until);
	}
}

/* Drops expired entries when the active table fills (the feed's reader only). */
static void
revoke_compact(struct revoke_shm *r)
{
	unsigned t = __atomic_load_n(&r->active, __ATOMIC_ACQUIRE) & 1, o = t ^ 1, live = 0;
	unsigned used = __atomic_load_n(&r->used[t], __ATOMIC_RELAXED);
	int64_t now = clock_wall_ms();

	if (used < REVOKE_SLOTS / 2)
		return;
	for (unsigned i = 0; i < REVOKE_SLOTS; i++) {
		int64_t until = __atomic_load_n(&r->until[t][i], __ATOMIC_RELAXED);
		live += r->keys[t][i] != 0 && (until == 0 || until > now);
	}
	if (used - live < REVOKE_SLOTS / 8)
		return;		/* too little to win: stay (full, if it is) */
	memset(r->keys[o], 0, sizeof r->keys[o]);
	memset(r->until[o], 0, sizeof r->until[o]);
	__atomic_store_n(&r->used[o], 0, __ATOMIC_RELEASE);
	revoke_copy(r, t, o, now);
	__atomic_store_n(&r->active, o, __ATOMIC_RELEASE);
	/* What a worker added to the old table meanwhile. */
	revoke_copy(r, t, o, now);
	__atomic_store_n(&r->full, __atomic_load_n(&r->used[o], __ATOMIC_RELAXED) >= REVOKE_FULL,
	    __ATOMIC_RELEASE);
	log_info("sessions: revocation set compacted: %u of %u entries still live",
	    __atomic_load_n(&r->used[o], __ATOMIC_RELAXED), __atomic_load_n(&r->used[t],
	    __ATOMIC_RELAXED));
}

void
session_forget(const unsigned char hash[SESSION_HASH_LEN], long long until_ms)
{
	struct revoke_shm *r = revoke_set();
	unsigned t = __atomic_load_n(&r->active, __ATOMIC_ACQUIRE) & 1;

	if (until_ms <= 0)
		until_ms = clock_wall_ms() + 1000LL * (conf.session_web_ttl > conf.session_mobile_ttl ?
		    conf.session_web_ttl : conf.session_mobile_ttl);
	if (revoke_add(r, t, revoke_key(hash), until_ms) != 0 &&
	    !__atomic_exchange_n(&r->full, 1, __ATOMIC_ACQ_REL))
		log_err("sessions: the revocation set is full; sessions are checked in MySQL until"
		    " it compacts");
}

int
session_feed_read(void)
{
	struct revoke_shm *r = revoke_set();
	struct json_object *now_row = NULL, *rows = NULL;
	int64_t now, wm = __atomic_load_n(&r->watermark, __ATOMIC_ACQUIRE);
	int rc;

	if (db_select_json("SELECT UTC_TIMESTAMP(3) AS now", &now_row, "") != 0)
		return -1;
	now = json_object_array_length(now_row) == 1 ?
	    db_field_int(json_object_array_get_idx(now_row, 0), "now") : 0;
	json_object_put(now_row);
	if (now == 0)
		return -1;
	if (wm == 0)
		rc = db_select_json("SELECT token_hash, expires_at FROM sessions"
		    " WHERE revoked_at IS NOT NULL AND expires_at > UTC_TIMESTAMP(3)", &rows, "");
	else
		rc = db_select_json("SELECT token_hash, expires_at FROM sessions"
		    " WHERE revoked_at >= TIMESTAMPADD(MICROSECOND, ?, '1970-01-01')"
		    " AND expires_at > UTC_TIMESTAMP(3)", &rows, "i",
		    (long long)(wm - FEED_SLACK_MS) * 1000);
	if (rc != 0)
		return -1;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		size_t len;
		const char *hash = db_field_bytes(row, "token_hash", &len);

		if (hash != NULL && len == SESSION_HASH_LEN)
			session_forget((const unsigned char *)hash, db_field_int(row, "expires_at"));
	}
	json_object_put(rows);
	revoke_compact(r);
	while (wm < now && !__atomic_compare_exchange_n(&r->watermark, &wm, now, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	__atomic_store_n(&r->read_ok_at, clock_mono_ms(), __ATOMIC_RELEASE);
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	return 0;
}

int
session_feed_ready(void)
{
	return __atomic_load_n(&revoke_set()->ready, __ATOMIC_ACQUIRE) != 0;
}

/* The ticker's task: the feed when it is due for the pool (one worker claims each read), and
 * this process's keys every few seconds. */
static void
session_tick(void)
{
	static long long keys_at, failed_at;
	long long now = clock_mono_ms();
	int64_t due = __atomic_load_n(&revoked->next_read, __ATOMIC_ACQUIRE);

	if (keys_at == 0)
		keys_at = now;
	if (now >= due && __atomic_compare_exchange_n(&revoked->next_read, &due,
	    now + FEED_EVERY_MS, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED) &&
	    session_feed_read() != 0 && now - failed_at > 60000) {
		failed_at = now;
		log_warn("sessions: cannot read the revocation feed; the pool keeps what it"
		    " knows and catches up when MySQL answers");
	}
	if (now - keys_at >= KEYS_EVERY_MS) {
		session_keys_load();
		keys_at = now;
	}
}

int
session_pool_open(const char *run_dir)
{
	int rc = 0;

	session_pool_close();
	revoked = shm_map(run_dir, "revoked.shm", sizeof *revoked, REVOKE_SHM_MAGIC);
	if (revoked != NULL) {
		revoked_shared = 1;
	} else {
		log_warn("sessions: a revocation set for this worker only");
		rc = -1;
		revoke_set();
	}
	if (session_keys_load() != 0)
		log_warn("sessions: no signing key yet; logins wait for MySQL");
	if (!feed_started && ticker_add(session_tick) == 0)
		feed_started = 1;
	return rc;
}

void
session_pool_close(void)
{
	if (feed_started)
		return;		/* the ticker reads it until the process ends */
	if (revoked_shared)
		shm_unmap(revoked, sizeof *revoked);
	else
		free(revoked);
	revoked = NULL;
	revoked_shared = 0;
}

/* ---- sessions ---- */

int
session_create(long long user_id, const char *username, const char *role,
    enum session_kind kind, const char *method, const struct req *req, const char *device_id,
    const char *device_name, long ttl_s, char *token, char *csrf)
{
	struct auth c;
	unsigned char hash[SESSION_HASH_LEN];

	memset(&c, 0, sizeof c);
	c.user_id = user_id;
	c.kind = kind;
	snprintf(c.username, sizeof c.username, "%s", username);
	snprintf(c.role, sizeof c.role, "%s", role);
	if (kind == SESSION_MOBILE && device_id != NULL)
		snprintf(c.device, sizeof c.device, "%s", device_id);
	c.expires_ms = clock_wall_ms() + 1000LL * ttl_s;
	if (session_sign(&c, token, kind == SESSION_WEB ? csrf : NULL) != 0 &&
	    (session_keys_load() != 0 ||
	    session_sign(&c, token, kind == SESSION_WEB ? csrf : NULL) != 0))
		return -1;
	session_hash(token, hash);
	if (db_exec("INSERT INTO sessions (token_hash, user_id, kind, login_method, csrf_token,"
	    " device_id, device_name, ip, user_agent, expires_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, LEFT(?, 512),"
	    " TIMESTAMPADD(MICROSECOND, ?, '1970-01-01'))",
	    NULL, NULL, "bisssssssi", hash, sizeof hash, user_id,
	    kind == SESSION_WEB ? "web" : "mobile", method, kind == SESSION_WEB ? csrf : NULL,
	    device_id, device_name, req ? req->remote_addr : NULL, req ? req->user_agent : NULL,
	    c.expires_ms * 1000) != 0)
		return -1;
	return 0;
}

/* The token the request presents: Bearer header first, then the sid cookie. */
static const char *
session_presented(const struct req *req, int *via_bearer)
{
	const char *h = req_env(req, "HTTP_AUTHORIZATION");

	*via_bearer = 0;
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		*via_bearer = 1;
		h += 7;
		while (*h == ' ')
			h++;
		return h;
	}
	return req_cookie(req, "sid");
}

/*
 * The session in MySQL: a token from before signed tokens, or any while the pool's set cannot
 * be trusted (a fresh boot before the first read, a full set). 0 found, 1 not, -1 failure.
 */
static int
session_lookup_db(const unsigned char hash[SESSION_HASH_LEN], struct auth *out, int verified)
{
	struct json_object *rows = NULL, *row;
	int rc = 1;

	if (db_select_json("SELECT s.user_id, u.username, u.role, s.kind, s.csrf_token, s.device_id,"
	    " s.expires_at"
	    " FROM sessions s JOIN users u ON u.id = s.user_id"
	    " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > UTC_TIMESTAMP(3)",
	    &rows, "b", hash, (size_t)SESSION_HASH_LEN) != 0)
		return -1;
	if (json_object_array_length(rows) == 0)
		goto out;
	rc = 0;
	if (verified)
		goto out;	/* the token's own claims stand */
	row = json_object_array_get_idx(rows, 0);
	memset(out, 0, sizeof *out);
	out->user_id = db_field_int(row, "user_id");
	snprintf(out->username, sizeof out->username, "%s", db_field_str(row, "username", ""));
	snprintf(out->role, sizeof out->role, "%s", db_field_str(row, "role", ""));
	out->kind = strcmp(db_field_str(row, "kind", ""), "web") == 0 ? SESSION_WEB :
	    SESSION_MOBILE;
	snprintf(out->csrf, sizeof out->csrf, "%s", db_field_str(row, "csrf_token", ""));
	snprintf(out->device, sizeof out->device, "%s", db_field_str(row, "device_id", ""));
	out->expires_ms = db_field_int(row, "expires_at");
	memcpy(out->hash, hash, SESSION_HASH_LEN);
out:
	json_object_put(rows);
	return rc;
}

static void
session_unknown_key(void)
{
	static long long said_at;
	long long now = clock_mono_ms();

	if (now - __atomic_load_n(&said_at, __ATOMIC_RELAXED) > 60000) {
		__atomic_store_n(&said_at, now, __ATOMIC_RELAXED);
		log_warn("sessions: a token names a signing key this worker has not loaded (a"
		    " forgery, or MySQL unreachable since a rotation); refused");
	}
}

int
session_lookup(const struct req *req, struct auth *out)
{
	struct revoke_shm *r = revoke_set();
	unsigned char hash[SESSION_HASH_LEN];
	int via_bearer, rc;
	const char *token = session_presented(req, &via_bearer);

	if (token == NULL)
		return 1;
	if (strlen(token) == LEGACY_TOKEN_LEN) {
		/* Only while a token of before can still be alive: junk costs MySQL nothing. */
		if (clock_wall_ms() >= __atomic_load_n(&keyring.legacy_until_ms, __ATOMIC_RELAXED))
			return 1;
		session_hash(token, hash);
		rc = session_lookup_db(hash, out, 0);
	} else if ((rc = session_verify(token, clock_wall_ms(), out)) == 2) {
		/*
		 * A key this process has not loaded. A key signs only seconds after it is made,
		 * once every worker has had time to load it, so this is a forgery or a worker
		 * that cannot reach MySQL: refused either way, with no lookup.
		 */
		session_unknown_key();
		rc = 1;
	} else if (rc == 0) {
		if (revoke_has(r, revoke_key(out->hash)))
			rc = 1;
		else if (!__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&r->full, __ATOMIC_ACQUIRE))
			rc = session_lookup_db(out->hash, out, 1);
	}
	if (rc == 0)
		out->via_bearer = via_bearer;
	return rc;
}

int
session_revoke(const unsigned char hash[SESSION_HASH_LEN], long long until_ms)
{
	int rc = db_exec("UPDATE sessions SET revoked_at = UTC_TIMESTAMP(3)"
	    " WHERE token_hash = ? AND revoked_at IS NULL", NULL, NULL, "b", hash,
	    (size_t)SESSION_HASH_LEN);

	/* Even if the reply was lost: refusing a token that is still valid is the safe side. */
	session_forget(hash, until_ms);
	return rc;
}

int
session_csrf_ok(const struct req *req, const struct auth *a)
{
	const char *sent;

	if (a->via_bearer)
		return 1;
	sent = req_header(req, "X-CSRF-Token");
	if (sent == NULL)
		sent = req_param(req, "csrf");
	return sent != NULL && a->csrf[0] != '\0' && strlen(sent) == strlen(a->csrf) &&
	    sodium_memcmp(sent, a->csrf, strlen(a->csrf)) == 0;
}

int
session_revoke_device(long long user, const char *device_id)
{
	struct json_object *old = NULL;

	if (db_select_json("SELECT token_hash, expires_at FROM sessions WHERE user_id = ?"
	    " AND kind = 'mobile' AND device_id = ? AND revoked_at IS NULL", &old, "is", user,
	    device_id) != 0)
		return -1;
	if (db_exec("UPDATE sessions SET revoked_at = UTC_TIMESTAMP(3) WHERE user_id = ?"
	    " AND kind = 'mobile' AND device_id = ? AND revoked_at IS NULL", NULL, NULL, "is", user,
	    device_id) != 0) {
		json_object_put(old);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(old); i++) {
		struct json_object *row = json_object_array_get_idx(old, i);
		size_t len;
		const char *hash = db_field_bytes(row, "token_hash", &len);

		if (hash != NULL && len == SESSION_HASH_LEN)
			session_forget((const unsigned char *)hash, db_field_int(row, "expires_at"));
	}
	json_object_put(old);
	return 0;
}

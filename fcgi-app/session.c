#include <sched.h>
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
#include "xmem.h"

/*
 * The cache of looked-up sessions, one for the whole pool: a file every worker maps
 * ($app.run_dir/sessions.shm), so a session costs MySQL one lookup per session.cache_ms
 * however many workers its requests reach, and a logout drops it for all of them at once.
 * 4-way set-associative, so that busy tokens do not evict each other. Each slot is a seqlock:
 * a writer makes seq odd, writes, makes it even again; a reader copies the slot and keeps the
 * copy only if seq was even and unchanged. Writers that find a slot busy skip caching; only a
 * forget waits for it. It holds token hashes, never tokens.
 */
#define SESSION_CACHE_SETS 8192		/* power of two */
#define SESSION_CACHE_WAYS 4
#define SESSION_SHM_MAGIC 0x736b73657373696fULL	/* "sksessio" */

struct session_slot {
	uint32_t seq;			/* odd while a worker writes the slot */
	uint32_t used;
	unsigned char hash[SESSION_HASH_LEN];
	long long cached_until;		/* CLOCK_MONOTONIC ms: one clock for the whole host */
	long long expires_at;		/* wall ms: the session's own end */
	struct auth auth;
};

struct session_shm {
	struct shm_head head;
	uint64_t forgets;		/* bumped by every forget: a lookup racing one is not kept */
	struct session_slot slots[SESSION_CACHE_SETS][SESSION_CACHE_WAYS];
};

static struct session_shm *session_cache;
static int session_cache_shared;

int
session_cache_open(const char *run_dir)
{
	session_cache_close();
	session_cache = shm_map(run_dir, "sessions.shm", sizeof *session_cache, SESSION_SHM_MAGIC);
	if (session_cache != NULL) {
		session_cache_shared = 1;
		return 0;
	}
	log_warn("sessions: caching for this worker only");
	return -1;
}

void
session_cache_close(void)
{
	if (session_cache_shared)
		shm_unmap(session_cache, sizeof *session_cache);
	else
		free(session_cache);
	session_cache = NULL;
	session_cache_shared = 0;
}

static struct session_slot *
session_set(const unsigned char *hash)
{
	unsigned idx;

	if (session_cache == NULL)
		session_cache = xcalloc(1, sizeof *session_cache);
	memcpy(&idx, hash, sizeof idx);	/* the hash is uniform: its first bytes index well */
	return session_cache->slots[idx & (SESSION_CACHE_SETS - 1)];
}

/* Takes the slot for writing: its seq (odd) to hand to session_slot_unlock, or 0 if busy. */
static uint32_t
session_slot_lock(struct session_slot *slot, int wait)
{
	for (int tries = 0; ; tries++) {
		uint32_t seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);

		if ((seq & 1) == 0 && __atomic_compare_exchange_n(&slot->seq, &seq, seq + 1, 0,
		    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			__atomic_thread_fence(__ATOMIC_RELEASE);
			return seq + 1;
		}
		if (!wait)
			return 0;
		if (tries == 10000) {
			/* A writer died in its few instructions: the slot is ours now. */
			seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED) | 1;
			__atomic_store_n(&slot->seq, seq, __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_RELEASE);
			return seq;
		}
		sched_yield();
	}
}

static void
session_slot_unlock(struct session_slot *slot, uint32_t seq)
{
	__atomic_store_n(&slot->seq, seq + 1, __ATOMIC_RELEASE);
}

/* Copies the cached entry for hash into out: 0 found, 1 absent (or being written). */
static int
session_cache_get(const unsigned char *hash, struct session_slot *out)
{
	struct session_slot *set = session_set(hash);

	for (int w = 0; w < SESSION_CACHE_WAYS; w++) {
		uint32_t seq = __atomic_load_n(&set[w].seq, __ATOMIC_ACQUIRE);

		if ((seq & 1) != 0 || memcmp(set[w].hash, hash, SESSION_HASH_LEN) != 0)
			continue;
		memcpy(out, &set[w], sizeof *out);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&set[w].seq, __ATOMIC_RELAXED) != seq)
			return 1;
		return out->used && memcmp(out->hash, hash, SESSION_HASH_LEN) == 0 ? 0 : 1;
	}
	return 1;
}

/*
 * Keeps a looked-up session, in a free or expired way, else the one cached longest ago;
 * unless a forget happened since the lookup began (forgets_before), which it may have missed.
 */
static void
session_cache_put(const struct auth *a, long long expires_at, uint64_t forgets_before)
{
	struct session_slot *set = session_set(a->hash), *victim = &set[0];
	uint32_t seq;

	for (int w = 0; w < SESSION_CACHE_WAYS; w++) {
		if (memcmp(set[w].hash, a->hash, SESSION_HASH_LEN) == 0 || !set[w].used) {
			victim = &set[w];
			break;
		}
		if (set[w].cached_until < victim->cached_until)
			victim = &set[w];
	}
	if ((seq = session_slot_lock(victim, 0)) == 0)
		return;
	if (__atomic_load_n(&session_cache->forgets, __ATOMIC_ACQUIRE) == forgets_before) {
		memcpy(victim->hash, a->hash, SESSION_HASH_LEN);
		victim->auth = *a;
		victim->auth.via_bearer = 0;
		victim->expires_at = expires_at;
		/* Up to a fifth less, so that sessions cached in one burst do not expire in one. */
		victim->cached_until = clock_mono_ms() + conf.session_cache_ms -
		    (conf.session_cache_ms > 5 ? randombytes_uniform((uint32_t)conf.session_cache_ms / 5) : 0);
		victim->used = 1;
	}
	session_slot_unlock(victim, seq);
}

void
session_token(char *out)
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, SESSION_TOKEN_LEN + 1, raw, sizeof raw,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void
session_hash(const char *token, unsigned char out[SESSION_HASH_LEN])
{
	crypto_generichash(out, SESSION_HASH_LEN, (const unsigned char *)token, strlen(token),
	    NULL, 0);
}

int
session_create(long long user_id, enum session_kind kind, const char *method,
    const struct req *req, const char *device_id, const char *device_name, long ttl_s,
    char *token, char *csrf)
{
	unsigned char hash[SESSION_HASH_LEN];

	session_token(token);
	session_hash(token, hash);
	if (kind == SESSION_WEB)
		session_token(csrf);
	if (db_exec("INSERT INTO sessions (token_hash, user_id, kind, login_method, csrf_token,"
	    " device_id, device_name, ip, user_agent, expires_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, LEFT(?, 512), UTC_TIMESTAMP(3) + INTERVAL ? SECOND)",
	    NULL, NULL, "bisssssssi", hash, sizeof hash, user_id,
	    kind == SESSION_WEB ? "web" : "mobile", method, kind == SESSION_WEB ? csrf : NULL,
	    device_id, device_name, req ? req->remote_addr : NULL, req ? req->user_agent : NULL,
	    (long long)ttl_s) != 0)
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

int
session_lookup(const struct req *req, struct auth *out)
{
	unsigned char hash[SESSION_HASH_LEN];
	struct session_slot hit;
	struct json_object *rows = NULL, *row;
	uint64_t forgets;
	int via_bearer, rc = 1;
	const char *token = session_presented(req, &via_bearer);

	if (token == NULL || strlen(token) != SESSION_TOKEN_LEN)
		return 1;
	session_hash(token, hash);
	if (session_cache_get(hash, &hit) == 0 && hit.cached_until > clock_mono_ms() &&
	    hit.expires_at > clock_wall_ms()) {
		*out = hit.auth;
		out->via_bearer = via_bearer;
		return 0;
	}
	forgets = __atomic_load_n(&session_cache->forgets, __ATOMIC_ACQUIRE);
	if (db_select_json("SELECT s.user_id, u.username, u.role, s.kind, s.csrf_token, s.device_id,"
	    " s.expires_at"
	    " FROM sessions s JOIN users u ON u.id = s.user_id"
	    " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > UTC_TIMESTAMP(3)",
	    &rows, "b", hash, sizeof hash) != 0)
		return -1;
	if (json_object_array_length(rows) == 0)
		goto out;
	row = json_object_array_get_idx(rows, 0);
	memset(out, 0, sizeof *out);
	out->user_id = db_field_int(row, "user_id");
	snprintf(out->username, sizeof out->username, "%s", db_field_str(row, "username", ""));
	snprintf(out->role, sizeof out->role, "%s", db_field_str(row, "role", ""));
	out->kind = strcmp(db_field_str(row, "kind", ""), "web") == 0 ? SESSION_WEB :
	    SESSION_MOBILE;
	snprintf(out->csrf, sizeof out->csrf, "%s", db_field_str(row, "csrf_token", ""));
	snprintf(out->device, sizeof out->device, "%s", db_field_str(row, "device_id", ""));
	memcpy(out->hash, hash, sizeof hash);
	session_cache_put(out, db_field_int(row, "expires_at"), forgets);
	out->via_bearer = via_bearer;
	rc = 0;
out:
	json_object_put(rows);
	return rc;
}

void
session_forget(const unsigned char hash[SESSION_HASH_LEN])
{
	struct session_slot *set = session_set(hash);

	/* First the count, so that a lookup now reading MySQL does not cache what it finds. */
	__atomic_add_fetch(&session_cache->forgets, 1, __ATOMIC_ACQ_REL);
	/*
	 * Then every way of the set under its lock, even one whose hash does not match now: a
	 * worker caching this very session may be writing that slot at this moment (it checked
	 * the count just before the bump), and only its lock shows it. The wait is a few copies.
	 */
	for (int w = 0; w < SESSION_CACHE_WAYS; w++) {
		uint32_t seq;

		seq = session_slot_lock(&set[w], 1);
		if (memcmp(set[w].hash, hash, SESSION_HASH_LEN) == 0) {
			set[w].used = 0;
			memset(set[w].hash, 0, SESSION_HASH_LEN);
		}
		session_slot_unlock(&set[w], seq);
	}
}

int
session_revoke(const unsigned char hash[SESSION_HASH_LEN])
{
	int rc = db_exec("UPDATE sessions SET revoked_at = UTC_TIMESTAMP(3)"
	    " WHERE token_hash = ? AND revoked_at IS NULL", NULL, NULL, "b", hash,
	    (size_t)SESSION_HASH_LEN);

	/* After the database: a worker reading it from now on sees the session revoked. */
	session_forget(hash);
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

#include <stdint.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "req.h"
#include "session.h"

/* 4-way set-associative, so that a few thousand busy tokens do not evict each other. */
#define SESSION_CACHE_SETS 4096		/* power of two */
#define SESSION_CACHE_WAYS 4

struct session_slot {
	unsigned char hash[SESSION_HASH_LEN];
	struct auth auth;
	long long cached_until;		/* monotonic ms */
	long long expires_at;		/* wall ms: the session's own end */
	int used;
};

static struct session_slot session_cache[SESSION_CACHE_SETS][SESSION_CACHE_WAYS];

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

/*
 * The slot holding hash, or (with for_insert) the one to fill: a free or expired way, else
 * the way cached longest ago.
 */
static struct session_slot *
session_slot_for(const unsigned char *hash, int for_insert)
{
	unsigned idx;
	struct session_slot *set, *victim;

	memcpy(&idx, hash, sizeof idx);	/* the hash is uniform: its first bytes index well */
	set = session_cache[idx & (SESSION_CACHE_SETS - 1)];
	for (int w = 0; w < SESSION_CACHE_WAYS; w++)
		if (set[w].used && memcmp(set[w].hash, hash, SESSION_HASH_LEN) == 0)
			return &set[w];
	if (!for_insert)
		return NULL;
	victim = &set[0];
	for (int w = 0; w < SESSION_CACHE_WAYS; w++) {
		if (!set[w].used)
			return &set[w];
		if (set[w].cached_until < victim->cached_until)
			victim = &set[w];
	}
	return victim;
}

void
session_cache_clear(void)
{
	memset(session_cache, 0, sizeof session_cache);
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
	const char *h = req_header(req, "Authorization");

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

static uint64_t
session_prefix(const unsigned char *hash)
{
	uint64_t p;
	memcpy(&p, hash, sizeof p);
	return p;
}

/* Drops from this worker's cache whatever other workers revoked since we last looked. */
static void
session_catch_up(void)
{
	static unsigned long long seen;
	unsigned long long now = metrics_revoke_seq();

	if (now == seen)
		return;
	if (now - seen > METRICS_REVOKED) {
		session_cache_clear();	/* too many to replay: forget everything */
	} else {
		for (unsigned long long s = seen; s < now; s++) {
			uint64_t p = metrics_revoke_get(s);
			struct session_slot *set = session_cache[p & (SESSION_CACHE_SETS - 1)];
			for (int w = 0; w < SESSION_CACHE_WAYS; w++)
				if (set[w].used && session_prefix(set[w].hash) == p)
					set[w].used = 0;
		}
	}
	seen = now;
}

int
session_lookup(const struct req *req, struct auth *out)
{
	unsigned char hash[SESSION_HASH_LEN];
	struct session_slot *slot;
	struct json_object *rows = NULL, *row, *v;
	long long now_mono = clock_mono_ms();
	int via_bearer, rc = 1;
	const char *token = session_presented(req, &via_bearer);

	if (token == NULL || strlen(token) != SESSION_TOKEN_LEN)
		return 1;
	session_catch_up();
	session_hash(token, hash);
	slot = session_slot_for(hash, 0);
	if (slot != NULL && slot->cached_until > now_mono && slot->expires_at > clock_wall_ms()) {
		*out = slot->auth;
		out->via_bearer = via_bearer;
		return 0;
	}
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
	json_object_object_get_ex(row, "user_id", &v);
	out->user_id = json_object_get_int64(v);
	json_object_object_get_ex(row, "username", &v);
	snprintf(out->username, sizeof out->username, "%s", json_object_get_string(v));
	json_object_object_get_ex(row, "role", &v);
	snprintf(out->role, sizeof out->role, "%s", json_object_get_string(v));
	json_object_object_get_ex(row, "kind", &v);
	out->kind = strcmp(json_object_get_string(v), "web") == 0 ? SESSION_WEB : SESSION_MOBILE;
	if (json_object_object_get_ex(row, "csrf_token", &v) && v != NULL)
		snprintf(out->csrf, sizeof out->csrf, "%s", json_object_get_string(v));
	if (json_object_object_get_ex(row, "device_id", &v) && v != NULL)
		snprintf(out->device, sizeof out->device, "%s", json_object_get_string(v));
	memcpy(out->hash, hash, sizeof hash);
	json_object_object_get_ex(row, "expires_at", &v);
	slot = session_slot_for(hash, 1);
	slot->used = 1;
	memcpy(slot->hash, hash, sizeof hash);
	slot->auth = *out;
	slot->expires_at = json_object_get_int64(v);
	slot->cached_until = now_mono + conf.session_cache_ms;
	out->via_bearer = via_bearer;
	rc = 0;
out:
	json_object_put(rows);
	return rc;
}

void
session_forget(const unsigned char hash[SESSION_HASH_LEN])
{
	struct session_slot *slot = session_slot_for(hash, 0);

	if (slot != NULL)
		slot->used = 0;
	metrics_revoke_push(session_prefix(hash));
}

int
session_revoke(const unsigned char hash[SESSION_HASH_LEN])
{
	session_forget(hash);
	return db_exec("UPDATE sessions SET revoked_at = UTC_TIMESTAMP(3)"
	    " WHERE token_hash = ? AND revoked_at IS NULL", NULL, NULL, "b", hash,
	    (size_t)SESSION_HASH_LEN);
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

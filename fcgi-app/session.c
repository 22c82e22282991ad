#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "req.h"
#include "session.h"

#define SESSION_CACHE_SLOTS 4096	/* power of two */

struct session_slot {
	unsigned char hash[SESSION_HASH_LEN];
	struct auth auth;
	long long cached_until;		/* monotonic ms */
	long long expires_at;		/* wall ms: the session's own end */
	int used;
};

static struct session_slot session_cache[SESSION_CACHE_SLOTS];

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

static struct session_slot *
session_slot_for(const unsigned char *hash)
{
	unsigned idx;

	memcpy(&idx, hash, sizeof idx);	/* the hash is uniform: its first bytes index well */
	return &session_cache[idx & (SESSION_CACHE_SLOTS - 1)];
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
	session_hash(token, hash);
	slot = session_slot_for(hash);
	if (slot->used && memcmp(slot->hash, hash, sizeof hash) == 0 &&
	    slot->cached_until > now_mono && slot->expires_at > clock_wall_ms()) {
		*out = slot->auth;
		out->via_bearer = via_bearer;
		return 0;
	}
	if (db_select_json("SELECT s.user_id, u.username, u.role, s.kind, s.csrf_token, s.expires_at"
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
	memcpy(out->hash, hash, sizeof hash);
	json_object_object_get_ex(row, "expires_at", &v);
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

int
session_revoke(const unsigned char hash[SESSION_HASH_LEN])
{
	struct session_slot *slot = session_slot_for(hash);

	if (slot->used && memcmp(slot->hash, hash, SESSION_HASH_LEN) == 0)
		slot->used = 0;
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

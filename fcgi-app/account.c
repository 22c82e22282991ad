#include <string.h>

#include <sodium.h>

#include <stdio.h>

#include <json-c/json.h>

#include "account.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "ratelimit.h"

int
account_username_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 3 || n > 32)
		return 0;
	for (; *name != '\0'; name++)
		if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z') ||
		    (*name >= '0' && *name <= '9') || *name == '_'))
			return 0;
	return 1;
}

int
account_password_ok(const char *pw)
{
	size_t n = strlen(pw);
	return n >= 8 && n <= 1024;
}

int
account_hash(const char *pw, char *out)
{
	_Static_assert(ACCOUNT_HASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer too small");
	if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		log_err("password hash: out of memory");
		return -1;
	}
	return 0;
}

int
account_verify(const char *hash, const char *pw)
{
	static char dummy[ACCOUNT_HASH_MAX];

	if (hash == NULL || *hash == '\0' || *hash == '!') {
		/* Unknown user or no password: do the same work, so timing tells nothing. */
		if (dummy[0] == '\0' && account_hash("not the password", dummy) != 0)
			return 0;
		if (crypto_pwhash_str_verify(dummy, pw, strlen(pw)) == 0)
			log_warn("password check: the dummy hash matched");
		return 0;
	}
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

enum account_outcome
account_register(const char *ip, const char *name, const char *pw, struct account *out,
    long *retry_after)
{
	char hash[ACCOUNT_HASH_MAX];
	unsigned long long id;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = ratelimit_count("register:ip", ip, conf.ratelimit_register_per_ip, 3600,
	    retry_after)) != 0)
		return rc < 0 ? ACCOUNT_NO_REDIS : ACCOUNT_LIMITED_IP;
	if (account_hash(pw, hash) != 0)
		return ACCOUNT_NO_HASH;
	if (db_exec("INSERT INTO users (username, password_hash) VALUES (?, ?)", NULL, &id, "ss",
	    name, hash) != 0)
		return db_last_errno() == DB_ER_DUP_ENTRY ? ACCOUNT_TAKEN : ACCOUNT_NO_DB;
	out->id = (long long)id;
	snprintf(out->username, sizeof out->username, "%s", name);
	return ACCOUNT_OK;
}

enum account_outcome
account_login(const char *ip, const char *name, const char *pw, struct account *out,
    long *retry_after)
{
	struct json_object *row = NULL;
	const char *hash = NULL;
	char who[41];
	size_t i;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = ratelimit_count("login:ip", ip, conf.ratelimit_login_per_ip, 300,
	    retry_after)) != 0)
		return rc < 0 ? ACCOUNT_NO_REDIS : ACCOUNT_LIMITED_IP;
	/* Failed attempts per username (any case): counted on failure, checked first. */
	for (i = 0; name[i] != '\0' && i < sizeof who - 1; i++)
		who[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	who[i] = '\0';
	if (conf.ratelimit_enabled) {
		long n = ratelimit_count_peek("login:user", who);
		if (n < 0)
			return ACCOUNT_NO_REDIS;
		if (n >= conf.ratelimit_login_per_user) {
			*retry_after = 300;
			return ACCOUNT_LIMITED_USER;
		}
	}
	if (!account_username_ok(name) || !account_password_ok(pw)) {
		account_verify(NULL, pw);
	} else if ((rc = db_select_row("SELECT id, username, role, password_hash FROM users"
	    " WHERE username = ?", &row, "s", name)) < 0) {
		return ACCOUNT_NO_DB;
	} else if (rc == 0) {
		hash = db_field_str(row, "password_hash", NULL);
	}
	if (!account_verify(hash, pw)) {
		long ignored;
		ratelimit_count("login:user", who, conf.ratelimit_login_per_user, 300, &ignored);
		json_object_put(row);
		return ACCOUNT_BAD_CREDENTIALS;
	}
	out->id = db_field_int(row, "id");
	snprintf(out->role, sizeof out->role, "%s", db_field_str(row, "role", ""));
	snprintf(out->username, sizeof out->username, "%s", db_field_str(row, "username", ""));
	json_object_put(row);
	return ACCOUNT_OK;
}

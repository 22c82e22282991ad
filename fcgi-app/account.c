#include <string.h>

#include <sodium.h>

#include "account.h"
#include "log.h"

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

/*
 * Accounts: username rules, password hashing (libsodium argon2id, interactive limits), and the
 * two use cases, registering and checking a login, with their rate limits.
 */
#ifndef SK_ACCOUNT_H
#define SK_ACCOUNT_H
#include <stddef.h>

#define ACCOUNT_HASH_MAX 128

/* 1 when name is 3..32 characters of [A-Za-z0-9_]. */
int account_username_ok(const char *name);
/* 1 when the password is 8..1024 bytes. */
int account_password_ok(const char *pw);
/* Hashes pw into out (ACCOUNT_HASH_MAX bytes); 0 ok, -1 out of memory. */
int account_hash(const char *pw, char *out);
/* 1 when pw matches hash. With hash NULL it spends the same time and answers 0. */
int account_verify(const char *hash, const char *pw);

enum account_outcome {
	ACCOUNT_OK,		/* registered, or the login is right */
	ACCOUNT_TAKEN,		/* register: the username exists */
	ACCOUNT_BAD_CREDENTIALS, /* login: no such user or a wrong password (told apart by no one) */
	ACCOUNT_LIMITED_IP,	/* too many from this address: *retry_after seconds */
	ACCOUNT_LIMITED_USER,	/* login: too many failures for this username (any case) */
	ACCOUNT_NO_REDIS,	/* the limits could not be counted: nothing done */
	ACCOUNT_NO_DB,		/* MySQL failed: nothing done */
	ACCOUNT_NO_HASH,	/* register: the password could not be hashed (memory) */
};

/* Who logged in or registered. */
struct account {
	long long id;
	char username[40];	/* as stored (the login may differ in case) */
	char role[16];		/* "" after register: the default role */
};

/* Registers name with pw (both valid by the rules above), counted per ip. */
enum account_outcome account_register(const char *ip, const char *name, const char *pw,
    struct account *out, long *retry_after);
/* Checks a login, counted per ip, and its failures per username. */
enum account_outcome account_login(const char *ip, const char *name, const char *pw,
    struct account *out, long *retry_after);

#endif

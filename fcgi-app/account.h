/* Accounts: username rules and password hashing (libsodium argon2id, interactive limits). */
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

#endif

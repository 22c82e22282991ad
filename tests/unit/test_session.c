/* session: signed tokens verify by their MAC alone; any change, expiry or retired key refuses. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "session.h"
#include "unit.h"

#define NOW 1800000000000LL		/* a fixed wall clock, ms */

static unsigned char key1[SESSION_KEY_LEN], key2[SESSION_KEY_LEN];

static struct auth
claims(enum session_kind kind, const char *name, const char *role)
{
	struct auth c;

	memset(&c, 0, sizeof c);
	c.user_id = 4200000001LL;
	c.kind = kind;
	snprintf(c.username, sizeof c.username, "%s", name);
	snprintf(c.role, sizeof c.role, "%s", role);
	if (kind == SESSION_MOBILE)
		snprintf(c.device, sizeof c.device, "phone-7f3a");
	c.expires_ms = NOW + 3600 * 1000;
	return c;
}

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	memset(key1, 0x11, sizeof key1);
	memset(key2, 0x22, sizeof key2);
	session_key_put(1, key1, 0);
}

START_TEST(session_signed_token_verifies_with_its_claims)
{
	struct auth c = claims(SESSION_WEB, "alice", "admin"), got;
	char token[SESSION_TOKEN_MAX + 1], csrf[SESSION_CSRF_LEN + 1];
	unsigned char hash[SESSION_HASH_LEN];

	ck_assert_int_eq(session_sign(&c, token, csrf), 0);
	ck_assert_uint_le(strlen(token), SESSION_TOKEN_MAX);
	ck_assert_uint_eq(strlen(csrf), SESSION_CSRF_LEN);
	ck_assert_int_eq(session_verify(token, NOW, &got), 0);
	ck_assert_int_eq(got.user_id, c.user_id);
	ck_assert_str_eq(got.username, "alice");
	ck_assert_str_eq(got.role, "admin");
	ck_assert_int_eq(got.kind, SESSION_WEB);
	ck_assert_int_eq(got.expires_ms, c.expires_ms);
	ck_assert_str_eq(got.csrf, csrf);		/* derived again, not stored */
	session_hash(token, hash);
	ck_assert_mem_eq(got.hash, hash, sizeof hash);
}
END_TEST

START_TEST(session_mobile_token_carries_its_device)
{
	struct auth c = claims(SESSION_MOBILE, "bob", "user"), got;
	char token[SESSION_TOKEN_MAX + 1];

	ck_assert_int_eq(session_sign(&c, token, NULL), 0);
	ck_assert_int_eq(session_verify(token, NOW, &got), 0);
	ck_assert_int_eq(got.kind, SESSION_MOBILE);
	ck_assert_str_eq(got.device, "phone-7f3a");
	ck_assert_str_eq(got.role, "user");
}
END_TEST

START_TEST(session_two_tokens_of_one_user_differ)
{
	struct auth c = claims(SESSION_WEB, "alice", "user");
	char t1[SESSION_TOKEN_MAX + 1], t2[SESSION_TOKEN_MAX + 1];
	char c1[SESSION_CSRF_LEN + 1], c2[SESSION_CSRF_LEN + 1];

	ck_assert_int_eq(session_sign(&c, t1, c1), 0);
	ck_assert_int_eq(session_sign(&c, t2, c2), 0);
	ck_assert_str_ne(t1, t2);
	ck_assert_str_ne(c1, c2);
}
END_TEST

START_TEST(session_any_changed_character_is_refused)
{
	struct auth c = claims(SESSION_MOBILE, "carol", "user"), got;
	char token[SESSION_TOKEN_MAX + 1], bad[SESSION_TOKEN_MAX + 1];
	size_t len;

	ck_assert_int_eq(session_sign(&c, token, NULL), 0);
	len = strlen(token);
	for (size_t i = 0; i < len; i++) {
		memcpy(bad, token, len + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		ck_assert_msg(session_verify(bad, NOW, &got) != 0, "changed at %zu accepted", i);
	}
	memcpy(bad, token, len + 1);
	bad[len - 1] = '\0';				/* cut short */
	ck_assert_int_eq(session_verify(bad, NOW, &got), 1);
	ck_assert_int_eq(session_verify("", NOW, &got), 1);
	ck_assert_int_eq(session_verify("not a token at all!", NOW, &got), 1);
}
END_TEST

START_TEST(session_expired_token_is_refused)
{
	struct auth c = claims(SESSION_WEB, "dave", "user"), got;
	char token[SESSION_TOKEN_MAX + 1];

	ck_assert_int_eq(session_sign(&c, token, NULL), 0);
	ck_assert_int_eq(session_verify(token, c.expires_ms - 1, &got), 0);
	ck_assert_int_eq(session_verify(token, c.expires_ms, &got), 1);
}
END_TEST

START_TEST(session_rotation_old_key_verifies_until_its_end)
{
	struct auth c = claims(SESSION_WEB, "erin", "user"), got;
	char old[SESSION_TOKEN_MAX + 1], fresh[SESSION_TOKEN_MAX + 1];

	ck_assert_int_eq(session_sign(&c, old, NULL), 0);
	session_key_put(1, key1, NOW + 1000);		/* rotated: key 1 ends in a second */
	session_key_put(2, key2, 0);
	ck_assert_int_eq(session_sign(&c, fresh, NULL), 0);
	ck_assert_str_ne(old, fresh);
	ck_assert_int_eq(session_verify(old, NOW, &got), 0);
	ck_assert_int_eq(session_verify(fresh, NOW, &got), 0);
	ck_assert_int_eq(session_verify(old, NOW + 1000, &got), 1);	/* key 1 retired */
	ck_assert_int_eq(session_verify(fresh, NOW + 1000, &got), 0);
}
END_TEST

START_TEST(session_token_of_an_unknown_newer_key_says_so)
{
	struct auth c = claims(SESSION_WEB, "frank", "user"), got;
	char token[SESSION_TOKEN_MAX + 1];
	unsigned char raw[400];
	size_t n;

	ck_assert_int_eq(session_sign(&c, token, NULL), 0);
	ck_assert_int_eq(sodium_base642bin(raw, sizeof raw, token, strlen(token), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	raw[4] = 9;					/* key id 9: never loaded here */
	sodium_bin2base64(token, sizeof token, raw, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ck_assert_int_eq(session_verify(token, NOW, &got), 2);
	raw[4] = 0;					/* key id 0 names no key */
	sodium_bin2base64(token, sizeof token, raw, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ck_assert_int_eq(session_verify(token, NOW, &got), 1);
}
END_TEST

START_TEST(session_same_claims_other_key_is_refused)
{
	struct auth c = claims(SESSION_WEB, "grace", "admin"), got;
	char token[SESSION_TOKEN_MAX + 1];

	ck_assert_int_eq(session_sign(&c, token, NULL), 0);
	session_key_put(1, key2, 0);			/* kid 1, another secret */
	ck_assert_int_eq(session_verify(token, NOW, &got), 1);
}
END_TEST

START_TEST(session_long_name_is_cut_not_overflowed)
{
	struct auth c = claims(SESSION_MOBILE, "", "user"), got;
	char token[SESSION_TOKEN_MAX + 1];

	memset(c.username, 'n', sizeof c.username - 1);
	memset(c.device, 'd', sizeof c.device - 1);
	ck_assert_int_eq(session_sign(&c, token, NULL), 0);
	ck_assert_uint_le(strlen(token), SESSION_TOKEN_MAX);
	ck_assert_int_eq(session_verify(token, NOW, &got), 0);
	ck_assert_uint_eq(strlen(got.username), sizeof c.username - 1);
	ck_assert_uint_eq(strlen(got.device), 128);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("tokens");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, session_signed_token_verifies_with_its_claims);
	tcase_add_test(tc, session_mobile_token_carries_its_device);
	tcase_add_test(tc, session_two_tokens_of_one_user_differ);
	tcase_add_test(tc, session_any_changed_character_is_refused);
	tcase_add_test(tc, session_expired_token_is_refused);
	tcase_add_test(tc, session_rotation_old_key_verifies_until_its_end);
	tcase_add_test(tc, session_token_of_an_unknown_newer_key_says_so);
	tcase_add_test(tc, session_same_claims_other_key_is_refused);
	tcase_add_test(tc, session_long_name_is_cut_not_overflowed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(session_suite());
}

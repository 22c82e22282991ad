/* The business rules that need no server: a sale's status, prices, order messages, usernames
 * and passwords, ids in paths, refs. */
#include <string.h>

#include "account.h"
#include "activity.h"
#include "order.h"
#include "req.h"
#include "seckill.h"
#include "unit.h"

#define REF "0123456789abcdef0123456789abcdef"

START_TEST(status_by_window_and_stock)
{
	/* starts 1000, ends 2000 */
	ck_assert_str_eq(activity_status(999, 1000, 2000, 10, 10), "upcoming");
	ck_assert_str_eq(activity_status(1000, 1000, 2000, 10, 10), "active");
	ck_assert_str_eq(activity_status(1999, 1000, 2000, 10, 1), "active");
	ck_assert_str_eq(activity_status(1500, 1000, 2000, 10, 0), "sold_out");
	ck_assert_str_eq(activity_status(1500, 1000, 2000, 10, -1), "sold_out");
	ck_assert_str_eq(activity_status(2000, 1000, 2000, 10, 10), "ended");
	/* ended wins over sold out; upcoming over sold out */
	ck_assert_str_eq(activity_status(2500, 1000, 2000, 10, 0), "ended");
	ck_assert_str_eq(activity_status(500, 1000, 2000, 10, 0), "upcoming");
	/* unlimited stock (-1) is never sold out */
	ck_assert_str_eq(activity_status(1500, 1000, 2000, -1, 0), "active");
}
END_TEST

START_TEST(price_grouped_in_yuan)
{
	char out[64];

	activity_price(0, out, sizeof out);
	ck_assert_str_eq(out, "¥0.00");
	activity_price(5, out, sizeof out);
	ck_assert_str_eq(out, "¥0.05");
	activity_price(100, out, sizeof out);
	ck_assert_str_eq(out, "¥1.00");
	activity_price(129900, out, sizeof out);
	ck_assert_str_eq(out, "¥1,299.00");
	activity_price(99999999, out, sizeof out);
	ck_assert_str_eq(out, "¥999,999.99");
	activity_price(100000000, out, sizeof out);
	ck_assert_str_eq(out, "¥1,000,000.00");
	activity_price(-250, out, sizeof out);
	ck_assert_str_eq(out, "-¥2.50");
	/* a short buffer is cut, never overrun */
	activity_price(129900, out, 4);
	ck_assert_uint_lt(strlen(out), 4);
}
END_TEST

START_TEST(order_message_good)
{
	const char *body = "{\"message_id\":\"" REF "\",\"activity_id\":7,\"user_id\":42,"
	    "\"amount_cents\":1999,\"extra\":true}";
	struct order_msg m;
	const char *why = "unset";

	ck_assert_int_eq(order_parse(body, strlen(body), &m, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_str_eq(m.message_id, REF);
	ck_assert_int_eq(m.activity_id, 7);
	ck_assert_int_eq(m.user_id, 42);
	ck_assert_int_eq(m.amount_cents, 1999);
}
END_TEST

START_TEST(order_message_bad)
{
	static const char *const bad[] = {
		"", "null", "[1]", "{", "\"x\"",
		"{\"activity_id\":7,\"user_id\":42,\"amount_cents\":1}",
		"{\"message_id\":\"abc\",\"activity_id\":7,\"user_id\":42,\"amount_cents\":1}",
		"{\"message_id\":\"" REF "X\",\"activity_id\":7,\"user_id\":42,\"amount_cents\":1}",
		"{\"message_id\":7,\"activity_id\":7,\"user_id\":42,\"amount_cents\":1}",
		"{\"message_id\":\"" REF "\",\"user_id\":42,\"amount_cents\":1}",
		"{\"message_id\":\"" REF "\",\"activity_id\":\"7\",\"user_id\":42,\"amount_cents\":1}",
		"{\"message_id\":\"" REF "\",\"activity_id\":0,\"user_id\":42,\"amount_cents\":1}",
		"{\"message_id\":\"" REF "\",\"activity_id\":7,\"user_id\":-1,\"amount_cents\":1}",
		"{\"message_id\":\"" REF "\",\"activity_id\":7,\"user_id\":42,\"amount_cents\":-5}",
		"{\"message_id\":\"" REF "\",\"activity_id\":7.5,\"user_id\":42,\"amount_cents\":1}",
	};
	struct order_msg m;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *why = NULL;
		ck_assert_msg(order_parse(bad[i], strlen(bad[i]), &m, &why) == -1, "accepted: %s",
		    bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	/* only len bytes are read: a good message cut short is bad */
	const char *body = "{\"message_id\":\"" REF "\",\"activity_id\":7,\"user_id\":42,"
	    "\"amount_cents\":1}";
	const char *why = NULL;
	ck_assert_int_eq(order_parse(body, strlen(body) - 1, &m, &why), -1);
}
END_TEST

START_TEST(username_rules)
{
	ck_assert(account_username_ok("bob"));
	ck_assert(account_username_ok("Alice_2026"));
	ck_assert(account_username_ok("abcdefghijklmnopqrstuvwxyz012345"));	/* 32 */
	ck_assert(!account_username_ok("abcdefghijklmnopqrstuvwxyz0123456"));	/* 33 */
	ck_assert(!account_username_ok("ab"));
	ck_assert(!account_username_ok(""));
	ck_assert(!account_username_ok("bob smith"));
	ck_assert(!account_username_ok("bob-smith"));
	ck_assert(!account_username_ok("bob\n"));
	ck_assert(!account_username_ok("李雷李雷"));
	ck_assert(!account_username_ok("<script>"));
}
END_TEST

START_TEST(password_rules)
{
	char long_pw[1026];

	ck_assert(!account_password_ok("1234567"));
	ck_assert(account_password_ok("12345678"));
	memset(long_pw, 'x', sizeof long_pw - 1);
	long_pw[sizeof long_pw - 1] = '\0';		/* 1025 */
	ck_assert(!account_password_ok(long_pw));
	long_pw[1024] = '\0';				/* 1024 */
	ck_assert(account_password_ok(long_pw));
}
END_TEST

START_TEST(password_hash_round_trip)
{
	char hash[ACCOUNT_HASH_MAX];

	ck_assert_int_eq(account_hash("correct horse", hash), 0);
	ck_assert(account_verify(hash, "correct horse"));
	ck_assert(!account_verify(hash, "correct horsE"));
	ck_assert(!account_verify(NULL, "correct horse"));
}
END_TEST

START_TEST(ids_in_paths)
{
	long long id = -1;

	ck_assert_int_eq(req_parse_id("12", &id), 0);
	ck_assert_int_eq(id, 12);
	/* as large as a JSON number holds exactly, no larger */
	ck_assert_int_eq(req_parse_id("9007199254740989", &id), 0);
	ck_assert_int_eq(id, 9007199254740989LL);
	static const char *const bad[] = { "", "0", "-1", "+1", "1a", "a1", " 1", "1 ", "01",
		"9223372036854775807", "99999999999999999999", "1.0" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(req_parse_id(bad[i], &id) == -1, "accepted: '%s'", bad[i]);
	ck_assert_int_eq(req_parse_id(NULL, &id), -1);
}
END_TEST

START_TEST(refs)
{
	char ref[SECKILL_REF_LEN + 1];

	ck_assert(seckill_is_ref(REF));
	ck_assert(!seckill_is_ref("0123456789ABCDEF0123456789abcdef"));
	ck_assert(!seckill_is_ref(REF "0"));
	ck_assert(!seckill_is_ref("0123456789abcdef0123456789abcde"));
	ck_assert(!seckill_is_ref(""));
	ck_assert(!seckill_is_ref(NULL));
	seckill_ref(ref);
	ck_assert(seckill_is_ref(ref));
	/* an attempt's ref carries its time, to the millisecond */
	seckill_attempt_ref(ref, 1764800000123LL);
	ck_assert(seckill_is_ref(ref));
	ck_assert_int_eq(seckill_ref_time(ref), 1764800000123LL);
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, status_by_window_and_stock);
	tcase_add_test(tc, price_grouped_in_yuan);
	tcase_add_test(tc, order_message_good);
	tcase_add_test(tc, order_message_bad);
	tcase_add_test(tc, username_rules);
	tcase_add_test(tc, password_rules);
	tcase_add_test(tc, password_hash_round_trip);
	tcase_add_test(tc, ids_in_paths);
	tcase_add_test(tc, refs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(rules_suite());
}

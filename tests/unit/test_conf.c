/* conf: defaults, the file, the environment on top, and errors that name where and what. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "unit.h"

extern char **environ;

static char tmpdir[64], path[96];
static struct conf c;
static char err[512];

/* A folder for the configuration files, removed after the tests even when one fails. */
static void
dir_make(void)
{
	strcpy(tmpdir, "/tmp/seckill-conf-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}

static void
dir_remove(void)
{
	char p[sizeof path];

	snprintf(p, sizeof p, "%s/seckill.conf", tmpdir);
	unlink(p);
	rmdir(tmpdir);
}

/* No SECKILL_* variable from outside may change what the tests see. */
static void
setup(void)
{
	for (;;) {
		char name[256];
		char **e;
		for (e = environ; *e != NULL; e++)
			if (strncmp(*e, "SECKILL_", 8) == 0)
				break;
		if (*e == NULL)
			break;
		snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
		unsetenv(name);
	}
	path[0] = '\0';
	err[0] = '\0';
	memset(&c, 0, sizeof c);
}

static void
teardown(void)
{
	conf_free(&c);
	if (path[0] != '\0')
		unlink(path);
}

/* Writes text into the configuration file, named in path. */
static void
write_conf(const char *text)
{
	FILE *f;

	snprintf(path, sizeof path, "%s/seckill.conf", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Loads text as a file; on failure, the message must contain every one of the words. */
static void
check_file_error(const char *text, const char *w1, const char *w2)
{
	write_conf(text);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), -1);
	ck_assert_msg(strstr(err, path) != NULL, "error \"%s\" does not name the file", err);
	ck_assert_msg(strstr(err, w1) != NULL, "error \"%s\" lacks \"%s\"", err, w1);
	ck_assert_msg(w2 == NULL || strstr(err, w2) != NULL, "error \"%s\" lacks \"%s\"", err, w2);
}

static char *
dump(const struct conf *cf)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	conf_dump(cf, f);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

/* ---- defaults ------------------------------------------------------------------------------ */

START_TEST(defaults_load)
{
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), 0);
}
END_TEST

START_TEST(defaults_http)
{
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), 0);
	ck_assert_int_eq(c.http_port, 8080);
	ck_assert_int_eq(c.http_max_body, 16384);
	ck_assert_int_eq(c.fcgi_workers, 4);
	ck_assert_str_eq(c.app_public_url, "http://127.0.0.1:8080");
	ck_assert_str_eq(c.log_level, "info");
}
END_TEST

START_TEST(defaults_seckill)
{
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), 0);
	ck_assert_int_eq(c.seckill_captcha, 1);
	ck_assert_int_eq(c.seckill_hidden_path, 1);
	ck_assert_int_eq(c.ratelimit_enabled, 1);
}
END_TEST

START_TEST(defaults_order_qr_outbox)
{
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), 0);
	ck_assert_int_eq(c.order_pay_timeout, 900);
	ck_assert_int_eq(c.qr_ttl, 120);
	ck_assert_int_eq(c.qr_interval, 2);
	ck_assert_int_eq(c.outbox_max_send, 5);
}
END_TEST

START_TEST(defaults_backends)
{
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), 0);
	ck_assert_str_eq(c.redis_host, "127.0.0.1");
	ck_assert_int_eq(c.redis_port, 16379);
	ck_assert_int_eq(c.mysql_port, 13306);
	ck_assert_str_eq(c.mysql_database, "seckill");
	ck_assert_int_eq(c.amqp_port, 15682);
	ck_assert_str_eq(c.amqp_vhost, "/");
}
END_TEST

/* ---- the file ------------------------------------------------------------------------------ */

static const char sample[] =
    "# seckill test configuration\n"
    "\n"
    "; another comment\n"
    "   # indented comment\n"
    "http.port = 9090\n"
    "  order.pay_timeout=60  \n"
    "\t\n"
    "seckill.captcha = off\n"
    "log.level = debug\n"
    "redis.host = redis.example\n"
    "mysql.password =\n"
    "qr.interval = 3";	/* no newline at the end */

START_TEST(file_overrides)
{
	write_conf(sample);
	ck_assert_msg(conf_load(&c, path, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(c.http_port, 9090);
	ck_assert_int_eq(c.order_pay_timeout, 60);
	ck_assert_int_eq(c.seckill_captcha, 0);
	ck_assert_str_eq(c.log_level, "debug");
	ck_assert_str_eq(c.redis_host, "redis.example");
	ck_assert_int_eq(c.qr_interval, 3);
}
END_TEST

START_TEST(file_empty_string_value)
{
	write_conf(sample);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), 0);
	ck_assert_str_eq(c.mysql_password, "");
}
END_TEST

START_TEST(file_keeps_other_defaults)
{
	write_conf(sample);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), 0);
	ck_assert_int_eq(c.http_max_body, 16384);
	ck_assert_int_eq(c.qr_ttl, 120);
	ck_assert_int_eq(c.ratelimit_enabled, 1);
	ck_assert_str_eq(c.mysql_user, "seckill");
}
END_TEST

START_TEST(file_bool_spellings)
{
	write_conf("seckill.captcha = NO\nseckill.hidden_path = false\nratelimit.enabled = Yes\n");
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), 0);
	ck_assert_int_eq(c.seckill_captcha, 0);
	ck_assert_int_eq(c.seckill_hidden_path, 0);
	ck_assert_int_eq(c.ratelimit_enabled, 1);
}
END_TEST

START_TEST(file_range_edges_ok)
{
	write_conf("http.port = 1\nfcgi.workers = 256\nhttp.max_body = 256\n");
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), 0);
	ck_assert_int_eq(c.http_port, 1);
	ck_assert_int_eq(c.fcgi_workers, 256);
	ck_assert_int_eq(c.http_max_body, 256);
}
END_TEST

START_TEST(file_later_line_wins)
{
	write_conf("http.port = 1000\nhttp.port = 2000\n");
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), 0);
	ck_assert_int_eq(c.http_port, 2000);
}
END_TEST

START_TEST(file_missing)
{
	snprintf(path, sizeof path, "%s/does-not-exist.conf", tmpdir);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), -1);
	ck_assert_msg(strstr(err, path) != NULL, "error \"%s\"", err);
	path[0] = '\0';
}
END_TEST

START_TEST(file_unknown_key)
{
	char want[256];

	write_conf("http.port = 1\n\nhttp.nope = 3\n");
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:3: unknown key 'http.nope'", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(file_bad_int)
{
	char want[256];

	check_file_error("# x\nhttp.port = 80x\n", "http.port", ":2:");
	snprintf(want, sizeof want, "%s:2: http.port: '80x' is not an integer in 1..65535", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(file_empty_int)
{
	check_file_error("qr.ttl =\n", "qr.ttl", ":1:");
}
END_TEST

START_TEST(file_int_out_of_range)
{
	check_file_error("http.port = 70000\n", "http.port", "1..65535");
}
END_TEST

START_TEST(file_int_below_range)
{
	check_file_error("\n\nfcgi.workers = 0\n", "fcgi.workers", ":3:");
}
END_TEST

START_TEST(file_int_overflow)
{
	check_file_error("order.pay_timeout = 99999999999999999999999\n", "order.pay_timeout", ":1:");
}
END_TEST

START_TEST(file_bad_bool)
{
	char want[256];

	check_file_error("seckill.captcha = maybe\n", "seckill.captcha", ":1:");
	snprintf(want, sizeof want, "%s:1: seckill.captcha: 'maybe' is not on or off", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(file_bad_log_level)
{
	check_file_error("log.level = verbose\n", "log.level", "verbose");
}
END_TEST

START_TEST(file_line_without_equals)
{
	check_file_error("http.port 8080\n", ":1:", "section.key = value");
}
END_TEST

START_TEST(file_line_too_long)
{
	char *text = malloc(6000);

	ck_assert_ptr_nonnull(text);
	strcpy(text, "app.public_url = ");
	memset(text + strlen(text), 'x', 5000);
	strcpy(text + 17 + 5000, "\n");
	check_file_error(text, ":1:", "too long");
	free(text);
}
END_TEST

/* ---- the environment ----------------------------------------------------------------------- */

START_TEST(env_wins_over_file)
{
	write_conf("order.pay_timeout = 60\nhttp.max_body = 1000\nhttp.port = 9000\n");
	setenv("SECKILL_ORDER_PAY_TIMEOUT", "5", 1);
	setenv("SECKILL_HTTP_MAX_BODY", "32768", 1);
	ck_assert_msg(conf_load(&c, path, err, sizeof err) == 0, "%s", err);
	unsetenv("SECKILL_ORDER_PAY_TIMEOUT");
	unsetenv("SECKILL_HTTP_MAX_BODY");
	ck_assert_int_eq(c.order_pay_timeout, 5);
	ck_assert_int_eq(c.http_max_body, 32768);
	ck_assert_int_eq(c.http_port, 9000);
}
END_TEST

START_TEST(env_without_file)
{
	setenv("SECKILL_HTTP_MAX_BODY", "4096", 1);
	setenv("SECKILL_REDIS_HOST", "10.0.0.7", 1);
	setenv("SECKILL_RATELIMIT_ENABLED", "off", 1);
	ck_assert_msg(conf_load(&c, NULL, err, sizeof err) == 0, "%s", err);
	unsetenv("SECKILL_HTTP_MAX_BODY");
	unsetenv("SECKILL_REDIS_HOST");
	unsetenv("SECKILL_RATELIMIT_ENABLED");
	ck_assert_int_eq(c.http_max_body, 4096);
	ck_assert_str_eq(c.redis_host, "10.0.0.7");
	ck_assert_int_eq(c.ratelimit_enabled, 0);
}
END_TEST

START_TEST(env_bad_value)
{
	setenv("SECKILL_QR_TTL", "abc", 1);
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), -1);
	unsetenv("SECKILL_QR_TTL");
	ck_assert_str_eq(err, "environment SECKILL_QR_TTL (qr.ttl): 'abc' is not an integer in 10..3600");
}
END_TEST

START_TEST(env_out_of_range)
{
	setenv("SECKILL_ORDER_PAY_TIMEOUT", "0", 1);
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), -1);
	unsetenv("SECKILL_ORDER_PAY_TIMEOUT");
	ck_assert_msg(strstr(err, "SECKILL_ORDER_PAY_TIMEOUT") != NULL, "error \"%s\"", err);
}
END_TEST

START_TEST(env_bad_bool)
{
	setenv("SECKILL_SECKILL_CAPTCHA", "sometimes", 1);
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), -1);
	unsetenv("SECKILL_SECKILL_CAPTCHA");
	ck_assert_msg(strstr(err, "SECKILL_SECKILL_CAPTCHA") != NULL, "error \"%s\"", err);
	ck_assert_msg(strstr(err, "seckill.captcha") != NULL, "error \"%s\"", err);
}
END_TEST

START_TEST(reload_after_free)
{
	write_conf(sample);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), 0);
	conf_free(&c);
	ck_assert_ptr_null(c.redis_host);
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), 0);
	ck_assert_str_eq(c.redis_host, "127.0.0.1");
	ck_assert_int_eq(c.http_port, 8080);
}
END_TEST

/* ---- conf_dump ----------------------------------------------------------------------------- */

START_TEST(dump_defaults)
{
	char *text;

	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), 0);
	text = dump(&c);
	ck_assert_msg(strstr(text, "\nhttp.port = 8080\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\nhttp.max_body = 16384\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\nseckill.captcha = on\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\norder.pay_timeout = 900\n") != NULL, "%s", text);
	ck_assert_msg(strncmp(text, "app.public_url = http://127.0.0.1:8080\n", 39) == 0, "%s",
	    text);
	free(text);
}
END_TEST

START_TEST(dump_every_line_is_key_value)
{
	char *text, *line, *save = NULL;
	int lines = 0;

	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), 0);
	text = dump(&c);
	ck_assert_int_eq(text[strlen(text) - 1], '\n');
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		const char *eq = strstr(line, " = ");
		ck_assert_msg(eq != NULL && eq > line && strchr(line, '.') < eq, "line \"%s\"", line);
		lines++;
	}
	ck_assert_int_ge(lines, 38);
	free(text);
}
END_TEST

START_TEST(dump_loads_back)
{
	char *first, *second;

	/* What conf_dump prints is a configuration file that gives the same settings. */
	setenv("SECKILL_QR_TTL", "300", 1);
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof err), 0);
	unsetenv("SECKILL_QR_TTL");
	first = dump(&c);
	conf_free(&c);
	write_conf(first);
	ck_assert_msg(conf_load(&c, path, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(c.qr_ttl, 300);
	second = dump(&c);
	ck_assert_str_eq(second, first);
	free(first);
	free(second);
}
END_TEST

START_TEST(dump_shows_overrides)
{
	char *text;

	write_conf(sample);
	setenv("SECKILL_OUTBOX_MAX_SEND", "9", 1);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof err), 0);
	unsetenv("SECKILL_OUTBOX_MAX_SEND");
	text = dump(&c);
	ck_assert_msg(strstr(text, "\nhttp.port = 9090\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\nseckill.captcha = off\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\nmysql.password = \n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\noutbox.max_send = 9\n") != NULL, "%s", text);
	free(text);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("defaults");
	tcase_add_unchecked_fixture(tc, dir_make, dir_remove);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_load);
	tcase_add_test(tc, defaults_http);
	tcase_add_test(tc, defaults_seckill);
	tcase_add_test(tc, defaults_order_qr_outbox);
	tcase_add_test(tc, defaults_backends);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_unchecked_fixture(tc, dir_make, dir_remove);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, file_overrides);
	tcase_add_test(tc, file_empty_string_value);
	tcase_add_test(tc, file_keeps_other_defaults);
	tcase_add_test(tc, file_bool_spellings);
	tcase_add_test(tc, file_range_edges_ok);
	tcase_add_test(tc, file_later_line_wins);
	tcase_add_test(tc, file_missing);
	tcase_add_test(tc, file_unknown_key);
	tcase_add_test(tc, file_bad_int);
	tcase_add_test(tc, file_empty_int);
	tcase_add_test(tc, file_int_out_of_range);
	tcase_add_test(tc, file_int_below_range);
	tcase_add_test(tc, file_int_overflow);
	tcase_add_test(tc, file_bad_bool);
	tcase_add_test(tc, file_bad_log_level);
	tcase_add_test(tc, file_line_without_equals);
	tcase_add_test(tc, file_line_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("env");
	tcase_add_unchecked_fixture(tc, dir_make, dir_remove);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, env_wins_over_file);
	tcase_add_test(tc, env_without_file);
	tcase_add_test(tc, env_bad_value);
	tcase_add_test(tc, env_out_of_range);
	tcase_add_test(tc, env_bad_bool);
	tcase_add_test(tc, reload_after_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("dump");
	tcase_add_unchecked_fixture(tc, dir_make, dir_remove);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dump_defaults);
	tcase_add_test(tc, dump_every_line_is_key_value);
	tcase_add_test(tc, dump_loads_back);
	tcase_add_test(tc, dump_shows_overrides);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(conf_suite());
}

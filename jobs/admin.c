/*
 * seckill-admin: the operator's command line. Reads the same configuration as the workers.
 *   activity create --title T --stock N --price-cents P --starts-in SEC --duration SEC
 *   warm [ID]
 *   users gen --count N --prefix P --out FILE
 *   reconcile [--repair] [ID]
 *   keys rotate | keys list
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

#include "account.h"
#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "heal.h"
#include "log.h"
#include "metrics.h"
#include "seckill.h"
#include "session.h"
#include "store.h"

static void
admin_usage(FILE *out)
{
	fprintf(out,
	    "usage: seckill-admin COMMAND ...\n"
	    "  activity create --title T --stock N --price-cents P --starts-in SEC --duration SEC\n"
	    "                       create a sale (N = -1: unlimited); prints its id\n"
	    "  warm [ID]            load stock into Redis for one or every current sale (idempotent)\n"
	    "  reconcile [--repair] [ID]\n"
	    "                       check stock, orders and outbox of one or every sale;      \n"
	    "                       exits 1 when an invariant is broken; --repair first repairs\n"
	    "                       what it can, as the healer does, and says what it did\n"
	    "  users gen --count N --prefix P --out FILE\n"
	    "                       create N users with Bearer tokens for load tests; FILE gets\n"
	    "                       user_id<TAB>username<TAB>token lines\n"
	    "  keys rotate          sign new session tokens with a new key; tokens signed with\n"
	    "                       the keys before stay valid until they expire\n"
	    "  keys list            the live signing keys\n"
	    "Configuration: $SECKILL_CONF and SECKILL_<SECTION>_<KEY> variables.\n");
}

/* Reads a decimal option value; exits with a message when it is not one. */
static long long
admin_number(const char *opt, const char *v, long long min, long long max)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v ? v : "", &end, 10);
	if (v == NULL || *v == '\0' || *end != '\0' || errno != 0 || n < min || n > max) {
		fprintf(stderr, "seckill-admin: %s needs a whole number from %lld to %lld\n", opt,
		    min, max);
		exit(2);
	}
	return n;
}

static int
admin_activity_create(int argc, char **argv)
{
	const char *title = NULL;
	long long stock = -2, price = -1, starts_in = 0, duration = 3600;
	unsigned long long id;

	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--title") == 0 && v)
			title = argv[++i];
		else if (strcmp(argv[i], "--stock") == 0)
			stock = admin_number("--stock", v, -1, 100000000), i++;
		else if (strcmp(argv[i], "--price-cents") == 0)
			price = admin_number("--price-cents", v, 0, 100000000000LL), i++;
		else if (strcmp(argv[i], "--starts-in") == 0)
			starts_in = admin_number("--starts-in", v, -31536000, 31536000), i++;
		else if (strcmp(argv[i], "--duration") == 0)
			duration = admin_number("--duration", v, 1, 31536000), i++;
		else {
			fprintf(stderr, "seckill-admin: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (title == NULL || *title == '\0' || strlen(title) > 200 || stock == -2 || price < 0) {
		fprintf(stderr, "seckill-admin: activity create needs --title (1-200 characters), "
		    "--stock and --price-cents\n");
		return 2;
	}
	if (db_exec("INSERT INTO activities (title, price_cents, stock_total, stock_left, starts_at,"
	    " ends_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3) + INTERVAL ? SECOND,"
	    " UTC_TIMESTAMP(3) + INTERVAL ? SECOND)", NULL, &id, "siiiii", title, price, stock,
	    stock, starts_in, starts_in + duration) != 0) {
		fprintf(stderr, "seckill-admin: cannot create the activity (see the log above)\n");
		return 1;
	}
	printf("%llu\n", id);
	return 0;
}

static int
admin_warm(int argc, char **argv)
{
	struct json_object *rows = NULL, *v;
	int rc = 0;

	if (argc > 1) {
		admin_usage(stderr);
		return 2;
	}
	if (argc == 1) {
		long long id = admin_number("ID", argv[0], 1, 9007199254740991LL);
		rows = json_object_new_array();
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(id));
		json_object_array_add(rows, o);
	} else if (db_select_json("SELECT id FROM activities WHERE ends_at > UTC_TIMESTAMP(3)"
	    " ORDER BY id", &rows, "") != 0) {
		fprintf(stderr, "seckill-admin: cannot read the activities\n");
		return 1;
	}
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		long long id, stock = 0;
		json_object_object_get_ex(json_object_array_get_idx(rows, i), "id", &v);
		id = json_object_get_int64(v);
		switch (seckill_warm(id)) {
		case 1:
			seckill_stock(id, &stock);
			printf("activity %lld: loaded, stock %lld\n", id, stock);
			break;
		case 0:
			seckill_stock(id, &stock);
			printf("activity %lld: already loaded, stock %lld\n", id, stock);
			break;
		case 2:
			fprintf(stderr, "activity %lld: no such activity\n", id);
			rc = 1;
			break;
		default:
			fprintf(stderr, "activity %lld: failed (Redis or MySQL unavailable)\n", id);
			rc = 1;
		}
	}
	json_object_put(rows);
	return rc;
}

#define ADMIN_GEN_BATCH 1000

/* Runs one statement built in b on the process's connection: 0 ok, -1 (printed). */
static int
admin_query(struct buf *b, MYSQL_RES **res)
{
	MYSQL *m = db_get();

	if (m == NULL || mysql_real_query(m, b->data, b->len) != 0) {
		fprintf(stderr, "seckill-admin: MySQL: %s\n", m ? mysql_error(m) : "unreachable");
		return -1;
	}
	if (res != NULL && (*res = mysql_store_result(m)) == NULL) {
		fprintf(stderr, "seckill-admin: MySQL: %s\n", mysql_error(m));
		return -1;
	}
	return 0;
}

/* Users first..first+n-1 of prefix, with a mobile token each, in one transaction. */
static int
admin_users_batch(FILE *out, const char *prefix, long long first, long long n)
{
	struct buf q, lines;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int rc = -1;
	long long expires_ms = clock_wall_ms() + 1000LL * conf.session_mobile_ttl;

	buf_init(&q);
	buf_init(&lines);
	if (db_begin() != 0)
		goto out;
	buf_puts(&q, "INSERT INTO users (username, password_hash) VALUES ");
	for (long long i = 0; i < n; i++)
		buf_printf(&q, "%s('%s%lld', '!')", i ? ", " : "", prefix, first + i);
	buf_puts(&q, " ON DUPLICATE KEY UPDATE id = id");
	if (admin_query(&q, NULL) != 0)
		goto fail;
	buf_reset(&q);
	buf_puts(&q, "SELECT id, username, role FROM users WHERE username IN (");
	for (long long i = 0; i < n; i++)
		buf_printf(&q, "%s'%s%lld'", i ? ", " : "", prefix, first + i);
	buf_puts(&q, ") ORDER BY id");
	if (admin_query(&q, &res) != 0)
		goto fail;
	buf_reset(&q);
	buf_puts(&q, "INSERT INTO sessions (token_hash, user_id, kind, login_method, device_id,"
	    " device_name, expires_at) VALUES ");
	for (int i = 0; (row = mysql_fetch_row(res)) != NULL; i++) {
		char token[SESSION_TOKEN_MAX + 1], hex[2 * SESSION_HASH_LEN + 1];
		unsigned char hash[SESSION_HASH_LEN];
		struct auth c = { .kind = SESSION_MOBILE, .expires_ms = expires_ms };

		c.user_id = strtoll(row[0], NULL, 10);
		snprintf(c.username, sizeof c.username, "%s", row[1]);
		snprintf(c.role, sizeof c.role, "%s", row[2]);
		snprintf(c.device, sizeof c.device, "loadtest");
		if (session_sign(&c, token, NULL) != 0)
			goto fail;
		session_hash(token, hash);
		sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
		buf_printf(&q, "%s(X'%s', %lld, 'mobile', 'cli', 'loadtest',"
		    " 'seckill-admin users gen', TIMESTAMPADD(MICROSECOND, %lld, '1970-01-01'))",
		    i ? ", " : "", hex, c.user_id, expires_ms * 1000);
		buf_printf(&lines, "%lld\t%s\t%s\n", c.user_id, c.username, token);
	}
	if (admin_query(&q, NULL) != 0)
		goto fail;
	if (db_commit() != 0)
		goto out;
	if (fwrite(lines.data, 1, lines.len, out) != lines.len)
		goto out;
	rc = 0;
	goto out;
fail:
	db_rollback();
out:
	if (res != NULL)
		mysql_free_result(res);
	buf_free(&q);
	buf_free(&lines);
	return rc;
}

static int
admin_users_gen(int argc, char **argv)
{
	long long count = -1;
	const char *prefix = NULL, *path = NULL;
	FILE *out;
	int rc = 1, tty = isatty(STDERR_FILENO);

	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--count") == 0)
			count = admin_number("--count", v, 1, 10000000), i++;
		else if (strcmp(argv[i], "--prefix") == 0 && v)
			prefix = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && v)
			path = argv[++i];
		else {
			fprintf(stderr, "seckill-admin: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (count < 1 || prefix == NULL || path == NULL) {
		fprintf(stderr, "seckill-admin: users gen needs --count, --prefix and --out\n");
		return 2;
	}
	{
		char probe[64];
		snprintf(probe, sizeof probe, "%s%lld", prefix, count);
		if (!account_username_ok(probe) || strlen(prefix) == 0) {
			fprintf(stderr, "seckill-admin: --prefix must be letters, digits or _ and leave "
			    "room for the number within 32 characters\n");
			return 2;
		}
	}
	if ((out = fopen(path, "w")) == NULL) {
		fprintf(stderr, "seckill-admin: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/*
	 * Load-test users log in by token only: '!' is no password hash, so no password works.
	 * A thousand users per transaction, each table in one multi-row statement (names are
	 * letters, digits and _, checked above; hashes go as hex), so that 100,000 take seconds.
	 */
	if (session_keys_load() != 0)
		goto out;
	for (long long done = 0; done < count;) {
		long long n = count - done < ADMIN_GEN_BATCH ? count - done : ADMIN_GEN_BATCH;
		if (admin_users_batch(out, prefix, done + 1, n) != 0)
			goto out;
		done += n;
		/* Progress: one line rewritten on a terminal, a line each in a log. */
		if (count >= 2000)
			fprintf(stderr, tty ? "\rusers gen: %lld / %lld" : "users gen: %lld / %lld\n",
			    done, count);
	}
	if (count >= 2000 && tty)
		fputc('\n', stderr);
	rc = 0;
out:
	if (fclose(out) != 0)
		rc = 1;
	if (rc != 0)
		fprintf(stderr, "seckill-admin: users gen failed (see the log above)\n");
	return rc;
}

/*
 * keys rotate: a new key signs SESSION_KEY_LEAD_S from now, once every worker has loaded it;
 * the keys before it verify until the last token they signed has expired (the longer session
 * lifetime after that), then drop out. keys list: the live keys.
 */
static int
admin_keys(int argc, char **argv)
{
	struct json_object *rows = NULL;
	unsigned long long kid = 0, older = 0;
	long long ttl = conf.session_web_ttl > conf.session_mobile_ttl ? conf.session_web_ttl :
	    conf.session_mobile_ttl;

	if (argc == 1 && strcmp(argv[0], "rotate") == 0) {
		if (db_begin() != 0 ||
		    db_exec("UPDATE signing_keys SET expires_at = UTC_TIMESTAMP(3) + INTERVAL ? SECOND"
		    " WHERE expires_at IS NULL", &older, NULL, "i", ttl + SESSION_KEY_LEAD_S) != 0 ||
		    db_exec("INSERT INTO signing_keys (secret, signs_from) VALUES (RANDOM_BYTES(32),"
		    " UTC_TIMESTAMP(3) + INTERVAL ? SECOND)", NULL, &kid, "i",
		    (long long)SESSION_KEY_LEAD_S) != 0 || db_commit() != 0) {
			db_rollback();
			fprintf(stderr, "seckill-admin: keys rotate failed (MySQL unavailable?)\n");
			return 1;
		}
		printf("key %llu signs new tokens in %d s (once every worker has loaded it);"
		    " %llu older key%s verif%s its tokens until they expire (%lld s)\n", kid,
		    SESSION_KEY_LEAD_S, older, older == 1 ? "" : "s", older == 1 ? "ies" : "y",
		    ttl + SESSION_KEY_LEAD_S);
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if (db_select_json("SELECT kid, signs_from, expires_at FROM signing_keys"
		    " WHERE expires_at IS NULL OR expires_at > UTC_TIMESTAMP(3) ORDER BY kid DESC",
		    &rows, "") != 0) {
			fprintf(stderr, "seckill-admin: keys list failed (MySQL unavailable?)\n");
			return 1;
		}
		printf("%-6s %-24s %s\n", "kid", "signs from (UTC)", "verifies until (UTC)");
		for (size_t i = 0; i < json_object_array_length(rows); i++) {
			struct json_object *row = json_object_array_get_idx(rows, i);
			char made[32], until[32] = "signs new tokens";
			long long c = db_field_int(row, "signs_from"), e = db_field_int(row, "expires_at");
			time_t t = (time_t)(c / 1000);
			strftime(made, sizeof made, "%Y-%m-%d %H:%M:%S", gmtime(&t));
			if (e != 0) {
				t = (time_t)(e / 1000);
				strftime(until, sizeof until, "%Y-%m-%d %H:%M:%S", gmtime(&t));
			}
			printf("%-6lld %-24s %s\n", db_field_int(row, "kid"), made, until);
		}
		json_object_put(rows);
		return 0;
	}
	fprintf(stderr, "seckill-admin: keys needs rotate or list\n");
	return 2;
}

/* One sale's report line; 1 when an invariant is broken, -1 when a backend failed. */
static int
admin_reconcile_one(long long id, int repair)
{
	struct heal_report rep;
	int rc = heal_sale(id, repair, &rep);

	if (rc < 0)
		return -1;
	if (rc > 0)
		return 0;
	printf("activity %lld \"%s\": initial %lld, redis stock %s%lld, mysql stock %lld, "
	    "orders unpaid %lld paid %lld cancelled %lld, outbox pending %lld sent %lld "
	    "consumed %lld failed %lld void %lld: %s%s%s\n", id, rep.title, rep.total,
	    rep.redis_loaded ? "" : "(not loaded) ", rep.redis_loaded ? rep.redis_left : 0,
	    rep.mysql_left, rep.unpaid, rep.paid, rep.cancelled, rep.pending, rep.sent,
	    rep.consumed, rep.failed, rep.voided, rep.broken ? "BROKEN" :
	    rep.in_flight ? "ok (orders in flight)" : "ok", rep.problems[0] ? "; " : "",
	    rep.problems);
	if (repair)
		printf("  repaired: %s\n", rep.repairs ? rep.done : "nothing to repair");
	return rep.broken;
}

static int
admin_reconcile(int argc, char **argv)
{
	long long *ids = NULL, one;
	int rc = 0, n, repair = 0;

	if (argc >= 1 && strcmp(argv[0], "--repair") == 0) {
		repair = 1;
		argc--, argv++;
	}
	if (argc > 1) {
		admin_usage(stderr);
		return 2;
	}
	if (argc == 1) {
		struct heal_report rep;
		one = admin_number("ID", argv[0], 1, 9007199254740991LL);
		if ((n = heal_sale(one, 0, &rep)) > 0) {
			fprintf(stderr, "seckill-admin: no such activity\n");
			return 2;
		}
		ids = &one;
		n = 1;
	} else if ((n = heal_sales(1, &ids)) < 0) {
		fprintf(stderr, "seckill-admin: cannot read the activities\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		int r = admin_reconcile_one(ids[i], repair);
		if (r < 0) {
			fprintf(stderr, "activity %lld: Redis or MySQL unavailable\n", ids[i]);
			rc = 2;
		} else if (r > 0 && rc == 0) {
			rc = 1;
		}
	}
	if (ids != &one)
		free(ids);
	return rc;
}

int
main(int argc, char **argv)
{
	char err[1024];
	int rc;

	log_set_name("seckill-admin");
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		admin_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (conf_load_default(&conf, err, sizeof err) != 0) {
		fprintf(stderr, "seckill-admin: configuration: %s\n", err);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "seckill-admin: libsodium cannot start\n");
		return 1;
	}
	conf.backend_retry_ms = 0;
	/* The pool's counters, where the pool runs: repairs made here show in /metrics too. */
	if (access(conf.app_run_dir, W_OK) == 0)
		metrics_open(conf.app_run_dir);
	if (argc >= 3 && strcmp(argv[1], "activity") == 0 && strcmp(argv[2], "create") == 0)
		rc = admin_activity_create(argc - 3, argv + 3);
	else if (strcmp(argv[1], "warm") == 0)
		rc = admin_warm(argc - 2, argv + 2);
	else if (strcmp(argv[1], "reconcile") == 0)
		rc = admin_reconcile(argc - 2, argv + 2);
	else if (argc >= 3 && strcmp(argv[1], "users") == 0 && strcmp(argv[2], "gen") == 0)
		rc = admin_users_gen(argc - 3, argv + 3);
	else if (strcmp(argv[1], "keys") == 0)
		rc = admin_keys(argc - 2, argv + 2);
	else {
		admin_usage(stderr);
		rc = 2;
	}
	conf_free(&conf);
	return rc;
}

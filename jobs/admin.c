/*
 * seckill-admin: the operator's command line. Reads the same configuration as the workers.
 *   activity create --title T --stock N --price-cents P --starts-in SEC --duration SEC
 *   warm [ID]
 *   users gen --count N --prefix P --out FILE
 *   reconcile [--repair] [ID]
 *   keys rotate | keys list
 *   migrate [--dir DIR]
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Where `make install` puts sql/ (schema.sql and migrations/); the Makefile defines it. */
#ifndef SK_PKGDATADIR
#define SK_PKGDATADIR "/usr/share/seckill"
#endif
#define ADMIN_SQL_DIR SK_PKGDATADIR "/sql"

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
	    "  migrate [--dir DIR]  apply DIR/schema.sql to an empty database, then each of\n"
	    "                       DIR/migrations/NNN-*.sql not applied yet, in order, and\n"
	    "                       record them in schema_migrations [DIR: " ADMIN_SQL_DIR "]\n"
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

/*
 * migrate: the schema's history is the table schema_migrations, one row per file applied,
 * named by the file without ".sql" ("000-schema" for schema.sql, migration 0), as the stack
 * script recorded them before this command existed. schema.sql is applied only to a database
 * that holds no table yet; then each DIR/migrations/NNN-*.sql not recorded, in order of name.
 */
#define ADMIN_VERSION_MAX 64	/* schema_migrations.version */
#define ADMIN_SCHEMA_VERSION "000-schema"

struct admin_migration {
	char version[ADMIN_VERSION_MAX + 1];
	char path[4096];
};

static int
admin_migration_file(const struct dirent *d)
{
	return fnmatch("[0-9][0-9][0-9]-*.sql", d->d_name, 0) == 0;
}

static int
admin_name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Sets m to the file name under dir; -1 (printed) when it is too long. */
static int
admin_migration_set(struct admin_migration *m, const char *dir, const char *name,
    const char *version)
{
	size_t n = strlen(version);

	if (n > ADMIN_VERSION_MAX) {
		fprintf(stderr, "seckill-admin: migrate: %s/%s: the name without .sql is longer "
		    "than %d characters (schema_migrations.version)\n", dir, name, ADMIN_VERSION_MAX);
		return -1;
	}
	memcpy(m->version, version, n + 1);
	if ((size_t)snprintf(m->path, sizeof m->path, "%s/%s", dir, name) >= sizeof m->path) {
		fprintf(stderr, "seckill-admin: migrate: %s/%s: path too long\n", dir, name);
		return -1;
	}
	return 0;
}

/* The files of dir, migration 0 first; *out (the caller frees it) gets *n of them. 0, or -1
 * (printed). */
static int
admin_migrations_list(const char *dir, struct admin_migration **out, int *n)
{
	struct admin_migration *ms = NULL;
	struct dirent **names = NULL;
	struct stat st;
	char sub[4096], version[256];
	int k, rc = -1;

	*out = NULL;
	*n = 0;
	snprintf(sub, sizeof sub, "%s/schema.sql", dir);
	errno = 0;
	if (stat(sub, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "seckill-admin: migrate: %s: %s (--dir names the folder that holds "
		    "schema.sql and migrations/)\n", sub, errno ? strerror(errno) : "not a file");
		return -1;
	}
	snprintf(sub, sizeof sub, "%s/migrations", dir);
	if ((k = scandir(sub, &names, admin_migration_file, admin_name_cmp)) < 0) {
		fprintf(stderr, "seckill-admin: migrate: %s: %s (--dir names the folder that holds "
		    "schema.sql and migrations/)\n", sub, strerror(errno));
		return -1;
	}
	ms = calloc((size_t)k + 1, sizeof *ms);
	if (ms == NULL || admin_migration_set(&ms[0], dir, "schema.sql", ADMIN_SCHEMA_VERSION) != 0)
		goto out;
	*n = 1;
	for (int i = 0; i < k; i++) {
		const char *name = names[i]->d_name;
		struct admin_migration *m = &ms[*n];

		snprintf(version, sizeof version, "%.*s", (int)(strlen(name) - 4), name);
		if (admin_migration_set(m, sub, name, version) != 0)
			goto out;
		if (stat(m->path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (strncmp(name, "000", 3) == 0) {
			fprintf(stderr, "seckill-admin: migrate: %s: number 000 is schema.sql's; number "
			    "migrations from 001\n", m->path);
			goto out;
		}
		if (strncmp(name, ms[*n - 1].version, 3) == 0) {
			fprintf(stderr, "seckill-admin: migrate: %s and %s have the same number\n",
			    ms[*n - 1].path, m->path);
			goto out;
		}
		(*n)++;
	}
	*out = ms;
	ms = NULL;
	rc = 0;
out:
	for (int i = 0; i < k; i++)
		free(names[i]);
	free(names);
	free(ms);
	if (rc != 0)
		*n = 0;
	return rc;
}

/* 1 when rows (from SELECT version FROM schema_migrations) hold version. */
static int
admin_recorded(struct json_object *rows, const char *version)
{
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		if (strcmp(db_field_str(json_object_array_get_idx(rows, i), "version", ""),
		    version) == 0)
			return 1;
	return 0;
}

/* Runs every statement of one file on the process's connection. 0, or -1 (printed). */
static int
admin_migration_run(const struct admin_migration *mg)
{
	struct buf text;
	char chunk[8192];
	size_t got;
	MYSQL *m;
	MYSQL_RES *res;
	FILE *f;
	int st, stmt = 1, rc = -1, blank = 1;

	buf_init(&text);
	if ((f = fopen(mg->path, "r")) == NULL) {
		fprintf(stderr, "seckill-admin: migrate: %s: %s\n", mg->path, strerror(errno));
		goto out;
	}
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&text, chunk, got);
	st = ferror(f);
	fclose(f);
	if (st) {
		fprintf(stderr, "seckill-admin: migrate: %s: read error\n", mg->path);
		goto out;
	}
	for (size_t i = 0; i < text.len && blank; i++)
		blank = strchr(" \t\r\n", text.data[i]) != NULL;
	if (blank) {
		fprintf(stderr, "seckill-admin: migrate: %s is empty\n", mg->path);
		goto out;
	}
	if ((m = db_get()) == NULL) {
		fprintf(stderr, "seckill-admin: migrate: MySQL unreachable\n");
		goto out;
	}
	/* The file as it is, its statements one after the other, as the mariadb client runs it. */
	if (mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0) {
		fprintf(stderr, "seckill-admin: migrate: MySQL: %s\n", mysql_error(m));
		goto out;
	}
	st = mysql_real_query(m, text.data, text.len) != 0;
	while (st == 0) {
		if ((res = mysql_store_result(m)) != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(m) != 0)
			break;
		if ((st = mysql_next_result(m)) >= 0)
			stmt++;	/* the next statement's result, or its error */
	}
	if (st >= 0) {
		fprintf(stderr, "seckill-admin: migrate: %s failed at its statement %d: %s (MySQL "
		    "error %u); the statements before it took effect and stay (DDL cannot be rolled "
		    "back): fix the cause and run migrate again\n", mg->path, stmt, mysql_error(m),
		    mysql_errno(m));
		db_drop();
		goto out;
	}
	mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
	rc = 0;
out:
	buf_free(&text);
	return rc;
}

static int
admin_migrate(int argc, char **argv)
{
	const char *dir = ADMIN_SQL_DIR;
	struct admin_migration *ms = NULL;
	struct json_object *rows = NULL, *lock = NULL, *held = NULL;
	long long tables;
	int n = 0, applied = 0, rc = 1;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc && *argv[i + 1] != '\0') {
			dir = argv[++i];
		} else {
			fprintf(stderr, "seckill-admin: migrate takes only --dir DIR (the folder with "
			    "schema.sql and migrations/)\n");
			return 2;
		}
	}
	if (admin_migrations_list(dir, &ms, &n) != 0)
		return 1;
	/* A migration on a large table may take minutes: no 2-second read timeout here. */
	conf.mysql_timeout = 3600;
	if (db_get() == NULL) {
		fprintf(stderr, "seckill-admin: migrate: cannot connect to MySQL %s:%ld as %s, "
		    "database %s (mysql.* in the configuration)\n", conf.mysql_host, conf.mysql_port,
		    conf.mysql_user, conf.mysql_database);
		goto out;
	}
	/* One migrate at a time per database (two hosts deploying at once wait for each other). */
	if (db_select_json("SELECT GET_LOCK(CONCAT('seckill-migrate.', DATABASE()), 60) AS got",
	    &lock, "") != 0 || json_object_array_length(lock) != 1 ||
	    db_field_int(json_object_array_get_idx(lock, 0), "got") != 1) {
		fprintf(stderr, "seckill-admin: migrate: another migrate of database %s has been "
		    "running for 60 s (or MySQL failed)\n", conf.mysql_database);
		goto out;
	}
	/* What the database holds, before anything is written to it. */
	if (db_select_json("SELECT COUNT(IF(TABLE_NAME <> 'schema_migrations', 1, NULL)) AS tables,"
	    " COUNT(IF(TABLE_NAME = 'schema_migrations', 1, NULL)) AS history"
	    " FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()", &held, "") != 0) {
		fprintf(stderr, "seckill-admin: migrate: cannot list the tables of database %s: %s\n",
		    conf.mysql_database, db_last_error());
		goto out;
	}
	tables = db_field_int(json_object_array_get_idx(held, 0), "tables");
	if (db_field_int(json_object_array_get_idx(held, 0), "history") > 0 &&
	    db_select_json("SELECT version FROM schema_migrations ORDER BY version", &rows,
	    "") != 0) {
		fprintf(stderr, "seckill-admin: migrate: cannot read schema_migrations in database "
		    "%s: %s\n", conf.mysql_database, db_last_error());
		goto out;
	}
	if (rows == NULL)
		rows = json_object_new_array();
	if (!admin_recorded(rows, ADMIN_SCHEMA_VERSION) && tables > 0) {
		fprintf(stderr, "seckill-admin: migrate: database %s holds %lld table%s but "
		    "schema_migrations has no " ADMIN_SCHEMA_VERSION " (%s): it was not made by "
		    "migrate, and schema.sql goes only into an empty database; nothing was changed. "
		    "Point mysql.database at an empty one; or, if this one holds the seckill schema "
		    "loaded by hand, record what it holds first (INSERT INTO schema_migrations VALUES "
		    "('" ADMIN_SCHEMA_VERSION "', UTC_TIMESTAMP()), and a row for each migration in "
		    "it)\n", conf.mysql_database, tables, tables == 1 ? "" : "s", ms[0].path);
		goto out;
	}
	if (db_exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version VARCHAR(64) NOT NULL PRIMARY KEY, applied_at DATETIME NOT NULL"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4", NULL, NULL, "") != 0) {
		fprintf(stderr, "seckill-admin: migrate: cannot create schema_migrations in database "
		    "%s: %s\n", conf.mysql_database, db_last_error());
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		const char *v = db_field_str(json_object_array_get_idx(rows, i), "version", "");
		int known = 0;
		for (int j = 0; j < n && !known; j++)
			known = strcmp(ms[j].version, v) == 0;
		if (!known)
			fprintf(stderr, "seckill-admin: migrate: note: %s is recorded as applied but "
			    "is not in %s (made by a newer release?)\n", v, dir);
	}
	for (int i = 0; i < n; i++) {
		long long t0 = clock_mono_ms();

		if (admin_recorded(rows, ms[i].version))
			continue;
		if (admin_migration_run(&ms[i]) != 0)
			goto out;
		if (db_exec("INSERT INTO schema_migrations (version, applied_at)"
		    " VALUES (?, UTC_TIMESTAMP())", NULL, NULL, "s", ms[i].version) != 0) {
			fprintf(stderr, "seckill-admin: migrate: %s took effect but recording it in "
			    "schema_migrations failed: %s\n", ms[i].version, db_last_error());
			goto out;
		}
		printf("applied %s (%s) in %.1f s\n", ms[i].version, ms[i].path,
		    (double)(clock_mono_ms() - t0) / 1000);
		fflush(stdout);
		applied++;
	}
	if (applied == 0)
		printf("schema up to date at %s: nothing to apply (all %d in %s applied before)\n",
		    ms[n - 1].version, n, dir);
	else
		printf("%d migration%s applied; the schema is at %s\n", applied,
		    applied == 1 ? "" : "s", ms[n - 1].version);
	rc = 0;
out:
	json_object_put(held);
	json_object_put(lock);
	json_object_put(rows);
	free(ms);
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
	else if (strcmp(argv[1], "migrate") == 0)
		rc = admin_migrate(argc - 2, argv + 2);
	else {
		admin_usage(stderr);
		rc = 2;
	}
	conf_free(&conf);
	return rc;
}

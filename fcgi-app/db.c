#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <json-c/json.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "xmem.h"

#define DB_MAX_STMTS 64
#define DB_MAX_PARAMS 32
#define DB_MAX_COLS 48
#define DB_STR_CAP 65536

struct db_cached {
	const char *sql;
	MYSQL_STMT *stmt;
};

/* Per thread: a web worker's outbox relay has a connection of its own. */
static _Thread_local MYSQL *db_conn;
static _Thread_local long long db_retry_at;
static _Thread_local struct db_cached db_stmts[DB_MAX_STMTS];
static _Thread_local int db_nstmts;
static _Thread_local unsigned db_errno;
static _Thread_local char db_errmsg[256];
static _Thread_local int db_was_lost;	/* the last failure came after an execute was sent */

static void
db_library_once(void)
{
	/*
	 * The client library starts OpenSSL with its config file, its error strings and the
	 * legacy tables of every cipher and digest: 1.7 MiB more in each process, none of which a
	 * connection to MariaDB on this host or network uses (TLS, if configured, still works:
	 * OpenSSL 3 fetches what a handshake needs from its default provider). Asked first, with
	 * those left out, OpenSSL does not do them when the client asks.
	 */
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
	    OPENSSL_INIT_NO_LOAD_SSL_STRINGS | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
	    OPENSSL_INIT_NO_ADD_ALL_DIGESTS, NULL);
	mysql_library_init(0, NULL, NULL);
}

void
db_library_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, db_library_once);
}

MYSQL *
db_get(void)
{
	MYSQL *m;
	unsigned int t;
	my_bool off = 0;

	if (db_conn != NULL)
		return db_conn;
	if (clock_mono_ms() < db_retry_at)
		return NULL;
	db_library_init();
	if ((m = mysql_init(NULL)) == NULL)
		return NULL;
	t = (unsigned)conf.mysql_connect_timeout;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	t = (unsigned)conf.mysql_timeout;
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
	mysql_options(m, MYSQL_OPT_RECONNECT, &off);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
	if (mysql_real_connect(m, conf.mysql_host, conf.mysql_user, conf.mysql_password,
	    conf.mysql_database, (unsigned)conf.mysql_port, NULL, 0) == NULL) {
		log_err("mysql %s:%ld: %s", conf.mysql_host, conf.mysql_port, mysql_error(m));
		mysql_close(m);
		db_retry_at = clock_mono_ms() + conf.backend_retry_ms;
		return NULL;
	}
	db_conn = m;
	return m;
}

static void db_drop_after(int timed_out);

void
db_drop(void)
{
	db_drop_after(1);
}

/* As for Redis: a closed connection (a restart) is re-opened at once, a timed-out one later. */
static void
db_drop_after(int timed_out)
{
	for (int i = 0; i < db_nstmts; i++)
		mysql_stmt_close(db_stmts[i].stmt);
	db_nstmts = 0;
	if (db_conn != NULL) {
		log_warn("mysql: dropping the connection");
		mysql_close(db_conn);
		db_conn = NULL;
	}
	if (timed_out)
		db_retry_at = clock_mono_ms() + conf.backend_retry_ms;
}

int
db_ping(void)
{
	MYSQL *m = db_get();

	if (m == NULL)
		return -1;
	if (mysql_ping(m) != 0) {
		log_err("mysql: ping: %s", mysql_error(m));
		db_drop();
		return -1;
	}
	return 0;
}

unsigned
db_last_errno(void)
{
	return db_errno;
}

const char *
db_last_error(void)
{
	return db_errmsg;
}

int
db_lost(void)
{
	return db_was_lost;
}

MYSQL *
db_fresh(void)
{
	db_drop_after(0);
	db_retry_at = 0;
	return db_get();
}

static int
db_gone(unsigned err)
{
	/* Client-side errors (CR_SERVER_GONE_ERROR, CR_SERVER_LOST, timeouts ...): reconnect. */
	return err >= 2000 && err < 3000;
}

/* Logs a statement error and drops the connection when the server is gone. */
static void
db_stmt_fail(MYSQL_STMT *st, const char *sql, const char *what)
{
	db_errno = mysql_stmt_errno(st);
	snprintf(db_errmsg, sizeof db_errmsg, "%s", mysql_stmt_error(st));
	if (db_errno != DB_ER_DUP_ENTRY)
		log_err("mysql: %s: %s (%u): %.200s", what, mysql_stmt_error(st), db_errno, sql);
	if (db_gone(db_errno))
		db_drop_after(db_errno != CR_SERVER_GONE_ERROR);
}

static MYSQL_STMT *
db_prepare(const char *sql)
{
	MYSQL *m;
	MYSQL_STMT *st;

	for (int i = 0; i < db_nstmts; i++)
		if (db_stmts[i].sql == sql || strcmp(db_stmts[i].sql, sql) == 0)
			return db_stmts[i].stmt;
	if ((m = db_get()) == NULL) {
		db_errno = CR_SERVER_GONE_ERROR;
		return NULL;
	}
	if ((st = mysql_stmt_init(m)) == NULL)
		return NULL;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		db_stmt_fail(st, sql, "prepare");
		mysql_stmt_close(st);
		return NULL;
	}
	if (db_nstmts == DB_MAX_STMTS) {
		mysql_stmt_close(db_stmts[0].stmt);
		memmove(db_stmts, db_stmts + 1, (DB_MAX_STMTS - 1) * sizeof db_stmts[0]);
		db_nstmts--;
	}
	db_stmts[db_nstmts].sql = sql;
	db_stmts[db_nstmts].stmt = st;
	db_nstmts++;
	return st;
}

union db_val {
	long long i;
	unsigned long long u;
	double d;
};

/* Binds the variadic parameters described by types; -1 when they do not match the statement. */
static int
db_bind_params(MYSQL_STMT *st, const char *sql, const char *types, va_list ap,
    MYSQL_BIND *b, union db_val *vals, unsigned long *lens, my_bool *nulls)
{
	size_t n = strlen(types);

	if (n != mysql_stmt_param_count(st) || n > DB_MAX_PARAMS) {
		log_err("mysql: %zu parameters given, %lu wanted: %.200s", n,
		    mysql_stmt_param_count(st), sql);
		return -1;
	}
	memset(b, 0, n * sizeof *b);
	for (size_t i = 0; i < n; i++) {
		switch (types[i]) {
		case 'i':
			vals[i].i = va_arg(ap, long long);
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &vals[i].i;
			break;
		case 'u':
			vals[i].u = va_arg(ap, unsigned long long);
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &vals[i].u;
			b[i].is_unsigned = 1;
			break;
		case 'd':
			vals[i].d = va_arg(ap, double);
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer = &vals[i].d;
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			lens[i] = (unsigned long)va_arg(ap, size_t);
			b[i].buffer_type = MYSQL_TYPE_BLOB;
			b[i].buffer = (void *)p;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			nulls[i] = s == NULL;
			b[i].is_null = &nulls[i];
			b[i].buffer = (void *)(s ? s : "");
			lens[i] = s ? strlen(s) : 0;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			break;
		}
		default:
			log_err("mysql: bad parameter type '%c'", types[i]);
			return -1;
		}
	}
	if (n > 0 && mysql_stmt_bind_param(st, b) != 0) {
		db_stmt_fail(st, sql, "bind");
		return -1;
	}
	return 0;
}

static int
db_run(const char *sql, const char *types, va_list ap, MYSQL_STMT **out)
{
	MYSQL_BIND b[DB_MAX_PARAMS];
	union db_val vals[DB_MAX_PARAMS];
	unsigned long lens[DB_MAX_PARAMS];
	my_bool nulls[DB_MAX_PARAMS];
	MYSQL_STMT *st = db_prepare(sql);

	db_errno = 0;
	db_errmsg[0] = '\0';
	db_was_lost = 0;
	if (st == NULL)
		return -1;
	if (db_bind_params(st, sql, types, ap, b, vals, lens, nulls) != 0)
		return -1;
	if (mysql_stmt_execute(st) != 0) {
		db_was_lost = db_gone(mysql_stmt_errno(st));
		db_stmt_fail(st, sql, "execute");
		return -1;
	}
	*out = st;
	return 0;
}

int
db_exec(const char *sql, unsigned long long *affected, unsigned long long *insert_id,
    const char *types, ...)
{
	MYSQL_STMT *st;
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = db_run(sql, types, ap, &st);
	va_end(ap);
	if (rc != 0)
		return -1;
	if (affected != NULL)
		*affected = mysql_stmt_affected_rows(st);
	if (insert_id != NULL)
		*insert_id = mysql_stmt_insert_id(st);
	return 0;
}

static long long
db_time_ms(const MYSQL_TIME *t)
{
	struct tm tm = { 0 };

	tm.tm_year = (int)t->year - 1900;
	tm.tm_mon = (int)t->month - 1;
	tm.tm_mday = (int)t->day ? (int)t->day : 1;
	tm.tm_hour = (int)t->hour;
	tm.tm_min = (int)t->minute;
	tm.tm_sec = (int)t->second;
	return (long long)timegm(&tm) * 1000 + (long long)(t->second_part / 1000);
}

struct db_col {
	union db_val v;
	MYSQL_TIME t;
	char *str;
	unsigned long len;
	my_bool is_null, error;
	enum { COL_INT, COL_UINT, COL_DOUBLE, COL_TIME, COL_STR } kind;
};

long long
db_field_int(struct json_object *row, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(row, key, &v) ? json_object_get_int64(v) : 0;
}

const char *
db_field_bytes(struct json_object *row, const char *key, size_t *len)
{
	struct json_object *v;

	*len = 0;
	if (!json_object_object_get_ex(row, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

const char *
db_field_str(struct json_object *row, const char *key, const char *fallback)
{
	struct json_object *v;
	return json_object_object_get_ex(row, key, &v) && v != NULL ? json_object_get_string(v) :
	    fallback;
}

static int
db_select_va(const char *sql, struct json_object **rows, const char *types, va_list ap)
{
	MYSQL_STMT *st;
	MYSQL_RES *meta = NULL;
	MYSQL_FIELD *fields;
	MYSQL_BIND rb[DB_MAX_COLS];
	struct db_col cols[DB_MAX_COLS];
	unsigned ncols = 0;
	int rc = -1, frc;

	*rows = NULL;
	memset(cols, 0, sizeof cols);
	frc = db_run(sql, types, ap, &st);
	if (frc != 0)
		return -1;
	if ((meta = mysql_stmt_result_metadata(st)) == NULL) {
		log_err("mysql: not a query that returns rows: %.200s", sql);
		goto out;
	}
	ncols = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	if (ncols > DB_MAX_COLS) {
		log_err("mysql: too many columns: %.200s", sql);
		ncols = 0;
		goto out;
	}
	memset(rb, 0, sizeof rb);
	for (unsigned i = 0; i < ncols; i++) {
		struct db_col *c = &cols[i];
		rb[i].is_null = &c->is_null;
		rb[i].error = &c->error;
		rb[i].length = &c->len;
		switch (fields[i].type) {
		case MYSQL_TYPE_TINY: case MYSQL_TYPE_SHORT: case MYSQL_TYPE_LONG:
		case MYSQL_TYPE_INT24: case MYSQL_TYPE_LONGLONG: case MYSQL_TYPE_YEAR:
			c->kind = (fields[i].flags & UNSIGNED_FLAG) ? COL_UINT : COL_INT;
			rb[i].buffer_type = MYSQL_TYPE_LONGLONG;
			rb[i].buffer = &c->v;
			rb[i].is_unsigned = c->kind == COL_UINT;
			break;
		case MYSQL_TYPE_FLOAT: case MYSQL_TYPE_DOUBLE:
			c->kind = COL_DOUBLE;
			rb[i].buffer_type = MYSQL_TYPE_DOUBLE;
			rb[i].buffer = &c->v.d;
			break;
		case MYSQL_TYPE_DATETIME: case MYSQL_TYPE_TIMESTAMP: case MYSQL_TYPE_DATE:
			c->kind = COL_TIME;
			rb[i].buffer_type = MYSQL_TYPE_DATETIME;
			rb[i].buffer = &c->t;
			break;
		default: {
			unsigned long cap = fields[i].length < DB_STR_CAP ? fields[i].length : DB_STR_CAP;
			c->kind = COL_STR;
			c->str = xmalloc(cap + 1);
			rb[i].buffer_type = MYSQL_TYPE_STRING;
			rb[i].buffer = c->str;
			rb[i].buffer_length = cap;
			break;
		}
		}
	}
	if (mysql_stmt_bind_result(st, rb) != 0) {
		db_stmt_fail(st, sql, "bind result");
		goto out;
	}
	*rows = json_object_new_array();
	while ((frc = mysql_stmt_fetch(st)) == 0 || frc == MYSQL_DATA_TRUNCATED) {
		struct json_object *row = json_object_new_object();
		for (unsigned i = 0; i < ncols; i++) {
			struct db_col *c = &cols[i];
			struct json_object *v = NULL;
			if (c->is_null) {
				v = NULL;
			} else if (c->kind == COL_INT) {
				v = json_object_new_int64(c->v.i);
			} else if (c->kind == COL_UINT) {
				v = json_object_new_int64((long long)c->v.u);
			} else if (c->kind == COL_DOUBLE) {
				v = json_object_new_double(c->v.d);
			} else if (c->kind == COL_TIME) {
				v = json_object_new_int64(db_time_ms(&c->t));
			} else if (c->len > rb[i].buffer_length) {
				/* Longer than the buffer: fetch the whole value. */
				MYSQL_BIND one = rb[i];
				char *big = xmalloc(c->len + 1);
				one.buffer = big;
				one.buffer_length = c->len;
				if (mysql_stmt_fetch_column(st, &one, i, 0) == 0)
					v = json_object_new_string_len(big, (int)c->len);
				free(big);
			} else {
				v = json_object_new_string_len(c->str, (int)c->len);
			}
			json_object_object_add(row, fields[i].name, v);
		}
		json_object_array_add(*rows, row);
	}
	if (frc != MYSQL_NO_DATA) {
		db_stmt_fail(st, sql, "fetch");
		json_object_put(*rows);
		*rows = NULL;
		goto out;
	}
	rc = 0;
out:
	for (unsigned i = 0; i < ncols; i++)
		free(cols[i].str);
	if (meta != NULL)
		mysql_free_result(meta);
	/* The statement may be gone with the connection already. */
	for (int i = 0; i < db_nstmts; i++)
		if (db_stmts[i].stmt == st)
			mysql_stmt_free_result(st);
	return rc;
}

int
db_select_json(const char *sql, struct json_object **rows, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = db_select_va(sql, rows, types, ap);
	va_end(ap);
	return rc;
}

int
db_select_row(const char *sql, struct json_object **row, const char *types, ...)
{
	struct json_object *rows;
	va_list ap;
	int rc;

	*row = NULL;
	va_start(ap, types);
	rc = db_select_va(sql, &rows, types, ap);
	va_end(ap);
	if (rc != 0)
		return -1;
	if (json_object_array_length(rows) > 0) {
		*row = json_object_get(json_object_array_get_idx(rows, 0));
		rc = 0;
	} else {
		rc = 1;
	}
	json_object_put(rows);
	return rc;
}

/* One text field of a row as JSON, by its column type (as db_select_json types them). */
static struct json_object *
db_text_value(const MYSQL_FIELD *f, const char *v, unsigned long len)
{
	MYSQL_TIME t;

	if (v == NULL)
		return NULL;
	switch (f->type) {
	case MYSQL_TYPE_TINY: case MYSQL_TYPE_SHORT: case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_INT24: case MYSQL_TYPE_LONGLONG: case MYSQL_TYPE_YEAR:
		return json_object_new_int64((f->flags & UNSIGNED_FLAG) ?
		    (long long)strtoull(v, NULL, 10) : strtoll(v, NULL, 10));
	case MYSQL_TYPE_FLOAT: case MYSQL_TYPE_DOUBLE:
		return json_object_new_double(strtod(v, NULL));
	case MYSQL_TYPE_DATETIME: case MYSQL_TYPE_TIMESTAMP: case MYSQL_TYPE_DATE: {
		unsigned frac = 0;
		int digits = 0;
		const char *dot = memchr(v, '.', len);

		memset(&t, 0, sizeof t);
		if (sscanf(v, "%4u-%2u-%2u %2u:%2u:%2u", &t.year, &t.month, &t.day, &t.hour,
		    &t.minute, &t.second) < 3)
			return NULL;
		for (const char *p = dot ? dot + 1 : NULL; p && p < v + len && *p >= '0' &&
		    *p <= '9' && digits < 6; p++, digits++)
			frac = frac * 10 + (unsigned)(*p - '0');
		while (digits++ < 6)
			frac *= 10;
		t.second_part = frac;
		return json_object_new_int64(db_time_ms(&t));
	}
	default:
		return json_object_new_string_len(v, (int)len);
	}
}

/* A text-protocol statement failed: keeps its error, logs it when asked, drops the connection
 * when the server is gone. */
static void
db_text_fail(MYSQL *m, const char *sql, int logged)
{
	db_errno = mysql_errno(m);
	snprintf(db_errmsg, sizeof db_errmsg, "%s", mysql_error(m));
	db_was_lost = db_gone(db_errno);
	if (logged)
		log_err("mysql: %s (%u): %.200s", mysql_error(m), db_errno, sql);
	if (db_gone(db_errno))
		db_drop_after(db_errno != CR_SERVER_GONE_ERROR);
}

int
db_query(const char *sql, size_t len, struct json_object **rows, unsigned long long *affected)
{
	MYSQL *m = db_get();
	MYSQL_RES *res;
	MYSQL_FIELD *fields;
	MYSQL_ROW r;
	unsigned n;

	if (rows != NULL)
		*rows = NULL;
	db_errno = 0;
	db_errmsg[0] = '\0';
	db_was_lost = 0;
	if (m == NULL) {
		db_errno = CR_SERVER_GONE_ERROR;
		return -1;
	}
	if (mysql_real_query(m, sql, len) != 0)
		goto fail;
	if (affected != NULL)
		*affected = mysql_affected_rows(m);
	if (rows == NULL)
		return 0;
	if ((res = mysql_store_result(m)) == NULL) {
		if (mysql_errno(m) != 0)
			goto fail;
		log_err("mysql: not a query that returns rows: %.200s", sql);
		return -1;
	}
	n = mysql_num_fields(res);
	fields = mysql_fetch_fields(res);
	*rows = json_object_new_array();
	while ((r = mysql_fetch_row(res)) != NULL) {
		unsigned long *lens = mysql_fetch_lengths(res);
		struct json_object *row = json_object_new_object();

		for (unsigned i = 0; i < n; i++)
			json_object_object_add(row, fields[i].name,
			    db_text_value(&fields[i], r[i], lens[i]));
		json_object_array_add(*rows, row);
	}
	mysql_free_result(res);
	return 0;
fail:
	/* A duplicate key or a deadlock is the caller's to settle (one by one, or again). */
	db_text_fail(m, sql, mysql_errno(m) != DB_ER_DUP_ENTRY && mysql_errno(m) != DB_ER_LOCK_DEADLOCK);
	return -1;
}

static int
db_simple(const char *sql)
{
	MYSQL *m = db_get();

	if (m == NULL)
		return -1;
	db_was_lost = 0;
	if (mysql_real_query(m, sql, strlen(sql)) != 0) {
		db_text_fail(m, sql, 1);
		return -1;
	}
	return 0;
}

int
db_begin(void)
{
	return db_simple("START TRANSACTION");
}

int
db_commit(void)
{
	return db_simple("COMMIT");
}

void
db_rollback(void)
{
	if (db_conn != NULL)
		db_simple("ROLLBACK");
}

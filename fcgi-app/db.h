/*
 * The process's MySQL (MariaDB) connection: opened on first use after the fork, with connect,
 * read and write timeouts; dropped when the server is gone and re-opened later (not more often
 * than backend.retry_ms). Prepared statements only, cached per connection.
 *
 * Parameter types for the variadic calls, one letter each:
 *   i  long long        u  unsigned long long        d  double
 *   s  const char * (NULL binds SQL NULL)      b  const void *, size_t (binary bytes)
 */
#ifndef SK_DB_H
#define SK_DB_H

#include <mysql.h>

struct json_object;

/* Starts the client library once per process (before a second thread uses MySQL; db_get does
 * it too). */
void db_library_init(void);
MYSQL *db_get(void);
void db_drop(void);
/* 0 when the server answers. */
int db_ping(void);

/*
 * Runs a SELECT; *rows becomes a new JSON array with one object per row, keyed by column name:
 * integers as numbers, DATETIME/TIMESTAMP as epoch milliseconds (UTC), NULL as null, the rest as
 * strings. Returns 0, or -1 (logged; *rows is NULL).
 */
int db_select_json(const char *sql, struct json_object **rows, const char *types, ...);
/* The first row of a SELECT: 0 found (*row a new object), 1 no row (*row NULL), -1 failure. */
int db_select_row(const char *sql, struct json_object **row, const char *types, ...);
/* A field of a row from db_select_json: the number (0 when absent or null). */
long long db_field_int(struct json_object *row, const char *key);
/* A field of a row from db_select_json: the string, or fallback when absent or null. */
const char *db_field_str(struct json_object *row, const char *key, const char *fallback);
/* A field of a row as bytes (a binary column may hold NULs): *len set; NULL when absent or
 * null (*len 0). */
const char *db_field_bytes(struct json_object *row, const char *key, size_t *len);
/* Runs an INSERT/UPDATE/DELETE; affected and insert_id may be NULL. 0 ok, -1 error. */
int db_exec(const char *sql, unsigned long long *affected, unsigned long long *insert_id,
    const char *types, ...);
/* The server error numbers the code tells apart (MariaDB's ER_* codes). */
enum db_error {
	DB_ER_LOCK_WAIT_TIMEOUT = 1205,
	DB_ER_LOCK_DEADLOCK = 1213,
	DB_ER_DUP_ENTRY = 1062,
	DB_ER_NO_REFERENCED_ROW = 1452,
};
/* The server error number of the last failed call (DB_ER_*, 0 when unknown). */
unsigned db_last_errno(void);

/* Its message ("Duplicate entry '…' for key 'uq_orders_live'"), "" when none. */
const char *db_last_error(void);
/*
 * After a failed call: 1 when the statement (or COMMIT) had been sent and the connection was
 * lost or timed out before the answer, so it may have taken effect; 0 when it surely did not.
 */
int db_lost(void);
/* A new connection now, whatever backend.retry_ms says, for the one check that settles an
 * outcome whose reply was lost. NULL when MySQL cannot be reached. */
MYSQL *db_fresh(void);

/*
 * Runs one statement in the text protocol, for the batch statements whose lists of values vary
 * in length (multi-row INSERT, IN lists). The caller builds sql and inlines only numbers and
 * checked refs (seckill_is_ref), never text from outside. rows, when not NULL, receives the
 * result as db_select_json does; affected may be NULL. 0 ok, -1 error (as db_exec).
 */
int db_query(const char *sql, size_t len, struct json_object **rows,
    unsigned long long *affected);

/* Transactions on the process's connection: 0 ok, -1 error (logged). */
int db_begin(void);
int db_commit(void);
void db_rollback(void);

#endif

/* Activities (flash sales): status from window and stock, and their JSON shape for API.md. */
#ifndef SK_ACTIVITY_H
#define SK_ACTIVITY_H

struct json_object;

/* "upcoming", "active", "sold_out" or "ended" at now_ms. */
const char *activity_status(long long now_ms, long long starts_ms, long long ends_ms,
    long long stock_total, long long stock_left);
/* Reads rows (db_select_json of the activity columns) into API objects, in place. */
void activity_decorate(struct json_object *a, long long now_ms);
/* "¥1,299.00" into out. */
void activity_price(long long cents, char *out, unsigned long outlen);

/* The columns activity_decorate expects, for SELECT lists. */
#define ACTIVITY_COLUMNS "id, title, description, price_cents, stock_total, stock_left, " \
	"starts_at, ends_at"
/* Open and upcoming sales first (soonest first), then the ones ended in the last week. */
#define ACTIVITY_LIST_SQL "SELECT " ACTIVITY_COLUMNS " FROM activities" \
	" WHERE ends_at > UTC_TIMESTAMP(3) - INTERVAL 7 DAY" \
	" ORDER BY ends_at <= UTC_TIMESTAMP(3), starts_at, id LIMIT 200"

/* The API.md activity object (a new object) from a decorated row. */
struct json_object *activity_api(struct json_object *row);
/* Parses a decimal id from a path ("12"); 0 ok, -1 when it is not a positive integer. */
int activity_parse_id(const char *s, long long *id);

#endif

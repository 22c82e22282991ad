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

/*
 * The one loader of sales, for the API, the pages and the seckill cache. A row has id, title,
 * description, price_cents, stock_total, stock_left (MySQL's: it lags behind the consumer),
 * starts_at and ends_at (epoch ms): what activity_decorate expects.
 */
/* One sale: 0 found (*row new), 1 no such sale, -1 MySQL failed. */
int activity_load(long long id, struct json_object **row);
/* Open and upcoming sales first (soonest first), then those ended in the last week, at most
 * 200: 0 (*rows a new array), -1 MySQL failed. */
int activity_list(struct json_object **rows);

/* The API.md activity object (a new object) from a decorated row. */
struct json_object *activity_api(struct json_object *row);

#endif

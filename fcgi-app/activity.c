#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "activity.h"
#include "db.h"

#define ACTIVITY_COLUMNS "id, title, description, price_cents, stock_total, stock_left," \
	" starts_at, ends_at"

int
activity_load(long long id, struct json_object **row)
{
	return db_select_row("SELECT " ACTIVITY_COLUMNS " FROM activities WHERE id = ?", row, "i",
	    id);
}

int
activity_list(struct json_object **rows)
{
	*rows = NULL;
	return db_select_json("SELECT " ACTIVITY_COLUMNS " FROM activities"
	    " WHERE ends_at > UTC_TIMESTAMP(3) - INTERVAL 7 DAY"
	    " ORDER BY ends_at <= UTC_TIMESTAMP(3), starts_at, id LIMIT 200", rows, "") != 0 ? -1 : 0;
}

const char *
activity_status(long long now_ms, long long starts_ms, long long ends_ms, long long stock_total,
    long long stock_left)
{
	if (now_ms >= ends_ms)
		return "ended";
	if (now_ms < starts_ms)
		return "upcoming";
	if (stock_total >= 0 && stock_left <= 0)
		return "sold_out";
	return "active";
}

void
activity_price(long long cents, char *out, unsigned long outlen)
{
	char digits[32], grouped[48];
	long long units = (cents < 0 ? -cents : cents) / 100;
	int n, k = 0;

	n = snprintf(digits, sizeof digits, "%lld", units);
	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			grouped[k++] = ',';
		grouped[k++] = digits[i];
	}
	grouped[k] = '\0';
	snprintf(out, outlen, "%s¥%s.%02lld", cents < 0 ? "-" : "", grouped,
	    (cents < 0 ? -cents : cents) % 100);
}

static void
activity_iso(long long ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
activity_decorate(struct json_object *a, long long now_ms)
{
	long long starts = db_field_int(a, "starts_at"), ends = db_field_int(a, "ends_at");
	long long total = db_field_int(a, "stock_total"), left = db_field_int(a, "stock_left");
	const char *status = activity_status(now_ms, starts, ends, total, left);
	char buf[64];

	json_object_object_add(a, "status", json_object_new_string(status));
	/* The page-only fields: labels and preformatted values. */
	json_object_object_add(a, "status_label", json_object_new_string(
	    strcmp(status, "upcoming") == 0 ? "Starts soon" :
	    strcmp(status, "active") == 0 ? "On sale now" :
	    strcmp(status, "sold_out") == 0 ? "Sold out" : "Ended"));
	json_object_object_add(a, "is_active", json_object_new_boolean(strcmp(status, "active") == 0));
	json_object_object_add(a, "is_upcoming",
	    json_object_new_boolean(strcmp(status, "upcoming") == 0));
	json_object_object_add(a, "unlimited", json_object_new_boolean(total < 0));
	json_object_object_add(a, "starts_ms", json_object_new_int64(starts));
	json_object_object_add(a, "ends_ms", json_object_new_int64(ends));
	activity_price(db_field_int(a, "price_cents"), buf, sizeof buf);
	json_object_object_add(a, "price", json_object_new_string(buf));
	activity_iso(starts, buf, sizeof buf);
	json_object_object_add(a, "starts_iso", json_object_new_string(buf));
	activity_iso(ends, buf, sizeof buf);
	json_object_object_add(a, "ends_iso", json_object_new_string(buf));
}

struct json_object *
activity_api(struct json_object *row)
{
	static const char *const keys[] = { "id", "title", "description", "price_cents",
		"stock_total", "stock_left", "starts_at", "ends_at", "status" };
	struct json_object *o = json_object_new_object(), *v;

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_object_get_ex(row, keys[i], &v))
			json_object_object_add(o, keys[i], json_object_get(v));
	return o;
}
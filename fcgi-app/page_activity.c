/* The activities API: GET /api/activities and GET /api/activities/{id}. */
#include <json-c/json.h>

#include "activity.h"
#include "app.h"
#include "clock.h"
#include "db.h"
#include "pages.h"
#include "req.h"
#include "resp.h"

static const char api_one_sql[] = "SELECT " ACTIVITY_COLUMNS " FROM activities WHERE id = ?";

int
api_activities(struct req *req, struct resp *resp)
{
	struct json_object *rows = NULL, *out = NULL, *list;
	long long now = clock_wall_ms();
	int status;

	if (db_select_json(ACTIVITY_LIST_SQL, &rows, "") != 0) {
		status = app_unavailable(req, resp, "database");
		goto out;
	}
	out = json_object_new_object();
	list = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		activity_decorate(row, now);
		json_object_array_add(list, activity_api(row));
	}
	json_object_object_add(out, "server_time", json_object_new_int64(now));
	json_object_object_add(out, "activities", list);
	resp_json(resp, 200, out);
	/* The same for everyone: nginx may keep it a second (refresh storms). */
	resp->cache_control = "public, max-age=1";
	status = 200;
out:
	json_object_put(rows);
	json_object_put(out);
	return status;
}

int
api_activity(struct req *req, struct resp *resp)
{
	struct json_object *rows = NULL, *out = NULL, *row;
	long long id, now = clock_wall_ms();
	int status;

	if (activity_parse_id(req_path_param(req, "id"), &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such activity.");
	if (db_select_json(api_one_sql, &rows, "i", id) != 0) {
		status = app_unavailable(req, resp, "database");
		goto out;
	}
	if (json_object_array_length(rows) == 0) {
		status = app_fail(req, resp, 404, "not_found", "No such activity.");
		goto out;
	}
	row = json_object_array_get_idx(rows, 0);
	activity_decorate(row, now);
	out = json_object_new_object();
	json_object_object_add(out, "server_time", json_object_new_int64(now));
	json_object_object_add(out, "activity", activity_api(row));
	resp_json(resp, 200, out);
	/* The same for everyone: nginx may keep it a second (refresh storms). */
	resp->cache_control = "public, max-age=1";
	status = 200;
out:
	json_object_put(rows);
	json_object_put(out);
	return status;
}

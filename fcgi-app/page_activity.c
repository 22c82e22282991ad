/* The sales: GET /api/activities, GET /api/activities/{id}, and the product page
 * /activity/{id}. */
#include <json-c/json.h>

#include "activity.h"
#include "app.h"
#include "arena.h"
#include "clock.h"
#include "seckill.h"
#include "pages.h"
#include "req.h"
#include "resp.h"

int
api_activities(struct req *req, struct resp *resp)
{
	struct json_object *rows = NULL, *out = NULL, *list;
	long long now = clock_wall_ms();
	int status;

	if (activity_list(&rows) != 0) {
		status = app_unavailable(req, resp, BACKEND_MYSQL);
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

/* The json-c objects of these handlers belong to the request's arena (arena_json): no frees. */
int
api_activity(struct req *req, struct resp *resp)
{
	struct json_object *row, *out;
	long long id, now = clock_wall_ms();
	int rc;

	if (req_path_id(req, "id", &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such activity.");
	if ((rc = activity_load(id, &row)) != 0)
		return rc < 0 ? app_unavailable(req, resp, BACKEND_MYSQL) :
		    app_fail(req, resp, 404, "not_found", "No such activity.");
	arena_json(req->arena, row);
	activity_decorate(row, now);
	out = arena_json(req->arena, json_object_new_object());
	json_object_object_add(out, "server_time", json_object_new_int64(now));
	json_object_object_add(out, "activity", activity_api(row));
	resp_json(resp, 200, out);
	/* The same for everyone: nginx may keep it a second (refresh storms). */
	resp->cache_control = "public, max-age=1";
	return 200;
}

int
page_activity(struct req *req, struct resp *resp)
{
	struct json_object *row, *data;
	long long id, stock;
	int rc, status;

	if (req_path_id(req, "id", &id) != 0)
		return app_fail(req, resp, 404, "not_found", "No such sale.");
	if ((rc = activity_load(id, &row)) < 0)
		return app_unavailable(req, resp, BACKEND_MYSQL);
	if (rc > 0)
		return app_fail(req, resp, 404, "not_found", "No such sale.");
	arena_json(req->arena, row);
	/* Redis has the live stock; MySQL's lags behind the order consumer. */
	if (seckill_stock(id, &stock) == 0)
		json_object_object_add(row, "stock_left", json_object_new_int64(stock));
	activity_decorate(row, clock_wall_ms());
	data = arena_json(req->arena, json_object_new_object());
	json_object_object_add(data, "activity", json_object_get(row));
	status = app_page(req, resp, 200, "activity", "Flash sale", data);
	/* The same for everyone (personal parts load through the API): nginx may keep it 1 s. */
	resp->cache_control = "public, max-age=1";
	return status;
}

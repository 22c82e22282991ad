/* GET / : the list of flash sales. */
#include <json-c/json.h>

#include "activity.h"
#include "app.h"
#include "clock.h"
#include "pages.h"
#include "resp.h"

int
page_home(struct req *req, struct resp *resp)
{
	struct json_object *rows = NULL, *data = NULL;
	long long now = clock_wall_ms();
	int status;

	if (activity_list(&rows) != 0) {
		status = app_unavailable(req, resp, BACKEND_MYSQL);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		activity_decorate(json_object_array_get_idx(rows, i), now);
	data = json_object_new_object();
	json_object_object_add(data, "activities", json_object_get(rows));
	json_object_object_add(data, "empty",
	    json_object_new_boolean(json_object_array_length(rows) == 0));
	status = app_page(req, resp, 200, "home", "Flash sales", data);
	/* Nothing personal on it (the nav fills in from /api/me): nginx may keep it a second. */
	resp->cache_control = "public, max-age=1";
out:
	json_object_put(rows);
	json_object_put(data);
	return status;
}

/* Operations: GET /healthz (from the pool's health threads, health.c) and GET /metrics. */
#include <json-c/json.h>

#include "app.h"
#include "buf.h"
#include "health.h"
#include "metrics.h"
#include "pages.h"
#include "resp.h"

int
page_healthz(struct req *req, struct resp *resp)
{
	struct json_object *o = json_object_new_object();
	int ok[HEALTH_N], status = health_status(ok) == 0 ? 200 : 503;
	int redis = ok[HEALTH_REDIS] ? 0 : -1, mysql = ok[HEALTH_MYSQL] ? 0 : -1;
	int amqp = ok[HEALTH_AMQP] ? 0 : -1;

	if (redis != 0)
		metrics_inc(MC_BACKEND_REDIS_DOWN);
	if (mysql != 0)
		metrics_inc(MC_BACKEND_MYSQL_DOWN);
	if (amqp != 0)
		metrics_inc(MC_BACKEND_AMQP_DOWN);
	json_object_object_add(o, "redis", json_object_new_string(redis == 0 ? "ok" : "down"));
	json_object_object_add(o, "mysql", json_object_new_string(mysql == 0 ? "ok" : "down"));
	json_object_object_add(o, "amqp", json_object_new_string(amqp == 0 ? "ok" : "down"));
	if (status != 200) {
		json_object_object_add(o, "error", json_object_new_string("unavailable"));
		json_object_object_add(o, "message", json_object_new_string(
		    "a backend is down: see the fields that are not \"ok\""));
	}
	resp_json(resp, status, o);
	json_object_put(o);
	(void)req;
	return status;
}

int
page_metrics(struct req *req, struct resp *resp)
{
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_reset(&resp->body);
	metrics_render(&resp->body, app_routes, app_nroutes);
	(void)req;
	return 200;
}

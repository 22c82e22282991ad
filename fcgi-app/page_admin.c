/*
 * The operator's dashboard (role admin): the page /admin, its numbers as JSON at
 * GET /api/admin/stats (static/js/admin.js reloads them every 2 s), and the chart
 * /admin/chart.png of requests and sales per second over the last 10 minutes. The numbers are
 * dashboard.c's, the drawing chart.c's; these handlers only answer with them.
 */
#include <stddef.h>

#include <json-c/json.h>

#include "app.h"
#include "chart.h"
#include "dashboard.h"
#include "pages.h"
#include "req.h"
#include "resp.h"

int
page_admin(struct req *req, struct resp *resp)
{
	struct json_object *stats;
	int status;

	if (dashboard_stats(&stats) != DASHBOARD_OK)
		return app_unavailable(req, resp, BACKEND_MYSQL);
	/* Live numbers: the default Cache-Control (no-store) stays. */
	status = app_page(req, resp, 200, "admin", "Admin dashboard", stats);
	json_object_put(stats);
	return status;
}

int
api_admin_stats(struct req *req, struct resp *resp)
{
	struct json_object *stats;

	if (dashboard_stats(&stats) != DASHBOARD_OK)
		return app_unavailable(req, resp, BACKEND_MYSQL);
	resp_json(resp, 200, stats);
	json_object_put(stats);
	return 200;
}

int
page_admin_chart(struct req *req, struct resp *resp)
{
	void *png;
	int len;

	if ((png = chart_png(&len)) == NULL)
		return app_fail(req, resp, 503, "unavailable", "Cannot draw the chart now.");
	resp_png(resp, png, (size_t)len);
	chart_free(png);
	return 200;
}

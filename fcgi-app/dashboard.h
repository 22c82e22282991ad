/*
 * The operator's dashboard, its numbers: everything /admin and GET /api/admin/stats show, as
 * one JSON object the handler renders (the admin template, or the JSON answer as it is).
 *
 *   now_ms, activities (each sale with Redis's and MySQL's numbers and reconcile's verdict),
 *   no_activities, queues (RabbitMQ depths), backends, ratelimited, outcomes, last_10m,
 *   repairs (the healer's latest), no_repairs, heal (repairs counted by kind)
 *
 * The MySQL numbers come from one snapshot (a read-only transaction, rolled back). A Redis or
 * RabbitMQ failure only blanks its own numbers (backends says which is down); MySQL is needed.
 */
#ifndef SK_DASHBOARD_H
#define SK_DASHBOARD_H

struct json_object;

enum dashboard_outcome {
	DASHBOARD_OK,			/* *stats is a new object */
	DASHBOARD_UNAVAILABLE_DB,	/* MySQL failed: *stats is NULL */
};

/* Everything the dashboard shows; the caller puts *stats (json_object_put). */
enum dashboard_outcome dashboard_stats(struct json_object **stats);

#endif

/* The process-wide application: templates, the route table, and the request dispatcher. */
#ifndef SK_APP_H
#define SK_APP_H
#include <stddef.h>

struct req;
struct resp;
struct route;
struct json_object;
struct tmpl_set;

struct app {
	struct tmpl_set *tmpl;
};

extern struct app app;
extern const struct route *const app_routes;
extern const int app_nroutes;

/* Loads and checks the templates; -1 with a message in err. */
int app_init(char *err, size_t errlen);
void app_free(void);
/* Routes one parsed request (parse_status != 0: answer that error) and renders the response. */
void app_handle(struct req *req, struct resp *resp, int parse_status);

/*
 * Renders templates/<name>.html with data inside the layout; returns status. data may be NULL;
 * the caller keeps it.
 */
int app_page(struct req *req, struct resp *resp, int status, const char *name, const char *title,
    struct json_object *data);
/* An error in the request's language: JSON under /api/, an HTML page elsewhere. */
int app_fail(struct req *req, struct resp *resp, int status, const char *code,
    const char *message);
/* 429 with Retry-After: secs (at least 1); code is "rate_limited" or "slow_down". */
int app_too_many(struct req *req, struct resp *resp, long secs, const char *code,
    const char *message);
/* What a 503 names as unavailable. */
enum backend {
	BACKEND_REDIS,
	BACKEND_MYSQL,
	BACKEND_AMQP,
	BACKEND_STOCK,		/* the sale is not loaded in Redis (and cannot be now) */
	BACKEND_HASHING,	/* password hashing (out of memory) */
};
/* 503 with Retry-After: 1: the backend is unavailable and nothing was changed. Counts the
 * backend's failures in /metrics (seckill_backend_*_failures_total). */
int app_unavailable(struct req *req, struct resp *resp, enum backend backend);

#endif

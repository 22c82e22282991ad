/* One HTTP request as the FastCGI server handed it over, parsed into the request arena. */
#ifndef SK_REQ_H
#define SK_REQ_H
#include <stddef.h>

struct arena;
struct auth;

enum req_method { REQ_OTHER = 0, REQ_GET = 1, REQ_HEAD = 2, REQ_POST = 4, REQ_PUT = 8,
	REQ_DELETE = 16, REQ_PATCH = 32, REQ_OPTIONS = 64 };

struct kv {
	const char *key;
	const char *val;
};

struct kvlist {
	struct kv *v;
	size_t n, cap;
};

#define REQ_MAX_SEGMENTS 16
#define REQ_MAX_PARAMS 256

struct req {
	struct arena *arena;
	char **env;			/* FastCGI params, "NAME=value" */
	enum req_method method;
	const char *method_name;
	const char *uri;		/* as sent: path and query */
	const char *path;		/* decoded, for display */
	const char *seg[REQ_MAX_SEGMENTS];	/* decoded path segments */
	size_t nseg;
	int trailing_slash;
	const char *query;		/* raw query string, "" if none */
	struct kvlist args;		/* query parameters */
	struct kvlist form;		/* body parameters (urlencoded or JSON object) */
	struct kvlist cookies;
	struct kvlist path_params;	/* ":name" segments of the matched route */
	const char *remote_addr;
	const char *user_agent;
	const char *content_type;
	char *body;
	size_t body_len;
	int is_api;			/* path is under /api/ (errors in JSON) */
	int route;			/* index in the route table, -1 before routing */
	long long started_us;		/* clock_mono_us() when app_handle took it */
	const char *error;		/* why parsing failed, for the 400 message */
	struct auth *auth;		/* the caller, set for R_AUTH routes (else NULL) */
};

/* Reads up to n bytes of the body; returns bytes read, 0 at the end, -1 on error. */
typedef int (*req_read_fn)(void *ctx, char *buf, int n);

/*
 * Parses env (not copied: it must outlive req) and reads the body into a. Returns 0, or the
 * HTTP status to answer with (400 bad encoding, 413 body over max_body, 415 unsupported body
 * type), req->error saying why.
 */
int req_parse(struct req *r, struct arena *a, char **env, req_read_fn read, void *read_ctx,
    size_t max_body);

/* Parses a=b&c=d into list; 0 ok, -1 on a bad escape, NUL or bad UTF-8, or too many pairs. */
int req_parse_urlencoded(struct arena *a, const char *s, size_t len, struct kvlist *list);
/* Parses a JSON object of scalars into list; 0 ok, -1 otherwise. */
int req_parse_json(struct arena *a, const char *s, size_t len, struct kvlist *list);
void req_parse_cookies(struct arena *a, const char *header, struct kvlist *list);

void kv_add(struct arena *a, struct kvlist *list, const char *key, const char *val);
/* First value for key, or NULL. */
const char *kv_get(const struct kvlist *list, const char *key);

/* A FastCGI param ("REMOTE_ADDR") or NULL. */
const char *req_env(const struct req *r, const char *name);
/* A request header by its HTTP name ("X-CSRF-Token") or NULL. */
const char *req_header(const struct req *r, const char *name);
/* A body parameter, else a query parameter, or NULL. */
const char *req_param(const struct req *r, const char *key);
const char *req_cookie(const struct req *r, const char *name);
/* Parses a decimal id ("12", of a sale, an order...); 0 ok, -1 when it is not a positive
 * integer a JSON number holds exactly. */
int req_parse_id(const char *s, long long *id);
/* The same on the path parameter name. */
int req_path_id(const struct req *r, const char *name, long long *id);
const char *req_path_param(const struct req *r, const char *name);

#endif

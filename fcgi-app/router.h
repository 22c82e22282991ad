/* The route table and its matcher: method, path pattern with :params, handler, flags. */
#ifndef SK_ROUTER_H
#define SK_ROUTER_H

#include "req.h"

struct resp;

enum route_flags {
	R_AUTH = 1,		/* needs a session or Bearer token */
	R_CSRF = 2,		/* cookie-authenticated POSTs need the CSRF token */
	R_ADMIN = 4,		/* role admin */
	R_API = 8,		/* errors answer in JSON even outside /api/ */
	R_OPTIONAL = 16,	/* with ?optional=1, nobody logged in is {"user":null}, not 401 */
};

/* A handler renders into resp and returns the HTTP status. */
typedef int (*route_handler)(struct req *req, struct resp *resp);

struct route {
	unsigned methods;	/* REQ_GET | REQ_POST ...; GET routes answer HEAD too */
	const char *pattern;	/* "/api/activities/:id", "/qr/:tok.png" */
	route_handler handler;
	unsigned flags;
	const char *name;	/* label in /metrics */
};

enum { ROUTER_NOT_FOUND = -1, ROUTER_BAD_METHOD = -2 };

/*
 * Finds the route for req and fills req->path_params. Returns its index, ROUTER_NOT_FOUND, or
 * ROUTER_BAD_METHOD with *allowed set to the methods the path does take.
 */
int router_match(const struct route *routes, int n, struct req *req, unsigned *allowed);
/* "GET, HEAD, POST" for the Allow header, into out. */
void router_allow_header(unsigned methods, char *out, size_t outlen);

#endif

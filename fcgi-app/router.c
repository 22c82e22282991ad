#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "router.h"

/* How many segments a pattern has ("/api/me" two). */
static size_t
router_segments(const char *p)
{
	size_t n = 0;

	for (size_t i = 0; p[i] != '\0'; i++)
		if (p[i] != '/' && (i == 0 || p[i - 1] == '/'))
			n++;
	return n;
}

/*
 * Matches one pattern of as many segments as the request has (router_may_match said so)
 * against them, collecting the :params into req.
 */
static int
router_match_one(const char *pattern, struct req *req)
{
	const char *p = pattern;
	size_t i = 0;

	req->path_params.n = 0;
	if (*p != '/')
		return 0;
	while (*p == '/')
		p++;
	while (*p != '\0') {
		const char *end = strchr(p, '/');
		size_t plen = end ? (size_t)(end - p) : strlen(p);
		const char *seg = req->seg[i++];

		if (*p == ':') {
			/* ":name" or ":name.ext": the value is the segment without the suffix. */
			const char *dot = memchr(p, '.', plen);
			size_t nlen = dot ? (size_t)(dot - p - 1) : plen - 1;
			size_t slen = dot ? (size_t)(p + plen - dot) : 0;
			size_t seglen = strlen(seg);
			if (seglen <= slen || (slen && memcmp(seg + seglen - slen, dot, slen) != 0))
				return 0;
			kv_add(req->arena, &req->path_params, arena_strndup(req->arena, p + 1, nlen),
			    arena_strndup(req->arena, seg, seglen - slen));
		} else if (strncmp(seg, p, plen) != 0 || seg[plen] != '\0') {
			return 0;
		}
		p += plen;
		while (*p == '/')
			p++;
	}
	return 1;
}

/*
 * Whether pattern i has as many segments as the request: most patterns are ruled out by
 * this alone. The counts of the last table matched are kept (a table of more routes than
 * that holds is counted each time).
 */
#define ROUTER_COUNTED 128
static const struct route *router_counted_for;
static unsigned char router_counted[ROUTER_COUNTED];

static int
router_may_match(const struct route *routes, int n, int i, const struct req *req)
{
	if (n > ROUTER_COUNTED)
		return router_segments(routes[i].pattern) == req->nseg;
	if (router_counted_for != routes) {
		for (int k = 0; k < n; k++) {
			size_t c = router_segments(routes[k].pattern);
			router_counted[k] = (unsigned char)(c < 255 ? c : 255);
		}
		router_counted_for = routes;
	}
	return router_counted[i] == req->nseg;
}

int
router_match(const struct route *routes, int n, struct req *req, unsigned *allowed)
{
	unsigned method = req->method == REQ_HEAD ? REQ_GET | REQ_HEAD : (unsigned)req->method;

	*allowed = 0;
	for (int i = 0; i < n; i++) {
		if (!router_may_match(routes, n, i, req) || !router_match_one(routes[i].pattern, req))
			continue;
		if (routes[i].methods & method)
			return i;
		*allowed |= routes[i].methods;
	}
	req->path_params.n = 0;
	return *allowed ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}

void
router_allow_header(unsigned methods, char *out, size_t outlen)
{
	static const struct { unsigned m; const char *name; } names[] = {
		{ REQ_GET, "GET" }, { REQ_HEAD, "HEAD" }, { REQ_POST, "POST" }, { REQ_PUT, "PUT" },
		{ REQ_DELETE, "DELETE" }, { REQ_PATCH, "PATCH" }, { REQ_OPTIONS, "OPTIONS" },
	};
	size_t len = 0;

	if (methods & REQ_GET)
		methods |= REQ_HEAD;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if ((methods & names[i].m) && len < outlen)
			len += (size_t)snprintf(out + len, outlen - len, "%s%s", len ? ", " : "",
			    names[i].name);
}

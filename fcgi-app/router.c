#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "router.h"

/* Matches one pattern against the request's segments, collecting params into req. */
static int
router_match_one(const char *pattern, struct req *req)
{
	const char *p = pattern;
	size_t i = 0;

	req->path_params.n = 0;
	while (*p == '/')
		p++;
	while (*p != '\0') {
		const char *end = strchr(p, '/');
		size_t plen = end ? (size_t)(end - p) : strlen(p);

		if (i >= req->nseg)
			return 0;
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
		} else if (strlen(seg) != plen || memcmp(seg, p, plen) != 0) {
			return 0;
		}
		p += plen;
		while (*p == '/')
			p++;
	}
	return i == req->nseg;
}

int
router_match(const struct route *routes, int n, struct req *req, unsigned *allowed)
{
	unsigned method = req->method == REQ_HEAD ? REQ_GET | REQ_HEAD : (unsigned)req->method;

	*allowed = 0;
	for (int i = 0; i < n; i++) {
		if (!router_match_one(routes[i].pattern, req))
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

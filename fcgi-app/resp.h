/* The response: status, headers and body gathered in buffers, written once. */
#ifndef SK_RESP_H
#define SK_RESP_H
#include <stddef.h>

#include "buf.h"

struct json_object;
struct later;

enum resp_cookie_flags {
	COOKIE_HTTPONLY = 1,
	COOKIE_SAMESITE_LAX = 2,
	COOKIE_SAMESITE_STRICT = 4,
	COOKIE_SECURE = 8,
};

struct resp {
	int status;
	const char *content_type;
	const char *cache_control;	/* default "no-store": most of what we send is personal */
	struct buf head;		/* extra header lines, each ending in \r\n */
	struct buf body;
	int head_only;			/* HEAD: headers and Content-Length, no body */
	/* Set by a handler that answers later (resp_later): the main loop hands the request to
	 * later(later_arg, held) instead of writing this response, and goes on to the next. */
	void (*later)(void *arg, struct later *held);
	void *later_arg;
};

void resp_init(struct resp *r);
void resp_reset(struct resp *r);
void resp_free(struct resp *r);

const char *resp_status_text(int status);
void resp_header(struct resp *r, const char *name, const char *value);
/* max_age < 0: a session cookie; 0: delete it. Name and value must be cookie-safe tokens. */
void resp_cookie(struct resp *r, const char *name, const char *value, long max_age,
    unsigned flags);
/* Sets status, the JSON content type and the body (the caller keeps obj). */
void resp_json(struct resp *r, int status, struct json_object *obj);
/* The body becomes a copy of the len bytes of a PNG image (the caller frees its image). */
void resp_png(struct resp *r, const void *png, size_t len);
/* {"error": code, "message": message}; returns status for `return resp_error(...)`. */
int resp_error(struct resp *r, int status, const char *code, const char *message);
/* The request is answered later, from another thread: see later.h. */
void resp_later(struct resp *r, void (*later)(void *arg, struct later *held), void *arg);
/* The whole response as bytes (status line for FastCGI, headers, blank line, body). */
void resp_serialize(struct resp *r, struct buf *out);

#endif

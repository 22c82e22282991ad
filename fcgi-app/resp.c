#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "resp.h"

/*
 * Sent with every document a browser may render: no inline script anywhere, no framing, no
 * sniffing. JSON is never rendered, so it carries only nosniff (the hot path's answers stay
 * small).
 */
static const char resp_security_headers[] =
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: same-origin\r\n"
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'\r\n";
static const char resp_json_headers[] = "X-Content-Type-Options: nosniff\r\n";

void
resp_init(struct resp *r)
{
	buf_init(&r->head);
	buf_init(&r->body);
	resp_reset(r);
}

void
resp_reset(struct resp *r)
{
	r->status = 200;
	r->content_type = "text/html; charset=utf-8";
	r->cache_control = "no-store";
	r->head_only = 0;
	r->later = NULL;
	r->later_arg = NULL;
	buf_reset(&r->head);
	buf_reset(&r->body);
}

void
resp_later(struct resp *r, void (*later)(void *arg, struct later *held), void *arg)
{
	r->later = later;
	r->later_arg = arg;
}

void
resp_free(struct resp *r)
{
	buf_free(&r->head);
	buf_free(&r->body);
}

const char *
resp_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void
resp_header(struct resp *r, const char *name, const char *value)
{
	/* A header value never carries a line break, whatever the caller passed. */
	buf_puts(&r->head, name);
	buf_puts(&r->head, ": ");
	for (; *value != '\0'; value++)
		if (*value != '\r' && *value != '\n')
			buf_putc(&r->head, *value);
	buf_puts(&r->head, "\r\n");
}

void
resp_cookie(struct resp *r, const char *name, const char *value, long max_age, unsigned flags)
{
	struct buf *h = &r->head;

	buf_printf(h, "Set-Cookie: %s=", name);
	for (; *value != '\0'; value++)
		if (*value > ' ' && *value != ';' && *value != ',' && *value != '"' && *value != '\\' &&
		    *value != 127)
			buf_putc(h, *value);
	buf_puts(h, "; Path=/");
	if (max_age >= 0)
		buf_printf(h, "; Max-Age=%ld", max_age);
	if (max_age == 0)
		buf_puts(h, "; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
	if (flags & COOKIE_HTTPONLY)
		buf_puts(h, "; HttpOnly");
	if (flags & COOKIE_SECURE)
		buf_puts(h, "; Secure");
	if (flags & COOKIE_SAMESITE_STRICT)
		buf_puts(h, "; SameSite=Strict");
	else if (flags & COOKIE_SAMESITE_LAX)
		buf_puts(h, "; SameSite=Lax");
	buf_puts(h, "\r\n");
}

void
resp_json(struct resp *r, int status, struct json_object *obj)
{
	r->status = status;
	r->content_type = "application/json; charset=utf-8";
	buf_reset(&r->body);
	buf_puts(&r->body, json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int
resp_error(struct resp *r, int status, const char *code, const char *message)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(message));
	resp_json(r, status, o);
	json_object_put(o);
	return status;
}

void
resp_png(struct resp *r, const void *png, size_t len)
{
	r->content_type = "image/png";
	buf_reset(&r->body);
	buf_add(&r->body, png, len);
}

/* n in decimal. */
static void
resp_put_uint(struct buf *out, unsigned long long n)
{
	char digits[24], *p = digits + sizeof digits;

	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	buf_add(out, p, (size_t)(digits + sizeof digits - p));
}

void
resp_serialize(struct resp *r, struct buf *out)
{
	/* Built by hand, not with printf: this runs for every answer of a rush. */
	buf_reset(out);
	buf_puts(out, "Status: ");
	resp_put_uint(out, (unsigned long long)r->status);
	buf_putc(out, ' ');
	buf_puts(out, resp_status_text(r->status));
	buf_puts(out, "\r\nContent-Type: ");
	buf_puts(out, r->content_type);
	buf_puts(out, "\r\nContent-Length: ");
	resp_put_uint(out, r->body.len);
	buf_puts(out, "\r\nCache-Control: ");
	buf_puts(out, r->cache_control);
	buf_puts(out, "\r\n");
	if (strncmp(r->content_type, "application/json", 16) == 0)
		buf_add(out, resp_json_headers, sizeof resp_json_headers - 1);
	else
		buf_add(out, resp_security_headers, sizeof resp_security_headers - 1);
	buf_add(out, r->head.data ? r->head.data : "", r->head.len);
	buf_puts(out, "\r\n");
	if (!r->head_only)
		buf_add(out, r->body.data ? r->body.data : "", r->body.len);
}

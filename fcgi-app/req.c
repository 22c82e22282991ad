#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "arena.h"
#include "html.h"
#include "req.h"

void
kv_add(struct arena *a, struct kvlist *list, const char *key, const char *val)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct kv *v = arena_alloc(a, cap * sizeof *v);
		if (list->n)
			memcpy(v, list->v, list->n * sizeof *v);
		list->v = v;
		list->cap = cap;
	}
	list->v[list->n].key = key;
	list->v[list->n].val = val;
	list->n++;
}

const char *
kv_get(const struct kvlist *list, const char *key)
{
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->v[i].key, key) == 0)
			return list->v[i].val;
	return NULL;
}

int
req_parse_urlencoded(struct arena *a, const char *s, size_t len, struct kvlist *list)
{
	const char *end = s + len;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *pend = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(pend - s));
		const char *kend = eq ? eq : pend;
		char *key, *val;

		if (pend > s) {
			if (list->n >= REQ_MAX_PARAMS)
				return -1;
			key = arena_alloc(a, (size_t)(kend - s) + 1);
			if (html_url_decode(s, (size_t)(kend - s), key, 1) < 0)
				return -1;
			if (eq != NULL) {
				val = arena_alloc(a, (size_t)(pend - eq));
				if (html_url_decode(eq + 1, (size_t)(pend - eq - 1), val, 1) < 0)
					return -1;
			} else {
				val = "";
			}
			if (*key != '\0')
				kv_add(a, list, key, val);
		}
		if (amp == NULL)
			break;
		s = amp + 1;
	}
	return 0;
}

int
req_parse_json(struct arena *a, const char *s, size_t len, struct kvlist *list)
{
	struct json_tokener *tok;
	struct json_object *obj;
	int rc = -1;

	if (len > (size_t)1 << 30 || !html_utf8_valid(s, len))
		return -1;
	tok = json_tokener_new_ex(16);
	obj = json_tokener_parse_ex(tok, s, (int)len);
	/* Anything after the object but white space is an error too. */
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(obj, json_type_object))
		goto out;
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (!isspace((unsigned char)s[i]))
			goto out;
	json_object_object_foreach(obj, key, val) {
		const char *str;
		switch (json_object_get_type(val)) {
		case json_type_string:
			/* An escaped NUL (U+0000) would cut the value short here: refuse it. */
			str = json_object_get_string(val);
			if (strlen(str) != (size_t)json_object_get_string_len(val))
				goto out;
			break;
		case json_type_int:
		case json_type_double:
		case json_type_boolean:
			str = json_object_get_string(val);
			break;
		case json_type_null:
			continue;
		default:
			goto out;	/* nested objects and arrays are not accepted */
		}
		if (list->n >= REQ_MAX_PARAMS || strlen(key) == 0)
			goto out;
		kv_add(a, list, arena_strdup(a, key), arena_strdup(a, str));
	}
	rc = 0;
out:
	if (obj != NULL)
		json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

void
req_parse_cookies(struct arena *a, const char *h, struct kvlist *list)
{
	while (h != NULL && *h != '\0') {
		const char *end = strchr(h, ';');
		const char *eq;
		size_t n = end ? (size_t)(end - h) : strlen(h);

		while (n > 0 && (*h == ' ' || *h == '\t')) {
			h++;
			n--;
		}
		eq = memchr(h, '=', n);
		if (eq != NULL && eq > h && list->n < REQ_MAX_PARAMS) {
			const char *v = eq + 1;
			size_t vn = n - (size_t)(v - h);
			while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
				vn--;
			if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
				v++;
				vn -= 2;
			}
			kv_add(a, list, arena_strndup(a, h, (size_t)(eq - h)), arena_strndup(a, v, vn));
		}
		h = end ? end + 1 : NULL;
	}
}

const char *
req_env(const struct req *r, const char *name)
{
	size_t n = strlen(name);

	for (char **e = r->env; e != NULL && *e != NULL; e++)
		if (**e == *name && strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

const char *
req_header(const struct req *r, const char *name)
{
	char key[128] = "HTTP_";
	size_t i, n = 5;

	for (i = 0; name[i] != '\0' && n + 1 < sizeof key; i++)
		key[n++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	key[n] = '\0';
	return req_env(r, key);
}

const char *
req_param(const struct req *r, const char *key)
{
	const char *v = kv_get(&r->form, key);
	return v ? v : kv_get(&r->args, key);
}

const char *
req_cookie(const struct req *r, const char *name)
{
	return kv_get(&r->cookies, name);
}

const char *
req_path_param(const struct req *r, const char *name)
{
	return kv_get(&r->path_params, name);
}

static enum req_method
req_method_of(const char *m)
{
	static const struct { const char *name; enum req_method m; } methods[] = {
		{ "GET", REQ_GET }, { "HEAD", REQ_HEAD }, { "POST", REQ_POST }, { "PUT", REQ_PUT },
		{ "DELETE", REQ_DELETE }, { "PATCH", REQ_PATCH }, { "OPTIONS", REQ_OPTIONS },
	};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(m, methods[i].name) == 0)
			return methods[i].m;
	return REQ_OTHER;
}

/* Splits the raw path into decoded segments; -1 when it cannot be a path of ours. */
static int
req_split_path(struct req *r, const char *p, size_t len)
{
	const char *end = p + len;
	char *display = arena_alloc(r->arena, len + 1);

	if (len == 0 || *p != '/')
		return -1;
	if (html_url_decode(p, len, display, 0) < 0)
		return -1;
	r->path = display;
	r->nseg = 0;
	r->trailing_slash = len > 1 && p[len - 1] == '/';
	if (memchr(p, '%', len) == NULL) {
		/* Nothing was encoded: the segments are pieces of a copy of the decoded path. */
		char *c = arena_strndup(r->arena, display, len), *cend = c + len;

		while (c < cend) {
			char *slash;

			while (c < cend && *c == '/')
				c++;
			if (c == cend)
				break;
			if (r->nseg == REQ_MAX_SEGMENTS)
				return -1;
			r->seg[r->nseg++] = c;
			if ((slash = memchr(c, '/', (size_t)(cend - c))) == NULL)
				break;
			*slash = '\0';
			c = slash + 1;
		}
		return 0;
	}
	while (p < end) {
		const char *s = p + 1, *slash = memchr(s, '/', (size_t)(end - s));
		const char *send = slash ? slash : end;
		char *seg;

		if (send > s) {
			if (r->nseg == REQ_MAX_SEGMENTS)
				return -1;
			seg = arena_alloc(r->arena, (size_t)(send - s) + 1);
			if (html_url_decode(s, (size_t)(send - s), seg, 0) < 0)
				return -1;
			r->seg[r->nseg++] = seg;
		}
		p = send;
	}
	return 0;
}

static int
req_fail(struct req *r, int status, const char *why)
{
	r->error = why;
	return status;
}

int
req_parse(struct req *r, struct arena *a, char **env, req_read_fn readfn, void *read_ctx,
    size_t max_body)
{
	const char *uri, *q, *len_s;

	memset(r, 0, sizeof *r);
	r->arena = a;
	r->route = -1;
	r->query = "";
	r->path = "/";

	/* Not copied: a request is answered before the FastCGI library frees its params. */
	r->env = env;

	r->method_name = req_env(r, "REQUEST_METHOD");
	if (r->method_name == NULL)
		r->method_name = "GET";
	r->method = req_method_of(r->method_name);
	r->remote_addr = req_env(r, "REMOTE_ADDR");
	if (r->remote_addr == NULL)
		r->remote_addr = "";
	r->user_agent = req_env(r, "HTTP_USER_AGENT");
	if (r->user_agent == NULL)
		r->user_agent = "";
	r->content_type = req_env(r, "CONTENT_TYPE");
	req_parse_cookies(a, req_env(r, "HTTP_COOKIE"), &r->cookies);

	uri = req_env(r, "REQUEST_URI");
	if (uri == NULL || *uri == '\0')
		uri = req_env(r, "SCRIPT_NAME");
	if (uri == NULL || *uri == '\0')
		uri = "/";
	r->uri = uri;
	q = strchr(uri, '?');
	/* Known before decoding, so that even a bad path under /api/ is answered in JSON. */
	r->is_api = strncmp(uri, "/api/", 5) == 0 || strcmp(uri, "/api") == 0 ||
	    strncmp(uri, "/api?", 5) == 0;
	if (req_split_path(r, uri, q ? (size_t)(q - uri) : strlen(uri)) != 0)
		return req_fail(r, 400, "the path is not valid");
	if (q != NULL)
		r->query = q + 1;
	if (req_parse_urlencoded(a, r->query, strlen(r->query), &r->args) != 0)
		return req_fail(r, 400, "the query string is not valid");

	len_s = req_env(r, "CONTENT_LENGTH");
	if (len_s != NULL && *len_s != '\0') {
		char *end;
		unsigned long long clen = strtoull(len_s, &end, 10);
		if (*end != '\0' || *len_s == '-')
			return req_fail(r, 400, "Content-Length is not valid");
		if (clen > max_body)
			return req_fail(r, 413, "the request body is too large");
		r->body = arena_alloc(a, (size_t)clen + 1);
		while (r->body_len < clen) {
			int got = readfn(read_ctx, r->body + r->body_len, (int)(clen - r->body_len));
			if (got <= 0)
				return req_fail(r, 400, "the request body ended early");
			r->body_len += (size_t)got;
		}
		r->body[r->body_len] = '\0';
	}
	if (r->body_len > 0) {
		const char *ct = r->content_type ? r->content_type : "";
		size_t ctn = strcspn(ct, "; ");
		if (ctn == 33 && strncasecmp(ct, "application/x-www-form-urlencoded", ctn) == 0) {
			if (req_parse_urlencoded(a, r->body, r->body_len, &r->form) != 0)
				return req_fail(r, 400, "the form body is not valid");
		} else if (ctn == 16 && strncasecmp(ct, "application/json", ctn) == 0) {
			if (req_parse_json(a, r->body, r->body_len, &r->form) != 0)
				return req_fail(r, 400,
				    "the body is not a JSON object of strings, numbers and booleans");
		} else {
			return req_fail(r, 415,
			    "send application/x-www-form-urlencoded or application/json");
		}
	}
	return 0;
}


int
req_parse_id(const char *s, long long *id)
{
	long long v = 0;

	if (s == NULL || *s < '1' || *s > '9')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (9007199254740991LL - 9) / 10)
			return -1;	/* not a digit, or beyond what JSON numbers hold exactly */
		v = v * 10 + (*s - '0');
	}
	*id = v;
	return 0;
}

int
req_path_id(const struct req *r, const char *name, long long *id)
{
	return req_parse_id(req_path_param(r, name), id);
}

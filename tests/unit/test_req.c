/* req: urlencoded, JSON and cookie parsing, and req_parse over a fake FastCGI environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "req.h"
#include "unit.h"

static struct arena arena;

static void
setup(void)
{
	arena_init(&arena, 4096);
}

static void
teardown(void)
{
	arena_free(&arena);
}

/* The body, handed out at most `chunk` bytes at a time. */
struct reader {
	const char *s;
	size_t len, pos, chunk;
	int calls;
};

static int
reader_read(void *ctx, char *buf, int n)
{
	struct reader *rd = ctx;
	size_t left = rd->len - rd->pos, take = (size_t)n;

	rd->calls++;
	if (take > left)
		take = left;
	if (take > rd->chunk)
		take = rd->chunk;
	memcpy(buf, rd->s + rd->pos, take);
	rd->pos += take;
	return (int)take;
}

static struct reader
reader_of(const char *body)
{
	struct reader rd = { body, strlen(body), 0, 3, 0 };
	return rd;
}

static int
parse_env(struct req *r, char **env, const char *body, size_t max_body)
{
	struct reader rd = reader_of(body ? body : "");
	return req_parse(r, &arena, env, reader_read, &rd, max_body);
}

static int
urlencoded(const char *s, struct kvlist *list)
{
	memset(list, 0, sizeof *list);
	return req_parse_urlencoded(&arena, s, strlen(s), list);
}

static int
json(const char *s, struct kvlist *list)
{
	memset(list, 0, sizeof *list);
	return req_parse_json(&arena, s, strlen(s), list);
}

static void
cookies(const char *h, struct kvlist *list)
{
	memset(list, 0, sizeof *list);
	req_parse_cookies(&arena, h, list);
}

/* ---- req_parse_urlencoded ------------------------------------------------------------------ */

START_TEST(form_two_pairs)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("a=1&b=2", &l), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].key, "a");
	ck_assert_str_eq(l.v[0].val, "1");
	ck_assert_str_eq(l.v[1].key, "b");
	ck_assert_str_eq(l.v[1].val, "2");
	ck_assert_str_eq(kv_get(&l, "b"), "2");
	ck_assert_ptr_null(kv_get(&l, "c"));
}
END_TEST

START_TEST(form_plus_is_space)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("full+name=Ann+Lee&x=%2B", &l), 0);
	ck_assert_str_eq(kv_get(&l, "full name"), "Ann Lee");
	ck_assert_str_eq(kv_get(&l, "x"), "+");
}
END_TEST

START_TEST(form_percent_in_keys_and_values)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("na%6De=J%C3%A9r%C3%B4me&%E5%90%8D=%E4%B8%AD%E6%96%87", &l), 0);
	ck_assert_str_eq(kv_get(&l, "name"), "Jérôme");
	ck_assert_str_eq(kv_get(&l, "名"), "中文");
}
END_TEST

START_TEST(form_value_with_equals)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("t=a=b%3Dc", &l), 0);
	ck_assert_str_eq(kv_get(&l, "t"), "a=b=c");
}
END_TEST

START_TEST(form_repeated_keys)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("a=1&b=x&a=2", &l), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(kv_get(&l, "a"), "1");
	ck_assert_str_eq(l.v[2].key, "a");
	ck_assert_str_eq(l.v[2].val, "2");
}
END_TEST

START_TEST(form_key_without_equals)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("flag&x=1", &l), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(kv_get(&l, "flag"), "");
	ck_assert_str_eq(kv_get(&l, "x"), "1");
}
END_TEST

START_TEST(form_empty_value)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("a=&b=2", &l), 0);
	ck_assert_str_eq(kv_get(&l, "a"), "");
	ck_assert_str_eq(kv_get(&l, "b"), "2");
}
END_TEST

START_TEST(form_empty_pairs_skipped)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("&&a=1&", &l), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.v[0].key, "a");
	ck_assert_str_eq(l.v[0].val, "1");
}
END_TEST

START_TEST(form_empty_input)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("", &l), 0);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(urlencoded("&", &l), 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(form_empty_key_dropped)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("=v&a=1", &l), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.v[0].key, "a");
}
END_TEST

START_TEST(form_respects_len)
{
	struct kvlist l = { 0 };

	ck_assert_int_eq(req_parse_urlencoded(&arena, "a=1&b=2", 3, &l), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(kv_get(&l, "a"), "1");
}
END_TEST

START_TEST(form_bad_escape_in_value)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("a=%zz", &l), -1);
	ck_assert_int_eq(urlencoded("a=1&b=%4", &l), -1);
	ck_assert_int_eq(urlencoded("a=%", &l), -1);
}
END_TEST

START_TEST(form_bad_escape_in_key)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("%zz=1", &l), -1);
	ck_assert_int_eq(urlencoded("a%=1", &l), -1);
}
END_TEST

START_TEST(form_nul_and_bad_utf8)
{
	struct kvlist l;

	ck_assert_int_eq(urlencoded("a=x%00y", &l), -1);
	ck_assert_int_eq(urlencoded("a=%C3%28", &l), -1);
	ck_assert_int_eq(urlencoded("%C0%AF=1", &l), -1);
}
END_TEST

/* "k0=0&k1=1&..." with n pairs. */
static char *
many_pairs(int n)
{
	size_t cap = (size_t)n * 16 + 1, len = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	s[0] = '\0';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%sk%d=%d", i ? "&" : "", i, i);
	return s;
}

START_TEST(form_max_params_ok)
{
	struct kvlist l;
	char *s = many_pairs(REQ_MAX_PARAMS);

	ck_assert_int_eq(urlencoded(s, &l), 0);
	ck_assert_uint_eq(l.n, REQ_MAX_PARAMS);
	ck_assert_str_eq(kv_get(&l, "k255"), "255");
	free(s);
}
END_TEST

START_TEST(form_too_many_params)
{
	struct kvlist l;
	char *s = many_pairs(REQ_MAX_PARAMS + 1);

	ck_assert_int_eq(urlencoded(s, &l), -1);
	free(s);
}
END_TEST

START_TEST(form_huge_value)
{
	size_t n = (size_t)1 << 20;
	char *s = malloc(n + 16);
	struct kvlist l;
	const char *v;

	ck_assert_ptr_nonnull(s);
	memcpy(s, "big=", 4);
	memset(s + 4, 'x', n);
	memcpy(s + 4 + n, "&z=%41", 7);
	ck_assert_int_eq(urlencoded(s, &l), 0);
	ck_assert_uint_eq(l.n, 2);
	v = kv_get(&l, "big");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(strlen(v), n);
	ck_assert_int_eq(v[0], 'x');
	ck_assert_int_eq(v[n - 1], 'x');
	ck_assert_str_eq(kv_get(&l, "z"), "A");
	free(s);
}
END_TEST

/* ---- req_parse_json ------------------------------------------------------------------------ */

START_TEST(json_flat_scalars)
{
	struct kvlist l;

	ck_assert_int_eq(json("{\"s\":\"x y\",\"n\":42,\"neg\":-7,\"d\":1.5,\"t\":true,\"f\":false}",
	    &l), 0);
	ck_assert_uint_eq(l.n, 6);
	ck_assert_str_eq(kv_get(&l, "s"), "x y");
	ck_assert_str_eq(kv_get(&l, "n"), "42");
	ck_assert_str_eq(kv_get(&l, "neg"), "-7");
	ck_assert_str_eq(kv_get(&l, "d"), "1.5");
	ck_assert_str_eq(kv_get(&l, "t"), "true");
	ck_assert_str_eq(kv_get(&l, "f"), "false");
}
END_TEST

START_TEST(json_string_escapes)
{
	struct kvlist l;

	ck_assert_int_eq(json("{\"q\":\"a\\\"b\\\\c\\u00e9\\u4e2d\"}", &l), 0);
	ck_assert_str_eq(kv_get(&l, "q"), "a\"b\\cé中");
}
END_TEST

START_TEST(json_empty_object)
{
	struct kvlist l;

	ck_assert_int_eq(json("{}", &l), 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(json_null_skipped)
{
	struct kvlist l;

	ck_assert_int_eq(json("{\"a\":null,\"b\":\"1\"}", &l), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_ptr_null(kv_get(&l, "a"));
	ck_assert_str_eq(kv_get(&l, "b"), "1");
}
END_TEST

START_TEST(json_nested_object_rejected)
{
	struct kvlist l;

	ck_assert_int_eq(json("{\"a\":\"1\",\"o\":{\"b\":2}}", &l), -1);
}
END_TEST

START_TEST(json_nested_array_rejected)
{
	struct kvlist l;

	ck_assert_int_eq(json("{\"a\":[1,2]}", &l), -1);
}
END_TEST

START_TEST(json_array_top_rejected)
{
	struct kvlist l;

	ck_assert_int_eq(json("[1,2]", &l), -1);
	ck_assert_int_eq(json("[{\"a\":1}]", &l), -1);
}
END_TEST

START_TEST(json_string_top_rejected)
{
	struct kvlist l;

	ck_assert_int_eq(json("\"str\"", &l), -1);
	ck_assert_int_eq(json("42", &l), -1);
	ck_assert_int_eq(json("true", &l), -1);
	ck_assert_int_eq(json("null", &l), -1);
}
END_TEST

START_TEST(json_trailing_garbage_rejected)
{
	struct kvlist l;

	ck_assert_int_eq(json("{\"a\":\"1\"}x", &l), -1);
	ck_assert_int_eq(json("{\"a\":\"1\"}{}", &l), -1);
	ck_assert_int_eq(json("{\"a\":\"1\"} ,", &l), -1);
}
END_TEST

START_TEST(json_trailing_whitespace_ok)
{
	struct kvlist l;

	ck_assert_int_eq(json(" {\"a\":\"1\"} \r\n\t ", &l), 0);
	ck_assert_str_eq(kv_get(&l, "a"), "1");
}
END_TEST

START_TEST(json_truncated_rejected)
{
	struct kvlist l;

	ck_assert_int_eq(json("{\"a\":", &l), -1);
	ck_assert_int_eq(json("{\"a\":\"1\"", &l), -1);
	ck_assert_int_eq(json("", &l), -1);
}
END_TEST

START_TEST(json_invalid_utf8_rejected)
{
	struct kvlist l;

	ck_assert_int_eq(json("{\"a\":\"\xC3\x28\"}", &l), -1);
	ck_assert_int_eq(json("{\"\xED\xA0\x80\":\"1\"}", &l), -1);
}
END_TEST

START_TEST(json_escaped_nul_rejected)
{
	struct kvlist l;

	/* "admin\u0000x" must not arrive as "admin". */
	ck_assert_int_eq(json("{\"name\":\"admin\\u0000x\"}", &l), -1);
}
END_TEST

START_TEST(json_empty_key_rejected)
{
	struct kvlist l;

	ck_assert_int_eq(json("{\"\":\"1\"}", &l), -1);
}
END_TEST

START_TEST(json_too_many_keys_rejected)
{
	struct kvlist l;
	size_t cap = (REQ_MAX_PARAMS + 1) * 16 + 3, len = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	len += (size_t)snprintf(s, cap, "{");
	for (int i = 0; i <= REQ_MAX_PARAMS; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s\"k%d\":%d", i ? "," : "", i, i);
	snprintf(s + len, cap - len, "}");
	ck_assert_int_eq(json(s, &l), -1);
	free(s);
}
END_TEST

/* ---- req_parse_cookies --------------------------------------------------------------------- */

START_TEST(cookie_two)
{
	struct kvlist l;

	cookies("a=1; b=2", &l);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].key, "a");
	ck_assert_str_eq(l.v[0].val, "1");
	ck_assert_str_eq(l.v[1].key, "b");
	ck_assert_str_eq(l.v[1].val, "2");
}
END_TEST

START_TEST(cookie_spaces)
{
	struct kvlist l;

	cookies("  a=1 ;\tb=2  ;c=3", &l);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(kv_get(&l, "a"), "1");
	ck_assert_str_eq(kv_get(&l, "b"), "2");
	ck_assert_str_eq(kv_get(&l, "c"), "3");
}
END_TEST

START_TEST(cookie_quoted)
{
	struct kvlist l;

	cookies("sid=\"abc def\"; x=\"", &l);
	ck_assert_str_eq(kv_get(&l, "sid"), "abc def");
	ck_assert_str_eq(kv_get(&l, "x"), "\"");
}
END_TEST

START_TEST(cookie_without_equals_ignored)
{
	struct kvlist l;

	cookies("junk; a=1; =x; ;", &l);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(kv_get(&l, "a"), "1");
}
END_TEST

START_TEST(cookie_value_with_equals)
{
	struct kvlist l;

	cookies("tok=YWJj==; e=", &l);
	ck_assert_str_eq(kv_get(&l, "tok"), "YWJj==");
	ck_assert_str_eq(kv_get(&l, "e"), "");
}
END_TEST

START_TEST(cookie_null_and_empty)
{
	struct kvlist l;

	cookies(NULL, &l);
	ck_assert_uint_eq(l.n, 0);
	cookies("", &l);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

/* ---- req_parse ----------------------------------------------------------------------------- */

static char *full_env[] = {
	"REQUEST_METHOD=POST",
	"REQUEST_URI=/api/x%20y/z?q=1&q=2",
	"CONTENT_TYPE=application/x-www-form-urlencoded",
	"CONTENT_LENGTH=7",
	"HTTP_X_CSRF_TOKEN=abc",
	"HTTP_COOKIE=sid=s1; csrf=c1",
	"REMOTE_ADDR=127.0.0.1",
	NULL
};
static const char full_body[] = "q=b&f=1";

START_TEST(parse_ok)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_ptr_null(r.error);
	ck_assert_int_eq(r.route, -1);
}
END_TEST

START_TEST(parse_method)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_int_eq(r.method, REQ_POST);
	ck_assert_str_eq(r.method_name, "POST");
}
END_TEST

START_TEST(parse_segments_decoded)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_uint_eq(r.nseg, 3);
	ck_assert_str_eq(r.seg[0], "api");
	ck_assert_str_eq(r.seg[1], "x y");
	ck_assert_str_eq(r.seg[2], "z");
	ck_assert_str_eq(r.path, "/api/x y/z");
	ck_assert_str_eq(r.uri, "/api/x%20y/z?q=1&q=2");
	ck_assert_int_eq(r.trailing_slash, 0);
}
END_TEST

START_TEST(parse_is_api)
{
	struct req r;
	char *env_page[] = { "REQUEST_URI=/apix/y", NULL };
	char *env_root[] = { "REQUEST_URI=/api", NULL };

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_int_eq(r.is_api, 1);
	ck_assert_int_eq(parse_env(&r, env_page, NULL, 1024), 0);
	ck_assert_int_eq(r.is_api, 0);
	ck_assert_int_eq(parse_env(&r, env_root, NULL, 1024), 0);
	ck_assert_int_eq(r.is_api, 1);
}
END_TEST

START_TEST(parse_query_params)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_str_eq(r.query, "q=1&q=2");
	ck_assert_uint_eq(r.args.n, 2);
	ck_assert_str_eq(kv_get(&r.args, "q"), "1");
	ck_assert_str_eq(r.args.v[1].val, "2");
}
END_TEST

START_TEST(parse_form_params)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_uint_eq(r.body_len, 7);
	ck_assert_str_eq(r.body, "q=b&f=1");
	ck_assert_uint_eq(r.form.n, 2);
	ck_assert_str_eq(kv_get(&r.form, "q"), "b");
	ck_assert_str_eq(kv_get(&r.form, "f"), "1");
}
END_TEST

START_TEST(parse_header)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_str_eq(req_header(&r, "X-CSRF-Token"), "abc");
	ck_assert_str_eq(req_header(&r, "x-csrf-token"), "abc");
	ck_assert_ptr_null(req_header(&r, "X-Other"));
	ck_assert_ptr_null(req_header(&r, "X-CSRF"));
}
END_TEST

START_TEST(parse_cookies)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_str_eq(req_cookie(&r, "sid"), "s1");
	ck_assert_str_eq(req_cookie(&r, "csrf"), "c1");
	ck_assert_ptr_null(req_cookie(&r, "nope"));
}
END_TEST

START_TEST(parse_env_lookup)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_str_eq(r.remote_addr, "127.0.0.1");
	ck_assert_str_eq(req_env(&r, "REMOTE_ADDR"), "127.0.0.1");
	ck_assert_str_eq(r.content_type, "application/x-www-form-urlencoded");
	ck_assert_str_eq(r.user_agent, "");
	/* A prefix of a name is not the name. */
	ck_assert_ptr_null(req_env(&r, "REMOTE"));
	ck_assert_ptr_null(req_env(&r, "REMOTE_ADDR_X"));
}
END_TEST

START_TEST(parse_param_prefers_body)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 1024), 0);
	ck_assert_str_eq(req_param(&r, "q"), "b");
	ck_assert_str_eq(req_param(&r, "f"), "1");
	ck_assert_ptr_null(req_param(&r, "none"));
}
END_TEST

START_TEST(parse_param_falls_back_to_query)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x?only=q&f=query",
		"CONTENT_TYPE=application/x-www-form-urlencoded", "CONTENT_LENGTH=3", NULL };

	ck_assert_int_eq(parse_env(&r, env, "f=1", 1024), 0);
	ck_assert_str_eq(req_param(&r, "only"), "q");
	ck_assert_str_eq(req_param(&r, "f"), "1");
}
END_TEST

START_TEST(parse_env_is_read_in_place_path_is_copied)
{
	struct req r;
	char m[] = "REQUEST_METHOD=GET", u[] = "REQUEST_URI=/a/b%20c";
	char *env[] = { m, u, NULL };

	ck_assert_int_eq(parse_env(&r, env, NULL, 1024), 0);
	/* The params are the FastCGI library's, alive until the answer: read, not copied. */
	ck_assert_ptr_eq(req_env(&r, "REQUEST_METHOD"), m + strlen("REQUEST_METHOD="));
	/* The decoded path is the request's own. */
	memset(u, 'X', sizeof u - 1);
	ck_assert_str_eq(r.path, "/a/b c");
	ck_assert_str_eq(r.seg[1], "b c");
}
END_TEST

START_TEST(parse_defaults_without_env)
{
	struct req r;
	char *env[] = { NULL };

	ck_assert_int_eq(parse_env(&r, env, NULL, 1024), 0);
	ck_assert_int_eq(r.method, REQ_GET);
	ck_assert_str_eq(r.method_name, "GET");
	ck_assert_uint_eq(r.nseg, 0);
	ck_assert_str_eq(r.path, "/");
	ck_assert_str_eq(r.query, "");
	ck_assert_str_eq(r.remote_addr, "");
	ck_assert_uint_eq(r.body_len, 0);
}
END_TEST

START_TEST(parse_other_methods)
{
	struct req r;
	char *head[] = { "REQUEST_METHOD=HEAD", "REQUEST_URI=/", NULL };
	char *del[] = { "REQUEST_METHOD=DELETE", "REQUEST_URI=/", NULL };
	char *brew[] = { "REQUEST_METHOD=BREW", "REQUEST_URI=/", NULL };
	char *lower[] = { "REQUEST_METHOD=get", "REQUEST_URI=/", NULL };

	ck_assert_int_eq(parse_env(&r, head, NULL, 1024), 0);
	ck_assert_int_eq(r.method, REQ_HEAD);
	ck_assert_int_eq(parse_env(&r, del, NULL, 1024), 0);
	ck_assert_int_eq(r.method, REQ_DELETE);
	ck_assert_int_eq(parse_env(&r, brew, NULL, 1024), 0);
	ck_assert_int_eq(r.method, REQ_OTHER);
	ck_assert_str_eq(r.method_name, "BREW");
	ck_assert_int_eq(parse_env(&r, lower, NULL, 1024), 0);
	ck_assert_int_eq(r.method, REQ_OTHER);
}
END_TEST

START_TEST(parse_body_too_large_413)
{
	struct req r;
	struct reader rd = reader_of(full_body);

	ck_assert_int_eq(req_parse(&r, &arena, full_env, reader_read, &rd, 6), 413);
	ck_assert_ptr_nonnull(r.error);
	ck_assert_int_eq(rd.calls, 0);	/* refused before reading a byte */
}
END_TEST

START_TEST(parse_body_exactly_max_ok)
{
	struct req r;

	ck_assert_int_eq(parse_env(&r, full_env, full_body, 7), 0);
	ck_assert_str_eq(kv_get(&r.form, "f"), "1");
}
END_TEST

START_TEST(parse_body_huge_length_413)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
		"CONTENT_TYPE=application/json", "CONTENT_LENGTH=99999999999999999999999", NULL };

	ck_assert_int_eq(parse_env(&r, env, "{}", 16384), 413);
}
END_TEST

START_TEST(parse_body_short_400)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
		"CONTENT_TYPE=application/x-www-form-urlencoded", "CONTENT_LENGTH=10", NULL };

	ck_assert_int_eq(parse_env(&r, env, "a=1&b=2", 1024), 400);
	ck_assert_ptr_nonnull(r.error);
}
END_TEST

START_TEST(parse_content_length_negative_400)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
		"CONTENT_TYPE=application/x-www-form-urlencoded", "CONTENT_LENGTH=-1", NULL };

	ck_assert_int_eq(parse_env(&r, env, "a=1", 1024), 400);
	ck_assert_ptr_nonnull(r.error);
}
END_TEST

START_TEST(parse_content_length_garbage_400)
{
	struct req r;
	char *abc[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
		"CONTENT_TYPE=application/x-www-form-urlencoded", "CONTENT_LENGTH=abc", NULL };
	char *tail[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
		"CONTENT_TYPE=application/x-www-form-urlencoded", "CONTENT_LENGTH=3x", NULL };

	ck_assert_int_eq(parse_env(&r, abc, "a=1", 1024), 400);
	ck_assert_int_eq(parse_env(&r, tail, "a=1", 1024), 400);
}
END_TEST

START_TEST(parse_content_length_zero)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/", "CONTENT_TYPE=text/plain",
		"CONTENT_LENGTH=0", NULL };

	ck_assert_int_eq(parse_env(&r, env, "", 1024), 0);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_uint_eq(r.form.n, 0);
}
END_TEST

START_TEST(parse_unsupported_type_415)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/", "CONTENT_TYPE=text/plain",
		"CONTENT_LENGTH=3", NULL };

	ck_assert_int_eq(parse_env(&r, env, "a=1", 1024), 415);
	ck_assert_ptr_nonnull(r.error);
}
END_TEST

START_TEST(parse_missing_type_415)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/", "CONTENT_LENGTH=3", NULL };

	ck_assert_int_eq(parse_env(&r, env, "a=1", 1024), 415);
}
END_TEST

START_TEST(parse_type_prefix_is_not_the_type)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
		"CONTENT_TYPE=application/jsonx", "CONTENT_LENGTH=2", NULL };

	ck_assert_int_eq(parse_env(&r, env, "{}", 1024), 415);
}
END_TEST

START_TEST(parse_type_with_charset)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
		"CONTENT_TYPE=Application/X-WWW-Form-Urlencoded; charset=UTF-8", "CONTENT_LENGTH=3",
		NULL };

	ck_assert_int_eq(parse_env(&r, env, "a=1", 1024), 0);
	ck_assert_str_eq(kv_get(&r.form, "a"), "1");
}
END_TEST

START_TEST(parse_json_body)
{
	struct req r;
	static const char body[] = "{\"qty\":2,\"name\":\"<b>\",\"ok\":true}";
	char len[32], *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/orders?qty=9",
		"CONTENT_TYPE=application/json; charset=utf-8", len, NULL };

	snprintf(len, sizeof len, "CONTENT_LENGTH=%zu", strlen(body));
	ck_assert_int_eq(parse_env(&r, env, body, 1024), 0);
	ck_assert_uint_eq(r.form.n, 3);
	ck_assert_str_eq(req_param(&r, "qty"), "2");
	ck_assert_str_eq(req_param(&r, "name"), "<b>");
	ck_assert_str_eq(req_param(&r, "ok"), "true");
}
END_TEST

START_TEST(parse_bad_json_body_400)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/x",
		"CONTENT_TYPE=application/json", "CONTENT_LENGTH=9", NULL };

	ck_assert_int_eq(parse_env(&r, env, "{\"a\":[1]}", 1024), 400);
	ck_assert_ptr_nonnull(r.error);
}
END_TEST

START_TEST(parse_bad_form_body_400)
{
	struct req r;
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
		"CONTENT_TYPE=application/x-www-form-urlencoded", "CONTENT_LENGTH=4", NULL };

	ck_assert_int_eq(parse_env(&r, env, "a=%z", 1024), 400);
}
END_TEST

START_TEST(parse_bad_query_400)
{
	struct req r;
	char *env[] = { "REQUEST_URI=/x?a=%zz", NULL };

	ck_assert_int_eq(parse_env(&r, env, NULL, 1024), 400);
	ck_assert_ptr_nonnull(r.error);
}
END_TEST

START_TEST(parse_path_nul_400)
{
	struct req r;
	char *env[] = { "REQUEST_URI=/a%00b", NULL };

	ck_assert_int_eq(parse_env(&r, env, NULL, 1024), 400);
	ck_assert_ptr_nonnull(r.error);
}
END_TEST

START_TEST(parse_path_bad_escape_400)
{
	struct req r;
	char *zz[] = { "REQUEST_URI=/a%zz", NULL };
	char *cut[] = { "REQUEST_URI=/a%4?x=1", NULL };
	char *utf[] = { "REQUEST_URI=/%C3%28", NULL };

	ck_assert_int_eq(parse_env(&r, zz, NULL, 1024), 400);
	ck_assert_int_eq(parse_env(&r, cut, NULL, 1024), 400);
	ck_assert_int_eq(parse_env(&r, utf, NULL, 1024), 400);
}
END_TEST

START_TEST(parse_path_not_absolute_400)
{
	struct req r;
	char *env[] = { "REQUEST_URI=abc", NULL };

	ck_assert_int_eq(parse_env(&r, env, NULL, 1024), 400);
}
END_TEST

START_TEST(parse_encoded_slash_stays_in_segment)
{
	struct req r;
	char *env[] = { "REQUEST_URI=/files/a%2Fb/c", NULL };

	ck_assert_int_eq(parse_env(&r, env, NULL, 1024), 0);
	ck_assert_uint_eq(r.nseg, 3);
	ck_assert_str_eq(r.seg[0], "files");
	ck_assert_str_eq(r.seg[1], "a/b");
	ck_assert_str_eq(r.seg[2], "c");
}
END_TEST

START_TEST(parse_trailing_and_double_slashes)
{
	struct req r;
	char *trail[] = { "REQUEST_URI=/a/b/", NULL };
	char *dbl[] = { "REQUEST_URI=//a//b", NULL };

	ck_assert_int_eq(parse_env(&r, trail, NULL, 1024), 0);
	ck_assert_uint_eq(r.nseg, 2);
	ck_assert_int_eq(r.trailing_slash, 1);
	ck_assert_int_eq(parse_env(&r, dbl, NULL, 1024), 0);
	ck_assert_uint_eq(r.nseg, 2);
	ck_assert_str_eq(r.seg[0], "a");
	ck_assert_str_eq(r.seg[1], "b");
	ck_assert_int_eq(r.trailing_slash, 0);
}
END_TEST

START_TEST(parse_segment_limit)
{
	struct req r;
	char ok[64] = "REQUEST_URI=", over[64] = "REQUEST_URI=";
	char *env_ok[] = { ok, NULL }, *env_over[] = { over, NULL };

	for (int i = 0; i < REQ_MAX_SEGMENTS; i++)
		strcat(ok, "/s");
	strcpy(over + strlen("REQUEST_URI="), ok + strlen("REQUEST_URI="));
	strcat(over, "/s");
	ck_assert_int_eq(parse_env(&r, env_ok, NULL, 1024), 0);
	ck_assert_uint_eq(r.nseg, REQ_MAX_SEGMENTS);
	ck_assert_int_eq(parse_env(&r, env_over, NULL, 1024), 400);
}
END_TEST

START_TEST(parse_empty_query)
{
	struct req r;
	char *env[] = { "REQUEST_URI=/a?", NULL };

	ck_assert_int_eq(parse_env(&r, env, NULL, 1024), 0);
	ck_assert_str_eq(r.query, "");
	ck_assert_uint_eq(r.args.n, 0);
	ck_assert_uint_eq(r.nseg, 1);
}
END_TEST

static Suite *
req_suite(void)
{
	Suite *s = suite_create("req");
	TCase *tc;

	tc = tcase_create("urlencoded");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, form_two_pairs);
	tcase_add_test(tc, form_plus_is_space);
	tcase_add_test(tc, form_percent_in_keys_and_values);
	tcase_add_test(tc, form_value_with_equals);
	tcase_add_test(tc, form_repeated_keys);
	tcase_add_test(tc, form_key_without_equals);
	tcase_add_test(tc, form_empty_value);
	tcase_add_test(tc, form_empty_pairs_skipped);
	tcase_add_test(tc, form_empty_input);
	tcase_add_test(tc, form_empty_key_dropped);
	tcase_add_test(tc, form_respects_len);
	tcase_add_test(tc, form_bad_escape_in_value);
	tcase_add_test(tc, form_bad_escape_in_key);
	tcase_add_test(tc, form_nul_and_bad_utf8);
	tcase_add_test(tc, form_max_params_ok);
	tcase_add_test(tc, form_too_many_params);
	tcase_add_test(tc, form_huge_value);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, json_flat_scalars);
	tcase_add_test(tc, json_string_escapes);
	tcase_add_test(tc, json_empty_object);
	tcase_add_test(tc, json_null_skipped);
	tcase_add_test(tc, json_nested_object_rejected);
	tcase_add_test(tc, json_nested_array_rejected);
	tcase_add_test(tc, json_array_top_rejected);
	tcase_add_test(tc, json_string_top_rejected);
	tcase_add_test(tc, json_trailing_garbage_rejected);
	tcase_add_test(tc, json_trailing_whitespace_ok);
	tcase_add_test(tc, json_truncated_rejected);
	tcase_add_test(tc, json_invalid_utf8_rejected);
	tcase_add_test(tc, json_escaped_nul_rejected);
	tcase_add_test(tc, json_empty_key_rejected);
	tcase_add_test(tc, json_too_many_keys_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("cookies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cookie_two);
	tcase_add_test(tc, cookie_spaces);
	tcase_add_test(tc, cookie_quoted);
	tcase_add_test(tc, cookie_without_equals_ignored);
	tcase_add_test(tc, cookie_value_with_equals);
	tcase_add_test(tc, cookie_null_and_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_ok);
	tcase_add_test(tc, parse_method);
	tcase_add_test(tc, parse_segments_decoded);
	tcase_add_test(tc, parse_is_api);
	tcase_add_test(tc, parse_query_params);
	tcase_add_test(tc, parse_form_params);
	tcase_add_test(tc, parse_header);
	tcase_add_test(tc, parse_cookies);
	tcase_add_test(tc, parse_env_lookup);
	tcase_add_test(tc, parse_param_prefers_body);
	tcase_add_test(tc, parse_param_falls_back_to_query);
	tcase_add_test(tc, parse_env_is_read_in_place_path_is_copied);
	tcase_add_test(tc, parse_defaults_without_env);
	tcase_add_test(tc, parse_other_methods);
	tcase_add_test(tc, parse_body_too_large_413);
	tcase_add_test(tc, parse_body_exactly_max_ok);
	tcase_add_test(tc, parse_body_huge_length_413);
	tcase_add_test(tc, parse_body_short_400);
	tcase_add_test(tc, parse_content_length_negative_400);
	tcase_add_test(tc, parse_content_length_garbage_400);
	tcase_add_test(tc, parse_content_length_zero);
	tcase_add_test(tc, parse_unsupported_type_415);
	tcase_add_test(tc, parse_missing_type_415);
	tcase_add_test(tc, parse_type_prefix_is_not_the_type);
	tcase_add_test(tc, parse_type_with_charset);
	tcase_add_test(tc, parse_json_body);
	tcase_add_test(tc, parse_bad_json_body_400);
	tcase_add_test(tc, parse_bad_form_body_400);
	tcase_add_test(tc, parse_bad_query_400);
	tcase_add_test(tc, parse_path_nul_400);
	tcase_add_test(tc, parse_path_bad_escape_400);
	tcase_add_test(tc, parse_path_not_absolute_400);
	tcase_add_test(tc, parse_encoded_slash_stays_in_segment);
	tcase_add_test(tc, parse_trailing_and_double_slashes);
	tcase_add_test(tc, parse_segment_limit);
	tcase_add_test(tc, parse_empty_query);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(req_suite());
}

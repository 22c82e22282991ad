/* router: matching a request against a route table of our own, params, 404/405, Allow. */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "req.h"
#include "router.h"
#include "unit.h"

static int h_home(struct req *r, struct resp *p) { return 100; }
static int h_list(struct req *r, struct resp *p) { return 101; }
static int h_show(struct req *r, struct resp *p) { return 102; }
static int h_seckill(struct req *r, struct resp *p) { return 103; }
static int h_qr(struct req *r, struct resp *p) { return 104; }
static int h_login_form(struct req *r, struct resp *p) { return 105; }
static int h_login(struct req *r, struct resp *p) { return 106; }
static int h_item(struct req *r, struct resp *p) { return 107; }
static int h_posts(struct req *r, struct resp *p) { return 108; }
static int h_tab(struct req *r, struct resp *p) { return 109; }

static const struct route routes[] = {
	{ REQ_GET,		"/",				h_home,		0, "/" },
	{ REQ_GET,		"/activities",			h_list,		0, "list" },
	{ REQ_GET,		"/activities/:id",		h_show,		0, "show" },
	{ REQ_POST,		"/api/activities/:id/seckill/:p", h_seckill,	R_AUTH, "seckill" },
	{ REQ_GET,		"/qr/:tok.png",			h_qr,		0, "qr" },
	{ REQ_GET,		"/login",			h_login_form,	0, "login" },
	{ REQ_POST,		"/login",			h_login,	R_CSRF, "login" },
	{ REQ_PUT | REQ_DELETE,	"/api/items/:id",		h_item,		R_API, "item" },
	{ REQ_GET,		"/u/:name/posts",		h_posts,	0, "posts" },
	{ REQ_GET,		"/u/:user/:tab",		h_tab,		0, "tab" },
};
#define NROUTES ((int)(sizeof routes / sizeof routes[0]))

static struct arena arena;
static struct req req;

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

/* Parses "METHOD /uri" into req and routes it; returns the index or the router's code. */
static int
route(const char *method, const char *uri, unsigned *allowed)
{
	char m[64], u[256];
	char *env[] = { m, u, NULL };
	unsigned dummy;

	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", uri);
	ck_assert_int_eq(req_parse(&req, &arena, env, NULL, NULL, 0), 0);
	return router_match(routes, NROUTES, &req, allowed ? allowed : &dummy);
}

/* The status the matched handler answers with: proves which route won. */
static int
handler_of(int idx)
{
	ck_assert_int_ge(idx, 0);
	ck_assert_int_lt(idx, NROUTES);
	return routes[idx].handler(&req, NULL);
}

static void
check_allow(unsigned methods, const char *want)
{
	char out[96];

	memset(out, 'X', sizeof out);
	router_allow_header(methods, out, sizeof out);
	ck_assert_str_eq(out, want);
}

/* ---- matching ------------------------------------------------------------------------------ */

START_TEST(match_root)
{
	ck_assert_int_eq(handler_of(route("GET", "/", NULL)), 100);
	ck_assert_uint_eq(req.path_params.n, 0);
}
END_TEST

START_TEST(match_exact)
{
	ck_assert_int_eq(handler_of(route("GET", "/activities", NULL)), 101);
	ck_assert_uint_eq(req.path_params.n, 0);
}
END_TEST

START_TEST(match_query_ignored)
{
	ck_assert_int_eq(handler_of(route("GET", "/activities?page=2", NULL)), 101);
}
END_TEST

START_TEST(match_param)
{
	ck_assert_int_eq(handler_of(route("GET", "/activities/42", NULL)), 102);
	ck_assert_uint_eq(req.path_params.n, 1);
	ck_assert_str_eq(req_path_param(&req, "id"), "42");
}
END_TEST

START_TEST(match_param_decoded)
{
	ck_assert_int_eq(handler_of(route("GET", "/activities/a%20b%2Fc", NULL)), 102);
	ck_assert_str_eq(req_path_param(&req, "id"), "a b/c");
}
END_TEST

START_TEST(match_two_params)
{
	ck_assert_int_eq(handler_of(route("POST", "/api/activities/7/seckill/p9x", NULL)), 103);
	ck_assert_uint_eq(req.path_params.n, 2);
	ck_assert_str_eq(req_path_param(&req, "id"), "7");
	ck_assert_str_eq(req_path_param(&req, "p"), "p9x");
	ck_assert_ptr_null(req_path_param(&req, "seckill"));
}
END_TEST

START_TEST(match_suffix_param)
{
	ck_assert_int_eq(handler_of(route("GET", "/qr/AbC123.png", NULL)), 104);
	ck_assert_uint_eq(req.path_params.n, 1);
	ck_assert_str_eq(req_path_param(&req, "tok"), "AbC123");
}
END_TEST

START_TEST(match_suffix_only_last_stripped)
{
	ck_assert_int_eq(handler_of(route("GET", "/qr/x.png.png", NULL)), 104);
	ck_assert_str_eq(req_path_param(&req, "tok"), "x.png");
}
END_TEST

START_TEST(match_suffix_wrong_ext_404)
{
	ck_assert_int_eq(route("GET", "/qr/x.jpg", NULL), ROUTER_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/qr/xpng", NULL), ROUTER_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/qr/x.PNG", NULL), ROUTER_NOT_FOUND);
}
END_TEST

START_TEST(match_suffix_alone_404)
{
	ck_assert_int_eq(route("GET", "/qr/.png", NULL), ROUTER_NOT_FOUND);
	ck_assert_uint_eq(req.path_params.n, 0);
}
END_TEST

START_TEST(match_unknown_404)
{
	unsigned allowed = 99;

	ck_assert_int_eq(route("GET", "/nope", &allowed), ROUTER_NOT_FOUND);
	ck_assert_uint_eq(allowed, 0);
	ck_assert_uint_eq(req.path_params.n, 0);
}
END_TEST

START_TEST(match_too_many_segments_404)
{
	ck_assert_int_eq(route("GET", "/activities/1/extra", NULL), ROUTER_NOT_FOUND);
	ck_assert_uint_eq(req.path_params.n, 0);
}
END_TEST

START_TEST(match_too_few_segments_404)
{
	ck_assert_int_eq(route("POST", "/api/activities/7/seckill", NULL), ROUTER_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/qr", NULL), ROUTER_NOT_FOUND);
}
END_TEST

START_TEST(match_case_sensitive_404)
{
	ck_assert_int_eq(route("GET", "/Activities", NULL), ROUTER_NOT_FOUND);
}
END_TEST

START_TEST(match_literal_prefix_404)
{
	ck_assert_int_eq(route("GET", "/activitiesx", NULL), ROUTER_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/activitie", NULL), ROUTER_NOT_FOUND);
}
END_TEST

START_TEST(method_not_allowed_405)
{
	unsigned allowed = 0;

	ck_assert_int_eq(route("POST", "/activities", &allowed), ROUTER_BAD_METHOD);
	ck_assert_uint_eq(allowed, REQ_GET);
	ck_assert_uint_eq(req.path_params.n, 0);
}
END_TEST

START_TEST(method_not_allowed_collects_all)
{
	unsigned allowed = 0;

	ck_assert_int_eq(route("DELETE", "/login", &allowed), ROUTER_BAD_METHOD);
	ck_assert_uint_eq(allowed, REQ_GET | REQ_POST);
}
END_TEST

START_TEST(method_not_allowed_params_cleared)
{
	unsigned allowed = 0;

	ck_assert_int_eq(route("GET", "/api/items/5", &allowed), ROUTER_BAD_METHOD);
	ck_assert_uint_eq(allowed, REQ_PUT | REQ_DELETE);
	ck_assert_uint_eq(req.path_params.n, 0);
	ck_assert_ptr_null(req_path_param(&req, "id"));
}
END_TEST

START_TEST(method_unknown_405)
{
	unsigned allowed = 0;

	ck_assert_int_eq(route("BREW", "/", &allowed), ROUTER_BAD_METHOD);
	ck_assert_uint_eq(allowed, REQ_GET);
}
END_TEST

START_TEST(method_picks_route)
{
	ck_assert_int_eq(handler_of(route("GET", "/login", NULL)), 105);
	ck_assert_int_eq(handler_of(route("POST", "/login", NULL)), 106);
}
END_TEST

START_TEST(method_mask_route)
{
	ck_assert_int_eq(handler_of(route("PUT", "/api/items/3", NULL)), 107);
	ck_assert_str_eq(req_path_param(&req, "id"), "3");
	ck_assert_int_eq(handler_of(route("DELETE", "/api/items/4", NULL)), 107);
	ck_assert_str_eq(req_path_param(&req, "id"), "4");
}
END_TEST

START_TEST(head_matches_get)
{
	ck_assert_int_eq(handler_of(route("HEAD", "/activities/5", NULL)), 102);
	ck_assert_str_eq(req_path_param(&req, "id"), "5");
	ck_assert_int_eq(handler_of(route("HEAD", "/login", NULL)), 105);
}
END_TEST

START_TEST(head_on_post_only_405)
{
	unsigned allowed = 0;

	ck_assert_int_eq(route("HEAD", "/api/activities/1/seckill/p", &allowed), ROUTER_BAD_METHOD);
	ck_assert_uint_eq(allowed, REQ_POST);
}
END_TEST

START_TEST(trailing_slash_matches)
{
	ck_assert_int_eq(handler_of(route("GET", "/activities/", NULL)), 101);
	ck_assert_int_eq(req.trailing_slash, 1);
	ck_assert_int_eq(handler_of(route("GET", "/activities/42/", NULL)), 102);
	ck_assert_str_eq(req_path_param(&req, "id"), "42");
}
END_TEST

START_TEST(double_slashes_match)
{
	ck_assert_int_eq(handler_of(route("GET", "//activities//42", NULL)), 102);
	ck_assert_str_eq(req_path_param(&req, "id"), "42");
	ck_assert_int_eq(handler_of(route("GET", "//", NULL)), 100);
}
END_TEST

START_TEST(params_reset_between_routes)
{
	/* "/u/:name/posts" captures name, then fails on "likes": only the second route's stay. */
	ck_assert_int_eq(handler_of(route("GET", "/u/ann/likes", NULL)), 109);
	ck_assert_uint_eq(req.path_params.n, 2);
	ck_assert_str_eq(req_path_param(&req, "user"), "ann");
	ck_assert_str_eq(req_path_param(&req, "tab"), "likes");
	ck_assert_ptr_null(req_path_param(&req, "name"));
}
END_TEST

START_TEST(first_matching_route_wins)
{
	ck_assert_int_eq(handler_of(route("GET", "/u/ann/posts", NULL)), 108);
	ck_assert_uint_eq(req.path_params.n, 1);
	ck_assert_str_eq(req_path_param(&req, "name"), "ann");
}
END_TEST

/* ---- router_allow_header ------------------------------------------------------------------- */

START_TEST(allow_get_adds_head)
{
	check_allow(REQ_GET, "GET, HEAD");
}
END_TEST

START_TEST(allow_get_post)
{
	check_allow(REQ_GET | REQ_POST, "GET, HEAD, POST");
	check_allow(REQ_POST | REQ_GET | REQ_HEAD, "GET, HEAD, POST");
}
END_TEST

START_TEST(allow_post_only)
{
	check_allow(REQ_POST, "POST");
}
END_TEST

START_TEST(allow_put_delete)
{
	check_allow(REQ_PUT | REQ_DELETE, "PUT, DELETE");
}
END_TEST

START_TEST(allow_all)
{
	check_allow(REQ_GET | REQ_HEAD | REQ_POST | REQ_PUT | REQ_DELETE | REQ_PATCH | REQ_OPTIONS,
	    "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
}
END_TEST

START_TEST(allow_none)
{
	check_allow(0, "");
}
END_TEST

START_TEST(allow_small_buffer_terminated)
{
	char out[6];

	router_allow_header(REQ_GET | REQ_POST | REQ_PUT, out, sizeof out);
	ck_assert_uint_lt(strlen(out), sizeof out);
	ck_assert_int_eq(strncmp(out, "GET", 3), 0);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc;

	tc = tcase_create("match");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, match_root);
	tcase_add_test(tc, match_exact);
	tcase_add_test(tc, match_query_ignored);
	tcase_add_test(tc, match_param);
	tcase_add_test(tc, match_param_decoded);
	tcase_add_test(tc, match_two_params);
	tcase_add_test(tc, match_suffix_param);
	tcase_add_test(tc, match_suffix_only_last_stripped);
	tcase_add_test(tc, match_suffix_wrong_ext_404);
	tcase_add_test(tc, match_suffix_alone_404);
	tcase_add_test(tc, match_unknown_404);
	tcase_add_test(tc, match_too_many_segments_404);
	tcase_add_test(tc, match_too_few_segments_404);
	tcase_add_test(tc, match_case_sensitive_404);
	tcase_add_test(tc, match_literal_prefix_404);
	tcase_add_test(tc, trailing_slash_matches);
	tcase_add_test(tc, double_slashes_match);
	tcase_add_test(tc, params_reset_between_routes);
	tcase_add_test(tc, first_matching_route_wins);
	suite_add_tcase(s, tc);

	tc = tcase_create("method");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, method_not_allowed_405);
	tcase_add_test(tc, method_not_allowed_collects_all);
	tcase_add_test(tc, method_not_allowed_params_cleared);
	tcase_add_test(tc, method_unknown_405);
	tcase_add_test(tc, method_picks_route);
	tcase_add_test(tc, method_mask_route);
	tcase_add_test(tc, head_matches_get);
	tcase_add_test(tc, head_on_post_only_405);
	suite_add_tcase(s, tc);

	tc = tcase_create("allow");
	tcase_add_test(tc, allow_get_adds_head);
	tcase_add_test(tc, allow_get_post);
	tcase_add_test(tc, allow_post_only);
	tcase_add_test(tc, allow_put_delete);
	tcase_add_test(tc, allow_all);
	tcase_add_test(tc, allow_none);
	tcase_add_test(tc, allow_small_buffer_terminated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(router_suite());
}

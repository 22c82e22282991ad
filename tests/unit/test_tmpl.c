/* tmpl: parsing, escaping by default, sections, parse errors with file:line, template sets. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "tmpl.h"
#include "unit.h"

/* Parses src as "t.html", renders it against the JSON text data, compares with want. */
static void
check_render(const char *src, const char *data, const char *want)
{
	char err[256] = "";
	struct tmpl *t = tmpl_parse("t.html", src, err, sizeof err);
	struct json_object *ctx = json_tokener_parse(data);
	struct buf out;

	ck_assert_msg(t != NULL, "parsing \"%s\": %s", src, err);
	ck_assert_msg(ctx != NULL, "bad test data %s", data);
	buf_init(&out);
	tmpl_render(t, &ctx, 1, &out);
	ck_assert_msg(strcmp(buf_str(&out), want) == 0, "\"%s\" with %s: got \"%s\", want \"%s\"",
	    src, data, buf_str(&out), want);
	buf_free(&out);
	json_object_put(ctx);
	tmpl_free(t);
}

/* Parsing src must fail with exactly the message want. */
static void
check_parse_error(const char *src, const char *want)
{
	char err[256] = "";
	struct tmpl *t = tmpl_parse("t.html", src, err, sizeof err);

	ck_assert_msg(t == NULL, "\"%s\" should not parse", src);
	ck_assert_msg(strcmp(err, want) == 0, "\"%s\": error \"%s\", want \"%s\"", src, err, want);
}

/* ---- rendering ----------------------------------------------------------------------------- */

START_TEST(render_text_only)
{
	check_render("<p>no tags { here }</p>", "{}", "<p>no tags { here }</p>");
	check_render("", "{}", "");
}
END_TEST

START_TEST(render_var)
{
	check_render("Hi {{name}}!", "{\"name\":\"Bob\"}", "Hi Bob!");
	check_render("{{ name }}", "{\"name\":\"Bob\"}", "Bob");
}
END_TEST

START_TEST(render_var_escapes_amp)
{
	check_render("{{x}}", "{\"x\":\"a&b\"}", "a&amp;b");
}
END_TEST

START_TEST(render_var_escapes_lt_gt)
{
	check_render("{{x}}", "{\"x\":\"<script>\"}", "&lt;script&gt;");
}
END_TEST

START_TEST(render_var_escapes_quotes)
{
	check_render("<a title=\"{{x}}\">", "{\"x\":\"\\\"q\\\" 'a'\"}",
	    "<a title=\"&quot;q&quot; &#39;a&#39;\">");
}
END_TEST

START_TEST(render_var_escapes_all)
{
	check_render("{{x}}", "{\"x\":\"<a href=\\\"x\\\">&'</a>\"}",
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
}
END_TEST

START_TEST(render_var_utf8)
{
	check_render("{{x}}", "{\"x\":\"中文 😀\"}", "中文 😀");
}
END_TEST

START_TEST(render_missing_is_empty)
{
	check_render("[{{nope}}]", "{}", "[]");
	check_render("[{{n}}]", "{\"n\":null}", "[]");
}
END_TEST

START_TEST(render_container_is_empty)
{
	check_render("[{{a}}][{{o}}]", "{\"a\":[1],\"o\":{\"k\":1}}", "[][]");
}
END_TEST

START_TEST(render_url)
{
	check_render("/s?q={{url:x}}", "{\"x\":\"a b/c?d=e&f#g%中\"}",
	    "/s?q=a%20b%2Fc%3Fd%3De%26f%23g%25%E4%B8%AD");
}
END_TEST

START_TEST(render_url_html_specials)
{
	check_render("{{url:x}}", "{\"x\":\"<\\\"'>\"}", "%3C%22%27%3E");
}
END_TEST

START_TEST(render_raw)
{
	check_render("{{raw:x}}", "{\"x\":\"<b>&amp;</b>\"}", "<b>&amp;</b>");
}
END_TEST

START_TEST(render_int)
{
	check_render("{{i}} {{neg}} {{zero}}", "{\"i\":42,\"neg\":-7,\"zero\":0}", "42 -7 0");
	check_render("{{big}}", "{\"big\":9007199254740993}", "9007199254740993");
}
END_TEST

START_TEST(render_bool)
{
	check_render("{{t}}/{{f}}", "{\"t\":true,\"f\":false}", "true/false");
}
END_TEST

START_TEST(render_dotted)
{
	check_render("{{a.b.c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "deep");
	check_render("{{a.b}}", "{\"a\":{\"b\":\"<x>\"}}", "&lt;x&gt;");
}
END_TEST

START_TEST(render_dotted_missing)
{
	check_render("[{{a.x.c}}]", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "[]");
	check_render("[{{a.b.c.d}}]", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "[]");
	check_render("[{{s.len}}]", "{\"s\":\"str\"}", "[]");
}
END_TEST

START_TEST(render_dot_in_array_of_strings)
{
	check_render("{{#xs}}[{{.}}]{{/xs}}", "{\"xs\":[\"a\",\"<b>\",\"\"]}", "[a][&lt;b&gt;][]");
}
END_TEST

START_TEST(render_dot_in_array_of_numbers)
{
	check_render("{{#xs}}{{.}},{{/xs}}", "{\"xs\":[1,2,3]}", "1,2,3,");
}
END_TEST

START_TEST(render_comment_dropped)
{
	check_render("a{{! a note }}b", "{}", "ab");
	check_render("a{{!multi\nline}}b", "{}", "ab");
}
END_TEST

/* ---- sections ------------------------------------------------------------------------------ */

START_TEST(section_array_of_objects)
{
	check_render("{{#items}}<{{n}}>{{/items}}", "{\"items\":[{\"n\":\"1\"},{\"n\":\"&\"}]}",
	    "<1><&amp;>");
}
END_TEST

START_TEST(section_object)
{
	check_render("{{#u}}{{name}} ({{role}}){{/u}}", "{\"u\":{\"name\":\"ann\",\"role\":\"admin\"}}",
	    "ann (admin)");
}
END_TEST

START_TEST(section_true)
{
	check_render("a{{#t}}yes{{/t}}b", "{\"t\":true}", "ayesb");
}
END_TEST

START_TEST(section_false)
{
	check_render("a{{#f}}yes{{/f}}b", "{\"f\":false}", "ab");
}
END_TEST

START_TEST(section_empty_array)
{
	check_render("a{{#xs}}yes{{/xs}}b", "{\"xs\":[]}", "ab");
}
END_TEST

START_TEST(section_missing)
{
	check_render("a{{#nope}}yes{{/nope}}b", "{}", "ab");
	check_render("a{{#n}}yes{{/n}}b", "{\"n\":null}", "ab");
}
END_TEST

START_TEST(section_zero)
{
	check_render("a{{#z}}yes{{/z}}b", "{\"z\":0}", "ab");
	check_render("a{{#z}}yes{{/z}}b", "{\"z\":0.0}", "ab");
}
END_TEST

START_TEST(section_empty_string)
{
	check_render("a{{#s}}yes{{/s}}b", "{\"s\":\"\"}", "ab");
}
END_TEST

START_TEST(section_truthy_scalars)
{
	check_render("{{#n}}yes{{/n}}", "{\"n\":3}", "yes");
	check_render("{{#s}}yes{{/s}}", "{\"s\":\"x\"}", "yes");
	check_render("{{#o}}yes{{/o}}", "{\"o\":{}}", "yes");
}
END_TEST

START_TEST(section_nested)
{
	check_render("{{#rows}}[{{#cells}}{{.}}{{/cells}}]{{/rows}}",
	    "{\"rows\":[{\"cells\":[\"a\",\"b\"]},{\"cells\":[]},{\"cells\":[\"c\"]}]}",
	    "[ab][][c]");
}
END_TEST

START_TEST(section_dotted_name)
{
	check_render("{{#a.list}}{{.}}{{/a.list}}", "{\"a\":{\"list\":[\"x\",\"y\"]}}", "xy");
}
END_TEST

START_TEST(inverted_falsy)
{
	static const char *falsy[] = { "{}", "{\"x\":false}", "{\"x\":null}", "{\"x\":0}",
		"{\"x\":\"\"}", "{\"x\":[]}" };

	for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++)
		check_render("a{{^x}}none{{/x}}b", falsy[i], "anoneb");
}
END_TEST

START_TEST(inverted_truthy)
{
	static const char *truthy[] = { "{\"x\":true}", "{\"x\":1}", "{\"x\":\"s\"}",
		"{\"x\":[0]}", "{\"x\":{}}" };

	for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++)
		check_render("a{{^x}}none{{/x}}b", truthy[i], "ab");
}
END_TEST

START_TEST(section_and_inverted_pair)
{
	static const char src[] = "{{#xs}}<{{.}}>{{/xs}}{{^xs}}empty{{/xs}}";

	check_render(src, "{\"xs\":[\"a\"]}", "<a>");
	check_render(src, "{\"xs\":[]}", "empty");
}
END_TEST

START_TEST(section_outer_fallback)
{
	check_render("{{#items}}{{n}}{{title}};{{/items}}",
	    "{\"title\":\"T\",\"items\":[{\"n\":\"1\"},{\"n\":\"2\"}]}", "1T;2T;");
}
END_TEST

START_TEST(section_inner_shadows_outer)
{
	check_render("{{#items}}{{n}}{{/items}}/{{n}}",
	    "{\"n\":\"outer\",\"items\":[{\"n\":\"in\"}]}", "in/outer");
}
END_TEST

START_TEST(section_true_keeps_context)
{
	check_render("{{#ok}}{{name}}{{/ok}}", "{\"ok\":true,\"name\":\"x\"}", "x");
}
END_TEST

START_TEST(render_context_stack)
{
	char err[256];
	struct tmpl *t = tmpl_parse("t.html", "{{a}}-{{b}}-{{c}}", err, sizeof err);
	struct json_object *ctx[2];
	struct buf out;

	ck_assert_ptr_nonnull(t);
	ctx[0] = json_tokener_parse("{\"a\":\"outer\",\"b\":\"outer\"}");
	ctx[1] = json_tokener_parse("{\"b\":\"inner\",\"c\":\"<c>\"}");
	buf_init(&out);
	tmpl_render(t, ctx, 2, &out);
	ck_assert_str_eq(buf_str(&out), "outer-inner-&lt;c&gt;");
	buf_free(&out);
	json_object_put(ctx[0]);
	json_object_put(ctx[1]);
	tmpl_free(t);
}
END_TEST

START_TEST(render_twice_same_output)
{
	char err[256];
	struct tmpl *t = tmpl_parse("t.html", "{{#xs}}{{.}}{{/xs}}", err, sizeof err);
	struct json_object *d = json_tokener_parse("{\"xs\":[\"a\",\"b\"]}");
	struct buf out;

	ck_assert_ptr_nonnull(t);
	buf_init(&out);
	tmpl_render(t, &d, 1, &out);
	tmpl_render(t, &d, 1, &out);
	ck_assert_str_eq(buf_str(&out), "abab");
	buf_free(&out);
	json_object_put(d);
	tmpl_free(t);
}
END_TEST

/* ---- parse errors -------------------------------------------------------------------------- */

START_TEST(error_partial_tag)
{
	check_parse_error("{{>x}}", "t.html:1: unknown tag {{>x}}");
}
END_TEST

START_TEST(error_ampersand_tag)
{
	check_parse_error("ok\n{{&x}}", "t.html:2: unknown tag {{&x}}");
}
END_TEST

START_TEST(error_space_in_name)
{
	check_parse_error("a\nb\n c {{foo bar}}", "t.html:3: unknown tag {{foo bar}}");
}
END_TEST

START_TEST(error_unknown_prefix)
{
	check_parse_error("{{unknown:x}}", "t.html:1: unknown tag {{unknown:x}}");
}
END_TEST

START_TEST(error_triple_mustache)
{
	check_parse_error("{{{x}}}", "t.html:1: unknown tag {{{x}}");
}
END_TEST

START_TEST(error_empty_tag)
{
	check_parse_error("x{{ }}", "t.html:1: unknown tag {{}}");
}
END_TEST

START_TEST(error_bad_names)
{
	check_parse_error("{{a..b}}", "t.html:1: unknown tag {{a..b}}");
	check_parse_error("{{.a}}", "t.html:1: unknown tag {{.a}}");
	check_parse_error("{{a.}}", "t.html:1: unknown tag {{a.}}");
	check_parse_error("{{url:}}", "t.html:1: unknown tag {{url:}}");
	check_parse_error("{{#}}", "t.html:1: unknown tag {{#}}");
}
END_TEST

START_TEST(error_unclosed_section)
{
	check_parse_error("x\n{{#a}}\nbody", "t.html:2: section {{#a}} is never closed");
}
END_TEST

START_TEST(error_unclosed_inner_section)
{
	char err[256] = "";

	/* {{#b}} is still open when {{/a}} comes: the error points at the {{/a}} line. */
	ck_assert_ptr_null(tmpl_parse("t.html", "{{#a}}\n{{#b}}\n{{/a}}", err, sizeof err));
	ck_assert_msg(strncmp(err, "t.html:3: ", 10) == 0, "error \"%s\"", err);
}
END_TEST

START_TEST(error_mismatched_close)
{
	check_parse_error("{{#a}}\n\n{{/b}}", "t.html:3: {{/b}} closes no open section");
}
END_TEST

START_TEST(error_stray_close)
{
	check_parse_error("text {{/a}}", "t.html:1: {{/a}} closes no open section");
}
END_TEST

START_TEST(error_unterminated_tag)
{
	check_parse_error("x\n\nab {{x", "t.html:3: '{{' without '}}'");
	check_parse_error("{{! never closed", "t.html:1: '{{' without '}}'");
}
END_TEST

START_TEST(error_sets_no_template)
{
	char err[256] = "";

	ck_assert_ptr_null(tmpl_parse("page.html", "ok\n{{>x}}", err, sizeof err));
	ck_assert_str_eq(err, "page.html:2: unknown tag {{>x}}");
}
END_TEST

START_TEST(nesting_limit)
{
	char src[1024] = "", err[256] = "";
	struct tmpl *t;

	/* 32 nested sections are fine, 33 are refused. */
	for (int i = 0; i < 32; i++)
		strcat(src, "{{#a}}");
	for (int i = 0; i < 32; i++)
		strcat(src, "{{/a}}");
	t = tmpl_parse("t.html", src, err, sizeof err);
	ck_assert_msg(t != NULL, "%s", err);
	tmpl_free(t);
	strcpy(src, "{{#a}}");
	for (int i = 0; i < 32; i++)
		strcat(src, "{{#a}}");
	t = tmpl_parse("t.html", src, err, sizeof err);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(err, "t.html:1: "));
	ck_assert_ptr_nonnull(strstr(err, "nested too deep"));
}
END_TEST

/* ---- tmpl_set_load ------------------------------------------------------------------------- */

/*
 * One folder per run, made before the tests fork and removed after them even when one fails;
 * each test starts with it empty.
 */
static char tmpdir[64];

static void
dir_empty(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char path[sizeof tmpdir + sizeof de->d_name + 1];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

static void
dir_make(void)
{
	strcpy(tmpdir, "/tmp/seckill-tmpl-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}

static void
dir_remove(void)
{
	dir_empty();
	rmdir(tmpdir);
}

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void
check_set_render(const struct tmpl_set *set, const char *name, const char *data, const char *want)
{
	const struct tmpl *t = tmpl_set_get(set, name);
	struct json_object *d = json_tokener_parse(data);
	struct buf out;

	ck_assert_msg(t != NULL, "template %s not in the set", name);
	buf_init(&out);
	tmpl_render(t, &d, 1, &out);
	ck_assert_str_eq(buf_str(&out), want);
	buf_free(&out);
	json_object_put(d);
}

START_TEST(set_loads_both)
{
	static const char *const required[] = { "layout", "home", NULL };
	char err[512] = "";
	struct tmpl_set *set;

	write_file("layout.html", "<main>{{raw:content}}</main>\n");
	write_file("home.html", "<h1>{{title}}</h1>\n");
	write_file("notes.txt", "{{>not a template}}");
	write_file(".hidden.html", "{{>not a template}}");
	set = tmpl_set_load(tmpdir, required, err, sizeof err);
	ck_assert_msg(set != NULL, "%s", err);
	check_set_render(set, "layout", "{\"content\":\"<p>x</p>\"}", "<main><p>x</p></main>\n");
	check_set_render(set, "home", "{\"title\":\"A&B\"}", "<h1>A&amp;B</h1>\n");
	ck_assert_ptr_null(tmpl_set_get(set, "notes"));
	ck_assert_ptr_null(tmpl_set_get(set, ".hidden"));
	ck_assert_ptr_null(tmpl_set_get(set, "home.html"));
	tmpl_set_free(set);
}
END_TEST

START_TEST(set_missing_required)
{
	static const char *const required[] = { "home", "error", NULL };
	char err[512] = "", want[512];

	write_file("home.html", "home");
	ck_assert_ptr_null(tmpl_set_load(tmpdir, required, err, sizeof err));
	snprintf(want, sizeof want, "template %s/error.html is missing", tmpdir);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(set_bad_tag_names_file_and_line)
{
	char err[512] = "";

	write_file("good.html", "fine {{x}}");
	write_file("bad.html", "line one\nline two\n  {{>partial}}\n");
	ck_assert_ptr_null(tmpl_set_load(tmpdir, NULL, err, sizeof err));
	ck_assert_str_eq(err, "bad.html:3: unknown tag {{>partial}}");
}
END_TEST

START_TEST(set_missing_dir)
{
	char err[512] = "", dir[128];

	snprintf(dir, sizeof dir, "%s/nope", tmpdir);
	ck_assert_ptr_null(tmpl_set_load(dir, NULL, err, sizeof err));
	ck_assert_msg(strstr(err, dir) != NULL, "error \"%s\" does not name %s", err, dir);
}
END_TEST

START_TEST(set_empty_file_refused)
{
	char err[512] = "";

	write_file("empty.html", "");
	ck_assert_ptr_null(tmpl_set_load(tmpdir, NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "empty.html") != NULL, "error \"%s\"", err);
}
END_TEST

START_TEST(set_bad_utf8_refused)
{
	char err[512] = "";

	write_file("latin1.html", "caf\xe9\n");
	ck_assert_ptr_null(tmpl_set_load(tmpdir, NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "latin1.html") != NULL, "error \"%s\"", err);
	ck_assert_msg(strstr(err, "UTF-8") != NULL, "error \"%s\"", err);
}
END_TEST

static Suite *
tmpl_suite(void)
{
	Suite *s = suite_create("tmpl");
	TCase *tc;

	tc = tcase_create("render");
	tcase_add_test(tc, render_text_only);
	tcase_add_test(tc, render_var);
	tcase_add_test(tc, render_var_escapes_amp);
	tcase_add_test(tc, render_var_escapes_lt_gt);
	tcase_add_test(tc, render_var_escapes_quotes);
	tcase_add_test(tc, render_var_escapes_all);
	tcase_add_test(tc, render_var_utf8);
	tcase_add_test(tc, render_missing_is_empty);
	tcase_add_test(tc, render_container_is_empty);
	tcase_add_test(tc, render_url);
	tcase_add_test(tc, render_url_html_specials);
	tcase_add_test(tc, render_raw);
	tcase_add_test(tc, render_int);
	tcase_add_test(tc, render_bool);
	tcase_add_test(tc, render_dotted);
	tcase_add_test(tc, render_dotted_missing);
	tcase_add_test(tc, render_dot_in_array_of_strings);
	tcase_add_test(tc, render_dot_in_array_of_numbers);
	tcase_add_test(tc, render_comment_dropped);
	tcase_add_test(tc, render_context_stack);
	tcase_add_test(tc, render_twice_same_output);
	suite_add_tcase(s, tc);

	tc = tcase_create("sections");
	tcase_add_test(tc, section_array_of_objects);
	tcase_add_test(tc, section_object);
	tcase_add_test(tc, section_true);
	tcase_add_test(tc, section_false);
	tcase_add_test(tc, section_empty_array);
	tcase_add_test(tc, section_missing);
	tcase_add_test(tc, section_zero);
	tcase_add_test(tc, section_empty_string);
	tcase_add_test(tc, section_truthy_scalars);
	tcase_add_test(tc, section_nested);
	tcase_add_test(tc, section_dotted_name);
	tcase_add_test(tc, inverted_falsy);
	tcase_add_test(tc, inverted_truthy);
	tcase_add_test(tc, section_and_inverted_pair);
	tcase_add_test(tc, section_outer_fallback);
	tcase_add_test(tc, section_inner_shadows_outer);
	tcase_add_test(tc, section_true_keeps_context);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, error_partial_tag);
	tcase_add_test(tc, error_ampersand_tag);
	tcase_add_test(tc, error_space_in_name);
	tcase_add_test(tc, error_unknown_prefix);
	tcase_add_test(tc, error_triple_mustache);
	tcase_add_test(tc, error_empty_tag);
	tcase_add_test(tc, error_bad_names);
	tcase_add_test(tc, error_unclosed_section);
	tcase_add_test(tc, error_unclosed_inner_section);
	tcase_add_test(tc, error_mismatched_close);
	tcase_add_test(tc, error_stray_close);
	tcase_add_test(tc, error_unterminated_tag);
	tcase_add_test(tc, error_sets_no_template);
	tcase_add_test(tc, nesting_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("set");
	tcase_add_unchecked_fixture(tc, dir_make, dir_remove);
	tcase_add_checked_fixture(tc, dir_empty, dir_empty);
	tcase_add_test(tc, set_loads_both);
	tcase_add_test(tc, set_missing_required);
	tcase_add_test(tc, set_bad_tag_names_file_and_line);
	tcase_add_test(tc, set_missing_dir);
	tcase_add_test(tc, set_empty_file_refused);
	tcase_add_test(tc, set_bad_utf8_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(tmpl_suite());
}

/* html: the escapers by output context, the URL decoder and the UTF-8 check. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "html.h"
#include "unit.h"

/* Runs an escaper over s and compares with the exact expected text. */
static void
check_escape(void (*esc)(struct buf *, const char *), const char *s, const char *want)
{
	struct buf b;

	buf_init(&b);
	esc(&b, s);
	ck_assert_msg(strcmp(buf_str(&b), want) == 0, "escaping \"%s\": got \"%s\", want \"%s\"",
	    s, buf_str(&b), want);
	ck_assert_uint_eq(b.len, strlen(want));
	buf_free(&b);
}

/* Decodes s (all of it) and returns the result; *out must be freed. */
static long
decode(const char *s, int plus, char **out)
{
	size_t len = strlen(s);

	*out = calloc(1, len + 1);
	ck_assert_ptr_nonnull(*out);
	return html_url_decode(s, len, *out, plus);
}

static void
check_decode(const char *s, int plus, const char *want)
{
	char *out;
	long n = decode(s, plus, &out);

	ck_assert_msg(n == (long)strlen(want), "decoding \"%s\": length %ld, want %zu", s, n,
	    strlen(want));
	ck_assert_msg(strcmp(out, want) == 0, "decoding \"%s\": got \"%s\", want \"%s\"", s, out,
	    want);
	free(out);
}

static void
check_decode_fails(const char *s)
{
	char *out;
	long n = decode(s, 1, &out);

	ck_assert_msg(n == -1, "decoding \"%s\" should fail, got %ld (\"%s\")", s, n, out);
	free(out);
}

static int
valid(const char *s)
{
	return html_utf8_valid(s, strlen(s));
}

/* ---- html_txt ------------------------------------------------------------------------------ */

START_TEST(txt_amp)
{
	check_escape(html_txt, "a&b", "a&amp;b");
}
END_TEST

START_TEST(txt_lt)
{
	check_escape(html_txt, "a<b", "a&lt;b");
}
END_TEST

START_TEST(txt_gt)
{
	check_escape(html_txt, "a>b", "a&gt;b");
}
END_TEST

START_TEST(txt_dquote)
{
	check_escape(html_txt, "a\"b", "a&quot;b");
}
END_TEST

START_TEST(txt_squote)
{
	check_escape(html_txt, "a'b", "a&#39;b");
}
END_TEST

START_TEST(txt_all_specials)
{
	check_escape(html_txt, "<script>alert('x' & \"y\")</script>",
	    "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;");
}
END_TEST

START_TEST(txt_specials_at_edges)
{
	check_escape(html_txt, "&", "&amp;");
	check_escape(html_txt, "<<>>", "&lt;&lt;&gt;&gt;");
	check_escape(html_txt, "'x'", "&#39;x&#39;");
}
END_TEST

START_TEST(txt_plain_unchanged)
{
	check_escape(html_txt, "plain text 123", "plain text 123");
	check_escape(html_txt, "", "");
}
END_TEST

START_TEST(txt_keeps_backtick_and_equals)
{
	check_escape(html_txt, "a=`b`", "a=`b`");
}
END_TEST

START_TEST(txt_utf8_untouched)
{
	check_escape(html_txt, "中文 & café", "中文 &amp; café");
}
END_TEST

START_TEST(txt_appends)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "<p>");
	html_txt(&b, "1<2");
	buf_puts(&b, "</p>");
	ck_assert_str_eq(buf_str(&b), "<p>1&lt;2</p>");
	buf_free(&b);
}
END_TEST

/* ---- html_attr ----------------------------------------------------------------------------- */

START_TEST(attr_backtick)
{
	check_escape(html_attr, "a`b", "a&#96;b");
}
END_TEST

START_TEST(attr_equals)
{
	check_escape(html_attr, "a=b", "a&#61;b");
}
END_TEST

START_TEST(attr_html_specials)
{
	check_escape(html_attr, "&<>\"'", "&amp;&lt;&gt;&quot;&#39;");
}
END_TEST

START_TEST(attr_mixed)
{
	check_escape(html_attr, "x\" onmouseover=`alert(1)`",
	    "x&quot; onmouseover&#61;&#96;alert(1)&#96;");
	check_escape(html_attr, "中文", "中文");
}
END_TEST

/* ---- html_url_arg -------------------------------------------------------------------------- */

START_TEST(url_arg_unreserved_kept)
{
	check_escape(html_url_arg,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");
}
END_TEST

START_TEST(url_arg_space)
{
	check_escape(html_url_arg, "a b", "a%20b");
}
END_TEST

START_TEST(url_arg_reserved)
{
	check_escape(html_url_arg, "/", "%2F");
	check_escape(html_url_arg, "?", "%3F");
	check_escape(html_url_arg, "&", "%26");
	check_escape(html_url_arg, "=", "%3D");
	check_escape(html_url_arg, "#", "%23");
	check_escape(html_url_arg, "%", "%25");
	check_escape(html_url_arg, "+", "%2B");
}
END_TEST

START_TEST(url_arg_sentence)
{
	check_escape(html_url_arg, "a b/c?d=e&f#g%h", "a%20b%2Fc%3Fd%3De%26f%23g%25h");
}
END_TEST

START_TEST(url_arg_non_ascii)
{
	check_escape(html_url_arg, "中", "%E4%B8%AD");
	check_escape(html_url_arg, "é", "%C3%A9");
	check_escape(html_url_arg, "\x7f\x01", "%7F%01");
}
END_TEST

START_TEST(url_arg_html_specials)
{
	check_escape(html_url_arg, "<\"'>", "%3C%22%27%3E");
}
END_TEST

/* ---- html_url_decode ----------------------------------------------------------------------- */

START_TEST(decode_plain)
{
	check_decode("hello", 0, "hello");
	check_decode("", 0, "");
}
END_TEST

START_TEST(decode_percent41)
{
	check_decode("%41", 0, "A");
	check_decode("x%41y", 0, "xAy");
}
END_TEST

START_TEST(decode_hex_case)
{
	check_decode("%c3%a9", 0, "é");
	check_decode("%C3%A9", 0, "é");
	check_decode("%c3%A9", 0, "é");
	check_decode("%2f%2F", 0, "//");
}
END_TEST

START_TEST(decode_plus_as_space)
{
	check_decode("a+b", 1, "a b");
	check_decode("++", 1, "  ");
}
END_TEST

START_TEST(decode_plus_kept)
{
	check_decode("a+b", 0, "a+b");
}
END_TEST

START_TEST(decode_encoded_plus_stays_plus)
{
	check_decode("%2B", 1, "+");
	check_decode("%20", 1, " ");
}
END_TEST

START_TEST(decode_respects_len)
{
	char out[8];

	ck_assert_int_eq(html_url_decode("%41BC", 3, out, 0), 1);
	ck_assert_str_eq(out, "A");
	/* "%4" of "%41" is a cut-off escape when only two bytes are given. */
	ck_assert_int_eq(html_url_decode("%41", 2, out, 0), -1);
}
END_TEST

START_TEST(decode_bad_lone_percent)
{
	check_decode_fails("%");
	check_decode_fails("abc%");
}
END_TEST

START_TEST(decode_bad_short_escape)
{
	check_decode_fails("%4");
	check_decode_fails("abc%4");
}
END_TEST

START_TEST(decode_bad_hex)
{
	check_decode_fails("%zz");
	check_decode_fails("%4g");
	check_decode_fails("%g4");
	check_decode_fails("% 41");
}
END_TEST

START_TEST(decode_nul_rejected)
{
	check_decode_fails("%00");
	check_decode_fails("a%00b");
}
END_TEST

START_TEST(decode_raw_nul_rejected)
{
	char out[4];

	ck_assert_int_eq(html_url_decode("a\0b", 3, out, 0), -1);
}
END_TEST

START_TEST(decode_bad_utf8_c3_28)
{
	check_decode_fails("%C3%28");
}
END_TEST

START_TEST(decode_overlong_c0af)
{
	check_decode_fails("%C0%AF");
	check_decode_fails("%E0%80%AF");
	check_decode_fails("%F0%80%80%AF");
}
END_TEST

START_TEST(decode_surrogate)
{
	check_decode_fails("%ED%A0%80");
	check_decode_fails("%ED%BF%BF");
}
END_TEST

START_TEST(decode_lone_continuation)
{
	check_decode_fails("%80");
	check_decode_fails("a%BFb");
}
END_TEST

START_TEST(decode_truncated_sequence)
{
	check_decode_fails("%E4%B8");
	check_decode_fails("%C3");
}
END_TEST

START_TEST(decode_emoji_ok)
{
	check_decode("%F0%9F%98%80", 0, "\xF0\x9F\x98\x80");
	check_decode("%f0%9f%98%80!", 1, "😀!");
}
END_TEST

START_TEST(decode_raw_utf8_passes)
{
	check_decode("中文", 0, "中文");
}
END_TEST

START_TEST(decode_above_max_codepoint)
{
	check_decode_fails("%F4%90%80%80");
	check_decode_fails("%F5%80%80%80");
}
END_TEST

/* ---- html_utf8_valid ----------------------------------------------------------------------- */

START_TEST(utf8_empty_and_ascii)
{
	ck_assert_int_eq(html_utf8_valid("", 0), 1);
	ck_assert_int_eq(valid("plain ascii ~\x7f"), 1);
}
END_TEST

START_TEST(utf8_boundaries_valid)
{
	ck_assert_int_eq(valid("\xC2\x80"), 1);		/* U+0080 */
	ck_assert_int_eq(valid("\xDF\xBF"), 1);		/* U+07FF */
	ck_assert_int_eq(valid("\xE0\xA0\x80"), 1);	/* U+0800 */
	ck_assert_int_eq(valid("\xED\x9F\xBF"), 1);	/* U+D7FF */
	ck_assert_int_eq(valid("\xEE\x80\x80"), 1);	/* U+E000 */
	ck_assert_int_eq(valid("\xEF\xBF\xBF"), 1);	/* U+FFFF */
	ck_assert_int_eq(valid("\xF0\x90\x80\x80"), 1);	/* U+10000 */
	ck_assert_int_eq(valid("\xF4\x8F\xBF\xBF"), 1);	/* U+10FFFF */
}
END_TEST

START_TEST(utf8_overlongs_invalid)
{
	ck_assert_int_eq(valid("\xC0\x80"), 0);
	ck_assert_int_eq(valid("\xC1\xBF"), 0);
	ck_assert_int_eq(valid("\xE0\x9F\xBF"), 0);
	ck_assert_int_eq(valid("\xF0\x8F\xBF\xBF"), 0);
}
END_TEST

START_TEST(utf8_surrogates_invalid)
{
	ck_assert_int_eq(valid("\xED\xA0\x80"), 0);	/* U+D800 */
	ck_assert_int_eq(valid("\xED\xBF\xBF"), 0);	/* U+DFFF */
}
END_TEST

START_TEST(utf8_out_of_range_invalid)
{
	ck_assert_int_eq(valid("\xF4\x90\x80\x80"), 0);	/* U+110000 */
	ck_assert_int_eq(valid("\xF5\x80\x80\x80"), 0);
	ck_assert_int_eq(valid("\xFE"), 0);
	ck_assert_int_eq(valid("\xFF"), 0);
}
END_TEST

START_TEST(utf8_truncated_invalid)
{
	ck_assert_int_eq(valid("\xC3"), 0);
	ck_assert_int_eq(valid("\xE4\xB8"), 0);
	ck_assert_int_eq(valid("\xF0\x9F\x98"), 0);
	/* The length counts, not the NUL: "中" cut after two bytes. */
	ck_assert_int_eq(html_utf8_valid("中", 2), 0);
	ck_assert_int_eq(html_utf8_valid("中", 3), 1);
}
END_TEST

START_TEST(utf8_bad_continuation_invalid)
{
	ck_assert_int_eq(valid("\xE4\x41\x41"), 0);
	ck_assert_int_eq(valid("\xC3\x28"), 0);
	ck_assert_int_eq(valid("\x80"), 0);
	ck_assert_int_eq(valid("a\xBF"), 0);
}
END_TEST

START_TEST(utf8_nul_invalid)
{
	ck_assert_int_eq(html_utf8_valid("a\0b", 3), 0);
	ck_assert_int_eq(html_utf8_valid("\0", 1), 0);
}
END_TEST

START_TEST(utf8_mixed_text_valid)
{
	ck_assert_int_eq(valid("Grüße, 中文, 😀 and ascii"), 1);
}
END_TEST

static Suite *
html_suite(void)
{
	Suite *s = suite_create("html");
	TCase *tc;

	tc = tcase_create("txt");
	tcase_add_test(tc, txt_amp);
	tcase_add_test(tc, txt_lt);
	tcase_add_test(tc, txt_gt);
	tcase_add_test(tc, txt_dquote);
	tcase_add_test(tc, txt_squote);
	tcase_add_test(tc, txt_all_specials);
	tcase_add_test(tc, txt_specials_at_edges);
	tcase_add_test(tc, txt_plain_unchanged);
	tcase_add_test(tc, txt_keeps_backtick_and_equals);
	tcase_add_test(tc, txt_utf8_untouched);
	tcase_add_test(tc, txt_appends);
	suite_add_tcase(s, tc);

	tc = tcase_create("attr");
	tcase_add_test(tc, attr_backtick);
	tcase_add_test(tc, attr_equals);
	tcase_add_test(tc, attr_html_specials);
	tcase_add_test(tc, attr_mixed);
	suite_add_tcase(s, tc);

	tc = tcase_create("url_arg");
	tcase_add_test(tc, url_arg_unreserved_kept);
	tcase_add_test(tc, url_arg_space);
	tcase_add_test(tc, url_arg_reserved);
	tcase_add_test(tc, url_arg_sentence);
	tcase_add_test(tc, url_arg_non_ascii);
	tcase_add_test(tc, url_arg_html_specials);
	suite_add_tcase(s, tc);

	tc = tcase_create("url_decode");
	tcase_add_test(tc, decode_plain);
	tcase_add_test(tc, decode_percent41);
	tcase_add_test(tc, decode_hex_case);
	tcase_add_test(tc, decode_plus_as_space);
	tcase_add_test(tc, decode_plus_kept);
	tcase_add_test(tc, decode_encoded_plus_stays_plus);
	tcase_add_test(tc, decode_respects_len);
	tcase_add_test(tc, decode_bad_lone_percent);
	tcase_add_test(tc, decode_bad_short_escape);
	tcase_add_test(tc, decode_bad_hex);
	tcase_add_test(tc, decode_nul_rejected);
	tcase_add_test(tc, decode_raw_nul_rejected);
	tcase_add_test(tc, decode_bad_utf8_c3_28);
	tcase_add_test(tc, decode_overlong_c0af);
	tcase_add_test(tc, decode_surrogate);
	tcase_add_test(tc, decode_lone_continuation);
	tcase_add_test(tc, decode_truncated_sequence);
	tcase_add_test(tc, decode_emoji_ok);
	tcase_add_test(tc, decode_raw_utf8_passes);
	tcase_add_test(tc, decode_above_max_codepoint);
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8_valid");
	tcase_add_test(tc, utf8_empty_and_ascii);
	tcase_add_test(tc, utf8_boundaries_valid);
	tcase_add_test(tc, utf8_overlongs_invalid);
	tcase_add_test(tc, utf8_surrogates_invalid);
	tcase_add_test(tc, utf8_out_of_range_invalid);
	tcase_add_test(tc, utf8_truncated_invalid);
	tcase_add_test(tc, utf8_bad_continuation_invalid);
	tcase_add_test(tc, utf8_nul_invalid);
	tcase_add_test(tc, utf8_mixed_text_valid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(html_suite());
}

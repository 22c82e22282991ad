/* captcha: the random text, and PNGs that decode, carry the text and differ every time. */
#include <stdlib.h>
#include <string.h>

#include <gd.h>

#include "captcha.h"
#include "unit.h"

#define FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

static const unsigned char png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static void
setup(void)
{
	ck_assert_msg(captcha_init(FONT) == 0, "captcha_init(%s) failed (fonts-dejavu-core)", FONT);
}

static void
teardown(void)
{
	captcha_shutdown();
}

/* Draws text and decodes the PNG again; the image must be freed. */
static gdImagePtr
draw(const char *text)
{
	gdImagePtr im;
	void *png;
	int len = -1;

	png = captcha_png(text, &len);
	ck_assert_msg(png != NULL, "captcha_png(\"%s\") failed", text);
	ck_assert_int_gt(len, (int)sizeof png_signature);
	ck_assert_msg(memcmp(png, png_signature, sizeof png_signature) == 0,
	    "\"%s\": no PNG signature", text);
	im = gdImageCreateFromPngPtr(len, png);
	captcha_free(png);
	ck_assert_msg(im != NULL, "\"%s\": libgd cannot read the PNG back", text);
	return im;
}

/* Pixels dark enough to be text (the background is light). */
static int
dark_pixels(gdImagePtr im)
{
	int x, y, n = 0;

	for (y = 0; y < gdImageSY(im); y++) {
		for (x = 0; x < gdImageSX(im); x++) {
			int c = gdImageGetTrueColorPixel(im, x, y);

			if (gdTrueColorGetRed(c) + gdTrueColorGetGreen(c) + gdTrueColorGetBlue(c) < 300)
				n++;
		}
	}
	return n;
}

static void
check_fails(const char *text)
{
	int len = 12345;
	void *png = captcha_png(text, &len);

	ck_assert_msg(png == NULL, "captcha_png should refuse \"%s\"", text);
	ck_assert_int_eq(len, 0);
}

/* ---- captcha_text ------------------------------------------------------------------------- */

START_TEST(alphabet_unambiguous)
{
	/* Pairs a person can mix up: at most one of each may be in the alphabet. */
	static const char *const confusable[] = {
		"0O", "0D", "0Q", "OQ", "OD", "1I", "1L", "IL", "1J", "2Z", "5S", "8B", "6G",
		"UV", "EF", "9G",
	};
	const char *p;
	size_t i;

	ck_assert_uint_ge(strlen(captcha_alphabet), 16);
	for (p = captcha_alphabet; *p != '\0'; p++) {
		ck_assert_msg(strchr(p + 1, *p) == NULL, "'%c' twice in the alphabet", *p);
		ck_assert_msg((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'),
		    "'%c' is neither an upper-case letter nor a digit", *p);
	}
	ck_assert_ptr_null(strpbrk(captcha_alphabet, "0O1I5S2Z"));
	for (i = 0; i < sizeof confusable / sizeof confusable[0]; i++)
		ck_assert_msg(!(strchr(captcha_alphabet, confusable[i][0]) &&
		    strchr(captcha_alphabet, confusable[i][1])),
		    "both '%c' and '%c' are in the alphabet", confusable[i][0], confusable[i][1]);
}
END_TEST

START_TEST(text_length_and_alphabet)
{
	char out[16];
	size_t n, i;

	for (n = 0; n <= 12; n++) {
		memset(out, '#', sizeof out);
		captcha_text(out, n);
		ck_assert_uint_eq(strlen(out), n);
		ck_assert_int_eq(out[n + 1], '#');
		for (i = 0; i < n; i++)
			ck_assert_msg(strchr(captcha_alphabet, out[i]) != NULL,
			    "'%c' is not in the alphabet", out[i]);
	}
}
END_TEST

START_TEST(text_differs)
{
	char seen[20][9];
	int i, j;

	for (i = 0; i < 20; i++) {
		captcha_text(seen[i], 8);
		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(seen[i], seen[j]) != 0, "\"%s\" drawn twice", seen[i]);
	}
}
END_TEST

START_TEST(text_uses_whole_alphabet)
{
	char out[101];
	int hits[256] = { 0 };
	const char *p;
	int round, i;

	for (round = 0; round < 100; round++) {
		captcha_text(out, 100);
		for (i = 0; i < 100; i++)
			hits[(unsigned char)out[i]]++;
	}
	/* 10000 draws from about 20 characters: each expected about 500 times. */
	for (p = captcha_alphabet; *p != '\0'; p++)
		ck_assert_msg(hits[(unsigned char)*p] > 250 && hits[(unsigned char)*p] < 800,
		    "'%c' drawn %d times in 10000", *p, hits[(unsigned char)*p]);
}
END_TEST

/* ---- captcha_init ------------------------------------------------------------------------- */

START_TEST(init_missing_font)
{
	ck_assert_int_eq(captcha_init("/nonexistent/DejaVuSans-Bold.ttf"), -1);
	check_fails("ABC");
	captcha_shutdown();
}
END_TEST

START_TEST(init_not_a_font)
{
	ck_assert_int_eq(captcha_init("/etc/passwd"), -1);
	ck_assert_int_eq(captcha_init(""), -1);
	check_fails("ABC");
	captcha_shutdown();
}
END_TEST

START_TEST(init_twice)
{
	gdImagePtr im;

	ck_assert_int_eq(captcha_init(FONT), 0);
	ck_assert_int_eq(captcha_init(FONT), 0);
	im = draw("ACE");
	gdImageDestroy(im);
	captcha_shutdown();
	check_fails("ACE");
}
END_TEST

/* ---- captcha_png -------------------------------------------------------------------------- */

START_TEST(png_valid)
{
	char text[6];
	gdImagePtr im;

	captcha_text(text, 5);
	im = draw(text);
	ck_assert(!gdImageTrueColor(im));	/* a palette PNG: one byte a pixel */
	ck_assert_int_eq(gdImageSX(im), CAPTCHA_W);
	ck_assert_int_eq(gdImageSY(im), CAPTCHA_H);
	ck_assert_int_ge(CAPTCHA_W, 140);
	ck_assert_int_le(CAPTCHA_W, 200);
	ck_assert_int_ge(CAPTCHA_H, 50);
	ck_assert_int_le(CAPTCHA_H, 80);
	gdImageDestroy(im);
}
END_TEST

START_TEST(png_shows_text)
{
	int i, with_text = 0, without = 0;

	/* Noise and lines are dark too, so compare with text that has almost no ink. */
	for (i = 0; i < 20; i++) {
		gdImagePtr a = draw("AB3C4"), b = draw(".....");

		with_text += dark_pixels(a);
		without += dark_pixels(b);
		gdImageDestroy(a);
		gdImageDestroy(b);
	}
	ck_assert_msg(with_text / 20 > without / 20 + 300,
	    "\"AB3C4\" has %d dark pixels on average, \".....\" %d", with_text / 20, without / 20);
}
END_TEST

START_TEST(png_random)
{
	gdImagePtr a = draw("HKM4"), b = draw("HKM4");
	int x, y, differ = 0;

	for (y = 0; y < CAPTCHA_H; y++)
		for (x = 0; x < CAPTCHA_W; x++)
			differ += gdImageGetTrueColorPixel(a, x, y) != gdImageGetTrueColorPixel(b, x, y);
	ck_assert_msg(differ > CAPTCHA_W * CAPTCHA_H / 4, "only %d of %d pixels differ", differ,
	    CAPTCHA_W * CAPTCHA_H);
	gdImageDestroy(a);
	gdImageDestroy(b);
}
END_TEST

START_TEST(png_every_length_and_char)
{
	char text[CAPTCHA_MAX_TEXT + 1];
	size_t n;
	int c = '!';

	for (n = 1; n <= CAPTCHA_MAX_TEXT; n++) {
		memset(text, 'W', n);
		text[n] = '\0';
		gdImageDestroy(draw(text));
	}
	/* Every printable ASCII character, eight at a time. */
	while (c <= '~') {
		for (n = 0; n < CAPTCHA_MAX_TEXT && c <= '~'; n++)
			text[n] = (char)c++;
		text[n] = '\0';
		gdImageDestroy(draw(text));
	}
}
END_TEST

START_TEST(png_rejects_bad_text)
{
	char toolong[CAPTCHA_MAX_TEXT + 2];

	memset(toolong, 'A', CAPTCHA_MAX_TEXT + 1);
	toolong[CAPTCHA_MAX_TEXT + 1] = '\0';
	check_fails("");
	check_fails(toolong);
	check_fails("AB CD");
	check_fails("AB\tC");
	check_fails("caf\xc3\xa9");
}
END_TEST

static Suite *
captcha_suite(void)
{
	Suite *s = suite_create("captcha");
	TCase *tc;

	tc = tcase_create("text");
	tcase_add_test(tc, alphabet_unambiguous);
	tcase_add_test(tc, text_length_and_alphabet);
	tcase_add_test(tc, text_differs);
	tcase_add_test(tc, text_uses_whole_alphabet);
	suite_add_tcase(s, tc);

	tc = tcase_create("init");
	tcase_add_test(tc, init_missing_font);
	tcase_add_test(tc, init_not_a_font);
	tcase_add_test(tc, init_twice);
	suite_add_tcase(s, tc);

	tc = tcase_create("png");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, png_valid);
	tcase_add_test(tc, png_shows_text);
	tcase_add_test(tc, png_random);
	tcase_add_test(tc, png_every_length_and_char);
	tcase_add_test(tc, png_rejects_bad_text);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(captcha_suite());
}

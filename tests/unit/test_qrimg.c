/* qrimg: the PNGs are small 1-bit images of the right size, with a white quiet zone, the
 * modules qrimg_code chose, and a real reader (zbarimg) gets the exact text back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gd.h>
#include <qrencode.h>

#include "qrimg.h"
#include "unit.h"

/* Blank modules a reader needs around the code (ISO/IEC 18004): spelled out, not QRIMG_QUIET,
 * so that shrinking the constant fails here. */
#define QUIET 4
/* The kind of URL the app puts in a QR code. */
#define URL "http://127.0.0.1:8080/m/qr/0123456789abcdef0123456789abcdef"

static const unsigned char png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

/* Texts that must come back from a reader byte for byte. */
static const char *const texts[] = {
	URL,
	"http://127.0.0.1:8080/m/qr/abc?x=1&y=a%20b&z==&q=?&&",
	"https://Shop.Example.COM/Orders/AbCdEf?Ref=MiXeD&id=42",
	"0123456789",
	"x",
	"~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./ plain ASCII, with spaces",
};

static unsigned long
be32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 |
	    p[3];
}

/* qrimg_png, checked down to the PNG header: signature, IHDR first, 1-bit greyscale. Free the
 * result with qrimg_free. */
static void *
make(const char *text, int scale, int *len)
{
	const unsigned char *b;
	void *png;

	*len = -1;
	png = qrimg_png(text, scale, len);
	ck_assert_msg(png != NULL, "qrimg_png(\"%.40s\", %d) failed", text, scale);
	ck_assert_int_gt(*len, 33);
	b = png;
	ck_assert_msg(memcmp(b, png_signature, sizeof png_signature) == 0, "no PNG signature");
	ck_assert_msg(memcmp(b + 12, "IHDR", 4) == 0, "IHDR is not the first chunk");
	ck_assert_msg(b[24] == 1 && b[25] == 0,
	    "bit depth %d, colour type %d: want a 1-bit greyscale PNG (1, 0)", b[24], b[25]);
	ck_assert_uint_eq(be32(b + 16), be32(b + 20));
	return png;
}

/* make, then read back with libgd; destroy the image. */
static gdImagePtr
load(const char *text, int scale)
{
	gdImagePtr im;
	void *png;
	int len;

	png = make(text, scale, &len);
	im = gdImageCreateFromPngPtr(len, png);
	qrimg_free(png);
	ck_assert_msg(im != NULL, "libgd cannot read the PNG back");
	return im;
}

/* The code libqrencode makes for text, as qrimg is documented to ask for it. */
static QRcode *
encode(const char *text)
{
	QRcode *qr = qrimg_code(text);

	ck_assert_msg(qr != NULL, "qrimg_code cannot encode \"%.40s\"", text);
	return qr;
}

/* 1 black, 0 white; anything else fails. */
static int
dark(gdImagePtr im, int x, int y)
{
	int c = gdImageGetPixel(im, x, y);
	int r = gdImageRed(im, c), g = gdImageGreen(im, c), b = gdImageBlue(im, c);

	ck_assert_msg((r == 0 && g == 0 && b == 0) || (r == 255 && g == 255 && b == 255),
	    "pixel (%d,%d) is #%02x%02x%02x, neither black nor white", x, y, r, g, b);
	return r == 0;
}

/* Writes png to a temporary file, runs `zbarimg --raw -q` on it and returns what it read
 * without the newline after it: in out, NUL-terminated. Fails the test if zbarimg is absent. */
static void
decode(const void *png, int len, char *out, size_t size)
{
	const char *dir = getenv("TMPDIR");
	char path[512], cmd[640];
	size_t n = 0, got;
	FILE *f, *p;
	int fd, status;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(path, sizeof path, "%s/test_qrimg.XXXXXX", dir);
	ck_assert_msg(strchr(path, '\'') == NULL, "TMPDIR holds a quote: %s", dir);
	fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp(%s) failed", path);
	f = fdopen(fd, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(png, 1, (size_t)len, f), (size_t)len);
	ck_assert_int_eq(fclose(f), 0);

	/* zbarimg complains about D-Bus on stderr even with -q; keep stdout only. */
	snprintf(cmd, sizeof cmd, "zbarimg --raw -q '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "popen(zbarimg) failed");
	while (n < size - 1 && (got = fread(out + n, 1, size - 1 - n, p)) > 0)
		n += got;
	out[n] = '\0';
	status = pclose(p);
	unlink(path);
	ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 127),
	    "zbarimg not found: install zbar-tools to check that the QR codes decode");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "zbarimg found no QR code (exit status %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
}

/* Draws text at scale and checks a reader gets exactly text back. */
static void
check_decodes(const char *text, int scale)
{
	char got[4096];
	void *png;
	int len;

	png = make(text, scale, &len);
	decode(png, len, got, sizeof got);
	qrimg_free(png);
	ck_assert_msg(strcmp(got, text) == 0, "scale %d: encoded \"%s\", zbarimg read \"%s\"",
	    scale, text, got);
}

static void
check_fails(const char *text, int scale)
{
	int len = 12345;
	void *png = qrimg_png(text, scale, &len);

	ck_assert_msg(png == NULL, "qrimg_png(\"%.20s\" (%zu bytes), %d) should fail",
	    text != NULL ? text : "(null)", text != NULL ? strlen(text) : (size_t)0, scale);
	ck_assert_int_eq(len, 0);
}

/* ---- the image ---------------------------------------------------------------------------- */

START_TEST(png_small_one_bit)
{
	void *png;
	int len;

	png = make(URL, 8, &len);
	/* A 328 x 328 1-bit image of a version 4 code: a few hundred bytes. */
	ck_assert_msg(len < 1024, "%d bytes for a %zu-byte URL", len, strlen(URL));
	qrimg_free(png);
	qrimg_free(NULL);
}
END_TEST

START_TEST(png_size_follows_modules_and_scale)
{
	static const int scales[] = { 1, 2, 3, 8, 10, QRIMG_MAX_SCALE };
	gdImagePtr im;
	QRcode *qr;
	size_t i, j;

	im = load(URL, 8);
	ck_assert_int_eq(gdImageSX(im), 328);	/* 33 modules: (33 + 8) * 8 */
	ck_assert_int_eq(gdImageSY(im), 328);
	gdImageDestroy(im);

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		qr = encode(texts[i]);
		for (j = 0; j < sizeof scales / sizeof scales[0]; j++) {
			im = load(texts[i], scales[j]);
			ck_assert_int_eq(gdImageSX(im), (qr->width + 2 * QUIET) * scales[j]);
			ck_assert_int_eq(gdImageSY(im), gdImageSX(im));
			ck_assert(!gdImageTrueColor(im));
			gdImageDestroy(im);
		}
		QRcode_free(qr);
	}
}
END_TEST

START_TEST(png_quiet_zone_white)
{
	static const int scales[] = { 1, 8, 10 };
	int s, side, q, a, b, white;
	gdImagePtr im;
	size_t j;

	for (j = 0; j < sizeof scales / sizeof scales[0]; j++) {
		s = scales[j];
		im = load(URL, s);
		side = gdImageSX(im);
		q = QUIET * s;
		white = 0;
		/* The first and last q rows and columns. */
		for (a = 0; a < q; a++) {
			for (b = 0; b < side; b++) {
				ck_assert_msg(!dark(im, b, a) && !dark(im, b, side - 1 - a) &&
				    !dark(im, a, b) && !dark(im, side - 1 - a, b),
				    "scale %d: quiet zone not white at row/column %d, %d", s, a, b);
				white++;
			}
		}
		ck_assert_int_eq(white, q * side);
		/* The finder pattern's corner starts right inside it. */
		ck_assert(dark(im, q, q));
		ck_assert(dark(im, side - 1 - q, q));
		ck_assert(dark(im, q, side - 1 - q));
		gdImageDestroy(im);
	}
}
END_TEST

START_TEST(png_modules_are_the_code)
{
	static const int scales[] = { 1, 3, 8 };
	int s, x, y, dx, dy, want, ndark = 0;
	gdImagePtr im;
	QRcode *qr;
	size_t i, j;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		qr = encode(texts[i]);
		for (j = 0; j < sizeof scales / sizeof scales[0]; j++) {
			s = scales[j];
			im = load(texts[i], s);
			for (y = 0; y < qr->width; y++) {
				for (x = 0; x < qr->width; x++) {
					want = qr->data[y * qr->width + x] & 1;
					ndark += want;
					/* Every pixel of the module, not only its middle. */
					for (dy = 0; dy < s; dy++)
						for (dx = 0; dx < s; dx++)
							ck_assert_msg(dark(im,
							    (QUIET + x) * s + dx,
							    (QUIET + y) * s + dy) == want,
							    "\"%.20s\" scale %d: module (%d,%d) "
							    "should be %s", texts[i], s, x, y,
							    want ? "black" : "white");
				}
			}
			gdImageDestroy(im);
		}
		QRcode_free(qr);
	}
	ck_assert_int_gt(ndark, 0);
}
END_TEST

/* ---- what a reader sees ------------------------------------------------------------------- */

START_TEST(decodes_texts)
{
	size_t i;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
		check_decodes(texts[i], 8);
}
END_TEST

/* zbar finds no code with modules of one pixel (pyzbar #74, zbar #296), however clean; phone
 * cameras never see one that small either. So a scale 1 image is blown up 4 times, nearest
 * neighbour, before zbarimg reads it: the pixels it reads are the ones qrimg drew. */
static void
check_decodes_scale_1(const char *text)
{
	gdImagePtr im, big;
	char got[4096];
	void *png;
	int len, side;

	im = load(text, 1);
	side = gdImageSX(im);
	big = gdImageCreate(side * 4, side * 4);
	ck_assert_ptr_nonnull(big);
	gdImagePaletteCopy(big, im);
	gdImageCopyResized(big, im, 0, 0, 0, 0, side * 4, side * 4, side, side);
	png = gdImagePngPtr(big, &len);
	ck_assert_ptr_nonnull(png);
	decode(png, len, got, sizeof got);
	gdFree(png);
	gdImageDestroy(big);
	gdImageDestroy(im);
	ck_assert_msg(strcmp(got, text) == 0, "scale 1: encoded \"%s\", zbarimg read \"%s\"",
	    text, got);
}

START_TEST(decodes_scale_1_2_and_10)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		check_decodes_scale_1(texts[i]);
		check_decodes(texts[i], 2);
		check_decodes(texts[i], 10);
	}
}
END_TEST

START_TEST(decodes_long_url)
{
	char url[501];
	size_t n;

	/* About as long as a URL the app would make gets: 500 bytes, query included. */
	n = (size_t)snprintf(url, sizeof url, "%s?", URL);
	while (n < sizeof url - 1) {
		url[n] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789&=%-_."[n % 68];
		n++;
	}
	url[n] = '\0';
	check_decodes(url, 4);
}
END_TEST

/* ---- refusals ----------------------------------------------------------------------------- */

START_TEST(rejects_too_long)
{
	static char big[5001];

	memset(big, 'a', 5000);
	big[5000] = '\0';
	check_fails(big, 8);
	big[QRIMG_MAX_TEXT + 1] = '\0';
	check_fails(big, 8);
}
END_TEST

START_TEST(accepts_longest)
{
	static char text[QRIMG_MAX_TEXT + 1];
	gdImagePtr im;
	QRcode *qr;

	memset(text, 'a', QRIMG_MAX_TEXT);
	text[QRIMG_MAX_TEXT] = '\0';
	qr = encode(text);
	im = load(text, QRIMG_MAX_SCALE);
	ck_assert_int_eq(gdImageSX(im), (qr->width + 2 * QUIET) * QRIMG_MAX_SCALE);
	gdImageDestroy(im);
	QRcode_free(qr);
	check_decodes(text, 2);
}
END_TEST

START_TEST(rejects_bad_arguments)
{
	check_fails("", 8);
	check_fails(NULL, 8);
	check_fails(URL, 0);
	check_fails(URL, -1);
	check_fails(URL, QRIMG_MAX_SCALE + 1);
}
END_TEST

static Suite *
qrimg_suite(void)
{
	Suite *s = suite_create("qrimg");
	TCase *tc;

	tc = tcase_create("png");
	tcase_add_test(tc, png_small_one_bit);
	tcase_add_test(tc, png_size_follows_modules_and_scale);
	tcase_add_test(tc, png_quiet_zone_white);
	tcase_add_test(tc, png_modules_are_the_code);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, decodes_texts);
	tcase_add_test(tc, decodes_scale_1_2_and_10);
	tcase_add_test(tc, decodes_long_url);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, rejects_too_long);
	tcase_add_test(tc, accepts_longest);
	tcase_add_test(tc, rejects_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(qrimg_suite());
}

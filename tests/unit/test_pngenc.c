/* pngenc: every image it writes reads back, pixel for pixel, through libgd (that is, libpng
 * and zlib's inflate, which check the CRCs and the Adler-32), whatever mix of runs, repeated
 * rows and noise it holds, at every awkward size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gd.h>

#include "pngenc.h"
#include "unit.h"

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static unsigned
rnd(unsigned n)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (unsigned)(seed % n);
}

enum fill { NOISE, RUNS, ROWS, MIXED };

/* w x h bytes: noise, long runs, rows that repeat the one above, or a bit of each. */
static unsigned char *
pixels(size_t stride, int h, enum fill fill, unsigned colours)
{
	unsigned char *p = malloc(stride * (size_t)h);

	ck_assert_ptr_nonnull(p);
	for (int y = 0; y < h; y++) {
		unsigned char *row = p + (size_t)y * stride;
		enum fill f = fill == MIXED ? (enum fill)rnd(3) : fill;

		for (size_t x = 0; x < stride; x++) {
			if (f == NOISE || (y == 0 && f == ROWS))
				row[x] = (unsigned char)rnd(colours);
			else if (f == RUNS)
				row[x] = x > 0 && rnd(300) != 0 ? row[x - 1] : (unsigned char)rnd(colours);
			else
				row[x] = rnd(50) != 0 ? row[(ptrdiff_t)x - (ptrdiff_t)stride] :
				    (unsigned char)rnd(colours);
		}
	}
	return p;
}

static unsigned char (*palette(void))[3]
{
	static unsigned char pal[256][3];

	for (int i = 0; i < 256; i++) {
		pal[i][0] = (unsigned char)i;
		pal[i][1] = (unsigned char)(255 - i);
		pal[i][2] = (unsigned char)(i * 7);
	}
	return pal;
}

/* Encodes, decodes with libgd, and compares every pixel with what was given. */
static void
round_trip(int w, int h, enum pngenc_kind kind, enum fill fill)
{
	size_t stride = kind == PNGENC_GRAY1 ? ((size_t)w + 7) / 8 :
	    kind == PNGENC_RGB8 ? 3 * (size_t)w : (size_t)w;
	unsigned colours = kind == PNGENC_PALETTE8 ? 200 : 256;
	unsigned char *p = pixels(stride, h, fill, colours), **rows = calloc((size_t)h, sizeof *rows);
	unsigned char (*pal)[3] = palette();
	gdImagePtr im;
	void *png;
	int len;

	ck_assert_ptr_nonnull(rows);
	for (int y = 0; y < h; y++)
		rows[y] = p + (size_t)y * stride;
	png = pngenc_encode(w, h, kind, (const unsigned char (*)[3])pal, (int)colours, rows, &len);
	ck_assert_msg(png != NULL, "%dx%d not encoded", w, h);
	im = gdImageCreateFromPngPtr(len, png);
	ck_assert_msg(im != NULL, "%dx%d (kind %d, fill %d): libgd cannot read it back", w, h, kind,
	    fill);
	ck_assert_int_eq(gdImageSX(im), w);
	ck_assert_int_eq(gdImageSY(im), h);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			int c = gdImageGetPixel(im, x, y), want_r, want_g, want_b;

			if (kind == PNGENC_GRAY1) {
				int bit = rows[y][x / 8] >> (7 - x % 8) & 1;

				want_r = want_g = want_b = bit ? 255 : 0;
			} else if (kind == PNGENC_RGB8) {
				want_r = rows[y][3 * x];
				want_g = rows[y][3 * x + 1];
				want_b = rows[y][3 * x + 2];
			} else {
				const unsigned char *e = pal[rows[y][x]];

				want_r = e[0];
				want_g = e[1];
				want_b = e[2];
			}
			if (gdImageRed(im, c) != want_r || gdImageGreen(im, c) != want_g ||
			    gdImageBlue(im, c) != want_b)
				ck_abort_msg("%dx%d (kind %d, fill %d): pixel (%d, %d) is %d,%d,%d, "
				    "not %d,%d,%d", w, h, kind, fill, x, y, gdImageRed(im, c),
				    gdImageGreen(im, c), gdImageBlue(im, c), want_r, want_g, want_b);
		}
	}
	gdImageDestroy(im);
	pngenc_free(png);
	free(rows);
	free(p);
}

START_TEST(palette_every_fill)
{
	for (int f = NOISE; f <= MIXED; f++) {
		round_trip(160, 60, PNGENC_PALETTE8, (enum fill)f);
		round_trip(257, 9, PNGENC_PALETTE8, (enum fill)f);
		round_trip(1000, 40, PNGENC_PALETTE8, (enum fill)f);
	}
}
END_TEST

/* Runs of whole pixels (the chart's flat areas), as well as of bytes. */
START_TEST(rgb_every_fill)
{
	for (int f = NOISE; f <= MIXED; f++) {
		round_trip(720, 240, PNGENC_RGB8, (enum fill)f);
		round_trip(3, 7, PNGENC_RGB8, (enum fill)f);
	}
}
END_TEST

START_TEST(gray_every_fill)
{
	for (int f = NOISE; f <= MIXED; f++) {
		round_trip(328, 328, PNGENC_GRAY1, (enum fill)f);
		round_trip(13, 5, PNGENC_GRAY1, (enum fill)f);	/* rows end mid-byte */
		round_trip(2100, 30, PNGENC_GRAY1, (enum fill)f);
	}
}
END_TEST

/* One pixel; one row (no row above to repeat); one column (every row a repeat or not). */
START_TEST(tiny_and_thin)
{
	round_trip(1, 1, PNGENC_PALETTE8, NOISE);
	round_trip(1, 1, PNGENC_GRAY1, NOISE);
	round_trip(1, 1, PNGENC_RGB8, NOISE);
	round_trip(500, 1, PNGENC_PALETTE8, RUNS);
	round_trip(1, 500, PNGENC_PALETTE8, ROWS);
	round_trip(1, 500, PNGENC_GRAY1, MIXED);
}
END_TEST

/* Rows longer than deflate's 32 KiB window: the row above is out of reach, runs still work. */
START_TEST(rows_beyond_the_window)
{
	round_trip(40000, 3, PNGENC_PALETTE8, ROWS);
	round_trip(40000, 2, PNGENC_PALETTE8, RUNS);
}
END_TEST

/* Flat images come out small: the matches are found, not only literals written. */
START_TEST(flat_is_small)
{
	unsigned char row[1000], *rows[400];
	unsigned char pal[1][3] = { { 9, 9, 9 } };
	void *png;
	int len;

	memset(row, 0, sizeof row);
	for (int y = 0; y < 400; y++)
		rows[y] = row;
	png = pngenc_encode(1000, 400, PNGENC_PALETTE8, (const unsigned char (*)[3])pal, 1, rows,
	    &len);
	ck_assert_ptr_nonnull(png);
	ck_assert_msg(len < 8000, "a flat 1000x400 image took %d bytes (400 KB as literals)", len);
	pngenc_free(png);
}
END_TEST

START_TEST(rejects_bad_arguments)
{
	unsigned char row[4] = { 0 }, *rows[1] = { row };
	unsigned char pal[1][3] = { { 0, 0, 0 } };
	int len = 7;

	ck_assert_ptr_null(pngenc_encode(0, 1, PNGENC_GRAY1, NULL, 0, rows, &len));
	ck_assert_int_eq(len, 0);
	ck_assert_ptr_null(pngenc_encode(1, 0, PNGENC_GRAY1, NULL, 0, rows, &len));
	ck_assert_ptr_null(pngenc_encode(PNGENC_MAX_SIDE + 1, 1, PNGENC_GRAY1, NULL, 0, rows, &len));
	ck_assert_ptr_null(pngenc_encode(PNGENC_MAX_SIDE, PNGENC_MAX_SIDE, PNGENC_GRAY1, NULL, 0, rows,
	    &len));	/* 512 MiB of rows: refused before a row is read */
	ck_assert_ptr_null(pngenc_encode(4, 1, PNGENC_PALETTE8, (const unsigned char (*)[3])pal, 0,
	    rows, &len));
	ck_assert_ptr_null(pngenc_encode(4, 1, PNGENC_PALETTE8, (const unsigned char (*)[3])pal, 257,
	    rows, &len));
}
END_TEST

static Suite *
pngenc_suite(void)
{
	Suite *s = suite_create("pngenc");
	TCase *tc = tcase_create("round trip");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, palette_every_fill);
	tcase_add_test(tc, gray_every_fill);
	tcase_add_test(tc, rgb_every_fill);
	tcase_add_test(tc, tiny_and_thin);
	tcase_add_test(tc, rows_beyond_the_window);
	tcase_add_test(tc, flat_is_small);
	tcase_add_test(tc, rejects_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(pngenc_suite());
}

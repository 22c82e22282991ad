#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include <gd.h>
#include <sodium.h>

#include "captcha.h"
#include "log.h"
#include "pngenc.h"
#include "xmem.h"

#define CAPTCHA_PI	3.14159265358979323846
#define CAPTCHA_PT	25.0	/* glyphs are drawn once at the largest size, then scaled down */
#define CAPTCHA_PAD	3	/* px around a glyph while it is drawn, in case gd's box is tight */
#define CAPTCHA_MARGIN	8	/* px kept free left and right of the text */
#define CAPTCHA_TILT	25	/* a character turns by up to this many degrees either way */
#define CAPTCHA_DOTS	320	/* noise dots per image */
#define CAPTCHA_FIRST	'!'	/* the printable ASCII range captcha_png can draw */
#define CAPTCHA_LAST	'~'

const char captcha_alphabet[] = "346789ACEHJKMNPRTUWXY";

/*
 * Every printable character is rendered once, by captcha_init, with gdImageStringFT into a
 * coverage mask (0 = background, 255 = ink) cropped to its ink. captcha_png then turns, scales
 * and colours the masks itself. Calling gdImageStringFT per character per image costs about
 * 145 us each: libgd makes two new FreeType sizes on every call, and each runs the font's
 * hinting program; five of those alone would hold one core below 1000 images a second.
 */
struct captcha_glyph {
	unsigned char *mask;	/* w * h, rows top to bottom; here, with a border (below) */
	int w, h;
};
/* In the worker a mask has a border of 0 one pixel wide around it, (w + 2) * (h + 2), so that
 * interpolating next to an edge needs no test. */
#define CAPTCHA_AT(g, x, y) ((g)->mask[((y) + 1) * ((g)->w + 2) + (x) + 1])

static struct captcha_glyph captcha_glyphs[CAPTCHA_LAST - CAPTCHA_FIRST + 1];
static int captcha_ready;

/* The drawing only needs variety, not secrecy: a splitmix64 stream seeded from libsodium once
 * per image, so that a few hundred noise dots cost no system call each. */
struct captcha_rng {
	uint64_t s;
};

static uint32_t
captcha_rand(struct captcha_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* A number in [lo, hi]. */
static int
captcha_between(struct captcha_rng *r, int lo, int hi)
{
	return lo + (int)(captcha_rand(r) % (uint32_t)(hi - lo + 1));
}

static int
captcha_colour(struct captcha_rng *r, int lo, int hi)
{
	return gdTrueColor(captcha_between(r, lo, hi), captcha_between(r, lo, hi),
	    captcha_between(r, lo, hi));
}

/* A dark colour of any hue, for the text and the lines through it. */
static int
captcha_ink(struct captcha_rng *r)
{
	int red, green, blue;

	do {
		red = captcha_between(r, 0, 170);
		green = captcha_between(r, 0, 150);
		blue = captcha_between(r, 0, 170);
	} while (red + green + blue > 300);
	return gdTrueColor(red, green, blue);
}

/* sin and cos for |a| <= 30 degrees, where these few terms are exact to 1e-7; spares libm. */
static void
captcha_sincos(double a, double *sn, double *cs)
{
	double a2 = a * a;

	*sn = a * (1 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42 * (1 - a2 / 72))));
	*cs = 1 - a2 / 2 * (1 - a2 / 12 * (1 - a2 / 30 * (1 - a2 / 56)));
}

static void
captcha_glyphs_free(void)
{
	size_t i;

	for (i = 0; i < sizeof captcha_glyphs / sizeof captcha_glyphs[0]; i++) {
		free(captcha_glyphs[i].mask);
		captcha_glyphs[i].mask = NULL;
		captcha_glyphs[i].w = captcha_glyphs[i].h = 0;
	}
	captcha_ready = 0;
}

/* Renders ch white on black with gdImageStringFT and keeps the red channel of its ink box;
 * 0 ok, -1 (logged). */
static int
captcha_glyph_make(const char *font, char ch, struct captcha_glyph *g)
{
	char s[2] = { ch, '\0' };
	int brect[8], w, h, x, y, left, right, top, bottom;
	gdImagePtr im;
	char *err;

	err = gdImageStringFT(NULL, brect, 0, font, CAPTCHA_PT, 0.0, 0, 0, s);
	if (err != NULL) {
		log_err("captcha: font %s: '%c': %s", font, ch, err);
		return -1;
	}
	/* Upright, brect[0..1] is the lower left corner and brect[4..5] the upper right. */
	w = brect[4] - brect[0] + 1 + 2 * CAPTCHA_PAD;
	h = brect[1] - brect[5] + 1 + 2 * CAPTCHA_PAD;
	if (w < 1 || h < 1 || w > 200 || h > 200) {
		log_err("captcha: font %s: '%c' measures %dx%d px", font, ch, w, h);
		return -1;
	}
	im = gdImageCreateTrueColor(w, h);
	if (im == NULL) {
		log_err("captcha: cannot create a %dx%d glyph image", w, h);
		return -1;
	}
	err = gdImageStringFT(im, brect, gdTrueColor(255, 255, 255), font, CAPTCHA_PT, 0.0,
	    CAPTCHA_PAD - brect[6], CAPTCHA_PAD - brect[7], s);
	if (err != NULL) {
		log_err("captcha: font %s: drawing '%c': %s", font, ch, err);
		gdImageDestroy(im);
		return -1;
	}
	left = w;
	right = -1;
	top = h;
	bottom = -1;
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++) {
			if (gdTrueColorGetRed(gdImageGetTrueColorPixel(im, x, y)) == 0)
				continue;
			left = x < left ? x : left;
			right = x > right ? x : right;
			top = y < top ? y : top;
			bottom = y > bottom ? y : bottom;
		}
	}
	if (right < 0) {
		log_err("captcha: font %s has no ink for '%c'", font, ch);
		gdImageDestroy(im);
		return -1;
	}
	g->w = right - left + 1;
	g->h = bottom - top + 1;
	g->mask = xmalloc((size_t)g->w * (size_t)g->h);
	for (y = 0; y < g->h; y++)
		for (x = 0; x < g->w; x++)
			g->mask[y * g->w + x] = (unsigned char)gdTrueColorGetRed(
			    gdImageGetTrueColorPixel(im, left + x, top + y));
	gdImageDestroy(im);
	return 0;
}

/* The whole of fd's next n bytes (or what a write sends): 0, or -1 at an error or early end. */
static int
captcha_full(int fd, void *p, size_t n, int writing)
{
	char *b = p;

	while (n > 0) {
		ssize_t k = writing ? write(fd, b, n) : read(fd, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* In the child: opens the font, renders every glyph and writes each (w, h, mask) to fd. */
static int
captcha_render(const char *font_path, int fd)
{
	int brect[8];
	char *err;

	if (gdFontCacheSetup() != 0) {
		log_err("captcha: libgd cannot set up its font cache (FreeType)");
		return -1;
	}
	/* Measuring the alphabet opens the face once: a clear error for a file that is no font. */
	err = gdImageStringFT(NULL, brect, 0, font_path, CAPTCHA_PT, 0.0, 0, 0, captcha_alphabet);
	if (err != NULL) {
		log_err("captcha: font %s: %s", font_path, err);
		return -1;
	}
	for (int c = CAPTCHA_FIRST; c <= CAPTCHA_LAST; c++) {
		struct captcha_glyph g;
		int wh[2];

		if (captcha_glyph_make(font_path, (char)c, &g) != 0)
			return -1;
		wh[0] = g.w;
		wh[1] = g.h;
		if (captcha_full(fd, wh, sizeof wh, 1) != 0 ||
		    captcha_full(fd, g.mask, (size_t)g.w * (size_t)g.h, 1) != 0)
			return -1;
		free(g.mask);
	}
	return 0;
}

int
captcha_init(const char *font_path)
{
	int fd[2], status, c, rc = 0;
	pid_t pid;

	captcha_glyphs_free();
	if (sodium_init() < 0) {
		log_err("captcha: libsodium cannot be initialised");
		return -1;
	}
	if (font_path == NULL || *font_path == '\0') {
		log_err("captcha: no font file configured");
		return -1;
	}
	/* libgd reads ';' as a separator between alternative fonts. */
	if (strchr(font_path, ';') != NULL) {
		log_err("captcha: font path %s: ';' is not allowed", font_path);
		return -1;
	}
	if (access(font_path, R_OK) != 0) {
		log_err("captcha: font %s: %s", font_path, strerror(errno));
		return -1;
	}
	/*
	 * FreeType, fontconfig and the font are only needed for these masks: a child process
	 * renders them and sends them down a pipe, so that this process never maps the font nor
	 * touches those libraries' code (about 1 MiB less in each worker).
	 */
	if (pipe(fd) != 0) {
		log_err("captcha: pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_err("captcha: fork: %s", strerror(errno));
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		close(fd[0]);
		_exit(captcha_render(font_path, fd[1]) == 0 ? 0 : 1);
	}
	close(fd[1]);
	for (c = CAPTCHA_FIRST; c <= CAPTCHA_LAST && rc == 0; c++) {
		struct captcha_glyph *g = &captcha_glyphs[c - CAPTCHA_FIRST];
		int wh[2];

		if (captcha_full(fd[0], wh, sizeof wh, 0) != 0 || wh[0] < 1 || wh[1] < 1 ||
		    wh[0] > 200 || wh[1] > 200) {
			rc = -1;
			break;
		}
		g->w = wh[0];
		g->h = wh[1];
		g->mask = xcalloc((size_t)(g->w + 2) * (size_t)(g->h + 2), 1);
		for (int y = 0; y < g->h && rc == 0; y++)
			rc = captcha_full(fd[0], &CAPTCHA_AT(g, 0, y), (size_t)g->w, 0);
	}
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_err("captcha: the glyphs of %s could not be rendered", font_path);
		captcha_glyphs_free();
		return -1;
	}
	captcha_ready = 1;
	return 0;
}

void
captcha_shutdown(void)
{
	captcha_glyphs_free();
}

void
captcha_text(char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = captcha_alphabet[randombytes_uniform(sizeof captcha_alphabet - 1)];
	out[n] = '\0';
}

/* A light background that drifts from one tint to another from left to right: one row made,
 * then copied down (gdImageLine per column costs a call per pixel). */
static void
captcha_background(gdImagePtr im, struct captcha_rng *r)
{
	int from[3], to[3], x, y, k;

	for (k = 0; k < 3; k++) {
		from[k] = captcha_between(r, 215, 255);
		to[k] = captcha_between(r, 215, 255);
	}
	for (x = 0; x < CAPTCHA_W; x++) {
		int c[3];

		for (k = 0; k < 3; k++)
			c[k] = from[k] + (to[k] - from[k]) * x / (CAPTCHA_W - 1);
		im->tpixels[0][x] = gdTrueColor(c[0], c[1], c[2]);
	}
	for (y = 1; y < CAPTCHA_H; y++)
		memcpy(im->tpixels[y], im->tpixels[0], CAPTCHA_W * sizeof im->tpixels[0][0]);
}

/* A cubic Bezier from near the left edge to near the right one, bending through the text. */
static void
captcha_curve(gdImagePtr im, struct captcha_rng *r, int colour, int thickness)
{
	enum { SEGMENTS = 20 };
	double x0 = captcha_between(r, 0, 20), y0 = captcha_between(r, 12, CAPTCHA_H - 12);
	double x1 = captcha_between(r, 30, 75), y1 = captcha_between(r, -25, CAPTCHA_H + 25);
	double x2 = captcha_between(r, 85, 130), y2 = captcha_between(r, -25, CAPTCHA_H + 25);
	double x3 = captcha_between(r, CAPTCHA_W - 21, CAPTCHA_W - 1);
	double y3 = captcha_between(r, 12, CAPTCHA_H - 12);
	int px = (int)x0, py = (int)y0, i;

	gdImageSetThickness(im, thickness);
	for (i = 1; i <= SEGMENTS; i++) {
		double t = (double)i / SEGMENTS, u = 1.0 - t;
		int x = (int)(u * u * u * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 +
		    t * t * t * x3 + 0.5);
		int y = (int)(u * u * u * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 +
		    t * t * t * y3 + 0.5);

		gdImageLine(im, px, py, x, y, colour);
		px = x;
		py = y;
	}
	gdImageSetThickness(im, 1);
}

/* Positions in a glyph's mask are fixed point, in 1/65536 of a mask pixel. */
#define CAPTCHA_FIX 16
#define CAPTCHA_ONE (1 << CAPTCHA_FIX)

/* Converts a position in mask pixels to fixed point, rounded. */
static int32_t
captcha_fix(double v)
{
	return (int32_t)(v * CAPTCHA_ONE + (v >= 0 ? 0.5 : -0.5));
}

/* The mask's coverage at (x, y) (fixed point), between pixel centres by bilinear
 * interpolation. */
static int
captcha_coverage(const struct captcha_glyph *g, int32_t x, int32_t y)
{
	int x0, y0, wx, wy, top, bottom;

	if (x <= -CAPTCHA_ONE || y <= -CAPTCHA_ONE || x >= g->w * CAPTCHA_ONE ||
	    y >= g->h * CAPTCHA_ONE)
		return 0;
	/* x + 1 > 0, so the shift floors it. */
	x0 = (int)((x + CAPTCHA_ONE) >> CAPTCHA_FIX) - 1;
	y0 = (int)((y + CAPTCHA_ONE) >> CAPTCHA_FIX) - 1;
	wx = (int)(((x + CAPTCHA_ONE) & (CAPTCHA_ONE - 1)) >> (CAPTCHA_FIX - 8));	/* 0..255 */
	wy = (int)(((y + CAPTCHA_ONE) & (CAPTCHA_ONE - 1)) >> (CAPTCHA_FIX - 8));
	/* -1 <= x0, y0 and x0 + 1 <= w, y0 + 1 <= h: all four inside the border. */
	top = CAPTCHA_AT(g, x0, y0) * (256 - wx) + CAPTCHA_AT(g, x0 + 1, y0) * wx;
	bottom = CAPTCHA_AT(g, x0, y0 + 1) * (256 - wx) + CAPTCHA_AT(g, x0 + 1, y0 + 1) * wx;
	return (top * (256 - wy) + bottom * wy + (1 << 15)) >> 16;
}

/* One channel of ink over what is there, cov of 255 covered. */
static int
captcha_mix(int ink, int under, int cov)
{
	return (ink * cov + under * (255 - cov) + 127) / 255;
}

/* Draws text[i] in its slot: scaled, turned by up to CAPTCHA_TILT degrees, moved a little,
 * in a colour of its own. */
static void
captcha_char(gdImagePtr im, struct captcha_rng *r, const char *text, size_t i, size_t n)
{
	const struct captcha_glyph *g = &captcha_glyphs[text[i] - CAPTCHA_FIRST];
	double slot = (double)(CAPTCHA_W - 2 * CAPTCHA_MARGIN) / (double)n;
	double scale = captcha_between(r, 80, 100) / 100.0;
	double angle = captcha_between(r, -CAPTCHA_TILT, CAPTCHA_TILT) * CAPTCHA_PI / 180.0;
	double sn, cs, half_w, half_h, cx, cy;
	int ink = captcha_ink(r), x, y, x_start, x_end, y_end;
	int32_t step_x, step_y;

	/* Five characters fit at full size; more get smaller. */
	if (slot < 28.8)
		scale = scale * slot / 28.8;
	captcha_sincos(angle, &sn, &cs);
	/* Half the size of the turned glyph's box. A wide one (W, M) is shrunk to overlap its
	 * neighbours by a few pixels at most: more, and K next to X reads as KXX. */
	half_w = (cs * g->w + (sn < 0 ? -sn : sn) * g->h) / 2;
	half_h = ((sn < 0 ? -sn : sn) * g->w + cs * g->h) / 2;
	if (scale * half_w > slot / 2 + 2)
		scale = (slot / 2 + 2) / half_w;
	half_w *= scale;
	half_h *= scale;
	cx = CAPTCHA_MARGIN + slot * ((double)i + 0.5) + captcha_between(r, -2, 2);
	cy = CAPTCHA_H / 2.0 + captcha_between(r, -7, 7);
	if (cx - half_w < 1)
		cx = 1 + half_w;
	if (cx + half_w > CAPTCHA_W - 2)
		cx = CAPTCHA_W - 2 - half_w;
	if (cy - half_h < 2)
		cy = 2 + half_h;
	if (cy + half_h > CAPTCHA_H - 3)
		cy = CAPTCHA_H - 3 - half_h;

	/* For each pixel of the turned glyph's box (and the pixel the interpolation spills over
	 * it), map its centre back into the mask: one step right is a step of (cs, sn) / scale
	 * there. */
	y = cy - half_h - 2 < 0 ? 0 : (int)(cy - half_h - 2);
	y_end = cy + half_h + 3 > CAPTCHA_H ? CAPTCHA_H : (int)(cy + half_h + 3);
	x_start = cx - half_w - 2 < 0 ? 0 : (int)(cx - half_w - 2);
	x_end = cx + half_w + 3 > CAPTCHA_W ? CAPTCHA_W : (int)(cx + half_w + 3);
	step_x = captcha_fix(cs / scale);
	step_y = captcha_fix(sn / scale);
	for (; y < y_end; y++) {
		double dx = x_start + 0.5 - cx, dy = y + 0.5 - cy;
		int32_t mx = captcha_fix((dx * cs - dy * sn) / scale + g->w / 2.0 - 0.5);
		int32_t my = captcha_fix((dx * sn + dy * cs) / scale + g->h / 2.0 - 0.5);

		for (x = x_start; x < x_end; x++, mx += step_x, my += step_y) {
			int cov = captcha_coverage(g, mx, my);

			/* Blended over what is there (opaque), straight into the pixels. */
			if (cov > 0) {
				int *px = &im->tpixels[y][x], d = *px;

				*px = gdTrueColor(captcha_mix(gdTrueColorGetRed(ink),
				    gdTrueColorGetRed(d), cov), captcha_mix(gdTrueColorGetGreen(ink),
				    gdTrueColorGetGreen(d), cov), captcha_mix(gdTrueColorGetBlue(ink),
				    gdTrueColorGetBlue(d), cov));
			}
		}
	}
}

/*
 * The PNG: drawn in true colour, written with a fixed palette of 252 colours (6 levels of red
 * and of blue, 7 of green, the channel the eye tells best), one byte a pixel instead of three,
 * which is what makes it quick to compress. No dithering: the noise is there already.
 */
static unsigned char captcha_pal[6 * 7 * 6][3], captcha_q6[256], captcha_q7[256];

static void
captcha_palette_init(void)
{
	for (int v = 0; v < 256; v++) {
		captcha_q6[v] = (unsigned char)((v * 6) >> 8);
		captcha_q7[v] = (unsigned char)((v * 7) >> 8);
	}
	for (int r = 0; r < 6; r++)
		for (int g = 0; g < 7; g++)
			for (int b = 0; b < 6; b++) {
				unsigned char *c = captcha_pal[(r * 7 + g) * 6 + b];
				c[0] = (unsigned char)((r * 255 + 2) / 5);
				c[1] = (unsigned char)((g * 255 + 3) / 6);
				c[2] = (unsigned char)((b * 255 + 2) / 5);
			}
}

static void *
captcha_encode(gdImagePtr im, int *len)
{
	static unsigned char idx[CAPTCHA_H][CAPTCHA_W];
	unsigned char *rows[CAPTCHA_H];
	void *png;

	if (captcha_pal[6 * 7 * 6 - 1][0] == 0)
		captcha_palette_init();
	for (int y = 0; y < CAPTCHA_H; y++) {
		for (int x = 0; x < CAPTCHA_W; x++) {
			int c = gdImageTrueColorPixel(im, x, y);
			idx[y][x] = (unsigned char)((captcha_q6[gdTrueColorGetRed(c)] * 7 +
			    captcha_q7[gdTrueColorGetGreen(c)]) * 6 + captcha_q6[gdTrueColorGetBlue(c)]);
		}
		rows[y] = idx[y];
	}
	png = pngenc_encode(CAPTCHA_W, CAPTCHA_H, PNGENC_PALETTE8, (const unsigned char (*)[3])captcha_pal,
	    6 * 7 * 6, rows, len);
	if (png == NULL)
		log_err("captcha: PNG encoding failed");
	return png;
}

void *
captcha_png(const char *text, int *len)
{
	struct captcha_rng rng;
	gdImagePtr im;
	void *png;
	size_t n, i;
	int k;

	*len = 0;
	if (!captcha_ready) {
		log_err("captcha: captcha_init has not succeeded");
		return NULL;
	}
	n = strlen(text);
	if (n == 0 || n > CAPTCHA_MAX_TEXT) {
		log_err("captcha: text of %zu characters (1 to %d can be drawn)", n,
		    CAPTCHA_MAX_TEXT);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (text[i] < CAPTCHA_FIRST || text[i] > CAPTCHA_LAST) {
			log_err("captcha: character 0x%02x cannot be drawn",
			    (unsigned)(unsigned char)text[i]);
			return NULL;
		}
	}
	im = gdImageCreateTrueColor(CAPTCHA_W, CAPTCHA_H);
	if (im == NULL) {
		log_err("captcha: cannot create a %dx%d image", CAPTCHA_W, CAPTCHA_H);
		return NULL;
	}
	randombytes_buf(&rng.s, sizeof rng.s);

	captcha_background(im, &rng);
	/* Faint rings behind everything, and one curve under the text. */
	for (k = captcha_between(&rng, 5, 8); k > 0; k--)
		gdImageEllipse(im, captcha_between(&rng, 0, CAPTCHA_W - 1),
		    captcha_between(&rng, 0, CAPTCHA_H - 1), captcha_between(&rng, 10, 50),
		    captcha_between(&rng, 10, 40), captcha_colour(&rng, 130, 200));
	captcha_curve(im, &rng, captcha_ink(&rng), 2);

	for (i = 0; i < n; i++)
		captcha_char(im, &rng, text, i, n);

	/* Over the text: a curve and a straight line in ink colours, thin enough to read past. */
	captcha_curve(im, &rng, captcha_ink(&rng), captcha_between(&rng, 1, 2));
	gdImageLine(im, captcha_between(&rng, 0, 30), captcha_between(&rng, 5, CAPTCHA_H - 6),
	    captcha_between(&rng, CAPTCHA_W - 31, CAPTCHA_W - 1),
	    captcha_between(&rng, 5, CAPTCHA_H - 6), captcha_ink(&rng));
	for (k = 0; k < CAPTCHA_DOTS; k++)
		gdImageSetPixel(im, captcha_between(&rng, 0, CAPTCHA_W - 1),
		    captcha_between(&rng, 0, CAPTCHA_H - 1),
		    k & 1 ? captcha_ink(&rng) : captcha_colour(&rng, 60, 255));

	png = captcha_encode(im, len);
	gdImageDestroy(im);
	return png;
}

void
captcha_free(void *png)
{
	pngenc_free(png);
}

/*
 * The dashboard's chart (/admin/chart.png): requests and sales per second over the last ten
 * minutes, from the pool-wide series of metrics.c, drawn with libgd (labels in the captcha's
 * FreeType font, else libgd's small font) and encoded by pngenc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gd.h>
#include <gdfonts.h>

#include "chart.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "pngenc.h"
#include "xmem.h"

#define CHART_W 720
#define CHART_H 240
#define CHART_LEFT 54		/* plot area: room for the axis labels around it */
#define CHART_RIGHT (CHART_W - 46)
#define CHART_TOP 40
#define CHART_BOTTOM (CHART_H - 30)
#define CHART_STEPS 4		/* horizontal grid lines above the base line */
#define CHART_PT 7.5		/* label size, points */

struct chart {
	gdImagePtr im;
	int ft;			/* 1 while FreeType draws; 0 after a failure: libgd's small font */
};

/* Says once per process that the chart's font failed (the page reloads it every 2 s). */
static void
chart_font_failed(struct chart *c, const char *err)
{
	static int told;

	if (!told)
		log_warn("chart: font %s: %s; using libgd's built-in font", conf.captcha_font, err);
	told = 1;
	c->ft = 0;
}

/* The width of s in pixels, as chart_text draws it. */
static int
chart_width(struct chart *c, const char *s)
{
	int brect[8];
	char *err;

	if (c->ft) {
		err = gdImageStringFT(NULL, brect, 0, conf.captcha_font, CHART_PT, 0.0, 0, 0,
		    (char *)s);
		if (err == NULL)
			return brect[2] - brect[0];
		chart_font_failed(c, err);
	}
	return (int)strlen(s) * gdFontGetSmall()->w;
}

/* Draws s with its baseline at y; align -1 left of x, 0 centred on x, 1 right of x. */
static void
chart_text(struct chart *c, int x, int y, int align, int colour, const char *s)
{
	int brect[8], w = align < 0 ? 0 : chart_width(c, s);
	char *err;

	x = align < 0 ? x : align == 0 ? x - w / 2 : x - w;
	if (c->ft) {
		err = gdImageStringFT(c->im, brect, colour, conf.captcha_font, CHART_PT, 0.0, x, y,
		    (char *)s);
		if (err == NULL)
			return;
		chart_font_failed(c, err);
	}
	gdImageString(c->im, gdFontGetSmall(), x, y - gdFontGetSmall()->h + 3,
	    (unsigned char *)s, colour);
}

/* The grid step for values up to max: 1, 2 or 5 times a power of ten, CHART_STEPS of them
 * reaching max. */
static unsigned long long
chart_step(unsigned long long max)
{
	unsigned long long p = 1;

	for (;;) {
		if (p * CHART_STEPS >= max)
			return p;
		if (p * 2 * CHART_STEPS >= max)
			return p * 2;
		if (p * 5 * CHART_STEPS >= max)
			return p * 5;
		p *= 10;
	}
}

static int
chart_y(unsigned long long v, unsigned long long top)
{
	return CHART_BOTTOM - (int)((double)v * (CHART_BOTTOM - CHART_TOP) / (double)top + 0.5);
}

static int
chart_x(int i, int n)
{
	return CHART_LEFT + (int)((double)i * (CHART_RIGHT - CHART_LEFT) / (n - 1) + 0.5);
}

/* A legend entry at x: a swatch and the label in colour; returns where the next may start. */
static int
chart_legend(struct chart *c, int x, int colour, const char *label)
{
	gdImageFilledRectangle(c->im, x, 15, x + 14, 18, colour);
	chart_text(c, x + 20, 21, -1, colour, label);
	return x + 20 + chart_width(c, label) + 18;
}

/* The drawing as an RGB PNG (free with pngenc_free); NULL when it cannot be encoded. */
static void *
chart_encode(gdImagePtr im, int *len)
{
	unsigned char *rgb = xmalloc((size_t)CHART_H * 3 * CHART_W), *rows[CHART_H];
	void *png;

	for (int y = 0; y < CHART_H; y++) {
		rows[y] = rgb + (size_t)y * 3 * CHART_W;
		for (int x = 0; x < CHART_W; x++) {
			int c = gdImageTrueColorPixel(im, x, y);

			rows[y][3 * x] = (unsigned char)gdTrueColorGetRed(c);
			rows[y][3 * x + 1] = (unsigned char)gdTrueColorGetGreen(c);
			rows[y][3 * x + 2] = (unsigned char)gdTrueColorGetBlue(c);
		}
	}
	if ((png = pngenc_encode(CHART_W, CHART_H, PNGENC_RGB8, NULL, 0, rows, len)) == NULL)
		log_err("chart: PNG encoding failed");
	free(rgb);
	return png;
}

void *
chart_png(int *len)
{
	unsigned long long requests[METRICS_SERIES], sales[METRICS_SERIES];
	const int n = METRICS_SERIES;
	long long now = clock_wall_ms() / 1000;
	unsigned long long max_r = 0, max_s = 0, sum_s = 0, step_r, step_s;
	int white, plot, grid, axis, ink, muted, blue, blue_fill, red;
	struct chart c = { NULL, 1 };
	gdPoint area[METRICS_SERIES + 2];
	char s[64], s2[64];
	void *png;
	int x;

	*len = 0;
	metrics_series(now - 1, n, requests, sales);
	for (int i = 0; i < n; i++) {
		max_r = requests[i] > max_r ? requests[i] : max_r;
		max_s = sales[i] > max_s ? sales[i] : max_s;
		sum_s += sales[i];
	}
	step_r = chart_step(max_r);
	step_s = chart_step(max_s);
	if ((c.im = gdImageCreateTrueColor(CHART_W, CHART_H)) == NULL) {
		log_err("chart: cannot create a %dx%d image", CHART_W, CHART_H);
		return NULL;
	}
	white = gdTrueColor(255, 255, 255);
	plot = gdTrueColor(251, 252, 253);
	grid = gdTrueColor(230, 232, 236);
	axis = gdTrueColor(160, 166, 176);
	ink = gdTrueColor(29, 33, 41);
	muted = gdTrueColor(123, 130, 144);
	blue = gdTrueColor(29, 95, 209);
	blue_fill = gdTrueColorAlpha(29, 95, 209, 100);
	red = gdTrueColor(232, 56, 27);

	gdImageFilledRectangle(c.im, 0, 0, CHART_W - 1, CHART_H - 1, white);
	gdImageFilledRectangle(c.im, CHART_LEFT, CHART_TOP, CHART_RIGHT, CHART_BOTTOM, plot);

	/* The title, and the legend right-aligned with the plot. */
	chart_text(&c, 12, 21, -1, ink, "Last 10 minutes, per second");
	snprintf(s, sizeof s, "requests/s (peak %llu)", max_r);
	snprintf(s2, sizeof s2, "sales/s (%llu in 10 min)", sum_s);
	x = CHART_RIGHT - (20 + chart_width(&c, s) + 18 + 20 + chart_width(&c, s2));
	x = chart_legend(&c, x, blue, s);
	chart_legend(&c, x, red, s2);

	/* Grid: CHART_STEPS lines, the left scale for requests, the right one for sales. */
	for (int k = 0; k <= CHART_STEPS; k++) {
		int y = chart_y((unsigned long long)k, CHART_STEPS);

		if (k > 0)
			gdImageLine(c.im, CHART_LEFT, y, CHART_RIGHT, y, grid);
		snprintf(s, sizeof s, "%llu", step_r * (unsigned long long)k);
		chart_text(&c, CHART_LEFT - 7, y + 4, 1, blue, s);
		snprintf(s, sizeof s, "%llu", step_s * (unsigned long long)k);
		chart_text(&c, CHART_RIGHT + 7, y + 4, -1, red, s);
	}
	/* A line a minute, labelled every other minute. */
	for (int m = 0; m <= 10; m++) {
		x = chart_x(n - 1 - m * 60 < 0 ? 0 : n - 1 - m * 60, n);
		if (m > 0 && m < 10)
			gdImageDashedLine(c.im, x, CHART_TOP, x, CHART_BOTTOM - 1, grid);
		gdImageLine(c.im, x, CHART_BOTTOM, x, CHART_BOTTOM + 4, axis);
		if (m % 2 == 0) {
			if (m == 0)
				snprintf(s, sizeof s, "now");
			else
				snprintf(s, sizeof s, "-%d min", m);
			chart_text(&c, x, CHART_BOTTOM + 17, m == 10 ? -1 : m == 0 ? 1 : 0, muted,
			    s);
		}
	}

	/* Requests: a soft area under a line. */
	for (int i = 0; i < n; i++) {
		area[i].x = chart_x(i, n);
		area[i].y = chart_y(requests[i], step_r * CHART_STEPS);
	}
	area[n].x = CHART_RIGHT;
	area[n].y = CHART_BOTTOM;
	area[n + 1].x = CHART_LEFT;
	area[n + 1].y = CHART_BOTTOM;
	gdImageFilledPolygon(c.im, area, n + 2, blue_fill);
	gdImageSetThickness(c.im, 2);
	for (int i = 1; i < n; i++)
		gdImageLine(c.im, chart_x(i - 1, n), chart_y(requests[i - 1], step_r * CHART_STEPS),
		    chart_x(i, n), chart_y(requests[i], step_r * CHART_STEPS), blue);
	/* Sales: on top, in the accent colour, with their own scale. */
	for (int i = 1; i < n; i++)
		gdImageLine(c.im, chart_x(i - 1, n), chart_y(sales[i - 1], step_s * CHART_STEPS),
		    chart_x(i, n), chart_y(sales[i], step_s * CHART_STEPS), red);
	gdImageSetThickness(c.im, 1);

	/* Axes last, over the lines' ends. */
	gdImageLine(c.im, CHART_LEFT, CHART_BOTTOM, CHART_RIGHT, CHART_BOTTOM, axis);
	gdImageLine(c.im, CHART_LEFT, CHART_TOP, CHART_LEFT, CHART_BOTTOM, blue);
	gdImageLine(c.im, CHART_RIGHT, CHART_TOP, CHART_RIGHT, CHART_BOTTOM, red);

	png = chart_encode(c.im, len);
	gdImageDestroy(c.im);
	return png;
}

void
chart_free(void *png)
{
	pngenc_free(png);
}

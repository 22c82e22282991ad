#include <errno.h>
#include <string.h>

#include <gd.h>
#include <qrencode.h>

#include "log.h"
#include "qrimg.h"

/* Encodes text; the caller frees the code with QRcode_free. NULL on failure (logged). */
static QRcode *
qrimg_encode(const char *text)
{
	QRcode *qr;

	errno = 0;
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL) {
		if (errno == ERANGE)
			log_err("qrimg: %zu bytes do not fit in a QR code", strlen(text));
		else
			log_err("qrimg: cannot encode %zu bytes: %s", strlen(text),
			    errno != 0 ? strerror(errno) : "unknown error");
	}
	return qr;
}

/* Draws the dark modules of qr into im, each a scale x scale square, a row's run of dark
 * modules as one rectangle. */
static void
qrimg_draw(gdImagePtr im, const QRcode *qr, int scale, int ink)
{
	const unsigned char *row;
	int x, y, run;

	for (y = 0; y < qr->width; y++) {
		row = qr->data + (size_t)y * (size_t)qr->width;
		for (x = 0; x < qr->width; x = run) {
			if (!(row[x] & 1)) {
				run = x + 1;
				continue;
			}
			for (run = x + 1; run < qr->width && (row[run] & 1); run++)
				;
			gdImageFilledRectangle(im, (QRIMG_QUIET + x) * scale,
			    (QRIMG_QUIET + y) * scale, (QRIMG_QUIET + run) * scale - 1,
			    (QRIMG_QUIET + y + 1) * scale - 1, ink);
		}
	}
}

void *
qrimg_png(const char *text, int scale, int *len)
{
	gdImagePtr im;
	QRcode *qr;
	void *png;
	size_t n;
	int side, ink;

	*len = 0;
	n = text != NULL ? strlen(text) : 0;
	if (n == 0 || n > QRIMG_MAX_TEXT) {
		log_err("qrimg: text of %zu bytes (1 to %d can be encoded)", n, QRIMG_MAX_TEXT);
		return NULL;
	}
	if (scale < 1 || scale > QRIMG_MAX_SCALE) {
		log_err("qrimg: scale %d (1 to %d px per module)", scale, QRIMG_MAX_SCALE);
		return NULL;
	}
	qr = qrimg_encode(text);
	if (qr == NULL)
		return NULL;
	side = (qr->width + 2 * QRIMG_QUIET) * scale;
	/* A palette image: gd writes two colours as a 1-bit PNG. The first colour is the
	 * background, so the quiet zone and light modules need no drawing. */
	im = gdImageCreate(side, side);
	if (im == NULL) {
		log_err("qrimg: cannot create a %dx%d image", side, side);
		QRcode_free(qr);
		return NULL;
	}
	gdImageColorAllocate(im, 255, 255, 255);
	ink = gdImageColorAllocate(im, 0, 0, 0);
	qrimg_draw(im, qr, scale, ink);
	QRcode_free(qr);

	/* zlib's default level: 9 takes three times as long and comes out larger. */
	png = gdImagePngPtr(im, len);
	if (png == NULL) {
		log_err("qrimg: PNG encoding failed");
		*len = 0;
	}
	gdImageDestroy(im);
	return png;
}

void
qrimg_free(void *png)
{
	if (png != NULL)
		gdFree(png);
}

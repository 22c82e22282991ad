#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "log.h"
#include "pngenc.h"
#include "qrimg.h"
#include "xmem.h"

#ifdef HAVE_QRCODE_ENCODEMASK
/*
 * libqrencode chooses the mask by drawing the symbol with each of the eight and scoring them
 * (ISO/IEC 18004 7.8.3): 85% of the time of a short URL's code (31 us of 36 here). A reader
 * takes any mask, since the symbol says which one it wears, so one is drawn, and the scoring
 * skipped. libqrencode 3 and 4 export the call for that (their tests use it) without declaring
 * it in qrencode.h; configure checks that it links, and without it the codes are scored.
 */
QRcode *QRcode_encodeMask(QRinput *input, int mask);
#define QRIMG_MASK 0
#endif

QRcode *
qrimg_code(const char *text)
{
	QRcode *qr = NULL;

	errno = 0;
#ifdef HAVE_QRCODE_ENCODEMASK
	QRinput *in = QRinput_new2(0, QR_ECLEVEL_M);

	if (in != NULL && QRinput_append(in, QR_MODE_8, (int)strlen(text),
	    (const unsigned char *)text) == 0)
		qr = QRcode_encodeMask(in, QRIMG_MASK);
	QRinput_free(in);
#else
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
#endif
	if (qr == NULL) {
		if (errno == ERANGE)
			log_err("qrimg: %zu bytes do not fit in a QR code", strlen(text));
		else
			log_err("qrimg: cannot encode %zu bytes: %s", strlen(text),
			    errno != 0 ? strerror(errno) : "unknown error");
	}
	return qr;
}

void *
qrimg_png(const char *text, int scale, int *len)
{
	unsigned char **rows, *bits;
	QRcode *qr;
	void *png;
	size_t n, stride;
	int side, modules;

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
	qr = qrimg_code(text);
	if (qr == NULL)
		return NULL;
	/* Straight from the modules to 1-bit rows (1 white, 0 black): one row of pixels per row
	 * of modules, every pixel row of it pointing at the same bytes. */
	modules = qr->width + 2 * QRIMG_QUIET;
	side = modules * scale;
	stride = ((size_t)side + 7) / 8;
	bits = xcalloc((size_t)modules, stride);
	rows = xcalloc((size_t)side, sizeof *rows);
	memset(bits, 0xff, (size_t)modules * stride);
	for (int y = 0; y < qr->width; y++) {
		unsigned char *row = bits + (size_t)(QRIMG_QUIET + y) * stride;

		for (int x = 0; x < qr->width; x++) {
			if (!(qr->data[(size_t)y * (size_t)qr->width + (size_t)x] & 1))
				continue;
			for (int px = (QRIMG_QUIET + x) * scale, end = px + scale; px < end; px++)
				row[px >> 3] &= (unsigned char)~(0x80 >> (px & 7));
		}
	}
	for (int y = 0; y < side; y++)
		rows[y] = bits + (size_t)(y / scale) * stride;
	QRcode_free(qr);
	png = pngenc_encode(side, side, PNGENC_GRAY1, NULL, 0, rows, len);
	if (png == NULL)
		log_err("qrimg: PNG encoding failed");
	free(rows);
	free(bits);
	return png;
}

void
qrimg_free(void *png)
{
	pngenc_free(png);
}

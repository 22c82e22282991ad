/*
 * PNG encoding with libpng, set for the small images made on each request (captchas, QR
 * codes): no row filters (on a noisy captcha or a flat QR code they cost more time than they
 * save bytes), the caller's zlib level, and a small deflate window, so that zlib's state comes
 * from the heap instead of being mapped and faulted in anew for every image.
 */
#ifndef SK_PNGENC_H
#define SK_PNGENC_H
#include <stddef.h>

enum pngenc_kind {
	PNGENC_GRAY1,	/* 1 bit per pixel, 0 black, 1 white, 8 pixels a byte, high bit first */
	PNGENC_PALETTE8,	/* 1 byte per pixel, an index into the palette */
};

/*
 * Encodes h rows of w pixels (rows[y] points at row y; rows may share a buffer) into a PNG.
 * palette: npalette RGB triples (PNGENC_PALETTE8 only). Returns the bytes (free with pngenc_free)
 * and sets *len, or NULL with *len = 0 (logged).
 */
void *pngenc_encode(int w, int h, enum pngenc_kind kind, const unsigned char (*palette)[3],
    int npalette, unsigned char *const *rows, int level, int *len);
void pngenc_free(void *png);

#endif

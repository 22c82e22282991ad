/*
 * PNG encoding for the small images made on each request (captchas, QR codes), written here
 * instead of through libpng and zlib's deflate: no row filters, and a deflate stream in the
 * fixed Huffman codes whose matches are runs and repeats of the row above. On these images
 * its output is a fifth (captcha) to a third (QR code) larger than zlib's at level 1, in a
 * fifth of the time (zlib's Huffman coding alone took half of a captcha's time). zlib still
 * computes the checksums.
 */
#ifndef SK_PNGENC_H
#define SK_PNGENC_H
#include <stddef.h>

#define PNGENC_MAX_SIDE 65535

enum pngenc_kind {
	PNGENC_GRAY1,	/* 1 bit per pixel, 0 black, 1 white, 8 pixels a byte, high bit first */
	PNGENC_PALETTE8,	/* 1 byte per pixel, an index into the palette */
	PNGENC_RGB8,	/* 3 bytes per pixel: red, green, blue */
};

/*
 * Encodes h rows of w pixels (rows[y] points at row y; rows may share a buffer) into a PNG.
 * palette: npalette RGB triples (PNGENC_PALETTE8 only). Returns the bytes (free with pngenc_free)
 * and sets *len, or NULL with *len = 0 (logged).
 * At most PNGENC_MAX_SIDE pixels a side and 64 MiB of rows.
 */
void *pngenc_encode(int w, int h, enum pngenc_kind kind, const unsigned char (*palette)[3],
    int npalette, unsigned char *const *rows, int *len);
void pngenc_free(void *png);

#endif

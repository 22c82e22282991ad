/* QR code images: text (a URL) encoded with libqrencode and written as a 1-bit PNG (libpng). */
#ifndef SK_QRIMG_H
#define SK_QRIMG_H

/* Blank modules kept around the code on every side; readers need at least 4. */
#define QRIMG_QUIET 4
/* Longest text qrimg_png will encode, in bytes (a code of about 130 modules). */
#define QRIMG_MAX_TEXT 1024
/* Largest module size in pixels; the image is (modules + 2 * QRIMG_QUIET) * scale square. */
#define QRIMG_MAX_SCALE 16

/* Encodes text (1..QRIMG_MAX_TEXT bytes, NUL-terminated) as a QR code: error correction level
 * M, case kept, numeric/alphanumeric/8-bit segments as short as libqrencode can make them, the
 * smallest version that holds it. Draws it black on white, scale (1..QRIMG_MAX_SCALE) pixels
 * per module, with a quiet zone of QRIMG_QUIET modules: a 33-module code at scale 8 is
 * (33 + 8) * 8 = 328 px square. The PNG is a 1-bit greyscale image, a few hundred bytes for a
 * short URL. Returns the PNG bytes and sets *len, or NULL with *len = 0 on failure (logged:
 * empty or too long text, bad scale, out of memory). Free with qrimg_free. */
void *qrimg_png(const char *text, int scale, int *len);
/* Frees what qrimg_png returned; NULL is fine. */
void qrimg_free(void *png);

#endif

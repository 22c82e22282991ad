/* QR code images: text (a URL) encoded with libqrencode and written as a 1-bit PNG (pngenc). */
#ifndef SK_QRIMG_H
#define SK_QRIMG_H
#include <qrencode.h>

/* Blank modules kept around the code on every side; readers need at least 4. */
#define QRIMG_QUIET 4
/* Longest text qrimg_png will encode, in bytes (a code of about 130 modules). */
#define QRIMG_MAX_TEXT 1024
/* Largest module size in pixels; the image is (modules + 2 * QRIMG_QUIET) * scale square. */
#define QRIMG_MAX_SCALE 16

/* Encodes text (1..QRIMG_MAX_TEXT bytes, NUL-terminated) as a QR code: error correction level
 * M, one 8-bit segment, the smallest version that holds it, one fixed mask where libqrencode
 * lets us skip the scoring of all eight (see qrimg.c). Draws it black on white, scale
 * (1..QRIMG_MAX_SCALE) pixels per module, with a quiet zone of QRIMG_QUIET modules: a
 * 33-module code at scale 8 is (33 + 8) * 8 = 328 px square. The PNG is a 1-bit greyscale
 * image, about a kilobyte for a short URL. Returns the PNG bytes and sets *len, or NULL with
 * *len = 0 on failure (logged: empty or too long text, bad scale, out of memory). Free with
 * qrimg_free. */
void *qrimg_png(const char *text, int scale, int *len);
/* Frees what qrimg_png returned; NULL is fine. */
void qrimg_free(void *png);
/* The code qrimg_png draws for text (any length libqrencode takes), or NULL (logged). Free
 * with QRcode_free. */
QRcode *qrimg_code(const char *text);

#endif

/* Captcha images: random text from an unambiguous alphabet, drawn distorted into a PNG (libgd). */
#ifndef SK_CAPTCHA_H
#define SK_CAPTCHA_H
#include <stddef.h>

/* Size of the images captcha_png draws. */
#define CAPTCHA_W 160
#define CAPTCHA_H 60
/* Longest text captcha_png will draw. */
#define CAPTCHA_MAX_TEXT 8

/* The characters captcha_text picks from: upper case and digits only, none that a person could
 * take for another (no 0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V, E/F...). Compare answers after
 * upper-casing them. */
extern const char captcha_alphabet[];

/* Sets up libgd's font cache, checks the font file can be used and renders every printable
 * character of it once (about 25 ms, 40 KB); 0 ok, -1 (logged). Call once at start, before
 * any captcha_png; calling it again replaces the glyphs. */
int captcha_init(const char *font_path);
/* Frees the glyphs and libgd's font cache (FreeType state). */
void captcha_shutdown(void);

/* Fills out[0..n) with random characters from captcha_alphabet and NUL-terminates: out holds
 * n + 1 bytes. The randomness comes from libsodium. */
void captcha_text(char *out, size_t n);

/* Draws text (1..CAPTCHA_MAX_TEXT characters '!'..'~') as a CAPTCHA_W x CAPTCHA_H PNG:
 * each character rotated and moved at random, curves and lines through the text, noise dots.
 * Returns the PNG bytes and sets *len, or NULL on failure (logged). Free with captcha_free. */
void *captcha_png(const char *text, int *len);
/* Frees what captcha_png returned; NULL is fine. */
void captcha_free(void *png);

#endif

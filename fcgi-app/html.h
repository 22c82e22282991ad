/* Escapers named by output context, and the decoders for what arrives in URLs and forms. */
#ifndef SK_HTML_H
#define SK_HTML_H
#include <stddef.h>

struct buf;

/* Text between tags; also safe inside a double- or single-quoted attribute. */
void html_txt(struct buf *out, const char *s);
/* An attribute value (quoted): as html_txt, plus ` and = for unquoted-attribute safety. */
void html_attr(struct buf *out, const char *s);
/* A URL path segment or query value: everything but A-Z a-z 0-9 - . _ ~ is percent-encoded. */
void html_url_arg(struct buf *out, const char *s);

/*
 * Decodes %XX escapes (and '+' as space when plus_is_space) of s[0..len) into out, which must
 * hold len + 1 bytes. Returns the decoded length, or -1 for a bad escape, a decoded NUL byte or
 * text that is not valid UTF-8.
 */
long html_url_decode(const char *s, size_t len, char *out, int plus_is_space);
/* 1 when s[0..len) is well-formed UTF-8 without NUL bytes (no overlongs, no surrogates). */
int html_utf8_valid(const char *s, size_t len);

#endif

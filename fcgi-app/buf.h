/* A growable byte buffer, kept between requests and reset, not freed. */
#ifndef SK_BUF_H
#define SK_BUF_H
#include <stddef.h>

struct buf {
	char *data;	/* always NUL-terminated once anything was added */
	size_t len, cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The contents as a string ("" when empty). */
const char *buf_str(struct buf *b);

#endif

/* Allocation wrappers that never return NULL: out of memory aborts the process. */
#ifndef SK_XMEM_H
#define SK_XMEM_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif

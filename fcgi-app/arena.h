/* Per-request memory: many small allocations, freed at once by arena_reset. */
#ifndef SK_ARENA_H
#define SK_ARENA_H
#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;	/* newest chunk first */
	size_t chunk_size;
};

void arena_init(struct arena *a, size_t chunk_size);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Frees everything but the first chunk, which is kept for the next request. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif

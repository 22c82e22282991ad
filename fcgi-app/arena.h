/*
 * Per-request memory: many small allocations, freed at once by arena_reset. What lives
 * outside it (a json-c object, a libgd image, a hiredis reply) can be handed to the arena
 * with a cleanup, as nginx's pool cleanups: it is released at the reset, newest first, so a
 * handler owns nothing it must remember to free.
 */
#ifndef SK_ARENA_H
#define SK_ARENA_H
#include <stddef.h>

struct arena_chunk;
struct arena_cleanup;
struct json_object;

struct arena {
	struct arena_chunk *head;	/* newest chunk first */
	size_t chunk_size;
	struct arena_cleanup *cleanups;	/* newest first, run by arena_reset and arena_free */
};

void arena_init(struct arena *a, size_t chunk_size);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Runs fn(p) at the next reset (or free). Returns p, for chaining; NULL p registers nothing. */
void *arena_cleanup(struct arena *a, void (*fn)(void *), void *p);
/* A json-c object the arena owns: put at the reset. Returns o. */
struct json_object *arena_json(struct arena *a, struct json_object *o);
/* Runs the cleanups, then frees everything but the first chunk, kept for the next request. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif

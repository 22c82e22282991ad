#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "xmem.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

static struct arena_chunk *
arena_chunk_new(size_t size)
{
	struct arena_chunk *c = xmalloc(sizeof *c + size);
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

void
arena_init(struct arena *a, size_t chunk_size)
{
	a->chunk_size = chunk_size ? chunk_size : 16384;
	a->head = NULL;
	a->cleanups = NULL;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t need = (n + 15) & ~(size_t)15;

	if (need < n || need > SIZE_MAX - sizeof *c)
		abort();	/* overflow: n near SIZE_MAX, or no room for the chunk header */
	if (c == NULL || c->size - c->used < need) {
		size_t size = need > a->chunk_size ? need : a->chunk_size;
		c = arena_chunk_new(size);
		if (a->head != NULL && need > a->chunk_size) {
			/* A big one-off block goes behind the current chunk, which keeps its room. */
			c->next = a->head->next;
			a->head->next = c;
			c->used = need;
			return c->data;
		}
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += need;
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return arena_strdup(a, "");
	char *p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

struct arena_cleanup {
	struct arena_cleanup *next;
	void (*fn)(void *);
	void *p;
};

void *
arena_cleanup(struct arena *a, void (*fn)(void *), void *p)
{
	struct arena_cleanup *c;

	if (p == NULL)
		return NULL;
	c = arena_alloc(a, sizeof *c);
	c->fn = fn;
	c->p = p;
	c->next = a->cleanups;
	a->cleanups = c;
	return p;
}

static void
arena_put_json(void *o)
{
	json_object_put(o);
}

struct json_object *
arena_json(struct arena *a, struct json_object *o)
{
	return arena_cleanup(a, arena_put_json, o);
}

/* The cleanups, newest first (their records live in the chunks: before these go). */
static void
arena_run_cleanups(struct arena *a)
{
	struct arena_cleanup *c = a->cleanups;

	a->cleanups = NULL;
	for (; c != NULL; c = c->next)
		c->fn(c->p);
}

void
arena_reset(struct arena *a)
{
	struct arena_chunk *c;
	struct arena_chunk *next;

	arena_run_cleanups(a);
	c = a->head;

	if (c == NULL)
		return;
	/* Keep the oldest chunk (the last in the list): it is the usual size. */
	while (c->next != NULL) {
		next = c->next;
		a->head = next;
		free(c);
		c = next;
	}
	c->used = 0;
	if (c->size != a->chunk_size) {
		free(c);
		a->head = NULL;
	}
}

void
arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	arena_run_cleanups(a);
	c = a->head;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

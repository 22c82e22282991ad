/* arena and buf: per-request memory and the growable byte buffer. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "arena.h"
#include "buf.h"
#include "unit.h"

static struct arena arena;

static void
setup(void)
{
	arena_init(&arena, 1024);
}

static void
teardown(void)
{
	arena_free(&arena);
}

static int
aligned16(const void *p)
{
	return ((uintptr_t)p & 15) == 0;
}

/* ---- arena --------------------------------------------------------------------------------- */

START_TEST(arena_small_aligned)
{
	for (size_t i = 0; i < 500; i++) {
		void *p = arena_alloc(&arena, i % 37 + 1);
		ck_assert_msg(aligned16(p), "allocation %zu at %p", i, p);
	}
}
END_TEST

START_TEST(arena_small_distinct)
{
	enum { N = 2000 };
	static unsigned char *p[N];
	static size_t size[N];

	/* Fill each block with its own byte; any overlap shows as a wrong byte afterwards. */
	for (size_t i = 0; i < N; i++) {
		size[i] = i % 53 + 1;
		p[i] = arena_alloc(&arena, size[i]);
		memset(p[i], (int)(i % 251), size[i]);
	}
	for (size_t i = 0; i < N; i++)
		for (size_t k = 0; k < size[i]; k++)
			ck_assert_msg(p[i][k] == i % 251, "block %zu byte %zu overwritten", i, k);
	for (size_t i = 1; i < N; i++)
		ck_assert_ptr_ne(p[i], p[i - 1]);
}
END_TEST

START_TEST(arena_default_chunk_size)
{
	struct arena a;

	arena_init(&a, 0);
	ck_assert_uint_eq(a.chunk_size, 16384);
	ck_assert_ptr_null(a.head);
	ck_assert_ptr_nonnull(arena_alloc(&a, 1));
	arena_free(&a);
}
END_TEST

START_TEST(arena_huge)
{
	size_t n = (size_t)1 << 20;
	unsigned char *big = arena_alloc(&arena, n);

	ck_assert(aligned16(big));
	memset(big, 0xab, n);
	ck_assert_int_eq(big[0], 0xab);
	ck_assert_int_eq(big[n - 1], 0xab);
}
END_TEST

START_TEST(arena_huge_keeps_current_chunk)
{
	char *a = arena_alloc(&arena, 16);
	char *big = arena_alloc(&arena, (size_t)1 << 20);
	char *b = arena_alloc(&arena, 16);

	memset(big, 1, (size_t)1 << 20);
	/* The one-off block goes beside the current chunk, which goes on filling up. */
	ck_assert_ptr_eq(b, a + 16);
	ck_assert(big + ((size_t)1 << 20) <= a || big >= b + 16);
}
END_TEST

START_TEST(arena_huge_first)
{
	char *big = arena_alloc(&arena, 100000);
	char *small = arena_alloc(&arena, 10);

	memset(big, 'b', 100000);
	memcpy(small, "small", 6);
	ck_assert_int_eq(big[99999], 'b');
	ck_assert_str_eq(small, "small");
	arena_reset(&arena);
	ck_assert_str_eq(arena_strdup(&arena, "again"), "again");
}
END_TEST

START_TEST(arena_reset_reuses_first_chunk)
{
	void *first = arena_alloc(&arena, 16);

	for (int i = 0; i < 200; i++)
		memset(arena_alloc(&arena, 100), 'x', 100);
	arena_alloc(&arena, 50000);
	arena_reset(&arena);
	ck_assert_ptr_nonnull(arena.head);
	ck_assert_ptr_eq(arena_alloc(&arena, 16), first);
}
END_TEST

START_TEST(arena_reset_then_use)
{
	char *s = NULL;

	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 100; i++)
			s = arena_printf(&arena, "round %d item %d", round, i);
		ck_assert_str_eq(s, arena_printf(&arena, "round %d item %d", round, 99));
		arena_reset(&arena);
	}
	s = arena_strdup(&arena, "after");
	ck_assert_str_eq(s, "after");
}
END_TEST

START_TEST(arena_reset_empty)
{
	struct arena a;

	arena_init(&a, 256);
	arena_reset(&a);
	ck_assert_ptr_null(a.head);
	arena_free(&a);
	arena_free(&a);
	ck_assert_ptr_null(a.head);
}
END_TEST

START_TEST(arena_printf_formats)
{
	ck_assert_str_eq(arena_printf(&arena, "%s-%d-%05.1f-%c", "ab", -42, 3.14159, 'z'),
	    "ab--42-003.1-z");
	ck_assert_str_eq(arena_printf(&arena, "%s", ""), "");
	ck_assert_str_eq(arena_printf(&arena, "%zu%%", (size_t)100), "100%");
}
END_TEST

START_TEST(arena_printf_long)
{
	size_t n = 100000;
	char *src = malloc(n + 1), *s;

	ck_assert_ptr_nonnull(src);
	memset(src, 'q', n);
	src[n] = '\0';
	s = arena_printf(&arena, "<%s>", src);
	ck_assert_uint_eq(strlen(s), n + 2);
	ck_assert_int_eq(s[0], '<');
	ck_assert_int_eq(s[n], 'q');
	ck_assert_int_eq(s[n + 1], '>');
	free(src);
}
END_TEST

START_TEST(arena_strndup_cuts)
{
	ck_assert_str_eq(arena_strndup(&arena, "hello world", 5), "hello");
	ck_assert_str_eq(arena_strndup(&arena, "hello", 0), "");
	ck_assert_str_eq(arena_strndup(&arena, "中文", 3), "中");
}
END_TEST

START_TEST(arena_strdup_copies)
{
	char src[] = "mutable";
	char *s = arena_strdup(&arena, src);

	src[0] = 'M';
	ck_assert_str_eq(s, "mutable");
	ck_assert_ptr_ne(s, src);
}
END_TEST

START_TEST(arena_overflow_aborts)
{
	pid_t pid;
	int status;

	/* A size near SIZE_MAX must stop the process, not hand out a tiny block. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct arena a;
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		arena_init(&a, 1024);
		arena_alloc(&a, SIZE_MAX - 31);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	    "arena_alloc(SIZE_MAX - 31) returned (status %#x)", status);
}
END_TEST

/* ---- buf ----------------------------------------------------------------------------------- */

START_TEST(buf_empty)
{
	struct buf b;

	buf_init(&b);
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_uint_eq(b.len, 0);
	buf_reset(&b);
	ck_assert_str_eq(buf_str(&b), "");
	buf_free(&b);
}
END_TEST

START_TEST(buf_add_puts_putc)
{
	struct buf b;

	buf_init(&b);
	buf_add(&b, "abcXYZ", 3);
	buf_puts(&b, "def");
	buf_putc(&b, 'g');
	ck_assert_str_eq(buf_str(&b), "abcdefg");
	ck_assert_uint_eq(b.len, 7);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(buf_printf_appends)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "n=");
	buf_printf(&b, "%d;%s;%03u", 42, "x", 7u);
	ck_assert_str_eq(buf_str(&b), "n=42;x;007");
	ck_assert_uint_eq(b.len, 10);
	buf_printf(&b, "%s", "");
	ck_assert_str_eq(buf_str(&b), "n=42;x;007");
	buf_free(&b);
}
END_TEST

START_TEST(buf_printf_empty_first)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s", "");
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(buf_printf_long)
{
	struct buf b;
	char *big = malloc(10001);

	ck_assert_ptr_nonnull(big);
	memset(big, 'z', 10000);
	big[10000] = '\0';
	buf_init(&b);
	buf_puts(&b, "[");
	buf_printf(&b, "%s]", big);
	ck_assert_uint_eq(b.len, 10002);
	ck_assert_uint_eq(strlen(buf_str(&b)), 10002);
	ck_assert_int_eq(b.data[10001], ']');
	buf_free(&b);
	free(big);
}
END_TEST

START_TEST(buf_reset_keeps_room)
{
	struct buf b;
	char *data;
	size_t cap;

	buf_init(&b);
	buf_puts(&b, "some text that is there");
	data = b.data;
	cap = b.cap;
	buf_reset(&b);
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_uint_eq(b.len, 0);
	buf_puts(&b, "new");
	ck_assert_str_eq(buf_str(&b), "new");
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	buf_free(&b);
}
END_TEST

START_TEST(buf_grows)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < 100000; i++)
		buf_putc(&b, (char)('a' + i % 26));
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_gt(b.cap, b.len);
	ck_assert_uint_eq(strlen(buf_str(&b)), 100000);
	for (size_t i = 0; i < 100000; i += 9973)
		ck_assert_int_eq(b.data[i], 'a' + i % 26);
	buf_free(&b);
}
END_TEST

START_TEST(buf_binary)
{
	struct buf b;

	buf_init(&b);
	buf_add(&b, "a\0b", 3);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_mem_eq(b.data, "a\0b", 4);
	buf_free(&b);
}
END_TEST

static int cleaned[4], order[4], norder;

static void
mark(void *p)
{
	int i = (int)(*(int *)p);
	cleaned[i]++;
	order[norder++] = i;
}

START_TEST(arena_cleanups_run_at_reset_newest_first)
{
	static int ids[3] = { 0, 1, 2 };

	memset(cleaned, 0, sizeof cleaned);
	norder = 0;
	ck_assert_ptr_eq(arena_cleanup(&arena, mark, &ids[0]), &ids[0]);
	for (int i = 0; i < 2000; i++)
		arena_alloc(&arena, 100);	/* the records outlive new chunks */
	arena_cleanup(&arena, mark, &ids[1]);
	arena_cleanup(&arena, mark, &ids[2]);
	ck_assert_ptr_null(arena_cleanup(&arena, mark, NULL));
	ck_assert_int_eq(cleaned[0] + cleaned[1] + cleaned[2], 0);
	arena_reset(&arena);
	ck_assert_int_eq(norder, 3);
	ck_assert_int_eq(order[0], 2);
	ck_assert_int_eq(order[1], 1);
	ck_assert_int_eq(order[2], 0);
	/* once: a second reset runs nothing */
	arena_reset(&arena);
	ck_assert_int_eq(norder, 3);
	/* and arena_free runs what is left */
	arena_cleanup(&arena, mark, &ids[1]);
	arena_free(&arena);
	ck_assert_int_eq(cleaned[1], 2);
	arena_init(&arena, 1024);
}
END_TEST

START_TEST(arena_owns_json)
{
	struct json_object *o = json_object_new_object();

	json_object_get(o);				/* our own reference, to watch it */
	ck_assert_ptr_eq(arena_json(&arena, o), o);
	arena_reset(&arena);
	/* the arena's reference is gone: ours is the last (put returns 1 when it frees) */
	ck_assert_int_eq(json_object_put(o), 1);
}
END_TEST

static Suite *
arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc;

	tc = tcase_create("arena");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, arena_small_aligned);
	tcase_add_test(tc, arena_small_distinct);
	tcase_add_test(tc, arena_default_chunk_size);
	tcase_add_test(tc, arena_huge);
	tcase_add_test(tc, arena_huge_keeps_current_chunk);
	tcase_add_test(tc, arena_huge_first);
	tcase_add_test(tc, arena_reset_reuses_first_chunk);
	tcase_add_test(tc, arena_reset_then_use);
	tcase_add_test(tc, arena_reset_empty);
	tcase_add_test(tc, arena_printf_formats);
	tcase_add_test(tc, arena_printf_long);
	tcase_add_test(tc, arena_strndup_cuts);
	tcase_add_test(tc, arena_strdup_copies);
	tcase_add_test(tc, arena_overflow_aborts);
	tcase_add_test(tc, arena_cleanups_run_at_reset_newest_first);
	tcase_add_test(tc, arena_owns_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("buf");
	tcase_add_test(tc, buf_empty);
	tcase_add_test(tc, buf_add_puts_putc);
	tcase_add_test(tc, buf_printf_appends);
	tcase_add_test(tc, buf_printf_empty_first);
	tcase_add_test(tc, buf_printf_long);
	tcase_add_test(tc, buf_reset_keeps_room);
	tcase_add_test(tc, buf_grows);
	tcase_add_test(tc, buf_binary);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(arena_suite());
}

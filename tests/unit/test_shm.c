/* shm: the files the pool's workers map and share (metrics, the session cache). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm.h"
#include "unit.h"

#define MAGIC 0x756e697474657374ULL	/* "unittest" */

struct layout {
	struct shm_head head;
	uint64_t counter;
	char text[4000];
};

static char dir[] = "/tmp/seckill-shm-XXXXXX";
static char path[256];

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/seckill-shm-XXXXXX")));
	snprintf(path, sizeof path, "%s/test.shm", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

START_TEST(shm_new_file_is_zeroed_and_private)
{
	struct layout *m = shm_map(dir, "test.shm", sizeof *m, MAGIC);
	struct stat st;

	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->head.magic, MAGIC);
	ck_assert_uint_eq(m->head.size, sizeof *m);
	ck_assert_uint_eq(m->counter, 0);
	ck_assert_int_eq(m->text[0], 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((unsigned)st.st_size, sizeof *m);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);	/* it may hold session data */
	shm_unmap(m, sizeof *m);
}
END_TEST

START_TEST(shm_two_maps_share)
{
	struct layout *a = shm_map(dir, "test.shm", sizeof *a, MAGIC);
	struct layout *b = shm_map(dir, "test.shm", sizeof *b, MAGIC);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	a->counter = 42;
	strcpy(a->text, "seen by the other");
	ck_assert_uint_eq(b->counter, 42);
	ck_assert_str_eq(b->text, "seen by the other");
	shm_unmap(a, sizeof *a);
	shm_unmap(b, sizeof *b);
}
END_TEST

START_TEST(shm_another_process_sees_writes)
{
	struct layout *m = shm_map(dir, "test.shm", sizeof *m, MAGIC);
	pid_t pid;
	int status;

	ck_assert_ptr_nonnull(m);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* A second worker: maps the file itself (a fresh exec would), and counts. */
		struct layout *w = shm_map(dir, "test.shm", sizeof *w, MAGIC);
		if (w == NULL)
			_exit(1);
		for (int i = 0; i < 1000; i++)
			__atomic_add_fetch(&w->counter, 1, __ATOMIC_RELAXED);
		_exit(0);
	}
	for (int i = 0; i < 1000; i++)
		__atomic_add_fetch(&m->counter, 1, __ATOMIC_RELAXED);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(m->counter, 2000);
	shm_unmap(m, sizeof *m);
}
END_TEST

START_TEST(shm_reopen_keeps_contents)
{
	struct layout *m = shm_map(dir, "test.shm", sizeof *m, MAGIC);

	ck_assert_ptr_nonnull(m);
	m->counter = 7;
	shm_unmap(m, sizeof *m);
	m = shm_map(dir, "test.shm", sizeof *m, MAGIC);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->counter, 7);
	shm_unmap(m, sizeof *m);
}
END_TEST

START_TEST(shm_other_layout_is_zeroed)
{
	struct layout *m = shm_map(dir, "test.shm", sizeof *m, MAGIC);
	struct layout *small;

	ck_assert_ptr_nonnull(m);
	m->counter = 7;
	shm_unmap(m, sizeof *m);
	/* An upgrade with another size: the file is made anew. */
	small = shm_map(dir, "test.shm", sizeof *small - 8, MAGIC);
	ck_assert_ptr_nonnull(small);
	ck_assert_uint_eq(small->head.size, sizeof *small - 8);
	ck_assert_uint_eq(small->counter, 0);
	small->counter = 9;
	shm_unmap(small, sizeof *small - 8);
	/* Another magic at the same size: another file's layout, zeroed too. */
	m = shm_map(dir, "test.shm", sizeof *m - 8, MAGIC + 1);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->head.magic, MAGIC + 1);
	ck_assert_uint_eq(m->counter, 0);
	shm_unmap(m, sizeof *m - 8);
}
END_TEST

START_TEST(shm_file_of_another_boot_is_zeroed)
{
	struct layout *m = shm_map(dir, "test.shm", sizeof *m, MAGIC);

	ck_assert_ptr_nonnull(m);
	m->counter = 7;
	/* As if made before a reboot: monotonic times in it would mean nothing now. */
	memset(m->head.boot_id, 'x', sizeof m->head.boot_id - 1);
	shm_unmap(m, sizeof *m);
	m = shm_map(dir, "test.shm", sizeof *m, MAGIC);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->counter, 0);
	ck_assert_int_ne(m->head.boot_id[0], 'x');
	shm_unmap(m, sizeof *m);
}
END_TEST

START_TEST(shm_missing_dir_is_null)
{
	char missing[300];

	snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
	ck_assert_ptr_null(shm_map(missing, "test.shm", sizeof(struct layout), MAGIC));
}
END_TEST

static Suite *
shm_suite(void)
{
	Suite *s = suite_create("shm");
	TCase *tc = tcase_create("map");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, shm_new_file_is_zeroed_and_private);
	tcase_add_test(tc, shm_two_maps_share);
	tcase_add_test(tc, shm_another_process_sees_writes);
	tcase_add_test(tc, shm_reopen_keeps_contents);
	tcase_add_test(tc, shm_other_layout_is_zeroed);
	tcase_add_test(tc, shm_file_of_another_boot_is_zeroed);
	tcase_add_test(tc, shm_missing_dir_is_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(shm_suite());
}

/* Shared by the unit tests: run a Check suite with TAP on stdout, exit status for make check. */
#ifndef SK_UNIT_H
#define SK_UNIT_H
#include <stdlib.h>

#include <check.h>

static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif

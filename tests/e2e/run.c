/*
 * run.c - the end-to-end test runner: every Suite *x_suite(void) defined in tests/e2e/test_*.c is
 * collected by the Makefile into e2e_suites.h and run here. Check forks per test, so one crash
 * fails one test. Exit status is non-zero when any test failed.
 */
#include <check.h>
#include <stdlib.h>

#define GH_SUITE(name) Suite *name(void);
#include "e2e_suites.h"
#undef GH_SUITE

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    int failed;

#define GH_SUITE(name) srunner_add_suite(sr, name());
#include "e2e_suites.h"
#undef GH_SUITE
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

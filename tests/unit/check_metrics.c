/* check_metrics.c: reading a large metrics file costs time linear in its size. Linked with
 * -Wl,--wrap=strcmp (tests/Makefile.inc), so the test counts the name comparisons the reader
 * makes instead of timing it: a lookup by scanning (160 000 keys once took 32 s) compares
 * each new name with every earlier one. */
#include "config.h"
#include "ntflow/run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int __real_strcmp(const char *a, const char *b);
int __wrap_strcmp(const char *a, const char *b);

static size_t strcmp_calls;

int
__wrap_strcmp(const char *a, const char *b)
{
	strcmp_calls++;
	return __real_strcmp(a, b);
}

/* Writes a metrics file with nflat top-level keys k0..., and ngroups objects g0... of
 * per_group keys m0... each; returns its path (caller unlinks and frees). */
static char *
write_metrics(size_t nflat, size_t ngroups, size_t per_group)
{
	char *path = xstrdup("/tmp/check_metrics.XXXXXX");
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputc('{', f);
	for (size_t i = 0; i < nflat; i++)
		fprintf(f, "%s\"k%zu\": %zu.5", i ? ", " : "", i, i);
	for (size_t g = 0; g < ngroups; g++) {
		fprintf(f, "%s\"g%zu\": {", nflat || g ? ", " : "", g);
		for (size_t i = 0; i < per_group; i++)
			fprintf(f, "%s\"m%zu\": %zu", i ? ", " : "", i, g * per_group + i);
		fputc('}', f);
	}
	/* a key given twice: the later value stands */
	if (nflat)
		fputs(", \"k0\": -1", f);
	fputs("}\n", f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* Every metric of write_metrics(nflat, ngroups, per_group) is there with its value. */
static void
check_all(const nf_metric_set *m, size_t nflat, size_t ngroups, size_t per_group)
{
	char name[64];
	double v;

	ck_assert_uint_eq(m->n, nflat + ngroups * per_group);
	for (size_t i = 0; i < nflat; i++) {
		snprintf(name, sizeof(name), "k%zu", i);
		ck_assert_msg(nf_metrics_get(m, name, &v) == 0, "%s missing", name);
		ck_assert_double_eq(v, i ? (double)i + 0.5 : -1.0);
	}
	for (size_t g = 0; g < ngroups; g++) {
		for (size_t i = 0; i < per_group; i++) {
			snprintf(name, sizeof(name), "g%zu.m%zu", g, i);
			ck_assert_msg(nf_metrics_get(m, name, &v) == 0, "%s missing", name);
			ck_assert_double_eq(v, (double)(g * per_group + i));
		}
	}
	ck_assert_int_eq(nf_metrics_get(m, "k", &v), NF_ENOTFOUND);
	ck_assert_int_eq(nf_metrics_get(m, "g0", &v), NF_ENOTFOUND);
}

START_TEST(test_comparisons_linear)
{
	/* 20 000 names: by scanning, reading alone would compare names 200 million times */
	const size_t nflat = 10000, ngroups = 100, per_group = 100, n = nflat + ngroups * per_group;
	char *path = write_metrics(nflat, ngroups, per_group);
	nf_metric_set m;
	size_t calls;

	strcmp_calls = 0;
	ck_assert_int_eq(nf_metrics_read(&m, path), 0);
	calls = strcmp_calls;
	ck_assert_msg(calls <= 4 * n, "reading %zu metrics compared names %zu times", n, calls);
	strcmp_calls = 0;
	check_all(&m, nflat, ngroups, per_group);
	calls = strcmp_calls;
	ck_assert_msg(calls <= 4 * n, "looking up %zu metrics compared names %zu times", n, calls);
	nf_metric_set_release(&m);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_160000_keys)
{
	/* the size of the report: 160 000 metrics, half of them nested */
	const size_t nflat = 80000, ngroups = 400, per_group = 200;
	char *path = write_metrics(nflat, ngroups, per_group);
	nf_metric_set m;

	ck_assert_int_eq(nf_metrics_read(&m, path), 0);
	check_all(&m, nflat, ngroups, per_group);
	ck_assert_uint_eq(m.nwarnings, 0);
	nf_metric_set_release(&m);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_add_replaces)
{
	nf_metric_set m = { 0 };
	double v;

	nf_metrics_add(&m, "auc", 0.5);
	nf_metrics_add(&m, "ece", 0.1);
	nf_metrics_add(&m, "auc", 0.9);
	ck_assert_uint_eq(m.n, 2);
	ck_assert_int_eq(nf_metrics_get(&m, "auc", &v), 0);
	ck_assert_double_eq(v, 0.9);
	ck_assert_str_eq(m.names[0], "auc");
	ck_assert_str_eq(m.names[1], "ece");
	nf_metric_set_release(&m);
	/* an empty set answers lookups; released, it is empty again */
	ck_assert_int_eq(nf_metrics_get(&m, "auc", &v), NF_ENOTFOUND);
	nf_metric_set_release(&m);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("scale");

	tcase_add_test(tc, test_add_replaces);
	tcase_add_test(tc, test_comparisons_linear);
	tcase_add_test(tc, test_160000_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

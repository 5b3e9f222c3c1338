/* check_slices.c: unit tests of fairness across data slices: the slice functions of the
 * expression language (max_gap, min, max: parsing, arity and name errors with their column,
 * printing, evaluation, no slices), the "slices" object of a metrics file (good and bad
 * shapes) and the gate's verdict and note over slices. */
#include "config.h"
#include "ntflow/gov.h"
#include "ntflow/run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Slices of "accuracy": EU 0.91, US 0.88, APAC 0.74; of "auc" none; plain "accuracy" 0.87. */
static const nf_expr_slice acc_slices[] = { { "region=EU", 0.91 }, { "region=US", 0.88 }, { "region=APAC", 0.74 } };

static int
lookup(void *ctx, bool production, const char *name, double *out)
{
	(void)ctx;
	if (!production && strcmp(name, "accuracy") == 0) {
		*out = 0.87;
		return 0;
	}
	return production ? NF_ENOPROD : NF_ENOTFOUND;
}

static int
slices(void *ctx, const char *metric, const nf_expr_slice **out, size_t *n)
{
	(void)ctx;
	*out = NULL;
	*n = 0;
	if (strcmp(metric, "accuracy") == 0) {
		*out = acc_slices;
		*n = 3;
	}
	return 0;
}

static nf_expr *
parse(nf_arena *a, const char *text)
{
	nf_expr *e = NULL;
	int col = -1;

	ck_assert_msg(nf_expr_parse(&e, a, text, &col) == 0, "%s: %s", text, nf_error_last());
	return e;
}

static double
eval(const char *text)
{
	nf_arena *a = nf_arena_new();
	double v = -1;

	ck_assert_msg(nf_expr_eval_slices(parse(a, text), lookup, slices, NULL, &v) == 0, "%s: %s", text,
		      nf_error_last());
	nf_arena_free(a);
	return v;
}

#define ck_parse_error(text, expect_col, expect_msg) do { \
	nf_arena *a_ = nf_arena_new(); \
	nf_expr *e_ = NULL; \
	int col_ = -1; \
	ck_assert_int_eq(nf_expr_parse(&e_, a_, text, &col_), NF_EINVALID); \
	ck_assert_str_eq(nf_error_last(), expect_msg); \
	ck_assert_int_eq(col_, expect_col); \
	nf_arena_free(a_); \
} while (0)

START_TEST(test_functions)
{
	ck_assert_double_eq_tol(eval("max_gap(accuracy)"), 0.17, 1e-12);
	ck_assert_double_eq_tol(eval("min(accuracy)"), 0.74, 1e-12);
	ck_assert_double_eq_tol(eval("max(accuracy)"), 0.91, 1e-12);
	ck_assert_double_eq(eval("max_gap(accuracy) <= 0.10"), 0);
	ck_assert_double_eq(eval("max_gap ( accuracy ) <= 0.2 and min(accuracy) > 0.7"), 1);
	ck_assert_double_eq_tol(eval("accuracy - min(accuracy)"), 0.13, 1e-12);
	/* a bare name max_gap or min stays a metric name */
	ck_assert_double_eq(eval("accuracy > 0.8"), 1);
}
END_TEST

START_TEST(test_format)
{
	nf_arena *a = nf_arena_new();
	nf_buf b = NF_BUF_INIT;

	nf_expr_format(&b, parse(a, "max_gap( accuracy )<=0.1 and  min(eval.acc)>-max(x)"));
	ck_assert_str_eq(nf_buf_cstr(&b), "max_gap(accuracy) <= 0.1 and min(eval.acc) > -max(x)");
	nf_buf_release(&b);
	nf_arena_free(a);
}
END_TEST

START_TEST(test_parse_errors)
{
	ck_parse_error("gap(accuracy) < 1", 1,
		       "unknown function 'gap'; the functions are max_gap(METRIC), min(METRIC) and max(METRIC) over the metric's slices");
	ck_parse_error("1 < production.auc(x)", 5,
		       "unknown function 'production.auc'; the functions are max_gap(METRIC), min(METRIC) and max(METRIC) over the metric's slices");
	ck_parse_error("max_gap() < 1", 9, "max_gap() takes one metric name, got none");
	ck_parse_error("min(accuracy, auc) < 1", 13, "min() takes one metric name, got more");
	ck_parse_error("max(accuracy + 1) < 1", 14,
		       "expected ')' after max()'s metric name (its argument is a name, not an expression)");
	ck_parse_error("max(1) < 1", 5, "max() takes a metric name of this run (the metric it reads in each slice)");
	ck_parse_error("max(production.auc) < 1", 5,
		       "max() takes a metric name of this run (the metric it reads in each slice)");
	ck_parse_error("max_gap(accuracy", 17,
		       "expected ')' after max_gap()'s metric name (its argument is a name, not an expression)");
}
END_TEST

START_TEST(test_no_slices)
{
	nf_arena *a = nf_arena_new();
	double v;

	/* a metric no slice has */
	ck_assert_int_eq(nf_expr_eval_slices(parse(a, "max_gap(auc) <= 0.1"), lookup, slices, NULL, &v),
			 NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "max_gap(auc): the metrics have no slices with metric 'auc'");
	/* no slices at all (alerts, and nf_expr_eval) */
	ck_assert_int_eq(nf_expr_eval(parse(a, "min(accuracy) > 0.5"), lookup, NULL, &v), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "min(accuracy): the metrics have no slices with metric 'accuracy'");
	nf_arena_free(a);
}
END_TEST

/* Writes text to a temporary file; returns its path (caller unlinks and frees). */
static char *
write_file(const char *text)
{
	char *path = xstrdup("/tmp/check_slices.XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_metrics_slices)
{
	char *path = write_file("{\"accuracy\": 0.87, \"slices\": {\"region=EU\": {\"accuracy\": 0.91, \"n\": 10,"
				" \"conf\": {\"tp\": 3}}, \"region=APAC\": {\"accuracy\": 0.74, \"ok\": true}}}");
	nf_metric_set m;
	nf_expr_slice *s = NULL;
	size_t n = 0;
	double v;

	ck_assert_int_eq(nf_metrics_read(&m, path), 0);
	ck_assert_int_eq(nf_metrics_get(&m, "accuracy", &v), 0);
	ck_assert_double_eq(v, 0.87);
	ck_assert_int_eq(nf_metrics_get(&m, "accuracy[region=EU]", &v), 0);
	ck_assert_double_eq(v, 0.91);
	ck_assert_int_eq(nf_metrics_get(&m, "conf.tp[region=EU]", &v), 0);
	ck_assert_double_eq(v, 3);
	ck_assert_int_eq(nf_metrics_get(&m, "ok[region=APAC]", &v), 0);
	ck_assert_double_eq(v, 1);
	ck_assert_int_eq(nf_metrics_get(&m, "slices.region=EU.accuracy", &v), NF_ENOTFOUND);
	nf_metrics_slices(&m, "accuracy", &s, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(s[0].slice, "region=EU");
	ck_assert_double_eq(s[0].value, 0.91);
	ck_assert_str_eq(s[1].slice, "region=APAC");
	ck_assert_double_eq(s[1].value, 0.74);
	nf_metrics_slices_free(s, n);
	nf_metrics_slices(&m, "auc", &s, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(s);
	nf_metric_set_release(&m);
	unlink(path);
	free(path);
}
END_TEST

/* The error reading a metrics file holding text. */
static void
ck_bad(const char *text, const char *expect_after_path)
{
	char *path = write_file(text), *expect = xasprintf("%s: %s", path, expect_after_path);
	nf_metric_set m;

	ck_assert_int_eq(nf_metrics_read(&m, path), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), expect);
	ck_assert_uint_eq(m.n, 0);
	unlink(path);
	free(path);
	free(expect);
}

START_TEST(test_metrics_bad_slices)
{
	ck_bad("{\"slices\": [1, 2]}", "'slices' must be an object of slices, each an object of metrics "
	       "(\"slices\": {\"region=EU\": {\"accuracy\": 0.91}}), not an array");
	ck_bad("{\"slices\": 3}", "'slices' must be an object of slices, each an object of metrics "
	       "(\"slices\": {\"region=EU\": {\"accuracy\": 0.91}}), not a number");
	ck_bad("{\"slices\": {\"region=EU\": 0.9}}", "slice 'region=EU' must be an object of metrics, not a number");
	ck_bad("{\"slices\": {\"region=EU\": [0.9]}}", "slice 'region=EU' must be an object of metrics, not an array");
	ck_bad("{\"slices\": {\"region=EU\": {\"accuracy\": \"high\"}}}",
	       "metric 'accuracy' of slice 'region=EU' is a string, not a number");
	ck_bad("{\"slices\": {\"region=EU\": {\"a\": {\"b\": null}}}}",
	       "metric 'a.b' of slice 'region=EU' is null, not a number");
	ck_bad("{\"slices\": {\"\": {\"accuracy\": 1}}}",
	       "slice name '' must be non-empty and without '[', ']' or control characters");
	ck_bad("{\"slices\": {\"a]\": {\"accuracy\": 1}}}",
	       "slice name 'a]' must be non-empty and without '[', ']' or control characters");
	/* A control character would break the lines of the gate table; the message shows it
	 * escaped, so it does not break its own line either. */
	ck_bad("{\"slices\": {\"a\\nb\": {\"accuracy\": 1}}}",
	       "slice name 'a\\nb' must be non-empty and without '[', ']' or control characters");
	ck_bad("{\"slices\": {\"a\\u0001\": {\"accuracy\": 1}}}",
	       "slice name 'a\\u0001' must be non-empty and without '[', ']' or control characters");
	/* a C1 control (U+009B, a terminal's CSI) too: a terminal plays it as ESC [ */
	ck_bad("{\"slices\": {\"a\\u009b2J\": {\"accuracy\": 1}}}",
	       "slice name 'a\xc2\x9b" "2J' must be non-empty and without '[', ']' or control characters");
	ck_bad("{\"slices\": {\"r=EU\": {\"acc\\tx\": 1}}}",
	       "metric name 'acc\\tx' of slice 'r=EU' must be without control characters");
	ck_bad("{\"slices\": {\"r=EU\": {\"conf\": {\"t\\rp\": 1}}}}",
	       "metric name 'conf.t\\rp' of slice 'r=EU' must be without control characters");
}
END_TEST

/* Gate criteria parsed into an arena, as the DAG parser leaves them. */
START_TEST(test_gate)
{
	nf_arena *a = nf_arena_new();
	nf_criterion c[3] = { { 0 } };
	nf_gate_result r;
	char *text;

	c[0].text = "max_gap(accuracy) <= 0.10";
	c[0].expr = parse(a, c[0].text);
	c[1].text = "min(accuracy) >= 0.7";
	c[1].expr = parse(a, c[1].text);
	c[2].text = "max_gap(auc) <= 0.10";
	c[2].expr = parse(a, c[2].text);
	nf_gate_evaluate_slices(&r, "promote", c, 3, lookup, slices, NULL);
	ck_assert(!r.passed);
	/* the computed value is the stored left side */
	ck_assert(!r.criteria[0].passed);
	ck_assert(r.criteria[0].has_left && r.criteria[0].has_right);
	ck_assert_double_eq_tol(r.criteria[0].left, 0.17, 1e-12);
	ck_assert_double_eq(r.criteria[0].right, 0.10);
	ck_assert_str_eq(r.criteria[0].note, "max_gap(accuracy): lowest region=APAC 0.74, highest region=EU 0.91");
	ck_assert(r.criteria[1].passed);
	ck_assert_double_eq(r.criteria[1].left, 0.74);
	ck_assert_str_eq(r.criteria[1].note, "min(accuracy) in region=APAC");
	/* no slices: fails, and says why */
	ck_assert(!r.criteria[2].passed);
	ck_assert(!r.criteria[2].has_left);
	ck_assert_str_eq(r.criteria[2].note, "max_gap(auc): the metrics have no slices with metric 'auc'");
	text = nf_gate_failure_text(&r);
	ck_assert_str_eq(text, "max_gap(accuracy) <= 0.10 (0.17 vs 0.1; max_gap(accuracy): lowest region=APAC 0.74, "
			 "highest region=EU 0.91); max_gap(auc) <= 0.10: max_gap(auc): the metrics have no slices "
			 "with metric 'auc'");
	free(text);
	nf_gate_result_release(&r);
	/* without slices (nf_gate_evaluate) the same criterion fails too: never a silent pass */
	nf_gate_evaluate(&r, "promote", c, 1, lookup, NULL);
	ck_assert(!r.passed && !r.criteria[0].passed);
	ck_assert_str_eq(r.criteria[0].note, "max_gap(accuracy): the metrics have no slices with metric 'accuracy'");
	nf_gate_result_release(&r);
	nf_arena_free(a);
}
END_TEST

static Suite *
slices_suite(void)
{
	Suite *s = suite_create("slices");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_functions);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_no_slices);
	tcase_add_test(tc, test_metrics_slices);
	tcase_add_test(tc, test_metrics_bad_slices);
	tcase_add_test(tc, test_gate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(slices_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

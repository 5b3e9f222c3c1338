/* check_gate.c: unit tests of the promotion gate: each criterion's verdict, the two sides
 * of its comparison, production references with and without a version in production,
 * missing metrics, division by zero, the rejection text, and the round trip through the
 * state database (gate_results) in memory. */
#include "config.h"
#include "ntflow/gov.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* A fake run: metrics of the gate's needs and, when has_prod, of the production version. */
typedef struct fake {
	bool has_prod;
	int calls;
} fake;

static int
lookup(void *ctx, bool production, const char *name, double *out)
{
	fake *f = ctx;

	f->calls++;
	if (production) {
		if (!f->has_prod)
			return NF_ENOPROD;
		if (strcmp(name, "auc") == 0) {
			*out = 0.90;
			return 0;
		}
		return NF_ENOTFOUND;
	}
	if (strcmp(name, "accuracy") == 0)
		*out = 0.80;
	else if (strcmp(name, "auc") == 0)
		*out = 0.91;
	else if (strcmp(name, "ece") == 0)
		*out = 0.05;
	else if (strcmp(name, "eval.f1") == 0)
		*out = 0.7;
	else if (strcmp(name, "zero") == 0)
		*out = 0;
	else
		return NF_ENOTFOUND;
	return 0;
}

/* Criteria parsed into an arena, as the DAG parser leaves them. */
typedef struct crits {
	nf_arena *arena;
	nf_criterion c[8];
	size_t n;
} crits;

static void
crits_init(crits *cs, const char *const *texts)
{
	memset(cs, 0, sizeof(*cs));
	cs->arena = nf_arena_new();
	for (; *texts; texts++, cs->n++) {
		int col = 0;

		cs->c[cs->n].text = *texts;
		ck_assert_msg(nf_expr_parse(&cs->c[cs->n].expr, cs->arena, *texts, &col) == 0, "%s: %s", *texts,
			      nf_error_last());
	}
}

static void
evaluate(nf_gate_result *r, const char *const *texts, bool has_prod)
{
	crits cs;
	fake f = { has_prod, 0 };

	crits_init(&cs, texts);
	nf_gate_evaluate(r, "promote", cs.c, cs.n, lookup, &f);
	nf_arena_free(cs.arena);
}

START_TEST(test_comparison_sides)
{
	static const char *const t[] = { "accuracy >= 0.85", "ece <= 0.08", "eval.f1 * 2 > 1", NULL };
	nf_gate_result r;

	evaluate(&r, t, true);
	ck_assert_str_eq(r.name, "promote");
	ck_assert_uint_eq(r.n, 3);
	ck_assert(!r.passed);
	ck_assert_str_eq(r.criteria[0].expr, "accuracy >= 0.85");
	ck_assert(r.criteria[0].has_left && r.criteria[0].has_right);
	ck_assert_double_eq_tol(r.criteria[0].left, 0.80, 1e-12);
	ck_assert_double_eq_tol(r.criteria[0].right, 0.85, 1e-12);
	ck_assert(!r.criteria[0].passed);
	ck_assert_ptr_null(r.criteria[0].note);
	ck_assert(r.criteria[1].passed);
	ck_assert_double_eq_tol(r.criteria[1].left, 0.05, 1e-12);
	ck_assert_double_eq_tol(r.criteria[1].right, 0.08, 1e-12);
	ck_assert(r.criteria[2].passed);
	ck_assert_double_eq_tol(r.criteria[2].left, 1.4, 1e-12);
	ck_assert_double_eq_tol(r.criteria[2].right, 1.0, 1e-12);
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_all_pass)
{
	static const char *const t[] = { "accuracy >= 0.75", "auc > 0.9 and ece < 0.1", NULL };
	nf_gate_result r;

	evaluate(&r, t, false);
	ck_assert(r.passed);
	ck_assert(r.criteria[0].passed && r.criteria[1].passed);
	/* Not a comparison at the top: no sides to show. */
	ck_assert(!r.criteria[1].has_left && !r.criteria[1].has_right);
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_no_criteria)
{
	nf_gate_result r;
	fake f = { false, 0 };

	nf_gate_evaluate(&r, "g", NULL, 0, lookup, &f);
	ck_assert(r.passed);
	ck_assert_uint_eq(r.n, 0);
	nf_gate_result_release(&r);
	nf_gate_result_release(NULL);
}
END_TEST

START_TEST(test_production_present)
{
	static const char *const t[] = { "auc >= production.auc - 0.02", "auc > production.auc + 0.05", NULL };
	nf_gate_result r;

	evaluate(&r, t, true);
	ck_assert(r.criteria[0].passed);
	ck_assert_double_eq_tol(r.criteria[0].left, 0.91, 1e-12);
	ck_assert_double_eq_tol(r.criteria[0].right, 0.88, 1e-12);
	ck_assert_ptr_null(r.criteria[0].note);
	ck_assert(!r.criteria[1].passed);
	ck_assert_double_eq_tol(r.criteria[1].right, 0.95, 1e-12);
	ck_assert(!r.passed);
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_production_absent_passes)
{
	static const char *const t[] = { "auc >= production.auc - 0.02", "production.auc <= auc", NULL };
	nf_gate_result r;

	evaluate(&r, t, false);
	ck_assert(r.passed);
	for (size_t i = 0; i < 2; i++) {
		ck_assert(r.criteria[i].passed);
		ck_assert_str_eq(r.criteria[i].note, "no version in production: passes");
	}
	/* The side that could be evaluated is still shown. */
	ck_assert(r.criteria[0].has_left && !r.criteria[0].has_right);
	ck_assert_double_eq_tol(r.criteria[0].left, 0.91, 1e-12);
	ck_assert(!r.criteria[1].has_left && r.criteria[1].has_right);
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_production_absent_missing_metric_fails)
{
	/* Production is read first: the missing metric must not hide behind "no production". */
	static const char *const t[] = { "production.auc <= recall", NULL };
	nf_gate_result r;

	evaluate(&r, t, false);
	ck_assert(!r.passed);
	ck_assert_str_eq(r.criteria[0].note, "metric 'recall' is missing");
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_production_metric_missing)
{
	static const char *const t[] = { "ece <= production.ece", NULL };
	nf_gate_result r;

	evaluate(&r, t, true);
	ck_assert(!r.passed);
	ck_assert_str_eq(r.criteria[0].note, "production metric 'ece' is missing");
	ck_assert(r.criteria[0].has_left && !r.criteria[0].has_right);
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_missing_metric_fails)
{
	static const char *const t[] = { "recall >= 0.5", "accuracy >= 0.5", NULL };
	nf_gate_result r;

	evaluate(&r, t, true);
	ck_assert(!r.passed);
	ck_assert(!r.criteria[0].passed);
	ck_assert_str_eq(r.criteria[0].note, "metric 'recall' is missing");
	ck_assert(!r.criteria[0].has_left && r.criteria[0].has_right);
	ck_assert(r.criteria[1].passed);
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_division_by_zero_fails)
{
	static const char *const t[] = { "accuracy / zero > 1", NULL };
	nf_gate_result r;

	evaluate(&r, t, true);
	ck_assert(!r.passed);
	ck_assert_str_eq(r.criteria[0].note, "division by zero");
	ck_assert(!r.criteria[0].has_left && r.criteria[0].has_right);
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_unparsed_criterion_fails)
{
	nf_criterion c = { "accuracy >=", { 0 }, NULL };
	nf_gate_result r;
	fake f = { true, 0 };

	nf_gate_evaluate(&r, "promote", &c, 1, lookup, &f);
	ck_assert(!r.passed);
	ck_assert_str_eq(r.criteria[0].note, "the criterion did not parse");
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_failure_text)
{
	static const char *const t[] = { "accuracy >= 0.85", "ece <= 0.08", "recall > 0", NULL };
	nf_gate_result r;
	char *why;

	evaluate(&r, t, true);
	why = nf_gate_failure_text(&r);
	ck_assert_str_eq(why, "accuracy >= 0.85 (0.8 vs 0.85); recall > 0: metric 'recall' is missing");
	free(why);
	nf_gate_result_release(&r);
}
END_TEST

START_TEST(test_store_round_trip)
{
	static const char *const t[] = { "accuracy >= 0.85", "auc >= production.auc - 0.02", "recall > 0", NULL };
	nf_store *st = NULL;
	nf_run_info info;
	nf_gate_result r, *list = NULL;
	size_t n = 0;

	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	memset(&info, 0, sizeof(info));
	info.pipeline = xstrdup("p");
	info.file = xstrdup("p.dag");
	info.logical_date = xstrdup("2026-11-23");
	info.trigger = xstrdup("manual");
	info.params_json = xstrdup("{}");
	ck_assert_int_eq(nf_store_run_begin(st, &info), 0);
	evaluate(&r, t, false);
	ck_assert_int_eq(nf_gate_store(st, info.id, &r), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_gate_list(st, info.id, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0].name, "promote");
	ck_assert(!list[0].passed);
	ck_assert_uint_eq(list[0].n, 3);
	ck_assert_str_eq(list[0].criteria[0].expr, "accuracy >= 0.85");
	ck_assert(list[0].criteria[0].has_left && list[0].criteria[0].has_right);
	ck_assert_double_eq_tol(list[0].criteria[0].left, 0.8, 1e-12);
	ck_assert(!list[0].criteria[0].passed);
	ck_assert(list[0].criteria[1].passed);
	ck_assert(!list[0].criteria[1].has_right);
	ck_assert_str_eq(list[0].criteria[1].note, "no version in production: passes");
	ck_assert_str_eq(list[0].criteria[2].note, "metric 'recall' is missing");
	nf_gate_result_list_free(list, n);
	/* Another run has no gates. */
	ck_assert_int_eq(nf_gate_list(st, info.id + 1, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	nf_gate_result_list_free(list, n);
	nf_gate_result_release(&r);
	nf_run_info_release(&info);
	nf_store_close(st);
}
END_TEST

static Suite *
gate_suite(void)
{
	Suite *s = suite_create("gate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_comparison_sides);
	tcase_add_test(tc, test_all_pass);
	tcase_add_test(tc, test_no_criteria);
	tcase_add_test(tc, test_production_present);
	tcase_add_test(tc, test_production_absent_passes);
	tcase_add_test(tc, test_production_absent_missing_metric_fails);
	tcase_add_test(tc, test_production_metric_missing);
	tcase_add_test(tc, test_missing_metric_fails);
	tcase_add_test(tc, test_division_by_zero_fails);
	tcase_add_test(tc, test_unparsed_criterion_fails);
	tcase_add_test(tc, test_failure_text);
	tcase_add_test(tc, test_store_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(gate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

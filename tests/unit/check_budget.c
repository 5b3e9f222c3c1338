/* check_budget.c: unit tests of CPU budgets per phase: the verdict (gov/budget.c: median of
 * N, reduction, met or missed, no baseline, a zero baseline, a phase not compared) and the
 * attributes that declare them (phase, cpu_baseline, cpu_target_reduction: values, errors at
 * line:col, and a baseline without a target). */
#include "config.h"
#include "ntflow/dag.h"
#include "ntflow/gov.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

typedef struct verdict {
	nf_budget_status s;
	bool has_base, has_red;
	int64_t base;
	double red;
} verdict;

static verdict
judge(bool complete, const int64_t *hist, size_t nhist, size_t need, int64_t cpu, double target)
{
	verdict v;

	v.s = nf_budget_judge(complete, hist, nhist, need, cpu, target, &v.has_base, &v.base, &v.has_red, &v.red);
	return v;
}

START_TEST(test_median_of_n)
{
	/* Odd: the middle one, whatever the order the runs come in (newest first). */
	int64_t odd[] = { 900, 1000, 5000, 100, 1100 };
	int64_t even[] = { 1000, 400, 800, 1200 };
	verdict v = judge(true, odd, 5, 5, 500, 30);

	ck_assert(v.has_base);
	ck_assert_int_eq(v.base, 1000);
	/* Even: the mean of the middle two (800 and 1000). */
	v = judge(true, even, 4, 4, 450, 30);
	ck_assert_int_eq(v.base, 900);
	ck_assert(v.has_red);
	ck_assert_double_eq_tol(v.red, 50.0, 1e-9);
	ck_assert_int_eq(v.s, NF_BUDGET_MET);
}
END_TEST

START_TEST(test_reduction_and_verdict)
{
	int64_t base[] = { 2000 };
	verdict v = judge(true, base, 1, 1, 1500, 30);

	ck_assert_double_eq_tol(v.red, 25.0, 1e-9);
	ck_assert_int_eq(v.s, NF_BUDGET_MISSED);
	ck_assert_str_eq(nf_budget_status_name(v.s), "missed");
	/* Exactly on the target meets it. */
	v = judge(true, base, 1, 1, 1400, 30);
	ck_assert_double_eq_tol(v.red, 30.0, 1e-9);
	ck_assert_int_eq(v.s, NF_BUDGET_MET);
	ck_assert_str_eq(nf_budget_status_name(v.s), "met");
	/* More CPU than the baseline: a negative reduction, missed. */
	v = judge(true, base, 1, 1, 3000, 30);
	ck_assert_double_eq_tol(v.red, -50.0, 1e-9);
	ck_assert_int_eq(v.s, NF_BUDGET_MISSED);
	/* A 100% target is met only by a phase that took no CPU. */
	ck_assert_int_eq(judge(true, base, 1, 1, 0, 100).s, NF_BUDGET_MET);
	ck_assert_int_eq(judge(true, base, 1, 1, 20, 100).s, NF_BUDGET_MISSED);
}
END_TEST

START_TEST(test_no_baseline)
{
	int64_t two[] = { 1000, 1100 };
	verdict v = judge(true, two, 2, 5, 100, 30);   /* median:5 with 2 earlier runs */

	ck_assert_int_eq(v.s, NF_BUDGET_NO_BASELINE);
	ck_assert_str_eq(nf_budget_status_name(v.s), "no baseline");
	ck_assert(!v.has_base);
	ck_assert(!v.has_red);
	v = judge(true, NULL, 0, 1, 100, 30);          /* the first run, or a run id not found */
	ck_assert_int_eq(v.s, NF_BUDGET_NO_BASELINE);
	ck_assert(!v.has_base);
}
END_TEST

START_TEST(test_zero_baseline)
{
	int64_t zero[] = { 0, 0, 0 };
	int64_t tiny[] = { NF_BUDGET_MIN_MS - 1 };
	int64_t least[] = { NF_BUDGET_MIN_MS };
	verdict v = judge(true, zero, 3, 3, 0, 30);

	/* Nothing to reduce: no baseline, never a division by zero or a 100% "met". */
	ck_assert_int_eq(v.s, NF_BUDGET_NO_BASELINE);
	ck_assert(v.has_base);
	ck_assert_int_eq(v.base, 0);
	ck_assert(!v.has_red);
	ck_assert_int_eq(judge(true, tiny, 1, 1, 0, 30).s, NF_BUDGET_NO_BASELINE);
	ck_assert_int_eq(judge(true, least, 1, 1, 0, 30).s, NF_BUDGET_MET);
}
END_TEST

START_TEST(test_not_compared)
{
	int64_t base[] = { 2000 };
	verdict v = judge(false, base, 1, 1, 0, 30);   /* a cached stage: 0 ms, but no work was done */

	ck_assert_int_eq(v.s, NF_BUDGET_NOT_COMPARED);
	ck_assert_str_eq(nf_budget_status_name(v.s), "not compared");
	ck_assert(!v.has_red);
}
END_TEST

/* ---- the attributes ---- */

static char *
diag_text(const nf_diag_list *diags)
{
	nf_buf b = NF_BUF_INIT;

	for (size_t i = 0; i < diags->n; i++)
		nf_buf_printf(&b, "%d:%d: %s\n", diags->items[i].line, diags->items[i].col, diags->items[i].msg);
	return nf_buf_detach(&b);
}

/* Parses and validates src; the messages ("" when none). *dagp gets the model when asked. */
static char *
load(const char *src, nf_dag **dagp)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	char *text;

	if (nf_dag_parse(&dag, "t.dag", src, strlen(src), &diags) == 0)
		nf_dag_validate(dag, &diags);
	text = diag_text(&diags);
	nf_diag_list_release(&diags);
	if (dagp)
		*dagp = dag;
	else
		nf_dag_free(dag);
	return text;
}

static void
expect(const char *src, const char *want)
{
	char *got = load(src, NULL);

	ck_assert_msg(strstr(got, want), "expected \"%s\" in:\n%s", want, got);
	free(got);
}

START_TEST(test_attributes)
{
	nf_dag *dag = NULL;
	char *msgs = load("pipeline \"p\" {\n"
			  "  cpu_baseline = \"median:5\"\n"
			  "  cpu_target_reduction = \"30%\"\n"
			  "}\n"
			  "stage \"a\" {\n"
			  "  run = \"true\"\n"
			  "  phase = \"training\"\n"
			  "}\n"
			  "stage \"b\" { run = \"true\" }\n"
			  "monitor \"m\" {\n"
			  "  run = \"true\"\n"
			  "  phase = \"monitoring\"\n"
			  "}\n", &dag);

	ck_assert_str_eq(msgs, "");
	ck_assert_int_eq(dag->pipeline.cpu_baseline.median, 5);
	ck_assert_int_eq(dag->pipeline.cpu_baseline.run, 0);
	ck_assert_double_eq(dag->pipeline.cpu_target_pct, 30);
	ck_assert_str_eq(nf_stage_phase(nf_dag_find_stage(dag, "a")), "training");
	ck_assert_str_eq(nf_stage_phase(nf_dag_find_stage(dag, "b")), NF_PHASE_DEFAULT);
	ck_assert_str_eq(nf_stage_phase(nf_dag_find_stage(dag, "m")), "monitoring");
	nf_dag_free(dag);
	free(msgs);

	msgs = load("pipeline \"p\" {\n  cpu_baseline = 12\n  cpu_target_reduction = \"12.5%\"\n}\n"
		    "stage \"a\" { run = \"true\" }\n", &dag);
	ck_assert_str_eq(msgs, "");
	ck_assert_int_eq(dag->pipeline.cpu_baseline.run, 12);
	ck_assert_int_eq(dag->pipeline.cpu_baseline.median, 0);
	ck_assert_double_eq(dag->pipeline.cpu_target_pct, 12.5);
	nf_dag_free(dag);
	free(msgs);
}
END_TEST

START_TEST(test_attribute_errors)
{
	expect("stage \"a\" {\n  run = \"true\"\n  phase = \"two words\"\n}\n",
	       "3:11: invalid phase name \"two words\": use letters, digits, '_' and '-'");
	expect("stage \"a\" {\n  run = \"true\"\n  phase = 3\n}\n", "3:11: attribute 'phase' expects");
	expect("gate \"g\" {\n  phase = \"x\"\n}\n", "2:3: unknown attribute 'phase'");
	expect("pipeline \"p\" {\n  cpu_baseline = \"median:0\"\n  cpu_target_reduction = \"30%\"\n}\n",
	       "2:18: cpu_baseline \"median:0\": N must be between 1 and 100");
	expect("pipeline \"p\" {\n  cpu_baseline = \"last 5\"\n  cpu_target_reduction = \"30%\"\n}\n",
	       "2:18: invalid cpu_baseline \"last 5\": expected a run id");
	expect("pipeline \"p\" {\n  cpu_baseline = 0\n  cpu_target_reduction = \"30%\"\n}\n",
	       "2:18: attribute 'cpu_baseline' must be between 1 and");
	expect("pipeline \"p\" {\n  cpu_baseline = 3\n  cpu_target_reduction = \"30\"\n}\n",
	       "3:26: invalid cpu_target_reduction \"30\": expected a percentage like \"30%\"");
	expect("pipeline \"p\" {\n  cpu_baseline = 3\n  cpu_target_reduction = \"0%\"\n}\n",
	       "3:26: cpu_target_reduction \"0%\" must be above 0% and at most 100%");
	expect("pipeline \"p\" {\n  cpu_baseline = 3\n  cpu_target_reduction = \"130%\"\n}\n",
	       "must be above 0% and at most 100%");
	expect("pipeline \"p\" {\n  cpu_baseline = 3\n}\nstage \"a\" { run = \"true\" }\n",
	       "2:18: cpu_baseline needs a cpu_target_reduction");
	expect("pipeline \"p\" {\n  cpu_target_reduction = \"30%\"\n}\nstage \"a\" { run = \"true\" }\n",
	       "2:26: cpu_target_reduction needs a cpu_baseline");
}
END_TEST

static Suite *
budget_suite(void)
{
	Suite *s = suite_create("budget");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_median_of_n);
	tcase_add_test(tc, test_reduction_and_verdict);
	tcase_add_test(tc, test_no_baseline);
	tcase_add_test(tc, test_zero_baseline);
	tcase_add_test(tc, test_not_compared);
	tcase_add_test(tc, test_attributes);
	tcase_add_test(tc, test_attribute_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(budget_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* check_cohort.c: unit tests of cohorts, violations and risk: the tier a score falls in, a
 * failed criterion's severity, the violations a gate's result records (type, severity, the
 * two sides, its cohort), and the store's rows: filters by pipeline, cohort and logical
 * date, the model version written back, a run's cohort and risk, the window of runs. */
#include "config.h"
#include "ntflow/gov.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static nf_store *st;

static void
setup(void)
{
	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
}

static void
teardown(void)
{
	nf_store_close(st);
	st = NULL;
}

static nf_dag *
parse(const char *src)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	int rc = nf_dag_parse(&dag, "t.dag", src, strlen(src), &diags);

	if (rc == 0)
		rc = nf_dag_validate(dag, &diags);
	if (rc != 0)
		nf_diag_print(&diags, stderr);
	ck_assert_int_eq(rc, 0);
	nf_diag_list_release(&diags);
	return dag;
}

/* The metrics a test's lookup reads: accuracy and ece, each present or not. */
typedef struct metrics {
	double accuracy, ece;
	bool has_accuracy, has_ece;
} metrics;

static int
lookup(void *ctx, bool production, const char *name, double *out)
{
	const metrics *m = ctx;

	if (production)
		return NF_ENOPROD;
	if (strcmp(name, "accuracy") == 0 && m->has_accuracy) {
		*out = m->accuracy;
		return 0;
	}
	if (strcmp(name, "ece") == 0 && m->has_ece) {
		*out = m->ece;
		return 0;
	}
	return nf_error_set(NF_ENOTFOUND, "metric '%s' is missing", name);
}

static const char pipeline_src[] =
	"pipeline \"p\" {\n"
	"  cohort = \"${run.month}\"\n"
	"  risk {\n"
	"    score = \"1 - accuracy\"\n"
	"    tiers {\n"
	"      low    = 0.05\n"
	"      normal = 0.15\n"
	"      high   = 0.30\n"
	"    }\n"
	"  }\n"
	"}\n"
	"stage \"evaluate\" {\n"
	"  run     = \"true\"\n"
	"  metrics = \"m.json\"\n"
	"}\n"
	"gate \"promote\" {\n"
	"  needs = [\"evaluate\"]\n"
	"  criterion {\n"
	"    require     = \"accuracy >= 0.85\"\n"
	"    violation   = \"low_accuracy\"\n"
	"    severe_when = \"accuracy < 0.70\"\n"
	"  }\n"
	"  criterion {\n"
	"    require     = \"ece <= 0.08\"\n"
	"    violation   = \"calibration\"\n"
	"    severe_when = \"ece > 0.15\"\n"
	"  }\n"
	"  criterion {\n"
	"    require = \"accuracy >= 0.5\"\n"
	"  }\n"
	"  require = [\"accuracy >= 0.9\"]\n"
	"}\n";

START_TEST(test_tiers)
{
	nf_dag *dag = parse(pipeline_src);
	const nf_risk *r = &dag->pipeline.risk;
	nf_risk only_high = { .high = 0.3, .high_loc = nf_loc_at("t", 1, 1) }, none = { 0 };
	const char *tier;
	double score;
	metrics m = { .accuracy = 0.59, .has_accuracy = true };

	ck_assert(r->present);
	ck_assert_str_eq(r->score.text, "1 - accuracy");
	/* Each bound includes its own value; above the last, elevated. */
	ck_assert_str_eq(nf_risk_tier(r, 0.0), "low");
	ck_assert_str_eq(nf_risk_tier(r, 0.05), "low");
	ck_assert_str_eq(nf_risk_tier(r, 0.0500001), "normal");
	ck_assert_str_eq(nf_risk_tier(r, 0.15), "normal");
	ck_assert_str_eq(nf_risk_tier(r, 0.2), "high");
	ck_assert_str_eq(nf_risk_tier(r, 0.30), "high");
	ck_assert_str_eq(nf_risk_tier(r, 0.31), "elevated");
	/* A bound not written is skipped; with none there is no tier. */
	ck_assert_str_eq(nf_risk_tier(&only_high, 0.01), "high");
	ck_assert_str_eq(nf_risk_tier(&only_high, 0.5), "elevated");
	ck_assert_ptr_null(nf_risk_tier(&none, 0.5));
	/* The gate it reads: the only gate here. */
	ck_assert_ptr_eq(nf_risk_gate(dag), nf_dag_find_stage(dag, "promote"));
	/* The score over the gate's metrics. */
	ck_assert_int_eq(nf_risk_evaluate(&score, &tier, r, lookup, NULL, &m), 0);
	ck_assert(fabs(score - 0.41) < 1e-9);
	ck_assert_str_eq(tier, "elevated");
	m.accuracy = 0.9;
	ck_assert_int_eq(nf_risk_evaluate(&score, &tier, r, lookup, NULL, &m), 0);
	ck_assert_str_eq(tier, "normal");
	m.has_accuracy = false;
	ck_assert_int_eq(nf_risk_evaluate(&score, &tier, r, lookup, NULL, &m), NF_ENOTFOUND);
	ck_assert_ptr_null(tier);
	nf_dag_free(dag);
}
END_TEST

START_TEST(test_severity)
{
	nf_dag *dag = parse(pipeline_src);
	const nf_stage *g = nf_dag_find_stage(dag, "promote");
	const nf_criterion *acc = &nf_more(g)->checks[0].severe_when, *ece = &nf_more(g)->checks[1].severe_when;
	metrics m = { .accuracy = 0.69, .ece = 0.2, .has_accuracy = true, .has_ece = true };

	ck_assert_uint_eq(nf_more(g)->nchecks, 3);
	ck_assert_str_eq(nf_more(g)->checks[0].violation, "low_accuracy");
	ck_assert_ptr_null(nf_more(g)->checks[2].violation);
	ck_assert_int_eq(nf_violation_severity(acc, lookup, NULL, &m), NF_SEV_HIGH);
	ck_assert_int_eq(nf_violation_severity(ece, lookup, NULL, &m), NF_SEV_HIGH);
	m.accuracy = 0.70;   /* severe_when is "accuracy < 0.70": the bound itself is medium */
	m.ece = 0.15;
	ck_assert_int_eq(nf_violation_severity(acc, lookup, NULL, &m), NF_SEV_MEDIUM);
	ck_assert_int_eq(nf_violation_severity(ece, lookup, NULL, &m), NF_SEV_MEDIUM);
	/* Nothing to judge: a missing metric, no severe_when, none written. */
	m.has_ece = false;
	ck_assert_int_eq(nf_violation_severity(ece, lookup, NULL, &m), NF_SEV_MEDIUM);
	ck_assert_int_eq(nf_violation_severity(&nf_more(g)->checks[2].severe_when, lookup, NULL, &m), NF_SEV_MEDIUM);
	ck_assert_int_eq(nf_violation_severity(NULL, lookup, NULL, &m), NF_SEV_MEDIUM);
	nf_dag_free(dag);
}
END_TEST

/* Begins a run of pipeline on a logical date in a cohort (NULL: none); its id. */
static int64_t
begin_run(const char *pipeline, const char *date, const char *cohort)
{
	nf_run_info r = { 0 };

	r.pipeline = (char *)pipeline;
	r.logical_date = (char *)date;
	r.cohort = (char *)cohort;
	ck_assert_int_eq(nf_store_run_begin(st, &r), 0);
	return r.id;
}

/* The gate of pipeline_src evaluated over m, its violations recorded for run in cohort. */
static void
gate_run(const nf_dag *dag, int64_t run, const char *cohort, metrics *m, nf_violation **v, size_t *n)
{
	const nf_stage *g = nf_dag_find_stage(dag, "promote");
	nf_criterion all[4];
	nf_gate_result r;
	nf_violation_source src = { "p", run, cohort, g, &r, lookup, m, NULL };

	for (size_t i = 0; i < nf_more(g)->nchecks; i++)
		all[i] = nf_more(g)->checks[i].require;
	all[nf_more(g)->nchecks] = nf_more(g)->require[0];
	nf_gate_evaluate(&r, g->name, all, nf_more(g)->nchecks + nf_more(g)->nrequire, lookup, m);
	ck_assert_int_eq(nf_violations_record(v, n, st, NULL, &src), 0);
	nf_gate_result_release(&r);
	ck_assert_int_eq(nf_store_flush(st), 0);
}

START_TEST(test_violations_record)
{
	nf_dag *dag = parse(pipeline_src);
	metrics m = { .accuracy = 0.65, .ece = 0.1, .has_accuracy = true, .has_ece = true };
	nf_violation *v, *rows;
	size_t n, nrows;
	int64_t run = begin_run("p", "2026-10-05", "2026-10");

	gate_run(dag, run, "2026-10", &m, &v, &n);
	/* accuracy 0.65: low_accuracy (high: < 0.70), calibration (medium: 0.1 is not > 0.15),
	 * and the require string "accuracy >= 0.9", typed by the gate's name; the block
	 * "accuracy >= 0.5" holds. */
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0].type, "low_accuracy");
	ck_assert_int_eq(v[0].severity, NF_SEV_HIGH);
	ck_assert_int_eq(v[0].idx, 0);
	ck_assert(v[0].has_value && v[0].value == 0.65 && v[0].has_threshold && v[0].threshold == 0.85);
	ck_assert_str_eq(v[1].type, "calibration");
	ck_assert_int_eq(v[1].severity, NF_SEV_MEDIUM);
	ck_assert_int_eq(v[1].idx, 1);
	ck_assert_str_eq(v[2].type, "promote");
	ck_assert_int_eq(v[2].severity, NF_SEV_MEDIUM);
	ck_assert_int_eq(v[2].idx, 3);
	ck_assert_str_eq(v[2].expr, "accuracy >= 0.9");
	/* The store's rows say the same, with the run's logical date and cohort. */
	ck_assert_int_eq(nf_store_violation_list(st, &(nf_violation_filter){ .run_id = run }, &rows, &nrows), 0);
	ck_assert_uint_eq(nrows, 3);
	for (size_t i = 0; i < nrows; i++) {
		ck_assert_str_eq(rows[i].type, v[i].type);
		ck_assert_int_eq(rows[i].severity, v[i].severity);
		ck_assert_str_eq(rows[i].cohort, "2026-10");
		ck_assert_str_eq(rows[i].logical_date, "2026-10-05");
		ck_assert_str_eq(rows[i].gate, "promote");
		ck_assert_ptr_null(rows[i].model);
	}
	nf_violation_list_free(rows, nrows);
	/* Evaluated again for the same run (a retried gate): replaced, not added. */
	nf_violation_list_free(v, n);
	gate_run(dag, run, "2026-10", &m, &v, &n);
	ck_assert_int_eq(nf_store_violation_list(st, NULL, &rows, &nrows), 0);
	ck_assert_uint_eq(nrows, 3);
	nf_violation_list_free(rows, nrows);
	nf_violation_list_free(v, n);
	/* All criteria hold: no violation. */
	m.accuracy = 0.95;
	m.ece = 0.01;
	gate_run(dag, begin_run("p", "2026-10-12", "2026-10"), "2026-10", &m, &v, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(v);
	nf_dag_free(dag);
}
END_TEST

static nf_violation
row(const char *pipeline, int64_t run, const char *cohort, const char *gate, int idx, const char *type)
{
	nf_violation v = { 0 };

	v.pipeline = (char *)pipeline;
	v.run_id = run;
	v.cohort = (char *)cohort;
	v.gate = (char *)gate;
	v.idx = idx;
	v.expr = (char *)"x > 1";
	v.type = (char *)type;
	v.severity = NF_SEV_MEDIUM;
	v.created_ms = 1790000000000;   /* 2026-09-21 (UTC) */
	return v;
}

static size_t
count(const nf_violation_filter *f)
{
	nf_violation *v;
	size_t n;

	ck_assert_int_eq(nf_store_violation_list(st, f, &v, &n), 0);
	nf_violation_list_free(v, n);
	return n;
}

START_TEST(test_store_rows)
{
	int64_t r1 = begin_run("p", "2026-09-28", "2026-09"), r2 = begin_run("p", "2026-10-05", "2026-10");
	int64_t r3 = begin_run("q", "2026-10-12", "2026-10"), r4 = begin_run("p", "2026-11-02", NULL);
	nf_violation v[] = {
		row("p", r1, "2026-09", "promote", 0, "low_accuracy"),
		row("p", r2, "2026-10", "promote", 0, "low_accuracy"),
		row("p", r2, "2026-10", "promote", 1, "calibration"),
		row("p", r2, "2026-10", "other", 0, "other"),
		row("q", r3, "2026-10", "promote", 0, "promote"),
		row("p", r4, NULL, "promote", 0, "promote"),
		row("p", 99, "2026-08", "promote", 0, "promote"),   /* a run whose rows are gone */
	};
	nf_violation *got;
	nf_run_info *runs, ri;
	size_t n;

	for (size_t i = 0; i < NF_ARRAY_SIZE(v); i++)
		ck_assert_int_eq(nf_store_violation_put(st, &v[i]), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_uint_eq(count(NULL), 7);
	ck_assert_uint_eq(count(&(nf_violation_filter){ .cohort = "2026-10" }), 4);
	ck_assert_uint_eq(count(&(nf_violation_filter){ .cohort = "2026-10", .pipeline = "p" }), 3);
	ck_assert_uint_eq(count(&(nf_violation_filter){ .cohort = "none" }), 0);
	/* Logical dates, both ends included; a gone run counts on the day it was recorded. */
	ck_assert_uint_eq(count(&(nf_violation_filter){ .from = "2026-10-05" }), 5);
	ck_assert_uint_eq(count(&(nf_violation_filter){ .from = "2026-10-05", .to = "2026-10-05" }), 3);
	ck_assert_uint_eq(count(&(nf_violation_filter){ .to = "2026-09-30" }), 2);
	ck_assert_int_eq(nf_store_violation_list(st, &(nf_violation_filter){ .run_id = 99 }, &got, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(got[0].logical_date, "2026-09-21");
	nf_violation_list_free(got, n);
	/* Oldest logical date first, then run, gate, criterion. */
	ck_assert_int_eq(nf_store_violation_list(st, &(nf_violation_filter){ .pipeline = "p" }, &got, &n), 0);
	ck_assert_uint_eq(n, 6);
	ck_assert_int_eq(got[0].run_id, 99);
	ck_assert_int_eq(got[1].run_id, r1);
	ck_assert_str_eq(got[2].gate, "other");
	ck_assert_str_eq(got[3].type, "low_accuracy");
	ck_assert_str_eq(got[4].type, "calibration");
	ck_assert_ptr_null(got[5].cohort);
	nf_violation_list_free(got, n);

	/* The version a run registered, on its gate's violations only. */
	ck_assert_int_eq(nf_store_violation_set_model(st, r2, "promote", "clf", 3), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_violation_list(st, &(nf_violation_filter){ .run_id = r2 }, &got, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_null(got[0].model);   /* gate "other" */
	ck_assert_str_eq(got[1].model, "clf");
	ck_assert_int_eq(got[1].version, 3);
	ck_assert_str_eq(got[2].model, "clf");
	nf_violation_list_free(got, n);

	/* A run's cohort and risk, and the window of runs by logical date. */
	ck_assert_int_eq(nf_store_run_set_risk(st, r2, 0.224, "high"), 0);
	ck_assert_int_eq(nf_store_run_set_risk(st, 12345, 0.1, "low"), NF_ENOTFOUND);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_run_get(st, r2, &ri), 0);
	ck_assert_str_eq(ri.cohort, "2026-10");
	ck_assert(ri.has_risk && ri.risk_score == 0.224);
	ck_assert_str_eq(ri.risk_tier, "high");
	nf_run_info_release(&ri);
	ck_assert_int_eq(nf_store_run_get(st, r4, &ri), 0);
	ck_assert_ptr_null(ri.cohort);
	ck_assert(!ri.has_risk);
	ck_assert_ptr_null(ri.risk_tier);
	nf_run_info_release(&ri);
	ck_assert_int_eq(nf_store_run_window(st, "p", "2026-10-01", "2026-11-02", &runs, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(runs[0].id, r2);
	ck_assert(runs[0].has_risk);
	ck_assert_str_eq(runs[0].risk_tier, "high");
	ck_assert_int_eq(runs[1].id, r4);
	nf_run_info_list_free(runs, n);
	ck_assert_int_eq(nf_store_run_window(st, NULL, NULL, NULL, &runs, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(runs[0].logical_date, "2026-09-28");
	nf_run_info_list_free(runs, n);
}
END_TEST

START_TEST(test_cohort_check)
{
	char big[200];

	ck_assert_int_eq(nf_cohort_check("2026-Q4"), 0);
	ck_assert_int_eq(nf_cohort_check("arm b (control)"), 0);
	ck_assert_int_eq(nf_cohort_check(""), NF_EINVALID);
	ck_assert_int_eq(nf_cohort_check("a\tb"), NF_EINVALID);
	/* "-" marks the runs without a cohort in the tables: no cohort may look like them */
	ck_assert_int_eq(nf_cohort_check("-"), NF_EINVALID);
	ck_assert_int_eq(nf_cohort_check("(none)"), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(nf_cohort_check(big), NF_EINVALID);
	/* Valid UTF-8 only, without C1 controls; a character may end at byte 128. */
	ck_assert_int_eq(nf_cohort_check("r\xc3\xa9gion \xe2\x82\xac \xf0\x9f\x93\x88"), 0);
	ck_assert_int_eq(nf_cohort_check("\xff\xfe"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "a cohort must be valid UTF-8, byte 1 is 0xff (a cohort is 1 to 128 bytes"
					  " of valid UTF-8 with no control characters)");
	ck_assert_int_eq(nf_cohort_check("ok\xc3"), NF_EINVALID);            /* cut short */
	ck_assert_int_eq(nf_cohort_check("\xc0\xaf"), NF_EINVALID);         /* overlong */
	ck_assert_int_eq(nf_cohort_check("\xed\xa0\x80"), NF_EINVALID);     /* a surrogate */
	ck_assert_int_eq(nf_cohort_check("a\xc2\x85" "b"), NF_EINVALID);       /* NEL, a C1 control */
	ck_assert_int_eq(nf_cohort_check("a\x7f"), NF_EINVALID);
	memset(big, 'x', 126);
	memcpy(big + 126, "\xc3\xa9", 3);
	ck_assert_int_eq(nf_cohort_check(big), 0);
}
END_TEST

static Suite *
cohort_suite(void)
{
	Suite *s = suite_create("cohort");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tiers);
	tcase_add_test(tc, test_severity);
	tcase_add_test(tc, test_violations_record);
	tcase_add_test(tc, test_store_rows);
	tcase_add_test(tc, test_cohort_check);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cohort_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

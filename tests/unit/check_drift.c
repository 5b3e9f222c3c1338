/* check_drift.c: the cohort drift report's model on fixed data (src/report/drift.c): cohorts
 * and their counts, means and tiers; the comparisons and their has-drift verdicts against
 * the tolerances (the edge: a move equal to the tolerance is no drift); the recommendation
 * rules; dates; and the JSON's documented shape ("schema": 1), text and HTML. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"
#include "ntflow/report.h"

/* A run for the fixtures: its cohort, status and gate metrics (accuracy, ece), its risk. */
static nf_drift_run
mkrun(int64_t id, const char *date, const char *cohort, nf_run_status st, bool promoted, double acc, double ece,
      const char *tier)
{
	nf_drift_run r = { 0 };

	r.id = id;
	r.pipeline = xstrdup("retrain");
	r.date = xstrdup(date);
	r.cohort = cohort ? xstrdup(cohort) : NULL;
	r.status = st;
	r.promoted = promoted;
	r.has_risk = !isnan(acc);
	r.risk_score = 1 - acc;
	r.risk_tier = tier ? xstrdup(tier) : NULL;
	if (!isnan(acc)) {
		r.metric_names = xcalloc(3, sizeof(char *));
		r.metric_values = xcalloc(3, sizeof(double));
		r.metric_names[0] = xstrdup("accuracy");
		r.metric_values[0] = acc;
		r.metric_names[1] = xstrdup("ece");
		r.metric_values[1] = ece;
		r.metric_names[2] = xstrdup("auc");
		r.metric_values[2] = acc + 0.05;
		r.nmetrics = 3;
	}
	return r;
}

static nf_violation
mkviol(int64_t run, const char *type, nf_severity sev)
{
	nf_violation v = { 0 };

	v.run_id = run;
	v.type = (char *)type;
	v.severity = sev;
	return v;
}

/* A quarter: September stable (3 runs), October drifting (6 runs, 4 with calibration
 * violations, one of them high, and 3 with low accuracy), November recovered (2 runs). */
static nf_drift_run quarter[11];
static nf_violation quarter_v[8];
static const nf_drift_tolerance tol2[] = { { "accuracy", 0.02 }, { "ece", 0.01 } };

static void
quarter_setup(void)
{
	size_t i = 0;

	quarter[i++] = mkrun(1, "2026-09-06", "2026-09", NF_RUN_SUCCEEDED, true, 0.90, 0.016, "normal");
	quarter[i++] = mkrun(2, "2026-09-13", "2026-09", NF_RUN_SUCCEEDED, true, 0.90, 0.014, "normal");
	quarter[i++] = mkrun(3, "2026-09-20", "2026-09", NF_RUN_SUCCEEDED, true, 0.90, 0.021, "normal");
	quarter[i++] = mkrun(4, "2026-10-04", "2026-10", NF_RUN_GATED, false, 0.87, 0.090, "normal");
	quarter[i++] = mkrun(5, "2026-10-11", "2026-10", NF_RUN_GATED, false, 0.82, 0.095, "high");
	quarter[i++] = mkrun(6, "2026-10-18", "2026-10", NF_RUN_GATED, false, 0.77, 0.160, "high");
	quarter[i++] = mkrun(7, "2026-10-25", "2026-10", NF_RUN_GATED, false, 0.68, 0.085, "elevated");
	quarter[i++] = mkrun(8, "2026-10-26", "2026-10", NF_RUN_FAILED, false, NAN, NAN, NULL);
	quarter[i++] = mkrun(9, "2026-10-27", "2026-10", NF_RUN_SUCCEEDED, false, 0.88, 0.030, "normal");
	quarter[i++] = mkrun(10, "2026-11-01", "2026-11", NF_RUN_SUCCEEDED, true, 0.91, 0.016, "normal");
	quarter[i++] = mkrun(11, "2026-11-08", "2026-11", NF_RUN_SUCCEEDED, true, 0.91, 0.020, "normal");
	i = 0;
	quarter_v[i++] = mkviol(4, "calibration", NF_SEV_MEDIUM);
	quarter_v[i++] = mkviol(5, "calibration", NF_SEV_MEDIUM);
	quarter_v[i++] = mkviol(5, "low_accuracy", NF_SEV_MEDIUM);
	quarter_v[i++] = mkviol(6, "calibration", NF_SEV_HIGH);
	quarter_v[i++] = mkviol(6, "low_accuracy", NF_SEV_MEDIUM);
	quarter_v[i++] = mkviol(7, "calibration", NF_SEV_MEDIUM);
	quarter_v[i++] = mkviol(7, "low_accuracy", NF_SEV_HIGH);
	quarter_v[i++] = mkviol(99, "calibration", NF_SEV_HIGH);   /* a run outside the window: ignored */
}

static void
quarter_teardown(void)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(quarter); i++) {
		nf_drift_run *r = &quarter[i];

		free(r->pipeline);
		free(r->date);
		free(r->cohort);
		free(r->risk_tier);
		for (size_t k = 0; k < r->nmetrics; k++)
			free(r->metric_names[k]);
		free(r->metric_names);
		free(r->metric_values);
	}
	memset(quarter, 0, sizeof(quarter));
}

static bool
close_to(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static const nf_drift_rec *
find_rec(const nf_drift_report *r, const char *rule, const char *cohort)
{
	for (size_t i = 0; i < r->nrecs; i++)
		if (strcmp(r->recs[i].rule, rule) == 0 && r->recs[i].cohort && strcmp(r->recs[i].cohort, cohort) == 0)
			return &r->recs[i];
	return NULL;
}

START_TEST(test_dates)
{
	ck_assert(nf_date_ok("2026-10-01"));
	ck_assert(nf_date_ok("2028-02-29"));
	ck_assert(nf_date_ok("2000-02-29"));
	ck_assert(!nf_date_ok("1900-02-29"));
	ck_assert(!nf_date_ok("2026-02-29"));
	ck_assert(!nf_date_ok("2026-04-31"));
	ck_assert(!nf_date_ok("2026-13-01"));
	ck_assert(!nf_date_ok("2026-1-01"));
	ck_assert(!nf_date_ok("2026-10-01T00"));
	ck_assert(!nf_date_ok("yesterday"));
	ck_assert(!nf_date_ok(""));
	ck_assert(!nf_date_ok(NULL));
}
END_TEST

START_TEST(test_bad_window)
{
	nf_drift_report *r = (nf_drift_report *)1;

	ck_assert_int_eq(nf_drift_build(&r, NULL, "2026-10-01", "2026-09-01", NULL, 0, NULL, 0, NULL, 0), NF_EINVALID);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(nf_drift_build(&r, NULL, "2026-09-31", "2026-10-01", NULL, 0, NULL, 0, NULL, 0), NF_EINVALID);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "2026-09-31"));
}
END_TEST

START_TEST(test_cohorts)
{
	nf_drift_report *r = NULL;
	const nf_drift_cohort *c;

	ck_assert_int_eq(nf_drift_build(&r, "retrain", "2026-09-01", "2026-11-30", quarter, 11, quarter_v, 8, tol2, 2), 0);
	ck_assert_uint_eq(r->ncohorts, 3);
	ck_assert_str_eq(r->cohorts[0].id, "2026-09");
	ck_assert_str_eq(r->cohorts[1].id, "2026-10");
	ck_assert_str_eq(r->cohorts[2].id, "2026-11");
	/* tracked: the declared tolerances, in their order (auc has none: not tracked) */
	ck_assert_uint_eq(r->nmetrics, 2);
	ck_assert_str_eq(r->metrics[0], "accuracy");
	ck_assert_str_eq(r->metrics[1], "ece");

	c = &r->cohorts[1];
	ck_assert_str_eq(c->first_date, "2026-10-04");
	ck_assert_str_eq(c->last_date, "2026-10-27");
	ck_assert_uint_eq(c->runs, 6);
	ck_assert_uint_eq(c->promoted, 0);
	ck_assert_uint_eq(c->gated, 4);
	ck_assert_uint_eq(c->failed, 1);
	ck_assert_uint_eq(c->violations, 7);
	ck_assert_uint_eq(c->violating_runs, 4);
	ck_assert_uint_eq(c->severity[NF_DRIFT_SEV_LOW], 0);
	ck_assert_uint_eq(c->severity[NF_DRIFT_SEV_MEDIUM], 5);
	ck_assert_uint_eq(c->severity[NF_DRIFT_SEV_HIGH], 2);
	ck_assert_uint_eq(c->ntypes, 2);
	ck_assert_str_eq(c->types[0].type, "calibration");   /* by count */
	ck_assert_uint_eq(c->types[0].count, 4);
	ck_assert_uint_eq(c->types[0].runs, 4);
	ck_assert_uint_eq(c->types[0].severity[NF_DRIFT_SEV_HIGH], 1);
	ck_assert_str_eq(c->types[1].type, "low_accuracy");
	ck_assert_uint_eq(c->types[1].runs, 3);
	/* the failed run has no risk and no metrics: 5 scored, 5 averaged */
	ck_assert_uint_eq(c->risk_scored, 5);
	ck_assert(close_to(c->risk_mean, (0.13 + 0.18 + 0.23 + 0.32 + 0.12) / 5));
	ck_assert_uint_eq(c->tiers[NF_DRIFT_TIER_NORMAL], 2);
	ck_assert_uint_eq(c->tiers[NF_DRIFT_TIER_HIGH], 2);
	ck_assert_uint_eq(c->tiers[NF_DRIFT_TIER_ELEVATED], 1);
	ck_assert_uint_eq(c->metrics[0].runs, 5);
	ck_assert(close_to(c->metrics[0].mean, (0.87 + 0.82 + 0.77 + 0.68 + 0.88) / 5));
	ck_assert_uint_eq(r->cohorts[0].promoted, 3);
	ck_assert_uint_eq(r->cohorts[0].violations, 0);
	ck_assert(close_to(r->cohorts[0].metrics[1].mean, 0.017));
	nf_drift_report_free(r);
}
END_TEST

START_TEST(test_verdicts)
{
	nf_drift_report *r = NULL;
	const nf_drift_comparison *k;

	ck_assert_int_eq(nf_drift_build(&r, "retrain", "2026-09-01", "2026-11-30", quarter, 11, quarter_v, 8, tol2, 2), 0);
	/* 09 -> 10, 10 -> 11 (consecutive), then 09 -> 11 (against the first) */
	ck_assert_uint_eq(r->ncomparisons, 3);
	k = &r->comparisons[0];
	ck_assert(!k->baseline && k->from == 0 && k->to == 1);
	ck_assert(k->has_drift);
	ck_assert(k->deltas[0].drift && k->deltas[0].has_tolerance);
	ck_assert(close_to(k->deltas[0].delta, 0.804 - 0.90));
	ck_assert(k->deltas[1].drift);                    /* ece 0.017 -> 0.080 */
	k = &r->comparisons[1];
	ck_assert(!k->baseline && k->from == 1 && k->to == 2 && k->has_drift);
	k = &r->comparisons[2];
	ck_assert(k->baseline && k->from == 0 && k->to == 2);
	ck_assert(!k->deltas[0].drift);                   /* 0.90 -> 0.91: within 0.02 */
	ck_assert(!k->deltas[1].drift);                   /* 0.017 -> 0.018 */
	ck_assert(!k->has_drift);
	ck_assert(r->has_drift);
	nf_drift_report_free(r);

	/* the stable month alone: one cohort, nothing compared, no drift */
	ck_assert_int_eq(nf_drift_build(&r, "retrain", "2026-09-01", "2026-09-30", quarter, 3, NULL, 0, tol2, 2), 0);
	ck_assert_uint_eq(r->ncohorts, 1);
	ck_assert_uint_eq(r->ncomparisons, 0);
	ck_assert(!r->has_drift);
	ck_assert_uint_eq(r->nrecs, 0);
	nf_drift_report_free(r);

	/* September against November: 0.90 -> 0.91 within 0.02; but beyond a tolerance of 0.005 */
	ck_assert_int_eq(nf_drift_build(&r, NULL, "2026-09-01", "2026-11-30", (nf_drift_run[]){ quarter[0], quarter[9] }, 2,
					NULL, 0, tol2, 2), 0);
	ck_assert(!r->has_drift);
	nf_drift_report_free(r);
	ck_assert_int_eq(nf_drift_build(&r, NULL, "2026-09-01", "2026-11-30", (nf_drift_run[]){ quarter[0], quarter[9] }, 2,
					NULL, 0, (nf_drift_tolerance[]){ { "accuracy", 0.005 } }, 1), 0);
	ck_assert(r->has_drift);
	ck_assert_ptr_nonnull(find_rec(r, "drift:accuracy", "2026-11"));
	nf_drift_report_free(r);
	/* a move exactly as large as the tolerance is no drift (0.91 - 0.90 = 0.01) */
	ck_assert_int_eq(nf_drift_build(&r, NULL, "2026-09-01", "2026-11-30", (nf_drift_run[]){ quarter[0], quarter[9] }, 2,
					NULL, 0, (nf_drift_tolerance[]){ { "accuracy", 0.01 } }, 1), 0);
	ck_assert(!r->comparisons[0].deltas[0].drift);
	nf_drift_report_free(r);
}
END_TEST

START_TEST(test_no_tolerance)
{
	nf_drift_report *r = NULL;

	/* none declared: every metric tracked, by name, without a verdict */
	ck_assert_int_eq(nf_drift_build(&r, NULL, "2026-09-01", "2026-11-30", quarter, 11, NULL, 0, NULL, 0), 0);
	ck_assert_uint_eq(r->nmetrics, 3);
	ck_assert_str_eq(r->metrics[0], "accuracy");
	ck_assert_str_eq(r->metrics[1], "auc");
	ck_assert_str_eq(r->metrics[2], "ece");
	ck_assert(!r->has_tolerance[0]);
	ck_assert(!r->comparisons[0].deltas[0].has_tolerance);
	ck_assert(!r->comparisons[0].deltas[0].drift);
	ck_assert(!r->has_drift);
	nf_drift_report_free(r);
}
END_TEST

START_TEST(test_recommendations)
{
	nf_drift_report *r = NULL;
	const nf_drift_rec *rec;

	ck_assert_int_eq(nf_drift_build(&r, "retrain", "2026-09-01", "2026-11-30", quarter, 11, quarter_v, 8, tol2, 2), 0);
	rec = find_rec(r, "violation:calibration", "2026-10");
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(rec->text, "calibration violations in 4 of 6 runs of cohort 2026-10 (1 of high severity):"
				    " recalibrate or retrain with more recent data");
	rec = find_rec(r, "violation:low_accuracy", "2026-10");
	ck_assert_ptr_nonnull(rec);
	ck_assert_ptr_nonnull(strstr(rec->text, "low_accuracy violations in 3 of 6 runs of cohort 2026-10"));
	rec = find_rec(r, "tier:elevated", "2026-10");
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(rec->text, "1 of 6 runs of cohort 2026-10 in the elevated risk tier: hold promotions and review"
				    " the model and its data before the next run");
	ck_assert_ptr_nonnull(find_rec(r, "tier:high", "2026-10"));
	ck_assert_ptr_null(find_rec(r, "tier:normal", "2026-09"));   /* no rule for low and normal */
	rec = find_rec(r, "drift:accuracy", "2026-10");
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(rec->text, "accuracy moved by -0.096 from cohort 2026-09 to cohort 2026-10 (tolerance 0.02):"
				    " retrain with more recent data and compare the cohorts' feature distributions");
	ck_assert_ptr_nonnull(find_rec(r, "drift:ece", "2026-10"));
	rec = find_rec(r, "drift:accuracy", "2026-11");   /* back up from October: an improvement */
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(rec->text, "accuracy moved by +0.106 from cohort 2026-10 to cohort 2026-11 (tolerance 0.02):"
				    " an improvement: check that it holds before taking the later cohort as the baseline");
	/* a recovery that falls short of the first cohort is said against the first cohort */
	{
		nf_drift_run short_runs[3] = { quarter[0], quarter[3], quarter[9] };
		nf_drift_report *r2 = NULL;

		ck_assert_int_eq(nf_drift_build(&r2, NULL, "2026-09-01", "2026-11-30", short_runs, 3, NULL, 0,
						(nf_drift_tolerance[]){ { "accuracy", 0.005 } }, 1), 0);
		/* 0.90 -> 0.87 -> 0.91: up from October (an improvement), up from September too: said once */
		ck_assert_ptr_nonnull(find_rec(r2, "drift:accuracy", "2026-11"));
		ck_assert_uint_eq(r2->nrecs, 2);
		nf_drift_report_free(r2);
		/* 0.90 -> 0.87 -> 0.88: up from October, still down from September: said both ways */
		short_runs[2] = mkrun(12, "2026-11-15", "2026-11", NF_RUN_SUCCEEDED, true, 0.88, 0.02, NULL);
		ck_assert_int_eq(nf_drift_build(&r2, NULL, "2026-09-01", "2026-11-30", short_runs, 3, NULL, 0,
						(nf_drift_tolerance[]){ { "accuracy", 0.005 } }, 1), 0);
		ck_assert_uint_eq(r2->nrecs, 3);
		ck_assert_ptr_nonnull(strstr(r2->recs[1].text, "an improvement"));
		ck_assert_str_eq(r2->recs[2].text, "accuracy moved by -0.02 from cohort 2026-09 to cohort 2026-11"
						   " (tolerance 0.005): retrain with more recent data and compare the"
						   " cohorts' feature distributions");
		nf_drift_report_free(r2);
		free(short_runs[2].pipeline);
		free(short_runs[2].date);
		free(short_runs[2].cohort);
		for (size_t k = 0; k < short_runs[2].nmetrics; k++)
			free(short_runs[2].metric_names[k]);
		free(short_runs[2].metric_names);
		free(short_runs[2].metric_values);
	}
	/* nothing for the stable cohort, and the November baseline comparison did not drift */
	for (size_t i = 0; i < r->nrecs; i++)
		ck_assert(strcmp(r->recs[i].cohort, "2026-09") != 0);
	nf_drift_report_free(r);

	/* the rule table */
	ck_assert_str_eq(nf_drift_advice_violation("calibration"), "recalibrate or retrain with more recent data");
	ck_assert_ptr_nonnull(strstr(nf_drift_advice_violation("promote"), "review the failed criteria"));
	ck_assert_ptr_null(nf_drift_advice_tier("low"));
	ck_assert_ptr_null(nf_drift_advice_tier("normal"));
	ck_assert_ptr_nonnull(nf_drift_advice_tier("elevated"));
	ck_assert_str_eq(nf_drift_advice_metric("ece", +0.02), "recalibrate or retrain with more recent data");
	ck_assert_ptr_nonnull(strstr(nf_drift_advice_metric("ece", -0.02), "an improvement"));
	ck_assert_ptr_nonnull(strstr(nf_drift_advice_metric("accuracy", +0.05), "an improvement"));
	ck_assert_ptr_nonnull(strstr(nf_drift_advice_metric("accuracy", -0.05), "retrain"));
	ck_assert_ptr_nonnull(strstr(nf_drift_advice_metric("val_loss", 1), "compare the data"));
}
END_TEST

START_TEST(test_slow_drift)
{
	/* each step within tolerance, the sum beyond it: said once, against the first cohort */
	nf_drift_run runs[3];
	nf_drift_report *r = NULL;
	const nf_drift_rec *rec;

	runs[0] = mkrun(1, "2026-09-06", "a", NF_RUN_SUCCEEDED, true, 0.90, 0.01, NULL);
	runs[1] = mkrun(2, "2026-10-06", "b", NF_RUN_SUCCEEDED, true, 0.885, 0.01, NULL);
	runs[2] = mkrun(3, "2026-11-06", "c", NF_RUN_SUCCEEDED, true, 0.87, 0.01, NULL);
	ck_assert_int_eq(nf_drift_build(&r, NULL, "2026-09-01", "2026-11-30", runs, 3, NULL, 0,
					(nf_drift_tolerance[]){ { "accuracy", 0.02 } }, 1), 0);
	ck_assert(!r->comparisons[0].has_drift);
	ck_assert(!r->comparisons[1].has_drift);
	ck_assert(r->comparisons[2].baseline && r->comparisons[2].has_drift);
	ck_assert(r->has_drift);
	ck_assert_uint_eq(r->nrecs, 1);
	rec = find_rec(r, "drift:accuracy", "c");
	ck_assert_ptr_nonnull(rec);
	ck_assert_ptr_nonnull(strstr(rec->text, "from cohort a to cohort c"));
	nf_drift_report_free(r);
	for (int i = 0; i < 3; i++) {
		free(runs[i].pipeline);
		free(runs[i].date);
		free(runs[i].cohort);
		for (size_t k = 0; k < runs[i].nmetrics; k++)
			free(runs[i].metric_names[k]);
		free(runs[i].metric_names);
		free(runs[i].metric_values);
	}
}
END_TEST

START_TEST(test_missing_mean)
{
	/* a cohort whose runs lack a tracked metric has no mean: its comparisons get no verdict
	 * (delta and drift null, "-" in text), not "no drift", and has-drift counts only the
	 * real verdicts */
	nf_drift_run runs[3];
	nf_drift_report *r = NULL;
	nf_buf b = NF_BUF_INIT;
	cJSON *j, *m;

	runs[0] = mkrun(1, "2026-09-06", "2026-09", NF_RUN_SUCCEEDED, true, 0.90, 0.01, NULL);
	runs[1] = mkrun(2, "2026-10-04", "2026-10", NF_RUN_SUCCEEDED, true, NAN, NAN, NULL);
	runs[2] = mkrun(3, "2026-11-01", "2026-11", NF_RUN_SUCCEEDED, true, 0.90, 0.01, NULL);
	ck_assert_int_eq(nf_drift_build(&r, NULL, "2026-09-01", "2026-11-30", runs, 3, NULL, 0, tol2, 2), 0);
	ck_assert_uint_eq(r->ncomparisons, 3);
	for (size_t k = 0; k < 2; k++) {   /* 09 -> 10 and 10 -> 11: no mean on one side */
		ck_assert(isnan(r->comparisons[k].deltas[0].delta));
		ck_assert(!r->comparisons[k].deltas[0].verdict);
		ck_assert(!r->comparisons[k].deltas[0].drift);
	}
	ck_assert(r->comparisons[2].baseline && r->comparisons[2].deltas[0].verdict);   /* 09 -> 11 */
	ck_assert(!r->comparisons[2].deltas[0].drift);
	ck_assert(!r->has_drift);
	nf_drift_json(&b, r);
	j = cJSON_Parse(nf_buf_cstr(&b));
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "comparisons"), 0), "metrics"), 0);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(m, "delta")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(m, "drift")));
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "comparisons"), 2), "metrics"), 0);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(m, "drift")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "has_drift")));
	cJSON_Delete(j);
	nf_buf_reset(&b);
	nf_drift_text(&b, r);
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&b), "0.02       -\n"));
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&b), "0.02       no\n"));
	/* the caller could not read the tolerances: has drift is unknown, not "no" */
	r->unknown = true;
	nf_buf_reset(&b);
	nf_drift_text(&b, r);
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&b), "\nHas drift: unknown (no tolerances)\n"));
	nf_buf_reset(&b);
	nf_drift_json(&b, r);
	j = cJSON_Parse(nf_buf_cstr(&b));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "has_drift")));
	cJSON_Delete(j);
	nf_buf_release(&b);
	nf_drift_report_free(r);
	for (int i = 0; i < 3; i++) {
		free(runs[i].pipeline);
		free(runs[i].date);
		free(runs[i].cohort);
		free(runs[i].risk_tier);
		for (size_t k = 0; k < runs[i].nmetrics; k++)
			free(runs[i].metric_names[k]);
		free(runs[i].metric_names);
		free(runs[i].metric_values);
	}
}
END_TEST

START_TEST(test_no_cohort)
{
	/* runs without a cohort form one group of their own, "-" in text (a mark nf_cohort_check
	 * refuses, so that a cohort named "(none)" cannot pass for them), null in JSON */
	nf_drift_run runs[2];
	nf_drift_report *r = NULL;
	nf_buf b = NF_BUF_INIT;
	cJSON *j;

	runs[0] = mkrun(1, "2026-09-06", NULL, NF_RUN_SUCCEEDED, true, 0.90, 0.01, NULL);
	runs[1] = mkrun(2, "2026-09-13", NULL, NF_RUN_SUCCEEDED, true, 0.90, 0.01, NULL);
	ck_assert_int_eq(nf_drift_build(&r, NULL, "2026-09-01", "2026-09-30", runs, 2, NULL, 0, tol2, 2), 0);
	ck_assert_uint_eq(r->ncohorts, 1);
	ck_assert_ptr_null(r->cohorts[0].id);
	nf_drift_text(&b, r);
	ck_assert_ptr_null(strstr(nf_buf_cstr(&b), "(none)"));
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&b), "\n- "));   /* the row of the cohort table */
	ck_assert_int_lt(nf_cohort_check("-"), 0);
	nf_buf_reset(&b);
	nf_drift_json(&b, r);
	j = cJSON_Parse(nf_buf_cstr(&b));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "cohorts"), 0), "cohort")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "pipeline")));
	cJSON_Delete(j);
	nf_buf_release(&b);
	nf_drift_report_free(r);
	for (int i = 0; i < 2; i++) {
		free(runs[i].pipeline);
		free(runs[i].date);
		for (size_t k = 0; k < runs[i].nmetrics; k++)
			free(runs[i].metric_names[k]);
		free(runs[i].metric_names);
		free(runs[i].metric_values);
	}
}
END_TEST

/* Every key of o is one of keys, and each of keys is there. */
static void
keys_are(const cJSON *o, const char *const *keys, size_t n)
{
	const cJSON *it;
	size_t count = 0;

	ck_assert(cJSON_IsObject(o));
	cJSON_ArrayForEach(it, o) {
		bool known = false;

		for (size_t i = 0; i < n; i++)
			known = known || strcmp(keys[i], it->string) == 0;
		ck_assert_msg(known, "undocumented key '%s'", it->string);
		count++;
	}
	ck_assert_uint_eq(count, n);
}

START_TEST(test_json_shape)
{
	static const char *const top[] = { "schema", "pipeline", "from", "to", "has_drift", "tracked", "cohorts",
					   "comparisons", "recommendations" };
	static const char *const cohort[] = { "cohort", "first_date", "last_date", "run_ids", "actions", "violations",
					      "risk", "metrics" };
	static const char *const actions[] = { "runs", "promoted", "gated", "failed" };
	static const char *const viol[] = { "total", "runs", "by_severity", "by_type" };
	static const char *const sev[] = { "low", "medium", "high" };
	static const char *const vtype[] = { "type", "count", "runs", "by_severity" };
	static const char *const risk[] = { "mean", "scored", "tiers" };
	static const char *const tiers[] = { "low", "normal", "high", "elevated" };
	static const char *const mean[] = { "mean", "runs" };
	static const char *const cmp[] = { "from", "to", "kind", "has_drift", "metrics" };
	static const char *const delta[] = { "metric", "from", "to", "delta", "tolerance", "drift" };
	static const char *const tracked[] = { "metric", "tolerance" };
	static const char *const rec[] = { "rule", "cohort", "text" };
	nf_drift_report *r = NULL;
	nf_buf b = NF_BUF_INIT;
	cJSON *j, *c, *v, *k;

	ck_assert_int_eq(nf_drift_build(&r, "retrain", "2026-09-01", "2026-11-30", quarter, 11, quarter_v, 8, tol2, 2), 0);
	nf_drift_json(&b, r);
	j = cJSON_Parse(nf_buf_cstr(&b));
	ck_assert_ptr_nonnull(j);
	keys_are(j, top, NF_ARRAY_SIZE(top));
	ck_assert_int_eq(cJSON_GetObjectItem(j, "schema")->valueint, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "pipeline")->valuestring, "retrain");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "from")->valuestring, "2026-09-01");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "has_drift")));
	keys_are(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tracked"), 0), tracked, NF_ARRAY_SIZE(tracked));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "cohorts")), 3);
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "cohorts"), 1);
	keys_are(c, cohort, NF_ARRAY_SIZE(cohort));
	ck_assert_str_eq(cJSON_GetObjectItem(c, "cohort")->valuestring, "2026-10");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "run_ids")), 6);
	keys_are(cJSON_GetObjectItem(c, "actions"), actions, NF_ARRAY_SIZE(actions));
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "actions"), "gated")->valueint, 4);
	v = cJSON_GetObjectItem(c, "violations");
	keys_are(v, viol, NF_ARRAY_SIZE(viol));
	keys_are(cJSON_GetObjectItem(v, "by_severity"), sev, NF_ARRAY_SIZE(sev));
	k = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "by_type"), 0);
	keys_are(k, vtype, NF_ARRAY_SIZE(vtype));
	keys_are(cJSON_GetObjectItem(k, "by_severity"), sev, NF_ARRAY_SIZE(sev));
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(k, "by_severity"), "high")->valueint, 1);
	keys_are(cJSON_GetObjectItem(c, "risk"), risk, NF_ARRAY_SIZE(risk));
	keys_are(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "risk"), "tiers"), tiers, NF_ARRAY_SIZE(tiers));
	keys_are(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "metrics"), "accuracy"), mean, NF_ARRAY_SIZE(mean));
	k = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "comparisons"), 2);
	keys_are(k, cmp, NF_ARRAY_SIZE(cmp));
	ck_assert_str_eq(cJSON_GetObjectItem(k, "kind")->valuestring, "baseline");
	keys_are(cJSON_GetArrayItem(cJSON_GetObjectItem(k, "metrics"), 0), delta, NF_ARRAY_SIZE(delta));
	keys_are(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "recommendations"), 0), rec, NF_ARRAY_SIZE(rec));
	cJSON_Delete(j);
	nf_drift_report_free(r);

	/* an empty window: the same keys, empty arrays */
	nf_buf_reset(&b);
	ck_assert_int_eq(nf_drift_build(&r, "retrain", "2027-01-01", "2027-01-31", NULL, 0, NULL, 0, tol2, 2), 0);
	nf_drift_json(&b, r);
	j = cJSON_Parse(nf_buf_cstr(&b));
	keys_are(j, top, NF_ARRAY_SIZE(top));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "cohorts")), 0);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "comparisons")), 0);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "recommendations")), 0);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "has_drift")));
	cJSON_Delete(j);
	nf_buf_reset(&b);
	nf_drift_text(&b, r);
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&b), "no runs with a logical date from 2027-01-01 to 2027-01-31"));
	nf_buf_release(&b);
	nf_drift_report_free(r);
}
END_TEST

START_TEST(test_text_html)
{
	nf_drift_report *r = NULL;
	nf_buf b = NF_BUF_INIT;
	nf_report_opts o = { .now_ms = 1 };
	const char *s;

	free(quarter[0].cohort);
	quarter[0].cohort = xstrdup("<b>&");   /* escaped on the page */
	ck_assert_int_eq(nf_drift_build(&r, "retrain", "2026-09-01", "2026-11-30", quarter, 11, quarter_v, 8, tol2, 2), 0);
	nf_drift_text(&b, r);
	s = nf_buf_cstr(&b);
	ck_assert_ptr_nonnull(strstr(s, "Has drift: yes"));
	ck_assert_ptr_nonnull(strstr(s, "calibration violations in 4 of 6 runs of cohort 2026-10"));
	nf_buf_reset(&b);
	nf_drift_html(&b, r, &o);
	s = nf_buf_cstr(&b);
	ck_assert_ptr_nonnull(strstr(s, "<!DOCTYPE html>"));
	ck_assert_ptr_nonnull(strstr(s, "<table class=\"cohorts\">"));
	ck_assert_ptr_nonnull(strstr(s, "&lt;b&gt;&amp;"));
	ck_assert_ptr_null(strstr(s, "<b>&"));
	ck_assert_ptr_null(strstr(s, "<script"));
	ck_assert_ptr_nonnull(strstr(s, "</html>"));
	nf_buf_release(&b);
	nf_drift_report_free(r);
}
END_TEST

static Suite *
drift_suite(void)
{
	Suite *s = suite_create("drift");
	TCase *tc = tcase_create("report");

	tcase_add_checked_fixture(tc, quarter_setup, quarter_teardown);
	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_bad_window);
	tcase_add_test(tc, test_cohorts);
	tcase_add_test(tc, test_verdicts);
	tcase_add_test(tc, test_no_tolerance);
	tcase_add_test(tc, test_recommendations);
	tcase_add_test(tc, test_slow_drift);
	tcase_add_test(tc, test_no_cohort);
	tcase_add_test(tc, test_missing_mean);
	tcase_add_test(tc, test_json_shape);
	tcase_add_test(tc, test_text_html);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(drift_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

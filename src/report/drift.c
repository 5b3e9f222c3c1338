/* drift.c: the cohort drift report as a model: the runs of a window grouped by cohort (their
 * actions, violations by type and severity, risk score and tiers, the mean of each tracked
 * metric), the comparisons between cohorts with a has-drift verdict against the declared
 * tolerances, and the recommendations of the rules that fired. The rules live in the three
 * tables below and nowhere else: ntflow(1) documents them from here. */
#include "config.h"
#include "ntflow/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- The rule table ---- */

/* One rule per violation type: the advice after "TYPE violations in K of N runs of cohort C". */
static const struct { const char *type, *advice; } violation_rules[] = {
	{ "calibration",  "recalibrate or retrain with more recent data" },
	{ "low_accuracy", "retrain with more recent data and check the features for drift" },
	{ "accuracy",     "retrain with more recent data and check the features for drift" },
	{ "fairness",     "compare the slices' data and metrics; rebalance or retrain so that no slice falls behind" },
	{ "regression",   "keep the production model and look for what changed in the data or the code" },
};
static const char violation_default[] = "review the failed criteria and the data of those runs before promoting";

/* One rule per risk tier: "K of N runs of cohort C in the TIER risk tier: ADVICE". The low
 * and normal tiers need nothing. */
static const struct { const char *tier, *advice; } tier_rules[] = {
	{ "high",     "watch the next runs and retrain with more recent data if the score keeps rising" },
	{ "elevated", "hold promotions and review the model and its data before the next run" },
};

/* One rule per drifting metric: "METRIC moved by D from cohort A to cohort B (tolerance T):
 * ADVICE". better: the direction in which the metric improves (+1 up, -1 down, 0 unknown);
 * a move that way is still drift (the data changed) but calls for another advice. */
static const struct { const char *metric; int better; const char *advice; } metric_rules[] = {
	{ "accuracy",  +1, "retrain with more recent data and compare the cohorts' feature distributions" },
	{ "auc",       +1, "retrain with more recent data and compare the cohorts' feature distributions" },
	{ "f1",        +1, "retrain with more recent data and compare the cohorts' feature distributions" },
	{ "precision", +1, "retrain with more recent data and check the decision threshold" },
	{ "recall",    +1, "retrain with more recent data and check the decision threshold" },
	{ "ece",       -1, "recalibrate or retrain with more recent data" },
	{ "brier",     -1, "recalibrate or retrain with more recent data" },
	{ "logloss",   -1, "recalibrate or retrain with more recent data" },
};
static const char metric_default[] = "compare the data of the two cohorts' runs for the shift";
static const char metric_improved[] = "an improvement: check that it holds before taking the later cohort as the"
				      " baseline";

static const char *const tier_names[NF_DRIFT_NTIERS] = { "low", "normal", "high", "elevated" };

const char *
nf_drift_advice_violation(const char *type)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(violation_rules); i++)
		if (strcmp(violation_rules[i].type, type) == 0)
			return violation_rules[i].advice;
	return violation_default;
}

const char *
nf_drift_advice_tier(const char *tier)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(tier_rules); i++)
		if (strcmp(tier_rules[i].tier, tier) == 0)
			return tier_rules[i].advice;
	return NULL;
}

const char *
nf_drift_advice_metric(const char *metric, double delta)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(metric_rules); i++) {
		if (strcmp(metric_rules[i].metric, metric) != 0)
			continue;
		if ((metric_rules[i].better > 0 && delta > 0) || (metric_rules[i].better < 0 && delta < 0))
			return metric_improved;
		return metric_rules[i].advice;
	}
	return metric_default;
}

/* ---- Building ---- */

static bool
same_cohort(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The runs without a cohort: "-", which nf_cohort_check refuses as a cohort's name. */
static const char *
label(const char *cohort)
{
	return cohort ? cohort : "-";
}

static int
index_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The tracked metrics: those with a declared tolerance, in the order declared; with none
 * declared, every metric a run of the window has, by name (reported without a verdict). */
static void
track_metrics(nf_drift_report *r, const nf_drift_run *runs, size_t nruns, const nf_drift_tolerance *tol, size_t ntol)
{
	size_t cap = 0;

	for (size_t i = 0; i < ntol; i++) {
		if (index_of((const char *const *)r->metrics, r->nmetrics, tol[i].metric) >= 0)
			continue;
		NF_PUSH(r->metrics, r->nmetrics, cap, xstrdup(tol[i].metric));
	}
	if (ntol == 0) {
		for (size_t i = 0; i < nruns; i++)
			for (size_t k = 0; k < runs[i].nmetrics; k++)
				if (index_of((const char *const *)r->metrics, r->nmetrics, runs[i].metric_names[k]) < 0)
					NF_PUSH(r->metrics, r->nmetrics, cap, xstrdup(runs[i].metric_names[k]));
		if (r->nmetrics)
			qsort(r->metrics, r->nmetrics, sizeof(char *), cmp_str);
	}
	r->tolerances = xcalloc(r->nmetrics + 1, sizeof(nf_drift_tolerance));
	r->has_tolerance = xcalloc(r->nmetrics + 1, sizeof(bool));
	for (size_t m = 0; m < r->nmetrics; m++) {
		r->tolerances[m].metric = r->metrics[m];
		for (size_t i = 0; i < ntol; i++) {
			if (strcmp(tol[i].metric, r->metrics[m]) == 0) {
				r->tolerances[m].tolerance = tol[i].tolerance;
				r->has_tolerance[m] = true;   /* the last declaration wins */
			}
		}
	}
}

static nf_drift_cohort *
cohort_add(nf_drift_report *r, size_t *cap, const nf_drift_run *run)
{
	nf_drift_cohort c = { 0 };

	c.id = run->cohort ? xstrdup(run->cohort) : NULL;
	c.first_date = xstrdup(run->date);
	c.last_date = xstrdup(run->date);
	c.risk_mean = NAN;
	c.metrics = xcalloc(r->nmetrics + 1, sizeof(nf_drift_mean));
	NF_PUSH(r->cohorts, r->ncohorts, *cap, c);
	return &r->cohorts[r->ncohorts - 1];
}

static int
severity_index(nf_severity s)
{
	switch (s) {
	case NF_SEV_LOW: return NF_DRIFT_SEV_LOW;
	case NF_SEV_HIGH: return NF_DRIFT_SEV_HIGH;
	default: return NF_DRIFT_SEV_MEDIUM;   /* the contract's default: no severe_when */
	}
}

static int
tier_index(const char *s)
{
	for (int i = 0; i < NF_DRIFT_NTIERS; i++)
		if (s && strcmp(s, tier_names[i]) == 0)
			return i;
	return -1;
}

static int
cmp_vtype(const void *a, const void *b)
{
	const nf_drift_vtype *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->type, y->type);
}

/* Adds run i's values to its cohort c. */
static void
cohort_take_run(nf_drift_report *r, nf_drift_cohort *c, const nf_drift_run *run, double *sums)
{
	int t;

	c->run_ids = xrealloc(c->run_ids, (c->runs + 1) * sizeof(int64_t));
	c->run_ids[c->runs++] = run->id;
	if (strcmp(run->date, c->last_date) > 0) {
		free(c->last_date);
		c->last_date = xstrdup(run->date);
	}
	if (run->promoted)
		c->promoted++;
	if (run->status == NF_RUN_GATED)
		c->gated++;
	else if (run->status == NF_RUN_FAILED || run->status == NF_RUN_CANCELLED || run->status == NF_RUN_CRASHED)
		c->failed++;
	if (run->has_risk && isfinite(run->risk_score)) {
		c->risk_mean = c->risk_scored ? c->risk_mean + run->risk_score : run->risk_score;
		c->risk_scored++;
	}
	if ((t = tier_index(run->risk_tier)) >= 0)
		c->tiers[t]++;
	for (size_t m = 0; m < r->nmetrics; m++) {
		for (size_t k = 0; k < run->nmetrics; k++) {
			if (strcmp(run->metric_names[k], r->metrics[m]) == 0 && isfinite(run->metric_values[k])) {
				sums[m] += run->metric_values[k];
				c->metrics[m].runs++;
				break;
			}
		}
	}
}

/* The violations of c's runs: by type (with the runs they hit) and by severity. */
static void
cohort_take_violations(nf_drift_cohort *c, const nf_violation *v, size_t nv)
{
	size_t cap = 0;
	int64_t *hit = NULL;      /* runs with a violation */
	size_t nhit = 0, caphit = 0;

	for (size_t i = 0; i < nv; i++) {
		bool mine = false, seen_run = false, seen_type_run = false;
		nf_drift_vtype *vt = NULL;
		int sev;

		for (size_t k = 0; k < c->runs && !mine; k++)
			mine = c->run_ids[k] == v[i].run_id;
		if (!mine)
			continue;
		sev = severity_index(v[i].severity);
		c->violations++;
		c->severity[sev]++;
		for (size_t k = 0; k < nhit; k++)
			seen_run = seen_run || hit[k] == v[i].run_id;
		if (!seen_run)
			NF_PUSH(hit, nhit, caphit, v[i].run_id);
		for (size_t k = 0; k < c->ntypes; k++)
			if (strcmp(c->types[k].type, v[i].type) == 0)
				vt = &c->types[k];
		if (!vt) {
			nf_drift_vtype z = { .type = xstrdup(v[i].type) };

			NF_PUSH(c->types, c->ntypes, cap, z);
			vt = &c->types[c->ntypes - 1];
		}
		/* a run counts once per type: an earlier violation of this run and type? */
		for (size_t j = 0; j < i; j++)
			if (v[j].run_id == v[i].run_id && strcmp(v[j].type, v[i].type) == 0)
				seen_type_run = true;
		vt->count++;
		vt->severity[sev]++;
		if (!seen_type_run)
			vt->runs++;
	}
	c->violating_runs = nhit;
	if (c->ntypes > 1)
		qsort(c->types, c->ntypes, sizeof(nf_drift_vtype), cmp_vtype);
	free(hit);
}

static void
compare(nf_drift_report *r, size_t *cap, size_t from, size_t to, bool baseline)
{
	nf_drift_comparison cmp = { .from = from, .to = to, .baseline = baseline };

	cmp.deltas = xcalloc(r->nmetrics + 1, sizeof(nf_drift_delta));
	for (size_t m = 0; m < r->nmetrics; m++) {
		nf_drift_delta *d = &cmp.deltas[m];

		d->from = r->cohorts[from].metrics[m].mean;
		d->to = r->cohorts[to].metrics[m].mean;
		d->delta = isnan(d->from) || isnan(d->to) ? NAN : d->to - d->from;
		d->has_tolerance = r->has_tolerance[m];
		d->tolerance = r->tolerances[m].tolerance;
		/* a hair of slack so that a difference printed equal to the tolerance is not drift */
		d->verdict = d->has_tolerance && !isnan(d->delta);   /* a missing mean is no verdict, not "no" */
		d->drift = d->verdict && fabs(d->delta) > d->tolerance + 1e-9;
		cmp.has_drift = cmp.has_drift || d->drift;
	}
	r->has_drift = r->has_drift || cmp.has_drift;
	NF_PUSH(r->comparisons, r->ncomparisons, *cap, cmp);
}

static void
rec_add(nf_drift_report *r, size_t *cap, char *rule, const char *cohort, char *text)
{
	nf_drift_rec rec = { rule, cohort ? xstrdup(cohort) : NULL, text };

	NF_PUSH(r->recs, r->nrecs, *cap, rec);
}

/* "+0.0123" / "-0.0813": the signed difference as the recommendations print it. */
static void
fmt_delta(char *out, size_t size, double d)
{
	char num[32];

	nf_html_num(num, sizeof(num), fabs(d));
	snprintf(out, size, "%s%s", d < 0 ? "-" : "+", num);
}

/* The rules, cohort by cohort in time order: its violation types, its risk tiers; then the
 * metrics that drifted into it (from the cohort before it; and from the first cohort when the
 * step from the one before stayed within tolerance, a slow drift, or went the other way, a
 * recovery that falls short). */
static void
recommend(nf_drift_report *r)
{
	size_t cap = 0;

	for (size_t i = 0; i < r->ncohorts; i++) {
		const nf_drift_cohort *c = &r->cohorts[i];

		for (size_t k = 0; k < c->ntypes; k++) {
			const nf_drift_vtype *vt = &c->types[k];
			char high[48] = "";

			if (vt->severity[NF_DRIFT_SEV_HIGH])
				snprintf(high, sizeof(high), " (%zu of high severity)", vt->severity[NF_DRIFT_SEV_HIGH]);
			rec_add(r, &cap, xasprintf("violation:%s", vt->type), c->id,
				xasprintf("%s violations in %zu of %zu runs of cohort %s%s: %s", vt->type, vt->runs, c->runs,
					  label(c->id), high, nf_drift_advice_violation(vt->type)));
		}
		for (int t = NF_DRIFT_NTIERS - 1; t >= 0; t--) {
			const char *advice = nf_drift_advice_tier(tier_names[t]);

			if (advice && c->tiers[t])
				rec_add(r, &cap, xasprintf("tier:%s", tier_names[t]), c->id,
					xasprintf("%zu of %zu runs of cohort %s in the %s risk tier: %s", c->tiers[t], c->runs,
						  label(c->id), tier_names[t], advice));
		}
		for (size_t j = 0; j < r->ncomparisons; j++) {
			const nf_drift_comparison *cmp = &r->comparisons[j];

			if (cmp->to != i)
				continue;
			for (size_t m = 0; m < r->nmetrics; m++) {
				const nf_drift_delta *d = &cmp->deltas[m];
				char dv[40], tv[32];

				if (!d->drift)
					continue;
				if (cmp->baseline) {   /* said already for the step from the cohort before, same way? */
					bool said = false;

					for (size_t q = 0; q < r->ncomparisons; q++) {
						const nf_drift_comparison *step = &r->comparisons[q];

						said = said || (!step->baseline && step->to == i && step->deltas[m].drift &&
								(step->deltas[m].delta < 0) == (d->delta < 0));
					}
					if (said)
						continue;
				}
				fmt_delta(dv, sizeof(dv), d->delta);
				nf_html_num(tv, sizeof(tv), d->tolerance);
				rec_add(r, &cap, xasprintf("drift:%s", r->metrics[m]), c->id,
					xasprintf("%s moved by %s from cohort %s to cohort %s (tolerance %s): %s", r->metrics[m],
						  dv, label(r->cohorts[cmp->from].id), label(c->id), tv,
						  nf_drift_advice_metric(r->metrics[m], d->delta)));
			}
		}
	}
}

int
nf_drift_build(nf_drift_report **out, const char *pipeline, const char *from, const char *to,
	       const nf_drift_run *runs, size_t nruns, const nf_violation *v, size_t nv,
	       const nf_drift_tolerance *tol, size_t ntol)
{
	nf_drift_report *r;
	size_t ccap = 0, kcap = 0;
	double **sums;

	*out = NULL;
	if (!nf_date_ok(from) || !nf_date_ok(to))
		return nf_error_set(NF_EINVALID, "a date is YYYY-MM-DD, not '%s'", nf_date_ok(from) ? to : from);
	if (strcmp(from, to) > 0)
		return nf_error_set(NF_EINVALID, "the window ends (%s) before it begins (%s)", to, from);
	r = xcalloc(1, sizeof(*r));
	r->pipeline = pipeline ? xstrdup(pipeline) : NULL;
	r->from = xstrdup(from);
	r->to = xstrdup(to);
	track_metrics(r, runs, nruns, tol, ntol);
	sums = xcalloc(nruns + 1, sizeof(double *));
	for (size_t i = 0; i < nruns; i++) {
		nf_drift_cohort *c = NULL;
		size_t ci = 0;

		for (ci = 0; ci < r->ncohorts && !c; ci++)
			if (same_cohort(r->cohorts[ci].id, runs[i].cohort))
				c = &r->cohorts[ci];
		if (!c) {
			c = cohort_add(r, &ccap, &runs[i]);
			ci = r->ncohorts;
			sums[ci - 1] = xcalloc(r->nmetrics + 1, sizeof(double));
		}
		cohort_take_run(r, c, &runs[i], sums[ci - 1]);
	}
	for (size_t ci = 0; ci < r->ncohorts; ci++) {
		nf_drift_cohort *c = &r->cohorts[ci];

		if (c->risk_scored)
			c->risk_mean /= (double)c->risk_scored;
		for (size_t m = 0; m < r->nmetrics; m++)
			c->metrics[m].mean = c->metrics[m].runs ? sums[ci][m] / (double)c->metrics[m].runs : NAN;
		cohort_take_violations(c, v, nv);
		free(sums[ci]);
	}
	free(sums);
	for (size_t i = 1; i < r->ncohorts; i++)
		compare(r, &kcap, i - 1, i, false);
	for (size_t i = 2; i < r->ncohorts; i++)
		compare(r, &kcap, 0, i, true);
	recommend(r);
	*out = r;
	return 0;
}

void
nf_drift_report_free(nf_drift_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ncohorts; i++) {
		nf_drift_cohort *c = &r->cohorts[i];

		free(c->id);
		free(c->first_date);
		free(c->last_date);
		free(c->run_ids);
		for (size_t k = 0; k < c->ntypes; k++)
			free(c->types[k].type);
		free(c->types);
		free(c->metrics);
	}
	free(r->cohorts);
	for (size_t i = 0; i < r->nmetrics; i++)
		free(r->metrics[i]);
	free(r->metrics);
	free(r->tolerances);
	free(r->has_tolerance);
	for (size_t i = 0; i < r->ncomparisons; i++)
		free(r->comparisons[i].deltas);
	free(r->comparisons);
	for (size_t i = 0; i < r->nrecs; i++) {
		free(r->recs[i].rule);
		free(r->recs[i].cohort);
		free(r->recs[i].text);
	}
	free(r->recs);
	free(r->pipeline);
	free(r->from);
	free(r->to);
	free(r);
}

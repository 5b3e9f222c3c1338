/* budget.c: CPU budgets per phase: at a run's end each phase's CPU is compared with the
 * pipeline's cpu_baseline (one earlier run, or the median of the last N) and the reduction
 * with cpu_target_reduction; the verdicts are recorded for show, show --perf and the report. */
#include "config.h"
#include "ntflow/gov.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "median:N" takes at most this many runs (the parser's bound). */
#define MAX_BASELINE_RUNS 100

const char *
nf_budget_status_name(nf_budget_status s)
{
	switch (s) {
	case NF_BUDGET_NOT_COMPARED: return "not compared";
	case NF_BUDGET_NO_BASELINE: return "no baseline";
	case NF_BUDGET_MET: return "met";
	case NF_BUDGET_MISSED: return "missed";
	}
	return "no baseline";
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

nf_budget_status
nf_budget_judge(bool complete, const int64_t *hist, size_t nhist, size_t need, int64_t cpu_ms,
		double target_pct, bool *has_baseline, int64_t *baseline_ms, bool *has_reduction,
		double *reduction_pct)
{
	int64_t v[MAX_BASELINE_RUNS];
	size_t m = nhist < MAX_BASELINE_RUNS ? nhist : MAX_BASELINE_RUNS;

	*has_baseline = *has_reduction = false;
	*baseline_ms = 0;
	*reduction_pct = 0;
	if (!complete)
		return NF_BUDGET_NOT_COMPARED;
	if (need == 0)
		need = 1;
	if (m < need)
		return NF_BUDGET_NO_BASELINE;
	memcpy(v, hist, m * sizeof(*v));
	qsort(v, m, sizeof(*v), cmp_i64);
	/* The median; of an even count, the mean of the middle two, rounded to the millisecond. */
	*baseline_ms = m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2] + 1) / 2;
	*has_baseline = true;
	/* A baseline under NF_BUDGET_MIN_MS is within the kernel's accounting resolution (a few
	 * ms): nothing measurable to reduce, so neither met nor missed. */
	if (*baseline_ms < NF_BUDGET_MIN_MS)
		return NF_BUDGET_NO_BASELINE;
	*reduction_pct = (double)(*baseline_ms - cpu_ms) / (double)*baseline_ms * 100.0;
	*has_reduction = true;
	/* Compared on a tenth of a percent, as shown: 30.0% meets a 30% target. */
	return round(*reduction_pct * 10.0) >= round(target_pct * 10.0) ? NF_BUDGET_MET : NF_BUDGET_MISSED;
}

/* Why a phase has no baseline (man/ntflow-dag.5, CPU BUDGETS), decided now: the run named
 * as baseline may be deleted later, and "not enough earlier runs" would then mislead. */
static int
no_baseline_reason(nf_store *st, int64_t run_id, const char *pipeline, const nf_cpu_budget *b,
		   bool has_baseline, char **reason)
{
	nf_run_info info;
	int err;

	*reason = NULL;
	if (has_baseline) {
		*reason = xstrdup("under 10 ms of CPU");
		return 0;
	}
	if (!b->run) {
		*reason = xstrdup("not enough earlier runs");
		return 0;
	}
	if ((err = nf_store_run_get(st, b->run, &info)) == NF_ENOTFOUND) {
		nf_error_clear();
		*reason = xstrdup("no such run");
		return 0;
	}
	if (err < 0)
		return err;
	if (!info.pipeline || strcmp(info.pipeline, pipeline) != 0)
		*reason = xasprintf("of another pipeline, %s", info.pipeline ? info.pipeline : "?");
	else if (b->run >= run_id)
		*reason = xstrdup("not earlier than this run");
	else
		*reason = xstrdup("the whole phase did not run in it");
	nf_run_info_release(&info);
	return 0;
}

int
nf_budget_record(nf_store *st, int64_t run_id, const char *pipeline, const nf_cpu_budget *b)
{
	nf_phase_row *rows = NULL;
	size_t n = 0;
	int err;

	if ((err = nf_store_phase_totals(st, run_id, &rows, &n)) < 0)
		return err;
	for (size_t i = 0; b && i < n; i++) {
		nf_phase_row *r = &rows[i];
		int64_t hist[MAX_BASELINE_RUNS];
		size_t nhist = 0, need = b->run ? 1 : (size_t)b->median;
		nf_budget_status s;

		if (need > MAX_BASELINE_RUNS)
			need = MAX_BASELINE_RUNS;
		if ((err = nf_store_phase_history(st, pipeline, r->phase, run_id, b->run, need, hist, &nhist)) < 0)
			goto done;
		s = nf_budget_judge(r->ran == r->nodes && r->nodes > 0, hist, nhist, need, r->cpu_ms, b->target_pct,
				    &r->has_baseline_cpu, &r->baseline_cpu_ms, &r->has_reduction, &r->reduction_pct);
		free(r->baseline);
		free(r->status);
		r->baseline = b->run ? xasprintf("run %lld", (long long)b->run) : xasprintf("median of %d", b->median);
		r->status = xstrdup(nf_budget_status_name(s));
		r->target_pct = b->target_pct;
		free(r->reason);
		r->reason = NULL;
		if (s == NF_BUDGET_NO_BASELINE &&
		    (err = no_baseline_reason(st, run_id, pipeline, b, r->has_baseline_cpu, &r->reason)) < 0)
			goto done;
	}
	err = nf_store_phase_record(st, run_id, pipeline, rows, n);
done:
	nf_phase_row_list_free(rows, n);
	return err;
}

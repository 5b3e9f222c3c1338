/* phases.c: the report's CPU per phase over time: each phase's CPU in the pipeline's runs up
 * to this one (a line per phase, run ids on x) and a table of the budgets those runs
 * recorded (baseline, reduction, target, met or missed), this run's rows marked. */
#include "config.h"
#include "report-internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The distinct runs (ascending, as the rows come) and phases (first seen first) of rows. */
static size_t
index_of(char **names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return n;
}

static void
budget_cells(nf_buf *out, const nf_phase_row *p)
{
	char b[64];

	if (!p->status) {
		for (int i = 0; i < 4; i++)
			nf_rpt_td(out, "num", "-");
		nf_rpt_td(out, NULL, "-");
		return;
	}
	if (p->has_baseline_cpu)
		nf_rpt_td_num(out, (double)p->baseline_cpu_ms / 1000.0);
	else
		nf_rpt_td(out, "num", "-");
	nf_rpt_td(out, NULL, p->baseline);
	if (p->has_reduction) {
		snprintf(b, sizeof(b), "%.1f%%", p->reduction_pct);
		nf_rpt_td(out, "num", b);
	} else {
		nf_rpt_td(out, "num", "-");
	}
	snprintf(b, sizeof(b), "%g%%", p->target_pct);
	nf_rpt_td(out, "num", b);
	nf_rpt_td(out, !strcmp(p->status, "met") ? "budget pass" : !strcmp(p->status, "missed") ? "budget fail" : "budget",
		  p->status);
}

void
nf_rpt_phases(nf_buf *out, nf_store *st, const nf_run_info *run, const nf_report_opts *o)
{
	nf_phase_row *rows = NULL;
	size_t n = 0, total, first, nruns = 0, nphases = 0;
	int64_t *runs;
	char **phases;

	nf_rpt_section(out, "cpu-phases", "CPU per phase over time");
	if (nf_store_phase_series(st, run->pipeline, &rows, &n) < 0)
		n = 0;
	total = n;
	/* The runs up to this one, the last `history` of them. */
	while (n && rows[n - 1].run_id > run->id)
		n--;
	runs = xcalloc(n + 1, sizeof(*runs));
	phases = xcalloc(n + 1, sizeof(*phases));
	for (size_t i = 0; i < n; i++)
		if (!nruns || runs[nruns - 1] != rows[i].run_id)
			runs[nruns++] = rows[i].run_id;
	if (nruns > o->history) {
		int64_t from = runs[nruns - o->history];

		memmove(runs, runs + nruns - o->history, o->history * sizeof(*runs));
		nruns = o->history;
		for (first = 0; first < n && rows[first].run_id < from; first++)
			;
	} else {
		first = 0;
	}
	for (size_t i = first; i < n; i++)
		if (index_of(phases, nphases, rows[i].phase) == nphases)
			phases[nphases++] = rows[i].phase;
	if (first == n) {
		nf_buf_puts(out, "<p class=\"note empty\">No run of this pipeline recorded its CPU per phase.</p>\n");
		goto done;
	}
	{
		nf_series *series = xcalloc(nphases, sizeof(*series));
		double *x = xcalloc(nruns, sizeof(double)), *y = xcalloc(nphases * nruns, sizeof(double));
		nf_chart c = { 0 };

		for (size_t r = 0; r < nruns; r++)
			x[r] = (double)runs[r];
		for (size_t k = 0; k < nphases * nruns; k++)
			y[k] = NAN;   /* a run without the phase: a gap */
		for (size_t i = first, r = 0; i < n; i++) {
			while (runs[r] != rows[i].run_id)
				r++;
			y[index_of(phases, nphases, rows[i].phase) * nruns + r] = (double)rows[i].cpu_ms / 1000.0;
		}
		for (size_t p = 0; p < nphases; p++)
			series[p] = (nf_series){ phases[p], x, y + p * nruns, nruns, false };
		c.id = "cpu-phases-chart";
		c.cls = "perf-chart";
		c.kind = NF_CHART_LINE;
		c.title = "CPU seconds (user + system) per phase, by run";
		c.xlabel = "run";
		c.ylabel = "CPU s";
		c.series = series;
		c.nseries = nphases;
		c.integer_x = true;
		nf_svg_chart(out, &c);
		free(series);
		free(x);
		free(y);
	}
	nf_buf_puts(out, "<table class=\"cpu-phases\"><thead><tr><th>run</th><th>date</th><th>phase</th>"
		    "<th>stages ran</th><th>CPU s</th><th>wall s</th><th>baseline CPU s</th><th>baseline</th>"
		    "<th>reduction</th><th>target</th><th>budget</th></tr></thead><tbody>\n");
	for (size_t i = first; i < n; i++) {
		const nf_phase_row *p = &rows[i];
		char b[48];

		nf_buf_puts(out, p->run_id == run->id ? "<tr class=\"current\">" : "<tr>");
		snprintf(b, sizeof(b), "%lld", (long long)p->run_id);
		nf_rpt_td(out, "num", b);
		nf_rpt_td(out, NULL, p->logical_date);
		nf_rpt_td(out, NULL, p->phase);
		snprintf(b, sizeof(b), "%d of %d", p->ran, p->nodes);
		nf_rpt_td(out, "num", b);
		nf_rpt_td_num(out, (double)p->cpu_ms / 1000.0);
		nf_rpt_td_num(out, (double)p->wall_ms / 1000.0);
		budget_cells(out, p);
		nf_buf_puts(out, "</tr>\n");
	}
	nf_buf_puts(out, "</tbody></table>\n");
done:
	free(runs);
	free(phases);
	nf_phase_row_list_free(rows, total);
	nf_rpt_section_end(out);
}

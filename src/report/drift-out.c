/* drift-out.c: the cohort drift report (drift.c's model) written out three ways: text tables
 * for the terminal, JSON in the shape ntflow(1) documents under JSON OUTPUT ("schema": 1:
 * fields are only ever added), and an HTML page in the frame and style of the run report. */
#include "config.h"
#include "report-internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

static const char *const sev_names[NF_DRIFT_NSEV] = { "low", "medium", "high" };
static const char *const tier_names[NF_DRIFT_NTIERS] = { "low", "normal", "high", "elevated" };

/* The runs without a cohort: "-", which nf_cohort_check refuses as a cohort's name. */
static const char *
label(const char *cohort)
{
	return cohort ? cohort : "-";
}

/* "yes", "no", or "unknown (no tolerances)" when the caller could not read them. */
static const char *
has_drift_text(const nf_drift_report *r)
{
	return r->unknown ? "unknown (no tolerances)" : r->has_drift ? "yes" : "no";
}

/* A number for people ("-" for none) and a signed one for differences. */
static char *
num(double v)
{
	char b[32];

	nf_html_num(b, sizeof(b), v);
	return xstrdup(b);
}

static char *
signed_num(double v)
{
	char b[32];

	if (isnan(v))
		return xstrdup("-");
	nf_html_num(b, sizeof(b), fabs(v));
	return xasprintf("%s%s", v < 0 ? "-" : "+", b);
}

/* ---- Text ---- */

static void
text_cohorts(nf_buf *out, const nf_drift_report *r)
{
	static const char *const head[] = {
		"COHORT", "DATES", "RUNS", "PROMOTED", "GATED", "FAILED", "VIOLATIONS", "RISK", "TIERS (L/N/H/E)",
	};
	nf_table *t = nf_table_new(NF_ARRAY_SIZE(head), head);

	for (size_t i = 0; i < r->ncohorts; i++) {
		const nf_drift_cohort *c = &r->cohorts[i];
		char **row = nf_table_add_row(t);

		row[0] = xstrdup(label(c->id));
		row[1] = strcmp(c->first_date, c->last_date) == 0 ? xstrdup(c->first_date)
								  : xasprintf("%s..%s", c->first_date, c->last_date);
		row[2] = xasprintf("%zu", c->runs);
		row[3] = xasprintf("%zu", c->promoted);
		row[4] = xasprintf("%zu", c->gated);
		row[5] = xasprintf("%zu", c->failed);
		row[6] = xasprintf("%zu (%zu high)", c->violations, c->severity[NF_DRIFT_SEV_HIGH]);
		row[7] = num(c->risk_mean);
		row[8] = xasprintf("%zu/%zu/%zu/%zu", c->tiers[0], c->tiers[1], c->tiers[2], c->tiers[3]);
	}
	nf_table_format(out, t);
	nf_table_free(t);
}

static void
text_violations(nf_buf *out, const nf_drift_report *r)
{
	static const char *const head[] = { "COHORT", "TYPE", "VIOLATIONS", "RUNS", "LOW", "MEDIUM", "HIGH" };
	nf_table *t = nf_table_new(NF_ARRAY_SIZE(head), head);
	size_t rows = 0;

	for (size_t i = 0; i < r->ncohorts; i++) {
		const nf_drift_cohort *c = &r->cohorts[i];

		for (size_t k = 0; k < c->ntypes; k++, rows++) {
			char **row = nf_table_add_row(t);

			row[0] = xstrdup(label(c->id));
			row[1] = xstrdup(c->types[k].type);
			row[2] = xasprintf("%zu", c->types[k].count);
			row[3] = xasprintf("%zu of %zu", c->types[k].runs, c->runs);
			for (int s = 0; s < NF_DRIFT_NSEV; s++)
				row[4 + s] = xasprintf("%zu", c->types[k].severity[s]);
		}
	}
	nf_buf_puts(out, "\nViolations\n");
	if (rows)
		nf_table_format(out, t);
	else
		nf_buf_puts(out, "  none\n");
	nf_table_free(t);
}

static void
text_metrics(nf_buf *out, const nf_drift_report *r)
{
	const char **head = xcalloc(r->nmetrics + 1, sizeof(char *));
	nf_table *t;

	head[0] = "COHORT";
	for (size_t m = 0; m < r->nmetrics; m++)
		head[m + 1] = r->metrics[m];
	t = nf_table_new(r->nmetrics + 1, head);
	for (size_t i = 0; i < r->ncohorts; i++) {
		char **row = nf_table_add_row(t);

		row[0] = xstrdup(label(r->cohorts[i].id));
		for (size_t m = 0; m < r->nmetrics; m++)
			row[m + 1] = num(r->cohorts[i].metrics[m].mean);
	}
	nf_buf_puts(out, "\nMetrics (mean per cohort)\n");
	nf_table_format(out, t);
	nf_table_free(t);
	free(head);
}

static void
text_comparisons(nf_buf *out, const nf_drift_report *r)
{
	static const char *const head[] = { "FROM", "TO", "METRIC", "FROM MEAN", "TO MEAN", "DELTA", "TOLERANCE", "DRIFT" };
	nf_table *t = nf_table_new(NF_ARRAY_SIZE(head), head);

	for (size_t j = 0; j < r->ncomparisons; j++) {
		const nf_drift_comparison *cmp = &r->comparisons[j];

		for (size_t m = 0; m < r->nmetrics; m++) {
			const nf_drift_delta *d = &cmp->deltas[m];
			char **row = nf_table_add_row(t);

			row[0] = cmp->baseline ? xasprintf("%s (first)", label(r->cohorts[cmp->from].id))
					       : xstrdup(label(r->cohorts[cmp->from].id));
			row[1] = xstrdup(label(r->cohorts[cmp->to].id));
			row[2] = xstrdup(r->metrics[m]);
			row[3] = num(d->from);
			row[4] = num(d->to);
			row[5] = signed_num(d->delta);
			row[6] = d->has_tolerance ? num(d->tolerance) : xstrdup("-");
			row[7] = xstrdup(!d->verdict ? "-" : d->drift ? "yes" : "no");
		}
	}
	nf_buf_puts(out, "\nBetween cohorts\n");
	if (r->ncomparisons && r->nmetrics)
		nf_table_format(out, t);
	else
		nf_buf_puts(out, r->ncohorts < 2 ? "  one cohort: nothing to compare\n" : "  no tracked metric\n");
	nf_table_free(t);
}

void
nf_drift_text(nf_buf *out, const nf_drift_report *r)
{
	nf_buf_printf(out, "Cohort drift report%s%s, %s .. %s\n", r->pipeline ? " of " : "",
		      r->pipeline ? r->pipeline : "", r->from, r->to);
	if (r->ncohorts == 0) {
		nf_buf_printf(out, "no runs with a logical date from %s to %s\n", r->from, r->to);
		return;
	}
	nf_buf_puts(out, "\n");
	text_cohorts(out, r);
	text_violations(out, r);
	if (r->nmetrics)
		text_metrics(out, r);
	text_comparisons(out, r);
	nf_buf_printf(out, "\nHas drift: %s\n", has_drift_text(r));
	nf_buf_puts(out, "\nRecommendations\n");
	if (r->nrecs == 0)
		nf_buf_puts(out, "  none\n");
	for (size_t i = 0; i < r->nrecs; i++)
		nf_buf_printf(out, "  - %s\n", r->recs[i].text);
}

/* ---- JSON ---- */

static cJSON *
jnum(double v)
{
	return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *
jstr(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *
json_cohort(const nf_drift_report *r, const nf_drift_cohort *c)
{
	cJSON *o = cJSON_CreateObject(), *a, *v, *bt, *risk, *tiers, *ids, *mets;

	cJSON_AddItemToObject(o, "cohort", jstr(c->id));
	cJSON_AddStringToObject(o, "first_date", c->first_date);
	cJSON_AddStringToObject(o, "last_date", c->last_date);
	ids = cJSON_AddArrayToObject(o, "run_ids");
	for (size_t i = 0; i < c->runs; i++)
		cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)c->run_ids[i]));
	a = cJSON_AddObjectToObject(o, "actions");
	cJSON_AddNumberToObject(a, "runs", (double)c->runs);
	cJSON_AddNumberToObject(a, "promoted", (double)c->promoted);
	cJSON_AddNumberToObject(a, "gated", (double)c->gated);
	cJSON_AddNumberToObject(a, "failed", (double)c->failed);
	v = cJSON_AddObjectToObject(o, "violations");
	cJSON_AddNumberToObject(v, "total", (double)c->violations);
	cJSON_AddNumberToObject(v, "runs", (double)c->violating_runs);
	bt = cJSON_AddObjectToObject(v, "by_severity");
	for (int s = 0; s < NF_DRIFT_NSEV; s++)
		cJSON_AddNumberToObject(bt, sev_names[s], (double)c->severity[s]);
	bt = cJSON_AddArrayToObject(v, "by_type");
	for (size_t k = 0; k < c->ntypes; k++) {
		cJSON *t = cJSON_CreateObject(), *sv;

		cJSON_AddStringToObject(t, "type", c->types[k].type);
		cJSON_AddNumberToObject(t, "count", (double)c->types[k].count);
		cJSON_AddNumberToObject(t, "runs", (double)c->types[k].runs);
		sv = cJSON_AddObjectToObject(t, "by_severity");
		for (int s = 0; s < NF_DRIFT_NSEV; s++)
			cJSON_AddNumberToObject(sv, sev_names[s], (double)c->types[k].severity[s]);
		cJSON_AddItemToArray(bt, t);
	}
	risk = cJSON_AddObjectToObject(o, "risk");
	cJSON_AddItemToObject(risk, "mean", jnum(c->risk_mean));
	cJSON_AddNumberToObject(risk, "scored", (double)c->risk_scored);
	tiers = cJSON_AddObjectToObject(risk, "tiers");
	for (int t = 0; t < NF_DRIFT_NTIERS; t++)
		cJSON_AddNumberToObject(tiers, tier_names[t], (double)c->tiers[t]);
	mets = cJSON_AddObjectToObject(o, "metrics");
	for (size_t m = 0; m < r->nmetrics; m++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddItemToObject(e, "mean", jnum(c->metrics[m].mean));
		cJSON_AddNumberToObject(e, "runs", (double)c->metrics[m].runs);
		cJSON_AddItemToObject(mets, r->metrics[m], e);
	}
	return o;
}

void
nf_drift_json(nf_buf *out, const nf_drift_report *r)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char *text;

	cJSON_AddNumberToObject(o, "schema", NF_DRIFT_SCHEMA);
	cJSON_AddItemToObject(o, "pipeline", jstr(r->pipeline));
	cJSON_AddStringToObject(o, "from", r->from);
	cJSON_AddStringToObject(o, "to", r->to);
	cJSON_AddItemToObject(o, "has_drift", r->unknown ? cJSON_CreateNull() : cJSON_CreateBool(r->has_drift));
	arr = cJSON_AddArrayToObject(o, "tracked");
	for (size_t m = 0; m < r->nmetrics; m++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "metric", r->metrics[m]);
		cJSON_AddItemToObject(e, "tolerance", r->has_tolerance[m] ? cJSON_CreateNumber(r->tolerances[m].tolerance)
									  : cJSON_CreateNull());
		cJSON_AddItemToArray(arr, e);
	}
	arr = cJSON_AddArrayToObject(o, "cohorts");
	for (size_t i = 0; i < r->ncohorts; i++)
		cJSON_AddItemToArray(arr, json_cohort(r, &r->cohorts[i]));
	arr = cJSON_AddArrayToObject(o, "comparisons");
	for (size_t j = 0; j < r->ncomparisons; j++) {
		const nf_drift_comparison *cmp = &r->comparisons[j];
		cJSON *e = cJSON_CreateObject(), *ms;

		cJSON_AddItemToObject(e, "from", jstr(r->cohorts[cmp->from].id));
		cJSON_AddItemToObject(e, "to", jstr(r->cohorts[cmp->to].id));
		cJSON_AddStringToObject(e, "kind", cmp->baseline ? "baseline" : "consecutive");
		cJSON_AddItemToObject(e, "has_drift", r->unknown ? cJSON_CreateNull() : cJSON_CreateBool(cmp->has_drift));
		ms = cJSON_AddArrayToObject(e, "metrics");
		for (size_t m = 0; m < r->nmetrics; m++) {
			const nf_drift_delta *d = &cmp->deltas[m];
			cJSON *x = cJSON_CreateObject();

			cJSON_AddStringToObject(x, "metric", r->metrics[m]);
			cJSON_AddItemToObject(x, "from", jnum(d->from));
			cJSON_AddItemToObject(x, "to", jnum(d->to));
			cJSON_AddItemToObject(x, "delta", jnum(d->delta));
			cJSON_AddItemToObject(x, "tolerance", d->has_tolerance ? cJSON_CreateNumber(d->tolerance) : cJSON_CreateNull());
			cJSON_AddItemToObject(x, "drift", d->verdict ? cJSON_CreateBool(d->drift) : cJSON_CreateNull());
			cJSON_AddItemToArray(ms, x);
		}
		cJSON_AddItemToArray(arr, e);
	}
	arr = cJSON_AddArrayToObject(o, "recommendations");
	for (size_t i = 0; i < r->nrecs; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "rule", r->recs[i].rule);
		cJSON_AddItemToObject(e, "cohort", jstr(r->recs[i].cohort));
		cJSON_AddStringToObject(e, "text", r->recs[i].text);
		cJSON_AddItemToArray(arr, e);
	}
	text = nf_json_print(o, true);
	nf_buf_puts(out, text);
	nf_buf_putc(out, '\n');
	free(text);
	cJSON_Delete(o);
}

/* ---- HTML ---- */

static void
th_row(nf_buf *out, const char *const *head, size_t n)
{
	nf_buf_puts(out, "<thead><tr>");
	for (size_t i = 0; i < n; i++) {
		nf_buf_puts(out, "<th>");
		nf_html_escape(out, head[i]);
		nf_buf_puts(out, "</th>");
	}
	nf_buf_puts(out, "</tr></thead>\n<tbody>\n");
}

static void
td_count(nf_buf *out, size_t n)
{
	nf_buf_printf(out, "<td class=\"num\">%zu</td>", n);
}

static void
html_cohorts(nf_buf *out, const nf_drift_report *r)
{
	static const char *const head[] = {
		"cohort", "dates", "runs", "promoted", "gated", "failed", "violations", "high severity",
		"mean risk", "low", "normal", "high", "elevated",
	};

	nf_rpt_section(out, "cohorts", "Cohorts");
	nf_buf_puts(out, "<table class=\"cohorts\">\n");
	th_row(out, head, NF_ARRAY_SIZE(head));
	for (size_t i = 0; i < r->ncohorts; i++) {
		const nf_drift_cohort *c = &r->cohorts[i];
		char dates[64];

		snprintf(dates, sizeof(dates), "%s .. %s", c->first_date, c->last_date);
		nf_buf_puts(out, "<tr>");
		nf_rpt_td(out, "cohort", label(c->id));
		nf_rpt_td(out, "dates", dates);
		td_count(out, c->runs);
		td_count(out, c->promoted);
		td_count(out, c->gated);
		td_count(out, c->failed);
		td_count(out, c->violations);
		td_count(out, c->severity[NF_DRIFT_SEV_HIGH]);
		nf_rpt_td_num(out, c->risk_mean);
		for (int t = 0; t < NF_DRIFT_NTIERS; t++)
			td_count(out, c->tiers[t]);
		nf_buf_puts(out, "</tr>\n");
	}
	nf_buf_puts(out, "</tbody>\n</table>\n");
	nf_rpt_section_end(out);
}

static void
html_violations(nf_buf *out, const nf_drift_report *r)
{
	static const char *const head[] = { "cohort", "type", "violations", "runs", "low", "medium", "high" };
	bool any = false;

	nf_rpt_section(out, "violations", "Violations by type and severity");
	for (size_t i = 0; i < r->ncohorts; i++)
		any = any || r->cohorts[i].ntypes;
	if (!any) {
		nf_buf_puts(out, "<p class=\"note\">No violations in the window.</p>\n");
		nf_rpt_section_end(out);
		return;
	}
	nf_buf_puts(out, "<table class=\"violations\">\n");
	th_row(out, head, NF_ARRAY_SIZE(head));
	for (size_t i = 0; i < r->ncohorts; i++) {
		const nf_drift_cohort *c = &r->cohorts[i];

		for (size_t k = 0; k < c->ntypes; k++) {
			char runs[64];

			snprintf(runs, sizeof(runs), "%zu of %zu", c->types[k].runs, c->runs);
			nf_buf_puts(out, "<tr>");
			nf_rpt_td(out, NULL, label(c->id));
			nf_rpt_td(out, NULL, c->types[k].type);
			td_count(out, c->types[k].count);
			nf_rpt_td(out, "num", runs);
			for (int s = 0; s < NF_DRIFT_NSEV; s++)
				td_count(out, c->types[k].severity[s]);
			nf_buf_puts(out, "</tr>\n");
		}
	}
	nf_buf_puts(out, "</tbody>\n</table>\n");
	nf_rpt_section_end(out);
}

/* The means per cohort as a table and a chart (one line per metric over the cohorts). */
static void
html_metrics(nf_buf *out, const nf_drift_report *r)
{
	const char **xcats;
	nf_series *series;
	double *xs, *ys;

	if (!r->nmetrics || !r->ncohorts)
		return;
	nf_rpt_section(out, "metrics", "Tracked metrics (mean per cohort)");
	nf_buf_puts(out, "<table class=\"metrics\">\n<thead><tr><th>cohort</th>");
	for (size_t m = 0; m < r->nmetrics; m++) {
		nf_buf_puts(out, "<th>");
		nf_html_escape(out, r->metrics[m]);
		nf_buf_puts(out, "</th>");
	}
	nf_buf_puts(out, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < r->ncohorts; i++) {
		nf_buf_puts(out, "<tr>");
		nf_rpt_td(out, NULL, label(r->cohorts[i].id));
		for (size_t m = 0; m < r->nmetrics; m++)
			nf_rpt_td_num(out, r->cohorts[i].metrics[m].mean);
		nf_buf_puts(out, "</tr>\n");
	}
	nf_buf_puts(out, "</tbody>\n</table>\n");
	xcats = xcalloc(r->ncohorts, sizeof(char *));
	series = xcalloc(r->nmetrics, sizeof(nf_series));
	xs = xcalloc(r->ncohorts, sizeof(double));
	ys = xcalloc(r->ncohorts * r->nmetrics, sizeof(double));
	for (size_t i = 0; i < r->ncohorts; i++) {
		xcats[i] = label(r->cohorts[i].id);
		xs[i] = (double)i;
	}
	for (size_t m = 0; m < r->nmetrics; m++) {
		for (size_t i = 0; i < r->ncohorts; i++)
			ys[m * r->ncohorts + i] = r->cohorts[i].metrics[m].mean;
		series[m] = (nf_series){ .name = r->metrics[m], .x = xs, .y = ys + m * r->ncohorts, .n = r->ncohorts };
	}
	nf_svg_chart(out, &(nf_chart){ .id = "drift-metrics", .title = "Mean per cohort", .xlabel = "cohort",
				       .ylabel = "mean", .kind = NF_CHART_LINE, .series = series, .nseries = r->nmetrics,
				       .xcats = xcats, .nxcats = r->ncohorts });
	free(xcats);
	free(series);
	free(xs);
	free(ys);
	nf_rpt_section_end(out);
}

static void
html_comparisons(nf_buf *out, const nf_drift_report *r)
{
	static const char *const head[] = { "from", "to", "metric", "from mean", "to mean", "delta", "tolerance", "drift" };

	nf_rpt_section(out, "comparisons", "Between cohorts");
	nf_buf_printf(out, "<p class=\"verdict %s\">Has drift: %s</p>\n",
		      r->unknown ? "unknown" : r->has_drift ? "fail" : "pass", has_drift_text(r));
	if (!r->ncomparisons || !r->nmetrics) {
		nf_buf_printf(out, "<p class=\"note\">%s</p>\n",
			      r->ncohorts < 2 ? "One cohort: nothing to compare." : "No tracked metric.");
		nf_rpt_section_end(out);
		return;
	}
	nf_buf_puts(out, "<table class=\"comparisons\">\n");
	th_row(out, head, NF_ARRAY_SIZE(head));
	for (size_t j = 0; j < r->ncomparisons; j++) {
		const nf_drift_comparison *cmp = &r->comparisons[j];

		for (size_t m = 0; m < r->nmetrics; m++) {
			const nf_drift_delta *d = &cmp->deltas[m];
			char *from = cmp->baseline ? xasprintf("%s (first)", label(r->cohorts[cmp->from].id))
						   : xstrdup(label(r->cohorts[cmp->from].id));
			char *delta = signed_num(d->delta), *tol = d->has_tolerance ? num(d->tolerance) : xstrdup("-");

			nf_buf_printf(out, "<tr class=\"%s\">", d->drift ? "changed" : "same");
			nf_rpt_td(out, NULL, from);
			nf_rpt_td(out, NULL, label(r->cohorts[cmp->to].id));
			nf_rpt_td(out, NULL, r->metrics[m]);
			nf_rpt_td_num(out, d->from);
			nf_rpt_td_num(out, d->to);
			nf_rpt_td(out, "num", delta);
			nf_rpt_td(out, "num", tol);
			nf_rpt_td(out, !d->verdict ? NULL : d->drift ? "fail" : "pass",
				  !d->verdict ? "-" : d->drift ? "yes" : "no");
			nf_buf_puts(out, "</tr>\n");
			free(from);
			free(delta);
			free(tol);
		}
	}
	nf_buf_puts(out, "</tbody>\n</table>\n");
	nf_rpt_section_end(out);
}

void
nf_drift_html(nf_buf *out, const nf_drift_report *r, const nf_report_opts *o)
{
	char *title = xasprintf("Cohort drift%s%s, %s .. %s", r->pipeline ? ": " : "", r->pipeline ? r->pipeline : "",
				r->from, r->to);

	nf_rpt_page_begin(out, title);
	nf_buf_puts(out, "<header class=\"top\"><h1>");
	nf_html_escape(out, title);
	nf_buf_printf(out, "</h1><p>%zu cohort%s, logical dates from ", r->ncohorts, r->ncohorts == 1 ? "" : "s");
	nf_html_escape(out, r->from);
	nf_buf_puts(out, " to ");
	nf_html_escape(out, r->to);
	nf_buf_puts(out, "</p></header>\n");
	if (r->ncohorts == 0) {
		nf_rpt_section(out, "cohorts", "Cohorts");
		nf_buf_puts(out, "<p class=\"note\">No runs in the window.</p>\n");
		nf_rpt_section_end(out);
	} else {
		html_cohorts(out, r);
		html_violations(out, r);
		html_metrics(out, r);
		html_comparisons(out, r);
		nf_rpt_section(out, "recommendations", "Recommendations");
		if (r->nrecs == 0)
			nf_buf_puts(out, "<p class=\"note\">None: no rule fired.</p>\n");
		else
			nf_buf_puts(out, "<ul>\n");
		for (size_t i = 0; i < r->nrecs; i++) {
			nf_buf_puts(out, "<li data-rule=\"");
			nf_html_escape(out, r->recs[i].rule);
			nf_buf_puts(out, "\">");
			nf_html_escape(out, r->recs[i].text);
			nf_buf_puts(out, "</li>\n");
		}
		if (r->nrecs)
			nf_buf_puts(out, "</ul>\n");
		nf_rpt_section_end(out);
	}
	nf_rpt_page_end(out, o);
	free(title);
}

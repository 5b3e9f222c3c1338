/* report.c: the page of one run: its header, a Gantt chart of its nodes (every attempt a bar,
 * retries outlined), the gate table, its metrics, the plots its stages declared, the history
 * of the models it registered with their metrics over versions, the drift metrics of its
 * monitors over the last runs with the alert thresholds drawn, and each node's CPU and memory
 * against the median of its history. Sections with nothing to show say so in a line. */
#include "config.h"
#include "report-internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/dag.h"
#include "ntflow/expr.h"
#include "ntflow/gov.h"

#define GANTT_W 900.0
#define GANTT_LABEL 200.0
#define GANTT_ROW 24.0
#define GANTT_TOP 10.0
#define GANTT_AXIS 34.0
#define MAX_METRIC_CHARTS 8
/* charts of a model's metrics over versions, and a monitor's metrics that no alert reads */
#define MAX_PLAIN_CHARTS 4

static void
empty_note(nf_buf *out, const char *s)
{
	nf_buf_puts(out, "<p class=\"note empty\">");
	nf_html_escape(out, s);
	nf_buf_puts(out, "</p>\n");
}

/* ---- the Gantt chart ---- */

static void
gantt_rect(nf_buf *out, double x, double y, double w, double h, const char *cls, const char *title)
{
	char b[4][48];

	nf_svg_coord(b[0], sizeof(b[0]), x);
	nf_svg_coord(b[1], sizeof(b[1]), y);
	nf_svg_coord(b[2], sizeof(b[2]), w);
	nf_svg_coord(b[3], sizeof(b[3]), h);
	nf_buf_printf(out, "<rect class=\"%s\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\"><title>", cls, b[0], b[1],
		      b[2], b[3]);
	nf_html_escape(out, title);
	nf_buf_puts(out, "</title></rect>");
}

static void
gantt(nf_buf *out, nf_store *st, const nf_run_info *run, const nf_report_opts *o)
{
	nf_node_info *nodes = NULL;
	size_t n = 0, nt;
	int64_t t0 = run->started_ms, t1 = run->finished_ms;
	double h, lo = 0, hi, ticks[16];
	nf_scale sx;

	nf_rpt_section(out, "gantt", "Timeline");
	if (nf_store_node_list(st, run->id, &nodes, &n) < 0 || n == 0) {
		empty_note(out, n == 0 ? "The run has no nodes." : nf_error_last());
		nf_node_info_list_free(nodes, n);
		nf_rpt_section_end(out);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].finished_ms > t1)
			t1 = nodes[i].finished_ms;
		if (nodes[i].started_ms > 0 && nodes[i].started_ms < t0)
			t0 = nodes[i].started_ms;
	}
	if (t1 <= t0)
		t1 = o->now_ms > t0 ? o->now_ms : t0 + 1000;
	hi = (double)(t1 - t0) / 1000.0;
	nt = nf_scale_nice(&lo, &hi, 8, ticks, 16);
	sx = (nf_scale){ lo, hi, GANTT_LABEL, GANTT_W - 16 };
	h = GANTT_TOP + (double)n * GANTT_ROW + GANTT_AXIS;
	nf_buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart gantt\" id=\"gantt-chart\""
		      " viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\"><title>Timeline of run %lld</title>",
		      (int)GANTT_W, (int)h, (int)GANTT_W, (int)h, (long long)run->id);
	for (size_t i = 0; i < nt; i++) {
		char x[48], y0[48], y1[48], lab[48];

		nf_svg_coord(x, sizeof(x), nf_scale_map(&sx, ticks[i]));
		nf_svg_coord(y0, sizeof(y0), GANTT_TOP);
		nf_svg_coord(y1, sizeof(y1), h - GANTT_AXIS + 4);
		nf_html_num(lab, sizeof(lab), ticks[i]);
		nf_buf_printf(out, "<line class=\"grid\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>"
			      "<text class=\"ticklabel\" x=\"%s\" y=\"%d\" text-anchor=\"middle\">%ss</text>", x, y0, x, y1,
			      x, (int)(h - GANTT_AXIS + 18), lab);
	}
	for (size_t i = 0; i < n; i++) {
		const nf_node_info *nd = &nodes[i];
		double y = GANTT_TOP + (double)i * GANTT_ROW;
		nf_node_info *att = NULL;
		size_t na = 0;
		char yb[48], *label;

		nf_buf_printf(out, "<g class=\"row node state-row-%s\" id=\"", nf_state_name(nd->state));
		{
			nf_buf id = NF_BUF_INIT;

			nf_rpt_id(&id, "gantt", nd->name, NULL);
			nf_html_escape(out, nf_buf_cstr(&id));
			nf_buf_release(&id);
		}
		nf_buf_puts(out, "\">");
		if (i % 2 == 0)
			gantt_rect(out, 0, y, GANTT_W, GANTT_ROW, "rowband", nd->name);
		nf_svg_coord(yb, sizeof(yb), y + GANTT_ROW / 2 + 4);
		label = nd->attempts > 1 ? xasprintf("%s (%d attempts)", nd->name, nd->attempts)
					 : xasprintf("%s", nd->name);
		nf_buf_printf(out, "<text class=\"rowlabel\" x=\"6\" y=\"%s\">", yb);
		nf_html_escape(out, label);
		nf_buf_puts(out, "</text>");
		free(label);
		(void)nf_store_attempt_list(st, run->id, nd->name, &att, &na);
		if (na == 0) {
			/* cached, skipped, a gate: a marker where it was decided */
			int64_t at = nd->finished_ms ? nd->finished_ms : nd->started_ms ? nd->started_ms : t0;
			double x = nf_scale_map(&sx, (double)(at - t0) / 1000.0);
			char *title = nd->reason ? xasprintf("%s: %s (%s)", nd->name, nf_state_name(nd->state), nd->reason)
						 : xasprintf("%s: %s", nd->name, nf_state_name(nd->state));

			{
				char *cls = xasprintf("attempt marker state-%s", nf_state_name(nd->state));

				gantt_rect(out, x - 2, y + 5, 5, GANTT_ROW - 10, cls, title);
				free(cls);
			}
			free(title);
		}
		for (size_t k = 0; k < na; k++) {
			const nf_node_info *a = &att[k];
			int64_t s = a->started_ms ? a->started_ms : t0, e = a->finished_ms ? a->finished_ms : t1;
			double x0 = nf_scale_map(&sx, (double)(s - t0) / 1000.0), x1 = nf_scale_map(&sx, (double)(e - t0) / 1000.0);
			char dur[32], *title, *cls;

			nf_format_duration(dur, sizeof(dur), e - s);
			title = a->exit_code >= 0 && a->state != NF_ST_SUCCEEDED
				? xasprintf("%s attempt %d: %s after %s, exit %d", nd->name, a->attempts, nf_state_name(a->state),
					    dur, a->exit_code)
				: xasprintf("%s attempt %d: %s, %s", nd->name, a->attempts, nf_state_name(a->state), dur);
			cls = xasprintf("attempt state-%s%s", nf_state_name(a->state), k + 1 < na ? " retry" : "");
			gantt_rect(out, x0, y + 4, fmax(x1 - x0, 2), GANTT_ROW - 8, cls, title);
			free(cls);
			free(title);
		}
		nf_node_info_list_free(att, na);
		nf_buf_puts(out, "</g>");
	}
	nf_buf_puts(out, "</svg>\n<p class=\"legend-states\">");
	{
		static const char *const states[] = { "succeeded", "cached", "failed", "timed-out", "skipped",
						      "cancelled", "running", "rejected" };

		for (size_t i = 0; i < NF_ARRAY_SIZE(states); i++)
			nf_buf_printf(out, "<span><b class=\"key-%s\">\xe2\x96\xa0</b> %s</span>", states[i], states[i]);
	}
	nf_buf_puts(out, "<span>an outlined bar: an attempt that was retried</span></p>\n");
	nf_node_info_list_free(nodes, n);
	nf_rpt_section_end(out);
}

/* ---- gates and metrics ---- */

static void
gates(nf_buf *out, nf_store *st, const nf_run_info *run)
{
	nf_gate_result *g = NULL;
	size_t n = 0;

	nf_rpt_section(out, "gates", "Gates");
	if (nf_gate_list(st, run->id, &g, &n) < 0 || n == 0)
		empty_note(out, "No gate was evaluated in this run.");
	for (size_t i = 0; i < n; i++) {
		nf_buf_puts(out, "<table class=\"gate-table\"><caption>gate ");
		nf_html_escape(out, g[i].name);
		nf_buf_printf(out, ": <span class=\"%s\">%s</span></caption>\n", g[i].passed ? "pass" : "fail",
			      g[i].passed ? "passed" : "rejected");
		nf_buf_puts(out, "<thead><tr><th>criterion</th><th>value</th><th>threshold</th><th>verdict</th>"
			    "<th>note</th></tr></thead><tbody>\n");
		for (size_t k = 0; k < g[i].n; k++) {
			const nf_gate_criterion *c = &g[i].criteria[k];

			nf_buf_printf(out, "<tr class=\"criterion verdict-%s\">", c->passed ? "pass" : "fail");
			nf_rpt_td(out, "expr", c->expr);
			if (c->has_left)
				nf_rpt_td_num(out, c->left);
			else
				nf_rpt_td(out, "num", "-");
			if (c->has_right)
				nf_rpt_td_num(out, c->right);
			else
				nf_rpt_td(out, "num", "-");
			nf_rpt_td(out, c->passed ? "verdict-pass" : "verdict-fail", c->passed ? "pass" : "fail");
			nf_rpt_td(out, NULL, c->note ? c->note : "");
			nf_buf_puts(out, "</tr>\n");
		}
		nf_buf_puts(out, "</tbody></table>\n");
	}
	nf_gate_result_list_free(g, n);
	nf_rpt_section_end(out);
}

static void
metrics(nf_buf *out, nf_store *st, const nf_run_info *run)
{
	nf_metric *m = NULL;
	size_t n = 0;

	nf_rpt_section(out, "metrics", "Metrics");
	if (nf_store_metric_list(st, run->id, &m, &n) < 0 || n == 0) {
		empty_note(out, "No stage recorded metrics in this run.");
	} else {
		/* a long list folds away (details needs no script) */
		if (n > 12)
			nf_buf_printf(out, "<details class=\"metrics\"><summary>%zu metrics</summary>\n", n);
		nf_buf_puts(out, "<table class=\"metrics\"><thead><tr><th>node</th><th>metric</th><th>value</th></tr>"
			    "</thead><tbody>\n");
		for (size_t i = 0; i < n; i++) {
			nf_buf_puts(out, "<tr>");
			nf_rpt_td(out, NULL, m[i].node);
			nf_rpt_td(out, NULL, m[i].name);
			nf_rpt_td_num(out, m[i].value);
			nf_buf_puts(out, "</tr>\n");
		}
		nf_buf_puts(out, "</tbody></table>\n");
		if (n > 12)
			nf_buf_puts(out, "</details>\n");
	}
	nf_metric_list_free(m, n);
	nf_rpt_section_end(out);
}

static void
plots(nf_buf *out, nf_store *st, const nf_run_info *run, const nf_report_opts *o)
{
	nf_plot_row *p = NULL;
	size_t n = 0;

	nf_rpt_section(out, "plots", "Plots");
	if (nf_store_plot_list(st, run->id, &p, &n) < 0 || n == 0)
		empty_note(out, "No stage of this run declared a plot (plot \"NAME\" { ... } in a stage).");
	nf_buf_puts(out, "<div class=\"grid-charts\">\n");
	for (size_t i = 0; i < n; i++)
		nf_rpt_plot(out, o, &p[i], run->id, NULL, 0);
	nf_buf_puts(out, "</div>\n");
	nf_plot_row_list_free(p, n);
	nf_rpt_section_end(out);
}

/* ---- the registry ---- */

static bool
has_str(char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void
model_history(nf_buf *out, nf_store *st, const nf_run_info *run, const char *model)
{
	nf_model_version *v = NULL;
	size_t n = 0;
	char *keys[MAX_METRIC_CHARTS];
	size_t nkeys = 0;
	cJSON **mj;

	if (nf_registry_list(st, model, &v, &n) < 0)
		return;
	nf_buf_puts(out, "<div class=\"model\" id=\"");
	{
		nf_buf id = NF_BUF_INIT;

		nf_rpt_id(&id, "model", model, NULL);
		nf_html_escape(out, nf_buf_cstr(&id));
		nf_buf_release(&id);
	}
	nf_buf_puts(out, "\"><h3>model ");
	nf_html_escape(out, model);
	nf_buf_puts(out, "</h3>\n<table class=\"registry\"><thead><tr><th>version</th><th>run</th><th>status</th>"
		    "<th>gate</th><th>created</th><th>sha256</th></tr></thead><tbody>\n");
	mj = xcalloc(n ? n : 1, sizeof(cJSON *));
	for (size_t i = 0; i < n; i++) {
		char t[40], ver[24], r[24], sha[16];
		cJSON *m;

		nf_rpt_time(t, sizeof(t), v[i].created_ms);
		snprintf(ver, sizeof(ver), "v%d", v[i].version);
		snprintf(r, sizeof(r), "%lld", (long long)v[i].run_id);
		snprintf(sha, sizeof(sha), "%.12s", v[i].sha256 ? v[i].sha256 : "");
		nf_buf_printf(out, "<tr class=\"version%s\">", v[i].run_id == run->id ? " this-run changed" : "");
		nf_rpt_td(out, NULL, ver);
		nf_rpt_td(out, NULL, r);
		{
			char *cls = xasprintf("status-%s", v[i].status);

			nf_rpt_td(out, cls, v[i].status);
			free(cls);
		}
		nf_rpt_td(out, NULL, v[i].gate_outcome);
		nf_rpt_td(out, NULL, t);
		nf_rpt_td(out, NULL, sha);
		nf_buf_puts(out, "</tr>\n");
		mj[i] = cJSON_Parse(v[i].metrics_json ? v[i].metrics_json : "{}");
		cJSON_ArrayForEach(m, mj[i]) {
			if (cJSON_IsNumber(m) && nkeys < MAX_PLAIN_CHARTS && !has_str(keys, nkeys, m->string))
				keys[nkeys++] = m->string;
		}
	}
	nf_buf_puts(out, "</tbody></table>\n<div class=\"grid-charts\">\n");
	for (size_t k = 0; k < nkeys; k++) {
		double *x = xmalloc((n ? n : 1) * sizeof(double)), *y = xmalloc((n ? n : 1) * sizeof(double));
		nf_series s = { keys[k], x, y, n, false };
		nf_chart c = { 0 };
		nf_buf id = NF_BUF_INIT;
		char *title = xasprintf("%s over versions of %s", keys[k], model);

		for (size_t i = 0; i < n; i++) {
			cJSON *m = cJSON_GetObjectItemCaseSensitive(mj[i], keys[k]);

			x[i] = v[i].version;
			y[i] = cJSON_IsNumber(m) ? m->valuedouble : NAN;
		}
		nf_rpt_id(&id, "registry-chart", model, keys[k]);
		c.id = nf_buf_cstr(&id);
		c.cls = "registry-chart";
		c.title = title;
		c.xlabel = "version";
		c.ylabel = keys[k];
		c.kind = NF_CHART_LINE;
		c.series = &s;
		c.nseries = 1;
		c.integer_x = true;
		nf_svg_chart(out, &c);
		free(title);
		nf_buf_release(&id);
		free(x);
		free(y);
	}
	nf_buf_puts(out, "</div>\n</div>\n");
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(mj[i]);
	free(mj);
	nf_model_version_list_free(v, n);
}

static void
registry(nf_buf *out, nf_store *st, const nf_run_info *run)
{
	nf_model_version *all = NULL;
	nf_model_event *ev = NULL;
	size_t n = 0, ne = 0, nm = 0;
	char **models = NULL;

	nf_rpt_section(out, "registry", "Model registry");
	(void)nf_registry_run_events(st, run->id, &ev, &ne);
	for (size_t i = 0; i < ne; i++)
		if (!has_str(models, nm, ev[i].model)) {
			models = realloc(models, (nm + 1) * sizeof(char *));
			models[nm++] = xstrdup(ev[i].model);
		}
	if (nf_registry_list(st, NULL, &all, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (all[i].pipeline && strcmp(all[i].pipeline, run->pipeline) == 0 && !has_str(models, nm, all[i].model)) {
				models = realloc(models, (nm + 1) * sizeof(char *));
				models[nm++] = xstrdup(all[i].model);
			}
	if (nm == 0)
		empty_note(out, "The pipeline has registered no model.");
	for (size_t i = 0; i < nm; i++) {
		model_history(out, st, run, models[i]);
		free(models[i]);
	}
	free(models);
	nf_model_version_list_free(all, n);
	nf_model_event_list_free(ev, ne);
	nf_rpt_section_end(out);
}

/* ---- drift ---- */

typedef struct threshold {
	char *monitor, *metric, *label;
	double value;
} threshold;

typedef struct thresholds {
	threshold *t;
	size_t n;
} thresholds;

static void
add_threshold(thresholds *ts, const char *monitor, const char *metric, double value, const char *label)
{
	for (size_t i = 0; i < ts->n; i++)
		if (!strcmp(ts->t[i].monitor, monitor) && !strcmp(ts->t[i].metric, metric) && ts->t[i].value == value)
			return;
	ts->t = realloc(ts->t, (ts->n + 1) * sizeof(threshold));
	ts->t[ts->n++] = (threshold){ xstrdup(monitor), xstrdup(metric), xstrdup(label), value };
}

/* Each comparison of a metric with a number in e (through and/or/not) is a threshold. */
static void
walk_thresholds(thresholds *ts, const nf_expr *e, const char *monitor, const char *label)
{
	if (!e)
		return;
	switch (e->op) {
	case NF_EX_LT: case NF_EX_LE: case NF_EX_GT: case NF_EX_GE: case NF_EX_EQ: case NF_EX_NE:
		if (e->l && e->r && e->l->op == NF_EX_NAME && e->r->op == NF_EX_NUM)
			add_threshold(ts, monitor, e->l->name, e->r->num, label);
		else if (e->l && e->r && e->r->op == NF_EX_NAME && e->l->op == NF_EX_NUM)
			add_threshold(ts, monitor, e->r->name, e->l->num, label);
		return;
	case NF_EX_AND: case NF_EX_OR: case NF_EX_NOT:
		walk_thresholds(ts, e->l, monitor, label);
		walk_thresholds(ts, e->r, monitor, label);
		return;
	default:
		return;
	}
}

/* The alert rules' thresholds: from the pipeline file as it is now (when it can be read), and
 * from the alerts recorded (which keep the condition they fired on). */
static void
collect_thresholds(thresholds *ts, nf_store *st, const nf_run_info *run, const nf_report_opts *o)
{
	char *path = run->file[0] == '/' ? xstrdup(run->file) : xasprintf("%s/%s", o->root, run->file), *src = NULL;
	size_t len;
	nf_alert *al = NULL;
	size_t nal = 0;
	nf_arena *a = nf_arena_new();

	if (nf_read_file(&src, &len, path, NF_DAG_MAX_FILE_SIZE) == 0) {
		nf_dag *dag = NULL;
		nf_diag_list diags = NF_DIAG_LIST_INIT;

		(void)nf_dag_parse(&dag, path, src, len, &diags);
		for (size_t i = 0; dag && i < dag->nstages; i++) {
			const nf_stage *s = &dag->stages[i];

			for (size_t k = 0; k < nf_more(s)->nalerts; k++) {
				char *label = xasprintf("%s (%s)", nf_more(s)->alerts[k].name, nf_severity_name(nf_more(s)->alerts[k].severity));

				walk_thresholds(ts, nf_more(s)->alerts[k].when.expr, s->name, label);
				free(label);
			}
		}
		nf_dag_free(dag);
		nf_diag_list_release(&diags);
		free(src);
	}
	free(path);
	if (nf_alert_list(st, false, &al, &nal) == 0) {
		for (size_t i = 0; i < nal; i++) {
			nf_expr *e = NULL;
			int col;
			char *label, *stage = xstrdup(al[i].monitor), *br = strchr(stage, '[');

			if (strcmp(al[i].pipeline, run->pipeline) != 0) {
				free(stage);
				continue;
			}
			if (br)
				*br = '\0';
			label = xasprintf("%s (%s)", al[i].rule, nf_severity_name(al[i].severity));
			if (nf_expr_parse(&e, a, al[i].expr, &col) == 0)
				walk_thresholds(ts, e, stage, label);
			free(label);
			free(stage);
		}
	}
	nf_alert_list_free(al, nal);
	nf_arena_free(a);
}

static void
drift(nf_buf *out, nf_store *st, const nf_run_info *run, const nf_report_opts *o)
{
	nf_node_info *nodes = NULL;
	size_t n = 0, shown = 0;
	thresholds ts = { 0 };

	nf_rpt_section(out, "drift", "Drift");
	(void)nf_store_node_list(st, run->id, &nodes, &n);
	collect_thresholds(&ts, st, run, o);
	for (size_t i = 0; i < n; i++) {
		nf_metric_point *p = NULL;
		size_t np = 0, nall = 0, first = 0, nruns = 0;
		char *names[MAX_METRIC_CHARTS];
		size_t nnames = 0;

		if (strcmp(nodes[i].kind, "monitor") != 0)
			continue;
		if (nf_metric_series(st, run->pipeline, nodes[i].name, NULL, &p, &nall) < 0)
			continue;
		np = nall;
		/* the last `history` runs up to this one */
		while (np > 0 && p[np - 1].run_id > run->id)
			np--;   /* a later run's: not shown (freed with the list, nall) */
		for (size_t k = np; k > 0; k--) {
			if (k == np || p[k - 1].run_id != p[k].run_id)
				nruns++;
			if (nruns > o->history) {
				first = k;
				break;
			}
		}
		/* the metrics an alert rule reads first (with their thresholds), then a few more */
		for (size_t k = first; k < np; k++)
			for (size_t t = 0; t < ts.n; t++)
				if (nnames < MAX_METRIC_CHARTS && strcmp(ts.t[t].monitor, nodes[i].stage) == 0 &&
				    strcmp(ts.t[t].metric, p[k].name) == 0 && !has_str(names, nnames, p[k].name))
					names[nnames++] = p[k].name;
		for (size_t k = first, plain = 0; k < np && plain < MAX_PLAIN_CHARTS; k++)
			if (nnames < MAX_METRIC_CHARTS && !has_str(names, nnames, p[k].name)) {
				names[nnames++] = p[k].name;
				plain++;
			}
		nf_buf_puts(out, "<h3>monitor ");
		nf_html_escape(out, nodes[i].name);
		nf_buf_puts(out, "</h3>\n<div class=\"grid-charts\">\n");
		for (size_t m = 0; m < nnames; m++) {
			double *x = xmalloc((np - first + 1) * sizeof(double)), *y = xmalloc((np - first + 1) * sizeof(double));
			size_t c = 0, nh = 0;
			nf_hline *h = xcalloc(ts.n + 1, sizeof(nf_hline));
			nf_series s = { names[m], x, y, 0, false };
			nf_chart ch = { 0 };
			nf_buf id = NF_BUF_INIT;
			char *title = xasprintf("%s over the last runs", names[m]);

			for (size_t k = first; k < np; k++)
				if (strcmp(p[k].name, names[m]) == 0) {
					x[c] = (double)p[k].run_id;
					y[c++] = p[k].value;
				}
			s.n = c;
			for (size_t k = 0; k < ts.n; k++)
				if (strcmp(ts.t[k].monitor, nodes[i].stage) == 0 && strcmp(ts.t[k].metric, names[m]) == 0)
					h[nh++] = (nf_hline){ ts.t[k].value, ts.t[k].label };
			nf_rpt_id(&id, "drift-chart", nodes[i].name, names[m]);
			ch.id = nf_buf_cstr(&id);
			ch.cls = "drift-chart";
			ch.title = title;
			ch.xlabel = "run";
			ch.ylabel = names[m];
			ch.kind = NF_CHART_LINE;
			ch.series = &s;
			ch.nseries = 1;
			ch.hlines = h;
			ch.nhlines = nh;
			ch.integer_x = true;
			nf_svg_chart(out, &ch);
			shown++;
			free(title);
			nf_buf_release(&id);
			free(h);
			free(x);
			free(y);
		}
		nf_buf_puts(out, "</div>\n");
		nf_metric_point_list_free(p, nall);
	}
	if (shown == 0)
		empty_note(out, "No monitor of this run recorded metrics.");
	for (size_t i = 0; i < ts.n; i++) {
		free(ts.t[i].monitor);
		free(ts.t[i].metric);
		free(ts.t[i].label);
	}
	free(ts.t);
	nf_node_info_list_free(nodes, n);
	nf_rpt_section_end(out);
}

/* ---- resources against history ---- */

static void
perf(nf_buf *out, nf_store *st, const nf_run_info *run, const nf_report_opts *o)
{
	nf_perf_row *r = NULL;
	size_t n = 0, m = 0;

	nf_rpt_section(out, "perf", "CPU and memory against history");
	if (nf_perf_record(st, run->id, o->history, &r, &n) < 0 || n == 0) {
		empty_note(out, "No node ran a process.");
		nf_perf_row_list_free(r, n);
		nf_rpt_section_end(out);
		return;
	}
	{
		const char **cats = xcalloc(n, sizeof(char *));
		double *xi = xcalloc(n, sizeof(double)), *cpu = xcalloc(n, sizeof(double)), *cpu_med = xcalloc(n, sizeof(double));
		double *rss = xcalloc(n, sizeof(double)), *rss_med = xcalloc(n, sizeof(double));
		nf_series s_cpu[2], s_rss[2];
		nf_chart c = { 0 };
		char *hist = xasprintf("median of the last %zu runs", o->history);

		for (size_t i = 0; i < n; i++) {
			if (!r[i].measured && r[i].nhist == 0)
				continue;
			cats[m] = r[i].node;
			xi[m] = (double)m;
			cpu[m] = r[i].measured ? (double)r[i].cpu_ms / 1000.0 : NAN;
			cpu_med[m] = r[i].nhist ? r[i].med_cpu_ms / 1000.0 : NAN;
			rss[m] = r[i].measured ? (double)r[i].max_rss_kb / 1024.0 : NAN;
			rss_med[m] = r[i].nhist ? r[i].med_rss_kb / 1024.0 : NAN;
			m++;
		}
		s_cpu[0] = (nf_series){ "this run", xi, cpu, m, false };
		s_cpu[1] = (nf_series){ hist, xi, cpu_med, m, false };
		s_rss[0] = (nf_series){ "this run", xi, rss, m, false };
		s_rss[1] = (nf_series){ hist, xi, rss_med, m, false };
		nf_buf_puts(out, "<div class=\"grid-charts\">\n");
		c.kind = NF_CHART_BAR;
		c.width = m > 6 ? 1080 : 0;   /* one per row when there are many nodes */
		c.xcats = cats;
		c.nxcats = m;
		c.nseries = 2;
		c.id = "perf-cpu";
		c.cls = "perf-chart";
		c.title = "CPU seconds (user + system) per node";
		c.ylabel = "CPU s";
		c.series = s_cpu;
		nf_svg_chart(out, &c);
		c.id = "perf-rss";
		c.title = "Peak memory (RSS) per node";
		c.ylabel = "MB";
		c.series = s_rss;
		nf_svg_chart(out, &c);
		nf_buf_puts(out, "</div>\n");
		free(hist);
		free(cats);
		free(xi);
		free(cpu);
		free(cpu_med);
		free(rss);
		free(rss_med);
	}
	nf_buf_puts(out, "<table class=\"perf\"><thead><tr><th>node</th><th>state</th><th>wall s</th><th>CPU s</th>"
		    "<th>median CPU s</th><th>peak RSS MB</th><th>median RSS MB</th><th>runs</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		char runs[24];

		nf_buf_puts(out, "<tr>");
		nf_rpt_td(out, NULL, r[i].node);
		nf_rpt_td(out, NULL, r[i].state);
		if (r[i].measured) {
			nf_rpt_td_num(out, (double)r[i].wall_ms / 1000.0);
			nf_rpt_td_num(out, (double)r[i].cpu_ms / 1000.0);
		} else {
			nf_rpt_td(out, "num", "-");
			nf_rpt_td(out, "num", "-");
		}
		if (r[i].nhist)
			nf_rpt_td_num(out, r[i].med_cpu_ms / 1000.0);
		else
			nf_rpt_td(out, "num", "-");
		if (r[i].measured)
			nf_rpt_td_num(out, (double)r[i].max_rss_kb / 1024.0);
		else
			nf_rpt_td(out, "num", "-");
		if (r[i].nhist)
			nf_rpt_td_num(out, r[i].med_rss_kb / 1024.0);
		else
			nf_rpt_td(out, "num", "-");
		snprintf(runs, sizeof(runs), "%zu", r[i].nhist);
		nf_rpt_td(out, "num", runs);
		nf_buf_puts(out, "</tr>\n");
	}
	nf_buf_puts(out, "</tbody></table>\n");
	nf_perf_row_list_free(r, n);
	nf_rpt_section_end(out);
}

int
nf_report_html(nf_buf *out, nf_store *st, int64_t run_id, const nf_report_opts *opts)
{
	nf_run_info run;
	nf_report_opts o = *opts;
	char *title;
	int err;

	if (o.history == 0)
		o.history = 20;
	if ((err = nf_store_run_get(st, run_id, &run)) < 0)
		return err;
	title = xasprintf("ntflow: run %lld of %s", (long long)run.id, run.pipeline);
	nf_rpt_page_begin(out, title);
	nf_buf_puts(out, "<header class=\"top\" id=\"top\"><h1>");
	nf_html_escape(out, title);
	nf_buf_printf(out, "</h1><p>status <span class=\"status-%s\">%s</span></p></header>\n",
		      nf_run_status_name(run.status), nf_run_status_name(run.status));
	nf_rpt_section(out, "header", "Run");
	nf_rpt_run_header(out, st, &run);
	nf_rpt_section_end(out);
	gantt(out, st, &run, &o);
	gates(out, st, &run);
	metrics(out, st, &run);
	plots(out, st, &run, &o);
	registry(out, st, &run);
	drift(out, st, &run, &o);
	perf(out, st, &run, &o);
	nf_rpt_phases(out, st, &run, &o);
	nf_rpt_page_end(out, &o);
	free(title);
	nf_run_info_release(&run);
	return 0;
}

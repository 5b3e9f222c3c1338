/* compare.c: the page comparing two runs: both headers side by side, the params and metrics
 * that differ (with the metric's change), and each plot the two runs declared drawn once
 * with both runs' data (the second run dashed; confusion matrices and images side by side). */
#include "config.h"
#include "report-internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

static char *
param_text(const cJSON *v)
{
	if (!v)
		return NULL;
	return cJSON_IsString(v) ? xstrdup(v->valuestring) : cJSON_PrintUnformatted(v);
}

static void
params_diff(nf_buf *out, const nf_run_info *a, const nf_run_info *b)
{
	cJSON *pa = cJSON_Parse(a->params_json ? a->params_json : "{}"), *pb = cJSON_Parse(b->params_json ? b->params_json : "{}");
	cJSON *keys = cJSON_CreateObject(), *k;
	size_t changed = 0;

	nf_rpt_section(out, "params-diff", "Parameters");
	cJSON_ArrayForEach(k, pa)
		if (!cJSON_GetObjectItemCaseSensitive(keys, k->string))
			cJSON_AddNullToObject(keys, k->string);
	cJSON_ArrayForEach(k, pb)
		if (!cJSON_GetObjectItemCaseSensitive(keys, k->string))
			cJSON_AddNullToObject(keys, k->string);
	if (cJSON_GetArraySize(keys) == 0)
		nf_buf_puts(out, "<p class=\"note empty\">Neither run has parameters.</p>\n");
	else
		nf_buf_printf(out, "<table class=\"diff params-diff\"><thead><tr><th>param</th><th>run %lld</th><th>run %lld</th>"
		      "</tr></thead><tbody>\n", (long long)a->id, (long long)b->id);
	cJSON_ArrayForEach(k, keys) {
		char *va = param_text(cJSON_GetObjectItemCaseSensitive(pa, k->string));
		char *vb = param_text(cJSON_GetObjectItemCaseSensitive(pb, k->string));
		bool same = va && vb && strcmp(va, vb) == 0;

		changed += !same;
		nf_buf_printf(out, "<tr class=\"%s\">", same ? "same" : "changed");
		nf_rpt_td(out, NULL, k->string);
		nf_rpt_td(out, NULL, va);
		nf_rpt_td(out, NULL, vb);
		nf_buf_puts(out, "</tr>\n");
		free(va);
		free(vb);
	}
	if (cJSON_GetArraySize(keys) > 0)
		nf_buf_printf(out, "</tbody></table>\n<p class=\"note\">%zu of %d parameters differ.</p>\n", changed,
			      cJSON_GetArraySize(keys));
	cJSON_Delete(keys);
	cJSON_Delete(pa);
	cJSON_Delete(pb);
	nf_rpt_section_end(out);
}

static const nf_metric *
find_metric(const nf_metric *m, size_t n, const char *node, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].node, node) == 0 && strcmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}

static void
metrics_row(nf_buf *out, const char *node, const char *name, const nf_metric *ma, const nf_metric *mb)
{
	bool same = ma && mb && ma->value == mb->value;

	nf_buf_printf(out, "<tr class=\"%s\">", same ? "same" : "changed");
	nf_rpt_td(out, NULL, node);
	nf_rpt_td(out, NULL, name);
	if (ma)
		nf_rpt_td_num(out, ma->value);
	else
		nf_rpt_td(out, "num", "-");
	if (mb)
		nf_rpt_td_num(out, mb->value);
	else
		nf_rpt_td(out, "num", "-");
	if (ma && mb) {
		double d = mb->value - ma->value;
		char b[48], *cell;

		nf_html_num(b, sizeof(b), d);
		cell = xasprintf("%s%s", d > 0 ? "+" : "", b);
		nf_rpt_td(out, d > 0 ? "num up" : d < 0 ? "num down" : "num", cell);
		free(cell);
	} else {
		nf_rpt_td(out, "num", "-");
	}
	nf_buf_puts(out, "</tr>\n");
}

static void
metrics_diff(nf_buf *out, nf_store *st, const nf_run_info *a, const nf_run_info *b)
{
	nf_metric *ma = NULL, *mb = NULL;
	size_t na = 0, nb = 0;

	nf_rpt_section(out, "metrics-diff", "Metrics");
	(void)nf_store_metric_list(st, a->id, &ma, &na);
	(void)nf_store_metric_list(st, b->id, &mb, &nb);
	if (na + nb == 0) {
		nf_buf_puts(out, "<p class=\"note empty\">Neither run recorded metrics.</p>\n");
	} else {
		nf_buf_printf(out, "<table class=\"diff metrics-diff\"><thead><tr><th>node</th><th>metric</th>"
			      "<th>run %lld</th><th>run %lld</th><th>change</th></tr></thead><tbody>\n",
			      (long long)a->id, (long long)b->id);
		for (size_t i = 0; i < na; i++)
			metrics_row(out, ma[i].node, ma[i].name, &ma[i], find_metric(mb, nb, ma[i].node, ma[i].name));
		for (size_t i = 0; i < nb; i++)
			if (!find_metric(ma, na, mb[i].node, mb[i].name))
				metrics_row(out, mb[i].node, mb[i].name, NULL, &mb[i]);
		nf_buf_puts(out, "</tbody></table>\n");
	}
	nf_metric_list_free(ma, na);
	nf_metric_list_free(mb, nb);
	nf_rpt_section_end(out);
}

static const nf_plot_row *
find_plot(const nf_plot_row *p, size_t n, const nf_plot_row *like)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].node, like->node) == 0 && strcmp(p[i].name, like->name) == 0)
			return &p[i];
	return NULL;
}

static void
plots_overlay(nf_buf *out, nf_store *st, const nf_run_info *a, const nf_run_info *b, const nf_report_opts *o)
{
	nf_plot_row *pa = NULL, *pb = NULL;
	size_t na = 0, nb = 0;

	nf_rpt_section(out, "plots", "Plots, overlaid");
	(void)nf_store_plot_list(st, a->id, &pa, &na);
	(void)nf_store_plot_list(st, b->id, &pb, &nb);
	if (na + nb == 0)
		nf_buf_puts(out, "<p class=\"note empty\">Neither run declared a plot.</p>\n");
	else
		nf_buf_printf(out, "<p class=\"note\">Solid: run %lld; dashed: run %lld.</p>\n", (long long)a->id,
			      (long long)b->id);
	nf_buf_puts(out, "<div class=\"grid-charts\">\n");
	for (size_t i = 0; i < na; i++)
		nf_rpt_plot(out, o, &pa[i], a->id, find_plot(pb, nb, &pa[i]), b->id);
	for (size_t i = 0; i < nb; i++)
		if (!find_plot(pa, na, &pb[i]))
			nf_rpt_plot(out, o, NULL, a->id, &pb[i], b->id);
	nf_buf_puts(out, "</div>\n");
	nf_plot_row_list_free(pa, na);
	nf_plot_row_list_free(pb, nb);
	nf_rpt_section_end(out);
}

int
nf_report_compare_html(nf_buf *out, nf_store *st, int64_t ida, int64_t idb, const nf_report_opts *opts)
{
	nf_run_info a, b;
	char *title;
	int err;

	if ((err = nf_store_run_get(st, ida, &a)) < 0)
		return err;
	if ((err = nf_store_run_get(st, idb, &b)) < 0) {
		nf_run_info_release(&a);
		return err;
	}
	title = xasprintf("ntflow: run %lld and run %lld compared", (long long)a.id, (long long)b.id);
	nf_rpt_page_begin(out, title);
	nf_buf_puts(out, "<header class=\"top\" id=\"top\"><h1>");
	nf_html_escape(out, title);
	nf_buf_puts(out, "</h1><p>");
	nf_html_escapef(out, "%s / %s", a.pipeline, b.pipeline);
	nf_buf_puts(out, "</p></header>\n<div class=\"grid-charts runs\">\n");
	{
		char id[32], head[32];

		snprintf(id, sizeof(id), "header-a");
		snprintf(head, sizeof(head), "Run %lld", (long long)a.id);
		nf_rpt_section(out, id, head);
		nf_rpt_run_header(out, st, &a);
		nf_rpt_section_end(out);
		snprintf(id, sizeof(id), "header-b");
		snprintf(head, sizeof(head), "Run %lld", (long long)b.id);
		nf_rpt_section(out, id, head);
		nf_rpt_run_header(out, st, &b);
		nf_rpt_section_end(out);
	}
	nf_buf_puts(out, "</div>\n");
	params_diff(out, &a, &b);
	metrics_diff(out, st, &a, &b);
	plots_overlay(out, st, &a, &b, opts);
	nf_rpt_page_end(out, opts);
	free(title);
	nf_run_info_release(&a);
	nf_run_info_release(&b);
	return 0;
}

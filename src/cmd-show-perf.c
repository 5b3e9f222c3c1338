/* cmd-show-perf.c: `ntflow show RUN --perf`, the performance record of a run: each node's
 * wall time, CPU time (user + system) and peak RSS, each next to the median of the same
 * node's last 5 successful runs that were not cached, and how far it is from it; then the
 * CPU and wall time per phase with the CPU budget recorded at the run's end. */
#include "config.h"
#include "ntflow/cmd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"
#include "ntflow/store.h"

#define PERF_WINDOW 5

/* Seconds with two decimals ("1.21s") up to a minute, then "3m05s". */
static void
fmt_secs(char *out, size_t size, double ms)
{
	if (ms < 60000)
		snprintf(out, size, "%.2fs", ms / 1000.0);
	else
		nf_format_duration(out, size, (int64_t)ms);
}

static void
fmt_rss(char *out, size_t size, double kb)
{
	if (kb < 1024)
		snprintf(out, size, "%.0fK", kb);
	else if (kb < 1024.0 * 1024)
		snprintf(out, size, "%.1fM", kb / 1024.0);
	else
		snprintf(out, size, "%.1fG", kb / (1024.0 * 1024.0));
}

/* "-32% (1.78s)": the change against the median, and the median; "-" without history. */
static char *
vs_median(double cur, double med, bool measured, size_t nhist, void (*fmt)(char *, size_t, double))
{
	char m[32];

	if (nhist == 0)
		return xstrdup("-");
	fmt(m, sizeof(m), med);
	if (!measured)
		return xasprintf("(%s)", m);
	if (med <= 0)
		return xasprintf("%s (%s)", cur > 0 ? "new" : "+0%", m);
	return xasprintf("%+.0f%% (%s)", round((cur - med) / med * 100.0), m);
}

static double
pct(double cur, double med)
{
	return med > 0 ? (cur - med) / med * 100.0 : 0;
}

/* The budget columns of a phase: baseline, its CPU, the reduction, the target, the verdict. */
static void
budget_cells(char **cell, const nf_phase_row *p)
{
	char b[32];

	if (!p->status) {
		for (int i = 0; i < 5; i++)
			cell[i] = xstrdup("-");
		return;
	}
	cell[0] = xstrdup(p->baseline && *p->baseline ? p->baseline : "-");
	fmt_secs(b, sizeof(b), (double)p->baseline_cpu_ms);
	cell[1] = xstrdup(p->has_baseline_cpu ? b : "-");
	cell[2] = p->has_reduction ? xasprintf("%.1f%%", p->reduction_pct) : xstrdup("-");
	cell[3] = xasprintf("%g%%", p->target_pct);
	cell[4] = xstrdup(p->status);
}

void
nf_show_phases_json(cJSON *top, const nf_phase_row *ph, size_t nph)
{
	cJSON *arr = cJSON_AddArrayToObject(top, "phases");

	for (size_t i = 0; i < nph; i++) {
		const nf_phase_row *p = &ph[i];
		cJSON *o = cJSON_CreateObject(), *b;

		cJSON_AddStringToObject(o, "phase", p->phase);
		cJSON_AddNumberToObject(o, "nodes", p->nodes);
		cJSON_AddNumberToObject(o, "ran", p->ran);
		cJSON_AddNumberToObject(o, "cached", p->cached);
		cJSON_AddNumberToObject(o, "cpu_ms", (double)p->cpu_ms);
		cJSON_AddNumberToObject(o, "wall_ms", (double)p->wall_ms);
		if (!p->status) {
			cJSON_AddNullToObject(o, "budget");
		} else {
			b = cJSON_AddObjectToObject(o, "budget");
			cJSON_AddStringToObject(b, "baseline", p->baseline ? p->baseline : "");
			if (p->has_baseline_cpu)
				cJSON_AddNumberToObject(b, "baseline_cpu_ms", (double)p->baseline_cpu_ms);
			else
				cJSON_AddNullToObject(b, "baseline_cpu_ms");
			if (p->has_reduction)
				cJSON_AddNumberToObject(b, "reduction_pct", round(p->reduction_pct * 10.0) / 10.0);
			else
				cJSON_AddNullToObject(b, "reduction_pct");
			cJSON_AddNumberToObject(b, "target_pct", p->target_pct);
			cJSON_AddStringToObject(b, "status", p->status);
			if (p->reason)
				cJSON_AddStringToObject(b, "reason", p->reason);
			else
				cJSON_AddNullToObject(b, "reason");
			if (!strcmp(p->status, "met") || !strcmp(p->status, "missed"))
				cJSON_AddBoolToObject(b, "met", strcmp(p->status, "met") == 0);
			else
				cJSON_AddNullToObject(b, "met");
		}
		cJSON_AddItemToArray(arr, o);
	}
}

void
nf_show_budget_text(const nf_phase_row *ph, size_t nph)
{
	for (size_t i = 0; i < nph; i++) {
		const nf_phase_row *p = &ph[i];
		char cpu[32], base[32];

		if (!p->status)
			continue;
		fmt_secs(cpu, sizeof(cpu), (double)p->cpu_ms);
		fmt_secs(base, sizeof(base), (double)p->baseline_cpu_ms);
		if (strcmp(p->status, "not compared") == 0)
			printf("cpu budget %s: %s, not compared: %d of %d stages ran (%d cached)\n", p->phase, cpu,
			       p->ran, p->nodes, p->cached);
		else if (!p->has_reduction)
			/* A run recorded before reasons were: only the two reasons of that time. */
			printf("cpu budget %s: %s, no baseline (%s: %s)\n", p->phase, cpu, p->baseline,
			       p->reason ? p->reason
			       : p->has_baseline_cpu ? "under 10 ms of CPU" : "not enough earlier runs");
		else
			printf("cpu budget %s: %s against %s (%s): %.1f%% reduction, target %g%%: %s\n", p->phase, cpu,
			       base, p->baseline, p->reduction_pct, p->target_pct, p->status);
	}
}

static void
print_json(const nf_run_info *run, const nf_perf_row *rows, size_t n, const nf_phase_row *ph, size_t nph)
{
	cJSON *top = cJSON_CreateObject(), *arr;
	char *text;

	cJSON_AddNumberToObject(top, "run_id", (double)run->id);
	cJSON_AddStringToObject(top, "pipeline", run->pipeline);
	cJSON_AddNumberToObject(top, "window", PERF_WINDOW);
	arr = cJSON_AddArrayToObject(top, "perf");
	for (size_t i = 0; i < n; i++) {
		const nf_perf_row *r = &rows[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "node", r->node);
		cJSON_AddStringToObject(o, "state", r->state);
		cJSON_AddBoolToObject(o, "measured", r->measured);
		cJSON_AddNumberToObject(o, "wall_ms", (double)r->wall_ms);
		cJSON_AddNumberToObject(o, "cpu_ms", (double)r->cpu_ms);
		cJSON_AddNumberToObject(o, "max_rss_kb", (double)r->max_rss_kb);
		cJSON_AddNumberToObject(o, "history", (double)r->nhist);
		if (r->nhist) {
			cJSON_AddNumberToObject(o, "median_wall_ms", r->med_wall_ms);
			cJSON_AddNumberToObject(o, "median_cpu_ms", r->med_cpu_ms);
			cJSON_AddNumberToObject(o, "median_max_rss_kb", r->med_rss_kb);
		} else {
			cJSON_AddNullToObject(o, "median_wall_ms");
			cJSON_AddNullToObject(o, "median_cpu_ms");
			cJSON_AddNullToObject(o, "median_max_rss_kb");
		}
		if (r->nhist && r->measured) {
			cJSON_AddNumberToObject(o, "wall_change_pct", round(pct((double)r->wall_ms, r->med_wall_ms)));
			cJSON_AddNumberToObject(o, "cpu_change_pct", round(pct((double)r->cpu_ms, r->med_cpu_ms)));
			cJSON_AddNumberToObject(o, "max_rss_change_pct", round(pct((double)r->max_rss_kb, r->med_rss_kb)));
		} else {
			cJSON_AddNullToObject(o, "wall_change_pct");
			cJSON_AddNullToObject(o, "cpu_change_pct");
			cJSON_AddNullToObject(o, "max_rss_change_pct");
		}
		cJSON_AddItemToArray(arr, o);
	}
	nf_show_phases_json(top, ph, nph);
	text = nf_json_print(top, true);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(top);
}

/* CPU (every attempt's user + system) and wall span per phase, with the recorded budget. */
static void
print_phases(const nf_phase_row *ph, size_t nph)
{
	static const char *const head[] = {
		"PHASE", "STAGES", "RAN", "CPU", "WALL", "BASELINE", "BASE CPU", "REDUCTION", "TARGET", "BUDGET",
	};
	nf_table *tab;

	if (nph == 0)
		return;
	tab = nf_table_new(NF_ARRAY_SIZE(head), head);
	printf("\nCPU per phase (user + system of every attempt; wall from its first start to its last end)\n\n");
	for (size_t i = 0; i < nph; i++) {
		const nf_phase_row *p = &ph[i];
		char **row = nf_table_add_row(tab), b[32];

		row[0] = xstrdup(p->phase);
		row[1] = xasprintf("%d", p->nodes);
		row[2] = xasprintf("%d", p->ran);
		fmt_secs(b, sizeof(b), (double)p->cpu_ms);
		row[3] = xstrdup(b);
		fmt_secs(b, sizeof(b), (double)p->wall_ms);
		row[4] = xstrdup(b);
		budget_cells(row + 5, p);
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
}

static void
print_table(const nf_run_info *run, const nf_perf_row *rows, size_t n)
{
	static const char *const head[] = {
		"NODE", "STATE", "WALL", "VS MEDIAN", "CPU", "VS MEDIAN", "MAXRSS", "VS MEDIAN", "RUNS",
	};
	nf_table *tab = nf_table_new(NF_ARRAY_SIZE(head), head);

	printf("run %lld of %s: each node against the median of its last %d successful, non-cached runs\n\n",
	       (long long)run->id, run->pipeline, PERF_WINDOW);
	for (size_t i = 0; i < n; i++) {
		const nf_perf_row *r = &rows[i];
		char **row = nf_table_add_row(tab), b[32];

		row[0] = xstrdup(r->node);
		row[1] = xstrdup(r->state);
		fmt_secs(b, sizeof(b), (double)r->wall_ms);
		row[2] = xstrdup(r->measured ? b : "-");
		row[3] = vs_median((double)r->wall_ms, r->med_wall_ms, r->measured, r->nhist, fmt_secs);
		fmt_secs(b, sizeof(b), (double)r->cpu_ms);
		row[4] = xstrdup(r->measured ? b : "-");
		row[5] = vs_median((double)r->cpu_ms, r->med_cpu_ms, r->measured, r->nhist, fmt_secs);
		fmt_rss(b, sizeof(b), (double)r->max_rss_kb);
		row[6] = xstrdup(r->measured && r->max_rss_kb > 0 ? b : "-");
		row[7] = vs_median((double)r->max_rss_kb, r->med_rss_kb, r->measured && r->max_rss_kb > 0, r->nhist,
				   fmt_rss);
		row[8] = xasprintf("%zu", r->nhist);
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
}

int
nf_show_perf(nf_store *st, const nf_run_info *run, bool json)
{
	nf_perf_row *rows = NULL;
	nf_phase_row *ph = NULL;
	size_t n = 0, nph = 0;

	if (nf_perf_record(st, run->id, PERF_WINDOW, &rows, &n) < 0 ||
	    nf_store_phase_totals(st, run->id, &ph, &nph) < 0) {
		nf_cmd_error("%s", nf_error_last());
		nf_perf_row_list_free(rows, n);
		return NF_EXIT_FAILED;
	}
	if (json) {
		print_json(run, rows, n, ph, nph);
	} else {
		print_table(run, rows, n);
		print_phases(ph, nph);
	}
	nf_perf_row_list_free(rows, n);
	nf_phase_row_list_free(ph, nph);
	return NF_EXIT_OK;
}

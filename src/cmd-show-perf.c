/* cmd-show-perf.c: `ntflow show RUN --perf`, the performance record of a run: each node's
 * wall time, CPU time (user + system) and peak RSS, each next to the median of the same
 * node's last 5 successful runs that were not cached, and how far it is from it. */
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

static void
print_json(const nf_run_info *run, const nf_perf_row *rows, size_t n)
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
	text = nf_json_print(top, true);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(top);
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
	size_t n = 0;

	if (nf_perf_record(st, run->id, PERF_WINDOW, &rows, &n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	if (json)
		print_json(run, rows, n);
	else
		print_table(run, rows, n);
	nf_perf_row_list_free(rows, n);
	return NF_EXIT_OK;
}

/* cmd-metrics.c: `ntflow metrics`, the metrics the runs recorded, one line per run and
 * metric, oldest run first: how a metric moved across runs (what the dashboard's trend
 * charts draw), as a table or a JSON array. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"
#include "ntflow/store.h"

static void
print_table(const nf_metric_point *p, size_t n, bool with_pipeline)
{
	const char *head[6];
	size_t ncols = 0;
	nf_table *tab;

	head[ncols++] = "RUN";
	head[ncols++] = "DATE";
	if (with_pipeline)
		head[ncols++] = "PIPELINE";
	head[ncols++] = "NODE";
	head[ncols++] = "NAME";
	head[ncols++] = "VALUE";
	tab = nf_table_new(ncols, head);
	nf_table_align_right(tab, 0);   /* the run id */
	for (size_t i = 0; i < n; i++) {
		char **row = nf_table_add_row(tab);
		size_t c = 0;

		row[c++] = xasprintf("%lld", (long long)p[i].run_id);
		row[c++] = xstrdup(*p[i].logical_date ? p[i].logical_date : "-");
		if (with_pipeline)
			row[c++] = xstrdup(p[i].pipeline);
		row[c++] = xstrdup(p[i].node);
		row[c++] = xstrdup(p[i].name);
		row[c++] = xasprintf("%.10g", p[i].value);
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
}

static void
print_json(const nf_metric_point *p, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *text, t[40];

	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "run_id", (double)p[i].run_id);
		cJSON_AddStringToObject(o, "pipeline", p[i].pipeline);
		cJSON_AddStringToObject(o, "logical_date", p[i].logical_date);
		nf_store_fmt_iso_utc(t, sizeof(t), p[i].started_ms);
		cJSON_AddStringToObject(o, "started", t);
		cJSON_AddStringToObject(o, "node", p[i].node);
		cJSON_AddStringToObject(o, "name", p[i].name);
		cJSON_AddNumberToObject(o, "value", p[i].value);
		cJSON_AddItemToArray(arr, o);
	}
	text = nf_json_print(arr, true);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(arr);
}

/* Nothing matched: say what there is, with a suggestion for a misspelt name. */
static void
report_empty(nf_store *st, const char *pipeline, const char *node, const char *name)
{
	nf_metric_point *all = NULL;
	size_t n = 0, nnames = 0, cap = 0;
	const char **names = NULL;
	const char *hint = NULL;

	if (name && nf_metric_series(st, pipeline, node, NULL, &all, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			bool seen = false;

			for (size_t k = 0; k < nnames && !seen; k++)
				seen = strcmp(names[k], all[i].name) == 0;
			if (!seen)
				NF_PUSH(names, nnames, cap, all[i].name);
		}
		hint = nf_suggest(name, names, nnames);
	}
	if (name && hint)
		nf_cmd_error("no metric '%s' recorded%s%s; did you mean '%s'?", name, pipeline ? " for pipeline " : "",
			     pipeline ? pipeline : "", hint);
	else if (name)
		nf_cmd_error("no metric '%s' recorded%s%s", name, pipeline ? " for pipeline " : "", pipeline ? pipeline : "");
	else if (pipeline || node)
		nf_cmd_error("no metrics recorded%s%s%s%s", pipeline ? " for pipeline " : "", pipeline ? pipeline : "",
			     node ? " by node " : "", node ? node : "");
	else
		nf_cmd_error("no metrics recorded yet");
	free(names);
	nf_metric_point_list_free(all, n);
}

static int
cmd_metrics_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pipeline", required_argument, NULL, 'P' },
		{ "name",     required_argument, NULL, 'N' },
		{ "node",     required_argument, NULL, 'n' },
		{ "run",      required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pipeline = NULL, *name = NULL, *node = NULL, *run_arg = NULL;
	int64_t run_id = 0;
	nf_store *st = NULL;
	nf_metric_point *pts = NULL;
	size_t n = 0;
	char *dir = NULL;
	bool several = false;
	int c, oerr, err = 0, rc = NF_EXIT_FAILED;

	while ((c = nf_cmd_getopt(&nf_cmd_metrics, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		case 'P': pipeline = optarg; break;
		case 'N': name = optarg; break;
		case 'n': node = optarg; break;
		case 'R': run_arg = optarg; break;
		default: return NF_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		nf_cmd_eprintf("ntflow metrics: unexpected argument '%s'\n", argv[optind]);
		nf_cmd_usage(&nf_cmd_metrics, stderr);
		return NF_EXIT_USAGE;
	}
	/* Finding nothing is no failure: exit 0 with [] (--json) or no lines, saying on stderr
	 * what there is (a suggestion for a misspelt name). */
	if ((oerr = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0 && oerr != NF_ENOTFOUND) {
		rc = nf_cmd_exit_status(oerr);
		goto done;
	}
	if (run_arg && (!st || (err = nf_cmd_run_resolve(&run_id, &nf_cmd_metrics, st, dir, run_arg)) < 0)) {
		rc = st && err == NF_EINVALID ? NF_EXIT_USAGE : NF_EXIT_FAILED;   /* no runs: none to name */
		goto done;
	}
	if (st && nf_metric_series(st, pipeline, node, name, &pts, &n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (run_id) {   /* --run: that run's points only */
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			if (pts[i].run_id == run_id) {
				pts[k++] = pts[i];
			} else {
				free(pts[i].pipeline);
				free(pts[i].logical_date);
				free(pts[i].node);
				free(pts[i].name);
			}
		}
		n = k;
	}
	if (n == 0) {
		if (st)
			report_empty(st, pipeline, node, name);
		if (nf_cmd_opt.json)
			puts("[]");
		rc = NF_EXIT_OK;
		goto done;
	}
	for (size_t i = 1; i < n && !several; i++)
		several = strcmp(pts[i].pipeline, pts[0].pipeline) != 0;
	if (nf_cmd_opt.json)
		print_json(pts, n);
	else
		print_table(pts, n, several);
	rc = NF_EXIT_OK;
done:
	nf_metric_point_list_free(pts, n);
	nf_store_close(st);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_metrics = {
	.name    = "metrics",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON | NF_CMD_SHARED_RUN,
	.usage   = "metrics [--pipeline P] [--name M] [--node NODE] [--run RUN] [--json] [--state DIR]",
	.summary = "Show metrics across runs, oldest run first (a trend per metric).",
	.help    =
		"Prints one line per run and metric: run id, logical date, node, metric name and\n"
		"value, oldest run first, newest last (a PIPELINE column is added when the lines\n"
		"come from several pipelines). Metrics are what each stage's metrics file held,\n"
		"nested objects flattened to dotted names (eval.auc).\n\n"
		"  --pipeline P  only runs of pipeline P\n"
		"  --name M      only metric M (\"auc\", \"eval.auc\")\n"
		"  --node NODE   only this stage (all its matrix instances) or node (\"tune[lr=0.1]\")\n"
		"  --run RUN     only the metrics of run RUN\n"
		"  --json        a JSON array of {run_id, pipeline, logical_date, started, node, name,\n"
		"                value} (started in UTC, ISO 8601)\n"
		"  --state DIR   the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"                root of the git repository holding the current directory)\n\n"
		"Nothing matched is no failure: exit 0, no lines ([] with --json), and a note on\n"
		"stderr (with a suggestion for a misspelt name).\n",
	.exec    = cmd_metrics_exec,
};

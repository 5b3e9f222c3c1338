/* cmd-runs.c: `ntflow runs`, the runs recorded in the workspace, newest first, as a table,
 * a JSON array or CSV; with --params and --metrics, one row per run with its params and
 * metrics as columns (DVC's `exp show`), sortable by a metric. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/store.h"

/* "0123abc", "0123abc+dirty", or "-" outside git. */
static void
short_commit(char *out, size_t size, const nf_run_info *r)
{
	if (!r->commit || !*r->commit)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%.7s%s", r->commit, r->dirty ? "+dirty" : "");
}

/* How long the run took, or has taken so far; a crashed run's end is unknown. */
static int64_t
run_duration_ms(const nf_run_info *r)
{
	if (r->status == NF_RUN_CRASHED)
		return -1;
	if (r->status == NF_RUN_RUNNING)
		return nf_now_realtime_ms() - r->started_ms;
	return r->finished_ms >= r->started_ms ? r->finished_ms - r->started_ms : -1;
}

static void
add_str_or_null(cJSON *o, const char *name, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, name, s);
	else
		cJSON_AddNullToObject(o, name);
}

/* "0.41 elevated": a run's risk score and tier; "-" when it has none. Caller frees. */
static char *
risk_text(const nf_run_info *r)
{
	if (!r->has_risk)
		return xstrdup("-");
	return r->risk_tier ? xasprintf("%.3g %s", r->risk_score, r->risk_tier) : xasprintf("%.3g", r->risk_score);
}

static void
print_table(const nf_cmp_run *cruns, size_t n)
{
	/* COHORT and RISK only when a run listed has one: listings of pipelines without
	 * cohorts stay as they were. */
	const char *head[10] = { "ID", "PIPELINE", "TRIGGER", "DATE", "COHORT", "COMMIT", "STATUS", "STARTED",
				 "DURATION", "RISK" };
	bool cohorts = false, risks = false;
	size_t nh = 0;
	nf_table *tab;

	for (size_t i = 0; i < n; i++) {
		cohorts |= cruns[i].info.cohort != NULL;
		risks |= cruns[i].info.has_risk;
	}
	for (size_t c = 0; c < NF_ARRAY_SIZE(head); c++)
		if ((c != 4 || cohorts) && (c != 9 || risks))
			head[nh++] = head[c];
	tab = nf_table_new(nh, head);
	nf_table_align_right(tab, 0);   /* the id */
	for (size_t i = 0; i < n; i++) {
		const nf_run_info *r = &cruns[i].info;
		char commit[64], started[32], dur[32] = "-";
		int64_t d = run_duration_ms(r);
		char **row = nf_table_add_row(tab);
		size_t k = 0;

		short_commit(commit, sizeof(commit), r);
		nf_store_fmt_local_time(started, sizeof(started), r->started_ms);
		if (d >= 0)
			nf_format_duration(dur, sizeof(dur), d);
		row[k++] = xasprintf("%lld", (long long)r->id);
		row[k++] = xstrdup(r->pipeline);
		row[k++] = xstrdup(r->trigger);
		row[k++] = xstrdup(r->logical_date && *r->logical_date ? r->logical_date : "-");
		if (cohorts)
			row[k++] = xstrdup(r->cohort ? r->cohort : "-");
		row[k++] = xstrdup(commit);
		row[k++] = xstrdup(nf_run_status_name(r->status));
		row[k++] = xstrdup(started);
		row[k++] = xstrdup(dur);
		if (risks)
			row[k++] = risk_text(r);
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
}

/* The columns of --params and --metrics (ncols 0 and cols NULL: not asked for). */
typedef struct columns {
	bool params, metrics;
	char **pcols, **mcols;
	size_t npcols, nmcols;
} columns;

static void
print_json(const nf_cmp_run *runs, size_t n, const columns *cl)
{
	cJSON *arr = cJSON_CreateArray();
	char *text;

	for (size_t i = 0; i < n; i++) {
		const nf_run_info *r = &runs[i].info;
		cJSON *o = cJSON_CreateObject();
		int64_t d = run_duration_ms(r);

		cJSON_AddNumberToObject(o, "id", (double)r->id);
		cJSON_AddStringToObject(o, "pipeline", r->pipeline);
		cJSON_AddStringToObject(o, "file", r->file);
		cJSON_AddStringToObject(o, "trigger", r->trigger);
		cJSON_AddStringToObject(o, "logical_date", r->logical_date);
		add_str_or_null(o, "interval_start", r->interval_start);
		add_str_or_null(o, "interval_end", r->interval_end);
		add_str_or_null(o, "cohort", r->cohort);
		if (r->has_risk)
			cJSON_AddNumberToObject(o, "risk_score", r->risk_score);
		else
			cJSON_AddNullToObject(o, "risk_score");
		add_str_or_null(o, "risk_tier", r->risk_tier);
		if (r->commit)
			cJSON_AddStringToObject(o, "commit", r->commit);
		else
			cJSON_AddNullToObject(o, "commit");
		cJSON_AddBoolToObject(o, "dirty", r->dirty);
		cJSON_AddStringToObject(o, "status", nf_run_status_name(r->status));
		nf_cmd_json_time(o, "started", r->started_ms);
		nf_cmd_json_time(o, "finished", r->finished_ms);
		nf_cmd_json_time(o, "pruned", r->pruned_ms);
		if (d >= 0 && r->status != NF_RUN_RUNNING)
			cJSON_AddNumberToObject(o, "duration_ms", (double)d);
		else
			cJSON_AddNullToObject(o, "duration_ms");
		cJSON_AddNumberToObject(o, "nodes", r->nnodes);
		cJSON_AddNumberToObject(o, "done", r->ndone);
		if (cl->params) {
			cJSON *p = cJSON_AddObjectToObject(o, "params");

			for (size_t c = 0; c < cl->npcols; c++) {
				const cJSON *v = nf_cmp_param(&runs[i], cl->pcols[c]);

				cJSON_AddItemToObject(p, cl->pcols[c], v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
			}
		}
		if (cl->metrics) {
			cJSON *m = cJSON_AddObjectToObject(o, "metrics");

			for (size_t c = 0; c < cl->nmcols; c++) {
				const double *v = nf_cmp_metric(&runs[i], cl->mcols[c]);

				cJSON_AddItemToObject(m, cl->mcols[c], v && isfinite(*v) ? cJSON_CreateNumber(*v)
										   : cJSON_CreateNull());
			}
		}
		cJSON_AddItemToArray(arr, o);
	}
	text = nf_json_print(arr, true);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(arr);
}

/* A param column's name: its key, or params.KEY when a metric column has the same name. */
static char *
param_head(const columns *cl, const char *key)
{
	for (size_t c = 0; c < cl->nmcols; c++)
		if (strcmp(cl->mcols[c], key) == 0)
			return xasprintf("params.%s", key);
	return xstrdup(key);
}

/* The cells of one run: id, pipeline, status, commit, then its params and metrics (brief
 * numbers for the table, full ones for CSV); "-" or "" for what it lacks. */
static char **
compare_cells(const nf_cmp_run *r, const columns *cl, bool brief)
{
	size_t nc = 4 + cl->npcols + cl->nmcols, k = 0;
	char **cells = xcalloc(nc + 1, sizeof(*cells)), commit[64];

	short_commit(commit, sizeof(commit), &r->info);
	cells[k++] = xasprintf("%lld", (long long)r->info.id);
	cells[k++] = xstrdup(r->info.pipeline);
	cells[k++] = xstrdup(nf_run_status_name(r->info.status));
	cells[k++] = xstrdup(brief ? commit : r->info.commit ? r->info.commit : "");
	for (size_t c = 0; c < cl->npcols; c++) {
		const cJSON *v = nf_cmp_param(r, cl->pcols[c]);

		cells[k++] = !v && !brief ? xstrdup("") : nf_cmp_param_text(v);
	}
	for (size_t c = 0; c < cl->nmcols; c++) {
		const double *v = nf_cmp_metric(r, cl->mcols[c]);

		cells[k++] = v ? nf_cmp_number_text(*v, brief) : xstrdup(brief ? "-" : "");
	}
	return cells;
}

static void
print_compare_table(const nf_cmp_run *runs, size_t n, const columns *cl)
{
	size_t nc = 4 + cl->npcols + cl->nmcols, k = 0;
	char **head = xcalloc(nc, sizeof(*head));
	nf_table *tab;

	head[k++] = xstrdup("ID");
	head[k++] = xstrdup("PIPELINE");
	head[k++] = xstrdup("STATUS");
	head[k++] = xstrdup("COMMIT");
	for (size_t c = 0; c < cl->npcols; c++)
		head[k++] = param_head(cl, cl->pcols[c]);
	for (size_t c = 0; c < cl->nmcols; c++)
		head[k++] = xstrdup(cl->mcols[c]);
	tab = nf_table_new(nc, (const char *const *)head);
	nf_table_align_right(tab, 0);
	for (size_t c = 0; c < cl->nmcols; c++)
		nf_table_align_right(tab, 4 + cl->npcols + c);
	for (size_t i = 0; i < n; i++) {
		char **cells = compare_cells(&runs[i], cl, true), **row = nf_table_add_row(tab);

		for (size_t c = 0; c < nc; c++)
			row[c] = cells[c];
		free(cells);
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
	for (size_t c = 0; c < nc; c++)
		free(head[c]);
	free(head);
}

static void
print_csv(const nf_cmp_run *runs, size_t n, const columns *cl)
{
	size_t nc = 4 + cl->npcols + cl->nmcols;
	nf_buf b = NF_BUF_INIT;

	nf_buf_puts(&b, "id,pipeline,status,commit");
	for (size_t c = 0; c < cl->npcols; c++) {
		char *h = param_head(cl, cl->pcols[c]);

		nf_buf_putc(&b, ',');
		nf_cmp_csv_field(&b, h);
		free(h);
	}
	for (size_t c = 0; c < cl->nmcols; c++) {
		nf_buf_putc(&b, ',');
		nf_cmp_csv_field(&b, cl->mcols[c]);
	}
	nf_buf_puts(&b, "\r\n");
	for (size_t i = 0; i < n; i++) {
		char **cells = compare_cells(&runs[i], cl, false);

		for (size_t c = 0; c < nc; c++) {
			if (c)
				nf_buf_putc(&b, ',');
			nf_cmp_csv_field(&b, cells[c]);
			free(cells[c]);
		}
		free(cells);
		nf_buf_puts(&b, "\r\n");
	}
	fputs(nf_buf_cstr(&b), stdout);
	nf_buf_release(&b);
}

/* --sort-by: a metric column (largest first) or a param (smallest first, numbers by value);
 * runs without it last; equal ones keep their order (newest first). */
typedef struct sort_key {
	const nf_cmp_run *run;
	size_t pos;
	bool has;
	bool is_num;
	double num;
	const char *text;
} sort_key;
static bool sort_descending;

static int
sort_cmp(const void *pa, const void *pb)
{
	const sort_key *a = pa, *b = pb;
	int c = 0;

	if (a->has != b->has)
		return a->has ? -1 : 1;
	if (a->has && a->is_num && b->is_num)
		c = a->num < b->num ? -1 : a->num > b->num ? 1 : 0;
	else if (a->has)
		c = a->is_num != b->is_num ? (a->is_num ? -1 : 1) : strcmp(a->text, b->text);
	if (sort_descending)
		c = -c;
	return c ? c : a->pos < b->pos ? -1 : 1;
}

/* Finds what name sorts by among the runs: a metric column (equal, or the only NODE.NAME),
 * else a param key. */
static int
sort_runs(nf_cmp_run *runs, size_t n, const char *name)
{
	char **mcols = NULL, **pcols = NULL;
	size_t nm = 0, np = 0;
	const char *col = NULL;
	bool metric = false;
	sort_key *keys;
	nf_cmp_run *sorted;
	int err = 0;

	nf_cmp_metric_columns(runs, n, &name, 1, &mcols, &nm);
	nf_cmp_param_columns(runs, n, &name, 1, &pcols, &np);
	for (size_t c = 0; c < nm && !col; c++)
		if (strcmp(mcols[c], name) == 0)
			col = mcols[c];
	if (!col && nm == 1 && strcmp(mcols[0], name) != 0)
		col = mcols[0];
	if (col) {
		/* The column named name itself exists only when some run has it. */
		bool any = false;

		for (size_t i = 0; i < n && !any; i++)
			any = nf_cmp_metric(&runs[i], col) != NULL;
		metric = any;
		if (!any)
			col = NULL;
	} else if (nm > 1) {
		err = nf_error_set(NF_EINVALID, "--sort-by %s: several stages give it; name one of %s, %s%s", name,
				   mcols[0], mcols[1], nm > 2 ? ", ..." : "");
		goto done;
	}
	if (!col) {
		for (size_t i = 0; i < n && !col; i++)
			if (nf_cmp_param(&runs[i], name))
				col = name;
		if (!col) {
			err = nf_error_set(NF_ENOTFOUND, "--sort-by %s: no run listed has a metric or param '%s'", name, name);
			goto done;
		}
	}
	keys = xcalloc(n ? n : 1, sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		keys[i].run = &runs[i];
		keys[i].pos = i;
		if (metric) {
			const double *v = nf_cmp_metric(&runs[i], col);

			keys[i].has = v && !isnan(*v);
			keys[i].is_num = true;
			keys[i].num = v ? *v : 0;
		} else {
			const cJSON *v = nf_cmp_param(&runs[i], col);

			keys[i].has = v != NULL;
			keys[i].is_num = cJSON_IsNumber(v);
			keys[i].num = keys[i].is_num ? v->valuedouble : 0;
			keys[i].text = cJSON_IsString(v) ? v->valuestring : "";
		}
	}
	sort_descending = metric;
	qsort(keys, n, sizeof(*keys), sort_cmp);
	sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	for (size_t i = 0; i < n; i++)
		sorted[i] = *keys[i].run;
	memcpy(runs, sorted, n * sizeof(*runs));
	free(sorted);
	free(keys);
done:
	nf_cmp_columns_free(mcols, nm);
	nf_cmp_columns_free(pcols, np);
	return err;
}

/* "a,b,,c" -> {"a","b","c"} (into one allocation *buf); NULL for NULL. */
static const char **
split_list(const char *arg, char **buf, size_t *n)
{
	const char **items = NULL;
	size_t cap = 0;

	*n = 0;
	*buf = NULL;
	if (!arg)
		return NULL;
	*buf = xstrdup(arg);
	for (char *save = NULL, *tok = strtok_r(*buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		NF_PUSH(items, *n, cap, (const char *)tok);
	if (!items)
		items = xcalloc(1, sizeof(*items));
	return items;
}

enum { OPT_PARAMS = 0x100, OPT_METRICS, OPT_SORT_BY, OPT_CSV, OPT_PIPELINE };

/* getopt_long takes an optional argument only as --params=K; runs has no operands, so a
 * word after --params or --metrics that is not an option is its value: joined into one. */
static char **
join_optional_values(int argc, char **argv)
{
	char **out = xcalloc((size_t)argc + 1, sizeof(*out));
	int k = 0;

	for (int i = 0; i < argc; i++) {
		bool opt = strcmp(argv[i], "--params") == 0 || strcmp(argv[i], "--metrics") == 0;

		if (i > 0 && strcmp(argv[i], "--") == 0) {   /* no options after it */
			while (i < argc)
				out[k++] = xstrdup(argv[i++]);
			break;
		}
		if (i > 0 && opt && i + 1 < argc && argv[i + 1][0] != '-') {
			out[k++] = xasprintf("%s=%s", argv[i], argv[i + 1]);
			i++;
		} else {
			out[k++] = xstrdup(argv[i]);
		}
	}
	out[k] = NULL;
	return out;
}

static int
cmd_runs_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "limit", required_argument, NULL, 'L' },
		{ "params", optional_argument, NULL, OPT_PARAMS },
		{ "metrics", optional_argument, NULL, OPT_METRICS },
		{ "sort-by", required_argument, NULL, OPT_SORT_BY },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "pipeline", required_argument, NULL, OPT_PIPELINE },
		{ NULL, 0, NULL, 0 },
	};
	nf_store *st = NULL;
	char *dir = NULL, *end, *pbuf = NULL, *mbuf = NULL, **args;
	const char *parg = NULL, *marg = NULL, *sort_by = NULL, *pipeline = NULL, **ppick = NULL, **mpick = NULL;
	nf_run_info *list = NULL;
	nf_cmp_run *runs = NULL;
	columns cl = { 0 };
	size_t n = 0, nargs = 0, npp = 0, nmp = 0;
	long limit = 0;
	bool csv = false;
	int c, oerr, rc = NF_EXIT_FAILED;

	args = join_optional_values(argc, argv);
	while (args[nargs])
		nargs++;
	while ((c = nf_cmd_getopt(&nf_cmd_runs, (int)nargs, args, "n:", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP:
			rc = NF_EXIT_OK;
			goto done;
		case 'n':
		case 'L':
			if (c == 'n')
				nf_cmd_deprecated_short(&nf_cmd_runs, 'n', "--limit");
			errno = 0;
			limit = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || limit < 1 || limit > 1000000000) {
				nf_cmd_eprintf("ntflow runs: --limit needs a positive number, not '%s'\n", optarg);
				rc = NF_EXIT_USAGE;
				goto done;
			}
			break;
		case OPT_PARAMS:
			cl.params = true;
			parg = optarg;
			break;
		case OPT_METRICS:
			cl.metrics = true;
			marg = optarg;
			break;
		case OPT_SORT_BY:
			sort_by = optarg;
			break;
		case OPT_CSV:
			csv = true;
			break;
		case OPT_PIPELINE:
			pipeline = optarg;
			break;
		default:
			rc = NF_EXIT_USAGE;
			goto done;
		}
	}
	if (optind < (int)nargs) {
		nf_cmd_eprintf("ntflow runs: unexpected argument '%s'\n", args[optind]);
		nf_cmd_usage(&nf_cmd_runs, stderr);
		rc = NF_EXIT_USAGE;
		goto done;
	}
	if (csv && nf_cmd_opt.json) {
		nf_cmd_eprintf("ntflow runs: --csv and --json exclude each other\n");
		nf_cmd_usage(&nf_cmd_runs, stderr);
		rc = NF_EXIT_USAGE;
		goto done;
	}
	/* Finding nothing is no failure: no workspace yet or no run listed exits 0 with an
	 * empty list ([] with --json, the header with --csv) and says so on stderr. */
	if ((oerr = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0 && oerr != NF_ENOTFOUND) {
		rc = nf_cmd_exit_status(oerr);
		goto done;
	}
	if (st && nf_store_run_list_of(st, pipeline, (int)limit, &list, &n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (n == 0) {
		if (st && pipeline)
			nf_cmd_error("no runs of pipeline '%s' in %s", pipeline, dir);
		else if (st)
			nf_cmd_error("no runs yet in %s", dir);
		if (nf_cmd_opt.json)
			puts("[]");
		else if (csv)
			print_csv(NULL, 0, &cl);
		rc = NF_EXIT_OK;
		goto done;
	}
	runs = xcalloc(n, sizeof(*runs));
	for (size_t i = 0; i < n; i++) {
		runs[i].info = list[i];   /* taken over: freed with runs */
		list[i] = (nf_run_info){ 0 };
	}
	if (nf_cmp_runs_load(st, runs, n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (sort_by && sort_runs(runs, n, sort_by) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	ppick = split_list(parg, &pbuf, &npp);
	mpick = split_list(marg, &mbuf, &nmp);
	if (cl.metrics)
		nf_cmp_metric_columns(runs, n, mpick, nmp, &cl.mcols, &cl.nmcols);
	if (cl.params)
		nf_cmp_param_columns(runs, n, ppick, npp, &cl.pcols, &cl.npcols);
	if (nf_cmd_opt.json)
		print_json(runs, n, &cl);
	else if (csv)
		print_csv(runs, n, &cl);
	else if (cl.params || cl.metrics)
		print_compare_table(runs, n, &cl);
	else
		print_table(runs, n);
	rc = NF_EXIT_OK;
done:
	for (size_t i = 0; runs && i < n; i++)
		nf_cmp_run_release(&runs[i]);
	free(runs);
	nf_run_info_list_free(list, n);
	nf_cmp_columns_free(cl.pcols, cl.npcols);
	nf_cmp_columns_free(cl.mcols, cl.nmcols);
	free(ppick);
	free(mpick);
	free(pbuf);
	free(mbuf);
	nf_store_close(st);
	free(dir);
	for (size_t i = 0; i < nargs; i++)
		free(args[i]);
	free(args);
	return rc;
}

const nf_cmd nf_cmd_runs = {
	.name    = "runs",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage   = "runs [--params [KEY,...]] [--metrics [METRIC,...]] [--sort-by NAME] [--json | --csv]\n"
		   "            [--pipeline NAME] [--limit N] [--state DIR]",
	.summary = "List the recorded runs, newest first.",
	.help    =
		"Prints one line per run: id, pipeline, trigger, logical date (the day of the\n"
		"interval the run stands for, in the pipeline's time zone), commit (7 characters,\n"
		"+dirty when the tree had changes, - outside git), status, start (local time) and\n"
		"duration.\n\n"
		"With --params or --metrics (DVC's exp show) the line is the run's id, pipeline,\n"
		"status and commit, then a column per param and per metric. Params are the values\n"
		"the run used (its recorded params, overrides included); metrics are those every\n"
		"stage of the run recorded (a cached stage's are its reused result's): a metric\n"
		"given by one stage only is named METRIC, one that several stages (or matrix\n"
		"instances) give is named STAGE.METRIC, STAGE the node's name. A param whose key is\n"
		"also a metric's column is headed params.KEY. A run without a value shows -.\n\n"
		"  --params[=KEY,...]    the params as columns: all, or the keys named (a section\n"
		"                        such as train names every train.* key)\n"
		"  --metrics[=NAME,...]  the metrics as columns: all, or those named (NAME picks\n"
		"                        METRIC and every STAGE.METRIC column)\n"
		"                        (the value may also follow as the next word)\n"
		"  --sort-by NAME        order by a metric, largest first, or else by a param,\n"
		"                        smallest first; runs without it last, ties newest first\n"
		"  --json                a JSON array of runs (times in UTC, ISO 8601), each with its\n"
		"                        logical_date, interval_start and interval_end, and with\n"
		"                        params and metrics objects when asked for (null: none)\n"
		"  --csv                 the same columns as CSV (RFC 4180: CRLF line ends, fields\n"
		"                        with a comma, quote or line break quoted), full precision\n"
		"  --pipeline NAME       only the runs of that pipeline\n"
		"      --limit N         only the newest N runs\n"
		"  --state DIR           the state directory (default: $NTFLOW_STATE, else .ntflow/ at\n"
		"                        the root of the git repository holding the current directory)\n",
	.exec    = cmd_runs_exec,
};

/* cmd-runs.c: `ntflow runs`, the runs recorded in the workspace, newest first, as a table
 * or as a JSON array. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
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

static void
print_table(const nf_run_info *runs, size_t n)
{
	static const char *const head[] = {
		"ID", "PIPELINE", "TRIGGER", "DATE", "COMMIT", "STATUS", "STARTED", "DURATION",
	};
	nf_table *tab = nf_table_new(NF_ARRAY_SIZE(head), head);

	nf_table_align_right(tab, 0);   /* the id */
	for (size_t i = 0; i < n; i++) {
		const nf_run_info *r = &runs[i];
		char commit[64], started[32], dur[32] = "-";
		int64_t d = run_duration_ms(r);
		char **row = nf_table_add_row(tab);

		short_commit(commit, sizeof(commit), r);
		nf_store_fmt_local_time(started, sizeof(started), r->started_ms);
		if (d >= 0)
			nf_format_duration(dur, sizeof(dur), d);
		row[0] = xasprintf("%lld", (long long)r->id);
		row[1] = xstrdup(r->pipeline);
		row[2] = xstrdup(r->trigger);
		row[3] = xstrdup(r->logical_date && *r->logical_date ? r->logical_date : "-");
		row[4] = xstrdup(commit);
		row[5] = xstrdup(nf_run_status_name(r->status));
		row[6] = xstrdup(started);
		row[7] = xstrdup(dur);
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
}

static void
print_json(const nf_run_info *runs, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *text;

	for (size_t i = 0; i < n; i++) {
		const nf_run_info *r = &runs[i];
		cJSON *o = cJSON_CreateObject();
		int64_t d = run_duration_ms(r);

		cJSON_AddNumberToObject(o, "id", (double)r->id);
		cJSON_AddStringToObject(o, "pipeline", r->pipeline);
		cJSON_AddStringToObject(o, "file", r->file);
		cJSON_AddStringToObject(o, "trigger", r->trigger);
		cJSON_AddStringToObject(o, "logical_date", r->logical_date);
		add_str_or_null(o, "interval_start", r->interval_start);
		add_str_or_null(o, "interval_end", r->interval_end);
		if (r->commit)
			cJSON_AddStringToObject(o, "commit", r->commit);
		else
			cJSON_AddNullToObject(o, "commit");
		cJSON_AddBoolToObject(o, "dirty", r->dirty);
		cJSON_AddStringToObject(o, "status", nf_run_status_name(r->status));
		nf_cmd_json_time(o, "started", r->started_ms);
		nf_cmd_json_time(o, "finished", r->finished_ms);
		if (d >= 0 && r->status != NF_RUN_RUNNING)
			cJSON_AddNumberToObject(o, "duration_ms", (double)d);
		else
			cJSON_AddNullToObject(o, "duration_ms");
		cJSON_AddNumberToObject(o, "nodes", r->nnodes);
		cJSON_AddNumberToObject(o, "done", r->ndone);
		cJSON_AddItemToArray(arr, o);
	}
	text = nf_json_print(arr, true);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(arr);
}

static int
cmd_runs_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	nf_store *st = NULL;
	char *dir = NULL, *end;
	nf_run_info *runs = NULL;
	size_t n = 0;
	long limit = 0;
	int c, oerr, rc = NF_EXIT_FAILED;

	while ((c = nf_cmd_getopt(&nf_cmd_runs, argc, argv, "n:", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		case 'n':
			errno = 0;
			limit = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || limit < 1 || limit > 1000000000) {
				fprintf(stderr, "ntflow runs: --limit needs a positive number, not '%s'\n", optarg);
				return NF_EXIT_USAGE;
			}
			break;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ntflow runs: unexpected argument '%s'\n", argv[optind]);
		nf_cmd_usage(&nf_cmd_runs, stderr);
		return NF_EXIT_USAGE;
	}
	if ((oerr = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(oerr);
		goto done;
	}
	if (nf_store_run_list(st, (int)limit, &runs, &n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (n == 0) {
		nf_cmd_error("no runs yet in %s", dir);
		goto done;
	}
	if (nf_cmd_opt.json)
		print_json(runs, n);
	else
		print_table(runs, n);
	rc = NF_EXIT_OK;
done:
	nf_run_info_list_free(runs, n);
	nf_store_close(st);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_runs = {
	.name    = "runs",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage   = "runs [--json] [--limit N] [--state DIR]",
	.summary = "List the recorded runs, newest first.",
	.help    =
		"Prints one line per run: id, pipeline, trigger, logical date (the day of the\n"
		"interval the run stands for, in the pipeline's time zone), commit (7 characters,\n"
		"+dirty when the tree had changes, - outside git), status, start (local time) and\n"
		"duration.\n\n"
		"  --json         a JSON array of runs (times in UTC, ISO 8601), each with its\n"
		"                 logical_date, interval_start and interval_end\n"
		"  -n, --limit N  only the newest N runs\n"
		"  --state DIR    the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"                 root of the git repository holding the current directory)\n",
	.exec    = cmd_runs_exec,
};

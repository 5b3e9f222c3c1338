/* cmd-violations.c: `ntflow violations`, the failed gate criteria recorded as violations
 * (type, severity, the two sides, run, cohort, model version), by logical date, filtered by
 * cohort, pipeline and date, as a table or JSON; and the violations of one run as `ntflow
 * show` prints them. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"
#include "ntflow/store.h"

/* "0.2 vs 0.08", or what is known of it. Caller frees. */
static char *
sides_text(const nf_violation *v)
{
	if (v->has_value && v->has_threshold)
		return xasprintf("%g vs %g", v->value, v->threshold);
	if (v->has_value)
		return xasprintf("%g", v->value);
	return xstrdup("-");
}

void
nf_show_violations_text(const nf_violation *vs, size_t n)
{
	size_t wtype = 0, wexpr = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (strlen(vs[i].type) > wtype)
			wtype = strlen(vs[i].type);
		if (strlen(vs[i].expr) > wexpr)
			wexpr = strlen(vs[i].expr);
	}
	printf("\nviolations%s%s\n", vs[0].cohort ? " in cohort " : "", vs[0].cohort ? vs[0].cohort : "");
	for (size_t i = 0; i < n; i++) {
		char *sides = sides_text(&vs[i]);

		printf("  %-*s  %-6s  %-*s  %s  (gate %s)\n", (int)wtype, vs[i].type, nf_severity_name(vs[i].severity),
		       (int)wexpr, vs[i].expr, sides, vs[i].gate);
		free(sides);
	}
}

cJSON *
nf_violation_json(const nf_violation *v)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)v->id);
	cJSON_AddNumberToObject(o, "run_id", (double)v->run_id);
	cJSON_AddStringToObject(o, "pipeline", v->pipeline);
	if (v->cohort)
		cJSON_AddStringToObject(o, "cohort", v->cohort);
	else
		cJSON_AddNullToObject(o, "cohort");
	cJSON_AddStringToObject(o, "logical_date", v->logical_date ? v->logical_date : "");
	cJSON_AddStringToObject(o, "gate", v->gate);
	cJSON_AddNumberToObject(o, "criterion", v->idx);
	cJSON_AddStringToObject(o, "expr", v->expr);
	cJSON_AddStringToObject(o, "type", v->type);
	cJSON_AddStringToObject(o, "severity", nf_severity_name(v->severity));
	if (v->has_value)
		cJSON_AddNumberToObject(o, "value", v->value);
	else
		cJSON_AddNullToObject(o, "value");
	if (v->has_threshold)
		cJSON_AddNumberToObject(o, "threshold", v->threshold);
	else
		cJSON_AddNullToObject(o, "threshold");
	if (v->model) {
		cJSON_AddStringToObject(o, "model", v->model);
		cJSON_AddNumberToObject(o, "version", v->version);
	} else {
		cJSON_AddNullToObject(o, "model");
		cJSON_AddNullToObject(o, "version");
	}
	nf_cmd_json_time(o, "created", v->created_ms);
	return o;
}

static void
print_table(const nf_violation *vs, size_t n)
{
	static const char *const head[] = {
		"RUN", "DATE", "COHORT", "PIPELINE", "GATE", "TYPE", "SEVERITY", "CRITERION", "VALUE", "THRESHOLD", "MODEL",
	};
	nf_table *tab = nf_table_new(NF_ARRAY_SIZE(head), head);

	nf_table_align_right(tab, 0);
	nf_table_align_right(tab, 8);
	nf_table_align_right(tab, 9);
	for (size_t i = 0; i < n; i++) {
		const nf_violation *v = &vs[i];
		char **row = nf_table_add_row(tab);

		row[0] = xasprintf("%lld", (long long)v->run_id);
		row[1] = xstrdup(v->logical_date && *v->logical_date ? v->logical_date : "-");
		row[2] = xstrdup(v->cohort ? v->cohort : "-");
		row[3] = xstrdup(v->pipeline);
		row[4] = xstrdup(v->gate);
		row[5] = xstrdup(v->type);
		row[6] = xstrdup(nf_severity_name(v->severity));
		row[7] = xstrdup(v->expr);
		row[8] = v->has_value ? xasprintf("%g", v->value) : xstrdup("-");
		row[9] = v->has_threshold ? xasprintf("%g", v->threshold) : xstrdup("-");
		row[10] = v->model ? xasprintf("%s v%d", v->model, v->version) : xstrdup("-");
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
}

static int
cmd_violations_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cohort", required_argument, NULL, 'c' },
		{ "since", required_argument, NULL, 's' },
		{ "pipeline", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	nf_violation_filter f = { 0 };
	nf_store *st = NULL;
	nf_violation *vs = NULL;
	size_t n = 0;
	char *dir = NULL;
	int c, err, rc = NF_EXIT_USAGE;

	while ((c = nf_cmd_getopt(&nf_cmd_violations, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP: return NF_EXIT_OK;
		case 'c': f.cohort = optarg; break;
		case 'P': f.pipeline = optarg; break;
		case 's':
			if (!nf_date_ok(optarg)) {   /* the check report drift --from makes */
				nf_cmd_error("violations: --since '%s': expected a date, YYYY-MM-DD", optarg);
				return NF_EXIT_USAGE;
			}
			f.from = optarg;
			break;
		default: return NF_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		nf_cmd_eprintf("ntflow violations: unexpected argument '%s'\n", argv[optind]);
		nf_cmd_usage(&nf_cmd_violations, stderr);
		return NF_EXIT_USAGE;
	}
	rc = NF_EXIT_FAILED;
	if ((err = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	if (nf_store_violation_list(st, &f, &vs, &n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (nf_cmd_opt.json) {
		cJSON *arr = cJSON_CreateArray();
		char *text;

		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, nf_violation_json(&vs[i]));
		text = nf_json_print(arr, true);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(arr);
	} else if (n == 0) {
		printf("no violations\n");
	} else {
		print_table(vs, n);
	}
	rc = NF_EXIT_OK;
done:
	nf_violation_list_free(vs, n);
	nf_store_close(st);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_violations = {
	.name    = "violations",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage   = "violations [--cohort ID] [--since DATE] [--pipeline NAME] [--json] [--state DIR]",
	.summary = "List the gate criteria that failed, as typed violations by cohort.",
	.help    =
		"Each criterion of a gate that fails in a run is a violation: its type (a criterion\n"
		"block's violation, else the gate's name), its severity (high when the block's\n"
		"severe_when holds, else medium), the criterion and its two sides, the run, its\n"
		"cohort and the model version the run registered (see ntflow-dag(5), VIOLATIONS\n"
		"AND RISK). One line per violation, oldest logical date first.\n\n"
		"  --cohort ID        only the violations of runs in cohort ID\n"
		"  --since DATE       only those of runs whose logical date (${run.date}) is DATE\n"
		"                     (YYYY-MM-DD) or later\n"
		"  --pipeline NAME    only those of pipeline NAME\n"
		"  --json             a JSON array of violations (times in UTC, ISO 8601)\n"
		"  --state DIR        the state directory (default: $NTFLOW_STATE, else .ntflow/ at\n"
		"                     the root of the git repository holding the current directory)\n",
	.exec    = cmd_violations_exec,
};

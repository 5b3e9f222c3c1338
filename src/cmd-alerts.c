/* cmd-alerts.c: `ntflow alerts`, the drift alerts monitors raised (all, or the open ones),
 * as a table or JSON; and `ntflow alerts ack ID`, which acknowledges one. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"
#include "ntflow/store.h"

static char *
status_text(const nf_alert *a)
{
	if (!a->acked_ms)
		return xstrdup(a->triggered ? "open (run requested)" : "open");
	if (a->ack_note && *a->ack_note)
		return xasprintf("acked by %s: %s", a->ack_by ? a->ack_by : "?", a->ack_note);
	return xasprintf("acked by %s", a->ack_by ? a->ack_by : "?");
}

static void
print_table(const nf_alert *as, size_t n)
{
	static const char *const head[] = {
		"ID", "RUN", "PIPELINE", "MONITOR", "RULE", "SEVERITY", "WHAT", "COUNT", "CREATED", "LAST-SEEN",
		"STATUS",
	};
	nf_table *tab = nf_table_new(NF_ARRAY_SIZE(head), head);

	nf_table_align_right(tab, 0);   /* ids */
	nf_table_align_right(tab, 1);
	nf_table_align_right(tab, 7);
	for (size_t i = 0; i < n; i++) {
		const nf_alert *a = &as[i];
		char **row = nf_table_add_row(tab), t[32];

		row[0] = xasprintf("%lld", (long long)a->id);
		row[1] = xasprintf("%lld", (long long)a->run_id);
		row[2] = xstrdup(a->pipeline);
		row[3] = xstrdup(a->monitor);
		row[4] = xstrdup(a->rule);
		row[5] = xstrdup(nf_severity_name(a->severity));
		row[6] = xstrdup(a->summary && *a->summary ? a->summary : a->expr);
		row[7] = xasprintf("%lld", (long long)a->count);
		nf_store_fmt_local_time(t, sizeof(t), a->created_ms);
		row[8] = xstrdup(t);
		/* the last run that raised it and when; "-" while only the first did */
		if (a->count > 1) {
			nf_store_fmt_local_time(t, sizeof(t), a->last_seen_ms);
			row[9] = xasprintf("%s (run %lld)", t, (long long)a->last_run_id);
		} else {
			row[9] = xstrdup("-");
		}
		row[10] = status_text(a);
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
}

static void
print_json(const nf_alert *as, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *text;

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, nf_alert_json(&as[i], true));
	text = nf_json_print(arr, true);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(arr);
}

static int
alerts_ack(nf_store *st, const char *arg, const char *note)
{
	char *end, *actor;
	long long id;
	int err;

	errno = 0;
	id = strtoll(arg, &end, 10);
	if (errno || *end || end == arg || id < 1) {
		nf_cmd_eprintf("ntflow alerts: '%s' is not an alert id\n", arg);
		return NF_EXIT_USAGE;
	}
	actor = nf_registry_actor();
	err = nf_alert_ack(st, id, note, actor);
	free(actor);
	if (err < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	printf("alert %lld acknowledged\n", id);
	return NF_EXIT_OK;
}

static int
cmd_alerts_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "open",  no_argument,       NULL, 'o' },
		{ "note",  required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *note = NULL;
	nf_store *st = NULL;
	nf_alert *as = NULL;
	size_t n = 0;
	char *dir = NULL;
	bool open_only = false, ack;
	int c, oerr, rc = NF_EXIT_USAGE;

	while ((c = nf_cmd_getopt(&nf_cmd_alerts, argc, argv, "m:", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP: return NF_EXIT_OK;
		case 'o': open_only = true; break;
		case 'm': note = optarg; break;
		default: return NF_EXIT_USAGE;
		}
	}
	ack = optind < argc && strcmp(argv[optind], "ack") == 0;
	if (optind < argc && !ack) {
		const char *subs[] = { "ack" };
		const char *hint = nf_suggest(argv[optind], subs, 1);

		if (hint)
			nf_cmd_eprintf("ntflow alerts: no subcommand '%s'; did you mean '%s'?\n", argv[optind], hint);
		else
			nf_cmd_eprintf("ntflow alerts: unexpected argument '%s'\n", argv[optind]);
		nf_cmd_usage(&nf_cmd_alerts, stderr);
		return NF_EXIT_USAGE;
	}
	if (ack && argc - optind != 2) {
		nf_cmd_eprintf("ntflow alerts: %s\n", argc - optind < 2 ? "ack: which alert? (ntflow alerts ack ID)"
			: "ack: one alert at a time");
		nf_cmd_usage(&nf_cmd_alerts, stderr);
		return NF_EXIT_USAGE;
	}
	if (ack && (nf_cmd_opt.json || open_only)) {
		nf_cmd_eprintf("ntflow alerts: --json and --open go with the listing, not with 'ack'\n");
		return NF_EXIT_USAGE;
	}
	if (!ack && note) {
		nf_cmd_eprintf("ntflow alerts: --note goes with 'alerts ack ID'\n");
		return NF_EXIT_USAGE;
	}
	rc = NF_EXIT_FAILED;
	if ((oerr = ack ? nf_cmd_open_store_rw(&st, &dir, nf_cmd_opt.state) : nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(oerr);
		goto done;
	}
	if (ack) {
		rc = alerts_ack(st, argv[optind + 1], note);
		goto done;
	}
	if (nf_alert_list(st, open_only, &as, &n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (nf_cmd_opt.json)
		print_json(as, n);
	else if (n == 0)
		printf("no %salerts\n", open_only ? "open " : "");
	else
		print_table(as, n);
	rc = NF_EXIT_OK;
done:
	nf_alert_list_free(as, n);
	nf_store_close(st);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_alerts = {
	.name    = "alerts",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage   = "alerts [--open] [--json] [--state DIR]\n"
		   "   or: ntflow alerts ack ID [--note TEXT] [--state DIR]",
	.summary = "List the drift alerts monitors raised, or acknowledge one.",
	.help    =
		"A monitor's alert rule that fires records an alert: its pipeline, run, monitor,\n"
		"rule, severity, the metric values it read and the threshold. A monitor whose\n"
		"on_alert severity the alert reaches also asks the scheduler for a run (\"run\n"
		"requested\"). An alert is identified by its monitor, rule, severity and the data\n"
		"it was computed on (the monitor's cache key): a later run that raises it again (a\n"
		"cached rerun) adds to its count, open or acknowledged, and requests no run; new\n"
		"data makes a new alert.\n\n"
		"  (no subcommand)  one line per alert, oldest first: id, the run that raised it\n"
		"                   first, pipeline, monitor, rule, severity, what crossed what,\n"
		"                   how many runs raised it, when first, when last (and by which\n"
		"                   run), and open or who acknowledged it\n"
		"    --open         only alerts not acknowledged yet\n"
		"    --json         a JSON array of alerts (times in UTC, ISO 8601)\n"
		"  ack ID           acknowledge alert ID (recorded in the audit log with who did it:\n"
		"                   $USER); exit status 1 when there is no such alert or it was\n"
		"                   acknowledged already\n"
		"    -m, --note TEXT  why, or what was done about it\n"
		"  --state DIR      the state directory (default: $NTFLOW_STATE, else .ntflow/ at\n"
		"                   the root of the git repository holding the current directory)\n",
	.exec    = cmd_alerts_exec,
};

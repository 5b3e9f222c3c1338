/* cmd-scheduler.c: `ntflow scheduler`, the daemon that starts scheduled runs, and
 * `ntflow scheduler --status`, what it did last and will do next for each pipeline. */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/gov.h"
#include "ntflow/sched.h"
#include "ntflow/store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct option scheduler_options[] = {
	{ "status", no_argument, NULL, 's' },
	{ "log", required_argument, NULL, 'l' },
	{ "cancel-on-exit", no_argument, NULL, 'c' },
	{ "textfile", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

/* "2026-11-23 fired: run 12 succeeded" for the newest decision that started a run. */
static char *
last_text(nf_store *st, const nf_schedule_event *ev, const char **status_out)
{
	nf_run_info run;
	char when[32];
	int64_t run_id;

	*status_out = NULL;
	nf_time_format_utc(when, ev->interval_end ? ev->interval_start : ev->time);
	nf_sched_event_run(st, ev, &run_id);
	if (run_id && nf_store_run_get(st, run_id, &run) == 0) {
		char *s;

		*status_out = nf_run_status_name(run.status);
		s = xasprintf("%s %s: run %lld %s", when, ev->decision, (long long)run_id, *status_out);
		nf_run_info_release(&run);
		return s;
	}
	nf_error_clear();
	if (ev->exit_status >= 0)
		return xasprintf("%s %s: exited %d before recording a run", when, ev->decision, ev->exit_status);
	if (ev->exit_status == -2)
		return xasprintf("%s %s: its process (pid %ld) ended without its scheduler, without a run recorded",
				 when, ev->decision, (long)ev->pid);
	if (ev->pid > 0 && kill(ev->pid, 0) < 0 && errno == ESRCH)
		return xasprintf("%s %s: its process (pid %ld) is gone, without a run recorded", when, ev->decision,
				 (long)ev->pid);
	return xasprintf("%s %s: starting (pid %ld)", when, ev->decision, (long)ev->pid);
}

static const char *const run_decisions[] = { "fired", "caught-up", "refired", "alert" };

/* The newest decision of p that started a run (*ev, NF_ENOTFOUND when none yet). */
static int
last_run_event(nf_store *st, const char *pipeline, nf_schedule_event *out)
{
	int err = NF_ENOTFOUND;

	*out = (nf_schedule_event){ 0 };
	for (size_t k = 0; k < NF_ARRAY_SIZE(run_decisions); k++) {
		nf_schedule_event *one = NULL;
		size_t m = 0;

		if (nf_store_schedule_events(st, pipeline, run_decisions[k], 1, &one, &m) < 0)
			return NF_ERROR;
		if (m && (err == NF_ENOTFOUND || one[0].id > out->id)) {
			nf_schedule_event_release(out);
			*out = one[0];
			one[0] = (nf_schedule_event){ 0 };
			err = 0;
		}
		nf_schedule_event_list_free(one, m);
	}
	return err;
}

int
nf_scheduler_status(const char *dag_path, const char *state, bool json)
{
	static const char *const head[] = { "PIPELINE", "SCHEDULE", "LAST RUN", "NEXT", "ON A MISS" };
	nf_store *st = NULL;
	char *dir = NULL;
	nf_schedule_row *rows = NULL;
	size_t n = 0;
	nf_sched_holder h;
	int64_t now = nf_wallclock_now();
	nf_table *t = NULL;
	cJSON *top = NULL, *list = NULL;
	int rc = NF_EXIT_FAILED, err;

	if ((err = nf_store_open_workspace_read(&st, &dir, dag_path, state)) < 0) {
		if (err != NF_ENOTFOUND) {
			nf_cmd_error("%s", nf_error_last());
			return nf_cmd_exit_status(err);
		}
		/* no store yet: nothing was ever scheduled here */
	} else if ((err = nf_store_schedule_list(st, &rows, &n)) < 0) {
		nf_cmd_error("%s", nf_error_last());
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	if (!dir && nf_workspace_resolve(&dir, dag_path, state) < 0)
		dir = xstrdup(".ntflow");
	nf_scheduler_holder(dir, &h);
	if (json) {
		top = cJSON_CreateObject();
		cJSON_AddStringToObject(top, "workspace", dir);
		cJSON_AddBoolToObject(top, "running", h.running);
		if (h.running)
			cJSON_AddNumberToObject(top, "pid", (double)h.pid);
		list = cJSON_AddArrayToObject(top, "pipelines");
	} else if (h.running) {
		char since[32];

		nf_time_format_utc(since, h.since);
		nf_cmd_printf("scheduler: running (pid %ld, since %s) for %s\n", h.pid, since, dir);
	} else {
		nf_cmd_printf("scheduler: not running for %s\n", dir);
	}
	if (!json && n == 0) {
		printf("no pipeline has been scheduled here yet (start: ntflow scheduler dags/)\n");
		rc = NF_EXIT_OK;
		goto done;
	}
	t = nf_table_new(NF_ARRAY_SIZE(head), head);
	for (size_t i = 0; i < n; i++) {
		nf_schedule_row *r = &rows[i];
		nf_schedule_event ev;
		const char *status = NULL;
		char *last = NULL, next[64] = "-";
		nf_cron cron;
		nf_tz tz;
		int64_t fire;

		if (last_run_event(st, r->pipeline, &ev) == 0)
			last = last_text(st, &ev, &status);
		if (nf_sched_unscheduled(st, r->pipeline)) {
			snprintf(next, sizeof(next), "- (not scheduled)");
		} else if (nf_cron_parse(&cron, r->cron, NULL) == 0 && nf_tz_open(&tz, r->timezone) == 0 &&
			   nf_cron_next(&cron, &tz, r->last_end, &fire) == 0) {
			nf_time_format_utc(next, fire);
			if (fire <= now) {
				char since[32];

				memcpy(since, next, sizeof(since));
				snprintf(next, sizeof(next), "due since %s", since);
			}
		}
		if (json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "pipeline", r->pipeline);
			cJSON_AddStringToObject(o, "file", r->file);
			cJSON_AddStringToObject(o, "schedule", r->cron);
			cJSON_AddStringToObject(o, "timezone", r->timezone);
			cJSON_AddStringToObject(o, "on_miss", r->policy);
			cJSON_AddStringToObject(o, "next", next);
			if (last) {
				cJSON *l = cJSON_AddObjectToObject(o, "last");
				int64_t run_id;

				nf_sched_event_run(st, &ev, &run_id);   /* the text's run, found as it is */
				cJSON_AddStringToObject(l, "decision", ev.decision);
				if (run_id)
					cJSON_AddNumberToObject(l, "run_id", (double)run_id);
				if (status)
					cJSON_AddStringToObject(l, "status", status);
				cJSON_AddStringToObject(l, "text", last);
			}
			cJSON_AddItemToArray(list, o);
		} else {
			char **row = nf_table_add_row(t);

			row[0] = xstrdup(r->pipeline);
			row[1] = strcmp(r->timezone, "UTC") == 0 ? xstrdup(r->cron) : xasprintf("%s (%s)", r->cron, r->timezone);
			row[2] = last ? xstrdup(last) : xstrdup("-");
			row[3] = xstrdup(next);
			row[4] = xstrdup(r->policy);
		}
		free(last);
		nf_schedule_event_release(&ev);
	}
	if (json) {
		char *text = cJSON_Print(top);

		puts(text);
		free(text);
	} else {
		nf_cmd_print_table(t);
	}
	rc = NF_EXIT_OK;
done:
	nf_table_free(t);
	cJSON_Delete(top);
	nf_schedule_row_list_free(rows, n);
	nf_store_close(st);
	free(dir);
	return rc;
}

static int
cmd_scheduler_exec(int argc, char **argv)
{
	nf_scheduler_opts o = { 0 };
	nf_wallclock *clock = NULL;
	const char *log_path = NULL, *fake, *textfile = NULL;
	char *textfile_path = NULL;
	bool status = false;
	char self[PATH_MAX];
	ssize_t len;
	int c, err, rc;

	while ((c = nf_cmd_getopt(&nf_cmd_scheduler, argc, argv, "", scheduler_options)) != NF_CMD_DONE) {
		switch (c) {
		case 's': status = true; break;
		case 'l': log_path = optarg; break;
		case 'c': o.cancel_on_exit = true; break;
		case 't': textfile = optarg; break;
		case NF_CMD_HELP: return NF_EXIT_OK;
		default: return NF_EXIT_USAGE;
		}
	}
	o.state = nf_cmd_opt.state;
	if (status)
		return nf_scheduler_status(optind < argc ? argv[optind] : NULL, o.state, nf_cmd_opt.json);
	if (optind >= argc) {
		nf_cmd_usage(&nf_cmd_scheduler, stderr);
		return NF_EXIT_USAGE;
	}
	o.paths = argv + optind;
	o.npaths = (size_t)(argc - optind);
	if ((len = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
		nf_cmd_error("cannot find the ntflow binary: %s", strerror(errno));
		return NF_EXIT_FAILED;
	}
	self[len] = '\0';
	o.self = self;
	if (textfile && nf_prometheus_textfile_path(&textfile_path, textfile) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_USAGE;
	}
	o.textfile = textfile_path;
	o.log = stderr;
	o.log_path = log_path;
	if (log_path && !(o.log = fopen(log_path, "ae"))) {
		nf_cmd_error("cannot open the log %s: %s", log_path, strerror(errno));
		free(textfile_path);
		return NF_EXIT_FAILED;
	}
	/* Test builds read the time from a file the test sets (tests/ntflow-test only). */
	err = (fake = nf_test_hook_value("NTFLOW_TEST_NOW")) ? nf_wallclock_file(&clock, fake)
							       : nf_wallclock_system(&clock);
	if (err == 0) {
		o.clock = clock;
		err = nf_scheduler_run(&o);
	}
	if (err < 0)
		nf_cmd_error("%s", nf_error_last());
	rc = err == NF_EINVALID || err == NF_ENOTFOUND ? NF_EXIT_USAGE : err < 0 ? nf_cmd_exit_status(err) : NF_EXIT_OK;
	if (clock)
		clock->free(clock);
	if (o.log != stderr)
		fclose(o.log);
	free(textfile_path);
	return rc;
}

const nf_cmd nf_cmd_scheduler = {
	.name = "scheduler",
	.shared = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage = "scheduler PATH... [--log FILE] [--cancel-on-exit] [--textfile PATH] [--state DIR]\n"
		 "       ntflow scheduler --status [PATH] [--json] [--state DIR]",
	.summary = "Start scheduled runs: the daemon behind weekly retraining.",
	.help = "Loads every pipeline with a schedule from PATH (DAG files, or folders whose\n"
		"*.dag files are read), sleeps until the nearest fire time and starts each due run\n"
		"as a child `ntflow run FILE --trigger schedule --date START --interval-end END`: a\n"
		"run stands for the interval between the previous fire time and its own\n"
		"(${run.date} is the interval's start). What it decided is kept in the workspace's\n"
		"store and audit chain, so a restarted scheduler neither loses nor repeats an\n"
		"interval. A missed interval (the daemon was down) is run once for all (catchup =\n"
		"false) or once each, oldest first (catchup = true); a run that died with the\n"
		"machine (a reboot, a power cut) is started again, once (refired); a run that\n"
		"cannot start within start_deadline of its interval's end is recorded missed;\n"
		"while max_active_runs runs of the pipeline are going a due run waits, or is\n"
		"skipped with overlap = \"skip\". A monitor's alert at least as severe as its\n"
		"on_alert starts one run with trigger alert, at most one per alert_cooldown. One\n"
		"line per decision goes to stderr or the --log file, with the runs' own output.\n"
		"An edited DAG file is reloaded (its errors are logged and its last good version\n"
		"kept; one with errors at start waits for its fix); so is every file on SIGHUP,\n"
		"which also opens the --log file again.\n"
		"SIGTERM or SIGINT stops it after its running runs finish (a second one, or\n"
		"--cancel-on-exit, cancels them). One scheduler per workspace.\n"
		"\n"
		"      --status          what each scheduled pipeline did last and does next, what\n"
		"                        it does on a miss, and whether a scheduler runs (its pid);\n"
		"                        the workspace of PATH, else of the current directory\n"
		"      --json            with --status: as JSON\n"
		"      --log FILE        append the decisions and the runs' output to FILE\n"
		"      --cancel-on-exit  on SIGTERM cancel running runs instead of waiting\n"
		"      --textfile PATH   rewrite the Prometheus metrics of `ntflow export --prometheus`\n"
		"                        at start and after every run (PATH a file, or a folder:\n"
		"                        PATH/ntflow.prom), for node_exporter's textfile collector\n"
		"      --state DIR       the workspace's state directory (default: each file's)\n"
		"\n"
		"Exit status: 0 after SIGTERM; 2 when no path holds a scheduled pipeline; 75\n"
		"when another scheduler runs for the workspace; 1 on other errors.\n",
	.exec = cmd_scheduler_exec,
};

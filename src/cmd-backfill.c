/* cmd-backfill.c: `ntflow backfill`, one run per scheduled interval of a date range, oldest
 * first, each a child `ntflow run --trigger backfill --date START --interval-end END`, then
 * a table of what each run did (status, gate, model, alerts) read back from the store. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/cron.h"
#include "ntflow/dag.h"
#include "ntflow/graph.h"
#include "ntflow/gov.h"
#include "ntflow/run.h"
#include "ntflow/store.h"

extern char **environ;

/* More intervals than this is a mistake (a minutely schedule over years), not a backfill. */
#define MAX_INTERVALS 10000

/* One interval and what its run did. */
typedef struct bf_row {
	nf_cron_span span;
	char start[32], end[32];
	char date[16];              /* the logical date: the start's day in the pipeline's zone */
	bool ran;                   /* a child was started for it */
	int exit_code;              /* the child's exit status, or 128 + signal */
	int64_t run_id;             /* 0: no run recorded */
	char *status;               /* the run's recorded status, or what became of the child */
	char *gate;                 /* passed, failed or - */
	char *model;                /* "fraud-clf v3 promoted", "v4 candidate", - */
	int64_t nalerts;
	nf_severity worst;
} bf_row;

typedef struct bf_opts {
	const char *dag_path, *state_dir, *from, *to, *jobs;
	const char *cohort;           /* --cohort, passed on to every run */
	const char **params;
	size_t nparams;
	bool json, keep_going;
	bool skip_done;               /* --skip-done: an interval done before with the same params */
	nf_strmap *values;            /* with skip_done: each parameter's value in these runs */
	const nf_pipeline *pipeline;
} bf_opts;

/* The run in progress, for the signal handler: SIGINT and SIGTERM are passed on to it (it
 * runs in a process group of its own, so a terminal's Ctrl-C reaches it once, through us),
 * and no later interval starts. */
static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = 1;
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* The day after a date "YYYY-MM-DD", as a date. */
static int
next_day(char out[16], const char *date)
{
	int64_t t;
	char buf[32];
	int err;

	if ((err = nf_time_parse_utc(&t, date)) < 0)
		return err;
	nf_time_format_utc(buf, t + 86400);
	snprintf(out, 16, "%.10s", buf);
	return 0;
}

/* A --from or --to value; reports a bad one. */
static int
parse_time(int64_t *out, const char *opt, const char *s, const nf_tz *tz, bool *date_only)
{
	if (nf_time_parse_in(out, s, tz, date_only) == 0)
		return 0;
	if (strstr(nf_error_last(), "no such"))
		nf_cmd_error("backfill: %s '%s': no such date or time", opt, s);
	else
		nf_cmd_error("backfill: %s '%s': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z", opt, s);
	return NF_EINVALID;
}

/* The range: intervals whose start s has from <= s < until. A --to date takes in the whole
 * day (until: the next day's midnight in the zone); a --to time is inclusive. */
static int
parse_range(const bf_opts *o, const nf_tz *tz, int64_t *from, int64_t *until)
{
	bool date_only;
	char day[16];

	if (parse_time(from, "--from", o->from, tz, NULL) < 0 || parse_time(until, "--to", o->to, tz, &date_only) < 0)
		return NF_EINVALID;
	if (*from > *until) {
		nf_cmd_error("backfill: --from %s is after --to %s", o->from, o->to);
		return NF_EINVALID;
	}
	if (date_only) {
		if (next_day(day, o->to) < 0 || nf_time_parse_in(until, day, tz, NULL) < 0) {
			nf_cmd_error("backfill: --to '%s': %s", o->to, nf_error_last());
			return NF_EINVALID;
		}
	} else {
		*until += 1;
	}
	return 0;
}

/* The intervals of the schedule that start in [from, until) and have ended by now, oldest
 * first. *pending: the range holds an interval that has not ended yet (and those after it). */
static int
list_intervals(bf_row **out, size_t *n, bool *pending, const nf_cron *cron, const nf_tz *tz, int64_t from,
	       int64_t until, int64_t now)
{
	bf_row *rows = NULL;
	size_t count = 0, cap = 0;
	int64_t s, e;
	int err;

	*out = NULL;
	*n = 0;
	*pending = false;
	if ((err = nf_cron_next(cron, tz, from - 1, &s)) < 0)
		return err == NF_ENOTFOUND ? 0 : err;
	while (s < until) {
		if ((err = nf_cron_next(cron, tz, s, &e)) < 0)
			break;
		if (e > now) {
			*pending = true;   /* the rest lies later still */
			break;
		} else {
			bf_row *r;

			if (count == MAX_INTERVALS) {
				free(rows);
				return nf_error_set(NF_EINVALID, "more than %d intervals in the range: backfill a shorter one",
						    MAX_INTERVALS);
			}
			rows = xgrow(rows, sizeof(*rows), count + 1, &cap);
			r = &rows[count++];
			memset(r, 0, sizeof(*r));
			r->span.start = s;
			r->span.end = e;
			nf_time_format_utc(r->start, s);
			nf_time_format_utc(r->end, e);
			nf_time_format_date(r->date, tz, s);
		}
		s = e;
	}
	*out = rows;
	*n = count;
	return 0;
}

/* Starts `ntflow run` for the row's interval in a process group of its own, with its
 * standard input and output on /dev/null (its errors go to ours); *pid. */
static int
spawn_run(pid_t *pid, const bf_opts *o, const bf_row *r)
{
	const char **argv = NULL;
	size_t argc = 0, cap = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dflt;
	int rc;

	NF_PUSH(argv, argc, cap, "ntflow");
	NF_PUSH(argv, argc, cap, "run");
	NF_PUSH(argv, argc, cap, o->dag_path);
	NF_PUSH(argv, argc, cap, "--trigger");
	NF_PUSH(argv, argc, cap, "backfill");
	NF_PUSH(argv, argc, cap, "--date");
	NF_PUSH(argv, argc, cap, r->start);
	NF_PUSH(argv, argc, cap, "--interval-end");
	NF_PUSH(argv, argc, cap, r->end);
	NF_PUSH(argv, argc, cap, "--no-tui");
	if (o->jobs) {
		NF_PUSH(argv, argc, cap, "-j");
		NF_PUSH(argv, argc, cap, o->jobs);
	}
	for (size_t i = 0; i < o->nparams; i++) {
		NF_PUSH(argv, argc, cap, "-p");
		NF_PUSH(argv, argc, cap, o->params[i]);
	}
	if (o->cohort) {
		NF_PUSH(argv, argc, cap, "--cohort");
		NF_PUSH(argv, argc, cap, o->cohort);
	}
	if (o->state_dir) {
		NF_PUSH(argv, argc, cap, "--state");
		NF_PUSH(argv, argc, cap, o->state_dir);
	}
	NF_PUSH(argv, argc, cap, NULL);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&attr);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(pid, "/proc/self/exe", &fa, &attr, (char *const *)argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	if (rc != 0) {
		errno = rc;
		return nf_error_set_errno(NF_ERROR, "cannot start ntflow run");
	}
	return 0;
}

/* Waits for the child; its exit status, or 128 + the signal that killed it. */
static int
wait_run(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* "fraud-clf v3 promoted", "fraud-clf v4 candidate", "fraud-clf v2 unchanged": what the run
 * did to the registry, from its registry events; "-" when nothing. */
static char *
model_text(nf_store *st, int64_t run_id)
{
	nf_model_event *ev = NULL;
	size_t n = 0;
	nf_buf b = NF_BUF_INIT;

	if (nf_registry_run_events(st, run_id, &ev, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			const char *what = NULL;

			if (strcmp(ev[i].action, "register") == 0)
				what = strcmp(ev[i].status, "production") == 0 ? "promoted" : ev[i].status;
			else if (strcmp(ev[i].action, "promote") == 0 && strcmp(ev[i].status, "production") == 0)
				what = "promoted";
			else if (strcmp(ev[i].action, "held") == 0)
				what = "unchanged";
			if (what)
				nf_buf_printf(&b, "%s%s v%d %s", b.len ? ", " : "", ev[i].model, ev[i].version, what);
		}
	}
	nf_model_event_list_free(ev, n);
	if (!b.len)
		nf_buf_puts(&b, "-");
	return nf_buf_detach(&b);
}

/* Reads back what the row's run did; the run is the newest backfill run of the interval
 * begun after `after` (none when the child failed before recording one). */
static void
read_outcome(bf_row *r, const bf_opts *o, const char *pipeline, int64_t after)
{
	nf_store *st = NULL;
	nf_run_info info;
	nf_gate_result *gates = NULL;
	nf_alert *alerts = NULL;
	size_t ngates = 0, nalerts = 0;
	int64_t id;

	if (nf_store_open_workspace_read(&st, NULL, o->dag_path, o->state_dir) < 0 ||
	    nf_store_run_for_interval(st, pipeline, r->start, &id) < 0 || id <= after ||
	    nf_store_run_get(st, id, &info) < 0) {
		nf_store_close(st);
		return;
	}
	r->run_id = id;
	free(r->status);
	r->status = xstrdup(nf_run_status_name(info.status));
	nf_run_info_release(&info);
	if (nf_gate_list(st, id, &gates, &ngates) == 0 && ngates > 0) {
		bool passed = true;

		for (size_t i = 0; i < ngates; i++)
			passed = passed && gates[i].passed;
		free(r->gate);
		r->gate = xstrdup(passed ? "passed" : "failed");
	}
	nf_gate_result_list_free(gates, ngates);
	free(r->model);
	r->model = model_text(st, id);
	if (nf_alert_list_run(st, id, &alerts, &nalerts) == 0) {
		r->nalerts = (int64_t)nalerts;
		for (size_t i = 0; i < nalerts; i++)
			if (alerts[i].severity > r->worst)
				r->worst = alerts[i].severity;
	}
	nf_alert_list_free(alerts, nalerts);
	nf_store_close(st);
}

/* Whether a run's parameters (its params_json) are the values these runs would have. */
static bool
same_params(const char *json, const bf_opts *o)
{
	cJSON *prev = cJSON_Parse(json ? json : "{}");
	bool same = prev != NULL;

	for (size_t i = 0; same && i < o->pipeline->nparams; i++) {
		const char *key = o->pipeline->params[i].key, *text = nf_strmap_get(o->values, key);
		const cJSON *item = cJSON_GetObjectItemCaseSensitive(prev, key);

		if (!text || !item)
			same = false;
		else if (cJSON_IsNumber(item))
			same = strtod(text, NULL) == item->valuedouble;
		else if (cJSON_IsString(item))
			same = strcmp(text, item->valuestring) == 0;
		else if (cJSON_IsBool(item))
			same = strcmp(text, cJSON_IsTrue(item) ? "true" : "false") == 0;
		else
			same = false;   /* not a value a parameter has: run it */
	}
	cJSON_Delete(prev);
	return same;
}

/* With --skip-done: whether r's interval was done before (its newest run succeeded or was
 * gated, with the parameters these runs would have); its run and status then fill r. */
static bool
done_before(bf_row *r, const bf_opts *o, const char *pipeline)
{
	nf_store *st = NULL;
	nf_run_info info;
	int64_t id;
	bool done = false;

	if (!o->skip_done || nf_store_open_workspace_read(&st, NULL, o->dag_path, o->state_dir) < 0 ||
	    nf_store_run_for_interval(st, pipeline, r->start, &id) < 0 || nf_store_run_get(st, id, &info) < 0) {
		nf_store_close(st);
		nf_error_clear();
		return false;
	}
	if ((info.status == NF_RUN_SUCCEEDED || info.status == NF_RUN_GATED) && same_params(info.params_json, o)) {
		done = true;
		r->run_id = id;
		r->status = xasprintf("%s before", nf_run_status_name(info.status));
	}
	nf_run_info_release(&info);
	nf_store_close(st);
	return done;
}

/* The newest run's id in the workspace; 0 when none (or no store yet). */
static int64_t
last_run(const bf_opts *o)
{
	nf_store *st = NULL;
	int64_t id = 0;

	if (nf_store_open_workspace_read(&st, NULL, o->dag_path, o->state_dir) == 0 && nf_store_run_last(st, &id) < 0)
		id = 0;
	nf_store_close(st);
	return id;
}

/* Whether every interval starts at midnight in the zone: the table then shows dates. */
static bool
all_midnights(const bf_row *rows, size_t n, const nf_tz *tz)
{
	for (size_t i = 0; i < n; i++) {
		int64_t t;

		if (nf_time_parse_in(&t, rows[i].date, tz, NULL) < 0 || t != rows[i].span.start)
			return false;
	}
	return true;
}

static void
alerts_text(char *out, size_t size, const bf_row *r)
{
	if (r->nalerts == 0)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%lld (%s)", (long long)r->nalerts, nf_severity_name(r->worst));
}

static void
print_table(const bf_row *rows, size_t n, const nf_tz *tz)
{
	static const char *const head[] = { "INTERVAL", "RUN", "STATUS", "GATE", "MODEL", "ALERTS" };
	nf_table *tab = nf_table_new(NF_ARRAY_SIZE(head), head);
	bool dates = all_midnights(rows, n, tz);

	nf_table_align_right(tab, 1);
	for (size_t i = 0; i < n; i++) {
		const bf_row *r = &rows[i];
		char **row = nf_table_add_row(tab);
		char alerts[64];

		alerts_text(alerts, sizeof(alerts), r);
		row[0] = xstrdup(dates ? r->date : r->start);
		row[1] = r->run_id ? xasprintf("%lld", (long long)r->run_id) : xstrdup("-");
		row[2] = xstrdup(r->status ? r->status : "not run");
		row[3] = xstrdup(r->gate ? r->gate : "-");
		row[4] = xstrdup(r->model ? r->model : "-");
		row[5] = xstrdup(alerts);
	}
	nf_cmd_print_table(tab);
	nf_table_free(tab);
}

static void
print_json(const bf_row *rows, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *text;

	for (size_t i = 0; i < n; i++) {
		const bf_row *r = &rows[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "interval_start", r->start);
		cJSON_AddStringToObject(o, "interval_end", r->end);
		cJSON_AddStringToObject(o, "logical_date", r->date);
		if (r->run_id)
			cJSON_AddNumberToObject(o, "run_id", (double)r->run_id);
		else
			cJSON_AddNullToObject(o, "run_id");
		cJSON_AddStringToObject(o, "status", r->status ? r->status : "not run");
		if (r->ran)
			cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
		else
			cJSON_AddNullToObject(o, "exit_code");
		if (r->gate)
			cJSON_AddStringToObject(o, "gate", r->gate);
		else
			cJSON_AddNullToObject(o, "gate");
		cJSON_AddStringToObject(o, "model", r->model ? r->model : "-");
		cJSON_AddNumberToObject(o, "alerts", (double)r->nalerts);
		if (r->nalerts)
			cJSON_AddStringToObject(o, "alert_severity", nf_severity_name(r->worst));
		else
			cJSON_AddNullToObject(o, "alert_severity");
		cJSON_AddItemToArray(arr, o);
	}
	text = nf_json_print(arr, true);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(arr);
}

/* Runs the rows in order; the exit status of the backfill. */
static int
run_all(bf_row *rows, size_t n, const bf_opts *o, const char *pipeline)
{
	struct sigaction sa, old_int, old_term;
	bool failed = false;
	int rc = NF_EXIT_OK;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	for (size_t i = 0; i < n && !interrupted; i++) {
		bf_row *r = &rows[i];
		int64_t before = last_run(o);
		pid_t pid;

		if (failed && !o->keep_going)
			break;
		if (done_before(r, o, pipeline)) {
			if (!o->json) {
				printf("backfill %zu/%zu: %s .. %s: run %lld %s (skipped)\n", i + 1, n, r->start, r->end,
				       (long long)r->run_id, r->status);
				fflush(stdout);
			}
			continue;
		}
		if (spawn_run(&pid, o, r) < 0) {
			nf_cmd_error("%s", nf_error_last());
			rc = NF_EXIT_FAILED;
			break;
		}
		child_pid = pid;
		if (interrupted)   /* a signal came before the handler knew the child */
			kill(pid, SIGTERM);
		r->ran = true;
		r->exit_code = wait_run(pid);
		child_pid = 0;
		switch (r->exit_code) {
		case NF_EXIT_OK: r->status = xstrdup("succeeded"); break;
		case NF_EXIT_GATED: r->status = xstrdup("gated"); break;
		case NF_EXIT_INTERRUPTED: r->status = xstrdup("cancelled"); break;
		default: r->status = xasprintf("failed (exit %d)", r->exit_code); break;
		}
		read_outcome(r, o, pipeline, before);
		if (!o->json) {
			printf("backfill %zu/%zu: %s .. %s:", i + 1, n, r->start, r->end);
			if (r->run_id)
				printf(" run %lld", (long long)r->run_id);
			printf(" %s\n", r->status);
			fflush(stdout);
		}
		if (r->exit_code == NF_EXIT_USAGE) {   /* the same for every interval: a bad -p */
			rc = NF_EXIT_USAGE;
			break;
		}
		if (r->exit_code == NF_EXIT_INTERRUPTED)
			interrupted = 1;
		else if (r->exit_code != NF_EXIT_OK && r->exit_code != NF_EXIT_GATED)
			failed = true;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (interrupted)
		return NF_EXIT_INTERRUPTED;
	if (rc == NF_EXIT_OK && failed)
		rc = NF_EXIT_FAILED;
	return rc;
}

static int
cmd_backfill_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "param", required_argument, NULL, 'p' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "cohort", required_argument, NULL, 'H' },
		{ "skip-done", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	nf_arena *pa = nf_arena_new();
	bf_opts o;
	size_t pcap = 0, nrows = 0;
	bool pending = false;
	nf_dag *dag = NULL;
	bf_row *rows = NULL;
	const nf_pipeline *pl;
	nf_cron cron;
	nf_tz tz;
	int64_t from, until, now = nf_now_realtime_ms() / 1000;
	int c, rc = NF_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	while ((c = nf_cmd_getopt(&nf_cmd_backfill, argc, argv, "j:p:k", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case 'F': o.from = optarg; break;
		case 'T': o.to = optarg; break;
		case 'j': {
			char *end;
			long j = strtol(optarg, &end, 10);

			if (*optarg == '\0' || *end || j < 1 || j > 4096) {
				nf_cmd_error("backfill: -j '%s': expected a number of slots from 1 to 4096", optarg);
				goto done;
			}
			o.jobs = optarg;
			break;
		}
		case 'p': NF_PUSH(o.params, o.nparams, pcap, optarg); break;
		case 'k': o.keep_going = true; break;
		case 'S': o.skip_done = true; break;
		case 'H':
			if (nf_cohort_check(optarg) < 0) {
				nf_cmd_error("backfill: --cohort: %s", nf_error_last());
				goto done;
			}
			o.cohort = optarg;
			break;
		case NF_CMD_HELP: rc = NF_EXIT_OK; goto done;
		default: goto done;
		}
	}
	o.state_dir = nf_cmd_opt.state;
	o.json = nf_cmd_opt.json;
	if (optind + 1 != argc || !o.from || !o.to) {
		nf_cmd_error(optind + 1 < argc ? "backfill: one pipeline file at a time"
			     : optind >= argc ? "backfill: which pipeline? (ntflow backfill FILE --from DATE --to DATE)"
			     : "backfill: --from and --to are both needed");
		nf_cmd_usage(&nf_cmd_backfill, stderr);
		goto done;
	}
	o.dag_path = argv[optind];
	if (nf_cmd_load_dag(&dag, o.dag_path) < 0)
		goto done;
	pl = &dag->pipeline;
	if (!dag->has_pipeline || !pl->schedule) {
		nf_cmd_error("backfill: %s has no schedule: backfill runs one run per interval of the pipeline's"
			     " schedule = \"...\"", o.dag_path);
		goto done;
	}
	if (nf_cron_parse(&cron, pl->schedule, NULL) < 0 || nf_tz_open(&tz, pl->timezone) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	/* -p is checked once here rather than by every run; the values are kept for --skip-done. */
	o.pipeline = pl;
	if (nf_params_resolve(&o.values, pa, pl, o.params, o.nparams) < 0) {
		nf_cmd_error("backfill: %s", nf_error_last());
		goto done;
	}
	if (parse_range(&o, &tz, &from, &until) < 0)
		goto done;
	if (list_intervals(&rows, &nrows, &pending, &cron, &tz, from, until, now) < 0) {
		nf_cmd_error("backfill: %s", nf_error_last());
		goto done;
	}
	if (nrows == 0) {
		if (pending)
			nf_cmd_error("backfill: nothing to run: the intervals of %s (\"%s\", %s) from %s on have not"
				     " ended yet", pl->name, pl->schedule, tz.name, o.from);
		else
			nf_cmd_error("backfill: nothing to run: no interval of %s (\"%s\", %s) starts between %s and %s",
				     pl->name, pl->schedule, tz.name, o.from, o.to);
		rc = NF_EXIT_OK;
		goto done;
	}
	if (pending && !o.json)
		printf("backfill: %zu interval%s of %s from %s to %s (later ones have not ended yet)\n", nrows,
		       nrows == 1 ? "" : "s", pl->name, rows[0].start, rows[nrows - 1].end);
	else if (!o.json)
		printf("backfill: %zu interval%s of %s from %s to %s\n", nrows, nrows == 1 ? "" : "s", pl->name,
		       rows[0].start, rows[nrows - 1].end);
	fflush(stdout);
	rc = run_all(rows, nrows, &o, pl->name);
	if (o.json) {
		print_json(rows, nrows);
	} else {
		putchar('\n');
		print_table(rows, nrows, &tz);
	}
done:
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].status);
		free(rows[i].gate);
		free(rows[i].model);
	}
	free(rows);
	nf_strmap_free(o.values);
	nf_arena_free(pa);
	nf_dag_free(dag);
	free(o.params);
	return rc;
}

const nf_cmd nf_cmd_backfill = {
	.name = "backfill",
	.shared = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage = "backfill FILE --from TIME --to TIME [-j N] [-p NAME=VALUE]... [--keep-going]\n"
		 "                [--skip-done] [--cohort ID] [--json] [--state DIR]",
	.summary = "Run a pipeline once per scheduled interval of a past date range.",
	.help =
	"One run per interval of the pipeline's schedule whose start lies between --from\n"
	"and --to (both included) and whose end is not in the future, oldest first, one at\n"
	"a time: each is `ntflow run FILE --trigger backfill --date START --interval-end END\n"
	"--no-tui`, so it sees its interval in ${run.date}, ${run.week}, ${run.interval_start}\n"
	"and ${run.interval_end}, reuses the cache, and waits for the workspace lock as any\n"
	"run does. A line per run as it ends, then a table: the interval (its start's date\n"
	"when every interval starts at midnight, else its start time), the run, its status,\n"
	"the gate (passed, failed or -), what the run did to the registry (fraud-clf v3\n"
	"promoted, v4 candidate) and its alerts (how many, the most severe).\n"
	"\n"
	"  --from TIME, --to TIME  YYYY-MM-DD (a whole day in the pipeline's time zone) or\n"
	"                        YYYY-MM-DDTHH:MM[:SS]Z (UTC)\n"
	"  -j, --jobs N          each run's slots, as run -j\n"
	"  -p, --param NAME=VALUE  override a parameter in every run (repeatable)\n"
	"      --cohort ID       record every run in cohort ID, whatever the pipeline's\n"
	"                        cohort template says\n"
	"  -k, --keep-going      after a run fails, go on with the later intervals (without it\n"
	"                        none starts; the table shows them as not run)\n"
	"      --skip-done       leave out an interval whose newest run (scheduled, alert or\n"
	"                        backfill) succeeded or was gated with the same parameters:\n"
	"                        a backfill stopped by a failure goes on where it stopped\n"
	"      --json            the table as a JSON array, and no progress lines\n"
	"      --state DIR       the state directory, as for run\n"
	"\n"
	"A run the gate rejected completed: it counts as done, its model a candidate.\n"
	"SIGINT or SIGTERM cancels the run in progress and starts no other.\n"
	"\n"
	"Exit status: 0 every run succeeded (or was gated), or nothing was due; 1 a run\n"
	"failed; 2 usage error, a bad date, --from after --to, a pipeline without a\n"
	"schedule or an invalid file; 130 interrupted.\n",
	.exec = cmd_backfill_exec,
};

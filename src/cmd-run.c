/* cmd-run.c: `ntflow run`, one run of a pipeline with a progress line per state change
 * (ninja-style) or JSON lines, and the exit status of DESIGN.md. */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"
#include "ntflow/tui.h"
#include "cmd-run-bg.h"


typedef struct progress {
	bool json;
	FILE *out;
	bool out_tty;               /* out is a terminal: each line shown as it comes */
	int64_t started_ms;
	nf_buf registered;          /* "fraud-clf v3 → production, ..." for the summary line */
	int64_t *alert_ids;         /* the alerts this run raised (each once), for the last line */
	size_t nalert_ids, alert_ids_cap;
	size_t alerts_new, alerts_again;
	/* The dashboard, opened when the run starts (so DAG errors print as usual). */
	bool want_tui, no_tui;
	nf_tui *tui;
	nf_tui_opts tui_opts;
	const nf_run_request *req;
	nf_run_bg *bg;              /* this process is the executor of a client or of --detach */
} progress;

/* Opens the dashboard on the run that starts; false (plain lines) when it cannot. */
static bool
open_tui(progress *p, int64_t run_id, const char *pipeline, size_t total)
{
	char *dir = NULL;
	int err;

	if ((err = nf_workspace_resolve(&dir, p->req->dag_path, p->req->state_dir)) == 0) {
		p->tui_opts.state_dir = dir;
		p->tui_opts.live = true;
		err = nf_tui_new(&p->tui, &p->tui_opts);
		p->tui_opts.state_dir = NULL;
	}
	free(dir);
	if (err < 0) {
		nf_cmd_error("no dashboard (%s); plain lines follow", nf_error_last());
		p->want_tui = false;
		return false;
	}
	nf_tui_run_start(p->tui, run_id, pipeline, total);
	return true;
}

static void
on_tick(void *vctx, nf_run_ctl *ctl)
{
	progress *p = vctx;

	if (p->bg)
		nf_run_bg_tick(p->bg, ctl);
	if (p->tui)
		nf_tui_run_tick(p->tui, ctl);
}

static void
on_turn(void *vctx)
{
	progress *p = vctx;

	fflush(p->out);
}

static void
print_json_line(FILE *out, cJSON *o)
{
	char *s = nf_json_print(o, false);

	fprintf(out, "%s\n", s);
	fflush(out);
	free(s);
	cJSON_Delete(o);
}

static void
on_start(void *vctx, int64_t run_id, const char *pipeline, size_t total)
{
	progress *p = vctx;

	if (p->bg && nf_run_bg_started(p->bg, p->req->dag_path, p->req->state_dir, run_id) < 0)
		nf_cmd_error("%s", nf_error_last());
	if (p->want_tui && open_tui(p, run_id, pipeline, total))
		return;
	if (p->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "event", "start");
		cJSON_AddNumberToObject(o, "run_id", (double)run_id);
		cJSON_AddStringToObject(o, "pipeline", pipeline);
		cJSON_AddNumberToObject(o, "nodes", (double)total);
		print_json_line(p->out, o);
	} else {
		fprintf(p->out, "run %lld of %s: %zu node%s\n", (long long)run_id, pipeline, total, total == 1 ? "" : "s");
		fflush(p->out);
	}
}

/* A monitor's alert rule fired: "alert drift/feature-shift high: max_psi 0.31 > 0.25", and
 * for an alert an earlier run raised on the same data "(alert 1 again: seen 2 times since
 * run 1, no new trigger)". */
static void
on_alert(void *vctx, const nf_run_alert *a)
{
	progress *p = vctx;
	bool seen = false;

	for (size_t i = 0; i < p->nalert_ids && !seen; i++)
		seen = p->alert_ids[i] == a->id;   /* a retried monitor raises it again */
	if (!seen) {
		NF_PUSH(p->alert_ids, p->nalert_ids, p->alert_ids_cap, a->id);
		if (a->repeat)
			p->alerts_again++;
		else
			p->alerts_new++;
	}
	if (p->tui)
		return;   /* the dashboard's alerts pane shows it */
	if (p->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "event", "alert");
		cJSON_AddStringToObject(o, "monitor", a->monitor);
		cJSON_AddStringToObject(o, "rule", a->rule);
		cJSON_AddStringToObject(o, "severity", a->severity);
		cJSON_AddStringToObject(o, "summary", a->summary);
		cJSON_AddNumberToObject(o, "alert", (double)a->id);
		cJSON_AddNumberToObject(o, "count", (double)a->count);
		cJSON_AddBoolToObject(o, "repeat", a->repeat);
		print_json_line(p->out, o);
		return;
	}
	fprintf(p->out, "alert %s/%s %s: %s", a->monitor, a->rule, a->severity, a->summary);
	if (a->repeat)
		fprintf(p->out, " (alert %lld again: seen %lld times since run %lld%s, no new trigger)", (long long)a->id,
			(long long)a->count, (long long)a->first_run, a->open ? "" : ", acknowledged");
	fputc('\n', p->out);
	fflush(p->out);
}

/* n in decimal, then end. */
static void
put_count(FILE *f, size_t n, char end)
{
	char tmp[24], *q = tmp + sizeof(tmp);

	*--q = end;
	do {
		*--q = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	fwrite(q, 1, (size_t)(tmp + sizeof(tmp) - q), f);
}

static void
on_event(void *vctx, const nf_run_event *ev)
{
	progress *p = vctx;
	char dur[32] = "";

	if (p->tui) {
		nf_tui_run_event(p->tui, ev);   /* drawn at the next tick; nothing once detached */
		return;
	}
	if (p->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "event", "state");
		cJSON_AddStringToObject(o, "node", ev->node);
		cJSON_AddStringToObject(o, "kind", nf_stage_kind_name(ev->kind));
		cJSON_AddStringToObject(o, "state", nf_state_name(ev->state));
		cJSON_AddNumberToObject(o, "attempt", ev->attempt);
		cJSON_AddNumberToObject(o, "done", (double)ev->done);
		cJSON_AddNumberToObject(o, "total", (double)ev->total);
		if (ev->wall_ms)
			cJSON_AddNumberToObject(o, "wall_ms", (double)ev->wall_ms);
		if (ev->reason)
			cJSON_AddStringToObject(o, "reason", ev->reason);
		if (ev->log_path)
			cJSON_AddStringToObject(o, "log", ev->log_path);
		print_json_line(p->out, o);
		return;
	}
	if (ev->state == NF_ST_WAITING || ev->state == NF_ST_READY)
		return;
	/* "[done/total] node state" without a printf: one per stage of a cached rerun of
	 * 10 000 stages cost more than its line's write. */
	fputc('[', p->out);
	put_count(p->out, ev->done, '/');
	put_count(p->out, ev->total, ']');
	fputc(' ', p->out);
	fputs(ev->node, p->out);
	fputc(' ', p->out);
	fputs(nf_state_name(ev->state), p->out);
	if (ev->state == NF_ST_RUNNING && ev->max_attempts > 1)
		fprintf(p->out, " (attempt %d/%d)", ev->attempt, ev->max_attempts);
	if (ev->wall_ms > 0 || ev->state == NF_ST_SUCCEEDED) {
		nf_format_duration(dur, sizeof(dur), ev->wall_ms);
		fprintf(p->out, " %s", dur);
	}
	if (ev->reason) {   /* it may quote a path or a value: shown, not played */
		nf_buf b = NF_BUF_INIT;

		nf_buf_puts(&b, ": ");
		nf_buf_add_visible(&b, ev->reason, false);
		fputs(nf_buf_cstr(&b), p->out);
		nf_buf_release(&b);
	}
	if ((ev->state == NF_ST_FAILED || ev->state == NF_ST_TIMED_OUT || ev->state == NF_ST_RETRYING) && ev->log_path)
		fprintf(p->out, " (log: %s)", ev->log_path);
	fputc('\n', p->out);
	/* Shown at once on a terminal. Elsewhere (a log, a pipe) the lines wait for the end of
	 * the scheduler's turn (on_turn), which comes before the run waits for anything: a run
	 * of 10 000 quick stages wrote 20 000 times, a cached rerun 10 000. */
	if (p->out_tty)
		fflush(p->out);
}

static void
on_plan(void *vctx, size_t index, const char *node, const char *command)
{
	progress *p = vctx;
	nf_buf b = NF_BUF_INIT;

	/* A parameter's value may hold escape sequences or line breaks: shown, not played. */
	nf_buf_printf(&b, "%zu. ", index);
	nf_buf_add_visible(&b, node, false);
	nf_buf_puts(&b, ": ");
	nf_buf_add_visible(&b, command, true);   /* a command of several lines stays so */
	fprintf(p->out, "%s\n", nf_buf_cstr(&b));
	nf_buf_release(&b);
}

static void
on_registered(void *vctx, const char *model, int version, const char *status, const char *note)
{
	progress *p = vctx;

	if (p->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "event", "registered");
		cJSON_AddStringToObject(o, "model", model);
		cJSON_AddNumberToObject(o, "version", version);
		cJSON_AddStringToObject(o, "status", status);
		if (note)
			cJSON_AddStringToObject(o, "note", note);
		print_json_line(p->out, o);
	}
	if (strcmp(status, "unchanged") == 0)
		nf_buf_printf(&p->registered, "%s%s v%d unchanged", p->registered.len ? ", " : "", model, version);
	else
		nf_buf_printf(&p->registered, "%s%s v%d \u2192 %s", p->registered.len ? ", " : "", model, version,
			      status);
	if (note) {   /* why the gate's pass did not change production; it quotes a person's reason */
		nf_buf_puts(&p->registered, " (");
		nf_buf_add_visible(&p->registered, note, false);
		nf_buf_putc(&p->registered, ')');
	}
}

static void
on_warning(void *vctx, const char *msg)
{
	progress *p = vctx;

	if (p->tui) {
		nf_tui_run_warning(p->tui, msg);   /* printed after the screen is gone */
		return;
	}
	fflush(p->out);   /* after the lines before it, when both go to one file */
	nf_cmd_error("warning: %s", msg);
}

/* Each gate of the run as show prints it, so the verdict and its numbers end the output. */
static void
print_gates(const nf_run_request *req, int64_t run_id)
{
	nf_store *st = NULL;
	nf_gate_result *gates = NULL;
	size_t n = 0;
	nf_buf b = NF_BUF_INIT;

	if (nf_store_open_workspace_read(&st, NULL, req->dag_path, req->state_dir) == 0 &&
	    nf_gate_list(st, run_id, &gates, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			nf_buf_putc(&b, '\n');
			nf_gate_format_table(&b, &gates[i]);
		}
		if (n)
			printf("%s\n", nf_buf_cstr(&b));
	}
	nf_gate_result_list_free(gates, n);
	nf_buf_release(&b);
	nf_store_close(st);
}

/* Where to look next: the commands that say more about what this run did. */
static void
print_next(const progress *p, int64_t run_id, nf_run_status status)
{
	printf("next:");
	if (status == NF_RUN_FAILED)
		printf(" ntflow show %lld (which stage failed, and its log);", (long long)run_id);
	if (p->registered.len)
		printf(" ntflow registry list (model versions);");
	if (p->alerts_new && p->alerts_again)
		printf(" ntflow alerts (%zu new, %zu again);", p->alerts_new, p->alerts_again);
	else if (p->alerts_new || p->alerts_again)
		printf(" ntflow alerts (%zu %s);", p->alerts_new + p->alerts_again, p->alerts_new ? "new" : "again");
	printf(" ntflow dash (the dashboard)\n");
}

static int
cmd_run_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "param", required_argument, NULL, 'p' },
		{ "date", required_argument, NULL, 'D' },
		{ "interval-end", required_argument, NULL, 'E' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "only", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'F' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-tui", no_argument, NULL, 'T' },
		{ "trigger", required_argument, NULL, 'R' },
		{ "no-cache", no_argument, NULL, 'C' },
		{ "executor", required_argument, NULL, 'X' },
		{ "force", required_argument, NULL, 'f' },
		{ "at", required_argument, NULL, 'A' },
		{ "screen", required_argument, NULL, 'O' },
		{ "size", required_argument, NULL, 'Z' },
		{ "detach", no_argument, NULL, 'B' },
		{ "cohort", required_argument, NULL, 'H' },
		NF_CMD_LOCK_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	nf_run_request req;
	nf_run_bg bg = { .ready_fd = -1, .ctl_fd = -1 };
	bool detach = false;
	progress prog = { .json = false, .out = stdout, .registered = NF_BUF_INIT };
	const char **params = NULL, **only = NULL, **force = NULL;
	size_t nparams = 0, pcap = 0, nonly = 0, ocap = 0, nforce = 0, fcap = 0;
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_run_status status;
	int64_t run_id = 0;
	nf_run *run = NULL;
	int c, rc = NF_EXIT_USAGE, err;

	memset(&req, 0, sizeof(req));
	req.lock.on_wait = nf_cmd_lock_wait_message;
	while ((c = nf_cmd_getopt(&nf_cmd_run, argc, argv, "j:p:kn", longopts)) != NF_CMD_DONE) {
		int lk = nf_cmd_lock_option(&nf_cmd_run, &req.lock, c, optarg);

		if (lk < 0)
			goto done;
		if (lk > 0)
			continue;
		switch (c) {
		case 'j': {
			char *end;
			long j = strtol(optarg, &end, 10);

			if (*end || j < 1 || j > 4096) {
				nf_cmd_error("-j '%s': expected a number of slots from 1 to 4096", optarg);
				goto done;
			}
			req.jobs = (int)j;
			break;
		}
		case 'p': NF_PUSH(params, nparams, pcap, optarg); break;
		case 'D': req.date = optarg; break;
		case 'E': req.interval_end = optarg; break;
		case 'k': req.keep_going = true; break;
		case 'o': NF_PUSH(only, nonly, ocap, optarg); break;
		case 'F': req.from = optarg; break;
		case 'C': req.no_cache = true; break;
		case 'X':
			if (strcmp(optarg, "local") && strcmp(optarg, "slurm")) {
				nf_cmd_error("--executor '%s': expected local or slurm", optarg);
				goto done;
			}
			req.executor = optarg;
			break;
		case 'f': NF_PUSH(force, nforce, fcap, optarg); break;
		case 'A': req.at = optarg; break;
		case 'n': req.dry_run = true; break;
		case 'T': prog.no_tui = true; break;
		case 'B': detach = true; break;
		case 'H':
			if (nf_cohort_check(optarg) < 0) {
				nf_cmd_error("--cohort: %s", nf_error_last());
				goto done;
			}
			req.cohort = optarg;
			break;
		case 'O': prog.tui_opts.screen = optarg; break;
		case 'Z':
			if (nf_tui_parse_size(optarg, &prog.tui_opts.cols, &prog.tui_opts.rows) < 0) {
				nf_cmd_error("%s", nf_error_last());
				goto done;
			}
			break;
		case 'R':
			if (strcmp(optarg, "manual") && strcmp(optarg, "schedule") && strcmp(optarg, "alert") &&
			    strcmp(optarg, "backfill")) {
				nf_cmd_error("--trigger '%s': expected manual, schedule, alert or backfill", optarg);
				goto done;
			}
			req.trigger = optarg;
			break;
		case NF_CMD_HELP: rc = NF_EXIT_OK; goto done;
		default: goto done;
		}
	}
	prog.json = nf_cmd_opt.json;
	req.state_dir = nf_cmd_opt.state;
	if (optind + 1 != argc) {
		nf_cmd_error(optind >= argc ? "run: which pipeline? (ntflow run FILE)" : "run: one pipeline file at a time");
		nf_cmd_usage(&nf_cmd_run, stderr);
		goto done;
	}
	req.dag_path = argv[optind];
	/* A DAG file that cannot be read is a usage/DAG error (2) as in validate, found here
	 * before any executor process or workspace exists. */
	if (access(req.dag_path, R_OK) != 0) {
		nf_cmd_error("cannot open '%s': %s", req.dag_path, strerror(errno));
		goto done;
	}
	req.params = params;
	req.nparams = nparams;
	req.only = only;
	req.nonly = nonly;
	req.force = force;
	req.nforce = nforce;
	req.on_event = on_event;
	req.on_start = on_start;
	req.on_alert = on_alert;
	req.on_plan = on_plan;
	req.on_warning = on_warning;
	req.on_registered = on_registered;
	req.ctx = &prog;
	prog.req = &req;
	prog.started_ms = nf_now_monotonic_ms();
	/* The dashboard on a terminal (or drawn into --screen FILE), unless asked for lines. */
	prog.want_tui = !prog.json && !prog.no_tui && !req.dry_run && (prog.tui_opts.screen || nf_tui_wanted());
	if (detach && prog.tui_opts.screen) {
		nf_cmd_error("run: --detach draws no dashboard; --screen is for one drawn here");
		goto done;
	}
	/* On a terminal (and with --detach) the run's executor is a process of its own: the
	 * dashboard is its client, and leaving it gives the prompt back while the run goes on. */
	if (!req.dry_run && (detach || (prog.want_tui && !prog.tui_opts.screen))) {
		if ((err = nf_run_bg_fork(&bg)) < 0) {
			nf_cmd_error("%s", nf_error_last());
			goto done;
		}
		if (!bg.child) {
			if (nf_run_bg_wait_start(&bg, &rc))
				rc = detach ? nf_run_bg_detached(&bg, req.dag_path, req.state_dir, prog.json)
					: nf_run_bg_attach(&bg, req.dag_path, req.state_dir);
			goto done;
		}
		/* The executor: progress lines (JSON with --json) into its log. */
		prog.want_tui = false;
		prog.bg = &bg;
		req.on_tick = on_tick;
		req.tick_ms = 250;
		req.wake_fd = -1;
	}
	if (prog.want_tui) {
		req.on_tick = on_tick;
		req.tick_ms = 100;
		req.wake_fd = prog.tui_opts.screen ? -1 : STDIN_FILENO;
	}

	req.diags = &diags;
	prog.out_tty = isatty(fileno(prog.out));
	if (!prog.out_tty)
		req.on_turn = on_turn;
	if ((err = nf_run_new(&run, &req, NULL)) == 0)
		err = nf_run_exec(run, &status);
	fflush(prog.out);   /* the cached nodes' last lines, before anything on stderr */
	run_id = nf_run_id(run);
	nf_run_free(run);
	if (prog.bg)
		nf_run_bg_end(prog.bg);   /* no client can act on it any more */
	if (prog.tui) {
		/* "finished — q to exit", then the terminal back, then the summary below. */
		nf_tui_run_finished(prog.tui, status);
		nf_tui_end(prog.tui);
	}
	nf_diag_print(&diags, stderr);
	if (err < 0 && run_id == 0) {
		if (diags.n == 0)
			nf_cmd_error("%s", nf_error_last());
		rc = err == NF_EINVALID || err == NF_ECYCLE ? NF_EXIT_USAGE : nf_cmd_exit_status(err);
		goto done;
	}
	if (err < 0)
		nf_cmd_error("run %lld: %s", (long long)run_id, nf_error_last());
	if (req.dry_run) {
		rc = NF_EXIT_OK;
		goto done;
	}
	{
		char dur[32];

		nf_format_duration(dur, sizeof(dur), nf_now_monotonic_ms() - prog.started_ms);
		if (prog.json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "event", "end");
			cJSON_AddNumberToObject(o, "run_id", (double)run_id);
			cJSON_AddStringToObject(o, "status", nf_run_status_name(status));
			print_json_line(stdout, o);
		} else if (prog.tui) {
			nf_tui_print_summary(prog.tui, stdout);   /* stays in the scroll-back */
			print_next(&prog, run_id, status);
		} else {
			print_gates(&req, run_id);
			printf("run %lld %s in %s%s%s (ntflow show %lld for details)\n", (long long)run_id,
			       nf_run_status_name(status), dur, prog.registered.len ? ": " : "",
			       nf_buf_cstr(&prog.registered), (long long)run_id);
			print_next(&prog, run_id, status);
		}
	}
	rc = nf_run_status_exit_code(status);
	if (err == NF_EDAMAGED)   /* the run stopped on a damaged state database */
		rc = NF_EXIT_DAMAGED;
done:
	nf_tui_free(prog.tui);
	nf_buf_release(&prog.registered);
	free(prog.alert_ids);
	nf_diag_list_release(&diags);
	free(params);
	free(only);
	free(force);
	return rc;
}

const nf_cmd nf_cmd_run = {
	.name = "run",
	.shared = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage = "run FILE [-j N] [-p NAME=VALUE]... [--date TIME [--interval-end TIME]] [--cohort ID] [--keep-going]\n"
		 "           [--only STAGE]... [--from STAGE] [--force STAGE]... [--no-cache] [--at COMMIT]\n"
		 "           [--executor NAME]\n"
		 "           [--dry-run] [--no-tui] [--detach] [--json] [--state DIR] [--trigger KIND]\n"
		 "           [--screen FILE [--size COLSxROWS]]\n"
		 "           [--wait | --no-wait | --wait-timeout DURATION]",
	.summary = "Run a pipeline: stages in parallel, with retries, timeouts and a record of everything.",
	.help =
	"Options:\n"
	"  -j, --jobs N          run at most N slots at once (default: the pipeline's\n"
	"                        concurrency, else the number of CPUs); a stage's cpus\n"
	"                        counts against the slots\n"
	"  -p, --param NAME=VALUE  override a parameter (checked against its declared type),\n"
	"                        a params file's key too: -p train.n_est=200\n"
	"      --date TIME       the run's logical date: YYYY-MM-DD (that day's midnight in\n"
	"                        the pipeline's time zone) or YYYY-MM-DDTHH:MM[:SS]Z (UTC);\n"
	"                        default: now. Sets ${run.date} (its day in the pipeline's\n"
	"                        time zone), ${run.week} and ${run.interval_start}\n"
	"      --interval-end TIME  with --date: the run stands for the interval\n"
	"                        [--date, TIME) (${run.interval_end}), as a scheduled or\n"
	"                        backfill run does; TIME must be later than --date\n"
	"      --cohort ID       record the run (and the model version it registers) in\n"
	"                        cohort ID, whatever the pipeline's cohort template says\n"
	"                        (1 to 128 bytes of valid UTF-8, no control characters;\n"
	"                        not \"-\", the mark of runs without a cohort)\n"
	"  -k, --keep-going      after a stage fails, keep running independent branches\n"
	"      --only STAGE      run only this stage (repeatable); its inputs are taken as\n"
	"                        they are in the workspace\n"
	"      --from STAGE      run this stage and everything downstream of it\n"
	"      --force STAGE     run this stage and what depends on it even when cached\n"
	"                        (repeatable)\n"
	"      --no-cache        run every stage; reuse nothing (results are still stored)\n"
	"      --at COMMIT       run the pipeline as it was at COMMIT, in a temporary\n"
	"                        checkout under .ntflow/worktrees/, with the same cache\n"
	"      --executor NAME   run every stage with executor NAME (local or slurm),\n"
	"                        whatever the file says; slurm submits each stage with\n"
	"                        sbatch (see ntflow-dag(5), slurm)\n"
	"  -n, --dry-run         print what would run, in order, and run nothing\n"
	"      --no-tui          plain progress lines (the default without a terminal)\n"
	"      --detach          start the run in the background, say how to watch it\n"
	"                        (ntflow dash RUN) and where its lines go, exit 0\n"
	"      --screen FILE     draw the dashboard into FILE (a file or terminal device) as\n"
	"                        a terminal of --size COLSxROWS (default 100x30): for tests\n"
	"      --json            one JSON object per state change, then a summary object\n"
	"      --state DIR       the state directory (default: NTFLOW_STATE, else .ntflow/\n"
	"                        at the root of the git repository holding FILE)\n"
	"      --trigger KIND    record the run as manual, schedule, alert or backfill;\n"
	"                        schedule without --date (a crontab line) runs for the\n"
	"                        interval closed by the schedule's latest fire time\n"
	"      --wait            when another run (or a promotion, rollback or cache gc)\n"
	"                        holds the workspace lock, wait for it (the default)\n"
	"      --no-wait         when the workspace lock is held, exit 75 at once\n"
	"      --wait-timeout DURATION  wait at most DURATION (30s, 10m), then exit 75\n"
	"\n"
	"One writer per workspace: the run holds the workspace lock (an flock on\n"
	".ntflow/lock) from before its first write to its end; a second run waits,\n"
	"saying once on stderr which run and pid it waits for. Reading commands\n"
	"(runs, show, dash, logs, registry list) never wait; two clones never wait\n"
	"for each other.\n"
	"\n"
	"A stage whose key (command, env, matrix values, the params it depends on, its inputs'\n"
	"git identities and its upstream outputs) matches an earlier successful attempt is\n"
	"not run: its outputs are restored from .ntflow/cache/ ('ntflow why' explains).\n"
	"\n"
	"On a terminal the run's executor is a process of its own (as tmux's server) and\n"
	"the dashboard its client: q then d detaches, giving the prompt back while the\n"
	"run goes on (its lines in .ntflow/executor/RUN.log); ntflow dash attaches again.\n"
	"Attached to the end, the exit status is the run's. Without a terminal one\n"
	"process runs the pipeline and prints lines.\n"
	"\n"
	"Each attempt's output goes to .ntflow/logs/RUN/STAGE.ATTEMPT.log. SIGINT or\n"
	"SIGTERM cancels the run: running stages get SIGTERM, then SIGKILL after their\n"
	"grace period; a second Ctrl-C kills at once. At the end of the run, processes that\n"
	"left their stage's process group (setsid) are killed through the NTFLOW_RUNNER mark\n"
	"in their environment (there is no cgroup: they outlive their stage's timeout).\n"
	"\n"
	"Exit status: 0 succeeded, 1 a stage failed, 2 usage or DAG error,\n"
	"3 the gate rejected the model, 75 the workspace is locked (--no-wait,\n"
	"--wait-timeout), 130 interrupted.\n",
	.exec = cmd_run_exec,
};

/* runner-slurm.c: the Slurm runner: start() queues an attempt, a timer of the loop submits
 * what was queued (runner-slurm-submit.c), and a poll timer asks squeue once per interval
 * about all of the run's live jobs. A job squeue no longer knows is looked up in sacct -c
 * (the completion log) and scontrol, and counts as failed when none of them knows its end.
 * signal() is scancel. Every end is reported through the loop's done callback from a timer,
 * never from start or signal. sbatch --wait is not used: it polls at growing intervals. */
#include "config.h"
#include "slurm-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After this many polls in a row whose squeue failed (the controller does not answer), the
 * live jobs end failed with its message instead of waiting for ever. */
#define SQUEUE_MAX_FAILURES 3
/* Polls in a row that must miss a job everywhere before it counts as vanished. */
#define VANISH_MISSES 2
/* The next submission turn when the burst left jobs queued. */
#define SUBMIT_PACE_MS 100

static void arm(slurm_runner *sr);

static int64_t
now_ms(slurm_runner *sr)
{
	return sr->clock->now_ms(sr->clock);
}

/* The job's id as Slurm writes it: "12" or "12_3". */
static void
job_label(char *out, size_t cap, const sjob *j)
{
	if (j->task >= 0)
		snprintf(out, cap, "%llu_%ld", (unsigned long long)j->job_id, j->task);
	else
		snprintf(out, cap, "%llu", (unsigned long long)j->job_id);
}

/* Appends an array task's own output file (Slurm's messages about it) to its log. */
static void
append_slurm_out(const sjob *j)
{
	char *text = NULL;
	size_t len = 0;
	int fd;

	if (!j->slurm_out || nf_read_file(&text, &len, j->slurm_out, 1 << 20) < 0 || len == 0) {
		free(text);
		nf_error_clear();
		return;
	}
	if ((fd = open(j->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
		if (write(fd, text, len) < 0) {
			/* The log is only the worse for it. */
		}
		close(fd);
	}
	free(text);
}

void
nf_slurm__finish(slurm_runner *sr, sjob *j, nf_slurm_phase phase, const char *msg, const nf_slurm_rec *rec)
{
	nf_job_result *res = &j->res;

	if (j->st == SJ_DONE)
		return;
	if (j->st == SJ_QUEUED)
		sr->queued--;
	else
		sr->live--;
	j->st = SJ_DONE;
	sr->unreported++;
	memset(res, 0, sizeof(*res));
	res->node = j->node;
	res->attempt = j->attempt;
	res->wall_ms = now_ms(sr) - j->start_ms;
	snprintf(j->msg, sizeof(j->msg), "%s", msg ? msg : "");
	switch (phase) {
	case NF_SLURM_SUCCEEDED:
		res->exited = true;
		break;
	case NF_SLURM_CANCELLED:
		res->term_signal = j->cancel_sig ? j->cancel_sig : SIGTERM;
		break;
	case NF_SLURM_TIMED_OUT:
		res->timed_out = true;
		res->term_signal = SIGTERM;
		break;
	default:
		/* The batch script's timeout(1) stopped the command (exit 124). */
		if (j->timeout_ms > 0 && rec && rec->have_exit && rec->term_signal == 0 && rec->exit_code == 124) {
			res->timed_out = true;
			res->term_signal = SIGTERM;
			j->msg[0] = '\0';
			break;
		}
		/* A known exit code counts as one (retry_on); a signal or no code at all not. */
		if (rec && rec->have_exit && rec->term_signal == 0 && rec->exit_code != 0) {
			res->exited = true;
			res->exit_code = rec->exit_code;
		} else if (rec && rec->have_exit && rec->term_signal > 0 && rec->term_signal < 64) {
			res->term_signal = rec->term_signal;
		}
		break;
	}
	res->message = j->msg[0] ? j->msg : NULL;
	append_slurm_out(j);
}

/* Reports every ended job not reported yet: from a handler of the loop only. */
static void
report(slurm_runner *sr)
{
	for (size_t i = 0; sr->unreported && sr->done && i < sr->njobs; i++) {
		sjob *j = sr->jobs[i];

		if (j->st != SJ_DONE || j->reported)
			continue;
		j->reported = true;
		sr->unreported--;
		sr->done(sr->done_ctx, &j->res);
	}
}

static void
set_status(slurm_runner *sr, sjob *j, const char *state, const char *reason)
{
	if (strcmp(j->state, state) == 0 && strcmp(j->reason, reason) == 0)
		return;
	snprintf(j->state, sizeof(j->state), "%s", state);
	snprintf(j->reason, sizeof(j->reason), "%s", reason);
	if (sr->o.hooks.on_status)
		sr->o.hooks.on_status(sr->o.hooks.ctx, j->node, j->attempt, j->state, j->reason);
}

/* The record of j among recs (an array task: its own, else the array's pending tasks). */
static const nf_slurm_rec *
find_rec(const sjob *j, const nf_slurm_rec *recs, size_t n)
{
	const nf_slurm_rec *pending = NULL;

	for (size_t i = 0; i < n; i++) {
		const nf_slurm_rec *r = &recs[i];

		if (j->task < 0) {
			if (r->job_id == j->job_id && r->array_id == 0)
				return r;
		} else if (r->array_id == j->job_id) {
			if (r->task == j->task)
				return r;
			if (r->task < 0)
				pending = r;
		}
	}
	return pending;
}

/* Applies what Slurm said about j; true when it knew j. */
static bool
apply_rec(slurm_runner *sr, sjob *j, const nf_slurm_rec *r)
{
	char msg[240];
	nf_slurm_phase ph;

	if (!r)
		return false;
	if (j->task >= 0 && r->task == j->task && r->job_id)
		j->raw_id = r->job_id;
	j->misses = 0;
	ph = nf_slurm_judge(r, j->cancel_sent, msg, sizeof(msg));
	set_status(sr, j, r->state, r->reason);
	if (!nf_slurm_phase_live(ph))
		nf_slurm__finish(sr, j, ph, msg, r);
	return true;
}

/* Runs a query tool and parses its output; false when the tool failed. */
static bool
query(nf_slurm_rec **recs, size_t *n, char *const argv[], int (*parse)(nf_slurm_rec **, size_t *, const char *),
      char *why, size_t cap)
{
	char *out = NULL, *err = NULL;
	int status = 0;
	bool ok;

	*recs = NULL;
	*n = 0;
	if (nf_slurm_exec(&status, &out, &err, argv) < 0) {
		nf_slurm__first_line(why, cap, nf_error_last());
		ok = false;
	} else if (status != 0 && !strstr(err, "Invalid job id")) {
		nf_slurm__first_line(why, cap, *err ? err : out);
		ok = false;
	} else {
		parse(recs, n, out);
		ok = true;
	}
	free(out);
	free(err);
	return ok;
}

/* The ids to ask about, comma-separated: each single job's, each array's once. */
static char *
id_list(slurm_runner *sr, bool raw)
{
	nf_buf b = NF_BUF_INIT;
	uint64_t last = 0;

	for (size_t i = 0; i < sr->njobs; i++) {
		const sjob *j = sr->jobs[i];
		uint64_t id = raw ? j->raw_id : j->job_id;

		if (j->st != SJ_SUBMITTED || id == 0 || id == last || (raw && j->misses == 0))
			continue;
		nf_buf_printf(&b, "%s%llu", b.len ? "," : "", (unsigned long long)id);
		last = id;
	}
	return nf_buf_detach(&b);
}

/* What squeue did not show: the completion log, then scontrol, then vanished. */
static void
look_elsewhere(slurm_runner *sr)
{
	char *ids = id_list(sr, true), why[200];
	nf_slurm_rec *recs = NULL;
	size_t n = 0;

	if (ids[0]) {
		char *argv[] = { "sacct", "-c", "-n", "-P", "-o", "jobid,jobname,state,exitcode", "-j", ids, NULL };

		if (query(&recs, &n, argv, nf_slurm_parse_sacct, why, sizeof(why)))
			for (size_t i = 0; i < sr->njobs; i++) {
				sjob *j = sr->jobs[i];

				/* The log keeps raw ids; our name tells a reused id apart. */
				if (j->st == SJ_SUBMITTED && j->misses > 0)
					for (size_t k = 0; k < n; k++)
						if (recs[k].job_id == j->raw_id && strcmp(recs[k].name, j->name) == 0 &&
						    apply_rec(sr, j, &recs[k]))
							break;
			}
		free(recs);
	}
	free(ids);
	for (size_t i = 0; i < sr->njobs; i++) {
		sjob *j = sr->jobs[i];
		char label[48], msg[240];

		if (j->st != SJ_SUBMITTED || j->misses == 0)
			continue;
		job_label(label, sizeof(label), j);
		{
			char *argv[] = { "scontrol", "-o", "show", "job", label, NULL };

			if (query(&recs, &n, argv, nf_slurm_parse_scontrol, why, sizeof(why)) &&
			    apply_rec(sr, j, find_rec(j, recs, n))) {
				free(recs);
				continue;
			}
			free(recs);
		}
		if (j->misses > VANISH_MISSES) {
			snprintf(msg, sizeof(msg), "Slurm job %s vanished without a known end state (not in squeue, "
				 "sacct -c or scontrol)", label);
			nf_slurm__finish(sr, j, NF_SLURM_FAILED, msg, NULL);
		}
	}
}

static void
poll_jobs(slurm_runner *sr)
{
	char *ids = id_list(sr, false), why[200], msg[240];
	char *argv[] = { "squeue", "-h", "-t", "all", "-j", ids, "-O", NF_SLURM_SQUEUE_FORMAT, NULL };
	nf_slurm_rec *recs = NULL;
	size_t n = 0;
	bool missing = false;

	if (!ids[0]) {
		free(ids);
		return;
	}
	if (!query(&recs, &n, argv, nf_slurm_parse_squeue, why, sizeof(why))) {
		free(ids);
		if (++sr->squeue_failures < SQUEUE_MAX_FAILURES)
			return;
		snprintf(msg, sizeof(msg), "squeue failed %d times in a row: %s", SQUEUE_MAX_FAILURES, why);
		for (size_t i = 0; i < sr->njobs; i++)
			if (sr->jobs[i]->st == SJ_SUBMITTED)
				nf_slurm__finish(sr, sr->jobs[i], NF_SLURM_FAILED, msg, NULL);
		return;
	}
	sr->squeue_failures = 0;
	for (size_t i = 0; i < sr->njobs; i++) {
		sjob *j = sr->jobs[i];

		if (j->st != SJ_SUBMITTED || apply_rec(sr, j, find_rec(j, recs, n)))
			continue;
		j->misses++;
		missing = true;
	}
	free(recs);
	free(ids);
	if (missing)
		look_elsewhere(sr);
}

static void
on_submit_timer(nf_loop *l, int64_t id, void *ctx)
{
	slurm_runner *sr = ctx;

	(void)id;
	sr->submit_timer = 0;
	nf_slurm__submit_some(sr);
	/* What the burst left waits a little: a thousand ready stages are not a thousand
	 * sbatch calls at once. */
	if (sr->queued)
		sr->submit_timer = nf_loop_add_timer(l, now_ms(sr) + SUBMIT_PACE_MS, on_submit_timer, sr);
	report(sr);
	arm(sr);
}

static void
on_poll_timer(nf_loop *l, int64_t id, void *ctx)
{
	slurm_runner *sr = ctx;

	(void)l;
	(void)id;
	sr->poll_timer = 0;
	poll_jobs(sr);
	report(sr);
	arm(sr);
}

static void
on_report_timer(nf_loop *l, int64_t id, void *ctx)
{
	slurm_runner *sr = ctx;

	(void)l;
	(void)id;
	sr->report_timer = 0;
	report(sr);
	arm(sr);
}

/* The timers that what is queued, live or unreported needs. */
static void
arm(slurm_runner *sr)
{
	int64_t t;

	if (!sr->loop)
		return;
	t = now_ms(sr);
	if (sr->unreported && !sr->report_timer)
		sr->report_timer = nf_loop_add_timer(sr->loop, t, on_report_timer, sr);
	if (sr->queued && !sr->submit_timer)
		sr->submit_timer = nf_loop_add_timer(sr->loop, t, on_submit_timer, sr);
	if (sr->live && !sr->poll_timer)
		sr->poll_timer = nf_loop_add_timer(sr->loop, t + sr->o.poll_ms, on_poll_timer, sr);
}

static char **
copy_strv(char *const *v)
{
	size_t n = 0;
	char **out;

	while (v && v[n])
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void
free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Copies old_log into the attempt's log with a note first. */
static void
adopt_log(const sjob *j, const adopt_ent *a, const char *label)
{
	char *text = NULL, *note;
	size_t len = 0;
	FILE *f;

	if (nf_slurm__make_parent(j->log_path) < 0 || !(f = fopen(j->log_path, "w"))) {
		nf_error_clear();
		return;
	}
	note = xasprintf("ntflow: adopted Slurm job %s (%s), which finished before the ntflow that submitted it "
			 "was killed; its log follows\n", label, a->name);
	fputs(note, f);
	if (a->old_log && nf_read_file(&text, &len, a->old_log, 0) == 0)
		fwrite(text, 1, len, f);
	nf_error_clear();
	fclose(f);
	free(text);
	free(note);
}

/* Attempt 1 of a node with a finished job of a crashed run: that job's result. */
static bool
try_adopt(slurm_runner *sr, sjob *j)
{
	nf_slurm_rec rec;
	char msg[240], label[48];

	for (size_t i = 0; i < sr->nadopt; i++) {
		adopt_ent *a = &sr->adopt[i];

		if (a->node != j->node || j->attempt != 1)
			continue;
		if (nf_slurm_query(&rec, a->job_id, a->task, a->name) < 0 ||
		    nf_slurm_judge(&rec, false, msg, sizeof(msg)) != NF_SLURM_SUCCEEDED) {
			nf_error_clear();
			return false;
		}
		j->job_id = a->job_id;
		j->task = a->task;
		snprintf(j->name, sizeof(j->name), "%s", a->name);
		job_label(label, sizeof(label), j);
		adopt_log(j, a, label);
		if (sr->o.hooks.on_submit)
			sr->o.hooks.on_submit(sr->o.hooks.ctx, j->node, j->attempt, a->task < 0 ? a->job_id : 0,
					      a->task < 0 ? 0 : a->job_id, a->task, a->submitted_ms, a->name);
		sr->queued--;
		sr->live++;   /* finish counts it down */
		j->st = SJ_SUBMITTED;
		set_status(sr, j, rec.state, rec.reason);
		nf_slurm__finish(sr, j, NF_SLURM_SUCCEEDED, NULL, &rec);
		if (sr->o.hooks.on_warning) {
			char *w = xasprintf("adopted Slurm job %s (%s) of a killed run: it had finished, so it is not "
					    "submitted again", label, a->name);

			sr->o.hooks.on_warning(sr->o.hooks.ctx, w);
			free(w);
		}
		return true;
	}
	return false;
}

static int
slurm_start(nf_runner *r, const nf_job *job, pid_t *pgid)
{
	slurm_runner *sr = (slurm_runner *)r;
	sjob *j;

	*pgid = 0;
	if (!job->command)
		return nf_error_set(NF_EINVALID, "no command to run");
	if (!job->log_path || job->log_path[0] != '/' || !job->cwd || job->cwd[0] != '/')
		return nf_error_set(NF_EINVALID, "a Slurm job needs an absolute log path and working directory");
	j = xcalloc(1, sizeof(*j));
	j->node = job->node;
	j->attempt = job->attempt;
	j->st = SJ_QUEUED;
	j->stage = xstrdup(job->stage ? job->stage : "stage");
	j->instance = job->instance ? xstrdup(job->instance) : NULL;
	j->command = xstrdup(job->command);
	j->cwd = xstrdup(job->cwd);
	j->root = xstrdup(job->root && job->root[0] == '/' ? job->root : job->cwd);
	j->log_path = xstrdup(job->log_path);
	j->env = copy_strv(job->envp);
	j->args = copy_strv(job->submit_args);
	j->timeout_ms = job->timeout_ms;
	j->grace_ms = job->grace_ms;
	j->start_ms = now_ms(sr);
	j->task = -1;
	NF_PUSH(sr->jobs, sr->njobs, sr->cap, j);
	sr->queued++;
	if (!try_adopt(sr, j))
		snprintf(j->state, sizeof(j->state), "SUBMITTING");
	arm(sr);
	return 0;
}

static sjob *
running_job(slurm_runner *sr, size_t node)
{
	for (size_t i = sr->njobs; i > 0; i--)
		if (sr->jobs[i - 1]->node == node && sr->jobs[i - 1]->st != SJ_DONE)
			return sr->jobs[i - 1];
	return NULL;
}

static int
slurm_signal(nf_runner *r, size_t node, int sig)
{
	slurm_runner *sr = (slurm_runner *)r;
	sjob *j = running_job(sr, node);
	char label[48], line[200], msg[300];
	char *argv[] = { "scancel", label, NULL }, *out = NULL, *err = NULL;
	int status = 0;

	if (!j)
		return nf_error_set(NF_ENOTFOUND, "node %zu is not running", node);
	j->cancel_sig = sig;
	if (j->st == SJ_QUEUED) {
		j->cancel_sent = true;
		nf_slurm__finish(sr, j, NF_SLURM_CANCELLED, NULL, NULL);
		arm(sr);
		return 0;
	}
	job_label(label, sizeof(label), j);
	j->cancel_sent = true;
	if (nf_slurm_exec(&status, &out, &err, argv) == 0 && (status == 0 || strstr(err, "Invalid job id"))) {
		free(out);
		free(err);
		return 0;
	}
	nf_slurm__first_line(line, sizeof(line), err && *err ? err : nf_error_last());
	free(out);
	free(err);
	/* The hard stop: say which job could not be cancelled and stop waiting for it. */
	if (sig == SIGKILL) {
		snprintf(msg, sizeof(msg), "could not cancel Slurm job %s: %s", label, line);
		if (sr->o.hooks.on_warning)
			sr->o.hooks.on_warning(sr->o.hooks.ctx, msg);
		nf_slurm__finish(sr, j, NF_SLURM_CANCELLED, NULL, NULL);
		arm(sr);
	}
	return nf_error_set(NF_ERROR, "scancel %s: %s", label, line);
}

static void
slurm_detach(nf_runner *r)
{
	slurm_runner *sr = (slurm_runner *)r;

	if (!sr->loop)
		return;
	nf_loop_del_timer(sr->loop, sr->submit_timer);
	nf_loop_del_timer(sr->loop, sr->poll_timer);
	nf_loop_del_timer(sr->loop, sr->report_timer);
	sr->submit_timer = sr->poll_timer = sr->report_timer = 0;
	sr->loop = NULL;
	sr->done = NULL;
	sr->done_ctx = NULL;
}

static int
slurm_attach(nf_runner *r, nf_loop *loop, nf_job_done_fn done, void *ctx)
{
	slurm_runner *sr = (slurm_runner *)r;

	if (!done)
		return nf_error_set(NF_EINVALID, "attaching a runner needs a done callback");
	slurm_detach(r);
	sr->loop = loop;
	sr->done = done;
	sr->done_ctx = ctx;
	arm(sr);
	return 0;
}

static void
slurm_free(nf_runner *r)
{
	slurm_runner *sr = (slurm_runner *)r;
	nf_buf ids = NF_BUF_INIT;

	if (!sr)
		return;
	slurm_detach(r);
	/* Nothing submitted may outlive the runner: one scancel for every live job. */
	for (size_t i = 0; i < sr->njobs; i++) {
		char label[48];

		if (sr->jobs[i]->st != SJ_SUBMITTED)
			continue;
		job_label(label, sizeof(label), sr->jobs[i]);
		nf_buf_printf(&ids, "%s%s", ids.len ? " " : "", label);
	}
	if (ids.len) {
		char **argv = NULL, *out = NULL, *err = NULL, *save = NULL;
		size_t n = 0, cap = 0;
		int status = 0;

		NF_PUSH(argv, n, cap, (char *)"scancel");
		for (char *t = strtok_r(ids.buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
			NF_PUSH(argv, n, cap, t);
		NF_PUSH(argv, n, cap, NULL);
		if ((nf_slurm_exec(&status, &out, &err, argv) < 0 || status != 0) && sr->o.hooks.on_warning) {
			char line[200], *w;

			nf_slurm__first_line(line, sizeof(line), err && *err ? err : nf_error_last());
			w = xasprintf("could not cancel Slurm jobs %s: %s", ids.buf, line);
			sr->o.hooks.on_warning(sr->o.hooks.ctx, w);
			free(w);
		}
		free(argv);
		free(out);
		free(err);
	}
	nf_buf_release(&ids);
	for (size_t i = 0; i < sr->njobs; i++) {
		sjob *j = sr->jobs[i];

		free(j->stage);
		free(j->instance);
		free(j->command);
		free(j->cwd);
		free(j->root);
		free(j->log_path);
		free(j->slurm_out);
		free_strv(j->env);
		free_strv(j->args);
		free(j);
	}
	for (size_t i = 0; i < sr->nadopt; i++) {
		free(sr->adopt[i].name);
		free(sr->adopt[i].old_log);
	}
	free(sr->adopt);
	free(sr->jobs);
	free((char *)sr->o.dir);
	free(sr);
}

void
nf_runner_slurm_adopt(nf_runner *r, size_t node, uint64_t job_id, long task, const char *name, const char *old_log,
		      int64_t submitted_ms)
{
	slurm_runner *sr = (slurm_runner *)r;
	adopt_ent a = { node, job_id, task, xstrdup(name), old_log ? xstrdup(old_log) : NULL, submitted_ms };

	NF_PUSH(sr->adopt, sr->nadopt, sr->adopt_cap, a);
}

static const nf_runner_ops slurm_ops = {
	.name = "slurm",
	.start = slurm_start,
	.attach = slurm_attach,
	.detach = slurm_detach,
	.signal = slurm_signal,
	.free = slurm_free,
};

int
nf_runner_slurm_new(nf_runner **out, nf_clock *clock, const nf_slurm_runner_opts *opts)
{
	slurm_runner *sr;

	*out = NULL;
	if (!opts || !opts->dir)
		return nf_error_set(NF_EINVALID, "the Slurm runner needs a folder for its scripts");
	sr = xcalloc(1, sizeof(*sr));
	sr->base.ops = &slurm_ops;
	sr->base.own_timeout = true;
	sr->clock = clock ? clock : nf_clock_system();
	sr->o = *opts;
	sr->o.dir = xstrdup(opts->dir);
	if (sr->o.poll_ms <= 0)
		sr->o.poll_ms = 2000;
	*out = &sr->base;
	return 0;
}

int
nf_slurm_cancel(uint64_t job_id)
{
	char id[32], line[200], *out = NULL, *err = NULL;
	char *argv[] = { "scancel", id, NULL };
	int status = 0, rc = 0;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)job_id);
	if (nf_slurm_exec(&status, &out, &err, argv) < 0 || status != 0) {
		nf_slurm__first_line(line, sizeof(line), err && *err ? err : nf_error_last());
		rc = nf_error_set(NF_ERROR, "scancel %s: %s", id, line);
	}
	free(out);
	free(err);
	return rc;
}

/* The record of job_id (under name) among recs. */
static const nf_slurm_rec *
pick(const nf_slurm_rec *recs, size_t n, uint64_t job_id, long task, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if ((task < 0 ? recs[i].job_id == job_id : recs[i].array_id == job_id && recs[i].task == task) &&
		    (!name || strcmp(recs[i].name, name) == 0))
			return &recs[i];
	return NULL;
}

int
nf_slurm_query(nf_slurm_rec *out, uint64_t job_id, long task, const char *name)
{
	char id[32], why[200];
	char *sq[] = { "squeue", "-h", "-t", "all", "-j", id, "-O", NF_SLURM_SQUEUE_FORMAT, NULL };
	char *sa[] = { "sacct", "-c", "-n", "-P", "-o", "jobid,jobname,state,exitcode", "-j", id, NULL };
	char *sc[] = { "scontrol", "-o", "show", "job", id, NULL };
	char *const *tools[] = { sq, sa, sc };
	int (*parsers[])(nf_slurm_rec **, size_t *, const char *) = { nf_slurm_parse_squeue, nf_slurm_parse_sacct,
								       nf_slurm_parse_scontrol };
	bool any_ok = false;

	if (task >= 0)
		snprintf(id, sizeof(id), "%llu_%ld", (unsigned long long)job_id, task);
	else
		snprintf(id, sizeof(id), "%llu", (unsigned long long)job_id);
	why[0] = '\0';
	for (size_t t = 0; t < NF_ARRAY_SIZE(tools); t++) {
		nf_slurm_rec *recs = NULL;
		const nf_slurm_rec *r;
		size_t n = 0;

		if (!query(&recs, &n, tools[t], parsers[t], why, sizeof(why)))
			continue;
		any_ok = true;
		/* sacct -c lists every job that ever had the id: the last one is the newest. */
		r = NULL;
		for (size_t i = n; i > 0 && !r; i--)
			r = pick(&recs[i - 1], 1, job_id, task, name);
		if (r) {
			*out = *r;
			free(recs);
			return 0;
		}
		free(recs);
	}
	if (!any_ok)
		return nf_error_set(NF_ERROR, "cannot ask Slurm about job %s: %s", id, why);
	return nf_error_set(NF_ENOTFOUND, "Slurm knows no job %s%s%s", id, name ? " named " : "", name ? name : "");
}

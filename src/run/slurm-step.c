/* slurm-step.c: the run's side of the Slurm executor. It makes the Slurm runner when a
 * node of the run needs it, turns a stage's slurm { } block (and its timeout, when the block
 * gives no time) into sbatch options, records each job in the store as it is submitted, and
 * at the start of a run deals with the jobs a killed run left behind: one still queued or
 * running is cancelled before anything starts (its attempt is not waited for: the new run
 * submits its own), one that finished successfully (a single job, or one task of an array)
 * is adopted by the node with the same cache key, which then takes its result (outputs
 * checked and cached) instead of submitting again; a live job named after another run of
 * this workspace that no record knows (a kill between sbatch and the commit) is cancelled. */
#include "config.h"
#include "run-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/slurm.h"

bool
nf_run__on_slurm(const nf_node *n)
{
	return n->stage->kind != NF_GATE && n->stage->opts->executor && strcmp(n->stage->opts->executor, "slurm") == 0;
}

static void
hook_submit(void *vctx, size_t node, int attempt, uint64_t job_id, uint64_t array_id, long task, int64_t submitted_ms,
	    const char *name)
{
	run_ctx *ctx = vctx;
	const char *key = nf_run__key(ctx, node);
	char *log = ctx->nodes[node].log_attempt ? nf_run__log_abs(ctx, &ctx->graph->nodes[node], ctx->nodes[node].log_attempt)
					       : nf_run__abs(ctx, "");

	nf_store_slurm_job_add(ctx->store, ctx->run_id, ctx->graph->nodes[node].name, attempt, array_id ? array_id : job_id,
			       task, submitted_ms, name, key, log);
	free(log);
	/* A job lives on outside ntflow: its record is committed now, not with the next batch
	 * (up to 50 ms later), so a kill -9 right after finds it; a failure is taken by the
	 * next turn's check of the store, which the wake brings at once. */
	(void)nf_store_flush(ctx->store);
	nf_sched_wake_within(ctx->sched, 0);
}

static void
hook_status(void *vctx, size_t node, int attempt, const char *state, const char *reason)
{
	run_ctx *ctx = vctx;

	nf_store_slurm_job_status(ctx->store, ctx->run_id, ctx->graph->nodes[node].name, attempt, state, reason);
	nf_sched_wake_within(ctx->sched, 0);   /* show and the dashboard read it from the store */
}

static void
hook_warning(void *vctx, const char *msg)
{
	run_ctx *ctx = vctx;

	if (ctx->req->on_warning)
		ctx->req->on_warning(ctx->req->ctx, msg);
}

static void
warn(run_ctx *ctx, const char *fmt, ...) NF_PRINTF(2, 3);

static void
warn(run_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	nf_buf b = NF_BUF_INIT;

	va_start(ap, fmt);
	nf_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	hook_warning(ctx, nf_buf_cstr(&b));
	nf_buf_release(&b);
}

/* The run id in a job name of ntflow's ("ntflow-RUN-stage"), 0 when it is none. */
static int64_t
name_run(const char *name)
{
	char *end;
	long long id;

	if (strncmp(name, "ntflow-", 7) != 0 || name[7] < '1' || name[7] > '9')
		return 0;
	id = strtoll(name + 7, &end, 10);
	return *end == '-' ? (int64_t)id : 0;
}

/* Jobs no record knows: a run killed after sbatch returned and before its record was
 * committed left a job only Slurm knows. The workspace lock is held, so any live job of
 * this workspace (it runs in the project root, or in a checkout of --at under the state
 * directory) named after another run of it belongs to a dead run: cancelled. One squeue. */
static void
sweep_unrecorded(run_ctx *ctx, const nf_slurm_job_row *rows, size_t nrows)
{
	char *argv[] = { "squeue", "--me", "-h", "-t", "PENDING,RUNNING,CONFIGURING", "-o", "%F|%j|%Z", NULL };
	char *out = NULL, *err = NULL, *line, *save = NULL;
	char *checkouts = xasprintf("%s/worktrees/", ctx->state_dir);
	int status = 0;

	if (nf_slurm_exec(&status, &out, &err, argv) < 0 || status != 0) {
		warn(ctx, "cannot look for jobs of killed runs: squeue: %s", err && *err ? err : nf_error_last());
		goto done;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *name = strchr(line, '|'), *dir = name ? strchr(name + 1, '|') : NULL;
		unsigned long long id;
		int64_t run;
		size_t k;

		if (!dir)
			continue;
		*name++ = '\0';
		*dir++ = '\0';
		id = strtoull(line, NULL, 10);
		run = name_run(name);
		if (!id || !run || run == ctx->run_id ||
		    (strcmp(dir, ctx->root) != 0 && strncmp(dir, checkouts, strlen(checkouts)) != 0))
			continue;
		for (k = 0; k < nrows && rows[k].job_id != id; k++)
			;
		if (k < nrows)
			continue;   /* recorded: settle_crashed dealt with it */
		if (nf_slurm_cancel(id) < 0)
			warn(ctx, "could not cancel Slurm job %llu (%s, of killed run %lld, never recorded): %s", id,
			     name, (long long)run, nf_error_last());
		else
			warn(ctx, "cancelled Slurm job %llu (%s, of killed run %lld, never recorded)", id, name,
			     (long long)run);
	}
done:
	free(checkouts);
	free(out);
	free(err);
}

/* Offers the finished job (or array task) of row r to node, with the same cache key. */
static void
offer(run_ctx *ctx, const nf_node *node, const nf_slurm_job_row *r)
{
	nf_run_slurm_adopt *a;

	if (!node || !nf_run__on_slurm(node) || !r->cache_key[0])
		return;
	a = &ctx->slurm_adopt[node->id];
	free(a->key);
	free(a->name);
	free(a->log);
	a->job_id = r->job_id;
	a->task = r->task;
	a->submitted_ms = r->submitted_ms;
	a->key = xstrdup(r->cache_key);
	a->name = xstrdup(r->name);
	a->log = xstrdup(r->log);
}

/* The jobs of killed runs: cancel the live ones, offer the finished ones for adoption. */
static void
settle_crashed(run_ctx *ctx)
{
	nf_slurm_job_row *rows = NULL;
	size_t n = 0;
	int64_t last_run = 0;

	if (nf_store_slurm_jobs_unsettled(ctx->store, ctx->run_id, &rows, &n) < 0) {
		hook_warning(ctx, nf_error_last());
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const nf_slurm_job_row *r = &rows[i];
		const nf_node *node = nf_graph_find(ctx->graph, r->node);
		char label[48], msg[240];
		nf_slurm_rec rec;
		nf_slurm_phase ph;
		int err;

		if (r->task >= 0) {
			/* An array task of a killed run: adopted, per task, when it finished
			 * successfully; otherwise cancelled if still live (a pending task may be
			 * known only as part of its array's range, so scancel -t settles it). */
			char *argv[] = { "scancel", "-t", "PENDING,RUNNING,CONFIGURING", label, NULL };
			int status = 0;

			snprintf(label, sizeof(label), "%llu_%ld", (unsigned long long)r->job_id, r->task);
			if (nf_slurm_query(&rec, r->job_id, r->task, r->name) == 0 &&
			    nf_slurm_judge(&rec, false, msg, sizeof(msg)) == NF_SLURM_SUCCEEDED) {
				offer(ctx, node, r);
				continue;
			}
			nf_error_clear();
			(void)nf_slurm_exec(&status, NULL, NULL, argv);
			continue;
		}
		snprintf(label, sizeof(label), "%llu", (unsigned long long)r->job_id);
		if ((err = nf_slurm_query(&rec, r->job_id, -1, r->name)) == NF_ENOTFOUND) {
			nf_error_clear();
			continue;   /* gone, or the id now names another job */
		}
		if (err < 0) {
			warn(ctx, "Slurm job %s (%s of killed run %lld): %s", label, r->node, (long long)r->run_id,
			     nf_error_last());
			continue;
		}
		ph = nf_slurm_judge(&rec, false, msg, sizeof(msg));
		if (nf_slurm_phase_live(ph)) {
			if (nf_slurm_cancel(r->job_id) < 0)
				warn(ctx, "could not cancel Slurm job %s (%s of killed run %lld): %s", label, r->node,
				     (long long)r->run_id, nf_error_last());
			else
				warn(ctx, "cancelled Slurm job %s (%s of killed run %lld, still %s): this run submits "
				     "it again", label, r->node, (long long)r->run_id, rec.state);
		} else if (ph == NF_SLURM_SUCCEEDED) {
			offer(ctx, node, r);
		}
	}
	sweep_unrecorded(ctx, rows, n);
	for (size_t i = 0; i < n; i++)
		if (rows[i].run_id != last_run)
			nf_store_slurm_jobs_settle(ctx->store, last_run = rows[i].run_id);
	nf_slurm_job_rows_free(rows, n);
}

int
nf_run__slurm_open(run_ctx *ctx, const bool *selected)
{
	nf_slurm_runner_opts o;
	int64_t poll = 0;
	bool any = false;
	char *dir;
	int err;

	for (size_t i = 0; i < ctx->graph->nnodes; i++) {
		const nf_node *n = &ctx->graph->nodes[i];

		if ((selected && !selected[i]) || !nf_run__on_slurm(n))
			continue;
		any = true;
		if (n->stage->opts->slurm.poll_ms > 0 && (poll == 0 || n->stage->opts->slurm.poll_ms < poll))
			poll = n->stage->opts->slurm.poll_ms;
	}
	if (!any)
		return 0;
	ctx->slurm_adopt = xcalloc(ctx->graph->nnodes + 1, sizeof(*ctx->slurm_adopt));
	memset(&o, 0, sizeof(o));
	dir = xasprintf("%s/slurm/%lld", ctx->state_dir, (long long)ctx->run_id);
	o.dir = dir;
	o.run_id = ctx->run_id;
	o.poll_ms = poll;
	o.hooks.ctx = ctx;
	o.hooks.on_submit = hook_submit;
	o.hooks.on_status = hook_status;
	o.hooks.on_warning = hook_warning;
	err = nf_runner_slurm_new(&ctx->slurm, ctx->clock, &o);
	free(dir);
	if (err < 0)
		return err;
	settle_crashed(ctx);
	return nf_store_flush(ctx->store);
}

bool
nf_run__slurm_adopt(run_ctx *ctx, const nf_node *node, int attempt)
{
	nf_run_slurm_adopt *a;

	if (!ctx->slurm || !ctx->slurm_adopt || attempt != 1 || !nf_run__on_slurm(node))
		return false;
	a = &ctx->slurm_adopt[node->id];
	if (!a->key || !nf_run__key(ctx, node->id) || strcmp(a->key, nf_run__key(ctx, node->id)) != 0)
		return false;
	nf_runner_slurm_adopt(ctx->slurm, node->id, a->job_id, a->task, a->name, a->log, a->submitted_ms);
	return true;
}

static void
push_opt(run_ctx *ctx, char ***v, size_t *n, size_t *cap, const char *flag, const char *value)
{
	if (value && value[0])
		NF_PUSH(*v, *n, *cap, nf_arena_printf(ctx->arena, "%s=%s", flag, value));
}

int
nf_run__slurm_args(run_ctx *ctx, const nf_node *node, char ***out)
{
	const nf_run_opts *o = node->stage->opts;
	const nf_slurm *sl = &o->slurm;
	char **v = NULL, num[32];
	size_t n = 0, cap = 0;
	int err = 0;

	*out = NULL;
	if (!nf_run__on_slurm(node))
		return 0;
	push_opt(ctx, &v, &n, &cap, "--partition", sl->partition);
	if (sl->time) {
		push_opt(ctx, &v, &n, &cap, "--time", sl->time);
	} else if (o->timeout_ms > 0) {
		/* Slurm's limits are whole minutes, enforced about every 30 s: the batch script
		 * stops the stage at its timeout (and grace); the limit is the backstop. */
		snprintf(num, sizeof(num), "%ld", nf_slurm_time_minutes(o->timeout_ms + o->grace_ms));
		push_opt(ctx, &v, &n, &cap, "--time", num);
	}
	if (sl->cpus > 0 || (o->set & NF_OPT_CPUS)) {
		snprintf(num, sizeof(num), "%d", sl->cpus > 0 ? sl->cpus : o->cpus);
		push_opt(ctx, &v, &n, &cap, "--cpus-per-task", num);
	}
	push_opt(ctx, &v, &n, &cap, "--mem", sl->mem);
	push_opt(ctx, &v, &n, &cap, "--gres", sl->gres);
	push_opt(ctx, &v, &n, &cap, "--account", sl->account);
	push_opt(ctx, &v, &n, &cap, "--qos", sl->qos);
	push_opt(ctx, &v, &n, &cap, "--constraint", sl->constraint);
	for (size_t i = 0; i < sl->nextra; i++) {
		char *arg = NULL;

		if ((err = nf_run__expand(&arg, ctx, node, &sl->extra[i])) < 0)
			break;
		NF_PUSH(v, n, cap, arg);
	}
	NF_PUSH(v, n, cap, NULL);
	if (err < 0) {
		free(v);
		return err;
	}
	/* In the arena with the strings: the runner copies them at start. */
	*out = nf_arena_memdup(ctx->arena, v, n * sizeof(*v));
	free(v);
	return 0;
}

void
nf_run__slurm_close(run_ctx *ctx)
{
	if (ctx->slurm) {
		ctx->slurm->ops->free(ctx->slurm);   /* scancels what is still live */
		ctx->slurm = NULL;
		if (ctx->store && ctx->run_id)
			nf_store_slurm_jobs_settle(ctx->store, ctx->run_id);
	}
	for (size_t i = 0; ctx->slurm_adopt && i < ctx->graph->nnodes; i++) {
		free(ctx->slurm_adopt[i].key);
		free(ctx->slurm_adopt[i].name);
		free(ctx->slurm_adopt[i].log);
	}
	free(ctx->slurm_adopt);
	ctx->slurm_adopt = NULL;
}

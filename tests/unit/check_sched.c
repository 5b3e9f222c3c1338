/* check_sched.c: unit tests of the scheduler on graphs built by hand, with a fake runner
 * (scripted exit codes and durations) and a fake clock that jumps to each deadline, so
 * timing is exact: critical path order, slots and cpus, back-off, timeouts, retry_on,
 * keep-going, gates, selection, cancel and interrupts, and 100 000-node graphs. */
#include "config.h"
#include "ntflow/exec.h"

#include "fake-clock.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- graphs by hand ---- */

/* A graph whose nodes each have a stage of their own; edges go from lower to higher ids. */
typedef struct tgraph {
	nf_graph g;
	nf_stage *stages;
	nf_run_opts *opts;            /* each stage's own */
	size_t *ndeps_cap, *nusers_cap;
} tgraph;

static tgraph *
tg_new(size_t n)
{
	tgraph *t = xcalloc(1, sizeof(*t));

	t->g.nnodes = n;
	t->g.nodes = xcalloc(n, sizeof(nf_node));
	t->g.order = xcalloc(n, sizeof(uint32_t));
	t->stages = xcalloc(n, sizeof(nf_stage));
	t->opts = xcalloc(n, sizeof(nf_run_opts));
	t->ndeps_cap = xcalloc(n, sizeof(size_t));
	t->nusers_cap = xcalloc(n, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		t->g.nodes[i].id = i;
		t->g.nodes[i].stage = &t->stages[i];
		t->g.nodes[i].name = xasprintf("n%zu", i);
		t->g.order[i] = i;
		t->stages[i].name = t->g.nodes[i].name;
		t->stages[i].index = i;
		t->stages[i].opts = &t->opts[i];
		t->stages[i].opts->cpus = 1;
		t->stages[i].opts->grace_ms = 10000;
	}
	return t;
}

static void
tg_name(tgraph *t, size_t i, const char *name)
{
	free((char *)t->g.nodes[i].name);
	t->g.nodes[i].name = xstrdup(name);
	t->stages[i].name = t->g.nodes[i].name;
}

/* user needs dep. */
static void
tg_edge(tgraph *t, size_t dep, size_t user)
{
	nf_node *d = &t->g.nodes[dep], *u = &t->g.nodes[user];

	NF_PUSH(u->deps, u->ndeps, t->ndeps_cap[user], dep);
	NF_PUSH(d->users, d->nusers, t->nusers_cap[dep], user);
}

/* crit: longest path to a sink counted in cpus (edges must go from lower to higher ids). */
static void
tg_crit(tgraph *t)
{
	for (size_t i = t->g.nnodes; i-- > 0;) {
		nf_node *n = &t->g.nodes[i];
		int64_t best = 0;

		for (size_t k = 0; k < n->nusers; k++) {
			if (n->users[k] <= i)
				ck_abort_msg("edge %zu -> %zu goes backwards", i, (size_t)n->users[k]);
			if (t->g.nodes[n->users[k]].crit > best)
				best = t->g.nodes[n->users[k]].crit;
		}
		n->crit = best + (t->stages[i].opts->cpus < 1 ? 1 : t->stages[i].opts->cpus);
	}
}

static void
tg_free(tgraph *t)
{
	for (size_t i = 0; i < t->g.nnodes; i++) {
		free(t->g.nodes[i].deps);
		free(t->g.nodes[i].users);
		free((char *)t->g.nodes[i].name);
	}
	free(t->g.nodes);
	free(t->g.order);
	free(t->stages);
	free(t->opts);
	free(t->ndeps_cap);
	free(t->nusers_cap);
	free(t);
}

/* ---- fake clock and fake runner ---- */

/* What one attempt does: run dur ms (-1: for ever) then exit with code, or die of sig. */
typedef struct step {
	int64_t dur;
	int code;
	int sig;
	bool ignore_term;
} step;

#define MAX_STEPS 4
#define MAX_LOG 64

typedef struct fjob {
	size_t node;
	int attempt;
	int64_t start, end;          /* end INT64_MAX: not yet */
	bool exited, ignore_term;
	int code, sig;
	int64_t timer;               /* the loop timer at end, 0: none (runs for ever) */
	int64_t late;                /* its end reported that long after it (report_late) */
} fjob;

typedef struct ev {
	size_t node;
	int64_t t;
	int attempt;                 /* starts */
	int sig;                     /* signals */
	nf_state st;                 /* states */
	char reason[96];
} ev;

typedef struct fake_runner {
	nf_runner base;
	fake_clock *clock;
	step (*script)[MAX_STEPS];   /* per node, per attempt; zeroed: 10 ms, exit 0 */
	size_t nnodes;
	fjob *running;
	size_t nrunning, cap;
	bool quiet;                  /* no event log (the big graphs) */
	ev starts[MAX_LOG], sigs[MAX_LOG];
	size_t nstarts, nsigs;
	size_t total_starts;
	int max_cpus_used, cpus_used;
	int *cpus;                   /* per node, to check slot use */
	/* interrupt injection: raise SIGINT when the clock passes these times */
	int64_t intr_at[2];
	int nintr;
	int wait_error;              /* the loop stops with it at once when non-zero */
	nf_loop *loop;               /* attached to */
	nf_job_done_fn done;
	void *done_ctx;
	/* defer_ops: jobs deferred (node, attempt), oldest first; started in an ended job's
	 * place unless defer_hold (then only by promote); withdraw_late: a withdraw finds the
	 * job already started (it starts at once, reported in the next turn) */
	struct { size_t node; int attempt; } deferred[MAX_LOG];
	size_t ndeferred;
	size_t queued_at_defer[MAX_LOG];   /* ndeferred when each defer came */
	bool defer_hold, withdraw_late, late_err;
	size_t ndefers, npromotes, nwithdraws, late_starts;
	/* > 0: an end that may start a deferred job in its place (exit 0) is reported that
	 * long after it, with that start, as ntflow-spawn's held exits are */
	int64_t report_late;
} fake_runner;

static void fake_end(nf_loop *l, int64_t id, void *ctx);

/* Starts node's attempt as scripted, at time at (now, or the end it took the place of). */
static void
fake_launch_at(fake_runner *f, size_t node, int attempt, int64_t at)
{
	step st = { 10, 0, 0, false };
	fjob j;

	if (attempt <= MAX_STEPS && f->script) {
		step *s = &f->script[node][attempt - 1];
		if (s->dur || s->code || s->sig || s->ignore_term)
			st = *s;
	}
	j = (fjob){ node, attempt, at, st.dur < 0 ? INT64_MAX : at + st.dur,
		    st.sig == 0, st.ignore_term, st.code, st.sig, 0, 0 };
	if (!f->loop)
		ck_abort_msg("start before attach");
	if (j.exited && j.code == 0)
		j.late = f->report_late;
	if (st.dur >= 0)
		j.timer = nf_loop_add_timer(f->loop, j.end + j.late, fake_end, f);
	NF_PUSH(f->running, f->nrunning, f->cap, j);
	f->total_starts++;
	f->cpus_used += f->cpus ? f->cpus[node] : 1;
	if (f->cpus_used > f->max_cpus_used)
		f->max_cpus_used = f->cpus_used;
	if (!f->quiet) {
		ck_assert_uint_lt(f->nstarts, MAX_LOG);
		f->starts[f->nstarts++] = (ev){ .node = node, .t = at, .attempt = attempt };
	}
}

static void
fake_launch(fake_runner *f, size_t node, int attempt)
{
	fake_launch_at(f, node, attempt, f->clock->now);
}

/* The deferred job at i, out of the queue. */
static void
fake_undefer(fake_runner *f, size_t i)
{
	memmove(&f->deferred[i], &f->deferred[i + 1], (f->ndeferred - i - 1) * sizeof(f->deferred[0]));
	f->ndeferred--;
}

static int
fake_defer(nf_runner *r, const nf_job *job)
{
	fake_runner *f = (fake_runner *)r;

	if (!job->command)
		ck_abort_msg("no command");
	ck_assert_uint_lt(f->ndeferred, MAX_LOG);
	ck_assert_uint_lt(f->ndefers, MAX_LOG);
	f->queued_at_defer[f->ndefers] = f->ndeferred;
	f->deferred[f->ndeferred].node = job->node;
	f->deferred[f->ndeferred++].attempt = job->attempt;
	f->ndefers++;
	return 0;
}

static int
fake_promote(nf_runner *r, size_t node, pid_t *pgid)
{
	fake_runner *f = (fake_runner *)r;

	for (size_t i = 0; i < f->ndeferred; i++)
		if (f->deferred[i].node == node) {
			int attempt = f->deferred[i].attempt;

			fake_undefer(f, i);
			f->npromotes++;
			fake_launch(f, node, attempt);
			*pgid = (pid_t)(1000 + node);
			return 1;
		}
	return 0;
}

/* A withdraw that came too late: the job started as the spawner reaped another. */
static void
fake_late_start(nf_loop *l, int64_t id, void *ctx)
{
	fake_runner *f = ctx;

	(void)l;
	(void)id;
	for (size_t i = 0; i < f->ndeferred; i++)
		if (f->deferred[i].attempt < 0) {
			size_t node = f->deferred[i].node;
			int attempt = -f->deferred[i].attempt;

			fake_undefer(f, i);
			if (f->late_err) {
				f->base.started(f->done_ctx, node, attempt, 0, 0, "cannot start a process: test");
				return;
			}
			fake_launch(f, node, attempt);
			f->base.started(f->done_ctx, node, attempt, (pid_t)(1000 + node), 0, NULL);
			return;
		}
}

static int
fake_withdraw(nf_runner *r, size_t node)
{
	fake_runner *f = (fake_runner *)r;

	for (size_t i = 0; i < f->ndeferred; i++)
		if (f->deferred[i].node == node) {
			f->nwithdraws++;
			if (f->withdraw_late) {
				f->deferred[i].attempt = -f->deferred[i].attempt;   /* marked: starts next */
				f->late_starts++;
				nf_loop_add_timer(f->loop, f->clock->now, fake_late_start, f);
				return 0;
			}
			fake_undefer(f, i);
			return 1;
		}
	return 0;
}

static int
fake_start(nf_runner *r, const nf_job *job, pid_t *pgid)
{
	fake_runner *f = (fake_runner *)r;

	if (!job->command)
		ck_abort_msg("no command");
	if (!strcmp(job->command, "refuse"))
		return nf_error_set(NF_EIO, "cannot spawn for test");
	fake_launch(f, job->node, job->attempt);
	*pgid = (pid_t)(1000 + job->node);
	return 0;
}

/* A job's end came: report it. */
static void
fake_end(nf_loop *l, int64_t id, void *ctx)
{
	fake_runner *f = ctx;

	(void)l;
	for (size_t i = 0; i < f->nrunning; i++) {
		fjob *j = &f->running[i];
		nf_job_result res;

		if (j->timer != id)
			continue;
		int64_t ended = j->end, late = j->late;

		res = (nf_job_result){ .node = j->node, .attempt = j->attempt,
				       .exited = j->exited, .exit_code = j->code,
				       .term_signal = j->sig, .wall_ms = j->end - j->start,
				       .user_ms = 1, .sys_ms = 1, .max_rss_kb = 100, .late_ms = late };
		f->cpus_used -= f->cpus ? f->cpus[j->node] : 1;
		*j = f->running[--f->nrunning];
		f->done(f->done_ctx, &res);
		/* As ntflow-spawn does: the oldest deferred job in the place of one that exited 0. */
		if (f->ndeferred && !f->defer_hold && f->deferred[0].attempt > 0 && res.exited && res.exit_code == 0) {
			size_t node = f->deferred[0].node;
			int attempt = f->deferred[0].attempt;

			fake_undefer(f, 0);
			fake_launch_at(f, node, attempt, ended);
			f->base.started(f->done_ctx, node, attempt, (pid_t)(1000 + node), late, NULL);
		}
		return;
	}
	ck_abort_msg("a job end fired for no job");
}

/* An injected Ctrl-C: the signal, and the turn ends as a real one's would. */
static void
fake_interrupt(nf_loop *l, int64_t id, void *ctx)
{
	(void)id;
	(void)ctx;
	raise(SIGINT);
	nf_loop_stop(l, 0);
}

static void
fake_broken(nf_loop *l, int64_t id, void *ctx)
{
	fake_runner *f = ctx;

	(void)id;
	nf_loop_stop(l, nf_error_set(f->wait_error, "fake runner broke"));
}

static int
fake_attach(nf_runner *r, nf_loop *loop, nf_job_done_fn done, void *ctx)
{
	fake_runner *f = (fake_runner *)r;

	f->loop = loop;
	f->done = done;
	f->done_ctx = ctx;
	/* Armed first, so an interrupt comes before job ends due at the same moment. */
	for (int i = 0; i < f->nintr && i < 2; i++)
		nf_loop_add_timer(loop, f->intr_at[i], fake_interrupt, f);
	if (f->wait_error)
		nf_loop_add_timer(loop, f->clock->now, fake_broken, f);
	return 0;
}

static void
fake_detach(nf_runner *r)
{
	fake_runner *f = (fake_runner *)r;

	f->loop = NULL;
}

static int
fake_signal(nf_runner *r, size_t node, int sig)
{
	fake_runner *f = (fake_runner *)r;

	if (!f->quiet) {
		ck_assert_uint_lt(f->nsigs, MAX_LOG);
		f->sigs[f->nsigs++] = (ev){ .node = node, .t = f->clock->now, .sig = sig };
	}
	for (size_t i = 0; i < f->nrunning; i++) {
		fjob *j = &f->running[i];

		if (j->node != node || j->end <= f->clock->now)
			continue;
		if (sig == SIGKILL || !j->ignore_term) {
			j->end = f->clock->now;
			j->exited = false;
			j->sig = sig;
			j->late = 0;
			nf_loop_del_timer(f->loop, j->timer);
			j->timer = nf_loop_add_timer(f->loop, j->end, fake_end, f);
		}
		return 0;
	}
	return nf_error_set(NF_ENOTFOUND, "node %zu is not running", node);
}

static void
fake_free(nf_runner *r)
{
	fake_runner *f = (fake_runner *)r;

	free(f->running);
	free(f->script);
	free(f->cpus);
}

static const nf_runner_ops other_ops = { .name = "other", .start = fake_start, .attach = fake_attach,
					.detach = fake_detach, .signal = fake_signal, .free = fake_free };
static const nf_runner_ops fake_ops = { .name = "fake", .start = fake_start, .attach = fake_attach,
				       .detach = fake_detach, .signal = fake_signal, .free = fake_free };
static const nf_runner_ops defer_ops = { .name = "fake", .start = fake_start, .attach = fake_attach,
					.detach = fake_detach, .signal = fake_signal, .free = fake_free,
					.defer = fake_defer, .promote = fake_promote,
					.withdraw = fake_withdraw };

/* ---- hooks ---- */

typedef struct harness {
	tgraph *t;
	fake_clock clock;
	fake_runner fr;
	nf_sched_opts opts;
	nf_sched_hooks hooks;
	nf_sched *s;
	int *decision;               /* per node: NF_PREP_* or a negative error */
	int *finish_fail;            /* per node: attempts (1-based) whose finish() fails; bitmask */
	ev *states;
	size_t nstates, states_cap;
	bool quiet;
	bool no_defer;               /* may_defer says no */
	int ticks;
	int ticks_at0;               /* on_tick calls while the clock was at 0 */
	int wake_fd;                 /* > 0: on_tick drains it (the dashboard reading keys) */
	int wake_reads;
	int wake_write;              /* > 0: the first on_tick writes a key here */
	size_t cancel_node;          /* this node reaching cancel_state calls nf_sched_cancel */
	nf_state cancel_state;
	bool cancel_hard;
	/* the dashboard's actions from on_tick: at act_at, cancel (act 1) or retry (act 2)
	 * act_node, or cancel the run (act 3); then the same with the second set */
	int act, act2;
	int64_t act_at, act2_at;
	size_t act_node, act2_node;
	int act_rc, act2_rc;
	char act2_msg[96];
	int64_t retry_at;            /* nf_sched_retry_at seen in the last RETRYING change */
} harness;

static int
h_prepare(void *ctx, const nf_node *node, int attempt, nf_job *job)
{
	harness *h = ctx;
	int d = h->decision[node->id];

	if (job->node != node->id || job->attempt != attempt)
		ck_abort_msg("job not filled in for %s", node->name);
	job->command = d == 100 ? "refuse" : "work";
	job->log_path = "/nonexistent/log";
	if (d == 100)
		return NF_PREP_SPAWN;
	if (d < 0)
		return nf_error_set(d, "cannot prepare %s", node->name);
	return d;
}

static int
h_finish(void *ctx, const nf_node *node, const nf_job_result *res)
{
	harness *h = ctx;

	if (!res->exited || res->exit_code != 0)
		ck_abort_msg("finish() after a failed attempt");
	if (h->finish_fail[node->id] & (1 << res->attempt))
		return nf_error_set(NF_ENOTFOUND, "output 'out/%s' is missing", node->name);
	return 0;
}

static void
h_on_state(void *ctx, const nf_node *node, nf_state st, int attempt, const nf_job_result *res,
	   const char *reason, pid_t pgid, int64_t late_ms)
{
	harness *h = ctx;

	/* plain tests on hot paths: each passing ck_assert costs Check a write */
	if (pgid != (st == NF_ST_RUNNING ? (pid_t)(1000 + node->id) : 0))
		ck_abort_msg("pgid %d for %s %s", (int)pgid, node->name, nf_state_name(st));
	if (res && res->attempt != attempt)
		ck_abort_msg("attempt %d reported as %d", res->attempt, attempt);
	if (node->id == h->cancel_node && st == h->cancel_state)
		nf_sched_cancel(h->s, h->cancel_hard);
	if (st == NF_ST_RETRYING)
		h->retry_at = nf_sched_retry_at(h->s, node->id);
	if (h->quiet)
		return;
	ev e = { .node = node->id, .t = h->clock.now - late_ms, .attempt = attempt, .st = st };   /* as run.c */
	if (reason)
		snprintf(e.reason, sizeof(e.reason), "%s", reason);
	NF_PUSH(h->states, h->nstates, h->states_cap, e);
}

static bool
h_may_defer(void *ctx)
{
	return !((harness *)ctx)->no_defer;
}

static void
h_on_tick(void *ctx)
{
	harness *h = ctx;

	h->ticks++;
	if (h->clock.now == 0)
		h->ticks_at0++;
	if (h->wake_fd > 0) {
		char c;

		while (read(h->wake_fd, &c, 1) == 1)
			h->wake_reads++;
	}
	if (h->wake_write > 0 && h->ticks == 1 && write(h->wake_write, "k", 1) != 1)
		ck_abort_msg("cannot write a key");
	if (h->act == 3 && h->clock.now >= h->act_at) {
		nf_sched_cancel(h->s, false);   /* the whole run, as q in the dashboard */
		h->act = 0;
	} else if (h->act && h->clock.now >= h->act_at) {
		h->act_rc = h->act == 1 ? nf_sched_cancel_node(h->s, h->act_node) : nf_sched_retry(h->s, h->act_node);
		h->act = 0;
	} else if (!h->act && h->act2 && h->clock.now >= h->act2_at) {
		h->act2_rc = h->act2 == 1 ? nf_sched_cancel_node(h->s, h->act2_node) : nf_sched_retry(h->s, h->act2_node);
		snprintf(h->act2_msg, sizeof(h->act2_msg), "%s", nf_error_last());
		h->act2 = 0;
	}
}

static harness *
h_new(size_t n)
{
	harness *h = xcalloc(1, sizeof(*h));

	h->t = tg_new(n);
	h->clock.base.now_ms = fake_now;
	h->clock.base.skip_to = fake_skip;
	h->fr.base.ops = &fake_ops;
	h->fr.clock = &h->clock;
	h->fr.script = xcalloc(n, sizeof(*h->fr.script));
	h->fr.nnodes = n;
	h->fr.cpus = xcalloc(n, sizeof(int));
	h->decision = xcalloc(n, sizeof(int));
	h->finish_fail = xcalloc(n, sizeof(int));
	h->opts.slots = 1;
	h->opts.seed = 42;
	h->hooks = (nf_sched_hooks){ .ctx = h, .prepare = h_prepare, .finish = h_finish, .on_state = h_on_state,
				     .on_tick = h_on_tick, .may_defer = h_may_defer };
	h->cancel_node = (size_t)-1;
	return h;
}

/* Runs the scheduler; returns nf_sched_run's code, the outcome in *status. */
static int
h_run(harness *h, nf_run_status *status)
{
	tg_crit(h->t);
	for (size_t i = 0; i < h->t->g.nnodes; i++) {
		int c = h->t->stages[i].opts->cpus;
		h->fr.cpus[i] = c < 1 ? 1 : c > h->opts.slots ? h->opts.slots : c;
	}
	h->fr.quiet = h->quiet;
	ck_assert_int_eq(nf_sched_new(&h->s, &h->t->g, &h->fr.base, &h->clock.base, &h->opts,
				      &h->hooks), 0);
	return nf_sched_run(h->s, status);
}

static void
h_free(harness *h)
{
	nf_sched_free(h->s);
	h->fr.base.ops->free(&h->fr.base);
	tg_free(h->t);
	free(h->decision);
	free(h->finish_fail);
	free(h->states);
	free(h);
}

/* The last state event of node, or NULL. */
static const ev *
last_state(const harness *h, size_t node)
{
	for (size_t i = h->nstates; i-- > 0;)
		if (h->states[i].node == node)
			return &h->states[i];
	return NULL;
}

/* The time node's attempt started; -1 when it did not. */
static int64_t
start_time(const harness *h, size_t node, int attempt)
{
	for (size_t i = 0; i < h->fr.nstarts; i++)
		if (h->fr.starts[i].node == node && h->fr.starts[i].attempt == attempt)
			return h->fr.starts[i].t;
	return -1;
}

#define ck_state(h, node, st_) ck_assert_str_eq(nf_state_name(nf_sched_state((h)->s, node)), \
						 nf_state_name(st_))
#define ck_reason(h, node, r) ck_assert_str_eq(last_state(h, node)->reason, r)

/* ---- tests ---- */

START_TEST(test_names)
{
	nf_run_status rs;

	ck_assert_str_eq(nf_state_name(NF_ST_WAITING), "waiting");
	ck_assert_str_eq(nf_state_name(NF_ST_TIMED_OUT), "timed-out");
	ck_assert_str_eq(nf_state_name(NF_ST_REJECTED), "rejected");
	ck_assert_str_eq(nf_state_name(NF_ST__COUNT), "unknown");
	ck_assert(!nf_state_is_final(NF_ST_RETRYING));
	ck_assert(!nf_state_is_final(NF_ST_RUNNING));
	ck_assert(nf_state_is_final(NF_ST_CACHED));
	ck_assert(nf_state_is_final(NF_ST_SKIPPED));
	ck_assert(nf_state_is_final(NF_ST_REJECTED));
	ck_assert_str_eq(nf_run_status_name(NF_RUN_GATED), "gated");
	ck_assert_str_eq(nf_run_status_name(NF_RUN_CRASHED), "crashed");
	ck_assert_int_eq(nf_run_status_parse(&rs, "cancelled"), 0);
	ck_assert_int_eq(rs, NF_RUN_CANCELLED);
	ck_assert_int_eq(nf_run_status_parse(&rs, "done"), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "unknown run status 'done'");
	ck_assert_int_eq(nf_run_status_exit_code(NF_RUN_SUCCEEDED), 0);
	ck_assert_int_eq(nf_run_status_exit_code(NF_RUN_FAILED), 1);
	ck_assert_int_eq(nf_run_status_exit_code(NF_RUN_GATED), 3);
	ck_assert_int_eq(nf_run_status_exit_code(NF_RUN_CANCELLED), 130);
}
END_TEST

START_TEST(test_backoff_formula)
{
	ck_assert_int_eq(nf_backoff_ms(1000, 60000, 1, 0.5), 0);
	ck_assert_int_eq(nf_backoff_ms(1000, 60000, 2, 0.5), 500);
	ck_assert_int_eq(nf_backoff_ms(1000, 60000, 3, 0.5), 1000);
	ck_assert_int_eq(nf_backoff_ms(1000, 60000, 4, 0.25), 1000);
	ck_assert_int_eq(nf_backoff_ms(1000, 5000, 5, 0.5), 2500);    /* 8000 capped at 5000 */
	ck_assert_int_eq(nf_backoff_ms(1000, 5000, 2, 0.0), 0);
	ck_assert_int_eq(nf_backoff_ms(0, 5000, 3, 0.5), 0);
	ck_assert_int_lt(nf_backoff_ms(1000, 5000, 2, 0.99999999999), 1000);
	ck_assert_int_ge(nf_backoff_ms(1000, 5000, 2, 0.99999999999), 999);
	/* out-of-range draws are clamped */
	ck_assert_int_eq(nf_backoff_ms(1000, 5000, 2, 7.0), 999);
	ck_assert_int_eq(nf_backoff_ms(1000, 5000, 2, -1.0), 0);
	/* huge attempts and bases neither overflow nor loop */
	ck_assert_int_eq(nf_backoff_ms(1000, 300000, 1000000, 0.5), 150000);
	ck_assert_int_eq(nf_backoff_ms(INT64_MAX / 2 + 1, 0, 70, 0.5), INT64_MAX / 2 + 1);
	ck_assert_int_lt(nf_backoff_ms(INT64_MAX, 0, 3, 0.999999), INT64_MAX);
	ck_assert_int_gt(nf_backoff_ms(INT64_MAX, 0, 3, 0.999999), 0);
}
END_TEST

START_TEST(test_new_errors)
{
	tgraph *t = tg_new(1);
	fake_clock c = { { fake_now, NULL }, 0 };
	fake_runner fr = { .base.ops = &fake_ops, .clock = &c };
	nf_sched_opts opts = { .slots = 0 };
	nf_sched_hooks hooks = { .prepare = h_prepare };
	nf_sched *s = (nf_sched *)1;

	ck_assert_int_eq(nf_sched_new(&s, &t->g, &fr.base, &c.base, &opts, &hooks), NF_EINVALID);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(nf_error_last(), "invalid number of slots 0 (must be at least 1)");
	opts.slots = 2;
	hooks.prepare = NULL;
	ck_assert_int_eq(nf_sched_new(&s, &t->g, &fr.base, &c.base, &opts, &hooks), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "scheduler needs a prepare hook");
	ck_assert_int_eq(nf_sched_new(&s, NULL, &fr.base, &c.base, &opts, &hooks), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "scheduler needs a graph, a runner, options and hooks");
	nf_sched_free(NULL);
	tg_free(t);
}
END_TEST

/* A long chain's head starts before a short branch even when the branch has a lower id. */
START_TEST(test_critical_path)
{
	harness *h = h_new(4);
	nf_run_status st;

	tg_edge(h->t, 1, 2);
	tg_edge(h->t, 2, 3);
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(h->t->g.nodes[1].crit, 3);
	ck_assert_uint_eq(h->fr.nstarts, 4);
	/* head, mid (crit 2), then short and tail tie at crit 1: lower id first */
	ck_assert_uint_eq(h->fr.starts[0].node, 1);
	ck_assert_uint_eq(h->fr.starts[1].node, 2);
	ck_assert_uint_eq(h->fr.starts[2].node, 0);
	ck_assert_uint_eq(h->fr.starts[3].node, 3);
	ck_assert_int_eq(h->fr.starts[3].t, 30);
	ck_assert_int_eq(h->clock.now, 40);
	for (size_t i = 0; i < 4; i++) {
		ck_state(h, i, NF_ST_SUCCEEDED);
		ck_assert_int_eq(nf_sched_attempts(h->s, i), 1);
	}
	ck_assert_int_gt(h->ticks, 0);
	h_free(h);
}
END_TEST

/* -j 2: a cpus=2 node runs alone; a cpus=4 node still runs (alone), no deadlock. */
START_TEST(test_slots_cpus)
{
	harness *h = h_new(4);
	nf_run_status st;

	h->opts.slots = 2;
	h->t->stages[0].opts->cpus = 2;
	h->t->stages[3].opts->cpus = 4;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	/* crit: n3 = 4, n0 = 2, n1 = n2 = 1 */
	ck_assert_int_eq(start_time(h, 3, 1), 0);
	ck_assert_int_eq(start_time(h, 0, 1), 10);
	ck_assert_int_eq(start_time(h, 1, 1), 20);
	ck_assert_int_eq(start_time(h, 2, 1), 20);
	ck_assert_int_eq(h->fr.max_cpus_used, 2);
	h_free(h);
}
END_TEST

/* Three one-cpu nodes with -j 2: two at once, the third when one ends. */
START_TEST(test_slots_parallel)
{
	harness *h = h_new(3);
	nf_run_status st;

	h->opts.slots = 2;
	h->fr.script[0][0] = (step){ 30, 0, 0, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(start_time(h, 0, 1), 0);
	ck_assert_int_eq(start_time(h, 1, 1), 0);
	ck_assert_int_eq(start_time(h, 2, 1), 10);
	ck_assert_int_eq(h->clock.now, 30);
	h_free(h);
}
END_TEST

/* Fails twice, succeeds on the third attempt; back-off spacing is exact for a seed. */
static void
run_backoff(uint64_t seed, int64_t *t2, int64_t *t3)
{
	harness *h = h_new(1);
	nf_run_status st;

	h->opts.seed = seed;
	h->t->stages[0].opts->retries = 2;
	h->t->stages[0].opts->backoff_ms = 1000;
	h->t->stages[0].opts->backoff_max_ms = 60000;
	h->fr.script[0][0] = (step){ 10, 1, 0, false };
	h->fr.script[0][1] = (step){ 10, 1, 0, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(nf_sched_attempts(h->s, 0), 3);
	ck_assert_int_eq(start_time(h, 0, 1), 0);
	*t2 = start_time(h, 0, 2);
	*t3 = start_time(h, 0, 3);
	/* the attempt end was reported as RETRYING with its reason */
	ck_assert_int_eq(h->states[1].st, NF_ST_RUNNING);
	ck_assert_int_eq(h->states[2].st, NF_ST_RETRYING);
	ck_assert_str_eq(h->states[2].reason, "exit 1");
	ck_assert_int_eq(h->states[2].t, 10);
	ck_assert_int_eq(h->states[3].st, NF_ST_READY);
	ck_assert_int_eq(h->states[3].t, *t2);
	ck_assert_int_ge(*t2 - 10, 0);
	ck_assert_int_lt(*t2 - 10, 1000);      /* attempt 2: jitter over 1s */
	ck_assert_int_ge(*t3 - (*t2 + 10), 0);
	ck_assert_int_lt(*t3 - (*t2 + 10), 2000);   /* attempt 3: over 2s */
	h_free(h);
}

START_TEST(test_backoff_timing)
{
	int64_t a2, a3, b2, b3, c2, c3;

	run_backoff(42, &a2, &a3);
	run_backoff(42, &b2, &b3);
	run_backoff(7, &c2, &c3);
	ck_assert_int_eq(a2, b2);
	ck_assert_int_eq(a3, b3);
	ck_assert(a2 != c2 || a3 != c3);
	/* splitmix64 from seed 42: draws 0.741..., 0.159... */
	ck_assert_int_eq(a2, 10 + 741);
	ck_assert_int_eq(a3, a2 + 10 + 319);
}
END_TEST

/* SIGTERM at the timeout, SIGKILL after the grace when TERM is ignored. */
START_TEST(test_timeout_kill)
{
	static int codes[] = { 3 };
	harness *h = h_new(2);
	nf_run_status st;

	h->t->stages[0].opts->timeout_ms = 1000;
	h->t->stages[0].opts->grace_ms = 500;
	h->t->stages[0].opts->retries = 1;
	h->t->stages[0].opts->nretry_on = 1;
	h->t->stages[0].opts->retry_on = codes;   /* so the timeout is not retried */
	h->fr.script[0][0] = (step){ -1, 0, 0, true };
	tg_edge(h->t, 0, 1);
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_assert_uint_eq(h->fr.nsigs, 2);
	ck_assert_int_eq(h->fr.sigs[0].sig, SIGTERM);
	ck_assert_int_eq(h->fr.sigs[0].t, 1000);
	ck_assert_int_eq(h->fr.sigs[1].sig, SIGKILL);
	ck_assert_int_eq(h->fr.sigs[1].t, 1500);
	ck_state(h, 0, NF_ST_TIMED_OUT);
	ck_assert_int_eq(nf_sched_attempts(h->s, 0), 1);
	ck_assert_str_eq(last_state(h, 0)->reason, "timed out after 1s");
	ck_state(h, 1, NF_ST_SKIPPED);
	ck_reason(h, 1, "needs failed stage n0");
	h_free(h);
}
END_TEST

/* A job that obeys SIGTERM gets no SIGKILL; a timed-out attempt is retried by default. */
START_TEST(test_timeout_retry)
{
	harness *h = h_new(1);
	nf_run_status st;

	h->t->stages[0].opts->timeout_ms = 1000;
	h->t->stages[0].opts->retries = 1;
	h->fr.script[0][0] = (step){ -1, 0, 0, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_assert_uint_eq(h->fr.nsigs, 1);
	ck_assert_int_eq(h->fr.sigs[0].sig, SIGTERM);
	ck_assert_int_eq(nf_sched_attempts(h->s, 0), 2);
	ck_assert_int_eq(start_time(h, 0, 2), 1000);   /* no back-off configured */
	ck_assert_str_eq(h->states[2].reason, "timed out after 1s");
	ck_assert_int_eq(h->states[2].st, NF_ST_RETRYING);
	h_free(h);
}
END_TEST

/* retry_on: a listed code is retried, another is not; a signal is not either. */
START_TEST(test_retry_on)
{
	static int codes[] = { 75, 76 };
	harness *h = h_new(2);
	nf_run_status st;

	for (int i = 0; i < 2; i++) {
		h->t->stages[i].opts->retries = 3;
		h->t->stages[i].opts->nretry_on = 2;
		h->t->stages[i].opts->retry_on = codes;
	}
	h->opts.keep_going = true;
	h->fr.script[0][0] = (step){ 10, 75, 0, false };
	h->fr.script[0][1] = (step){ 10, 1, 0, false };
	h->fr.script[1][0] = (step){ 10, 0, SIGSEGV, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_state(h, 0, NF_ST_FAILED);
	ck_assert_int_eq(nf_sched_attempts(h->s, 0), 2);
	ck_reason(h, 0, "exit 1");
	ck_state(h, 1, NF_ST_FAILED);
	ck_assert_int_eq(nf_sched_attempts(h->s, 1), 1);
	ck_reason(h, 1, "killed by SIGSEGV");
	h_free(h);
}
END_TEST

/* Runs out of retries: the final state carries the last attempt's reason. */
START_TEST(test_retries_exhausted)
{
	harness *h = h_new(1);
	nf_run_status st;

	h->t->stages[0].opts->retries = 2;
	for (int a = 0; a < 3; a++)
		h->fr.script[0][a] = (step){ 10, 2 + a, 0, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_assert_int_eq(nf_sched_attempts(h->s, 0), 3);
	ck_reason(h, 0, "exit 4");
	ck_assert_int_eq(last_state(h, 0)->attempt, 3);
	h_free(h);
}
END_TEST

/* n0 fails; n1 needs n0, n2 needs n1; n3 is long and independent; n4 waits for a slot. */
static harness *
keep_going_graph(bool keep_going)
{
	harness *h = h_new(5);

	h->opts.slots = 2;
	h->opts.keep_going = keep_going;
	tg_edge(h->t, 0, 1);
	tg_edge(h->t, 1, 2);
	h->fr.script[0][0] = (step){ 10, 1, 0, false };
	h->fr.script[3][0] = (step){ 100, 0, 0, false };
	return h;
}

START_TEST(test_stop_after_failure)
{
	harness *h = keep_going_graph(false);
	nf_run_status st;

	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_state(h, 0, NF_ST_FAILED);
	ck_reason(h, 0, "exit 1");
	ck_state(h, 1, NF_ST_SKIPPED);
	ck_reason(h, 1, "needs failed stage n0");
	ck_state(h, 2, NF_ST_SKIPPED);
	ck_reason(h, 2, "needs failed stage n0");
	ck_state(h, 3, NF_ST_SUCCEEDED);   /* running ones finish */
	ck_state(h, 4, NF_ST_SKIPPED);
	ck_reason(h, 4, "run stopped after failure of n0");
	ck_assert_int_eq(start_time(h, 4, 1), -1);
	ck_assert_int_eq(h->clock.now, 100);
	h_free(h);
}
END_TEST

START_TEST(test_keep_going)
{
	harness *h = keep_going_graph(true);
	nf_run_status st;

	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_state(h, 1, NF_ST_SKIPPED);
	ck_reason(h, 1, "needs failed stage n0");
	ck_state(h, 2, NF_ST_SKIPPED);
	ck_state(h, 3, NF_ST_SUCCEEDED);
	ck_state(h, 4, NF_ST_SUCCEEDED);
	ck_assert_int_eq(start_time(h, 4, 1), 10);
	h_free(h);
}
END_TEST

/* A node waiting for its retry when another fails for good is not retried. */
START_TEST(test_stop_while_retrying)
{
	harness *h = h_new(2);
	nf_run_status st;

	h->opts.slots = 2;
	h->t->stages[0].opts->retries = 1;
	h->t->stages[0].opts->backoff_ms = 100000;
	h->fr.script[0][0] = (step){ 5, 9, 0, false };
	h->fr.script[1][0] = (step){ 10, 1, 0, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_state(h, 0, NF_ST_FAILED);
	ck_reason(h, 0, "not retried: run stopped after failure of n1");
	ck_assert_int_eq(nf_sched_attempts(h->s, 0), 1);
	ck_assert_int_eq(h->clock.now, 10);   /* no wait for the stale back-off timer */
	h_free(h);
}
END_TEST

/* A gate that says no skips what follows; the run is GATED; independent work goes on. */
START_TEST(test_gate_rejected)
{
	harness *h = h_new(4);
	nf_run_status st;

	tg_name(h->t, 0, "promote");
	h->t->stages[0].kind = NF_GATE;
	h->decision[0] = NF_PREP_REJECTED;
	tg_edge(h->t, 0, 1);
	tg_edge(h->t, 1, 2);
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_GATED);
	ck_state(h, 0, NF_ST_REJECTED);
	ck_state(h, 1, NF_ST_SKIPPED);
	ck_reason(h, 1, "gate promote rejected");
	ck_state(h, 2, NF_ST_SKIPPED);
	ck_reason(h, 2, "gate promote rejected");
	ck_state(h, 3, NF_ST_SUCCEEDED);
	ck_assert_uint_eq(h->fr.nstarts, 1);
	h_free(h);
}
END_TEST

/* Gate passes and cache hits finish without a process and release their users. */
START_TEST(test_no_process)
{
	harness *h = h_new(3);
	nf_run_status st;

	h->decision[0] = NF_PREP_CACHED;
	h->decision[1] = NF_PREP_SUCCEEDED;
	tg_edge(h->t, 0, 1);
	tg_edge(h->t, 1, 2);
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_state(h, 0, NF_ST_CACHED);
	ck_state(h, 1, NF_ST_SUCCEEDED);
	ck_state(h, 2, NF_ST_SUCCEEDED);
	ck_assert_uint_eq(h->fr.nstarts, 1);
	ck_assert_uint_eq(h->fr.starts[0].node, 2);
	h_free(h);
}
END_TEST

/* All cached: no wait at all, one final tick. */
START_TEST(test_all_cached)
{
	harness *h = h_new(2);
	nf_run_status st;

	h->decision[0] = h->decision[1] = NF_PREP_CACHED;
	tg_edge(h->t, 0, 1);
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(h->ticks, 1);
	h_free(h);
}
END_TEST

/* prepare() and start() failures fail the node at once, without retries. */
START_TEST(test_prepare_errors)
{
	harness *h = h_new(3);
	nf_run_status st;

	h->opts.keep_going = true;
	for (int i = 0; i < 3; i++)
		h->t->stages[i].opts->retries = 3;
	h->decision[0] = NF_EIO;
	h->decision[1] = 100;     /* the fake runner refuses to start it */
	h->decision[2] = 42;      /* not a decision */
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_state(h, 0, NF_ST_FAILED);
	ck_reason(h, 0, "cannot prepare n0");
	ck_assert_int_eq(nf_sched_attempts(h->s, 0), 1);
	ck_state(h, 1, NF_ST_FAILED);
	ck_reason(h, 1, "cannot spawn for test");
	ck_state(h, 2, NF_ST_FAILED);
	ck_reason(h, 2, "prepare returned an unknown decision 42");
	h_free(h);
}
END_TEST

/* finish() failing (a missing output) fails the attempt; it is retried like any failure. */
START_TEST(test_finish_failure)
{
	harness *h = h_new(1);
	nf_run_status st;

	h->t->stages[0].opts->retries = 1;
	h->finish_fail[0] = 1 << 1;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(nf_sched_attempts(h->s, 0), 2);
	ck_assert_int_eq(h->states[2].st, NF_ST_RETRYING);
	ck_assert_str_eq(h->states[2].reason, "output 'out/n0' is missing");
	h_free(h);
}
END_TEST

/* Unselected nodes are skipped and count as satisfied for their users. */
START_TEST(test_not_selected)
{
	harness *h = h_new(3);
	nf_run_status st;
	bool sel[3] = { false, true, false };

	h->opts.selected = sel;
	tg_edge(h->t, 0, 1);
	tg_edge(h->t, 1, 2);
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_state(h, 0, NF_ST_SKIPPED);
	ck_reason(h, 0, "not selected");
	ck_state(h, 1, NF_ST_SUCCEEDED);
	ck_state(h, 2, NF_ST_SKIPPED);
	ck_reason(h, 2, "not selected");
	ck_assert_uint_eq(h->fr.nstarts, 1);
	h_free(h);
}
END_TEST

/* Cancel from a hook: TERM to the running ones, KILL after the grace to one that ignores
 * it, pending nodes cancelled, the run CANCELLED. */
START_TEST(test_cancel)
{
	harness *h = h_new(4);
	nf_run_status st;

	h->opts.slots = 3;
	h->t->stages[0].opts->grace_ms = 300;
	h->fr.script[0][0] = (step){ -1, 0, 0, true };
	h->fr.script[1][0] = (step){ 5, 0, 0, false };
	h->fr.script[2][0] = (step){ 1000, 0, 0, false };
	tg_edge(h->t, 2, 3);
	h->cancel_node = 1;         /* when n1 succeeds, at 5 */
	h->cancel_state = NF_ST_SUCCEEDED;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_state(h, 0, NF_ST_CANCELLED);
	ck_state(h, 1, NF_ST_SUCCEEDED);
	ck_state(h, 2, NF_ST_CANCELLED);
	ck_state(h, 3, NF_ST_CANCELLED);
	ck_reason(h, 3, "cancelled");
	ck_assert_uint_eq(h->fr.nsigs, 3);
	ck_assert_int_eq(h->fr.sigs[0].sig, SIGTERM);
	ck_assert_int_eq(h->fr.sigs[0].t, 5);
	ck_assert_int_eq(h->fr.sigs[1].sig, SIGTERM);
	ck_assert_uint_eq(h->fr.sigs[2].node, 0);
	ck_assert_int_eq(h->fr.sigs[2].sig, SIGKILL);
	ck_assert_int_eq(h->fr.sigs[2].t, 305);
	ck_assert_int_eq(h->clock.now, 305);
	/* the cancelled attempts carry their result */
	ck_assert_int_eq(last_state(h, 0)->t, 305);
	h_free(h);
}
END_TEST

START_TEST(test_cancel_hard)
{
	harness *h = h_new(2);
	nf_run_status st;

	h->opts.slots = 2;
	h->fr.script[0][0] = (step){ -1, 0, 0, true };
	h->cancel_node = 1;
	h->cancel_state = NF_ST_RUNNING;
	h->cancel_hard = true;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_assert_uint_eq(h->fr.nsigs, 2);
	ck_assert_int_eq(h->fr.sigs[0].sig, SIGKILL);
	ck_assert_int_eq(h->fr.sigs[1].sig, SIGKILL);
	ck_assert_int_eq(h->clock.now, 0);
	h_free(h);
}
END_TEST

/* Cancel before the run: nothing starts. */
START_TEST(test_cancel_before)
{
	harness *h = h_new(2);
	nf_run_status st;

	tg_crit(h->t);
	ck_assert_int_eq(nf_sched_new(&h->s, &h->t->g, &h->fr.base, &h->clock.base, &h->opts,
				      &h->hooks), 0);
	nf_sched_cancel(h->s, false);
	ck_assert_int_eq(nf_sched_run(h->s, &st), 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_assert_uint_eq(h->fr.nstarts, 0);
	ck_state(h, 0, NF_ST_CANCELLED);
	ck_state(h, 1, NF_ST_CANCELLED);
	ck_assert_int_eq(nf_sched_run(h->s, &st), NF_ERROR);
	ck_assert_str_eq(nf_error_last(), "a scheduler runs only once");
	h_free(h);
}
END_TEST

/* The dashboard's c: one running node gets TERM and ends cancelled, what needs it is
 * skipped, the others go on, and the run ends CANCELLED. tick_ms wakes the loop. */
START_TEST(test_cancel_node)
{
	harness *h = h_new(3);
	nf_run_status st;

	h->opts.slots = 2;
	h->hooks.tick_ms = 10;
	h->fr.script[0][0] = (step){ 1000, 0, 0, false };
	h->fr.script[2][0] = (step){ 200, 0, 0, false };
	tg_edge(h->t, 0, 1);
	h->act = 1;
	h->act_at = 50;
	h->act_node = 0;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(h->act_rc, 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_state(h, 0, NF_ST_CANCELLED);
	ck_state(h, 1, NF_ST_SKIPPED);
	ck_reason(h, 1, "needs cancelled stage n0");
	ck_state(h, 2, NF_ST_SUCCEEDED);
	ck_assert_uint_eq(h->fr.nsigs, 1);
	ck_assert_int_eq(h->fr.sigs[0].sig, SIGTERM);
	ck_assert_int_eq(h->fr.sigs[0].t, 50);
	ck_assert_int_ge(h->ticks, 200 / 10);
	/* after the loop, and for a node that ended */
	ck_assert_int_eq(nf_sched_cancel_node(h->s, 2), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "cannot cancel n2: the run is not going");
	ck_assert_int_eq(nf_sched_retry(h->s, 0), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "cannot retry n0: the run is over");
	ck_assert_int_eq(nf_sched_cancel_node(h->s, 9), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "no node 9");
	h_free(h);
}
END_TEST

/* A waiting node cancelled on its own ends at once; an ended one cannot be cancelled. */
START_TEST(test_cancel_node_waiting)
{
	harness *h = h_new(3);
	nf_run_status st;

	h->hooks.tick_ms = 10;
	h->fr.script[0][0] = (step){ 100, 0, 0, false };
	tg_edge(h->t, 0, 1);
	tg_edge(h->t, 1, 2);
	h->act = 1;
	h->act_at = 20;
	h->act_node = 1;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(h->act_rc, 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_state(h, 0, NF_ST_SUCCEEDED);
	ck_state(h, 1, NF_ST_CANCELLED);
	ck_state(h, 2, NF_ST_SKIPPED);
	ck_reason(h, 2, "needs cancelled stage n1");
	ck_assert_uint_eq(h->fr.nsigs, 0);
	h_free(h);

	h = h_new(2);
	h->hooks.tick_ms = 10;
	h->fr.script[1][0] = (step){ 100, 0, 0, false };
	h->opts.slots = 2;
	h->act = 1;
	h->act_at = 50;
	h->act_node = 0;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(h->act_rc, NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "cannot cancel n0: it has already ended (succeeded)");
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	h_free(h);
}
END_TEST

/* The dashboard's r: a failed node runs again in the same run with fresh retries; what its
 * failure and the stop skipped runs after it; the run then succeeds. */
START_TEST(test_retry_node)
{
	harness *h = h_new(4);
	nf_run_status st;

	h->opts.slots = 2;
	h->hooks.tick_ms = 10;
	h->t->stages[0].opts->retries = 1;
	h->t->stages[0].opts->backoff_ms = 5;
	h->fr.script[0][0] = (step){ 10, 1, 0, false };
	h->fr.script[0][1] = (step){ 10, 2, 0, false };
	h->fr.script[0][2] = (step){ 10, 0, 0, false };
	h->fr.script[2][0] = (step){ 500, 0, 0, false };
	tg_edge(h->t, 0, 1);
	tg_edge(h->t, 2, 3);        /* n3 waits for n2, and is skipped by the stop */
	h->act = 2;
	h->act_at = 100;
	h->act_node = 0;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(h->act_rc, 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_state(h, 0, NF_ST_SUCCEEDED);
	ck_state(h, 1, NF_ST_SUCCEEDED);
	ck_state(h, 2, NF_ST_SUCCEEDED);
	ck_state(h, 3, NF_ST_SUCCEEDED);
	ck_assert_int_eq(nf_sched_attempts(h->s, 0), 3);
	ck_assert_int_ge(start_time(h, 0, 3), 100);
	ck_assert_int_lt(start_time(h, 0, 3), 110);
	ck_assert_int_ge(h->retry_at, 10);
	ck_assert_int_le(h->retry_at, 15);
	ck_assert_uint_eq(nf_sched_done(h->s), 4);
	h_free(h);
}
END_TEST

/* r on a node that has not failed, or behind one that is dead. */
START_TEST(test_retry_node_errors)
{
	harness *h = h_new(2);
	nf_run_status st;

	h->opts.slots = 2;
	h->hooks.tick_ms = 10;
	h->fr.script[0][0] = (step){ 200, 0, 0, false };
	h->act = 2;
	h->act_at = 50;
	h->act_node = 0;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(h->act_rc, NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "cannot retry n0: it is running, not failed");
	h_free(h);

	/* n1 was cancelled while waiting for n0, which then failed: n1 cannot come back */
	h = h_new(3);
	h->opts.slots = 2;
	h->opts.keep_going = true;
	h->hooks.tick_ms = 10;
	h->fr.script[0][0] = (step){ 100, 1, 0, false };
	h->fr.script[2][0] = (step){ 400, 0, 0, false };
	tg_edge(h->t, 0, 1);
	h->act = 1;
	h->act_at = 20;
	h->act_node = 1;
	h->act2 = 2;
	h->act2_at = 200;
	h->act2_node = 1;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(h->act_rc, 0);
	ck_assert_int_eq(h->act2_rc, NF_EINVALID);
	ck_assert_str_eq(h->act2_msg, "cannot retry n1: it needs n0, which is failed");
	ck_assert_int_eq(st, NF_RUN_FAILED);
	h_free(h);
}
END_TEST

/* SIGINT: the first one cancels with TERM, the second kills at once. */
START_TEST(test_interrupts)
{
	harness *h = h_new(2);
	nf_run_status st;

	ck_assert_int_eq(nf_signals_install(), 0);
	h->opts.slots = 2;
	h->t->stages[0].opts->grace_ms = 10000;
	h->fr.script[0][0] = (step){ -1, 0, 0, true };
	h->fr.script[1][0] = (step){ -1, 0, 0, true };
	h->fr.intr_at[0] = 100;
	h->fr.intr_at[1] = 200;
	h->fr.nintr = 2;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_assert_uint_eq(h->fr.nsigs, 4);
	ck_assert_int_eq(h->fr.sigs[0].sig, SIGTERM);
	ck_assert_int_eq(h->fr.sigs[0].t, 100);
	ck_assert_int_eq(h->fr.sigs[2].sig, SIGKILL);
	ck_assert_int_eq(h->fr.sigs[2].t, 200);
	ck_assert_int_eq(h->fr.sigs[3].sig, SIGKILL);
	ck_assert_int_eq(h->clock.now, 200);
	ck_state(h, 0, NF_ST_CANCELLED);
	ck_assert_int_eq(nf_signals_take(), 0);
	h_free(h);
}
END_TEST

/* A Ctrl-C between the ends of two stages and the runner's late report of them (ntflow-
 * spawn holds the wakeup): they had succeeded before the cancel, and are recorded so; the
 * stage still running is cancelled. */
START_TEST(test_interrupt_after_late_ends)
{
	harness *h = h_new(3);
	nf_run_status st;

	ck_assert_int_eq(nf_signals_install(), 0);
	h->opts.slots = 3;
	h->fr.report_late = 5;
	h->fr.script[0][0] = (step){ 10, 0, 0, false };
	h->fr.script[1][0] = (step){ 12, 0, 0, false };
	h->fr.script[2][0] = (step){ -1, 0, 0, false };
	h->fr.intr_at[0] = 13;   /* the ends at 10 and 12 are heard of at 15 and 17 */
	h->fr.nintr = 1;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_state(h, 0, NF_ST_SUCCEEDED);
	ck_state(h, 1, NF_ST_SUCCEEDED);
	ck_state(h, 2, NF_ST_CANCELLED);
	ck_assert_int_eq(nf_signals_take(), 0);
	h_free(h);
}
END_TEST

START_TEST(test_runner_error)
{
	harness *h = h_new(1);
	nf_run_status st;

	h->fr.wait_error = NF_EIO;
	ck_assert_int_eq(h_run(h, &st), NF_EIO);
	ck_assert_str_eq(nf_error_last(), "fake runner broke");
	ck_assert_int_eq(st, NF_RUN_FAILED);
	h_free(h);
}
END_TEST

/* The dashboard's terminal: readable, it wakes the loop and on_tick runs at once, before
 * the clock moves. */
START_TEST(test_wake_fd)
{
	harness *h = h_new(1);
	nf_run_status st;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	h->wake_fd = p[0];
	h->fr.script[0][0] = (step){ 1000, 0, 0, false };
	tg_crit(h->t);
	ck_assert_int_eq(nf_sched_new(&h->s, &h->t->g, &h->fr.base, &h->clock.base, &h->opts,
				      &h->hooks), 0);
	ck_assert_ptr_nonnull(nf_sched_loop(h->s));
	nf_sched_wake_fd(h->s, p[0]);
	h->wake_write = p[1];   /* a key pressed after the first tick */
	ck_assert_int_eq(nf_sched_run(h->s, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	/* the tick after the start, and the key's */
	ck_assert_int_eq(h->ticks_at0, 2);
	ck_assert_int_eq(h->wake_reads, 1);
	ck_assert_int_eq(h->clock.now, 1000);
	nf_sched_wake_fd(h->s, -1);
	h_free(h);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Without a wake fd the same run ticks once at 0. */
START_TEST(test_no_wake_fd)
{
	harness *h = h_new(1);
	nf_run_status st;

	h->fr.script[0][0] = (step){ 1000, 0, 0, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(h->ticks_at0, 1);
	h_free(h);
}
END_TEST

/* Each node runs on the runner its executor names, and its signals go there too. */
START_TEST(test_several_runners)
{
	harness *h = h_new(3);
	fake_runner other = { .base.ops = &other_ops };
	nf_runner *extra[] = { &other.base, &h->fr.base };   /* the default again: ignored */
	nf_run_status st;

	other.clock = &h->clock;
	other.script = xcalloc(3, sizeof(*other.script));
	other.script[1][0] = (step){ -1, 0, 0, false };
	h->opts.slots = 3;
	h->opts.runners = extra;
	h->opts.nrunners = 2;
	h->t->stages[1].opts->executor = "other";
	h->t->stages[1].opts->timeout_ms = 100;
	h->t->stages[1].opts->grace_ms = 50;
	h->t->stages[2].opts->executor = "fake";
	h->opts.keep_going = true;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_state(h, 0, NF_ST_SUCCEEDED);
	ck_state(h, 1, NF_ST_TIMED_OUT);
	ck_state(h, 2, NF_ST_SUCCEEDED);
	ck_assert_uint_eq(h->fr.nstarts, 2);
	ck_assert_uint_eq(other.nstarts, 1);
	ck_assert_uint_eq(other.starts[0].node, 1);
	ck_assert_uint_eq(h->fr.nsigs, 0);
	ck_assert_uint_eq(other.nsigs, 1);
	ck_assert_int_eq(other.sigs[0].sig, SIGTERM);
	ck_assert_int_eq(other.sigs[0].t, 100);
	ck_assert_ptr_null(other.loop);   /* detached at the end */
	other.base.ops->free(&other.base);
	h_free(h);
}
END_TEST

/* An executor no runner of the run answers to fails its node, never runs it elsewhere. */
START_TEST(test_unknown_executor)
{
	harness *h = h_new(2);
	nf_run_status st;

	h->t->stages[0].opts->executor = "slurm";
	tg_edge(h->t, 0, 1);
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_state(h, 0, NF_ST_FAILED);
	ck_reason(h, 0, "no runner for executor \"slurm\" in this run");
	ck_state(h, 1, NF_ST_SKIPPED);
	ck_assert_uint_eq(h->fr.nstarts, 0);
	h_free(h);
}
END_TEST

/* ---- deferred starts (a runner with defer, as the local one) ---- */

/* n independent nodes run on one slot by a runner that defers (hold: it starts a deferred
 * one only when promoted): all succeed, each started 10 after the one before. */
static harness *
h_defer_run(size_t n, bool hold)
{
	harness *h = h_new(n);
	nf_run_status st;

	h->fr.base.ops = &defer_ops;
	h->fr.defer_hold = hold;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(start_time(h, i, 1), (int64_t)(10 * i));
	return h;
}

/* With no slot free, the next ready nodes are deferred, six per slot, and each starts in
 * the place of a job that ends, reported after that end; a node is RUNNING, its timeout
 * counting, only from its start. */
START_TEST(test_defer_in_place)
{
	harness *h = h_new(6);
	nf_run_status st;

	h->fr.base.ops = &defer_ops;
	h->t->stages[5].opts->timeout_ms = 15;   /* deferred at 10, started at 50, runs 10 */
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	for (size_t i = 0; i < 6; i++) {
		ck_state(h, i, NF_ST_SUCCEEDED);
		ck_assert_int_eq(start_time(h, i, 1), (int64_t)(10 * i));
	}
	ck_assert_int_eq(h->fr.max_cpus_used, 1);
	ck_assert_uint_eq(h->fr.ndefers, 5);
	ck_assert_uint_eq(h->fr.npromotes, 0);
	for (size_t k = 0; k < h->nstates; k++)
		if (h->states[k].st == NF_ST_RUNNING)
			ck_assert_int_eq(h->states[k].t, (int64_t)(10 * h->states[k].node));
	h_free(h);
}
END_TEST

/* n nodes on one slot, ends heard of late ms late; node 1, deferred, runs until stopped
 * (ignoring SIGTERM when stubborn), with a timeout of 15 ms and a grace of 5: run, it timed
 * out, started at 10 in node 0's place. */
static harness *
h_late_run(size_t n, int64_t late, bool stubborn)
{
	harness *h = h_new(n);
	nf_run_status st;

	h->fr.base.ops = &defer_ops;
	h->fr.report_late = late;
	h->t->stages[1].opts->timeout_ms = 15;
	h->t->stages[1].opts->grace_ms = 5;
	h->t->stages[1].opts->retries = 0;
	h->fr.script[1][0] = (step){ -1, 0, 0, stubborn };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_state(h, 1, NF_ST_TIMED_OUT);
	ck_assert_int_eq(start_time(h, 1, 1), 10);
	return h;
}

/* A runner that hears of ends late (ntflow-spawn holds exits): the end and the start in its
 * place are recorded at the times they happened, and the timeout of the started one runs
 * from its real start, not from when the scheduler heard of it. */
START_TEST(test_defer_reported_late)
{
	harness *h = h_late_run(3, 4, false);   /* node 1 heard of at 14 */

	ck_state(h, 0, NF_ST_SUCCEEDED);
	ck_assert_uint_ge(h->fr.nsigs, 1);
	ck_assert_int_eq(h->fr.sigs[0].node, 1);
	ck_assert_int_eq(h->fr.sigs[0].sig, SIGTERM);
	ck_assert_int_eq(h->fr.sigs[0].t, 25);        /* 10 + 15, not 14 + 15 */
	for (size_t k = 0; k < h->nstates; k++) {
		if (h->states[k].node == 0 && h->states[k].st == NF_ST_SUCCEEDED)
			ck_assert_int_eq(h->states[k].t, 10);
		if (h->states[k].node == 1 && h->states[k].st == NF_ST_RUNNING)
			ck_assert_int_eq(h->states[k].t, 10);
	}
	h_free(h);
}
END_TEST

/* Heard of later than its timeout: stopped at once, and the grace counts from the SIGTERM,
 * not from when the timeout was due. */
START_TEST(test_defer_reported_late_grace)
{
	harness *h = h_late_run(2, 20, true);   /* node 1 heard of at 30, due at 25 */

	ck_assert_uint_eq(h->fr.nsigs, 2);
	ck_assert_int_eq(h->fr.sigs[0].sig, SIGTERM);
	ck_assert_int_eq(h->fr.sigs[0].t, 30);
	ck_assert_int_eq(h->fr.sigs[1].sig, SIGKILL);
	ck_assert_int_eq(h->fr.sigs[1].t, 35);
	h_free(h);
}
END_TEST

/* The deferred are topped up in bursts: six fill the queue of the one slot, then nothing
 * is deferred while more than three wait, and each top-up fills it again, so that the
 * requests reach the runner together rather than one after each end. */
START_TEST(test_defer_topped_up_from_half)
{
	harness *h = h_defer_run(30, false);

	ck_assert_uint_eq(h->fr.ndefers, 29);
	ck_assert_uint_eq(h->fr.npromotes, 0);
	for (size_t k = 0; k < h->fr.ndefers; k++)
		ck_assert_uint_eq(h->fr.queued_at_defer[k], (k < 6 ? k : 3 + (k - 6) % 3));
	h_free(h);
}
END_TEST

/* A runner that did not start a deferred job when one ended (its queue was empty then):
 * the free slot goes to the oldest deferred, promoted, before any other ready node. */
START_TEST(test_defer_promote)
{
	harness *h = h_defer_run(6, true);

	ck_assert_int_eq(h->fr.max_cpus_used, 1);
	ck_assert_uint_eq(h->fr.npromotes, 5);
	h_free(h);
}
END_TEST

/* A cancel takes the deferred back: they end cancelled without having started. */
START_TEST(test_defer_cancel)
{
	harness *h = h_new(4);
	nf_run_status st;

	h->hooks.tick_ms = 10;
	h->fr.base.ops = &defer_ops;
	h->fr.script[0][0] = (step){ 100, 0, 0, false };
	h->act = 3;
	h->act_at = 50;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_state(h, 0, NF_ST_CANCELLED);
	for (size_t i = 1; i < 4; i++) {
		ck_state(h, i, NF_ST_CANCELLED);
		ck_reason(h, i, "cancelled");
		ck_assert_int_eq(start_time(h, i, 1), -1);
	}
	ck_assert_uint_eq(h->fr.total_starts, 1);
	ck_assert_uint_eq(h->fr.nwithdraws, 3);
	h_free(h);
}
END_TEST

/* One deferred node cancelled from the dashboard: taken back, the others run. */
START_TEST(test_defer_cancel_node)
{
	harness *h = h_new(4);
	nf_run_status st;

	h->hooks.tick_ms = 10;
	h->fr.base.ops = &defer_ops;
	h->act = 1;
	h->act_node = 2;
	h->act_at = 5;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(h->act_rc, 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_state(h, 2, NF_ST_CANCELLED);
	ck_assert_int_eq(start_time(h, 2, 1), -1);
	ck_state(h, 1, NF_ST_SUCCEEDED);
	ck_state(h, 3, NF_ST_SUCCEEDED);
	ck_assert_int_eq(start_time(h, 3, 1), 20);
	h_free(h);
}
END_TEST

/* A failure without keep-going: nothing starts in the failed one's place; a deferred job
 * started in the place of one that succeeded in the same turn (before the failure was
 * heard of) runs on, as the running do; the others are taken back and skipped. */
START_TEST(test_defer_stop_after_failure)
{
	harness *h = h_new(6);
	nf_run_status st;

	h->fr.base.ops = &defer_ops;
	h->opts.slots = 2;
	h->fr.script[0][0] = (step){ 10, 1, 0, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_state(h, 0, NF_ST_FAILED);
	ck_state(h, 1, NF_ST_SUCCEEDED);
	ck_state(h, 2, NF_ST_SUCCEEDED);
	ck_assert_int_eq(start_time(h, 2, 1), 10);
	for (size_t i = 3; i < 6; i++) {
		ck_state(h, i, NF_ST_SKIPPED);
		ck_reason(h, i, "run stopped after failure of n0");
		ck_assert_int_eq(start_time(h, i, 1), -1);
	}
	ck_assert_uint_eq(h->fr.total_starts, 3);
	h_free(h);
}
END_TEST

/* A withdraw that comes too late (the job started in an ended one's place): the start,
 * when it is reported, is stopped as a cancel stops the running. */
START_TEST(test_defer_late_withdraw)
{
	harness *h = h_new(2);
	nf_run_status st;

	h->hooks.tick_ms = 10;
	h->fr.base.ops = &defer_ops;
	h->fr.withdraw_late = true;
	h->fr.script[0][0] = (step){ 100, 0, 0, false };
	h->fr.script[1][0] = (step){ 100, 0, 0, false };
	h->act = 3;
	h->act_at = 50;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	ck_assert_uint_eq(h->fr.late_starts, 1);
	ck_assert_int_eq(start_time(h, 1, 1), 50);
	ck_state(h, 1, NF_ST_CANCELLED);
	ck_assert_uint_eq(h->fr.nsigs, 2);
	ck_assert_uint_eq(h->fr.sigs[1].node, 1);
	ck_assert_int_eq(h->fr.sigs[1].sig, SIGTERM);
	ck_assert_int_eq(h->fr.sigs[1].t, 50);
	h_free(h);
}
END_TEST

/* The run may refuse deferral (a nearly full disk): the next stages wait for free slots. */
START_TEST(test_defer_refused)
{
	harness *h = h_new(4);
	nf_run_status st;

	h->fr.base.ops = &defer_ops;
	h->no_defer = true;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_assert_uint_eq(h->fr.ndefers, 0);
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(start_time(h, i, 1), (int64_t)(10 * i));
	h_free(h);
}
END_TEST

/* A deferred node taken back by a stop after failure has not used up an attempt: revived
 * by a retry of the failed one, it runs as attempt 1 with all its retries. */
static void
defer_revived(const nf_runner_ops *ops)
{
	harness *h = h_new(4);
	nf_run_status st;
	size_t runs = 0;

	h->fr.base.ops = ops;
	h->opts.slots = 2;
	h->hooks.tick_ms = 10;
	h->fr.script[0][0] = (step){ 10, 1, 0, false };    /* n0 fails: the run stops */
	h->fr.script[1][0] = (step){ 500, 0, 0, false };   /* keeps the loop going */
	for (int a = 0; a < MAX_STEPS; a++)
		h->fr.script[3][a] = (step){ 10, 1, 0, false };
	h->t->stages[3].opts->retries = 1;
	h->act = 2;   /* retry n0 */
	h->act_at = 100;
	h->act_node = 0;
	ck_assert_int_eq(h_run(h, &st), 0);
	for (size_t i = 0; i < h->fr.nstarts; i++)
		runs += h->fr.starts[i].node == 3;
	ck_assert_uint_eq(runs, 2);
	ck_assert_int_ge(start_time(h, 3, 1), 100);
	h_free(h);
}

START_TEST(test_defer_revived)
{
	defer_revived(&fake_ops);
	defer_revived(&defer_ops);
}
END_TEST

/* A deferred node cancelled alone whose withdraw came late, and whose start then failed:
 * cancelled, as asked, not failed (which would stop the run). */
START_TEST(test_defer_cancel_node_start_failed)
{
	harness *h = h_new(3);
	nf_run_status st;

	h->fr.base.ops = &defer_ops;
	h->fr.withdraw_late = h->fr.late_err = true;
	h->hooks.tick_ms = 10;
	h->fr.script[0][0] = (step){ 100, 0, 0, false };
	h->act = 1;
	h->act_node = 1;
	h->act_at = 50;
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(h->act_rc, 0);
	ck_state(h, 1, NF_ST_CANCELLED);
	ck_state(h, 0, NF_ST_SUCCEEDED);
	ck_state(h, 2, NF_ST_SUCCEEDED);
	ck_assert_int_eq(st, NF_RUN_CANCELLED);
	h_free(h);
}
END_TEST

/* Only a node of one slot is deferred, and the strict order holds: a wide node at the head
 * waits for its slots, and nothing behind it is deferred past it. */
START_TEST(test_defer_wide_head)
{
	harness *h = h_new(4);
	nf_run_status st;

	h->fr.base.ops = &defer_ops;
	h->opts.slots = 2;
	h->fr.script[1][0] = (step){ 100, 0, 0, false };
	h->t->stages[2].opts->cpus = 2;
	tg_edge(h->t, 0, 2);   /* n2 and n3 ready at 10, n2 at the head (two cpus) */
	tg_edge(h->t, 0, 3);
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_assert_uint_eq(h->fr.ndefers, 1);   /* n3, once n2 took both slots at 100 */
	ck_assert_int_eq(start_time(h, 2, 1), 100);
	ck_assert_int_eq(start_time(h, 3, 1), 110);
	ck_assert_int_eq(h->fr.max_cpus_used, 2);
	h_free(h);
}
END_TEST

START_TEST(test_cycle)
{
	harness *h = h_new(3);
	nf_run_status st;

	/* built by hand past tg_crit, which wants forward edges */
	tg_edge(h->t, 1, 2);
	tg_edge(h->t, 2, 1);
	ck_assert_int_eq(nf_sched_new(&h->s, &h->t->g, &h->fr.base, &h->clock.base, &h->opts,
				      &h->hooks), 0);
	ck_assert_int_eq(nf_sched_run(h->s, &st), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "2 nodes can never start (a dependency cycle?)");
	h_free(h);
}
END_TEST

START_TEST(test_big_chain)
{
	size_t n = 100000;
	harness *h = h_new(n);
	nf_run_status st;

	h->quiet = true;
	h->opts.slots = 4;
	for (size_t i = 1; i < n; i++)
		tg_edge(h->t, i - 1, i);
	h->fr.script[n / 2][0] = (step){ 1, 0, 0, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_SUCCEEDED);
	ck_assert_uint_eq(h->fr.total_starts, n);
	ck_assert_int_eq(h->clock.now, (int64_t)(n - 1) * 10 + 1);
	ck_state(h, n - 1, NF_ST_SUCCEEDED);
	h_free(h);
}
END_TEST

START_TEST(test_big_wide)
{
	size_t n = 100000;
	harness *h = h_new(n + 1);
	nf_run_status st;

	h->quiet = true;
	h->opts.slots = 8;
	h->opts.keep_going = true;
	for (size_t i = 1; i <= n; i++)
		tg_edge(h->t, 0, i);
	h->fr.script[7][0] = (step){ 10, 1, 0, false };
	ck_assert_int_eq(h_run(h, &st), 0);
	ck_assert_int_eq(st, NF_RUN_FAILED);
	ck_assert_uint_eq(h->fr.total_starts, n + 1);
	ck_assert_int_eq(h->fr.max_cpus_used, 8);
	ck_state(h, 7, NF_ST_FAILED);
	ck_state(h, n, NF_ST_SUCCEEDED);
	h_free(h);
}
END_TEST

static Suite *
sched_suite(void)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_backoff_formula);
	tcase_add_test(tc, test_new_errors);
	tcase_add_test(tc, test_critical_path);
	tcase_add_test(tc, test_slots_cpus);
	tcase_add_test(tc, test_slots_parallel);
	tcase_add_test(tc, test_backoff_timing);
	tcase_add_test(tc, test_timeout_kill);
	tcase_add_test(tc, test_timeout_retry);
	tcase_add_test(tc, test_retry_on);
	tcase_add_test(tc, test_retries_exhausted);
	tcase_add_test(tc, test_stop_after_failure);
	tcase_add_test(tc, test_keep_going);
	tcase_add_test(tc, test_stop_while_retrying);
	tcase_add_test(tc, test_gate_rejected);
	tcase_add_test(tc, test_no_process);
	tcase_add_test(tc, test_all_cached);
	tcase_add_test(tc, test_prepare_errors);
	tcase_add_test(tc, test_finish_failure);
	tcase_add_test(tc, test_not_selected);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_cancel_hard);
	tcase_add_test(tc, test_cancel_before);
	tcase_add_test(tc, test_cancel_node);
	tcase_add_test(tc, test_cancel_node_waiting);
	tcase_add_test(tc, test_retry_node);
	tcase_add_test(tc, test_retry_node_errors);
	tcase_add_test(tc, test_interrupts);
	tcase_add_test(tc, test_runner_error);
	tcase_add_test(tc, test_wake_fd);
	tcase_add_test(tc, test_no_wake_fd);
	tcase_add_test(tc, test_several_runners);
	tcase_add_test(tc, test_unknown_executor);
	tcase_add_test(tc, test_defer_in_place);
	tcase_add_test(tc, test_defer_reported_late);
	tcase_add_test(tc, test_defer_reported_late_grace);
	tcase_add_test(tc, test_interrupt_after_late_ends);
	tcase_add_test(tc, test_defer_topped_up_from_half);
	tcase_add_test(tc, test_defer_promote);
	tcase_add_test(tc, test_defer_cancel);
	tcase_add_test(tc, test_defer_cancel_node);
	tcase_add_test(tc, test_defer_stop_after_failure);
	tcase_add_test(tc, test_defer_late_withdraw);
	tcase_add_test(tc, test_defer_wide_head);
	tcase_add_test(tc, test_defer_refused);
	tcase_add_test(tc, test_defer_revived);
	tcase_add_test(tc, test_defer_cancel_node_start_failed);
	tcase_add_test(tc, test_cycle);
	tcase_add_test(tc, test_big_chain);
	tcase_add_test(tc, test_big_wide);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sched_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

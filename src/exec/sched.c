/* sched.c: the scheduler loop. It keeps a state per node and a count of unfinished
 * dependencies, a ready queue ordered by critical path, and a queue of timers (attempt
 * timeouts, SIGKILL after the grace, ends of back-off). Each turn it fills the free slots,
 * sleeps in its event loop (the runners' sources, the dashboard's terminal and tick, the
 * run's flush) until a job ends, a timer is due or a signal arrives, then handles what
 * happened. Work per event is proportional to the node's own edges: finishing a node
 * walks only its users; only failure-stop and cancel look at every node, once. With every
 * slot taken, the next ready nodes of one slot are deferred with a runner that can (the
 * local one): it starts each in the place of a job that ends and reports the start after
 * that end, so the next stage does not wait for this loop to hear of the end. */
#include "config.h"
#include "ntflow/exec.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

typedef enum { T_NONE, T_TIMEOUT, T_KILL, T_BACKOFF } timer_kind;

/* The scheduler's view of one node. */
/* 32 bytes: the fields ordered so that none pads (a 100 000-node run holds 100 000). */
typedef struct node_rt {
	uint8_t st;                  /* nf_state */
	uint8_t timer;               /* timer_kind of the node's live timer */
	bool timed_out;              /* the running attempt got its timeout SIGTERM */
	bool cancel_sent;            /* the running attempt was signalled by a cancel */
	bool last_timed_out;         /* RETRYING: the attempt that ended had timed out */
	bool user_cancel;            /* cancelled on its own by nf_sched_cancel_node */
	uint8_t runner;              /* index in runners[] of the running attempt's runner */
	bool deferred;               /* READY, its attempt deferred with its runner (not started) */
	int attempts;                /* attempts prepared so far */
	int attempt_base;            /* attempts before the last nf_sched_retry: retries count from here */
	uint32_t gen;                /* bumped to make the node's queued timers stale */
	uint32_t pending;            /* dependencies not yet satisfied (a node's ndeps) */
	int64_t timer_when;
} node_rt;

/* What a runner reported: an attempt's end, or a deferred attempt's start (err: why it
 * could not start, owned). */
typedef struct sched_event {
	bool started;
	nf_job_result res;           /* the end; for a start: node, attempt and late_ms */
	pid_t pgid;
	char *err;
} sched_event;

typedef struct timer_ent {
	int64_t when;
	size_t node;
	uint32_t gen;
} timer_ent;

#define MAX_RUNNERS 255

struct nf_sched {
	const nf_graph *g;
	nf_runner **runners;         /* [0]: nf_sched_new's, then opts.runners (no duplicate) */
	size_t nrunners;
	nf_clock *clock;
	nf_loop *loop;
	struct sched_event *results; /* reported by the runners during a turn, in order */
	size_t nresults, results_cap;
	size_t *deferq;              /* deferred nodes not known to have started, oldest first */
	size_t ndeferq, deferq_cap;
	size_t ndeferred;            /* deferred nodes whose start is not yet reported */
	int wake_fd;                 /* nf_sched_wake_fd, or -1 */
	int64_t tick_timer, wake_timer;   /* loop timer ids, 0: none */
	nf_sched_opts opts;
	nf_sched_hooks hooks;
	node_rt *rt;
	nf_heap ready;               /* node ids: crit descending, then id */
	nf_heap timers;              /* timer_ent: soonest first; stale entries skipped */
	int free_slots;
	size_t running, nfinal, nfailed, nrejected, ncancelled;
	bool stopping;               /* a node finally failed without keep_going */
	bool looping;                /* inside nf_sched_run's loop: retry and cancel_node may act */
	bool poked;                  /* a hook retried or cancelled a node: look again before sleeping */
	bool cancelling, cancel_req, hard_req;
	int64_t cancelled_ms;        /* when the run's cancel began (now_ms) */
	bool killing;                /* a hard cancel was applied: a late start is SIGKILLed */
	bool dirty;                  /* a state changed since the last on_tick */
	int64_t wake_at;             /* nf_sched_wake_within: wake_timer's time */
	bool ran;
	int interrupts;
	uint64_t rng;
	nf_buf reason, skip_reason;
	size_t *stack;
	size_t stack_cap;
};

static const nf_run_opts default_opts = { .cpus = 1 };

static const nf_run_opts *
opts_of(const nf_sched *s, size_t n)
{
	const nf_stage *st = s->g->nodes[n].stage;

	return st && st->opts ? st->opts : &default_opts;
}

/* Slots a node takes: its cpus, at least 1, at most all of them (so it can run alone). */
static int
need_slots(const nf_sched *s, size_t n)
{
	int cpus = opts_of(s, n)->cpus;

	if (cpus < 1)
		cpus = 1;
	return cpus > s->opts.slots ? s->opts.slots : cpus;
}

static bool
is_selected(const nf_sched *s, size_t n)
{
	return !s->opts.selected || s->opts.selected[n];
}

static int64_t
now_ms(nf_sched *s)
{
	return s->clock->now_ms(s->clock);
}

/* splitmix64: small, seedable, good enough for jitter. A uniform double in [0,1). */
static double
next_rnd(nf_sched *s)
{
	uint64_t z = (s->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	z ^= z >> 31;
	return (double)(z >> 11) * 0x1.0p-53;
}

int64_t
nf_backoff_ms(int64_t base_ms, int64_t max_ms, int attempt, double rnd)
{
	int64_t cap;
	double d;

	if (attempt < 2 || base_ms <= 0)
		return 0;
	if (max_ms <= 0)
		max_ms = INT64_MAX;   /* no cap */
	cap = base_ms < max_ms ? base_ms : max_ms;
	/* Doubling stops at the cap, so a huge attempt number cannot overflow or loop long. */
	for (int i = 2; i < attempt && cap < max_ms; i++)
		cap = cap > max_ms / 2 ? max_ms : cap * 2;
	if (!(rnd > 0))
		return 0;   /* also NaN */
	d = rnd * (double)cap;
	if (d >= (double)cap)
		return cap - 1;
	return (int64_t)d;
}

static int
ready_cmp(const void *a, const void *b, void *ctx)
{
	const nf_graph *g = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (g->nodes[x].crit != g->nodes[y].crit)
		return g->nodes[x].crit > g->nodes[y].crit ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int
timer_cmp(const void *a, const void *b, void *ctx)
{
	const timer_ent *x = a, *y = b;

	(void)ctx;
	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->gen < y->gen ? -1 : x->gen > y->gen;
}

/* n's state is st from late_ms ago. */
static void
set_state_late(nf_sched *s, size_t n, nf_state st, const nf_job_result *res, const char *reason,
	       pid_t pgid, int64_t late_ms)
{
	s->rt[n].st = (uint8_t)st;
	if (nf_state_is_final(st)) {
		s->nfinal++;
		if (st == NF_ST_FAILED || st == NF_ST_TIMED_OUT)
			s->nfailed++;
		else if (st == NF_ST_REJECTED)
			s->nrejected++;
		else if (st == NF_ST_CANCELLED && s->rt[n].user_cancel)
			s->ncancelled++;
	}
	s->dirty = true;
	if (s->hooks.on_state)
		s->hooks.on_state(s->hooks.ctx, &s->g->nodes[n], st, s->rt[n].attempts, res,
				  reason, pgid, late_ms);
}

/* n's state is st: from when its attempt ended, when res says that was late. */
static void
set_state(nf_sched *s, size_t n, nf_state st, const nf_job_result *res, const char *reason,
	  pid_t pgid)
{
	set_state_late(s, n, st, res, reason, pgid, res && res->late_ms > 0 ? res->late_ms : 0);
}

static void
set_timer(nf_sched *s, size_t n, timer_kind kind, int64_t when)
{
	timer_ent e = { when, n, ++s->rt[n].gen };

	s->rt[n].timer = (uint8_t)kind;
	s->rt[n].timer_when = when;
	nf_heap_push(&s->timers, &e);
}

static void
clear_timer(nf_sched *s, size_t n)
{
	s->rt[n].gen++;
	s->rt[n].timer = T_NONE;
}

/* Signals go to the runner that started the node's attempt. */
static int
node_signal(nf_sched *s, size_t n, int sig)
{
	nf_runner *r = s->runners[s->rt[n].runner];

	return r->ops->signal(r, n, sig);
}

/* The runner opts.executor names, or NULL (the message set). */
static nf_runner *
runner_for(nf_sched *s, size_t n, uint8_t *idx)
{
	const char *want = opts_of(s, n)->executor;

	if (!want) {
		*idx = 0;
		return s->runners[0];
	}
	for (size_t i = 0; i < s->nrunners; i++)
		if (strcmp(s->runners[i]->ops->name, want) == 0) {
			*idx = (uint8_t)i;
			return s->runners[i];
		}
	nf_error_set(NF_ENOTFOUND, "no runner for executor \"%s\" in this run", want);
	return NULL;
}

static void
make_ready(nf_sched *s, size_t n)
{
	set_state(s, n, NF_ST_READY, NULL, NULL, 0);
	nf_heap_push(&s->ready, &n);
}

/* n is done in a way that satisfies its users (succeeded, cached, not selected). */
static void
release(nf_sched *s, size_t n)
{
	const nf_node *node = &s->g->nodes[n];

	for (size_t i = 0; i < node->nusers; i++) {
		size_t u = node->users[i];

		if (s->rt[u].pending > 0 && --s->rt[u].pending == 0 &&
		    s->rt[u].st == NF_ST_WAITING && is_selected(s, u))
			make_ready(s, u);
	}
}

/* Skips everything downstream of root that has not ended, walking each node once. */
static void
skip_from(nf_sched *s, size_t root, const char *reason)
{
	size_t top = 0;

	s->stack = xgrow(s->stack, sizeof(*s->stack), 1, &s->stack_cap);
	s->stack[top++] = root;
	while (top > 0) {
		const nf_node *node = &s->g->nodes[s->stack[--top]];

		for (size_t i = 0; i < node->nusers; i++) {
			size_t u = node->users[i];
			nf_state st = s->rt[u].st;

			if (nf_state_is_final(st) || st == NF_ST_RUNNING || s->rt[u].deferred)
				continue;
			clear_timer(s, u);
			set_state(s, u, NF_ST_SKIPPED, NULL, reason, 0);
			s->stack = xgrow(s->stack, sizeof(*s->stack), top + 1, &s->stack_cap);
			s->stack[top++] = u;
		}
	}
}

/* Drops n from the deferred queue (it started, or will not). */
static void
deferq_drop(nf_sched *s, size_t n)
{
	for (size_t i = 0; i < s->ndeferq; i++)
		if (s->deferq[i] == n) {
			memmove(&s->deferq[i], &s->deferq[i + 1], (s->ndeferq - i - 1) * sizeof(*s->deferq));
			s->ndeferq--;
			return;
		}
}

/* n is deferred no longer: started, taken back, or failed to start. */
static void
undefer(nf_sched *s, size_t n)
{
	s->rt[n].deferred = false;
	s->ndeferred--;
	deferq_drop(s, n);
}

/* Whether a READY node is not under way: never deferred, or taken back from its runner
 * unstarted. false: it started in an ended job's place, and that start is being reported.
 * A withdraw that fails counts as started too: a runner with defer reports every deferred
 * job's start, or its failure to start (the local one, when its spawner is gone), so the
 * node still leaves the deferred state through handle_started. */
static bool
withdrawn(nf_sched *s, size_t n)
{
	nf_runner *r;

	if (!s->rt[n].deferred)
		return true;
	r = s->runners[s->rt[n].runner];
	if (r->ops->withdraw(r, n) != 1) {
		deferq_drop(s, n);   /* its start is on its way: not to be promoted */
		return false;
	}
	undefer(s, n);
	s->rt[n].attempts--;   /* never made: a retry of the run starts it as attempt 1 again */
	return true;
}

/* Ends every node that is not running: waiting and ready ones get st (skipped or cancelled)
 * with reason; one waiting for a retry gets retry_st, or its last attempt's failure. */
static void
end_pending(nf_sched *s, nf_state st, const char *reason, bool cancel)
{
	for (size_t n = 0; n < s->g->nnodes; n++) {
		switch ((nf_state)s->rt[n].st) {
		case NF_ST_READY:
			if (!withdrawn(s, n))
				break;   /* it started in an ended job's place: it runs, as the running do */
			/* fall through */
		case NF_ST_WAITING:
			set_state(s, n, st, NULL, reason, 0);
			break;
		case NF_ST_RETRYING:
			clear_timer(s, n);
			if (cancel) {
				set_state(s, n, NF_ST_CANCELLED, NULL, reason, 0);
			} else {
				nf_buf_reset(&s->skip_reason);
				nf_buf_printf(&s->skip_reason, "not retried: %s", reason);
				set_state(s, n, s->rt[n].last_timed_out ? NF_ST_TIMED_OUT : NF_ST_FAILED,
					  NULL, nf_buf_cstr(&s->skip_reason), 0);
			}
			break;
		default:
			break;
		}
	}
	nf_heap_clear(&s->ready);
}

/* A node has finally failed (st: failed or timed-out). */
static void
node_failed(nf_sched *s, size_t n, nf_state st, const nf_job_result *res, const char *reason)
{
	const char *name = s->g->nodes[n].name;
	nf_buf why = NF_BUF_INIT;

	set_state(s, n, st, res, reason, 0);
	nf_buf_printf(&why, "needs failed stage %s", name);
	skip_from(s, n, nf_buf_cstr(&why));
	if (!s->opts.keep_going && !s->stopping && !s->cancelling) {
		s->stopping = true;
		nf_buf_reset(&why);
		nf_buf_printf(&why, "run stopped after failure of %s", name);
		end_pending(s, NF_ST_SKIPPED, nf_buf_cstr(&why), false);
	}
	nf_buf_release(&why);
}

/* A node cancelled on its own: what needs it cannot run. */
static void
skip_cancelled(nf_sched *s, size_t n)
{
	nf_buf why = NF_BUF_INIT;

	nf_buf_printf(&why, "needs cancelled stage %s", s->g->nodes[n].name);
	skip_from(s, n, nf_buf_cstr(&why));
	nf_buf_release(&why);
}

/* n ends cancelled (res: its attempt's end, if it ran): what needs it is skipped when the
 * cancel was of n alone, not of the run. */
static void
node_cancelled(nf_sched *s, size_t n, const nf_job_result *res)
{
	set_state(s, n, NF_ST_CANCELLED, res, "cancelled", 0);
	if (s->rt[n].user_cancel && !s->cancelling)
		skip_cancelled(s, n);
}

/* Applies a cancel asked for by nf_sched_cancel or a signal, at a point where no loop over
 * nodes is under way (hooks may ask at any moment). */
static void
apply_cancel(nf_sched *s)
{
	bool hard = s->hard_req;
	int64_t t;

	if (!s->cancel_req)
		return;
	s->cancel_req = s->hard_req = false;
	if (s->cancelling && !hard)
		return;
	if (!s->cancelling) {
		s->cancelling = true;
		s->cancelled_ms = now_ms(s);
		end_pending(s, NF_ST_CANCELLED, "cancelled", true);
	}
	if (hard)
		s->killing = true;
	t = now_ms(s);
	for (size_t n = 0; n < s->g->nnodes; n++) {
		node_rt *r = &s->rt[n];

		if (r->st != NF_ST_RUNNING)
			continue;
		r->cancel_sent = true;
		if (hard) {
			clear_timer(s, n);
			(void)node_signal(s, n, SIGKILL);
		} else {
			int64_t kill_at = t + opts_of(s, n)->grace_ms;

			(void)node_signal(s, n, SIGTERM);
			if (r->timer != T_KILL || r->timer_when > kill_at)
				set_timer(s, n, T_KILL, kill_at);
		}
	}
}

/* n's attempt has started (pgid), late_ms ago: it takes its slots, its timeout runs from
 * its start. */
static void
now_running(nf_sched *s, size_t n, pid_t pgid, int64_t late_ms)
{
	const nf_run_opts *o = opts_of(s, n);
	node_rt *r = &s->rt[n];
	nf_runner *runner = s->runners[r->runner];

	s->free_slots -= need_slots(s, n);
	s->running++;
	r->timed_out = false;
	if (late_ms < 0)
		late_ms = 0;
	set_state_late(s, n, NF_ST_RUNNING, NULL, NULL, pgid, late_ms);
	if (o->timeout_ms > 0 && !runner->own_timeout)
		set_timer(s, n, T_TIMEOUT, now_ms(s) - late_ms + o->timeout_ms);
}

/* A deferred attempt that started while a cancel (of the run, or of the node alone) was
 * under way: stopped as the running were. */
static void
stop_late_start(nf_sched *s, size_t n)
{
	node_rt *r = &s->rt[n];

	r->cancel_sent = true;
	if (s->killing) {
		(void)node_signal(s, n, SIGKILL);
		return;
	}
	(void)node_signal(s, n, SIGTERM);
	set_timer(s, n, T_KILL, now_ms(s) + opts_of(s, n)->grace_ms);
}

static void
start_node(nf_sched *s, size_t n, bool defer)
{
	const nf_node *node = &s->g->nodes[n];
	const nf_run_opts *o = opts_of(s, n);
	node_rt *r = &s->rt[n];
	nf_job job;
	pid_t pgid = 0;
	char *msg;
	int rc;

	r->attempts++;
	memset(&job, 0, sizeof(job));
	job.node = n;
	job.attempt = r->attempts;
	job.cpus = o->cpus < 1 ? 1 : o->cpus;
	rc = s->hooks.prepare(s->hooks.ctx, node, r->attempts, &job);
	job.node = n;
	job.attempt = r->attempts;
	switch (rc) {
	case NF_PREP_SPAWN: {
		uint8_t idx = 0;
		nf_runner *runner = runner_for(s, n, &idx);

		job.timeout_ms = o->timeout_ms;
		job.grace_ms = o->grace_ms;
		r->cancel_sent = false;
		if (defer) {
			if (!runner || runner->ops->defer(runner, &job) < 0)
				break;
			r->runner = idx;
			r->deferred = true;
			s->ndeferred++;
			s->deferq = xgrow(s->deferq, sizeof(*s->deferq), s->ndeferq + 1, &s->deferq_cap);
			s->deferq[s->ndeferq++] = n;
			return;
		}
		if (!runner || runner->ops->start(runner, &job, &pgid) < 0)
			break;
		r->runner = idx;
		now_running(s, n, pgid, 0);
		return;
	}
	case NF_PREP_SUCCEEDED:
	case NF_PREP_CACHED:
		set_state(s, n, rc == NF_PREP_CACHED ? NF_ST_CACHED : NF_ST_SUCCEEDED, NULL, NULL, 0);
		release(s, n);
		return;
	case NF_PREP_REJECTED: {
		nf_buf why = NF_BUF_INIT;

		/* The gate's own reason (its failed criteria), a value prepare gave back. */
		msg = job.reason ? xstrdup(job.reason) : NULL;
		set_state(s, n, NF_ST_REJECTED, NULL, msg, 0);
		free(msg);
		nf_buf_printf(&why, "gate %s rejected", node->name);
		skip_from(s, n, nf_buf_cstr(&why));
		nf_buf_release(&why);
		return;
	}
	default:
		if (rc >= 0)
			nf_error_set(NF_ERROR, "prepare returned an unknown decision %d", rc);
		break;
	}
	/* prepare or start failed: the node fails at once, without retries. Copy the message:
	 * hooks called below may set errors of their own. */
	msg = xstrdup(nf_error_last());
	node_failed(s, n, NF_ST_FAILED, NULL, msg);
	free(msg);
}

/* The oldest deferred attempt started now, in a free slot. */
static void
promote_oldest(nf_sched *s)
{
	size_t n = s->deferq[0];
	nf_runner *runner = s->runners[s->rt[n].runner];
	pid_t pgid = 0;
	int rc;
	char *msg;

	deferq_drop(s, n);
	if ((rc = runner->ops->promote(runner, n, &pgid)) == 0)
		return;   /* started in an ended job's place: that start is being reported */
	undefer(s, n);
	if (rc > 0) {
		now_running(s, n, pgid, 0);
		return;
	}
	msg = xstrdup(nf_error_last());
	node_failed(s, n, NF_ST_FAILED, NULL, msg);
	free(msg);
}

/* Attempts deferred at most per slot. The scheduler hears of an end late on a busy machine
 * (its wakeup waits behind the running stages), so several ends may come before it defers
 * again: with one per slot, half of the 10 000 starts of the layered benchmark at -j 2 found
 * the queue empty and waited for the round trip; with four, 1 in 26 (now six, topped up
 * from half: about 1 in 100). At most NF_SCHED_DEFER_MAX in all: each holds fds (its output
 * pipe, in ntflow and the spawner), and a queue that grew with -j would meet RLIMIT_NOFILE
 * where the running stages do not. */
#define NF_SCHED_DEFER_PER_SLOT 6
#define NF_SCHED_DEFER_MAX 16

/* How many attempts may wait deferred at once. */
static size_t
defer_limit(const nf_sched *s)
{
	size_t limit = NF_SCHED_DEFER_PER_SLOT * (size_t)s->opts.slots;

	return limit < NF_SCHED_DEFER_MAX ? limit : NF_SCHED_DEFER_MAX;
}

/* Whether n, ready but with no free slot, may be deferred with its runner, to start in the
 * place of the next of that runner's jobs to end: a node of one slot (it fits in any
 * ended job's), at most defer_limit deferred, and a runner that can. */
static bool
deferrable(nf_sched *s, size_t n)
{
	uint8_t idx;
	nf_runner *r;

	if (s->free_slots > 0 || need_slots(s, n) != 1 || s->ndeferq >= defer_limit(s))
		return false;
	if (!(r = runner_for(s, n, &idx)))
		return false;   /* no such executor: start_node fails the node, saying so */
	return r->ops->defer && r->ops->promote && r->ops->withdraw &&
	       (!s->hooks.may_defer || s->hooks.may_defer(s->hooks.ctx));
}

/* Starts ready nodes, highest critical path first, while the first one fits in the free
 * slots. Strict order: a wide node at the head waits for slots rather than being overtaken
 * for ever by narrow ones. A free slot goes first to an attempt deferred earlier (it was
 * ahead in line); with no slot free, the next ones are deferred with their runner, which
 * starts each in the place of a job that ends, before the scheduler hears of that end.
 * The deferred are topped up only once they have drained to half defer_limit, and then to
 * the limit: the requests reach the runner together, and ntflow-spawn reads them in one
 * wakeup, where one request after each end woke it each time (4-7% of the CPU of each
 * process in the layered benchmark at -j 2); half the queue still covers the round trip. */
/* Takes the SIGINTs and SIGTERMs that came (nf_signals): a cancel asked for, a hard one
 * at the second. Between nodes too, not only between loop turns: a pass of cached nodes,
 * each restoring its outputs, or of ends whose outputs are hashed, never turns the loop. */
static void
take_signals(nf_sched *s)
{
	int k;

	if ((k = nf_signals_take()) > 0) {
		s->interrupts += k;
		s->cancel_req = true;
		if (s->cancelling || s->interrupts >= 2)
			s->hard_req = true;
	}
}

static void
start_ready(nf_sched *s)
{
	const size_t *top;

	while (!s->stopping && !s->cancelling && !s->cancel_req && s->ndeferq > 0 && s->free_slots > 0)
		promote_oldest(s);
	if (s->free_slots == 0 && s->ndeferq > defer_limit(s) / 2)
		return;   /* nothing fits a slot now, and enough wait to start in an ended job's place */
	while (!s->stopping && !s->cancelling && (take_signals(s), !s->cancel_req) &&
	       (top = nf_heap_peek(&s->ready)) != NULL) {
		size_t n = *top;
		bool defer;

		if (s->rt[n].st != NF_ST_READY) {   /* ended while queued */
			nf_heap_pop(&s->ready, &n);
			continue;
		}
		defer = need_slots(s, n) > s->free_slots;
		if (defer && !deferrable(s, n))
			break;
		nf_heap_pop(&s->ready, &n);
		start_node(s, n, defer);
	}
}

/* A deferred attempt's start, as its runner reported it. */
static void
handle_started(nf_sched *s, const sched_event *ev)
{
	size_t n = ev->res.node;
	node_rt *r;

	if (n >= s->g->nnodes || !s->rt[n].deferred || ev->res.attempt != s->rt[n].attempts)
		return;
	r = &s->rt[n];
	undefer(s, n);
	if (ev->err) {
		/* One that was to be stopped anyway ends cancelled, as a withdrawn one does. */
		if (s->cancelling || r->cancel_sent)
			node_cancelled(s, n, NULL);
		else
			node_failed(s, n, NF_ST_FAILED, NULL, ev->err);
		return;
	}
	now_running(s, n, ev->pgid, ev->res.late_ms);
	if (s->cancelling || r->cancel_sent)
		stop_late_start(s, n);
}

static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGHUP: return "SIGHUP";
	case SIGINT: return "SIGINT";
	case SIGQUIT: return "SIGQUIT";
	case SIGILL: return "SIGILL";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGSEGV: return "SIGSEGV";
	case SIGPIPE: return "SIGPIPE";
	case SIGALRM: return "SIGALRM";
	case SIGTERM: return "SIGTERM";
	case SIGUSR1: return "SIGUSR1";
	case SIGUSR2: return "SIGUSR2";
	case SIGXCPU: return "SIGXCPU";
	case SIGXFSZ: return "SIGXFSZ";
	default: return NULL;
	}
}

/* A configured duration the way it is written in a DAG: "10m", "30s", "1500ms". */
static void
add_duration(nf_buf *b, int64_t ms)
{
	if (ms > 0 && ms % 3600000 == 0)
		nf_buf_printf(b, "%lldh", (long long)(ms / 3600000));
	else if (ms > 0 && ms % 60000 == 0)
		nf_buf_printf(b, "%lldm", (long long)(ms / 60000));
	else if (ms > 0 && ms % 1000 == 0)
		nf_buf_printf(b, "%llds", (long long)(ms / 1000));
	else
		nf_buf_printf(b, "%lldms", (long long)ms);
}

static bool
retry_allowed(const nf_run_opts *o, const nf_job_result *res, bool timed_out, bool hook_failed)
{
	/* A listed set of codes narrows retries to exactly those exits. */
	if (o->nretry_on == 0)
		return true;
	if (timed_out || hook_failed || !res->exited)
		return false;
	for (size_t i = 0; i < o->nretry_on; i++)
		if (o->retry_on[i] == res->exit_code)
			return true;
	return false;
}

static void
handle_result(nf_sched *s, const nf_job_result *res)
{
	size_t n = res->node;
	node_rt *r;
	const nf_run_opts *o;
	bool ok, hook_failed = false;

	if (n >= s->g->nnodes || s->rt[n].st != NF_ST_RUNNING || res->attempt != s->rt[n].attempts)
		return;   /* not an attempt we are waiting for */
	r = &s->rt[n];
	o = opts_of(s, n);
	s->free_slots += need_slots(s, n);
	s->running--;
	clear_timer(s, n);
	/* An attempt that ended well before the run's cancel, heard of after it (a runner that
	 * reports ends late): its result stands, it was not cancelled. */
	if (r->cancel_sent && !r->user_cancel && res->exited && res->exit_code == 0 && !res->message &&
	    s->cancelling && now_ms(s) - (res->late_ms > 0 ? res->late_ms : 0) < s->cancelled_ms)
		r->cancel_sent = false;
	if (r->cancel_sent) {
		node_cancelled(s, n, res);
		return;
	}

	nf_buf_reset(&s->reason);
	if (res->timed_out)
		r->timed_out = true;   /* the runner's own time limit (Slurm's --time) */
	ok = !r->timed_out && !res->message && res->exited && res->exit_code == 0;
	if (ok && s->hooks.finish && s->hooks.finish(s->hooks.ctx, &s->g->nodes[n], res) < 0) {
		ok = false;
		hook_failed = true;
		nf_buf_puts(&s->reason, nf_error_last());
	}
	if (ok) {
		set_state(s, n, NF_ST_SUCCEEDED, res, NULL, 0);
		release(s, n);
		return;
	}

	if (res->message && !hook_failed) {
		nf_buf_puts(&s->reason, res->message);
	} else if (r->timed_out) {
		nf_buf_puts(&s->reason, "timed out after ");
		add_duration(&s->reason, o->timeout_ms);
	} else if (hook_failed) {
		/* already set */
	} else if (res->exited) {
		nf_buf_printf(&s->reason, "exit %d", res->exit_code);
	} else if (signal_name(res->term_signal)) {
		nf_buf_printf(&s->reason, "killed by %s", signal_name(res->term_signal));
	} else {
		nf_buf_printf(&s->reason, "killed by signal %d", res->term_signal);
	}

	if (r->attempts - r->attempt_base <= o->retries && !s->stopping && !s->cancelling &&
	    !s->cancel_req && retry_allowed(o, res, r->timed_out, hook_failed)) {
		int64_t delay = nf_backoff_ms(o->backoff_ms, o->backoff_max_ms,
					      r->attempts - r->attempt_base + 1, next_rnd(s));

		r->last_timed_out = r->timed_out;
		/* The timer first, so on_state can ask nf_sched_retry_at for the countdown. */
		set_timer(s, n, T_BACKOFF, now_ms(s) + delay);
		set_state(s, n, NF_ST_RETRYING, res, nf_buf_cstr(&s->reason), 0);
		return;
	}
	node_failed(s, n, r->timed_out ? NF_ST_TIMED_OUT : NF_ST_FAILED, res, nf_buf_cstr(&s->reason));
}

static void
fire_timers(nf_sched *s)
{
	int64_t t = now_ms(s);
	const timer_ent *top;

	while ((top = nf_heap_peek(&s->timers)) != NULL && top->when <= t) {
		timer_ent e;
		node_rt *r;
		timer_kind kind;

		nf_heap_pop(&s->timers, &e);
		r = &s->rt[e.node];
		if (e.gen != r->gen)
			continue;   /* replaced or cleared */
		kind = (timer_kind)r->timer;
		r->timer = T_NONE;
		switch (kind) {
		case T_TIMEOUT:
			if (r->st != NF_ST_RUNNING)
				break;
			r->timed_out = true;
			(void)node_signal(s, e.node, SIGTERM);
			/* The grace counts from the SIGTERM: a timeout due long ago (a start heard
			 * of late, a busy loop) still gets it whole. */
			set_timer(s, e.node, T_KILL, t + opts_of(s, e.node)->grace_ms);
			break;
		case T_KILL:
			if (r->st == NF_ST_RUNNING)
				(void)node_signal(s, e.node, SIGKILL);
			break;
		case T_BACKOFF:
			if (r->st == NF_ST_RETRYING && !s->stopping && !s->cancelling)
				make_ready(s, e.node);
			break;
		case T_NONE:
			break;
		}
	}
}

/* The soonest live timer, or -1; drops stale entries on the way. */
static int64_t
next_deadline(nf_sched *s)
{
	const timer_ent *top;

	while ((top = nf_heap_peek(&s->timers)) != NULL) {
		if (top->gen == s->rt[top->node].gen && s->rt[top->node].timer != T_NONE)
			return top->when;
		timer_ent e;
		nf_heap_pop(&s->timers, &e);
	}
	return -1;
}

static void
tick(nf_sched *s)
{
	if ((s->dirty || s->hooks.tick_ms > 0) && s->hooks.on_tick)
		s->hooks.on_tick(s->hooks.ctx);
	s->dirty = false;
}

/* ---- the event loop's handlers: they only note what happened; the scheduler acts on it
 * between turns, where no hook or runner call is under way ---- */

static void
on_job_done(void *ctx, const nf_job_result *res)
{
	nf_sched *s = ctx;

	s->results = xgrow(s->results, sizeof(*s->results), s->nresults + 1, &s->results_cap);
	s->results[s->nresults++] = (sched_event){ .res = *res };
}

static void
on_job_started(void *ctx, size_t node, int attempt, pid_t pgid, int64_t late_ms, const char *err)
{
	nf_sched *s = ctx;

	s->results = xgrow(s->results, sizeof(*s->results), s->nresults + 1, &s->results_cap);
	s->results[s->nresults++] = (sched_event){ true, { .node = node, .attempt = attempt, .late_ms = late_ms },
						   pgid, err ? xstrdup(err) : NULL };
}

/* tick_ms: wake at least that often (on_tick is called on every turn). */
static void
on_tick_timer(nf_loop *l, int64_t id, void *ctx)
{
	nf_sched *s = ctx;

	(void)id;
	s->tick_timer = nf_loop_add_timer(l, now_ms(s) + s->hooks.tick_ms, on_tick_timer, s);
}

/* nf_sched_wake_within's moment came: what on_tick put off is due. */
static void
on_wake_timer(nf_loop *l, int64_t id, void *ctx)
{
	nf_sched *s = ctx;

	(void)l;
	(void)id;
	s->wake_timer = 0;
	s->wake_at = 0;
	s->dirty = true;
}

static void
on_wake_fd(nf_loop *l, int fd, void *ctx)
{
	nf_sched *s = ctx;

	(void)l;
	(void)fd;
	s->dirty = true;   /* on_tick reads it */
}

int
nf_sched_new(nf_sched **out, const nf_graph *g, nf_runner *runner, nf_clock *clock,
	     const nf_sched_opts *opts, const nf_sched_hooks *hooks)
{
	nf_sched *s;

	*out = NULL;
	if (!g || !runner || !opts || !hooks)
		return nf_error_set(NF_EINVALID, "scheduler needs a graph, a runner, options and hooks");
	if (opts->slots < 1)
		return nf_error_set(NF_EINVALID, "invalid number of slots %d (must be at least 1)",
				    opts->slots);
	if (!hooks->prepare)
		return nf_error_set(NF_EINVALID, "scheduler needs a prepare hook");
	if (opts->nrunners >= MAX_RUNNERS)
		return nf_error_set(NF_EINVALID, "too many runners (%zu)", opts->nrunners + 1);
	for (size_t i = 0; i < opts->nrunners; i++)
		if (!opts->runners[i])
			return nf_error_set(NF_EINVALID, "scheduler given a NULL runner");
	s = xcalloc(1, sizeof(*s));
	s->g = g;
	s->runners = xcalloc(opts->nrunners + 1, sizeof(*s->runners));
	s->runners[s->nrunners++] = runner;
	for (size_t i = 0; i < opts->nrunners; i++) {
		size_t k = 0;

		while (k < s->nrunners && s->runners[k] != opts->runners[i])
			k++;
		if (k == s->nrunners)
			s->runners[s->nrunners++] = opts->runners[i];
	}
	s->clock = clock ? clock : nf_clock_system();
	nf_loop_new(&s->loop, s->clock);
	s->wake_fd = -1;
	s->opts = *opts;
	s->opts.runners = NULL;   /* borrowed: only runners[] is used */
	s->opts.nrunners = 0;
	s->hooks = *hooks;
	s->rt = xcalloc(g->nnodes ? g->nnodes : 1, sizeof(*s->rt));
	s->free_slots = opts->slots;
	s->rng = opts->seed;
	nf_heap_init(&s->ready, sizeof(size_t), ready_cmp, (void *)g);
	nf_heap_init(&s->timers, sizeof(timer_ent), timer_cmp, NULL);
	*out = s;
	return 0;
}

static int
attach_runners(nf_sched *s)
{
	for (size_t i = 0; i < s->nrunners; i++) {
		nf_runner *r = s->runners[i];
		int err;

		r->started = on_job_started;
		err = r->ops->attach(r, s->loop, on_job_done, s);

		if (err < 0) {
			while (i-- > 0)
				s->runners[i]->ops->detach(s->runners[i]);
			return err;
		}
	}
	return 0;
}

static void
detach_runners(nf_sched *s)
{
	for (size_t i = 0; i < s->nrunners; i++)
		s->runners[i]->ops->detach(s->runners[i]);
}

int
nf_sched_run(nf_sched *s, nf_run_status *status)
{
	const nf_graph *g = s->g;
	int err = 0;

	*status = NF_RUN_FAILED;
	if (s->ran)
		return nf_error_set(NF_ERROR, "a scheduler runs only once");
	s->ran = true;
	if ((err = attach_runners(s)) < 0)
		return err;
	s->looping = true;
	if (s->hooks.tick_ms > 0)
		s->tick_timer = nf_loop_add_timer(s->loop, now_ms(s) + s->hooks.tick_ms, on_tick_timer, s);

	for (size_t n = 0; n < g->nnodes; n++) {
		s->rt[n].st = NF_ST_WAITING;
		s->rt[n].pending = g->nodes[n].ndeps;
	}
	/* Unselected nodes count as done for their users: --only/--from assume that their
	 * outputs are there from earlier runs. */
	for (size_t n = 0; n < g->nnodes; n++) {
		if (is_selected(s, n))
			continue;
		set_state(s, n, NF_ST_SKIPPED, NULL, "not selected", 0);
		release(s, n);
	}
	for (size_t n = 0; n < g->nnodes; n++)
		if (s->rt[n].st == NF_ST_WAITING && s->rt[n].pending == 0)
			make_ready(s, n);

	for (;;) {
		int64_t deadline;

		take_signals(s);
		apply_cancel(s);
		start_ready(s);
		if (s->cancel_req)
			continue;   /* a hook asked during start_ready */
		if (s->nfinal == g->nnodes)
			break;
		/* Commit what was started before sleeping: a crash while the stages run must
		 * leave their process groups in the database for the next run to kill. */
		tick(s);
		if (s->poked) {
			s->poked = false;
			continue;
		}
		deadline = next_deadline(s);
		if (s->running == 0 && s->ndeferred == 0 && deadline < 0) {
			err = nf_error_set(NF_EINVALID, "%zu nodes can never start (a dependency cycle?)",
					   g->nnodes - s->nfinal);
			goto done;
		}
		if ((err = nf_loop_turn(s->loop, deadline)) < 0)
			goto done;
		err = 0;
		for (size_t i = 0; i < s->nresults; i++) {
			/* A stop heard while earlier ends were handled is applied before the next:
			 * the stages queued to start in their places are withdrawn now. */
			take_signals(s);
			apply_cancel(s);
			if (s->results[i].started)
				handle_started(s, &s->results[i]);
			else
				handle_result(s, &s->results[i].res);
			free(s->results[i].err);
		}
		s->nresults = 0;
		fire_timers(s);
		tick(s);
	}
	if (s->cancelling)
		*status = NF_RUN_CANCELLED;
	else if (s->nfailed)
		*status = NF_RUN_FAILED;
	else if (s->ncancelled)
		*status = NF_RUN_CANCELLED;
	else if (s->nrejected)
		*status = NF_RUN_GATED;
	else
		*status = NF_RUN_SUCCEEDED;
done:
	s->looping = false;
	nf_loop_del_timer(s->loop, s->tick_timer);
	s->tick_timer = 0;
	detach_runners(s);
	tick(s);
	return err;
}

void
nf_sched_wake_within(nf_sched *s, int64_t ms)
{
	int64_t at = now_ms(s) + (ms > 0 ? ms : 0);

	if (s->wake_timer && at >= s->wake_at)
		return;
	nf_loop_del_timer(s->loop, s->wake_timer);
	s->wake_at = at;
	s->wake_timer = nf_loop_add_timer(s->loop, at, on_wake_timer, s);
}

void
nf_sched_wake_fd(nf_sched *s, int fd)
{
	if (s->wake_fd >= 0)
		nf_loop_del_file(s->loop, s->wake_fd);
	s->wake_fd = -1;
	if (fd >= 0 && nf_loop_add_file(s->loop, fd, on_wake_fd, s) == 0)
		s->wake_fd = fd;
}

nf_loop *
nf_sched_loop(nf_sched *s)
{
	return s->loop;
}

void
nf_sched_cancel(nf_sched *s, bool hard)
{
	s->cancel_req = true;
	if (hard)
		s->hard_req = true;
}

int
nf_sched_cancel_node(nf_sched *s, size_t n)
{
	const char *name;
	node_rt *r;

	if (n >= s->g->nnodes)
		return nf_error_set(NF_EINVALID, "no node %zu", n);
	r = &s->rt[n];
	name = s->g->nodes[n].name;
	if (!s->looping || s->cancelling)
		return nf_error_set(NF_EINVALID, "cannot cancel %s: the run is %s", name,
				    s->cancelling ? "being cancelled" : "not going");
	switch ((nf_state)r->st) {
	case NF_ST_RUNNING:
		if (r->cancel_sent)
			return 0;
		r->cancel_sent = r->user_cancel = true;
		(void)node_signal(s, n, SIGTERM);
		set_timer(s, n, T_KILL, now_ms(s) + opts_of(s, n)->grace_ms);
		break;
	case NF_ST_READY:
		if (!withdrawn(s, n)) {
			/* Started in an ended job's place: stopped once that start is heard of. */
			r->cancel_sent = r->user_cancel = true;
			break;
		}
		/* fall through */
	case NF_ST_WAITING:
	case NF_ST_RETRYING:
		clear_timer(s, n);
		r->user_cancel = true;
		node_cancelled(s, n, NULL);
		break;
	default:
		return nf_error_set(NF_EINVALID, "cannot cancel %s: it has already ended (%s)", name,
				    nf_state_name((nf_state)r->st));
	}
	s->poked = true;
	return 0;
}

/* A final state that lets nothing downstream run. */
static bool
is_dead(const nf_sched *s, size_t n)
{
	switch ((nf_state)s->rt[n].st) {
	case NF_ST_FAILED:
	case NF_ST_TIMED_OUT:
	case NF_ST_CANCELLED:
	case NF_ST_REJECTED:
		return true;
	case NF_ST_SKIPPED:
		return is_selected(s, n);
	default:
		return false;
	}
}

/* Puts an ended node back to waiting (ready when nothing it needs is pending), unless
 * something it needs is dead. Its final-state counters are given back by the caller. */
static void
revive(nf_sched *s, size_t n)
{
	const nf_node *node = &s->g->nodes[n];
	uint32_t pending = 0;

	for (size_t i = 0; i < node->ndeps; i++) {
		size_t d = node->deps[i];
		nf_state st = (nf_state)s->rt[d].st;

		if (is_dead(s, d))
			return;
		if (st != NF_ST_SUCCEEDED && st != NF_ST_CACHED && is_selected(s, d))
			pending++;
	}
	s->nfinal--;
	s->rt[n].pending = pending;
	if (pending == 0)
		make_ready(s, n);
	else
		set_state(s, n, NF_ST_WAITING, NULL, NULL, 0);
}

int
nf_sched_retry(nf_sched *s, size_t n)
{
	const char *name;
	node_rt *r;
	nf_state st;

	if (n >= s->g->nnodes)
		return nf_error_set(NF_EINVALID, "no node %zu", n);
	r = &s->rt[n];
	st = (nf_state)r->st;
	name = s->g->nodes[n].name;
	if (!s->looping || s->cancelling || s->cancel_req)
		return nf_error_set(NF_EINVALID, "cannot retry %s: the run is %s", name,
				    s->looping ? "being cancelled" : "over");
	if (st != NF_ST_FAILED && st != NF_ST_TIMED_OUT && !(st == NF_ST_CANCELLED && r->user_cancel))
		return nf_error_set(NF_EINVALID, "cannot retry %s: it is %s, not failed", name,
				    nf_state_name(st));
	for (size_t i = 0; i < s->g->nodes[n].ndeps; i++) {
		size_t d = s->g->nodes[n].deps[i];

		if (is_dead(s, d))
			return nf_error_set(NF_EINVALID, "cannot retry %s: it needs %s, which is %s", name,
					    s->g->nodes[d].name, nf_state_name((nf_state)s->rt[d].st));
	}
	if (st == NF_ST_CANCELLED)
		s->ncancelled--;
	else
		s->nfailed--;
	r->user_cancel = false;
	r->attempt_base = r->attempts;
	/* The user asked to go on: a stop after a failure is lifted, and what it (or this node's
	 * failure) skipped comes back, in topological order so that each node sees its
	 * dependencies already revived. Nodes behind another dead node stay skipped. */
	s->stopping = false;
	revive(s, n);
	for (size_t i = 0; i < s->g->nnodes; i++) {
		size_t u = s->g->order ? s->g->order[i] : i;

		if (u != n && s->rt[u].st == NF_ST_SKIPPED && is_selected(s, u))
			revive(s, u);
	}
	s->poked = true;
	return 0;
}

int64_t
nf_sched_retry_at(const nf_sched *s, size_t n)
{
	if (n >= s->g->nnodes || s->rt[n].st != NF_ST_RETRYING || s->rt[n].timer != T_BACKOFF)
		return -1;
	return s->rt[n].timer_when;
}

size_t
nf_sched_done(const nf_sched *s)
{
	return s->nfinal;
}

nf_state
nf_sched_state(const nf_sched *s, size_t node)
{
	return node < s->g->nnodes ? (nf_state)s->rt[node].st : NF_ST_WAITING;
}

int
nf_sched_attempts(const nf_sched *s, size_t node)
{
	return node < s->g->nnodes ? s->rt[node].attempts : 0;
}

void
nf_sched_free(nf_sched *s)
{
	if (!s)
		return;
	nf_loop_free(s->loop);
	free(s->runners);
	for (size_t i = 0; i < s->nresults; i++)
		free(s->results[i].err);
	free(s->results);
	free(s->deferq);
	nf_heap_release(&s->ready);
	nf_heap_release(&s->timers);
	nf_buf_release(&s->reason);
	nf_buf_release(&s->skip_reason);
	free(s->stack);
	free(s->rt);
	free(s);
}

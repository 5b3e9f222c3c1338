/* exec.h: the executor. A scheduler that starts ready nodes critical-path first within a
 * slot limit, retries with back-off, enforces timeouts and reacts to interruption; it talks
 * to the world only through runners (start, attach to its event loop, signal) and a clock,
 * so tests plug in fakes and the Slurm issue adds a second runner. */
#ifndef NTFLOW_EXEC_H
#define NTFLOW_EXEC_H

#include <signal.h>
#include <sys/types.h>
#include "ntflow/graph.h"
#include "ntflow/state.h"

/* A clock in milliseconds on a monotonic time line. */
typedef struct nf_clock nf_clock;
struct nf_clock {
	int64_t (*now_ms)(nf_clock *c);
	/* A virtual clock (tests) sets it: the event loop then never sleeps but moves the clock
	 * to its next wake-up with skip_to. NULL for the real clock. */
	void (*skip_to)(nf_clock *c, int64_t when_ms);
};
/* The process-wide CLOCK_MONOTONIC clock (static; never freed). */
nf_clock *nf_clock_system(void);

/* The event loop (loop.c, after redis's ae.c): whoever owns an event source registers it,
 * a readable descriptor (the local runner's signal pipe and its jobs' output pipes, the dashboard's terminal) or a
 * timer on the loop's clock (the dashboard's tick, the state batch's flush).
 * nf_loop_turn sleeps until a file is ready, the soonest timer is due or deadline_ms comes,
 * then calls the ready files' handlers and the due timers', soonest first (equal times: in
 * the order they were added). A handler may add or remove any event; a removed one is not
 * called afterwards, in the same turn either. Timers fire once. */
typedef struct nf_loop nf_loop;
typedef void (*nf_loop_file_fn)(nf_loop *l, int fd, void *ctx);
typedef void (*nf_loop_timer_fn)(nf_loop *l, int64_t id, void *ctx);
/* clock NULL: nf_clock_system(). */
int nf_loop_new(nf_loop **out, nf_clock *clock);
void nf_loop_free(nf_loop *l);
nf_clock *nf_loop_clock(nf_loop *l);
/* Calls fn when fd is readable (or hung up). NF_EEXISTS when fd is already watched. */
int nf_loop_add_file(nf_loop *l, int fd, nf_loop_file_fn fn, void *ctx);
void nf_loop_del_file(nf_loop *l, int fd);
/* A one-shot timer at when_ms on the loop's clock; returns its id (> 0), never reused. */
int64_t nf_loop_add_timer(nf_loop *l, int64_t when_ms, nf_loop_timer_fn fn, void *ctx);
/* Disarms a timer; an id that fired or was removed already is ignored. */
void nf_loop_del_timer(nf_loop *l, int64_t id);
/* From a handler: end this turn after the handler (events not yet called wait for the next
 * turn); err < 0 is what nf_loop_turn returns. */
void nf_loop_stop(nf_loop *l, int err);
/* One turn (deadline_ms -1: none). Returns how many handlers ran (0: the deadline came), or
 * a negative code: ppoll failed, a handler stopped the loop with an error, or a virtual
 * clock would wait for ever. With no timer, no deadline and no file it returns 0 at once. */
int nf_loop_turn(nf_loop *l, int64_t deadline_ms);

/* One attempt the scheduler asks a runner to start. All strings borrowed for the call. */
typedef struct nf_job {
	size_t node;
	int attempt;                 /* 1-based */
	const char *command;         /* run through /bin/sh -c when argv is NULL; always set,
	                              * to the same command (argv's words shell-quoted) */
	/* NULL, or the words to exec directly (no shell; argv[0] searched in envp's PATH as
	 * execvp does, a file without #! run by /bin/sh), NULL-terminated. */
	char *const *argv;
	char *const *envp;           /* full environment, NULL-terminated */
	const char *cwd;             /* working directory (the DAG's root, or a stage's dir) */
	const char *root;            /* the DAG's root when cwd is a folder in it (a Slurm job's
	                              * --chdir, which says whose job it is); NULL: cwd */
	const char *log_path;        /* stdout and stderr go here, created (truncated) at the
	                              * first byte: no file when the job writes nothing */
	uint64_t log_limit;          /* > 0: the log keeps at most this many bytes, then a note */
	int cpus;
	/* Set by prepare with NF_PREP_REJECTED: why the gate said no (its failed criteria),
	 * borrowed until prepare is called again; NULL: no reason given. */
	const char *reason;
	/* For a runner that submits elsewhere (Slurm): the stage's name and its matrix
	 * instance (NULL: none) for the job's name, and the submission's options (sbatch
	 * arguments, NULL-terminated; NULL: none). The local runner ignores them. */
	const char *stage, *instance;
	char *const *submit_args;
	/* The stage's timeout and grace (0: none), set by the scheduler for a runner that
	 * keeps the timeout itself (own_timeout). */
	int64_t timeout_ms, grace_ms;
} nf_job;

/* What a runner reports when an attempt ends. */
typedef struct nf_job_result {
	size_t node;
	int attempt;
	bool exited;                 /* true: exit_code valid; false: killed by term_signal */
	int exit_code;
	int term_signal;
	int64_t wall_ms;
	int64_t user_ms, sys_ms;
	long max_rss_kb;
	/* How long before this report the attempt ended: a runner may hear of an end late
	 * (ntflow-spawn holds some, spawner.c); wall_ms is already without it. */
	int64_t late_ms;
	bool log_capped;             /* the log reached log_limit: the rest was discarded */
	int log_errno;               /* 0, or why the log could not be written (what the job
	                              * wrote from then on was discarded) */
	/* Set by a runner whose system ended the attempt on a time limit of its own (Slurm's
	 * TIMEOUT): the node is timed out, as when the scheduler's timeout fired. */
	bool timed_out;
	/* The runner's own account of a failure ("cancelled outside ntflow (Slurm job 12
	 * CANCELLED)", "sbatch failed: ..."), used as the reason instead of "exit N"; NULL
	 * otherwise. Borrowed for the done call. */
	const char *message;
} nf_job_result;

typedef struct nf_runner nf_runner;
/* How a runner reports an attempt that ended: from a handler of the loop it is attached to.
 * res is borrowed for the call. */
typedef void (*nf_job_done_fn)(void *ctx, const nf_job_result *res);
typedef struct nf_runner_ops {
	/* What opts.executor names to choose this runner ("local"). */
	const char *name;
	/* Starts a job without blocking; *pgid receives its process group (0 when none). */
	int (*start)(nf_runner *r, const nf_job *job, pid_t *pgid);
	/* Registers the runner's event sources with loop (one loop at a time): from then on
	 * each attempt that ends is reported by done(ctx, res), called from a handler of loop
	 * (never from start, signal or detach). Never blocks. */
	int (*attach)(nf_runner *r, nf_loop *loop, nf_job_done_fn done, void *ctx);
	/* Takes its event sources off the loop again (no-op when not attached); attempts
	 * that end meanwhile are reported after the next attach. */
	void (*detach)(nf_runner *r);
	/* Sends sig to the job's whole process group. */
	int (*signal)(nf_runner *r, size_t node, int sig);
	void (*free)(nf_runner *r);
	/* Optional, the three or none (NULL: the runner only starts). defer queues a job to
	 * start in the place of the next of this runner's jobs to end well (the local runner:
	 * exit 0), as soon as it ends,
	 * without waiting for the scheduler to hear of the end (the local runner's spawner
	 * starts it as it reaps the other); the start is reported through nf_runner.started
	 * after the result of the job that made room for it, in the same turn. */
	int (*defer)(nf_runner *r, const nf_job *job);
	/* Starts a deferred job now, in a slot the scheduler has free: 1 and its *pgid; 0 when
	 * it has started already in an ended job's place (that start is being reported);
	 * negative when it could not start (it is no longer queued either). */
	int (*promote)(nf_runner *r, size_t node, pid_t *pgid);
	/* Takes a deferred job back unstarted: 1; 0 when it has started already (that start is
	 * being reported). */
	int (*withdraw)(nf_runner *r, size_t node);
} nf_runner_ops;
/* How a runner with defer reports a deferred job's start: pgid, or err (why it could not
 * start; pgid 0); late_ms, how long before this report it started (its timeout counts from
 * then). ctx is the one given to attach; err is borrowed for the call. */
typedef void (*nf_job_started_fn)(void *ctx, size_t node, int attempt, pid_t pgid, int64_t late_ms,
				  const char *err);
struct nf_runner {
	const nf_runner_ops *ops;
	/* true: the runner keeps each job's timeout_ms itself, counted from when the job really
	 * starts (a Slurm job waits in a queue first), and reports a job it stopped for it with
	 * timed_out; the scheduler then sets no timeout timer for its jobs. */
	bool own_timeout;
	/* Set by whoever attaches a runner with defer, before attach (NULL: starts of deferred
	 * jobs go unreported). */
	nf_job_started_fn started;
};

/* The local runner: each job started by ntflow-spawn, the process spawner it execs at its
 * first job (found at its creation through $NTFLOW_SPAWN, beside /proc/self/exe, then in
 * pkglibexecdir; none: an error, and no runner; one that does not start or is no spawner:
 * that start fails, and every later one with the same reason), so that a job's rusage
 * (max_rss_kb) is its own and not ours: vfork+execve into a new process group with
 * PR_SET_PDEATHSIG, stdin from /dev/null; the job's words exec'd directly (nf_job.argv) or
 * /bin/sh -c COMMAND. A
 * program not found ends the attempt with status 127 and "ntflow: NAME: not found" in its
 * log (126 and "Permission denied" for one that cannot be run), as sh would. stdout+stderr
 * go through a pipe the runner reads on its loop into the log, which is created at the first
 * byte (its folder is made at start; NULL log_path: /dev/null; NULL envp: environ; NULL
 * cwd: ours); a log that cannot be written is reported in the result (log_errno). Attached
 * to a loop, it watches the spawner's exits (each job's wait status and rusage, which
 * wait in their socket until then), the signal self-pipe (SIGCHLD, SIGINT, SIGTERM;
 * nf_signals_*: it drains it and reaps the spawner should it die) and the jobs' pipes.
 * When a job's leader exits, whatever it left running in its process group is SIGKILLed (a
 * finished stage leaves nothing behind) and what is left in its pipe goes to the log. Jobs
 * are not children of this process: other code may wait for its own children. While
 * detached, a job that fills its pipe waits. If the spawner dies, the running jobs end
 * killed (SIGKILL, max_rss_kb 0) and later starts fail. free() SIGKILLs every job's group
 * still running and waits for the spawner, which reaps them. A job's log keeps at most log_limit bytes
 * (the rest is read and discarded); when the job ends, if anything was cut, ntflow appends
 * a line saying so. */
int nf_runner_local_new(nf_runner **out, nf_clock *clock);
/* Makes each child of the local runner append "PGID START\n" (its new process group and
 * its start time in clock ticks after boot) to fd before it execs its command; a child
 * that cannot write it fails (exit 127, the reason in its log). fd: an O_APPEND file that
 * stays the caller's (store.h's procs record); -1: none (default). */
void nf_runner_local_procs_fd(nf_runner *r, int fd);

/* Installs SIGCHLD/SIGINT/SIGTERM handlers writing to a self-pipe (idempotent). */
int nf_signals_install(void);
/* The read end of the self-pipe (for poll). */
int nf_signals_fd(void);
/* How many SIGINT/SIGTERM arrived since the last call (the scheduler, after each turn of
 * its loop). Counts only: the pipe is drained by whoever watches it (the local runner), so
 * a SIGCHLD byte is never consumed here. */
int nf_signals_take(void);
/* How many SIGINT/SIGTERM arrived since the last nf_signals_take, without taking them. */
int nf_signals_pending(void);
/* Empties the pipe (its watcher, before it looks at what woke it). */
void nf_signals_drain(void);
/* How many SIGINT/SIGTERM arrived since the handlers were installed (the dashboard closes
 * at the end of a run cancelled by Ctrl-C instead of waiting for q). */
int nf_signals_seen(void);
/* Restores default dispositions and an empty signal mask (children must not inherit our
 * handlers). Async-signal-safe: for a vfork child, as its last step before execve. */
void nf_signals_reset_child(void);
/* The same for only the signals of sigs (ntflow-spawn's: the ones it does not leave at
 * SIG_DFL, computed once, its dispositions fixed from then on); the mask emptied all the
 * same. Async-signal-safe. */
void nf_signals_reset_some(const sigset_t *sigs);

/* What prepare() decided for a node about to start. */
enum {
	NF_PREP_SPAWN     = 0,   /* run job through the runner */
	NF_PREP_SUCCEEDED = 1,   /* done without a process (a gate that passed) */
	NF_PREP_CACHED    = 2,   /* done from the cache without a process */
	NF_PREP_REJECTED  = 3,   /* a gate that said no: dependents are skipped */
};

typedef struct nf_sched_hooks {
	void *ctx;
	/* Before each attempt: fill job (command, env, log; job->reason for a rejection) and
	 * return NF_PREP_*, or a negative code to fail the node at once (not retried; the
	 * message in nf_error_last()). */
	int (*prepare)(void *ctx, const nf_node *node, int attempt, nf_job *job);
	/* After an attempt exited 0: check outputs, read metrics. 0, or negative to fail the
	 * attempt (retried like any failure; message in nf_error_last()). May be NULL. */
	int (*finish)(void *ctx, const nf_node *node, const nf_job_result *res);
	/* Every state change, in order. res is set when an attempt ended; reason is a short
	 * text for failures and skips ("exit 3", "timed out after 10s", "needs failed stage x",
	 * "gate promote rejected"), else NULL. pgid is set on RUNNING. RETRYING carries the
	 * ended attempt's res and reason (its failure); the final FAILED/TIMED_OUT carries the
	 * last attempt's. A node waiting for a retry when the run stops after another node's
	 * failure ends FAILED (or TIMED_OUT) with "not retried: run stopped after failure of x".
	 * late_ms: how long before this call the change happened (a start or an end the
	 * runner heard of late), else 0. */
	void (*on_state)(void *ctx, const nf_node *node, nf_state st, int attempt,
			 const nf_job_result *res, const char *reason, pid_t pgid, int64_t late_ms);
	/* Once per loop turn after events were handled: the moment to commit a batch. May be NULL. */
	void (*on_tick)(void *ctx);
	/* > 0: the loop wakes at least this often and calls on_tick on every turn, changed or
	 * not (the dashboard reads keys and redraws its clock there). 0: on_tick only after
	 * changes. */
	int64_t tick_ms;
	/* Before a ready node is deferred with its runner (prepared now, started later in an
	 * ended job's place without another prepare): whether that may be, now. NULL: yes. The
	 * run says no on a nearly full disk, where the check prepare makes must be made right
	 * before the start. */
	bool (*may_defer)(void *ctx);
} nf_sched_hooks;

typedef struct nf_sched_opts {
	int slots;                   /* -j; >= 1 */
	bool keep_going;
	const bool *selected;        /* per node id: false = skip it (with its reason "not selected");
	                              * NULL = all. Borrowed for the scheduler's life. An unselected
	                              * node counts as satisfied for its users (--only/--from: its
	                              * outputs are assumed present from earlier runs). */
	uint64_t seed;               /* jitter; fixed in tests */
	/* More runners besides the one given to nf_sched_new (borrowed). A node runs on the
	 * runner whose ops->name is its opts.executor (NULL executor: nf_sched_new's runner);
	 * one named by no runner fails at its start. At most 255 runners in all. */
	nf_runner *const *runners;
	size_t nrunners;
} nf_sched_opts;

/* The scheduler owns an event loop on its clock (nf_sched_loop); nf_sched_run attaches
 * every runner to it, waits in nf_loop_turn until a job ends, a timer is due or a watched
 * descriptor is readable, and detaches them at its end. */
typedef struct nf_sched nf_sched;
int nf_sched_new(nf_sched **out, const nf_graph *g, nf_runner *runner, nf_clock *clock,
		 const nf_sched_opts *opts, const nf_sched_hooks *hooks);
/* Runs the loop to the end and returns the outcome (NF_RUN_SUCCEEDED, FAILED, GATED or
 * CANCELLED) in *status. Returns 0, or a negative code when the runner failed (or the graph
 * has a cycle: NF_EINVALID). Ready nodes start in strict priority order (crit descending,
 * then id): a node needing more free slots than there are blocks those behind it. A node
 * takes min(cpus, slots) slots. Back-off after attempt k ends: nf_backoff_ms(backoff_ms,
 * backoff_max_ms, k + 1, rnd). retry_on listed: only exits with those codes are retried
 * (not timeouts, signals or finish() failures). A first SIGINT/SIGTERM cancels (as
 * nf_sched_cancel(false)); a second, or one during a cancel, kills at once. Running attempts
 * that end after a cancel are recorded CANCELLED; nodes that had not started too. */
int nf_sched_run(nf_sched *s, nf_run_status *status);
/* From on_tick: make the loop wake within ms and call on_tick again even if nothing
 * changed, for work on_tick put off (the run commits its batch at most every 50 ms). */
void nf_sched_wake_within(nf_sched *s, int64_t ms);
/* Makes the loop also wake (and call on_tick) when fd is readable: the dashboard's
 * terminal, so a key is handled at once while stages run. Replaces the previous one; -1:
 * none (default). Callable before nf_sched_run and from its hooks. */
void nf_sched_wake_fd(nf_sched *s, int fd);
/* The scheduler's event loop, for other event sources of the run (alive till nf_sched_free). */
nf_loop *nf_sched_loop(nf_sched *s);
/* Asks the loop to cancel: SIGTERM to every running group, SIGKILL after its grace
 * (at once when hard). Safe from hooks. */
void nf_sched_cancel(nf_sched *s, bool hard);
/* For the dashboard, from on_tick while the loop runs. Cancels one node: a running one gets
 * SIGTERM (SIGKILL after its grace) and ends CANCELLED; a waiting, ready or retrying one
 * ends CANCELLED at once; either way what needs it is skipped ("needs cancelled stage x")
 * and the run ends CANCELLED unless a stage failed. NF_EINVALID when it has ended or the
 * loop is not running. */
int nf_sched_cancel_node(nf_sched *s, size_t node);
/* Runs a failed, timed-out or cancelled node again within the same run, with a fresh set
 * of retries (attempt numbers go on: 4, 5, ...). What its failure skipped, and what a stop
 * after a failure skipped, waits again; nodes behind another dead node stay skipped. A
 * stop after a failure is lifted (the user asked to go on). NF_EINVALID when the node has
 * not failed, something it needs did not succeed, or the loop is over or cancelling. */
int nf_sched_retry(nf_sched *s, size_t node);
/* RETRYING: the clock time the next attempt is due (its back-off end), else -1. Valid in
 * on_state for the RETRYING change itself. */
int64_t nf_sched_retry_at(const nf_sched *s, size_t node);
/* Nodes in a final state now (a retry gives some back). */
size_t nf_sched_done(const nf_sched *s);
nf_state nf_sched_state(const nf_sched *s, size_t node);
int nf_sched_attempts(const nf_sched *s, size_t node);
void nf_sched_free(nf_sched *s);

/* Back-off before attempt (attempt >= 2): full jitter over min(max, base * 2^(attempt-2)).
 * rnd is a uniform draw in [0,1). 0 for attempt < 2 or base <= 0; max <= 0: no cap. */
int64_t nf_backoff_ms(int64_t base_ms, int64_t max_ms, int attempt, double rnd);

#endif

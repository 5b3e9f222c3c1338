/* run.h: one run of a pipeline: load and check the DAG, open the workspace, expand
 * ${...} for each stage as it starts, give stages their environment, check outputs,
 * read metrics, pick matrix winners and evaluate gates, and record it all in the store.
 * The scheduling itself is exec.h's; printing is the caller's (through on_event). */
#ifndef NTFLOW_RUN_H
#define NTFLOW_RUN_H

#include <stdio.h>
#include "ntflow/exec.h"
#include "ntflow/expr.h"
#include "ntflow/store.h"

/* A state change as the caller sees it (progress lines, JSON lines, the dashboard). Its
 * strings last until on_event returns: a caller that keeps one copies it. */
typedef struct nf_run_event {
	int64_t run_id;
	const char *node;          /* "tune[lr=0.05,l2=0]" */
	nf_stage_kind kind;        /* NF_STAGE, NF_GATE, NF_MONITOR */
	nf_state state;
	int attempt;               /* 1-based; 0 when none ran */
	int max_attempts;
	size_t done, total;        /* nodes in a final state, all nodes */
	int64_t wall_ms;           /* of the attempt that ended, else 0 */
	int64_t backoff_ms;        /* RETRYING: the wait before the next attempt */
	const char *reason;        /* failures and skips ("reused run 3" for a cached node); NULL otherwise */
	int64_t reused_run;        /* CACHED: the run whose result it reused; else 0 */
	const char *log_path;      /* relative to the project root */
} nf_run_event;

/* A run in progress, as on_tick hands it to the dashboard. */
typedef struct nf_run_ctl nf_run_ctl;

/* An alert a monitor raised, as the run reports it: ("drift", "feature-shift", "high",
 * "max_psi 0.31 > 0.25"), the alert's id, how many runs raised it (this one included),
 * the run that raised it first; repeat when that was an earlier run (the alert is only
 * counted again: no new alert, no new trigger); open when not acknowledged. */
typedef struct nf_run_alert {
	const char *monitor, *rule, *severity, *summary;
	int64_t id, count, first_run;
	bool repeat, open;
} nf_run_alert;

typedef struct nf_run_request {
	const char *dag_path;
	const char *state_dir;         /* --state; NULL: NTFLOW_STATE or the default */
	int jobs;                      /* -j; 0: the pipeline's concurrency, else the CPUs */
	const char *const *params;     /* "name=value" overrides */
	size_t nparams;
	/* The interval the run stands for: date is its start, YYYY-MM-DD (that day's midnight
	 * in the pipeline's time zone) or YYYY-MM-DDTHH:MM[:SS]Z; interval_end its end, the same
	 * forms, later than the start. No interval_end: the run stands for the instant date. No
	 * date: now, or with trigger "schedule" the interval closed by the schedule's latest
	 * fire time. */
	const char *date;
	const char *interval_end;
	const char *trigger;           /* manual (default), schedule, alert, backfill */
	const char *cohort;            /* --cohort: the run's cohort; NULL: the pipeline's cohort template */
	bool keep_going;
	bool dry_run;
	const char *executor;          /* --executor: every stage runs there ("local", "slurm"); NULL: the file's */
	const char *const *only;       /* run only these stages (or nodes) */
	size_t nonly;
	const char *from;              /* run this stage and everything downstream */
	bool no_cache;                 /* run everything, reuse nothing (results are still stored) */
	const char *const *force;      /* run these stages and what depends on them */
	size_t nforce;
	const char *at;                /* run the pipeline as it was at this commit */
	/* How to take the workspace's write lock (store.h), held from before the run's first
	 * write to its end: wait (the default) or not, and who is told. lock.what NULL:
	 * "ntflow run FILE". A dry run without --at writes nothing and takes no lock. */
	nf_wslock_opts lock;
	void (*on_event)(void *ctx, const nf_run_event *ev);
	void (*on_start)(void *ctx, int64_t run_id, const char *pipeline, size_t total);
	/* --dry-run: called for each node that would run, in start order. */
	void (*on_plan)(void *ctx, size_t index, const char *node, const char *command);
	/* Warnings worth showing (recovered crashed runs, ignored metric values). */
	void (*on_warning)(void *ctx, const char *msg);
	/* An alert rule of a monitor fired (nf_run_alert). May be NULL. */
	void (*on_alert)(void *ctx, const struct nf_run_alert *alert);
	/* The dashboard: called between scheduler turns, at least every tick_ms (default 100)
	 * and at once when wake_fd (>= 0; -1: none) is readable. It may act through ctl and
	 * must not block. NULL: none (wake_fd and tick_ms are then ignored). */
	void (*on_tick)(void *ctx, nf_run_ctl *ctl);
	int64_t tick_ms;
	int wake_fd;
	/* The end of a scheduler turn in which a node changed state, before the run commits
	 * its batch or waits for what comes next, and before on_tick (progress lines written
	 * in the turn go out together). May be NULL. */
	void (*on_turn)(void *ctx);
	/* A model version registered at the end of the run: status is "production" or
	 * "candidate" ("fraud-clf v3 -> production" in the summary), or "unchanged" when the
	 * artifact is byte-identical to version (nothing registered). note, when not NULL, says
	 * why a passed gate did not change production ("not promoted: run 4 failed: drift
	 * failed"). May be NULL. */
	void (*on_registered)(void *ctx, const char *model, int version, const char *status,
			      const char *note);
	void *ctx;
	/* Where the DAG file's errors go (nf_run_exec returns NF_EINVALID). May be NULL. */
	nf_diag_list *diags;
} nf_run_request;

/* For on_tick. Cancel one node (what needs it is skipped), run a failed or cancelled one
 * again with what its failure skipped, or cancel the whole run (as Ctrl-C). NF_ENOTFOUND
 * for an unknown node; NF_EINVALID (exec.h's message) when the node's state does not allow
 * it. */
int nf_run_ctl_cancel_node(nf_run_ctl *ctl, const char *node);
int nf_run_ctl_retry_node(nf_run_ctl *ctl, const char *node);
void nf_run_ctl_cancel(nf_run_ctl *ctl);
/* Stops (-1) or changes the fd that wakes the loop (the dashboard detached or closed). */
void nf_run_ctl_wake_fd(nf_run_ctl *ctl, int fd);

/* The control channel of a run whose executor is a process of its own (`ntflow run` on a
 * terminal, `--detach`; control.c): the named pipe STATE_DIR/executor/RUN.ctl that any
 * dashboard writes "cancel", "cancel-node NODE" or "retry-node NODE" to. The executor
 * opens it (control_open: a non-blocking fd to pass to nf_run_ctl_wake_fd), reads and applies
 * what came (control_read, from on_tick; a command refused goes to on_error), and removes it at its end (control_close).
 * control_send: NF_ENOTFOUND when no executor reads it (the run ended, was killed, or has no
 * channel). executor_path: STATE_DIR/executor/RUN.EXT (EXT "ctl", or "log" for the
 * executor's own output). */
char *nf_run_executor_path(const char *state_dir, int64_t run_id, const char *ext);
int nf_run_control_open(const char *state_dir, int64_t run_id, int *fd);
void nf_run_control_read(int fd, nf_run_ctl *ctl, void (*on_error)(void *ctx, const char *msg), void *ctx);
void nf_run_control_close(const char *state_dir, int64_t run_id, int fd);
int nf_run_control_send(const char *state_dir, int64_t run_id, const char *cmd, const char *node);
bool nf_run_control_available(const char *state_dir, int64_t run_id);

/* A run of a pipeline as an object (ninja's Builder): made from a request and what it runs
 * with, executed once, freed. */
typedef struct nf_run nf_run;

/* What a run works through, passed in so that tests plug in fakes. Every member may be NULL:
 * the run then makes its own (and frees it). Given ones stay the caller's and outlive the run. */
typedef struct nf_run_deps {
	nf_runner *runner;             /* starts every stage; NULL: the local runner (exec.h) */
	nf_clock *clock;               /* the scheduler's time line; NULL: nf_clock_system() */
	nf_store *store;               /* the state database; NULL: the workspace's, opened after
	                                * the lock is taken (and closed at the end) */
	struct nf_gitrepo *repo;       /* the project's git repository (cache keys, the run's
	                                * commit); NULL: opened on the project root (or --at) */
} nf_run_deps;

/* Makes a run of req with deps (NULL: all the run's own). req and deps' members are borrowed
 * until nf_run_free. Nothing is read, locked or written before nf_run_exec. */
int nf_run_new(nf_run **out, const nf_run_request *req, const nf_run_deps *deps);
/* Runs the pipeline (once per object). Returns 0 with *status set, and nf_run_id, when a run
 * took place (even a failed one); NF_EINVALID with diagnostics in req->diags (DAG errors) or
 * a message in nf_error_last() (bad -p, --only, --date); NF_EBUSY or NF_EINTR when the
 * workspace lock was not had (req->lock); other codes for workspace/store failures. Every
 * resource the run took (lock, store, runner, checkout) is released before it returns. */
int nf_run_exec(nf_run *run, nf_run_status *status);
/* The run's id in the store once nf_run_exec recorded its start, else 0. */
int64_t nf_run_id(const nf_run *run);
void nf_run_free(nf_run *run);

/* nf_project_root (the project root of a DAG file) is in util.h. */

/* The text each parameter of p stands for: its declared default, replaced by the last of
 * the -p overrides ("NAME=VALUE") naming it. *out maps each name (borrowed from p) to its
 * text (borrowed from p or copied into a); the caller frees it with nf_strmap_free.
 * NF_EINVALID with a message quoting the argument for one without '=' or a name, an
 * unknown name (with a suggestion), a value not of the declared type, or a list. */
int nf_params_resolve(nf_strmap **out, nf_arena *a, const nf_pipeline *p, const char *const *overrides,
		      size_t noverrides);

/* Values ${...} can name while a stage starts. */
typedef struct nf_interp {
	const nf_dag *dag;
	const nf_node *node;           /* for matrix.*; may be NULL */
	int64_t run_id;
	const char *run_date, *run_week, *run_trigger;
	const char *run_interval_start, *run_interval_end;   /* ISO 8601 UTC */
	const char *dag_dir;
	/* params.NAME rendered as text (after -p overrides); NULL when unknown. */
	const char *(*param)(void *ctx, const char *name);
	/* stages.S.best.K: 0 and *out, or a negative code with a message. */
	int (*best)(void *ctx, const char *stage, const char *key, const char **out);
	void *ctx;
	/* The text ntflow records (the cache key's command and env, the plan): ${env.NAME} of
	 * a secret_env name gives NF_SECRET_MASK, set or not, instead of its value. */
	bool redact;
} nf_interp;

/* What a secret's value is recorded and shown as. */
#define NF_SECRET_MASK "***"

/* Expands t into out, each ${...} value shell-quoted when shell_quote (for `run`).
 * NF_EINVALID with a message naming the reference when one cannot be resolved. */
int nf_interp_expand(nf_buf *out, const nf_tmpl *t, const nf_interp *ip, bool shell_quote);
/* A stage's command as ntflow records and shows it (the cache key, the store, the plan):
 * a string's expansion with its values shell-quoted; a list's words as a JSON array
 * (["python3", "train.py", "a b"]), so that ["a b"], ["a", "b"] and "a b" all differ. */
int nf_interp_command(nf_buf *out, const nf_stage *st, const nf_interp *ip);
/* The words of a command nf_argv_direct accepts, appended to out each ending in a NUL,
 * their count in *nwords: t split on blanks, each ${...} value inside the word it stands in,
 * never split. NF_EINVALID as nf_interp_expand. */
int nf_interp_words(nf_buf *out, size_t *nwords, const nf_tmpl *t, const nf_interp *ip);
/* The reference of t whose value is the longest ("params.msg"), with that length in *len;
 * NULL when t has none that resolves. */
const char *nf_interp_largest_ref(const nf_tmpl *t, const nf_interp *ip, size_t *len);
/* A scalar value as text: numbers as written, true/false, the literal string. */
const char *nf_value_text(const nf_value *v);
/* The ISO week of a YYYY-MM-DD date ("2026-W47"); NF_EINVALID for a bad date. */
int nf_iso_week(char out[16], const char *date);

/* Metrics read from a JSON file: nested objects of numbers flattened to dotted names. The
 * top-level "slices" object holds the metrics per slice of the data ({"region=EU":
 * {"accuracy": 0.91}}), kept as METRIC[SLICE] ("accuracy[region=EU]"). */
typedef struct nf_metric_set {
	char **names;
	double *values;
	size_t n, cap;
	nf_strmap *index;              /* name -> position + 1, so adding and looking up are O(1) */
	char **warnings;               /* ignored strings/arrays, one line each */
	size_t nwarnings, wcap;
} nf_metric_set;
/* Reads path. NF_ENOTFOUND for a missing file, NF_EINVALID for an empty, truncated or
 * non-JSON file (the message names the file and line:col of the JSON error) or a
 * non-finite number. */
int nf_metrics_read(nf_metric_set *out, const char *path);
/* Adds (or replaces) a metric. */
void nf_metrics_add(nf_metric_set *m, const char *name, double value);
/* Looks a metric up: 0 and *value, or NF_ENOTFOUND. */
int nf_metrics_get(const nf_metric_set *m, const char *name, double *value);
/* The values of metric per slice (the METRIC[SLICE] entries), in file order: *out (NULL
 * when none; nf_metrics_slices_free) and *n. */
void nf_metrics_slices(const nf_metric_set *m, const char *metric, nf_expr_slice **out, size_t *n);
void nf_metrics_slices_free(nf_expr_slice *s, size_t n);
void nf_metric_set_release(nf_metric_set *m);

#endif

/* run-internal.h: the state of one run shared by the files of src/run. */
#ifndef NTFLOW_RUN_INTERNAL_H
#define NTFLOW_RUN_INTERNAL_H

#include "ntflow/cache.h"
#include "ntflow/cachekey.h"
#include "ntflow/expr.h"
#include "ntflow/run.h"
#include "aside.h"

/* A node's attempt whose declared outputs are aside (outputs-step.c). */
typedef struct nf_run_aside {
	char *stem;                 /* its stem STATE/trash/RUN/STAGE[@ID].ATTEMPT, or NULL: none */
	nf_aside_moves moves;
} nf_run_aside;

/* A node's final state not yet committed, kept to write it again when the batch that held
 * it is lost (a failure of the state database): of its result, what the store records.
 * Only the batch's are kept (run_ctx.finals), not 56 bytes for every node of the run. */
typedef struct nf_run_final {
	char *reason;               /* owned; NULL: none, or "reused run R" when reused */
	int64_t reused;             /* cached, reusing run R: its reason, not held as a string
	                             * (a cached rerun keeps every node's until its commit) */
	int64_t wall_ms, user_ms, sys_ms;
	long max_rss_kb;
	uint32_t node;
	int attempt;
	int code;                   /* has_res: the exit code when exited, else the signal */
	uint8_t st;                 /* nf_state */
	bool has_res;
	bool exited;
} nf_run_final;

/* What a node holds only while it is under way, from its key to its final state: out of
 * line (nf_run_node.flight), as a few nodes are under way at once and a run may hold
 * 100 000 nodes (32 bytes each, issue 15). */
typedef struct nf_run_flight {
	char *key;                  /* its cache key, once computed */
	char *comps;                /* the key's components */
	int64_t reused;             /* the run whose cached result it reused, else 0 */
	nf_run_aside aside;         /* its running attempt's outputs aside (outputs-step.c);
	                             * stem NULL: none, as for most (none were there before) */
} nf_run_flight;

/* What the run knows of one node of its graph (ctx->nodes[node->id]). */
typedef struct nf_run_node {
	nf_run_flight *flight;      /* NULL: not under way (nf_run__flight makes it) */
	/* The digest of its outputs, for downstream keys (cache-step.c's set_out_digest):
	 * "out:HEX", as almost every node's is, as its bytes (not 80 bytes of heap), anything
	 * else as the string. */
	union {
		unsigned char raw[32];  /* out_is_raw */
		char *text;             /* else; NULL: none yet */
	} out;
	int log_attempt;            /* the attempt whose log was set up last (0: none); its
	                             * path is made again when needed (nf_run__log_rel), not
	                             * kept: 35 bytes a node (issue 15) */
	bool forced;                /* --force */
	bool out_is_raw;            /* out.raw holds its output digest */
	bool looked_up;             /* its cache lookup made, for this round of attempts: a
	                             * retry after its final state (a dashboard's) makes it
	                             * again, on the inputs as they are then */
} nf_run_node;


/* The cache (cache-step.c). */
typedef struct nf_run_cache {
	nf_gitrepo *repo;
	bool own_repo;              /* opened by the run (not the caller's nf_run_deps) */
	nf_objstore *objs;
	bool dirty;                 /* an input was modified, staged or untracked */
	const char *identity;       /* the pipeline as cache keys name it: its name, else the
	                             * DAG file's path from the root */
	/* While every node so far was cached without writing anything (a no-op rerun), the
	 * folders of outputs stay open and the objects found present are not looked at again;
	 * the first node that restores, runs or moves an output aside ends both
	 * (nf_run__cache_unsettle), as a stage may then change the tree. */
	nf_dircache *dirs;          /* NULL: not opened yet, or stopped */
	bool unsettled;
	/* While a node's end is handled (hook_finish), the folders of its outputs, opened once
	 * for the check that they exist and again for their hashing (nf_run__outputs_ending). */
	nf_dircache *ending;
	bool ending_on;
	nf_strmap *present;         /* object digests seen in the store (keys in the run's arena) */
	nf_arena *outs_arena;       /* a node's outputs indexed for its key (cache-step.c), reset each node */
	/* The declared outputs' stats, taken by a thread from just before the first lookup
	 * (preload-step.c), used while settled and freed by the unsettle. ahead_first[node]:
	 * the slot of the node's first output (UINT32_MAX: none). */
	nf_statahead *ahead;
	uint32_t *ahead_first;
	/* At the first lookup: 1 when the store held no cache entry at all (the workspace's
	 * first run), so no lookup of this run can hit (a key names its node, and an entry
	 * this run writes is never looked up again by its own node); -1 otherwise; 0 not
	 * known yet. */
	int empty;
	/* The project root's folder, opened at the first output looked at (nf_run__root_fd)
	 * and kept for the run: every output is found from it. */
	int rootfd;
	bool rootfd_tried;
	nf_keyb *keyb;              /* the key builder, reset for each node's key */
	nf_cache_outs outs;         /* the outputs of the entry looked up last */
	char *path_key;             /* the pipeline's path folders as keyed, "a:b" as expanded for
	                             * PATH (build_base_env), or NULL: none */
} nf_run_cache;

/* Runs with more nodes than this put their logs in subfolders logs/RUN/K/ of this many
 * nodes each (K = node number / NF_LOG_FANOUT). */
#define NF_LOG_FANOUT 1000

/* The strings of the job being started (hook_prepare); borrowed by the runner for one call. */
typedef struct nf_run_job {
	char **base_env;            /* environ with PATH, NTFLOW_PARAM_* and pipeline env */
	size_t nbase_env;
	nf_strmap *base_index;      /* NAME -> its position in base_env + 1 */
	char **env;
	size_t nenv, env_cap;
	nf_buf cmd;
	nf_buf words;               /* a command exec'd without the shell: its words, NUL-ended */
	char **argv;                /* pointing into words, when direct */
	bool direct;                /* false: through /bin/sh -c */
	size_t argv_cap;
	char *log;
	char *reason;               /* a rejected gate's reason, handed to the scheduler */
	nf_arena *arena;            /* the job's own environment strings: emptied at each job,
	                             * so a run of 100 000 stages does not keep them all */
	char *root_pwd;             /* "PWD=..." of a stage run in the root */
} nf_run_job;

/* The audit chain (audit-step.c): open from the run's start to its end. */
typedef struct nf_run_audit {
	struct nf_audit *chain;
	int err;                    /* the first failed append of a node record */
	char *msg;
} nf_run_audit;

/* A finished Slurm job of a killed run that the node with the same cache key may adopt. */
typedef struct nf_run_slurm_adopt {
	uint64_t job_id;
	long task;                  /* -1, or the task of the array job job_id */
	int64_t submitted_ms;
	char *key, *name, *log;
} nf_run_slurm_adopt;

typedef struct run_ctx {
	const nf_run_request *req;
	int root_fs;                /* the root's file system: 0 not looked at yet, 1 the state
	                             * directory's, 2 another (space.c) */
	uint64_t state_avail;       /* free bytes where the state directory is, as last read */
	int64_t state_avail_ms;     /* when (monotonic); 0: never (space.c) */
	uint64_t state_avail_objs;  /* cache objects written then (nf_objstore_stats.written) */
	nf_run_deps deps;           /* as the caller gave them; NULL members filled by the run */
	bool own_runner, own_store;
	nf_dag *dag;
	nf_graph *graph;
	nf_store *store;
	nf_wslock *lock;            /* the workspace's write lock, held to the end */
	nf_runner *runner;
	nf_clock *clock;
	nf_sched *sched;
	char *root;                 /* project root: stages run here */
	char *state_dir;
	char *dag_dir;
	int64_t run_id;
	char date[16];              /* ${run.date}: the interval's start, its day in the pipeline's zone */
	char week[16];
	char interval_start[32];    /* the run's interval [start, end), ISO 8601 UTC (logical.c) */
	char interval_end[32];
	const char *trigger;
	nf_strmap *params;          /* name -> rendered text (arena) */
	nf_arena *arena;            /* run-lifetime strings */
	nf_run_node *nodes;         /* per node id */
	/* Per node id, the metrics it succeeded with (NULL: none); NULL until a node has
	 * some, as most pipelines' nodes have none (read through nf_run__metrics). */
	nf_metric_set **metrics;
	char out_digest_text[4 + 64 + 1];   /* a node's raw output digest written out (cache-step.c) */
	const nf_node **best;       /* per stage index: the select winner, once computed (NULL
	                             * until the first select is asked) */
	size_t total;
	nf_run_job job;
	nf_run_cache cache;
	const char *pipeline;       /* the pipeline's name, which scopes cache entries */
	const char *cohort;         /* the run's cohort (--cohort, else the pipeline's template); NULL: none */
	/* HEAD and its branch when the run began (NULL: none), what its record says it ran on:
	 * the repository's may move with a retry's new snapshot (nf_gitrepo_refresh). */
	const char *commit, *branch;
	/* The final states recorded since the store last committed (nf_store_commits was
	 * finals_commits): written again, in order, when the database failed meanwhile. */
	nf_run_final *finals;
	size_t nfinals, finals_cap;
	unsigned long finals_commits;
	int64_t last_flush_ms;      /* when the store's batch was last committed (monotonic) */
	unsigned unflushed;         /* stage results recorded since (NF_RUN_FLUSH_STAGES) */
	unsigned flush_turn;        /* NF_RUN_FLUSH_TURN, or a test's NTFLOW_TEST_FLUSH_TURN */
	/* The run's processes: the procs record each stage's process appends its group to
	 * (store.h), and the mark in every stage's environment (NTFLOW_RUNNER=PID.START). */
	int procs_fd;
	char mark[64];
	bool spawned;               /* a process was started */

	char *trash;                /* STATE/trash: declared outputs moved aside (outputs-step.c) */

	/* The state database's first failure (nf_store_failure), which stopped the run. */
	int store_err;
	char *store_msg;
	char *reserve;              /* STATE/reserve while held (space.c) */
	nf_run_audit audit;
	nf_runner *slurm;           /* the Slurm runner, when a node runs there (slurm-step.c) */
	nf_run_slurm_adopt *slurm_adopt;   /* per node id, when slurm */
	/* The events the pipeline's hooks fire on, kept for the run's end (hooks.c). */
	struct nf_run_hook_event *hook_events;
	size_t nhook_events, hook_events_cap;
	struct nf_run_lineage *lineage;    /* the OpenLineage events (lineage-step.c); NULL: none */
	/* outputs-step.c: every node's declared outputs by normalized path, made at the first
	 * metrics file checked against them; out_late: the nodes whose outputs expand only at
	 * their own time (${stages.X...}), checked one by one. */
	nf_strmap *out_index;
	nf_arena *out_index_arena;
	uint32_t *out_late;
	size_t nout_late;
} run_ctx;

/* node's metrics when it succeeded with some, else NULL. */
static inline const nf_metric_set *
nf_run__metrics(const run_ctx *ctx, size_t node)
{
	return ctx->metrics ? ctx->metrics[node] : NULL;
}

/* node's flight, made at the first call. */
nf_run_flight *nf_run__flight(run_ctx *ctx, size_t node);
/* node's final state is recorded: its key and components go, and its flight with them
 * unless outputs are still aside. */
void nf_run__flight_end(run_ctx *ctx, size_t node);
/* node's cache key, or NULL. */
const char *nf_run__key(const run_ctx *ctx, size_t node);

/* hooks.c. The pipeline's hooks: an event is noted while the run goes (a version promoted,
 * a new alert) and every hook runs once the run's outcome is recorded (nf_run__hooks),
 * after the event, never changing the outcome. */
typedef enum { NF_HOOK_ALERT, NF_HOOK_PROMOTE, NF_HOOK_SUCCESS, NF_HOOK_FAILURE, NF_HOOK_GATED } nf_run_hook_kind;
typedef struct nf_run_hook_event nf_run_hook_event;
void nf_run__hook_promoted(run_ctx *ctx, const char *model, int version);
/* cohort-step.c. After gate's criteria were evaluated into r (lookup reads its metrics,
 * slices their slices, both with lctx): its violations, the run's risk when risk { } reads
 * this gate, and their alerts. */
int nf_run__gate_findings(run_ctx *ctx, const nf_node *gate, const nf_gate_result *r, nf_expr_lookup_fn lookup,
			  nf_expr_slices_fn slices, void *lctx);
void nf_run__hook_alert(run_ctx *ctx, const char *monitor, const char *rule, const char *severity,
			const char *summary, int64_t id);
void nf_run__hooks(run_ctx *ctx, nf_run_status status);
/* The pipeline's keep_runs and keep_days: its old runs pruned (retention-step.c) after the
 * hooks, before the workspace marker follows the audit chain's head. Failures are warnings. */
void nf_run__retention(run_ctx *ctx);
void nf_run__hook_events_free(run_ctx *ctx);

/* The longest the run's state changes wait in an open batch before being committed, and
 * the most stage results (final states) one waits for: a commit costs as much as the
 * writes of several quick stages, so it is shared by up to NF_RUN_FLUSH_STAGES of them; a
 * crash loses at most that batch, whose stages simply run again. 256, not 64: each commit
 * rewrites the pages its rows share with the last one (and checkpoints them again), 5% of
 * ntflow's CPU in a run of 10 000 quick stages; stages slower than 1 ms reach the 250 ms
 * first, and quick ones are quick to run again. */
#define NF_RUN_FLUSH_MS 250
#define NF_RUN_FLUSH_STAGES 256
/* The most stage results one loop turn keeps uncommitted: a cached pass settles thousands
 * of stages in one turn, and what a batch keeps until its commit (each node's pending row,
 * each final state) would otherwise grow with the pipeline (60 MB at 100 000 stages). */
#define NF_RUN_FLUSH_TURN 1024

/* Space for the run's record on a disk that fills up (space.c): the reserve a run holds
 * from its start until its final state is written; the least free space on the state
 * directory's file system for a stage to start; below this, a file system an attempt wrote
 * to is taken as full (its writes may have failed). */
#define NF_RUN_RESERVE (1024 * 1024)
#define NF_RUN_MIN_FREE (1024 * 1024)
/* Below this free where the state directory is, no stage is deferred (exec.h, may_defer):
 * each starts only after its own check of the space, as the ended stage's outputs, copied
 * into the cache after a deferred one was checked, could have taken what it found. */
#define NF_RUN_DEFER_FREE (UINT64_C(1) << 30)
#define NF_RUN_FULL_BELOW (64 * 1024)
/* A reading of the state directory's free space this recent stands for a new one before a
 * stage starts: the after-check of the attempt that freed the slot has just read it (and
 * the cache has written no object since, space.c). */
#define NF_RUN_SPACE_FRESH_MS 5
/* Takes the reserve (NF_EIO naming the file system when there is no room for it). */
int nf_run__reserve_take(run_ctx *ctx);
/* Gives the reserve back (removes the file); nothing when none is held. */
void nf_run__reserve_release(run_ctx *ctx);
/* Before a stage starts: NF_EIO ("not started: the file system at ... has ...") when less
 * than NF_RUN_MIN_FREE is free where the state directory is. */
int nf_run__space_check(run_ctx *ctx);
/* Whether the state directory's file system has NF_RUN_DEFER_FREE free (a reading of
 * nf_run__space_check's kind; true when it cannot be read, as the check then lets a stage
 * start). */
bool nf_run__space_ample(run_ctx *ctx);
/* After an attempt: the description of the state directory's or the project's file system
 * when it is full (caller frees), else NULL. */
char *nf_run__full_after_attempt(run_ctx *ctx);

/* cache-step.c. The tree may change from now on (a node restores, runs or moves outputs
 * aside): outputs' folders are walked anew and objects looked at again. */
void nf_run__cache_unsettle(run_ctx *ctx);
/* Frees what nf_run_cache holds for the lookups (the folders kept open, the memo). */
void nf_run__cache_release(run_ctx *ctx);

/* preload-step.c. Before the scheduler starts: the stat-cache rows of the selected nodes'
 * declared outputs read at once (nf_store_statcache_preload). Best effort. */
void nf_run__statcache_preload(run_ctx *ctx, const bool *selected);
/* preload-step.c: output o of node's stat, taken ahead by a thread when the cache held
 * entries to look up, while the run is settled; norm is the output's normalized path.
 * False: look at it. */
bool nf_run__stat_ahead(run_ctx *ctx, const nf_node *node, size_t o, const char *norm, struct stat *st);

/* node's metrics file when it counts as one of its outputs (in the workspace, in none of
 * its declared outputs, and no other node's): moved aside, cached and restored with them,
 * after them (outputs-step.c). The path as expanded (the run's arena), or NULL. */
const char *nf_run__metrics_output(run_ctx *ctx, const nf_node *node);
/* Expands t for node into the run's arena (no shell quoting: a path or a value). */
int nf_run__expand(char **out, run_ctx *ctx, const nf_node *node, const nf_tmpl *t);
/* nf_run__expand into out (emptied first) rather than the run's arena: for a path looked
 * at and dropped, which a run of 100 000 stages would otherwise keep to its end. */
int nf_run__expand_buf(nf_buf *out, run_ctx *ctx, const nf_node *node, const nf_tmpl *t);
/* The same as ntflow records it: a secret_env value as NF_SECRET_MASK. */
int nf_run__expand_recorded(char **out, run_ctx *ctx, const nf_node *node, const nf_tmpl *t);
/* cache-step.c: the project root's folder for the run (nf_run_cache.rootfd), or -1 when it
 * cannot be opened (each open then goes by the root's path, and says why). */
int nf_run__root_fd(run_ctx *ctx);
/* An absolute path for a path relative to the project root (caller frees). */
char *nf_run__abs(const run_ctx *ctx, const char *path);
/* The log of node's attempt: state_dir/logs/RUN/[K/]NAME[@INSTANCE].ATTEMPT.log, where K
 * spreads the logs of a run of more than NF_LOG_FANOUT nodes over folders. */
char *nf_run__log_abs(const run_ctx *ctx, const nf_node *node, int attempt);
/* The log of the node's attempt set up last, relative to the root when beneath it, or
 * NULL when none was. Both: the caller frees. */
char *nf_run__log_rel(const run_ctx *ctx, size_t node);
/* exec-size.c. 0 when /bin/sh -c cmd (words, when not NULL: a run list exec'd as these
 * arguments) with env fits execve's limits; otherwise NF_EINVALID, "argument list too
 * long: ..." naming the reference or variable that makes it too large. */
/* Whether name (len bytes, after "NTFLOW_PARAM_") is the variable of parameter key: key in
 * capitals, other than letters and digits '_' (exec-size.c). */
bool nf_run__param_var_is(const char *name, size_t len, const char *key);
int nf_run__check_exec_size(run_ctx *ctx, const nf_node *node, const nf_interp *ip, const char *cmd, char *const *words,
			    char *const *env);

/* audit-step.c. The run-start record (opens ctx->audit.chain; NF_EIO for an unreadable
 * NTFLOW_AUDIT_KEY); a node's final state; the run's end with its Merkle root (closes
 * ctx->audit; reports a failed node record). */
/* The run's interval and logical date from --date, --interval-end, --trigger schedule and
 * the pipeline's schedule and time zone (logical.c): fills date, week and interval_*.
 * NF_EINVALID with a message for a bad value or a schedule run without a schedule. */
int nf_run__logical(run_ctx *ctx);
int nf_run__audit_begin(run_ctx *ctx, const nf_run_info *info);
void nf_run__audit_node(run_ctx *ctx, const nf_node *node, nf_state st, int attempt,
			const nf_job_result *res, const char *reason);
int nf_run__audit_end(run_ctx *ctx, nf_run_status status);
/* After a failure of the state database dropped the batch (and the node records in it):
 * the chain opened again, its error forgotten, so that the final states written again get
 * their records again (nf_run__audit_replayed: without the key, which the node no longer
 * holds) and the run its end. */
void nf_run__audit_restart(run_ctx *ctx);
void nf_run__audit_replayed(run_ctx *ctx, const nf_node *node, nf_state st, int attempt, const nf_job_result *res,
			    const char *reason, int64_t reused);
/* After a monitor's metrics were read: its alert rules evaluated and the ones that fire
 * recorded and reported (on_alert); NF_EINVALID when one at least as severe as its fail_on
 * fired, or a rule could not be evaluated. */
int nf_run__alerts(run_ctx *ctx, const nf_node *node);

/* plots-step.c. After a node ended well (ran or was cached): each of its plot blocks
 * recorded with the run, with its file's SHA-256 ("" when the stage did not write it). */
int nf_run__plots(run_ctx *ctx, const nf_node *node);

/* run.c. Makes *m the node's metrics when keep (taken over: *m is left empty), releasing
 * what it held before; else releases both. */
void nf_run__keep_metrics(run_ctx *ctx, const nf_node *node, nf_metric_set *m, bool keep);

/* cache-step.c. Before a node's first attempt: computes its key and, on a hit, restores
 * its outputs and metrics and returns 1 (the node is cached); 0 when it must run. */
int nf_run__cache_lookup(run_ctx *ctx, const nf_node *node, const char *command);
/* A frozen stage (frozen = true): never run; its outputs must be there, and their digests
 * feed its dependents' keys. 0, or NF_EINVALID naming the first missing output. */
int nf_run__frozen(run_ctx *ctx, const nf_node *node);
/* After a successful attempt: stores the outputs and records the entry. */
int nf_run__cache_store(run_ctx *ctx, const nf_node *node);
/* The digest of a node's outputs for downstream keys (computed from the workspace when
 * the node did not run in this run). Borrowed. */
const char *nf_run__out_digest(run_ctx *ctx, const nf_node *node);

/* outputs-step.c. The message set last, said of node: 'stage "b": ...'; returns err. */
int nf_run__stage_error(int err, const nf_node *node);
/* Before an attempt is spawned: its declared outputs (and a metrics file
 * in no declared output) that exist moved aside to ctx->trash/RUN/STAGE[@ID].ATTEMPT.N. */
int nf_run__outputs_aside(run_ctx *ctx, const nf_node *node, int attempt);
/* After an attempt exited 0: each declared output exists ("stage "b" did not write its
 * output 'out/b'"), a folder one as a folder, in the project and reached without a symbolic
 * link ('stage "b": output 'out/l' is a symbolic link; ntflow does not follow links in
 * outputs'). */
int nf_run__outputs_check(run_ctx *ctx, const nf_node *node);
/* An output's folder, opened beneath the root without following links (nf_path_open_at's
 * checks), from the folders kept while a node's end is handled; closed with
 * nf_run__output_close. */
int nf_run__output_open(run_ctx *ctx, const char *path, char **norm, int *dirfd, const char **name);
void nf_run__output_close(run_ctx *ctx, int dirfd);
/* Keeps the folders of outputs open from ending true to ending false: around hook_finish,
 * which looks at each output of the node twice (its check, then its hashing). */
void nf_run__outputs_ending(run_ctx *ctx, bool ending);
/* When the attempt's outcome is known: what was moved aside dropped (succeeded) or put
 * back (anything else); a failure is a warning and leaves the trash for the next run. */
void nf_run__outputs_settle(run_ctx *ctx, const nf_node *node, bool succeeded);
/* At the end of the run: every attempt still aside put back, the run's trash removed (and
 * the index of declared outputs freed). */
void nf_run__outputs_settle_all(run_ctx *ctx);
/* Whether t names something only the run's progress decides (a best instance's matrix
 * value, ${stages.X...}): not expanded ahead of its node. */
bool nf_run__late_ref(const nf_tmpl *t);
/* At the start of a run: trash that crashed runs left behind put back (reported through
 * on_warning). */
void nf_run__outputs_recover(run_ctx *ctx);

/* What the run decided for a node about to start, as a value: NF_PREP_* and, for a gate
 * that said no, why (the failed criteria; caller frees). */
typedef struct nf_run_prep {
	int decision;
	char *reason;
} nf_run_prep;
/* gov-step.c. A gate node: its criteria evaluated (nf_gate_evaluate, through a lookup of its
 * needs' metrics) and recorded; 0 with out->decision NF_PREP_SUCCEEDED, or NF_PREP_REJECTED
 * with out->reason; a negative code when it could not be recorded. */
int nf_run__gate(nf_run_prep *out, run_ctx *ctx, const nf_node *node);
/* After the scheduler: registers a version of each model whose artifact a node of this run
 * produced (succeeded or cached), reporting each through on_registered. A run whose status
 * is not succeeded or gated never changes production: a passed gate then leaves a candidate. */
int nf_run__register_models(run_ctx *ctx, const char *params_json, const char *commit,
			    nf_run_status status);
/* Before the stages: the registry checked against its audit chain (NF_ECORRUPT, and the
 * run does not start, when it was edited outside ntflow), then the files under models/ put
 * back to what it says, each repair reported through on_warning. */
int nf_run__reconcile_models(run_ctx *ctx);

/* slurm-step.c. The Slurm runner, made when a selected node runs on Slurm, after the jobs
 * of killed runs were cancelled (live) or offered for adoption (finished). */
int nf_run__slurm_open(run_ctx *ctx, const bool *selected);
/* Whether node runs on Slurm (its command then goes through /bin/sh -c there). */
bool nf_run__on_slurm(const nf_node *node);
/* A node's sbatch options (NULL-terminated, in the arena; NULL when not on Slurm). */
int nf_run__slurm_args(run_ctx *ctx, const nf_node *node, char ***out);
/* Attempt 1 of node takes over a killed run's finished job with its cache key: true when
 * it does (its outputs must stay where they are). */
bool nf_run__slurm_adopt(run_ctx *ctx, const nf_node *node, int attempt);
/* Frees the runner (cancelling what is live) and settles the run's jobs in the store. */
void nf_run__slurm_close(run_ctx *ctx);

/* lineage-step.c. With the pipeline's lineage { } only (else nothing): the run's START sent
 * once its id is known; a node's state change as its event, kept; at the run's end (after it
 * is recorded) the kept events and the run's end sent, error being the run's failure (NULL:
 * none). A destination that fails is one warning (on_warning), never the run's failure. */
void nf_run__lineage_begin(run_ctx *ctx);
void nf_run__lineage_node(run_ctx *ctx, const nf_node *node, nf_state st, int attempt, const nf_job_result *res,
			  const char *reason);
void nf_run__lineage_end(run_ctx *ctx, nf_run_status status, const char *error);

#endif

/* store.h: the state database, .ntflow/state.db (SQLite, WAL): runs, node attempts and
 * metrics, written in batched transactions so the database never paces the executor. */
#ifndef NTFLOW_STORE_H
#define NTFLOW_STORE_H

#include <sys/types.h>
#include "ntflow/dag.h"
#include "ntflow/state.h"
#include "ntflow/util.h"

/* What the executor hands over, by pointer only (graph.h, exec.h). */
typedef struct nf_graph nf_graph;
typedef struct nf_job_result nf_job_result;

typedef struct nf_store nf_store;

/* Opens (creating when asked) path, sets WAL, busy_timeout and foreign keys, migrates the
 * schema forward, and marks runs left "running" by a dead process as crashed (killing any
 * process group of theirs still alive; what was done is in nf_store_recovered()).
 * ":memory:" opens an in-memory database for tests. NF_ELOCKED, NF_EDAMAGED (not a database,
 * a damaged one, or one the workspace marker refuses), NF_ECORRUPT (a schema newer than this
 * binary), NF_ENOTFOUND (no file and create false). */
int nf_store_open(nf_store **out, const char *path, bool create);
/* Opens path for a command that only reads: read-only (SQLite's read-only open; on a read-only or
 * full file system, where SQLite cannot make the -shm file, `immutable` when no write-ahead
 * log is pending), so it works on a full disk and a read-only workspace. Only when the
 * schema must be migrated or a crashed run recorded does it open read-write to do so; when
 * that cannot be written it goes on read-only (a crashed run is then only reported, in
 * nf_store_recovered()). Errors as nf_store_open. */
int nf_store_open_read(nf_store **out, const char *path);
/* Whether the store was opened read-only. */
bool nf_store_readonly(const nf_store *st);
void nf_store_close(nf_store *st);
/* The first SQLite error other than busy the store met since it was opened (a damaged page,
 * a full disk, an I/O error, a batch SQLite rolled back itself): its code (NF_EDAMAGED for
 * damage) with its message set again, or 0. A run stops at the first one. */
int nf_store_failure(nf_store *st);
/* Rolls back the open batch, dropping its writes (after a failure, so that what follows,
 * such as a run's final state, starts a transaction of its own). */
void nf_store_abort(nf_store *st);
/* Lines describing what recovery did on open ("run 12 crashed; killed process group 4242"),
 * NULL-terminated; borrowed. */
const char *const *nf_store_recovered(const nf_store *st);
/* The stat cache of content hashes kept in the database (statcache.c), for the cache
 * module's nf_gitrepo_open, nf_hash_file and nf_objstore_set_statcache; it lives as long as
 * st. Best effort: on a read-only store lookups may miss and puts do nothing. */
struct nf_statcache *nf_store_statcache(nf_store *st);
/* Reads the stat-cache rows of paths (n of them) in a few statements, so that a get of one
 * of these paths afterwards is a lookup in memory, not a query; a put keeps it current.
 * When the table holds not many more rows than paths, its rows are read in windows of a
 * few thousand instead, in the order they were written (a build's order, which a rerun's
 * lookups follow), each when the lookups reach it, and dropped two windows on.
 * Best effort, like the stat cache itself: a failed read leaves the paths to the queries. */
void nf_store_statcache_preload(nf_store *st, const char *const *paths, size_t n);
/* Whether a preload of n paths would read them (the table holds many more rows than that):
 * else it is set up now, and the paths need not be made. */
bool nf_store_statcache_preload_wants(nf_store *st, size_t n);
/* The gets of the stat cache the table answered, and the rows it holds in memory (tests). */
unsigned long nf_store_statcache_asked(const nf_store *st);
size_t nf_store_statcache_held(const nf_store *st);

/* The record of the process groups a run starts: STATE_DIR/procs/RUN, one line "PGID
 * START" per attempt (START: the leader's nf_proc_start_time), appended by each stage's
 * process before it runs its command, so recovery after a crash finds every group even
 * when the database had not yet committed it (src/store/procs.c). NULL path / fd -1 for
 * an in-memory database. open creates the folder; the fd (above 2, close-on-exec, append)
 * is the caller's. A run removes its record when it ends; recovery, a crashed run's. */
char *nf_store_procs_path(const nf_store *st, int64_t run_id);
int nf_store_procs_open(int *fd, const nf_store *st, int64_t run_id);
void nf_store_procs_remove(const nf_store *st, int64_t run_id);
/* The entry ntflow puts in each stage's environment, NTFLOW_RUNNER=PID.START with its own
 * pid and start time: processes that left their stage's process group still carry it, so
 * the end of the run (and recovery, for a crashed run) finds and kills them. */
void nf_store_runner_mark(char *out, size_t size, pid_t pid, int64_t start);
/* SIGKILLs the processes that carry the mark of the ntflow process (pid, start) but are in
 * none of the groups procs/RUN names: those that left their stage's process group (the
 * groups themselves are the runner's, or recovery's, to kill). Up to max of their pids go
 * to killed. Returns how many. */
size_t nf_store_procs_kill_escaped(nf_store *st, int64_t run_id, pid_t pid, int64_t start, pid_t *killed,
				   size_t max);

/* Commits the open batch (if any). Writes below open a transaction lazily; the executor
 * calls this once per loop turn. */
int nf_store_flush(nf_store *st);
/* How many write transactions this connection has committed (the batch's, atomic ones):
 * while the store has not failed (nf_store_failure), whatever a caller wrote before the
 * count moved is durable, so what it keeps to write again after a failure can go. */
unsigned long nf_store_commits(const nf_store *st);
/* How many node-state statements (node UPDATEs, attempt upserts) this connection has run:
 * nf_store_node_state merges a node's changes within a batch into one of each (tests). */
unsigned long nf_store_state_writes(const nf_store *st);
/* Opens the batch transaction if none is open, for modules with tables of their own
 * (gate results, registry, alerts, audit) whose writes join the executor's batch. */
int nf_store_batch(nf_store *st);
/* Runs fn inside its own immediate transaction (flushing the batch first), committing when
 * it returns 0 and rolling back otherwise: for changes that must be atomic and durable at
 * once, such as a promotion and the archive of the previous version. */
int nf_store_atomic(nf_store *st, int (*fn)(void *ctx, nf_store *st), void *ctx);
/* Has fn(ctx) called before every commit of a write transaction (the batch, an atomic one,
 * the close's): the run makes the cache objects its entries name durable there, once per
 * batch (nf_objstore_sync). When fn fails the transaction is rolled back, not committed,
 * and the store has failed (nf_store_failure). fn NULL removes it. */
void nf_store_before_commit(nf_store *st, int (*fn)(void *ctx), void *ctx);

typedef struct nf_run_info {
	int64_t id;
	char *pipeline;
	char *file;              /* the DAG file as given */
	char *logical_date;      /* YYYY-MM-DD: the interval's start, its day in the pipeline's zone */
	char *trigger;           /* manual, schedule, alert, backfill */
	/* The interval the run stands for, [start, end), ISO 8601 UTC ("2026-11-23T03:00:00Z");
	 * equal for a manual run; NULL for runs recorded before ntflow kept them. */
	char *interval_start, *interval_end;
	char *params_json;       /* {"seed":42,...} */
	char *commit;            /* full OID, or NULL outside git */
	bool dirty;
	int64_t started_ms, finished_ms;  /* real time; finished 0 while running */
	nf_run_status status;
	pid_t pid;               /* ntflow's pid while running */
	int nnodes, ndone;       /* for listings */
	char *cohort;            /* the cohort it belongs to; NULL: none */
	bool has_risk;           /* the pipeline's risk block scored it */
	double risk_score;
	char *risk_tier;         /* low, normal, high, elevated; NULL: not scored */
	int64_t pruned_ms;       /* when `ntflow prune` forgot its stages' details; 0: never */
} nf_run_info;
void nf_run_info_release(nf_run_info *r);

/* Starts a run (status running, pid = getpid()); fills info->id and started_ms. Committed at once. */
int nf_store_run_begin(nf_store *st, nf_run_info *info);
/* Records the outcome a run decided once its last stage ended, committed at once, before
 * what it does last (registering models, recording its end): a run whose process dies after
 * this is recovered with that status, not as crashed. */
int nf_store_run_ending(nf_store *st, int64_t run_id, nf_run_status status);
/* Why a run failed when no stage says (a model that could not be placed, the database that
 * failed): batched, committed with its end. *error NULL when none was recorded. */
int nf_store_run_error_set(nf_store *st, int64_t run_id, const char *error);
int nf_store_run_error_get(nf_store *st, int64_t run_id, char **error);
/* Ends it: status and finished time, and the summary the listings read (its node counts,
 * taken from its nodes as they are now). Flushes the batch first. */
int nf_store_run_end(nf_store *st, int64_t run_id, nf_run_status status);
/* Takes an ended run's summary again from its nodes, after nodes were written once it ended
 * (a run whose database failed writes its status first). Batched. */
int nf_store_run_summarize(nf_store *st, int64_t run_id);
int nf_store_run_get(nf_store *st, int64_t id, nf_run_info *out);     /* NF_ENOTFOUND */
int nf_store_run_last(nf_store *st, int64_t *id);                      /* NF_ENOTFOUND when none */
/* The run a command's RUN operand names: NULL for the last run, else its id. NF_ENOTFOUND
 * ("no runs yet", "no run 42"), NF_EINVALID ("'x' is not a run id"). */
int nf_store_run_resolve(nf_store *st, const char *arg, int64_t *id);

/* The history's retention (`ntflow prune`, prune.c). A run may go when it has ended, is not
 * pruned already and neither rule given keeps it (a rule of -1 keeps nothing): keep_runs,
 * the newest N runs of each pipeline; keep_days, the runs started in the N days before
 * now_ms. The newest run of each pipeline, its last successful run and a run whose model
 * the run of each model's production version and of its newest candidate always stay. */
typedef struct nf_prune_policy {
	int64_t keep_runs;
	int64_t keep_days;
	int64_t now_ms;
	/* Also a run pruned before whose per-stage audit records still have their payloads
	 * (see nf_store_prune_run). */
	bool redact_audit;
	const char *pipeline;    /* only its runs; NULL: every pipeline's */
	/* Every run the policy lets go, pruned before or not, and only those (not the runs
	 * pruned before that one going refers to): the runs it keeps are then exactly those not
	 * listed (a pipeline's cache_gc, gov's nf_cache_gc). The counts are then not a prune's. */
	bool every;
} nf_prune_policy;
typedef struct nf_prune_candidate {
	int64_t id;
	char *pipeline;
	int64_t started_ms;
	int64_t nnodes;          /* the node rows a prune deletes: not a gate's, without metrics,
	                          * none a run that stays refers to (reused, or a miss's previous) */
	bool pruned;             /* pruned before: rows or logs kept for a run pruned now, or
	                          * audit payloads, left to remove */
	bool redact;             /* its per-stage audit records are to be emptied */
} nf_prune_candidate;
/* The runs the policy lets go, oldest first. */
int nf_store_prune_plan(nf_store *st, const nf_prune_policy *p, nf_prune_candidate **out, size_t *n);
void nf_prune_candidate_list_free(nf_prune_candidate *c, size_t n);
typedef struct nf_prune_counts {
	int64_t nodes;           /* node rows deleted */
	int64_t audit_records;   /* audit records whose payload was emptied */
} nf_prune_counts;
/* Forgets run_id's details (see prune.c for what stays) and marks it pruned at now_ms; with
 * redact_audit also empties the payloads of its per-stage audit records (kinds node and
 * nodes), keeping their hashes. Inside a transaction of nf_store_atomic, so that the caller's
 * audit record goes with it. */
int nf_store_prune_run(nf_store *st, int64_t run_id, int64_t now_ms, bool redact_audit, nf_prune_counts *out);
/* The log paths (as recorded) of run_id's attempts; referenced: only those of the nodes a
 * run that stays reused, as the last plan found (the logs a prune keeps). Caller frees each
 * and the array. */
int nf_store_run_log_paths(nf_store *st, int64_t run_id, bool referenced, char ***out, size_t *n);
/* The runs whose results a pruned run's cached stages reused (recorded as its rows went). */
int nf_store_pruned_reused(nf_store *st, int64_t run_id, int64_t **out, size_t *n);
/* The database file's size in pages' bytes, and how much of it is free pages a later write
 * reuses (what `ntflow prune --vacuum` gives back). */
int nf_store_space(nf_store *st, int64_t *bytes, int64_t *free_bytes);
/* Rewrites the database without its free pages (SQLite's VACUUM), then truncates the log. */
int nf_store_vacuum(nf_store *st);
/* For a command's NF_ENOTFOUND about run_id (no such stage, no log): when the run was
 * pruned, the message (nf_error_last) gets why. Returns err. */
int nf_store_pruned_error(nf_store *st, int64_t run_id, int err);
/* The newest run of pipeline with this interval_start (ISO 8601 UTC, as recorded) and
 * trigger schedule, alert or backfill: the scheduler matches an interval to its run.
 * NF_ENOTFOUND when there is none. */
int nf_store_run_for_interval(nf_store *st, const char *pipeline, const char *interval_start, int64_t *id);
/* Whether this machine has rebooted since it started run_id (the run's recorded boot is not
 * this one, on this host): its processes are gone then, whatever its row says. */
int nf_store_run_rebooted(nf_store *st, int64_t run_id, bool *rebooted);
/* The runs of pipeline (NULL: all) whose logical date (YYYY-MM-DD) lies in [from, to]
 * (either NULL: open), oldest first, with cohort and risk (violations.c). */
int nf_store_run_window(nf_store *st, const char *pipeline, const char *from, const char *to,
			nf_run_info **out, size_t *n);
/* Records a run's risk score and tier (batched). */
int nf_store_run_set_risk(nf_store *st, int64_t run_id, double score, const char *tier);
/* The newest limit runs (all when limit <= 0), newest first; caller frees with nf_run_info_list_free. */
int nf_store_run_list(nf_store *st, int limit, nf_run_info **out, size_t *n);
/* The same for one pipeline's runs (pipeline NULL: all), through the runs_pipeline index. */
int nf_store_run_list_of(nf_store *st, const char *pipeline, int limit, nf_run_info **out, size_t *n);
void nf_run_info_list_free(nf_run_info *runs, size_t n);
/* Comparing runs (compare.c): the newest run of run_id's pipeline before it (NF_ENOTFOUND
 * when it is the first), and fn(node, outputs) for each node of a run that succeeded or was
 * cached, in order, with the outputs of the cache entry its key names (a JSON array of
 * {"path","digest"}; nodes without an entry, as with cache = false or after gc, are left out). */
int nf_store_run_prev_of_pipeline(nf_store *st, int64_t run_id, int64_t *prev);
int nf_store_run_outputs(nf_store *st, int64_t run_id,
			 void (*fn)(void *ctx, const char *node, const char *outputs_json), void *ctx);

/* One node of a run: its latest attempt's state (one row per attempt in the attempts table). */
typedef struct nf_node_info {
	char *name;              /* "tune[lr=0.05,l2=0]" */
	char *stage;             /* "tune" */
	char *instance;          /* matrix id or NULL */
	char *kind;              /* stage, gate, monitor */
	nf_state state;
	int attempts;
	int exit_code;           /* -1 when none */
	int term_signal;         /* 0 when none */
	int64_t started_ms, finished_ms;
	int64_t wall_ms, user_ms, sys_ms;
	long max_rss_kb;
	char *log_path;
	char *reason;
	pid_t pgid;
} nf_node_info;
void nf_node_info_release(nf_node_info *n);

/* Registers the run's nodes up front, in topological order: their row ids are given now,
 * their rows inserted by the batch's next sync (before a statement that reads or refers to
 * nodes, at the latest its commit), each waiting or as its node is by then. The store
 * finds the rows of the run's node names through g (no copy of them is made): g must stay
 * valid until nf_store_nodes_forget, the next nf_store_nodes_add, or nf_store_close. */
int nf_store_nodes_add(nf_store *st, int64_t run_id, const nf_graph *g);
/* Lets go of the graph nf_store_nodes_add was given (the rows it left are inserted first):
 * the run's names are found by SQL from then on. */
void nf_store_nodes_forget(nf_store *st);
/* Records a state change of a node (batched). started_ms/finished_ms: real time, 0 = keep. */
int nf_store_node_state(nf_store *st, int64_t run_id, const char *node, nf_state state,
			int attempt, const nf_job_result *res, const char *reason, pid_t pgid,
			const char *log_path, int64_t now_ms);
/* One node of a run by its name, as nf_store_node_list gives it (for `logs -f`, which asks
 * once a second). NF_ENOTFOUND. */
int nf_store_node_get(nf_store *st, int64_t run_id, const char *node, nf_node_info *out);
/* All nodes of a run in topological order. */
int nf_store_node_list(nf_store *st, int64_t run_id, nf_node_info **out, size_t *n);
void nf_node_info_list_free(nf_node_info *nodes, size_t n);
/* Attempts of one node, oldest first (each as an nf_node_info with attempts = its number). */
int nf_store_attempt_list(nf_store *st, int64_t run_id, const char *node, nf_node_info **out, size_t *n);

/* Metrics of a node of a run (batched write). */
int nf_store_metric_put(nf_store *st, int64_t run_id, const char *node, const char *name, double value);
typedef struct nf_metric {
	char *node;
	char *name;
	double value;
} nf_metric;
int nf_store_metric_list(nf_store *st, int64_t run_id, nf_metric **out, size_t *n);
void nf_metric_list_free(nf_metric *m, size_t n);

/* The workspace's state directory: override (--state DIR), else $NTFLOW_STATE, else
 * .ntflow/ at the root of the git repository holding dag_path (found by walking up to a
 * .git), or beside the file outside git. Without a DAG file (runs, show, logs) the walk
 * starts at the current directory, else it is ./.ntflow. The caller frees *state_dir. */
int nf_workspace_resolve(char **state_dir, const char *dag_path, const char *override);
/* The project root the default state directory lies in (ROOT/.ntflow): the git repository
 * holding dag_path (or the current directory without one), else the file's directory (the
 * current one); absolute. The caller frees *root. */
int nf_workspace_root(char **root, const char *dag_path);
/* The state directory is private to its owner: created (with missing parents, 0777 less
 * the umask) as 0700; an existing one of ours with group or other permissions is narrowed
 * to 0700 (a chmod that fails, as on a read-only file system, is no error). Without create
 * a missing directory is left missing. */
int nf_workspace_make_private(const char *state_dir, bool create);
/* Resolves the workspace, creates it when asked (private: nf_workspace_make_private), and
 * opens STATE_DIR/state.db. state_dir may be NULL. NF_ENOTFOUND ("no runs yet in DIR") when
 * create is false and there is no database. */
int nf_store_open_workspace(nf_store **out, char **state_dir, const char *dag_path,
			    const char *override, bool create);
/* The same for a command that only reads (nf_store_open_read). */
int nf_store_open_workspace_read(nf_store **out, char **state_dir, const char *dag_path,
				 const char *override);
/* The workspace marker, STATE_DIR/WORKSPACE (marker.c): written when a run begins and updated
 * when it ends, it names the store a workspace that has held runs uses (a random UUID kept in
 * the database) and the head of its audit chain then. While it exists, opening a state.db
 * that is missing or empty, or that is another store, fails with NF_EDAMAGED, naming the
 * marker to remove to start afresh. */
#define NF_STORE_ID_SIZE 64
typedef struct nf_ws_marker {
	char store_id[NF_STORE_ID_SIZE];
	int64_t audit_seq;           /* 0: no record yet */
	char audit_hash[65];         /* that record's hash ("-" or "" when none) */
} nf_ws_marker;
/* STATE_DIR/WORKSPACE (caller frees). */
char *nf_ws_marker_path(const char *state_dir);
/* NF_ENOTFOUND when there is none; NF_EDAMAGED when unreadable or malformed. */
int nf_ws_marker_read(nf_ws_marker *m, const char *state_dir);
int nf_ws_marker_write(const char *state_dir, const nf_ws_marker *m);
/* Writes the marker of the workspace holding st's database from what it holds now. */
int nf_store_mark_workspace(nf_store *st);
/* The store's id (NF_ENOTFOUND for a schema without one). */
int nf_store_id(nf_store *st, char out[NF_STORE_ID_SIZE]);
/* The audit chain's last record (seq 0, hash "" when empty), and the hash of record seq
 * (NF_ENOTFOUND when there is none). */
int nf_store_audit_head(nf_store *st, int64_t *seq, char hash[65]);
int nf_store_audit_hash_at(nf_store *st, int64_t seq, char hash[65]);

/* PRAGMA integrity_check (check.c): up to max lines of what it found wrong (none: *n 0);
 * a page too damaged to read ends the list with SQLite's error. */
int nf_store_integrity(nf_store *st, int max, char ***problems, size_t *n);
void nf_store_integrity_free(char **problems, size_t n);

/* The workspace write lock (lock.c): one writer per workspace. A run, and every command that
 * changes the registry or the cache, holds an flock(2) on STATE_DIR/lock from before its
 * first write to its end; the kernel releases it when the holder exits, however it exits.
 * Readers never take it. STATE_DIR/lock.holder says who holds it, for the messages of those
 * who wait: advisory only, the flock is the truth. */
typedef struct nf_wslock nf_wslock;

/* Who holds the lock, as its holder file says; a field is 0 or NULL when unknown. */
typedef struct nf_wslock_holder {
	pid_t pid;
	int64_t run_id;          /* 0: not a run, or its run has not begun yet */
	char *what;              /* "ntflow run dags/retrain.dag", "ntflow cache gc" */
	char *host;
	int64_t since_ms;        /* when it took the lock (real time) */
} nf_wslock_holder;

typedef struct nf_wslock_opts {
	const char *what;        /* what we are, for the holder file ("ntflow registry promote") */
	bool no_wait;            /* NF_EBUSY at once when another process holds the lock */
	int64_t timeout_ms;      /* > 0: NF_EBUSY after waiting this long; 0: wait for ever */
	/* Called once when the lock is taken and we are going to wait for it (never with
	 * no_wait), with the holder and "waiting for run 12 (pid 4242, started ...) to release
	 * the workspace lock in DIR". May be NULL. */
	void (*on_wait)(void *ctx, const nf_wslock_holder *holder, const char *message);
	void *ctx;
} nf_wslock_opts;

/* Takes the write lock of the workspace at state_dir, waiting for it as opts say (opts may
 * be NULL: wait for ever, silently). NF_ENOTFOUND when state_dir does not exist; NF_EBUSY,
 * the message naming the holder, with no_wait, after timeout_ms, or at once when the holder
 * is this process or one of its ancestors (a stage's command cannot wait for its own run);
 * NF_EINTR when SIGINT or SIGTERM arrived while waiting (caught meanwhile, then the caller's
 * dispositions are put back); NF_EIO. The lock's descriptor is close-on-exec: no stage
 * holds it, so a stage that outlives ntflow does not keep it. */
int nf_workspace_lock(nf_wslock **out, const char *state_dir, const nf_wslock_opts *opts);
/* Records the run the holder is, once the run has an id (waiters name it). */
int nf_workspace_lock_set_run(nf_wslock *lock, int64_t run_id);
/* Removes the holder file and releases the lock. NULL does nothing. */
void nf_workspace_unlock(nf_wslock *lock);

/* A stored log path as a path to open: relative ones are relative to the workspace root
 * (the state directory's parent). The caller frees the result. */
char *nf_store_log_path(const char *state_dir, const char *log_path);

/* For the commands that print runs: a real time in ms as local "2026-11-23 10:43:12"
 * ("-" for 0), and as UTC ISO 8601 "2026-11-23T10:43:12.345Z". */
void nf_store_fmt_local_time(char *out, size_t size, int64_t ms);
void nf_store_fmt_iso_utc(char *out, size_t size, int64_t ms);
/* "SIGKILL" for 9; "signal 77" when it has no name. */
void nf_store_fmt_signal(char *out, size_t size, int sig);

/* The cache: an entry maps a key to the outputs a successful attempt produced. */
typedef struct nf_cache_entry {
	char *key;
	char *node;
	char *outputs_json;      /* [{"path": "build/model/", "digest": "dir:<sha256>"}] */
	char *out_digest;        /* what downstream keys use */
	char *metrics_json;      /* {"auc": 0.93} */
	char *components;        /* the key's components (cachekey.h) */
	int64_t run_id;
	char *commit;            /* NULL outside git */
	int64_t created_ms;
	/* put: the components are in the row of node in run run_id, which its miss wrote
	 * (nf_store_node_cache_miss, nf_store_node_cache): read from there, not written twice */
	bool components_in_node;
} nf_cache_entry;
void nf_cache_entry_release(nf_cache_entry *e);
void nf_cache_entry_list_free(nf_cache_entry *e, size_t n);
/* 0 and *out, or NF_ENOTFOUND. */
int nf_store_cache_get(nf_store *st, const char *key, nf_cache_entry *out);
/* The same for a lookup that may restore the entry: its outputs, out_digest, metrics and
 * run only (the rest NULL / 0), as a cached rerun needs them. */
int nf_store_cache_hit(nf_store *st, const char *key, nf_cache_entry *out);
/* A second connection in a thread for a rerun's settled pass (src/store/ahead.c): it reads
 * ahead the cache entries the nodes of the pipeline's run before run_id used, in their
 * order, so that nf_store_cache_hit finds each in memory (nodes: how many the run has; at
 * most that many are read), then checkpoints what the run commits until stopped. Best
 * effort: what it does not do is done as before (an entry read, a checkpoint at close). */
void nf_store_ahead_start(nf_store *st, const char *pipeline, int64_t run_id, size_t nodes);
/* Stops it and drops what was not taken (also done by nf_store_close). */
void nf_store_ahead_stop(nf_store *st);
/* How many entries it has read so far and kept, and whether its reading is over (for tests). */
size_t nf_store_ahead_read(const nf_store *st);
bool nf_store_ahead_finished(const nf_store *st);
/* 1 when the store holds at least one cache entry, 0 when none (a workspace's first run:
 * no lookup can hit), or a negative error. */
int nf_store_cache_any(nf_store *st);
/* Adds an entry (batched). */
int nf_store_cache_put(nf_store *st, const char *pipeline, const nf_cache_entry *e);
int nf_store_cache_list(nf_store *st, nf_cache_entry **out, size_t *n);
/* Calls fn with each entry in turn, read one at a time (a gc of a large cache holds none):
 * its key (NULL in a row written without one), node, outputs, run and creation time (the
 * rest NULL / 0), borrowed for the call. Stops at fn's first negative return, which it returns. fn must not change the
 * cache entries (delete after, from what it noted). */
int nf_store_cache_each(nf_store *st, int (*fn)(void *ctx, const nf_cache_entry *e), void *ctx);
int nf_store_cache_delete(nf_store *st, const char *key);

/* Records a node's key, its components, and whether it was cached (reusing reused_run) or
 * why it ran (batched). */
int nf_store_node_cache(nf_store *st, int64_t run_id, const char *node, const char *key,
			const char *components, bool cached, int64_t reused_run, const char *miss_reason);
/* Records a node's key and components as a miss whose explanation is computed when it is
 * read (nf_store_node_cache_get, through nf_key_explain): the run its key is compared with,
 * the previous run of pipeline where the same node ran or was cached (its runs walked back
 * to the first where the node got a key, node_first_keyed), is noted in the same statement,
 * and no text is built during the run (batched). */
int nf_store_node_cache_miss(nf_store *st, int64_t run_id, const char *node, const char *key,
			     const char *components, const char *pipeline);
/* Calls fn(ctx, key) with the cache key of each node of a run that has one (those it created
 * and those it reused), in one query: what gc protects, without explaining every miss. */
int nf_store_run_cache_keys(nf_store *st, int64_t run_id, void (*fn)(void *ctx, const char *key), void *ctx);
typedef struct nf_node_cache_info {
	char *key;               /* NULL: the node has no key (gates, cache = false) */
	bool cached;
	int64_t reused_run;      /* 0 when none */
	char *miss_reason;       /* recorded, or explained from the components compared with */
	char *components;
} nf_node_cache_info;
int nf_store_node_cache_get(nf_store *st, int64_t run_id, const char *node, nf_node_cache_info *out);
void nf_node_cache_info_release(nf_node_cache_info *c);
/* Why node n ran in its run, or whose result it reused, in words (why.c): "ran: input
 * data/x.csv changed (...)", "cached: reused the result of run 41 (commit abc1234,
 * 2026-11-20)", "not run: skipped (...)". What `ntflow why` prints. Caller frees. */
char *nf_store_node_why(nf_store *st, const nf_node_info *n, const nf_node_cache_info *c);

/* What a run ran on, for reproducing it: commit, branch, dirty paths (JSON array), the DAG
 * file's SHA-256 and ntflow's version. */
int nf_store_run_repro(nf_store *st, int64_t run_id, const char *commit, const char *branch,
		       bool dirty, const char *dirty_paths_json, const char *dag_sha256, const char *version);
typedef struct nf_run_repro {
	char *branch, *dirty_paths_json, *dag_sha256, *version;
} nf_run_repro;
int nf_store_run_repro_get(nf_store *st, int64_t run_id, nf_run_repro *out);
void nf_run_repro_release(nf_run_repro *r);

/* ---- The scheduler's state (src/store/schedules.c) ----
 * What `ntflow scheduler` decided, per pipeline of the workspace. Times are seconds since
 * the epoch on the scheduler's clock. */
typedef struct nf_schedule_row {
	char *pipeline, *file, *cron, *timezone;
	char *policy;            /* what a miss does, for --status ("catchup = false, ...") */
	int64_t last_end;        /* the end of the last interval decided (fired, skipped, missed) */
	int64_t registered;      /* when the scheduler first saw the pipeline */
	int64_t updated;
} nf_schedule_row;
void nf_schedule_row_release(nf_schedule_row *r);
void nf_schedule_row_list_free(nf_schedule_row *rows, size_t n);
/* NF_ENOTFOUND when the pipeline was never scheduled here. */
int nf_store_schedule_get(nf_store *st, const char *pipeline, nf_schedule_row *out);
/* Every scheduled pipeline, by name. */
int nf_store_schedule_list(nf_store *st, nf_schedule_row **out, size_t *n);
/* Inserts or replaces the pipeline's row (batched: call inside nf_store_atomic with the
 * decision it goes with). */
int nf_store_schedule_put(nf_store *st, const nf_schedule_row *r);

/* One decision: registered, fired, caught-up, skipped, missed, waiting, alert, suppressed,
 * ended (a run the scheduler started has exited), refired. */
typedef struct nf_schedule_event {
	int64_t id, time;
	char *pipeline, *decision, *detail;
	int64_t interval_start, interval_end;   /* 0, 0: none */
	int64_t run_id;          /* 0: not known (yet) */
	pid_t pid;               /* the child `ntflow run`, 0 before it is started */
	int64_t alert_id;        /* the alert behind a trigger, else 0 */
	int exit_status;         /* of the child when its scheduler reaped it; -1 while it runs or
	                          * when there is none; -2: it ended unreaped while the machine
	                          * stayed up (settled: a later boot does not start it again) */
} nf_schedule_event;
void nf_schedule_event_release(nf_schedule_event *e);
void nf_schedule_event_list_free(nf_schedule_event *e, size_t n);
/* Appends ev (batched, like nf_store_schedule_put); fills ev->id. */
int nf_store_schedule_event_add(nf_store *st, nf_schedule_event *ev);
/* Sets the child's pid (when > 0), its run (when > 0) and exit status (when >= 0); committed. */
int nf_store_schedule_event_update(nf_store *st, int64_t id, pid_t pid, int64_t run_id, int exit_status);
/* Records that the decision id became another (its run did not start: "missed"), and why. */
int nf_store_schedule_event_decide(nf_store *st, int64_t id, const char *decision, const char *detail);
/* Events newest first: of one pipeline (NULL: all), of one decision (NULL: all), at most
 * limit (<= 0: all). */
int nf_store_schedule_events(nf_store *st, const char *pipeline, const char *decision, int limit,
			     nf_schedule_event **out, size_t *n);
/* The runs of a pipeline recorded running whose ntflow process is alive on this host (or
 * that another host recorded running): at most max of them in out (may be NULL); *n is
 * how many there are. */
typedef struct nf_active_run {
	int64_t id;
	pid_t pid;
} nf_active_run;
int nf_store_runs_active(nf_store *st, const char *pipeline, nf_active_run *out, size_t max, size_t *n);
/* The newest run of a pipeline that process pid recorded (the scheduler's child) and that
 * started at not_before_ms or later (wall clock, ms), or NF_ENOTFOUND: an older run of that
 * pid was another process's, the pid since reused. */
int nf_store_run_of_pid(nf_store *st, const char *pipeline, pid_t pid, int64_t not_before_ms, int64_t *id);
/* The run the child of decision ev recorded: the newest run of its pid with the trigger and
 * the interval start the decision asked for, or NF_ENOTFOUND. */
int nf_store_run_of_event(nf_store *st, const nf_schedule_event *ev, int64_t *id);
/* Marks decision id's child as ended unreaped while the machine stayed up (exit_status -2),
 * unless its end is known already; committed. */
int nf_store_schedule_event_settle(nf_store *st, int64_t id);

/* A request for a run that an alert made (the triggers table, written by the alert step). */
typedef struct nf_trigger {
	int64_t id, run_id, alert_id, created_ms;
	char *severity;
} nf_trigger;
/* The pipeline's triggers the scheduler has not acted on, oldest first (caller frees). */
int nf_store_triggers_pending(nf_store *st, const char *pipeline, nf_trigger **out, size_t *n);
void nf_trigger_list_free(nf_trigger *t, size_t n);
/* Marks a trigger acted on (batched). */
int nf_store_trigger_consume(nf_store *st, int64_t id);


/* ---- Gate results (src/store/gates.c): the criteria of each gate of a run, as evaluated
 * (gov/gate.c), recorded and read back for show and the dashboard. */
typedef struct nf_gate_criterion {
	char *expr;                   /* as written */
	bool has_left, has_right;     /* each side of a comparison, when it could be evaluated */
	double left, right;           /* shown as value and threshold */
	bool passed;
	char *note;                   /* NULL, or why: "metric 'auc' is missing" */
} nf_gate_criterion;

typedef struct nf_gate_result {
	char *name;                   /* the gate node */
	bool passed;                  /* every criterion passed */
	nf_gate_criterion *criteria;
	size_t n;
} nf_gate_result;
void nf_gate_result_release(nf_gate_result *r);
/* Records every criterion of a gate of a run (joins the store's batch). */
int nf_gate_store(nf_store *st, int64_t run_id, const nf_gate_result *r);
/* The gates of a run with their criteria, in the order they were evaluated. */
int nf_gate_list(nf_store *st, int64_t run_id, nf_gate_result **out, size_t *n);
void nf_gate_result_list_free(nf_gate_result *g, size_t n);

/* ---- Metric series (src/store/series.c) ---- */
typedef struct nf_metric_point {
	int64_t run_id;
	char *pipeline;
	char *logical_date;             /* YYYY-MM-DD */
	int64_t started_ms;
	char *node;
	char *name;
	double value;
} nf_metric_point;
/* The metrics recorded across runs, oldest run first (then node order, then name); pipeline,
 * node and name filter when not NULL: (run_id, value) series for trend charts. */
int nf_metric_series(nf_store *st, const char *pipeline, const char *node, const char *name,
		     nf_metric_point **out, size_t *n);
void nf_metric_point_list_free(nf_metric_point *p, size_t n);

/* ---- What the performance record reads (src/store/series.c; gov/perf.c takes medians) ---- */
typedef struct nf_perf_row {
	char *node;
	char *state;                    /* of the node in this run */
	bool measured;                  /* it ran a process in this run (not cached, skipped) */
	int64_t wall_ms, cpu_ms;        /* cpu: user + system */
	long max_rss_kb;
	size_t nhist;                   /* earlier runs the medians are taken over (0: none) */
	double med_wall_ms, med_cpu_ms, med_rss_kb;
} nf_perf_row;
void nf_perf_row_list_free(nf_perf_row *r, size_t n);
/* The nodes of a run in topological order with their latest attempt's use (node, state,
 * wall_ms, cpu_ms, max_rss_kb, measured; the medians left 0). */
int nf_store_perf_rows(nf_store *st, int64_t run_id, nf_perf_row **out, size_t *n);
/* For each node of the run, in its order, the same node in the pipeline's earlier runs where
 * it succeeded without the cache, newest run first, at most window of them (index
 * nodes_perf: the cost does not grow with the history): fn gets the node's name and that
 * run's latest attempt's wall, CPU (user + sys) and peak RSS. */
int nf_store_perf_history(nf_store *st, int64_t run_id, size_t window,
			  void (*fn)(void *ctx, const char *node, int64_t wall_ms, int64_t cpu_ms, int64_t rss_kb),
			  void *ctx);

/* ---- CPU per phase (src/store/budget.c; gov/budget.c decides the budgets) ---- */
typedef struct nf_phase_row {
	int64_t run_id;
	char *logical_date;             /* the run's (nf_store_phase_series only) */
	char *phase;                    /* a stage's phase attribute, or "other" */
	int nodes;                      /* the stages and monitors in it (gates have no process) */
	int ran;                        /* of them, those that succeeded running a process */
	int cached;                     /* those whose result came from the cache */
	int64_t cpu_ms;                 /* user + system of every attempt of its nodes */
	int64_t wall_ms;                /* from its first node's start to its last node's end */
	/* The budget, as recorded at the run's end (status NULL: none recorded). */
	char *baseline;                 /* "run 12", "median of 5" */
	bool has_baseline_cpu;
	int64_t baseline_cpu_ms;
	bool has_reduction;
	double reduction_pct;           /* (baseline - cpu) / baseline * 100 */
	double target_pct;
	char *status;                   /* met, missed, no baseline, not compared */
	char *reason;                   /* no baseline: why ("no such run", ...); else NULL */
} nf_phase_row;
void nf_phase_row_list_free(nf_phase_row *r, size_t n);
/* The phases of a run, in the order their first node is run, as its nodes and attempts
 * stand now (a run going included), each with the budget recorded at its end, if any. */
int nf_store_phase_totals(nf_store *st, int64_t run_id, nf_phase_row **out, size_t *n);
/* Records the phases of a run that ended (batched: one commit with the run's end). */
int nf_store_phase_record(nf_store *st, int64_t run_id, const char *pipeline, const nf_phase_row *rows, size_t n);
/* The CPU of phase in the pipeline's runs before before_run where every node of it ran,
 * newest first, at most limit of them; only_run > 0: that run's alone. *n gets the count. */
int nf_store_phase_history(nf_store *st, const char *pipeline, const char *phase, int64_t before_run,
			   int64_t only_run, size_t limit, int64_t *cpu_ms, size_t *n);
/* Every recorded phase of the pipeline's runs, oldest run first (the report's series). */
int nf_store_phase_series(nf_store *st, const char *pipeline, nf_phase_row **out, size_t *n);

/* ---- Plots (src/store/plots.c): what a run's nodes declared in their plot blocks, with
 * the file as it was when the node ended, for `ntflow report`. ---- */
typedef struct nf_plot_row {
	char *node, *name;
	int idx;                        /* its place among the node's plot blocks */
	char *kind;                     /* data, image */
	char *path;                     /* relative to the project root */
	char *digest;                   /* SHA-256 of the file (64 hex); "" when it was missing */
	char *template_;                /* linear, scatter, confusion, roc, bar */
	char *x;
	char *y_json;                   /* ["train_loss","val_loss"] */
	char *title;                    /* "" when none */
} nf_plot_row;
/* Records (or replaces) a plot of a node of a run (batched). */
int nf_store_plot_put(nf_store *st, int64_t run_id, const nf_plot_row *p);
/* The plots of a run, in node order then as declared (by name within a node). */
int nf_store_plot_list(nf_store *st, int64_t run_id, nf_plot_row **out, size_t *n);
void nf_plot_row_list_free(nf_plot_row *p, size_t n);

/* ---- The dashboard's reads (src/store/dashboard.c) ----
 * Quiet: a failure (an older schema, a busy database) is only "nothing to show" (the
 * message is set, the store is not failed). */
/* PRAGMA data_version: changes when another connection committed; -1 when unreadable. */
int64_t nf_store_data_version(nf_store *st);
/* Whether the database has the table (an older schema may lack a module's tables). */
bool nf_store_has_table(nf_store *st, const char *name);
/* A node of a run with its latest attempt, as the dashboard shows it; the strings are
 * borrowed for the call and may be NULL (name, state included). */
typedef struct nf_dash_node {
	const char *name, *stage, *instance, *kind, *state, *reason, *log_path;
	const char *slurm;           /* its latest attempt's Slurm job: "job 12 PENDING (Resources)" */
	int attempts;
	int64_t started_ms, finished_ms, reused_run, wall_ms;
	int64_t attempt_started_ms;  /* the latest attempt's start, 0 when none */
} nf_dash_node;
/* fn for each node of the run in topological order. NF_ERROR when it cannot read. */
int nf_store_dash_nodes(nf_store *st, int64_t run_id, void (*fn)(void *ctx, const nf_dash_node *n), void *ctx);
/* fn(node, wall_ms) for each succeeded node (latest attempt) of the pipeline's last `runs`
 * runs before before_run, ordered by node name (a node's rows together). */
int nf_store_dash_walls(nf_store *st, const char *pipeline, int64_t before_run, int runs,
			void (*fn)(void *ctx, const char *node, int64_t wall_ms), void *ctx);

/* ---- Alerts (src/store/alerts.c; gov/alerts.c evaluates the rules and says what an
 * alert's identity is, see gov.h) ---- */
typedef struct nf_alert {
	int64_t id;
	char *pipeline;
	int64_t run_id;
	char *monitor;                  /* the monitor's node name */
	char *rule;
	nf_severity severity;
	char *expr;                     /* the when condition as written */
	char *values_json;              /* the metrics it read: {"max_psi":0.31} */
	bool has_value, has_threshold;  /* the sides of a top-level comparison */
	double value, threshold;
	char *summary;                  /* "max_psi 0.31 > 0.25" */
	int64_t created_ms;
	int64_t acked_ms;               /* 0: open */
	char *ack_note, *ack_by;
	bool triggered;                 /* a trigger row was recorded for it */
	char *data_key;                 /* the identity of its data; NULL: none (one per run) */
	int64_t count;                  /* how many runs raised it (1: only the first) */
	int64_t last_seen_ms, last_run_id;
	bool repeat;                    /* nf_alerts_evaluate: an earlier run raised it; counted */
} nf_alert;
void nf_alert_release(nf_alert *a);
void nf_alert_list_free(nf_alert *a, size_t n);
/* ---- Violations (src/store/violations.c): each failed gate criterion of a run, typed and
 * graded (gov/violations.c decides type and severity, see gov.h) ---- */
typedef struct nf_violation {
	int64_t id;
	char *pipeline;
	int64_t run_id;
	char *cohort;                   /* the run's cohort; NULL: none */
	char *gate;                     /* the gate's node name */
	int idx;                        /* the criterion's position in the gate */
	char *expr;                     /* the criterion as written */
	char *type;                     /* calibration, low_accuracy, ... (default: the gate's name) */
	nf_severity severity;           /* low, medium, high */
	bool has_value, has_threshold;  /* the sides of the criterion's comparison */
	double value, threshold;
	char *model;                    /* the version the run registered; NULL: none */
	int version;
	int64_t created_ms;
	char *logical_date;             /* read: the run's logical date (its created day once gone) */
} nf_violation;
void nf_violation_release(nf_violation *v);
void nf_violation_list_free(nf_violation *v, size_t n);
/* What nf_store_violation_list selects; a NULL or 0 field does not filter. Dates are
 * logical dates, YYYY-MM-DD, both ends included. */
typedef struct nf_violation_filter {
	const char *pipeline;
	const char *cohort;
	const char *from, *to;
	int64_t run_id;
} nf_violation_filter;
/* Records (or replaces: one per run, gate and criterion) a violation (batched). */
int nf_store_violation_put(nf_store *st, const nf_violation *v);
/* The version run_id registered: written on the violations of its gate (NULL: of every
 * gate) (batched). */
int nf_store_violation_set_model(nf_store *st, int64_t run_id, const char *gate, const char *model, int version);
/* The violations f selects, by logical date, run, gate and criterion. */
int nf_store_violation_list(nf_store *st, const nf_violation_filter *f, nf_violation **out, size_t *n);

/* ---- Monitoring (src/store/health.c) ---- */
/* A pipeline as monitoring sees it: its newest run and the end of its newest success. */
typedef struct nf_pipeline_health {
	char *pipeline;
	int64_t last_run;             /* the id of its newest run */
	nf_run_status last_status;
	int64_t last_started_ms, last_finished_ms;   /* finished 0 while running */
	int64_t last_success_ms;      /* finished_ms of its newest succeeded run; 0: none */
	int cached, ran;              /* nodes of the newest run reused from the cache / run */
} nf_pipeline_health;
/* The version of the SQLite library the store runs on ("3.40.1"). */
const char *nf_store_sqlite_version(void);
/* One per pipeline that has runs, by name. */
int nf_store_pipeline_health(nf_store *st, nf_pipeline_health **out, size_t *n);
void nf_pipeline_health_list_free(nf_pipeline_health *p, size_t n);

/* Alerts oldest first; open_only: not acknowledged. */
int nf_alert_list(nf_store *st, bool open_only, nf_alert **out, size_t *n);
/* The alerts a run raised, first or again, oldest first (for show). */
int nf_alert_list_run(nf_store *st, int64_t run_id, nf_alert **out, size_t *n);
int nf_alert_get(nf_store *st, int64_t id, nf_alert *out);      /* NF_ENOTFOUND "no alert 7" */
/* The alert a fired rule is: by identity (pipeline, monitor, rule, severity, condition,
 * data key) when it has a data key, else the one its run's monitor raised for the rule;
 * *id 0 when none. */
int nf_store_alert_find(nf_store *st, const nf_alert *a, int64_t *id);
/* A new alert (seen once, by its run); fills a->id. */
int nf_store_alert_insert(nf_store *st, nf_alert *a);
/* Notes that run_id raised alert id at ms: 1 when this run had not raised it yet, 0 when
 * it had (an earlier attempt), negative on an error. */
int nf_store_alert_sighting(nf_store *st, int64_t id, int64_t run_id, int64_t ms);
/* One more run raised it: its count, last seen time and last run. */
int nf_store_alert_count_again(nf_store *st, int64_t id, int64_t run_id, int64_t ms);
/* The trigger row asking the scheduler for a run (one per alert). */
int nf_store_alert_trigger(nf_store *st, const nf_alert *a);
/* Marks the alert acknowledged at now_ms by actor (note may be NULL). */
int nf_store_alert_ack(nf_store *st, int64_t id, int64_t now_ms, const char *note, const char *actor);

/* ---- The audit chain's rows (src/store/audit.c; gov/audit.c hashes, chains and judges
 * them, see gov.h) ---- */
typedef struct nf_audit_record nf_audit_record;
struct nf_audit_record {
	int64_t seq, time_ms, run_id;   /* run_id 0: none */
	char *kind, *payload, *prev_hash, *hash, *mac_kind;
};
void nf_audit_record_release(nf_audit_record *r);
void nf_audit_record_list_free(nf_audit_record *r, size_t n);
/* The records of a run, with the prune records that name it (run_id <= 0: all), in chain
 * order. */
int nf_audit_list(nf_store *st, int64_t run_id, nf_audit_record **out, size_t *n);

typedef struct nf_audit_root {
	int64_t run_id;
	char root[65];
	int64_t count, last_seq;        /* the run's records up to last_seq */
	int64_t created_ms;
} nf_audit_root;
/* The Merkle roots of finished runs (run_id <= 0: all), by run. Caller frees *out. */
int nf_audit_roots(nf_store *st, int64_t run_id, nf_audit_root **out, size_t *n);
/* The chain's last record: its seq and hash; *seq 0 and hash untouched when empty. */
int nf_store_audit_last(nf_store *st, int64_t *seq, char hash[65]);
/* Appends r (run_id 0: none), joining the batch the caller opened. */
int nf_store_audit_insert(nf_store *st, const nf_audit_record *r);
/* The hashes of a run's records up to last_seq (all when last_seq <= 0), in order; max_seq
 * (may be NULL) the last one's seq. */
int nf_store_audit_run_hashes(nf_store *st, int64_t run_id, int64_t last_seq, char ***out, size_t *n,
			      int64_t *max_seq);
/* The same hashes one at a time: fn(ctx, hash) for each in order (hash borrowed for the
 * call; "" for a NULL one), stopping at fn's first non-zero result, which is returned;
 * *n the hashes passed, *max_seq (may be NULL) the last one's seq. */
int nf_store_audit_run_hashes_each(nf_store *st, int64_t run_id, int64_t last_seq,
				   int (*fn)(void *ctx, const char *hash), void *ctx, size_t *n, int64_t *max_seq);
/* Records (or replaces) a run's Merkle root over count records up to last_seq. */
/* fn for each record of run_id whose payload is empty (emptied by prune --redact-audit, or by
 * hand), in seq order; stops at fn's first non-zero. */
int nf_store_audit_emptied_each(nf_store *st, int64_t run_id,
				int (*fn)(void *ctx, int64_t seq, int64_t time_ms, const char *kind, const char *hash),
				void *ctx);
int nf_store_audit_root_put(nf_store *st, int64_t run_id, const char *root, int64_t count, int64_t last_seq,
			    int64_t created_ms);
/* fn for each record in chain order, then fn(ctx, NULL); fn may take the record over (and
 * zero it). Stops at fn's first non-zero result and returns it. */
int nf_store_audit_scan(nf_store *st, int (*fn)(void *ctx, nf_audit_record *r), void *ctx);
/* The first run-end record of a run: 1 with its seq and payload (caller frees), 0 when none. */
int nf_store_audit_run_end(nf_store *st, int64_t run_id, int64_t *seq, char **payload);
/* The first run-end record whose run has no Merkle root row: 1 with its seq and run, 0 when none. */
int nf_store_audit_orphan_end(nf_store *st, int64_t *seq, int64_t *run_id);
/* Runs fn inside one read transaction (a consistent view while others write); fn's result. */
int nf_store_read_txn(nf_store *st, int (*fn)(void *ctx, nf_store *st), void *ctx);

/* ---- The model registry's rows (src/store/registry.c; gov/registry.c decides, see gov.h) ---- */
typedef struct nf_model_version {
	int64_t id;
	char *model;
	int version;
	char *pipeline;
	int64_t run_id;               /* 0: none */
	char *commit;                 /* NULL outside git */
	char *sha256;
	int64_t size;                 /* bytes (a folder: the sum of its files) */
	char *kind;                   /* file, dir */
	char *artifact_path;          /* the registry copy, relative to the state directory */
	char *source_path;            /* the artifact as the model block names it */
	char *models_dir;             /* relative to the state directory's parent, or absolute */
	char *metrics_json;           /* {"auc":0.93,"eval.f1":0.8} */
	char *params_json;
	char *gate;                   /* NULL: the model has no gate */
	char *gate_outcome;           /* pass, fail, none (no gate, or it did not decide) */
	char *status;                 /* candidate, production, archived, rolled-back, corrupt */
	int64_t created_ms, promoted_ms, archived_ms;
	bool forced;                  /* promoted by hand past a failed gate */
	char *reason, *actor;         /* of the last promotion or rollback */
	char *cohort;                 /* its run's cohort; NULL: none */
} nf_model_version;
void nf_model_version_release(nf_model_version *v);
void nf_model_version_list_free(nf_model_version *v, size_t n);
/* Versions of one model (NULL: all), by model then version. */
int nf_registry_list(nf_store *st, const char *model, nf_model_version **out, size_t *n);
/* A status change of a version, oldest first (for `registry show`). */
typedef struct nf_model_event {
	char *model;
	int version;
	char *action;                 /* register, archive, promote, rollback, corrupt, held */
	char *status;                 /* the status the version was left in */
	int64_t run_id;
	bool forced;
	char *reason, *actor;
	int64_t at_ms;
} nf_model_event;
int nf_registry_events(nf_store *st, const char *model, int version, nf_model_event **out, size_t *n);
/* The registry events a run recorded (its registrations, promotions and held promotions). */
int nf_registry_run_events(nf_store *st, int64_t run_id, nf_model_event **out, size_t *n);
void nf_model_event_list_free(nf_model_event *e, size_t n);
/* One version: version > 0 that one, else the production one or the newest. NF_ENOTFOUND
 * (no message) when there is none; the same for the lookups below. */
int nf_store_model_version(nf_model_version *out, nf_store *st, const char *model, int version);
/* 1 when the registry has a version of model, 0 when not. */
int nf_store_model_exists(nf_store *st, const char *model);
int nf_store_model_production(nf_model_version *out, nf_store *st, const char *model);
/* The newest version with these bytes that is not corrupt. */
int nf_store_model_by_sha256(nf_model_version *out, nf_store *st, const char *model, const char *sha256);
/* The version archived last (a rollback's target; rolled-back ones are not). */
int nf_store_model_last_archived(nf_model_version *out, nf_store *st, const char *model);
/* The number of the production version (0: none), and the number a new version gets. */
int nf_store_model_production_number(nf_store *st, const char *model, int *version);
int nf_store_model_next_number(nf_store *st, const char *model, int *version);
/* Writes, inside the caller's transaction (nf_store_atomic). */
int nf_store_model_event_add(nf_store *st, const char *model, int version, const char *action, const char *status,
			     int64_t run_id, bool forced, const char *reason, const char *actor, int64_t now);
/* Takes a version out of production: status archived or rolled-back, archived at now. */
int nf_store_model_set_archived(nf_store *st, const char *model, int version, const char *status, int64_t now);
/* A new version's row from v (id, archived_ms, forced, reason and actor are not written). */
int nf_store_model_insert(nf_store *st, const nf_model_version *v);
int nf_store_model_mark_corrupt(nf_store *st, int64_t id);
/* Puts a version in production at now (forced, reason, actor as the decision says). */
int nf_store_model_promote(nf_store *st, int64_t id, int64_t now, bool forced, const char *reason, const char *actor);

/* ---- The registry's rows whole, as JSON objects by column name (src/store/registry-rows.c),
 * for the registry's record in the audit chain (gov/registry-chain.c): text that is not
 * plain UTF-8 as {"text": "hex"}, a blob as {"blob": "hex"}. ---- */
struct cJSON;
/* Appends to the array rows the row of each version (<= 0 skipped) of model. */
int nf_store_model_rows_of(struct cJSON *rows, nf_store *st, const char *model, const int *versions, size_t n);
/* The table's rows (of model; NULL: all), whole, by model and version: a new array. */
int nf_store_model_rows(struct cJSON **out, nf_store *st, const char *model);
/* The table's column names: a new array of strings. */
int nf_store_model_columns(struct cJSON **out, nf_store *st);
/* Writes the columns of row that cols names: full inserts the row anew (the table's was
 * deleted first), else those columns of (model, version) are updated. */
int nf_store_model_row_write(nf_store *st, bool full, const char *model, int version, const struct cJSON *row,
			     const struct cJSON *cols);
int nf_store_model_row_delete(nf_store *st, int64_t id);
/* fn for each audit record of one of the kinds, oldest first, with the prev_hash of the
 * record after it (NULL for the last). */
int nf_store_audit_scan_kinds(nf_store *st, const char *const *kinds, size_t nkinds,
			      void (*fn)(void *ctx, const nf_audit_record *r, const char *next_prev_hash), void *ctx);

/* The Slurm jobs of runs (slurm-jobs.c). A row: a run's attempt of a node on Slurm, its job
 * id (an array task: the array's id and task >= 0), when it was submitted (wall clock, ms),
 * its job name, the attempt's cache key and log, and the last state and reason Slurm gave. */
typedef struct nf_slurm_job_row {
	int64_t run_id;
	char *node;
	int attempt;
	uint64_t job_id;
	long task;
	int64_t submitted_ms;
	char *name, *cache_key, *log, *state, *reason;
} nf_slurm_job_row;
/* Batched, as the node states. */
int nf_store_slurm_job_add(nf_store *st, int64_t run_id, const char *node, int attempt, uint64_t job_id, long task,
			   int64_t submitted_ms, const char *name, const char *cache_key, const char *log);
int nf_store_slurm_job_status(nf_store *st, int64_t run_id, const char *node, int attempt, const char *state,
			      const char *reason);
/* The run ended and its jobs are over (or said to be): they are no longer a crash's. */
int nf_store_slurm_jobs_settle(nf_store *st, int64_t run_id);
/* The rows of a run, by node and attempt; the caller frees with nf_slurm_job_rows_free. */
int nf_store_slurm_jobs_of_run(nf_store *st, int64_t run_id, nf_slurm_job_row **out, size_t *n);
/* The rows no run settled (runs that were killed), but except_run's. */
int nf_store_slurm_jobs_unsettled(nf_store *st, int64_t except_run, nf_slurm_job_row **out, size_t *n);
void nf_slurm_job_rows_free(nf_slurm_job_row *r, size_t n);

/* ---- The cohort drift report's reads (drift.c): the runs whose logical date falls in a
 * window, with their cohort, risk, actions and the metrics the gate judged (their violations:
 * nf_store_violation_list).
 * Dates are YYYY-MM-DD (the runs' logical dates, ${run.date}); the window is [from, to]. */
typedef struct nf_drift_run {
	int64_t id;
	char *pipeline;
	char *date;                   /* the logical date */
	char *cohort;                 /* NULL: the run has none */
	nf_run_status status;
	bool promoted;                /* a model version it registered went to production by its gate */
	bool has_risk;                /* risk_score holds the run's risk score */
	double risk_score;
	char *risk_tier;              /* low, normal, high, elevated; NULL: none */
	/* The metrics of the first model version the run registered (its model block's metrics
	 * file: the numbers its gate judged); none when it registered no version. */
	char **metric_names;
	double *metric_values;
	size_t nmetrics;
} nf_drift_run;
/* The runs of pipeline (NULL: every pipeline) with from <= logical date <= to, oldest first
 * (by date, then id). The caller frees with nf_drift_run_list_free. */
int nf_store_drift_runs(nf_store *st, const char *pipeline, const char *from, const char *to, nf_drift_run **out,
			size_t *n);
void nf_drift_run_list_free(nf_drift_run *r, size_t n);

#endif
